# SimpleBaseline, Res2Net-50 (26w x 4s), COCO keypoints, 256x192 (paper
# Table 10). Identical to simplebaseline_r50_coco.py except for the backbone
# (only its last stage feeds the heatmap head, as with mmpose's ResNet).
#
# Pretrained backbone: the official ImageNet weights by zoo name, downloaded
# once into $TORCH_HOME/hub/checkpoints and verified (docs/checkpoints.md). Train from scratch with
#   --cfg-options model.backbone.init_cfg=None
_base_ = './simplebaseline_r50_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='res2net_mm.Res2Net',
        arch='res2net50_26w_4s',
        out_indices=(3, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='zoo://res2net50_26w_4s')))
