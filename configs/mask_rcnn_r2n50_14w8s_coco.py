# Mask R-CNN, Res2Net-50 14w x 8s (paper Table 8): mask_rcnn_r2n50_coco.py
# with the 14w x 8s backbone and its official weights (by zoo name).
_base_ = './mask_rcnn_r2n50_coco.py'

model = dict(
    backbone=dict(
        arch='res2net50_14w_8s',
        init_cfg=dict(checkpoint='zoo://res2net50_14w_8s')))
