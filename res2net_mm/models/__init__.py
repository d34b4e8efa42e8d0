from ..variants import ARCHS, STAGE_BLOCKS, ZOO
from .biglittle import BigLittleRes2Net
from .bottle2neck import Bottle2neck, SEModule
from .deploy import fuse_conv_bn
from .dla import Res2NetDLA
from .res2net import Res2Net

__all__ = ['ARCHS', 'BigLittleRes2Net', 'STAGE_BLOCKS', 'ZOO', 'Bottle2neck', 'Res2Net', 'Res2NetDLA', 'SEModule', 'fuse_conv_bn']
