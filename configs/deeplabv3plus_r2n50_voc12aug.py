# DeepLab v3+, Res2Net-50 (26w x 4s), output stride 16, VOC12 aug (paper
# Table 7). Identical to deeplabv3plus_r50_voc12aug.py except for the
# backbone; the other scales of Table 7 are
# deeplabv3plus_r2n50_{48w2s,18w6s,14w8s}_voc12aug.py.
#
# Pretrained backbone: the official ImageNet weights by zoo name, downloaded
# once into $TORCH_HOME/hub/checkpoints and verified (docs/checkpoints.md). Train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = './deeplabv3plus_r50_voc12aug.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        contract_dilation=True,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='zoo://res2net50_26w_4s')))
