# ImageNet classification, ResNet-50: the baseline of the paper's Tables 1-3
# (top-1 error 23.85), trained with the paper's recipe
# (configs/_base_/cls_imagenet.py). Res2Net: cls_r2n50_in1k.py.
_base_ = './_base_/cls_imagenet.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)
