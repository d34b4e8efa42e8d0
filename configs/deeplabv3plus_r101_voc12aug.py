# DeepLab v3+, ResNet-101, output stride 16, VOC12 aug (paper Table 7):
# deeplabv3plus_r50_voc12aug.py with depth 101 (torchvision://resnet101,
# downloaded by mmengine on first use).
_base_ = './deeplabv3plus_r50_voc12aug.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='torchvision://resnet101')))
