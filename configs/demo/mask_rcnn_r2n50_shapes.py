# Demo: Mask R-CNN, Res2Net-50 (26w x 4s) + FPN, fine-tuned from the
# pretraining step's backbone (as the Faster R-CNN demo) on the synthetic
# shapes on a 2-core CPU in minutes; COCO bbox and segm mAP on the held-out
# val split (docs/demos.md).
#
# The Faster R-CNN demo (same data, backbone, optimizer, schedule, proposals
# and sampled RoIs) plus the mask branch of mmdet's Mask R-CNN
# (mmdet::_base_/models/mask-rcnn_r50_fpn.py), narrowed like the box branch
# to the demo's 128-channel FPN.
_base_ = './faster_rcnn_r2n50_shapes.py'

work_dir = 'work_dirs/demo_mask_rcnn'
compare_config = None  # no ResNet-50 twin

model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
            out_channels=128,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=128,
            conv_out_channels=128,
            num_classes=len(_base_.classes),
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))

train_dataloader = dict(dataset=dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(_base_.image_size, ) * 2, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
])))
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator

custom_hooks = [
    dict(type='res2net_mm.CurvePlotHook',
         metrics=('coco/bbox_mAP', 'coco/segm_mAP', 'coco/segm_mAP_50')),
    dict(type='res2net_mm.PredictionGridHook', metric='coco/segm_mAP',
         score_thr=0.5),
]
