# ImageNet classification, Res2Net-50 14w x 8s: Table 3, top-1 error 21.86.
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r50_in1k.py except for the backbone. Pretrain a backbone that has no
# published weights with it, then point a downstream config at the checkpoint
# (docs/experiments.md, "Tables 1-4").
_base_ = './cls_r50_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_14w_8s',
        out_indices=(3, ),
        zero_init_residual=False))
