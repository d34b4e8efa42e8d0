# ImageNet classification, Res2Net-101 (26w x 4s): Table 2, top-1 error 20.81.
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r101_in1k.py except for the backbone. Pretrain a backbone that has no
# published weights with it, then point a downstream config at the checkpoint
# (docs/experiments.md, "Tables 1-4").
_base_ = './cls_r101_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net101_26w_4s',
        out_indices=(3, ),
        zero_init_residual=False))
