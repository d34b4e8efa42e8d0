# CIFAR-100, ResNeXt-29 8c x 64w: the baseline of Table 4 (34.4M, top-1 error 17.90) (configs/_base_/cls_cifar100.py).
_base_ = './_base_/cls_cifar100.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='res2net_mm.Res2Net', arch='resnext29_8c_64w', zero_init_residual=False))
