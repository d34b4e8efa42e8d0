# SimpleBaseline, Res2Net-101 (26w x 4s), COCO keypoints, 256x192 (paper
# Table 10): simplebaseline_r2n50_coco.py with the 101-layer backbone.
# Official weights by zoo name.
_base_ = './simplebaseline_r2n50_coco.py'

model = dict(
    backbone=dict(
        arch='res2net101_26w_4s',
        init_cfg=dict(checkpoint='zoo://res2net101_26w_4s')))
