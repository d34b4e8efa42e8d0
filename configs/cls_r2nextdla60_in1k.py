# ImageNet classification, Res2NeXt-DLA-60: Table 2, top-1 error 21.55.
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r50_in1k.py except for the backbone and the classifier's input
# (DLA-60 ends with 1024 channels). The official weights
# (zoo://res2next_dla60, res2next_dla60_4s-d327927b.pth) evaluate as published.
_base_ = './cls_r50_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2NetDLA',
        arch='res2next_dla60',
        out_indices=(3, ),
        zero_init_residual=False),
    head=dict(in_channels=1024))
