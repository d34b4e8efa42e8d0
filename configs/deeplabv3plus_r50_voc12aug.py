# DeepLab v3+, ResNet-50, PASCAL VOC 2012 + SBD augmented train (10582) ->
# VOC12 val (1449), 512x512 crops, 40k iterations: the R-50 baseline of the
# paper's Table 7 (Res2Net: deeplabv3plus_r2n50*_voc12aug.py).
#
# Two changes to the stock mmseg recipe, both shared by every Table 7 config:
# * output stride 16 as in the paper (stock: 8): stage 3 strided, stage 4
#   dilated by 2, and the ASPP rates that go with it (6, 12, 18 instead of
#   12, 24, 36), as mmseg's own d16 configs do;
# * a plain ResNet-50 (7x7 stem, torchvision://resnet50, downloaded by
#   mmengine on first use) instead of ResNetV1c's deep stem, so that the
#   baseline has the same stem as the Res2Net-50 it is compared with.
# The stock SyncBN becomes BN automatically when not distributed.
_base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    decode_head=dict(dilations=(1, 6, 12, 18)))
