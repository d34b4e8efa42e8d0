# The CIFAR recipe of the paper's Table 4, which follows ResNeXt (Xie et al.,
# CVPR 2017, Sec. 5.3): SGD momentum 0.9, weight decay 5e-4, batch 128 (8 GPUs
# x 16), lr 0.1 divided by 10 at epochs 150 and 225 of 300; 32x32 inputs,
# 4-pixel padded random crops + horizontal flip, top-1 on the test set.
# mmpretrain's CIFAR-100 dataset (downloaded into data/cifar100 on first use).
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(),  # set by each config
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=1024,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
optim_wrapper = dict(optimizer=dict(weight_decay=5e-4))
param_scheduler = dict(milestones=[150, 225])
train_cfg = dict(max_epochs=300)
