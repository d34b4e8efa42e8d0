# Demo: the classifiers of the CAM demo (the paper's Fig. 4, docs/analysis.md):
# Res2Net-50 (26w x 4s) fine-tuned from the backbone that the pretraining
# step (cls_r2n50_shapes.py) trains, to name every shape class that a whole
# scene shows (multi-label, as an ImageNet photo holds its object
# among others); mAP over the classes on the held-out val scenes. Its
# class activation maps are then scored against each class's pixels
# (tools/analysis/vis_cam.py). `bash tools/run_demo.sh
# configs/demo/cam_r2n50_shapes.py --compare` trains it and its ResNet-50
# twin (cam_r50_shapes.py), which differs only in the backbone.
#
# Changes to the pretraining recipe (cls_r2n50_shapes.py):
# * data: the whole scenes with their classes (the label maps' classes,
#   cam/labels_{train,val}.json, type='res2net_mm.ShapeScenesDataset'),
#   flipped, resized to input_size (160 px), where the last stage is a 5 x 5
#   map (at least 4 x 4 for maps that place a shape; the crop classifiers'
#   48 px give 2 x 2);
# * head: one sigmoid per class (mmpretrain's MultiLabelLinearClsHead);
# * AdamW at 2e-3, cosine over 400 iterations of 16 scenes.
_base_ = ['../_base_/cls_imagenet.py', './_base_/shapes.py']

data_root = _base_.shapes_root
# The labels' order: sorted by name, as the crop classifiers' (and the CAM
# scene folders are read by name).
classes = sorted(_base_.shapes_classes)
input_size = 160
max_iters = 400
val_interval = 100
work_dir = 'work_dirs/demo_cam_r2n50'
pretrain_config = './cls_r2n50_shapes.py'
compare_config = './cam_r50_shapes.py'

model = dict(
    backbone=dict(
        _delete_=True, type='res2net_mm.Res2Net', arch='res2net50_26w_4s',
        out_indices=(3, ),
        init_cfg=dict(type='Pretrained', prefix='backbone.',
                      checkpoint='work_dirs/pretrained/cls_r2n50_shapes_seed0.pth')),
    head=dict(_delete_=True, type='MultiLabelLinearClsHead', num_classes=len(classes),
              in_channels=2048))
data_preprocessor = dict(num_classes=len(classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size)),
    dict(type='PackInputs'),
]


def scenes(split, pipeline):
    return dict(
        type='res2net_mm.ShapeScenesDataset',
        shapes_root=data_root,
        **_base_.shapes_data,
        dataset=dict(type='MultiLabelDataset', data_root=data_root,
                     ann_file=f'cam/labels_{split}.json', pipeline=pipeline))


train_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=True,
                        dataset=dict(_delete_=True, **scenes('train', train_pipeline)))
val_dataloader = dict(batch_size=32, num_workers=1, persistent_workers=True,
                      dataset=dict(_delete_=True, **scenes('val', test_pipeline)))
test_dataloader = val_dataloader
val_evaluator = [dict(type='AveragePrecision'), dict(type='MultiLabelMetric')]
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=val_interval)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         eta_min=1e-6),
]
auto_scale_lr = dict(enable=False)

default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
custom_hooks = [
    dict(type='res2net_mm.CurvePlotHook', metrics=('multi-label/mAP', 'multi-label/f1-score')),
    dict(type='res2net_mm.PredictionGridHook', metric='multi-label/mAP',
         num_images=16, cols=8),
]
log_processor = dict(by_epoch=False, window_size=25)
randomness = dict(seed=0)
