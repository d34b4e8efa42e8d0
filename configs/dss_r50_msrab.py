# DSS (Hou et al., "Deeply Supervised Salient Object Detection with Short
# Connections", CVPR 2017), ResNet-50, trained on MSRA-B (2500 train images,
# 500 val), tested on ECSSD, PASCAL-S, HKU-IS and DUT-OMRON: the R-50 baseline
# of the paper's Table 9 (Res2Net: dss_r2n50_msrab.py). The head, its short
# connections and loss weights: res2net_mm/models/heads/dss_head.py.
#
# The recipe of DSS's released Caffe solver (github.com/Andrew-Qibin/DSS:
# solver.prototxt, resnet/train_resnet.prototxt; the Res2Net paper names
# DSS and MSRA-B but no recipe of its own), with the backbone exchanged:
# * one image a step at its own size (MSRA-B: about 400x300), flipped
#   horizontally at random; gradients of 10 images accumulated per update
#   (Caffe's iter_size 10); 12000 updates = 120000 iterations here (one image
#   each), lr / 10 after 7500 updates;
# * SGD, momentum 0.9, weight decay 5e-4 (none on biases), biases at twice
#   the lr; the 1x1 score, short-connection and fusion convs at 0.1x (their
#   biases 0.2x);
#   lr 1e-3 for Caffe's 1e-8: Caffe sums the sigmoid cross-entropy over the
#   pixels, mmseg averages it (a 400x300 image has 1.2e5 pixels);
# * backbone BatchNorm frozen, statistics and affine (Caffe's
#   use_global_stats and lr_mult 0), ImageNet weights (torchvision's; Caffe
#   used the MSRA ResNet release) with their RGB mean/std normalization.
_base_ = 'mmseg::_base_/default_runtime.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)

model = dict(
    type='EncoderDecoder',
    # size_divisor 1: a batch is padded to its largest image only (none at
    # batch 1); padded mask pixels (255) are left out of the loss.
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=1,
                           pad_val=0, seg_pad_val=255),
    pretrained=None,
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    decode_head=dict(
        type='res2net_mm.DSSHead',
        in_channels=(256, 512, 1024, 2048),
        side_channels=(256, 256, 512, 512),
        kernel_sizes=(5, 5, 5, 7),
        connections=((2, 3), (2, 3), (), ()),
        test_sides=(0, 1, 2)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

data_root = 'data/saliency/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='res2net_mm.LoadSaliencyMask'),  # 0/1 at 128, any mask format
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='res2net_mm.LoadSaliencyMask'),  # 0/1 at 128, any mask format
    dict(type='PackSegInputs')
]
msrab = dict(type='res2net_mm.SaliencyDataset', data_root=data_root + 'MSRA-B/',
             data_prefix=dict(img_path='imgs', seg_map_path='gt'))
test_sets = ('ECSSD', 'PASCAL-S', 'HKU-IS', 'DUT-OMRON')

train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**msrab, ann_file='train_cvpr2013.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**msrab, ann_file='valid_cvpr2013.txt', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='res2net_mm.NamedConcatDataset',
        names=test_sets,
        datasets=[
            dict(type='res2net_mm.SaliencyDataset', data_root=data_root + name + '/',
                 data_prefix=dict(img_path='imgs', seg_map_path='gt'),
                 pipeline=test_pipeline) for name in test_sets
        ]))
val_evaluator = dict(type='res2net_mm.SaliencyMetric')
test_evaluator = dict(type='res2net_mm.PerDatasetEvaluator',
                      metrics=[dict(type='res2net_mm.SaliencyMetric')])

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    accumulative_counts=10,
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={'.score.weight': dict(lr_mult=0.1),
                     '.score.bias': dict(lr_mult=0.2, decay_mult=0.0),
                     'conv_seg.weight': dict(lr_mult=0.1),
                     'conv_seg.bias': dict(lr_mult=0.2, decay_mult=0.0)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[75000], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=120000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000,
                    save_best='saliency/maxF', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
