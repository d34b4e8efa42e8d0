# ImageNet classification, ResNet-101: the baseline of Res2Net-101 in the
# paper's Table 2 (top-1 error 22.63). Res2Net: cls_r2n101_in1k.py.
_base_ = './_base_/cls_imagenet.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)

model = dict(backbone=dict(depth=101))
