# Demo: the ResNet-50 twin of cam_r2n50_shapes.py (mmpretrain's ResNet-50,
# the paper's baseline in Fig. 4), fine-tuned the same way from its own
# pretraining step (cls_r50_shapes.py): only the backbone differs.
_base_ = './cam_r2n50_shapes.py'

work_dir = 'work_dirs/demo_cam_r50'
pretrain_config = './cls_r50_shapes.py'
compare_config = None
model = dict(backbone=dict(
    _delete_=True, type='ResNet', depth=50, out_indices=(3, ),
    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='work_dirs/pretrained/cls_r50_shapes_seed0.pth')))
