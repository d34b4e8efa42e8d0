"""The models: backbones (``backbones/``: the Res2Net block, Res2Net, DLA,
Big-Little), the fast path (``fast/``: the same functions in fewer ops, and
the deploy step) and heads (``heads/``: the DSS saliency head, imported
where mmseg is, by the registry)."""
from ..variants import ARCHS, STAGE_BLOCKS, ZOO
from .backbones import (BackboneContract, BigLittleRes2Net, Bottle2neck, MultiLevelBackbone,
                        Res2Net, Res2NetDLA, SEModule)
from .fast.deploy import fuse_conv_bn
from .fast.deploy_best import deploy

__all__ = [
    'ARCHS', 'STAGE_BLOCKS', 'ZOO', 'BackboneContract', 'BigLittleRes2Net', 'Bottle2neck',
    'MultiLevelBackbone', 'Res2Net', 'Res2NetDLA', 'SEModule', 'deploy', 'fuse_conv_bn'
]
