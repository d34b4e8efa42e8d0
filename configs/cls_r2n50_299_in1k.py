# ImageNet classification, Res2Net-50-299: Res2Net-50 (26w x 4s) trained and
# tested at 299x299 (paper Table 1, top-1 error 21.41, beside InceptionV3).
# cls_r2n50_in1k.py with 299 crops; the test resize keeps the 0.875 crop
# ratio of 224/256 (342 -> 299).
_base_ = './cls_r2n50_in1k.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=299),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=342, edge='short'),
    dict(type='CenterCrop', crop_size=299),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
