# Mask R-CNN, ResNet-50 + FPN, COCO 2017, 1x schedule: the R-50 baseline of
# the paper's Table 8 (Res2Net: mask_rcnn_r2n50*_coco.py).
# Pretrained backbone: torchvision://resnet50, downloaded by mmengine on
# first use into the torch hub cache.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)
