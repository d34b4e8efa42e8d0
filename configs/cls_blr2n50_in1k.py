# ImageNet classification, bLRes2Net-50 (Big-Little Net, alpha=2, beta=4,
# 26w x 4s Res2Net blocks): Table 2, top-1 error 21.68; no published weights.
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r50_in1k.py except for the backbone. Pretrain the backbone of
# faster_rcnn_blr2n50_coco.py with it.
_base_ = './cls_r50_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.BigLittleRes2Net',
        arch='blres2net50',
        out_indices=(3, ),
        zero_init_residual=False))
