# Demo: ImageNet-style classification, Res2Net-50 (26w x 4s), trained from
# scratch on the CPU: one 64x64 crop per object of the synthetic shapes
# (res2net_mm/datasets/crops.py; 5 classes, 2507 train / 237 val crops),
# top-1 on the held-out val crops. `bash tools/run_demo.sh
# configs/demo/cls_r2n50_shapes.py` (docs/demos.md).
#
# Changes to the paper's ImageNet recipe (../cls_r2n50_in1k.py), for minutes
# of CPU from scratch:
# * data: the crops (mmpretrain CustomDataset over class folders) resized to
#   48 px and flipped (no random-resized crops: in 2 epochs they slow
#   learning more than they help); test: resized to 48 px;
# * residual norms zero-initialised (the blocks start as identities: from
#   scratch in few steps this learns faster than the paper's plain init);
# * AdamW at 2e-3 with 30 warm-up iterations and a cosine decay over 300
#   iterations of 16 crops (~2 epochs), evaluation every 75.
# The ResNet-50 twin (cls_r50_shapes.py) differs only in the backbone.
_base_ = ['../_base_/cls_imagenet.py', './_base_/shapes.py']

data_root = _base_.shapes_root
# The labels' order: the sorted class folders of the crops.
classes = sorted(_base_.shapes_classes)
input_size = 48
max_iters = 300
val_interval = 75
work_dir = 'work_dirs/demo_cls_r2n50'

model = dict(
    backbone=dict(_delete_=True, type='res2net_mm.Res2Net', arch='res2net50_26w_4s',
                  out_indices=(3, ), zero_init_residual=True),
    head=dict(num_classes=len(classes), topk=(1, )))
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


def crops(split, pipeline):
    return dict(
        type='res2net_mm.ShapeCropsDataset',
        shapes_root=data_root,
        **_base_.shapes_data,
        # Labels follow the sorted class folders (circle, cross, square,
        # star, triangle); the dataset's metainfo names them.
        dataset=dict(type='CustomDataset', data_root=data_root + 'crops/',
                     data_prefix=split, with_label=True, pipeline=pipeline))


train_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=True,
                        dataset=dict(_delete_=True, **crops('train', train_pipeline)))
# Shuffled (with the run's seed) so that the prediction picture shows every
# class, not the first folder's; the metric does not depend on the order.
val_dataloader = dict(batch_size=64, num_workers=1, persistent_workers=True,
                      sampler=dict(type='DefaultSampler', shuffle=True),
                      dataset=dict(_delete_=True, **crops('val', test_pipeline)))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
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
    dict(type='res2net_mm.CurvePlotHook', metrics=('accuracy/top1', )),
    dict(type='res2net_mm.PredictionGridHook', metric='accuracy/top1',
         num_images=16, cols=8),
]
log_processor = dict(by_epoch=False, window_size=25)
randomness = dict(seed=0)
