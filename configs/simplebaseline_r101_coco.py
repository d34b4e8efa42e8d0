# SimpleBaseline, ResNet-101, COCO keypoints, 256x192 (paper Table 10):
# mmpose's stock recipe, the same as simplebaseline_r50_coco.py but for the
# depth. Pretrained backbone: torchvision://resnet101, downloaded by mmengine
# on first use into the torch hub cache.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res101_8xb64-210e_coco-256x192.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)
