# ImageNet classification, bL-ResNet-50 (Big-Little Net, alpha=2, beta=4,
# plain bottlenecks): Table 2, top-1 error 22.41 (the bL-Net release's
# weights use the bL-Net code's names, which the loader renames).
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r50_in1k.py except for the backbone. The baseline of cls_blr2n50_in1k.py.
_base_ = './cls_r50_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.BigLittleRes2Net',
        arch='blresnet50',
        out_indices=(3, ),
        zero_init_residual=False))
