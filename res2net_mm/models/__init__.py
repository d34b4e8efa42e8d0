from .bottle2neck import Bottle2neck, SEModule
from .res2net import Res2Net
from .variants import ARCHS, STAGE_BLOCKS, ZOO

__all__ = ['ARCHS', 'STAGE_BLOCKS', 'ZOO', 'Bottle2neck', 'Res2Net', 'SEModule']
