# Mask R-CNN, Res2Net-50 48w x 2s (paper Table 8): mask_rcnn_r2n50_coco.py
# with the 48w x 2s backbone. Official weights by zoo name.
_base_ = './mask_rcnn_r2n50_coco.py'

model = dict(
    backbone=dict(
        arch='res2net50_48w_2s',
        init_cfg=dict(checkpoint='zoo://res2net50_48w_2s')))
