# CIFAR-100, ResNeXt-29 8c x 64w-SE: the SE baseline of Table 4 (35.1M, top-1 error 16.77) (configs/_base_/cls_cifar100.py).
_base_ = './_base_/cls_cifar100.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='res2net_mm.Res2Net', arch='se_resnext29_8c_64w', zero_init_residual=False))
