"""Opt-in: make plain ``type='Res2Net'`` in mmdet configs build our backbone.

mmdet registers its own ``Res2Net`` (v1b only, no pool in stride-1 stage
blocks). Stock mmdet configs keep building it unless a config opts in with::

    custom_imports = dict(imports=['res2net_mm.mmdet_override'],
                          allow_failed_imports=False)

Our class accepts every argument of mmdet's Res2Net with the same meaning and
loads its checkpoints; add ``stage_pool='strided'`` for checkpoints trained
with mmdet's numerics. ``type='res2net_mm.Res2Net'`` needs no opt-in.
"""
import mmdet.models  # noqa: F401  (registers mmdet's models first: no later clash)
from mmdet.registry import MODELS as MMDET_MODELS

from .models import Res2Net

MMDET_MODELS.register_module(name='Res2Net', module=Res2Net, force=True)
