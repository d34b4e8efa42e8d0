"""Our Res2Net with mmdet's and mmpretrain's constructor defaults.

The opt-in overrides (``res2net_mm/mmdet_override.py``,
``res2net_mm/mmpretrain_override.py``) make a stock config's
``type='Res2Net'`` build ours, and a stock config relies on its library's
defaults for every argument it leaves out. Where ours differ, these
subclasses keep the library's (its ``Res2Net`` and ``ResNet`` signatures,
mmdet 3.x and mmpretrain 1.x)::

    argument        mmdet       mmpretrain              ours
    norm_eval       True        False                   False
    stage_pool      'strided'   'always'                'always'
    out_indices     (0,1,2,3)   (3,)                    every stage
    init_cfg=None   Kaiming     Kaiming deep stem,      Kaiming
                                PyTorch's init elsewhere

``stage_pool`` is not an argument of theirs: it is what their blocks
compute (mmdet's pool the pass-through split of a stage block only when it
strides). Every other default is the same in the three classes;
``tests/test_registry.py`` compares them one by one.
"""
import torch.nn as nn
from mmengine.model.weight_init import kaiming_init

from .res2net import Res2Net


class MMDetRes2Net(Res2Net):
    """``Res2Net`` with mmdet's defaults: ``norm_eval=True`` (BatchNorm
    statistics frozen in training) and mmdet's numerics
    (``stage_pool='strided'``), so an mmdet checkpoint computes what it
    computes in mmdet. The other arguments are ``Res2Net``'s.

    Args:
        norm_eval (bool): Defaults to True.
        stage_pool (str): Defaults to 'strided'.
    """

    def __init__(self, *, norm_eval=True, stage_pool='strided', **kwargs):
        super().__init__(norm_eval=norm_eval, stage_pool=stage_pool, **kwargs)


class MMPretrainRes2Net(Res2Net):
    """``Res2Net`` with mmpretrain's defaults: the last stage's output only
    (``out_indices=(3,)``) and mmpretrain's init for ``init_cfg=None``:
    its ``Res2Net`` passes no init to its ``ResNet``, so only the deep
    stem's convs (mmcv ``ConvModule``s, which init themselves) are Kaiming
    initialised and every other layer keeps PyTorch's init. The other
    arguments are ``Res2Net``'s.

    Args:
        out_indices (Sequence[int]): Defaults to (3,).
        init_cfg (dict | list | None): None: mmpretrain's init (above),
            then the zero-init of ``zero_init_residual``. Defaults to None.
    """

    def __init__(self, *, out_indices=(3, ), init_cfg=None, **kwargs):
        super().__init__(out_indices=out_indices,
                         init_cfg=[] if init_cfg is None else init_cfg, **kwargs)
        self.stem_kaiming = init_cfg is None and self.arch['deep_stem']

    def init_weights(self):
        super().init_weights()
        if self.stem_kaiming:  # as mmcv's ConvModule.init_weights: fan_out, relu, normal
            for name, module in self.named_modules():
                if isinstance(module, nn.Conv2d) and name.split('.')[0] not in self.res_layers:
                    kaiming_init(module, a=0, mode='fan_out', nonlinearity='relu')
