# DeepLab v3+, Res2Net-101 (26w x 4s), output stride 16, VOC12 aug (paper
# Table 7): deeplabv3plus_r2n50_voc12aug.py with the 101-layer backbone.
# Pretrained weights, e.g.
#   wget -P checkpoints https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-res2net/res2net101_26w_4s-02a759a1.pth
# (official release: https://shanghuagao.oss-cn-beijing.aliyuncs.com/res2net/).
_base_ = './deeplabv3plus_r2n50_voc12aug.py'

model = dict(
    backbone=dict(
        arch='res2net101_26w_4s',
        init_cfg=dict(checkpoint='checkpoints/res2net101_26w_4s-02a759a1.pth')))
