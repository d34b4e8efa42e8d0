# Faster R-CNN, Res2NeXt-DLA-60 (8c x 4s) + FPN, COCO 2017, 1x schedule: the
# Res2NeXt block in Deep Layer Aggregation (paper Section 3.2, Table 2), in the recipe
# of faster_rcnn_r50_coco.py; only the backbone and the FPN's input channels
# (DLA-60's levels 2-5: 128, 256, 512, 1024) differ.
#
# Pretrained backbone: the official ImageNet weights by zoo name,
# zoo://res2next_dla60 (res2next_dla60_4s-d327927b.pth of the Res2Net-PretrainedModels
# release, which timm's dla60_res2next loads too; configs/metafile.yml), downloaded
# once and checked against its hash. Its layout is converted on load. Train
# from scratch with --cfg-options model.backbone.init_cfg=None
_base_ = './faster_rcnn_r50_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2NetDLA',
        arch='res2next_dla60',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='zoo://res2next_dla60')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
