# Mask R-CNN, Res2Net-50 18w x 6s (paper Table 8): mask_rcnn_r2n50_coco.py
# with the 18w x 6s backbone.
# No ImageNet weights of 18w x 6s are published: pretrain the backbone
# yourself (e.g. with mmpretrain or timm, arch 'res2net50_18w_6s') and save
# its state dict as checkpoints/res2net50_18w_6s.pth (official/timm/mmpretrain
# layouts load as they are), or train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = './mask_rcnn_r2n50_coco.py'

model = dict(
    backbone=dict(
        arch='res2net50_18w_6s',
        init_cfg=dict(checkpoint='checkpoints/res2net50_18w_6s.pth')))
