# SimpleBaseline (top-down heatmaps), ResNet-50, COCO keypoints 2017,
# 256x192 input, 210 epochs: the R-50 baseline of the paper's Table 10
# (Res2Net: simplebaseline_r2n50_coco.py). Tested, as in the paper, on the
# person boxes of one fixed detector (mmpose's
# data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json).
# Pretrained backbone: torchvision://resnet50, downloaded by mmengine on
# first use into the torch hub cache.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py'

custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)
