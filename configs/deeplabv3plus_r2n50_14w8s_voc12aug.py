# DeepLab v3+, Res2Net-50 14w x 8s, output stride 16, VOC12 aug (paper
# Table 7): deeplabv3plus_r2n50_voc12aug.py with the 14w x 8s backbone.
# Official weights by zoo name.
_base_ = './deeplabv3plus_r2n50_voc12aug.py'

model = dict(
    backbone=dict(
        arch='res2net50_14w_8s',
        init_cfg=dict(checkpoint='zoo://res2net50_14w_8s')))
