# ImageNet classification, Res2Net-50 v1b (deep stem, avg-pool shortcut): official release, not in the paper (reported top-1 81.5 with a longer recipe).
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r50_in1k.py except for the backbone. Pretrain a backbone that has no
# published weights with it, then point a downstream config at the checkpoint
# (docs/experiments.md, "Tables 1-4").
_base_ = './cls_r50_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_v1b_26w_4s',
        out_indices=(3, ),
        zero_init_residual=False))
