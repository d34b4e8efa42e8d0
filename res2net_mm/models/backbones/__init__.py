"""The backbones: the Res2Net block (``bottle2neck.py``, Eq. 1 of the paper),
the networks built from it (``res2net.py``, ``dla.py``, ``biglittle.py``),
the OpenMMLab runtime contract they share (``contract.py``) and their
argument checks (``arch.py``)."""
from .biglittle import BigLittleRes2Net
from .bottle2neck import Bottle2neck, SEModule
from .contract import BackboneContract, MultiLevelBackbone
from .dla import Res2NetDLA
from .res2net import Res2Net

__all__ = ['BackboneContract', 'BigLittleRes2Net', 'Bottle2neck', 'MultiLevelBackbone', 'Res2Net',
           'Res2NetDLA', 'SEModule']
