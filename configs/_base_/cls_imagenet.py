# The paper's ImageNet recipe (Sec. 4.1; PAPER.md "Training recipe") in
# mmpretrain: SGD momentum 0.9, weight decay 1e-4, lr 0.1 for a batch of 256
# (4 GPUs x 64; mmengine's auto_scale_lr rescales other batches with
# --auto-scale-lr), lr x0.1 every 30 epochs, 100 epochs; random-resized 224
# crops + horizontal flip; test: short side 256, center crop 224; top-1/top-5.
# ImageClassifier: backbone -> global average pooling -> linear classifier.
# Every classification config (configs/cls_*_in1k.py) inherits this one and
# sets the backbone (and the plugin import); the stock bases are mmpretrain's
# ResNet-50 recipe files.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]

# The paper trains from scratch with the plain PyTorch ImageNet recipe: no
# zero-initialised residual norms (mmpretrain's ResNet default).
model = dict(backbone=dict(zero_init_residual=False))
