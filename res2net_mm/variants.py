"""The Res2Net variant table: the single source of truth for every named arch.

Each row is the architecture (what builds the network) and, separately, its
published complexity (what tests and docs compare against). Sources: Gao et
al., TPAMI 2020, Table 3 (FLOPs); the official Res2Net-PretrainedModels
repository (parameter counts). Published results and weights (zoo names) are
in configs/metafile.yml.
"""

# name:                      depth  base_width  scales  cardinality  stem    se
ARCHS = {
    'res2net50_26w_4s':      dict(depth=50,  base_width=26, scales=4, cardinality=1, stem='v1',  se=False),  # 23.7M, 4.2G
    'res2net50_48w_2s':      dict(depth=50,  base_width=48, scales=2, cardinality=1, stem='v1',  se=False),  # 23.2M, 4.2G
    'res2net50_14w_8s':      dict(depth=50,  base_width=14, scales=8, cardinality=1, stem='v1',  se=False),  # 23.0M, 4.2G
    'res2net50_26w_6s':      dict(depth=50,  base_width=26, scales=6, cardinality=1, stem='v1',  se=False),  # 35.0M, 6.3G
    'res2net50_26w_8s':      dict(depth=50,  base_width=26, scales=8, cardinality=1, stem='v1',  se=False),  # 46.4M, 8.3G
    'res2net50_18w_4s':      dict(depth=50,  base_width=18, scales=4, cardinality=1, stem='v1',  se=False),  # Res2Net-50-L, 2.9G
    'res2net50_18w_6s':      dict(depth=50,  base_width=18, scales=6, cardinality=1, stem='v1',  se=False),  # Table 7/8 18w x 6s
    'res2net101_26w_4s':     dict(depth=101, base_width=26, scales=4, cardinality=1, stem='v1',  se=False),  # 43.2M, 8.1G
    'res2net152_26w_4s':     dict(depth=152, base_width=26, scales=4, cardinality=1, stem='v1',  se=False),
    'res2next50':            dict(depth=50,  base_width=4,  scales=4, cardinality=8, stem='v1',  se=False),  # 22.6M, 4.2G
    'se_res2net50_26w_4s':   dict(depth=50,  base_width=26, scales=4, cardinality=1, stem='v1',  se=True),
    'res2net50_v1b_26w_4s':  dict(depth=50,  base_width=26, scales=4, cardinality=1, stem='v1b', se=False),  # 23.7M, 4.5G
    'res2net101_v1b_26w_4s': dict(depth=101, base_width=26, scales=4, cardinality=1, stem='v1b', se=False),  # 43.2M, 8.3G
    'res2net152_v1b_26w_4s': dict(depth=152, base_width=26, scales=4, cardinality=1, stem='v1b', se=False),
    'res2net200_v1b_26w_4s': dict(depth=200, base_width=26, scales=4, cardinality=1, stem='v1b', se=False),  # PaddleClas Res2Net200_vd
    # CIFAR-100 (Table 4): the ResNeXt-29 skeleton (Xie et al., 2017): a 3x3
    # stem, 3 stages of 3 blocks at strides 1/2/2, outputs 256/512/1024.
    # "<c>c x <w>w x <s>s": c groups in each 3x3 conv, w channels per group in
    # the first stage, s scales, so a split has w * c channels (doubling per
    # stage), as for Res2NeXt-50; s = 1 is ResNeXt's bottleneck.
    # Parameters with the 100-class fc (Table 4 in brackets).
    'res2next29_6c_24w_4s':    dict(depth=29, base_width=24, scales=4, cardinality=6, stem='cifar', se=False),  # 23.7M (24.3M)
    'res2next29_8c_25w_4s':    dict(depth=29, base_width=25, scales=4, cardinality=8, stem='cifar', se=False),  # 33.0M (33.8M)
    'res2next29_6c_24w_6s':    dict(depth=29, base_width=24, scales=6, cardinality=6, stem='cifar', se=False),  # 36.2M (36.7M)
    'se_res2next29_6c_24w_4s': dict(depth=29, base_width=24, scales=4, cardinality=6, stem='cifar', se=True),   # 24.2M (26.0M)
    'se_res2next29_8c_25w_4s': dict(depth=29, base_width=25, scales=4, cardinality=8, stem='cifar', se=True),   # 33.5M (34.0M)
    'se_res2next29_6c_24w_6s': dict(depth=29, base_width=24, scales=6, cardinality=6, stem='cifar', se=True),   # 36.7M (36.9M)
    'resnext29_8c_64w':        dict(depth=29, base_width=64, scales=1, cardinality=8, stem='cifar', se=False),  # 34.5M (34.4M)
    'se_resnext29_8c_64w':     dict(depth=29, base_width=64, scales=1, cardinality=8, stem='cifar', se=True),   # 35.0M (35.1M)
}

# The keys of an arch (a row of ARCHS, or a dict given as ``arch``).
ARCH_KEYS = ('depth', 'base_width', 'scales', 'cardinality', 'stem', 'se')

# Bottleneck blocks per stage for each depth (He et al., 2016, Table 1).
# Depth 29: the CIFAR ResNeXt-29 (Xie et al., 2017), 3 stages. Depth 200:
# PaddleClas's Res2Net_vd (ppcls/arch/backbone/model_zoo/res2net_vd.py).
STAGE_BLOCKS = {29: (3, 3, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3),
                200: (3, 12, 48, 3)}
