# CIFAR-100, Res2NeXt-29 6c x 24w x 6s: Table 4 (36.7M, top-1 error 16.79); identical to cls_rx29_8c64w_cifar100.py except for
# the backbone (configs/_base_/cls_cifar100.py).
_base_ = './cls_rx29_8c64w_cifar100.py'

model = dict(backbone=dict(arch='res2next29_6c_24w_6s'))
