# CIFAR-100, Res2NeXt-29 6c x 24w x 4s: Table 4 (24.3M, top-1 error 16.98); identical to cls_rx29_8c64w_cifar100.py except for
# the backbone (configs/_base_/cls_cifar100.py).
_base_ = './cls_rx29_8c64w_cifar100.py'

model = dict(backbone=dict(arch='res2next29_6c_24w_4s'))