STEMS = ('v1', 'v1b', 'cifar')

# Published complexity, for the archs that have it (params: backbone only,
# no ImageNet fc, from the official checkpoints; gflops: the paper's Table 3
# / the official MACs at 224x224). The published results (top-1 and the
# downstream tables) and the weights are in configs/metafile.yml.
ZOO = {
    'res2net50_26w_4s':      dict(params=23_650_120, gflops=4.2),
    'res2net50_48w_2s':      dict(params=23_238_304, gflops=4.2),
    'res2net50_14w_8s':      dict(params=23_010_816, gflops=4.2),
    'res2net50_26w_6s':      dict(params=35_002_448, gflops=6.3),
    'res2net50_26w_8s':      dict(params=46_354_776, gflops=8.3),
    'res2net50_18w_4s':      dict(params=None,       gflops=2.9),
    'res2net101_26w_4s':     dict(params=43_157_688, gflops=8.1),
    'res2next50':            dict(params=22_622_464, gflops=4.2),
    'res2net50_v1b_26w_4s':  dict(params=23_669_352, gflops=4.5),
    'res2net101_v1b_26w_4s': dict(params=43_176_920, gflops=8.3),
    'res2net200_v1b_26w_4s': dict(params=None,       gflops=15.7),  # official README MACs
}
# Table 4, CIFAR-100: parameters in millions with the 100-class classifier
# (within 3% of ours except SE-6c x 24w x 4s: see docs/experiments.md,
# "Table 4").
CIFAR = {
    'res2next29_6c_24w_4s':    dict(params_m=24.3),
    'res2next29_8c_25w_4s':    dict(params_m=33.8),
    'res2next29_6c_24w_6s':    dict(params_m=36.7),
    'se_res2next29_6c_24w_4s': dict(params_m=26.0),
    'se_res2next29_8c_25w_4s': dict(params_m=34.0),
    'se_res2next29_6c_24w_6s': dict(params_m=36.9),
    'resnext29_8c_64w':        dict(params_m=34.4),
    'se_resnext29_8c_64w':     dict(params_m=35.1),
}
# The ResNet baselines of the configs (mmdet / mmpretrain / torchvision
# ResNet, He et al., 2016): params without the fc (torchvision's counts less
# its 2,049,000), gflops the paper's Table 3 (ResNet-50 64w).
RESNET_ZOO = {
    'resnet50':  dict(params=23_508_032, gflops=4.2),
    'resnet101': dict(params=42_500_160, gflops=None),
    'resnet152': dict(params=58_143_808, gflops=None),
}


# Res2Net blocks in other networks (the paper's Section 3.2 and Table 2).
# DLA-60 (Yu et al., CVPR 2018): conv levels 0-1, aggregation trees of
# ``levels`` depth for levels 2-5, ``channels`` per level; the blocks'
# split width is floor(out_channels * base_width / 128) * cardinality, as
# the official Res2Net dla.py (timm's dla60_res2net / dla60_res2next).
DLA_ARCHS = {
    'res2net_dla60':  dict(levels=(1, 1, 1, 2, 3, 1), channels=(16, 32, 128, 256, 512, 1024),
                           base_width=28, scales=4, cardinality=1),  # 21.15M, 4.2G
    'res2next_dla60': dict(levels=(1, 1, 1, 2, 3, 1), channels=(16, 32, 128, 256, 512, 1024),
                           base_width=4, scales=4, cardinality=8),   # 17.33M, 3.6G
}
DLA_ARCH_KEYS = ('levels', 'channels', 'base_width', 'scales', 'cardinality')

# Big-Little Net (Chen et al., ICLR 2019): stages 1-3 are big-little modules
# (alpha: the little branch's channel divisor, beta: its depth divisor),
# stage 4 a plain stage. scales=1, base_width=64 is bL-ResNet's bottleneck.
BL_ARCHS = {
    'blresnet50':  dict(depth=50, base_width=64, scales=1, cardinality=1, alpha=2, beta=4),  # 26.69M, 2.85G
    # bLRes2Net-50: 26w x 4s Res2Net blocks in bL-ResNet-50's places (Gao et al., Sec. 3.2)
    'blres2net50': dict(depth=50, base_width=26, scales=4, cardinality=1, alpha=2, beta=4),
}
BL_ARCH_KEYS = ('depth', 'base_width', 'scales', 'cardinality', 'alpha', 'beta')
# Blocks per stage of bL-ResNets, from the bL-Net code (its 101 and 152
# counts differ from ResNet's 101 and 152).
BL_STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (4, 8, 18, 3), 152: (5, 12, 30, 3)}

# Published complexity of these, for full ImageNet models (1000-class
# head included, as the sources count): params_m in millions as published,
# gflops multiply-adds at 224x224 (their top-1 and weights: metafile.yml).
# DLA: the official Res2Net-PretrainedModels release (params, MACs).
# bL-ResNet-50 (alpha=2, beta=4): params from Chen et al., ICLR 2019, Table 2 (26.69M; IBM/BigLittleNet's models/blresnet.py,
# blresnet_model(50, 2, 4), has exactly 26,694,568, as ours with its fc);
# FLOPs from the IBM/BigLittleNet README.
FAMILY_ZOO = {
    'res2net_dla60':  dict(params_m=21.15, gflops=4.2),
    'res2next_dla60': dict(params_m=17.33, gflops=3.6),
    'blresnet50':     dict(params_m=26.69, gflops=2.85),
}
