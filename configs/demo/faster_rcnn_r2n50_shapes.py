# Demo: Faster R-CNN, Res2Net-50 (26w x 4s) + FPN on the synthetic shapes
# (res2net_mm/datasets/synthetic.py), fine-tuned on a 2-core CPU from the
# backbone that the pretraining step (cls_r2n50_shapes.py) trains on the
# shape crops; COCO bbox mAP on the held-out val split. The README's main
# job: `bash tools/run_demo.sh` (docs/demos.md).
#
# Changes to the stock 1x COCO recipe, for minutes of CPU:
# * data: the 192x192 shapes (objects 23 to 154 px, generated into
#   data/shapes/ on first use), flipped;
# * backbone: our Res2Net-50 from the pretraining step (Pretrained init),
#   stage 1 frozen as in the paper, BN in training mode (the pretraining's
#   statistics are of crops, not of scenes);
# * anchors one octave smaller (16 to 256 px), a 128-channel FPN, a 512-wide
#   box head, 1 RoIAlign sample per bin, 150 proposals and 64 sampled RoIs
#   per training image: a third of the compute;
# * AdamW at 6e-4, 30 warm-up iterations and a cosine decay over 600
#   iterations of 4 images (2.4 epochs: the mAP still climbs from 0.44 at
#   300 iterations to 0.76 at 600), COCO evaluation every 200, and the demo
#   hooks (loss/mAP plot, predictions).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
          './_base_/shapes.py']

data_root = _base_.shapes_root
classes = _base_.shapes_classes
image_size = _base_.shapes_data.image_size
max_iters = 600
val_interval = 200
work_dir = 'work_dirs/demo_faster_rcnn'
# The pretraining step (res2net_mm/demo/protocol.py; tools/demo.py runs it
# first, once per seed) and the ResNet-50 twin of `tools/demo.py --compare`.
pretrain_config = './cls_r2n50_shapes.py'
compare_config = './faster_rcnn_r50_shapes.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained', prefix='backbone.',
            checkpoint='work_dirs/pretrained/cls_r2n50_shapes_seed0.pth')),
    neck=dict(out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128,
                  anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128,
                                roi_layer=dict(sampling_ratio=1)),
        bbox_head=dict(in_channels=128, fc_out_channels=512,
                       num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=150),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='res2net_mm.ShapesDataset',
        **_base_.shapes_data,
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            metainfo=dict(classes=classes),
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='images/train/'),
            filter_cfg=dict(filter_empty_gt=True),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='res2net_mm.ShapesDataset',
        **_base_.shapes_data,
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            metainfo=dict(classes=classes),
            ann_file='annotations/instances_val.json',
            data_prefix=dict(img='images/val/'),
            test_mode=True,
            pipeline=test_pipeline)))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=val_interval)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=6e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         eta_min=1e-6)
]

default_hooks = dict(
    logger=dict(interval=20),
    # The last checkpoint only: every run trains anew.
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    visualization=dict(draw=False))
custom_hooks = [
    dict(type='res2net_mm.CurvePlotHook',
         metrics=('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75')),
    dict(type='res2net_mm.PredictionGridHook', metric='coco/bbox_mAP',
         score_thr=0.5),
]
log_processor = dict(by_epoch=False, window_size=20)
randomness = dict(seed=0)
