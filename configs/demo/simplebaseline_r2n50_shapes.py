# Demo: SimpleBaseline (top-down heatmaps), Res2Net-50 (26w x 4s), fine-tuned
# from the backbone that the pretraining step (cls_r2n50_shapes.py) trains,
# on the five tips of the synthetic shapes' stars on a 2-core CPU in minutes; COCO keypoint AP (shapes metainfo and sigmas) on the
# held-out val split, with ground-truth boxes (docs/demos.md).
#
# Changes to the stock COCO 256x192 recipe, for a few CPU minutes:
# * data: the stars of the 192x192 shapes, 5 keypoints
#   (res2net_mm/datasets/shapes_keypoint_metainfo.py), a square 128x128 input
#   (stars are about as wide as tall) and 32x32 heatmaps;
# * augmentation: flips, small shifts and scales, and rotations of at most
#   15 degrees, since the tips are named by where they point (no half-body);
# * backbone: our Res2Net-50 from the pretraining step (Pretrained init), BN
#   in training mode;
# * an iteration schedule with periodic evaluation, and the demo hooks.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-256x192.py', './_base_/shapes.py'
]

data_root = _base_.shapes_root
metainfo = dict(from_file=_base_.shapes_keypoint_metainfo)
max_iters = 600
val_interval = 150
# The pretraining step (res2net_mm/demo/protocol.py), run first by
# tools/demo.py.
pretrain_config = './cls_r2n50_shapes.py'
work_dir = 'work_dirs/demo_simplebaseline'

codec = dict(
    type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained', prefix='backbone.',
            checkpoint='work_dirs/pretrained/cls_r2n50_shapes_seed0.pth')),
    head=dict(out_channels=5, decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=15.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='res2net_mm.ShapesDataset',
        **_base_.shapes_data,
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            data_mode='topdown',
            metainfo=metainfo,
            ann_file='annotations/keypoints_train.json',
            data_prefix=dict(img='images/train/'),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='res2net_mm.ShapesDataset',
        **_base_.shapes_data,
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            data_mode='topdown',
            metainfo=metainfo,
            ann_file='annotations/keypoints_val.json',
            data_prefix=dict(img='images/val/'),
            test_mode=True,
            pipeline=val_pipeline)))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/keypoints_val.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         eta_min=1e-5)
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=val_interval, max_keep_ckpts=1))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='res2net_mm.CurvePlotHook',
         metrics=('coco/AP', 'coco/AP .5', 'coco/AR')),
    dict(type='res2net_mm.PredictionGridHook', metric='coco/AP'),
]
log_processor = dict(by_epoch=False, window_size=20)
randomness = dict(seed=0)
