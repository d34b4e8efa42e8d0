# ImageNet classification, Res2Net-152 (26w x 4s): not in the paper; no published weights.
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r152_in1k.py except for the backbone. Pretrain a backbone that has no
# published weights with it, then point a downstream config at the checkpoint
# (docs/experiments.md, "Tables 1-4").
_base_ = './cls_r152_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net152_26w_4s',
        out_indices=(3, ),
        zero_init_residual=False))
