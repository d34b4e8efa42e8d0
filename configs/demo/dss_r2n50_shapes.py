# Demo: DSS salient object detection, Res2Net-50 (26w x 4s), fine-tuned from
# the pretraining step's backbone (cls_r2n50_shapes.py) on the synthetic
# shapes on a 2-core CPU in minutes: the largest
# shape of each image is salient (its visible pixels are the mask,
# res2net_mm/datasets/shapes_saliency.py); max F-measure and MAE on the
# held-out val images (docs/demos.md).
#
# Changes to configs/dss_r2n50_msrab.py, for a few CPU minutes:
# * data: the 192x192 shapes with their saliency masks, resized to 128x128
#   (2.25x fewer pixels per step), batches of 4, flipped; the images with one
#   salient object (largest shape >= 2x the pixels of any other), as MSRA-B
#   holds the images whose labellers agreed on one (saliency/splits/*.txt);
# * backbone: from the pretraining step (Pretrained init), BatchNorm trained
#   (the recipe freezes ImageNet statistics; those of the shape crops are
#   not the scenes');
# * head: the DSS side outputs and short connections as configured there,
#   with 64 instead of 256/512 channels per side and BatchNorm in the side
#   convs (without it the new, deep N(0, 0.01) stacks barely
#   learn in a few hundred steps);
# * AdamW with a short warm-up and a cosine schedule instead of SGD with
#   10-image accumulation over 120k iterations; periodic evaluation and the
#   demo hooks (loss/maxF curves, image | mask | prediction picture).
_base_ = '../dss_r2n50_msrab.py'

# The shared demo data of ./_base_/shapes.py, repeated here because both
# bases would declare custom_imports (tests/configs/test_demo.py checks they agree).
custom_imports = dict(imports=['res2net_mm', 'res2net_mm.demo'], allow_failed_imports=False)
shapes_root = 'data/shapes/'
shapes_data = dict(num_train=1000, num_val=100, image_size=192, seed=0)
data_root = shapes_root
input_size = 128
max_iters = 500
val_interval = 100
# The pretraining step (res2net_mm/demo/protocol.py), run first by
# tools/demo.py.
pretrain_config = './cls_r2n50_shapes.py'
work_dir = 'work_dirs/demo_dss'

model = dict(
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                  init_cfg=dict(
                      type='Pretrained', prefix='backbone.',
                      checkpoint='work_dirs/pretrained/cls_r2n50_shapes_seed0.pth')),
    decode_head=dict(side_channels=(64, 64, 64, 64), norm_cfg=dict(type='BN', requires_grad=True)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='res2net_mm.LoadSaliencyMask'),  # 0/1 at 128, any mask format
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=True),
    # the mask at the image's own size: maps are scored where they are drawn
    dict(type='res2net_mm.LoadSaliencyMask'),  # 0/1 at 128, any mask format
    dict(type='PackSegInputs')
]


def shapes_split(split, pipeline):
    return dict(
        _delete_=True,
        type='res2net_mm.ShapesSaliencyDataset',
        **shapes_data,
        dataset=dict(type='res2net_mm.SaliencyDataset', data_root=data_root,
                     ann_file=f'saliency/splits/{split}.txt',
                     data_prefix=dict(img_path=f'images/{split}',
                                      seg_map_path=f'saliency/{split}'),
                     test_mode=split == 'val', pipeline=pipeline))


train_dataloader = dict(batch_size=4, num_workers=1, sampler=dict(type='InfiniteSampler'),
                        dataset=shapes_split('train', train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=1, dataset=shapes_split('val', test_pipeline))
test_dataloader = val_dataloader
test_evaluator = dict(_delete_=True, type='res2net_mm.SaliencyMetric')

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters, eta_min=1e-5)
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=1),
    visualization=dict(draw=False))
custom_hooks = [
    dict(type='res2net_mm.CurvePlotHook', metrics=('saliency/maxF', 'saliency/MAE',
                                                   'saliency/adpF')),
    dict(type='res2net_mm.PredictionGridHook', metric='saliency/maxF', num_images=6, cols=2),
]
randomness = dict(seed=0)
