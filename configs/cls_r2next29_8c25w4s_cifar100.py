# CIFAR-100, Res2NeXt-29 8c x 25w x 4s: Table 4 (33.8M, top-1 error 16.93); identical to cls_rx29_8c64w_cifar100.py except for
# the backbone (configs/_base_/cls_cifar100.py).
_base_ = './cls_rx29_8c64w_cifar100.py'

model = dict(backbone=dict(arch='res2next29_8c_25w_4s'))
