# Faster R-CNN, ResNet-50 + FPN, COCO 2017, 1x schedule: the R-50 baseline of
# the paper's Tables 5-6 (Res2Net: faster_rcnn_r2n50_coco.py).
# Pretrained backbone: torchvision://resnet50, downloaded by mmengine on
# first use into the torch hub cache.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)
