# ImageNet classification, Res2Net-DLA-60: Table 2, top-1 error 21.53.
# The paper's recipe (configs/_base_/cls_imagenet.py); identical to
# cls_r50_in1k.py except for the backbone and the classifier's input
# (DLA-60 ends with 1024 channels). The official weights
# (zoo://res2net_dla60, res2net_dla60_4s-d88db7f9.pth) evaluate as published.
_base_ = './cls_r50_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2NetDLA',
        arch='res2net_dla60',
        out_indices=(3, ),
        zero_init_residual=False),
    head=dict(in_channels=1024))
