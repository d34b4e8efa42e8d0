# Faster R-CNN, bLRes2Net-50 (Big-Little Net, alpha=2, beta=4, 26w x 4s
# Res2Net blocks) + FPN, COCO 2017, 1x schedule (paper Section 3.2, Table 2),
# in the recipe of faster_rcnn_r50_coco.py; only the backbone differs (its
# stage outputs have ResNet-50's channels and strides).
#
# Pretrained backbone: no ImageNet weights are published; pretrain it with
# cls_blr2n50_in1k.py and save the backbone as checkpoints/blres2net50.pth,
# or train from scratch with --cfg-options model.backbone.init_cfg=None
_base_ = './faster_rcnn_r50_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.BigLittleRes2Net',
        arch='blres2net50',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/blres2net50.pth')))
