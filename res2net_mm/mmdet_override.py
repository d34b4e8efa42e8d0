"""Opt-in: make plain ``type='Res2Net'`` in mmdet configs build our backbone.

mmdet registers its own ``Res2Net`` (v1b only, no pool in stride-1 stage
blocks). Stock mmdet configs keep building it unless a config opts in with::

    custom_imports = dict(imports=['res2net_mm.mmdet_override'],
                          allow_failed_imports=False)

The name then builds ``MMDetRes2Net``: our class with mmdet's defaults
(``norm_eval=True``, mmdet's numerics ``stage_pool='strided'``; see
``models/backbones/stock_defaults.py``), so a stock config means what it
means in mmdet and mmdet's checkpoints compute what they compute there.
Every argument of mmdet's Res2Net is accepted with the same meaning.
``type='res2net_mm.Res2Net'`` needs no opt-in and has our defaults.
"""
import mmdet.models  # noqa: F401  (registers mmdet's models first: no later clash)
from mmdet.registry import MODELS as MMDET_MODELS

from .models.backbones.stock_defaults import MMDetRes2Net

MMDET_MODELS.register_module(name='Res2Net', module=MMDetRes2Net, force=True)
