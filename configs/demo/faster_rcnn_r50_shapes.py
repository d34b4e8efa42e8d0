# Demo: the ResNet-50 twin of faster_rcnn_r2n50_shapes.py for
# `bash tools/run_demo.sh --compare`: mmdet's ResNet-50 pretrained by its own
# twin (cls_r50_shapes.py); only the backbone differs.
_base_ = './faster_rcnn_r2n50_shapes.py'

work_dir = 'work_dirs/demo_faster_rcnn_r50'
pretrain_config = './cls_r50_shapes.py'
compare_config = None
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', prefix='backbone.',
            checkpoint='work_dirs/pretrained/cls_r50_shapes_seed0.pth')))
