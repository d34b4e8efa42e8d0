"""res2net_mm: the Res2Net backbone family (Gao et al., TPAMI 2020) for
OpenMMLab 2.x: mmdet, mmsegmentation, mmpose and mmpretrain.

Importing the package registers ``Res2Net`` in the ``res2net_mm`` scope
(``type='res2net_mm.Res2Net'`` from any library) and in mmengine's root model
registry, so unprefixed ``type='Res2Net'`` builds ours in mmseg and mmpose,
which have no Res2Net of their own, while mmdet and mmpretrain keep finding
their own first (``res2net_mm.mmdet_override`` and
``res2net_mm.mmpretrain_override`` are the opt-ins).

It also lets torch >= 2.6's weights-only ``torch.load`` read full mmengine
runner checkpoints (``--resume``), by allow-listing exactly the plain-data
globals they pickle (``res2net_mm.checkpoint.runner_compat``), so resuming
works with our tools and with the stock mmdet/mmseg/mmpose/mmpretrain ones.

The parts: ``models`` (backbones, the fast path, heads), ``checkpoint``
(layouts, conversion, the zoo), ``datasets`` and ``evaluation`` (synthetic
shapes, saliency), ``engine`` (hooks), ``cli`` (what the tools share),
``variants`` (the variant table).
"""
from mmengine.registry import MODELS as MMENGINE_MODELS

from .checkpoint import allow_runner_checkpoints
from .models import ARCHS, Res2Net, deploy

__version__ = '0.1.0'

MMENGINE_MODELS.register_module(name='Res2Net', module=Res2Net, force=True)
allow_runner_checkpoints()

__all__ = ['ARCHS', 'Res2Net', '__version__', 'deploy']
