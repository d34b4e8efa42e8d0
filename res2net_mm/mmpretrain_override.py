"""Opt-in: make plain ``type='Res2Net'`` in mmpretrain configs build ours.

mmpretrain registers its own ``Res2Net`` (v1 and v1b stems, no Res2NeXt or
SE). Stock mmpretrain configs keep building it unless a config opts in with::

    custom_imports = dict(imports=['res2net_mm.mmpretrain_override'],
                          allow_failed_imports=False)

The name then builds ``MMPretrainRes2Net``: our class with mmpretrain's
defaults (``out_indices=(3,)``, mmpretrain's init; see
``models/backbones/stock_defaults.py``). It takes mmpretrain's architecture
arguments (``depth``, ``scales``, ``base_width``, ``deep_stem``,
``avg_down``) and loads its checkpoints (the ``stem.*`` names are
converted on load). ``type='res2net_mm.Res2Net'`` needs no opt-in and has
our defaults.
"""
import mmpretrain.models  # noqa: F401  (registers mmpretrain's models first: no later clash)
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from .models.backbones.stock_defaults import MMPretrainRes2Net

MMPRETRAIN_MODELS.register_module(name='Res2Net', module=MMPretrainRes2Net, force=True)
