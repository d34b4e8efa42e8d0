# Mask R-CNN, Res2Net-50 14w x 8s (paper Table 8): mask_rcnn_r2n50_coco.py
# with the 14w x 8s backbone. Pretrained weights, e.g.
#   wget -P checkpoints https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-res2net/res2net50_14w_8s-6527dddc.pth
# (official release: https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/).
_base_ = './mask_rcnn_r2n50_coco.py'

model = dict(
    backbone=dict(
        arch='res2net50_14w_8s',
        init_cfg=dict(checkpoint='checkpoints/res2net50_14w_8s-6527dddc.pth')))
