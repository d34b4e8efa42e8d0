# Demo: the ResNet-50 twin of cls_r2n50_shapes.py (mmpretrain's ResNet-50,
# the paper's baseline), trained the same way: only the backbone differs.
_base_ = './cls_r2n50_shapes.py'

work_dir = 'work_dirs/demo_cls_r50'
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50, out_indices=(3, ),
                           zero_init_residual=True))
