# Demo: DeepLab v3+, Res2Net-50 (26w x 4s), output stride 16, fine-tuned
# from the backbone that the pretraining step (cls_r2n50_shapes.py) trains,
# on the synthetic shapes' label maps on a 2-core CPU in minutes; mIoU over
# background + 5 shapes on the held-out val split (docs/demos.md).
#
# Changes to the stock VOC recipe, for a few CPU minutes:
# * data: the 192x192 shapes (label 0 is background, no ignored pixels)
#   resized to 96x96 (the shapes come closer to their size in the
#   pretraining crops, and a step is cheaper), flipped, no crop; predictions
#   are scored at the label maps' 192 px (the test pipeline loads them after
#   the resize);
# * backbone: our Res2Net-50 from the pretraining step (Pretrained init), BN
#   in training mode, output stride 16 as in
#   configs/deeplabv3plus_r2n50_voc12aug.py (and ASPP rates to match);
# * background weighted 0.1 in both losses: shapes cover ~14% of the pixels,
#   and without it the net learned shape vs background but not which shape
#   (every shape pixel one class) in 450 iterations. mmseg 1.2.2's
#   CrossEntropyLoss with class_weight fails on padded labels (ignore index
#   255), so data_preprocessor.size must stay the input size;
# * AdamW and a short iteration schedule with periodic evaluation, and the
#   demo hooks (loss/mIoU plot, prediction picture).
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py',
    './_base_/shapes.py'
]

data_root = _base_.shapes_root
classes = ('background', ) + _base_.shapes_classes
input_size = 96
class_weight = [0.1] + [1.0] * len(_base_.shapes_classes)
max_iters = 1200
val_interval = 400
# The pretraining step (res2net_mm/demo/protocol.py), run first by
# tools/demo.py.
pretrain_config = './cls_r2n50_shapes.py'
work_dir = 'work_dirs/demo_deeplabv3plus'

model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(input_size, input_size)),
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        contract_dilation=True,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained', prefix='backbone.',
            checkpoint='work_dirs/pretrained/cls_r2n50_shapes_seed0.pth')),
    decode_head=dict(dilations=(1, 6, 12, 18), channels=256,
                     num_classes=len(classes),
                     loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(num_classes=len(classes),
                        loss_decode=dict(class_weight=class_weight)))


train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=True),
    dict(type='LoadAnnotations'),  # at the image's own size: scored there
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='res2net_mm.ShapesDataset',
        **_base_.shapes_data,
        dataset=dict(
            type='BaseSegDataset',
            data_root=data_root,
            metainfo=dict(classes=classes, palette=_base_.shapes_palette),
            ann_file='splits/train.txt',
            data_prefix=dict(img_path='images/train',
                             seg_map_path='segmentation/train'),
            img_suffix='.jpg',
            seg_map_suffix='.png',
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='res2net_mm.ShapesDataset',
        **_base_.shapes_data,
        dataset=dict(
            type='BaseSegDataset',
            data_root=data_root,
            metainfo=dict(classes=classes, palette=_base_.shapes_palette),
            ann_file='splits/val.txt',
            data_prefix=dict(img_path='images/val',
                             seg_map_path='segmentation/val'),
            img_suffix='.jpg',
            seg_map_suffix='.png',
            test_mode=True,
            pipeline=test_pipeline)))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=6e-4, weight_decay=0.05),
    clip_grad=dict(_delete_=True, max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         eta_min=3e-6)
]

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=1),
    visualization=dict(draw=False))
custom_hooks = [
    dict(type='res2net_mm.CurvePlotHook', metrics=('mIoU', 'mAcc', 'aAcc')),
    dict(type='res2net_mm.PredictionGridHook', metric='mIoU'),
]
randomness = dict(seed=0)
