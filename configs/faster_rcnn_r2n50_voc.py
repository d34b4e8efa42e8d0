# Faster R-CNN, Res2Net-50 (26w x 4s) + FPN, PASCAL VOC07+12 trainval ->
# VOC07 test (paper Table 5). Identical to faster_rcnn_r50_voc.py except for
# the backbone, which is the one of faster_rcnn_r2n50_coco.py (official
# weights by zoo name). Train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = './faster_rcnn_r50_voc.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='zoo://res2net50_26w_4s')))
