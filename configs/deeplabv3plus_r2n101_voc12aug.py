# DeepLab v3+, Res2Net-101 (26w x 4s), output stride 16, VOC12 aug (paper
# Table 7): deeplabv3plus_r2n50_voc12aug.py with the 101-layer backbone.
# Official weights by zoo name.
_base_ = './deeplabv3plus_r2n50_voc12aug.py'

model = dict(
    backbone=dict(
        arch='res2net101_26w_4s',
        init_cfg=dict(checkpoint='zoo://res2net101_26w_4s')))
