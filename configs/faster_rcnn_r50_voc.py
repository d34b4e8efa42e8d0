# Faster R-CNN, ResNet-50 + FPN, PASCAL VOC: trained on VOC07+12 trainval,
# tested on VOC07 test (11-point mAP): the R-50 baseline of the paper's
# Table 5 (Res2Net: faster_rcnn_r2n50_voc.py).
# Pretrained backbone: torchvision://resnet50, downloaded by mmengine on
# first use into the torch hub cache.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)
