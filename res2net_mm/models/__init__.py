from ..variants import ARCHS, STAGE_BLOCKS, ZOO
from .bottle2neck import Bottle2neck, SEModule
from .deploy import fuse_conv_bn
from .res2net import Res2Net

__all__ = ['ARCHS', 'STAGE_BLOCKS', 'ZOO', 'Bottle2neck', 'Res2Net', 'SEModule', 'fuse_conv_bn']
