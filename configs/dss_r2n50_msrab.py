# DSS, Res2Net-50 (26w x 4s), MSRA-B -> ECSSD, PASCAL-S, HKU-IS, DUT-OMRON
# (paper Table 9). Identical to dss_r50_msrab.py except for the backbone.
#
# Pretrained backbone: the official ImageNet weights by zoo name, downloaded
# once into $TORCH_HOME/hub/checkpoints and verified (docs/checkpoints.md). Train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = './dss_r50_msrab.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='zoo://res2net50_26w_4s')))
