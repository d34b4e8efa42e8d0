# Faster R-CNN, Res2Net-50 (26w x 4s) + FPN, COCO 2017, 1x schedule (paper
# Tables 5-6). Identical to faster_rcnn_r50_coco.py except for the backbone.
#
# Pretrained backbone: the official ImageNet weights by zoo name, downloaded
# once into $TORCH_HOME/hub/checkpoints and verified (docs/checkpoints.md). Train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = './faster_rcnn_r50_coco.py'

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
