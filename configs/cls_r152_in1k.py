# ImageNet classification, ResNet-152: the baseline of the Res2Net-152
# configs (not in the paper). Res2Net: cls_r2n152_in1k.py.
_base_ = './_base_/cls_imagenet.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)

model = dict(backbone=dict(depth=152))
