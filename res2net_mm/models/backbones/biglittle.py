"""bLRes2Net-50 (Gao et al., TPAMI 2020, Section 3.2) and bL-ResNet-50:
Big-Little Net (Chen et al., "Big-Little Net: an efficient multi-scale
feature representation for visual and speech recognition", ICLR 2019).

Stages 1-3 are big-little modules: a big branch (the stage's blocks but
one, the first strided) at half the resolution and a little branch (1/alpha
of the channels, 1/beta of the blocks) at full resolution, summed after the
little branch's 1x1 expansion and the big branch's nearest upsampling, then
a fusion block that carries the stride to the next stage. Stage 4 is a
plain stage. Names and skeleton follow the public bL-Net code
(github.com/IBM/BigLittleNet, ``blresnet.py``): bL-ResNet blocks are our
``Bottle2neck`` with one split (``scales=1``), whose ``conv2``/``bn2`` the
loader renames to ``convs.0``/``bns.0``.
"""
import torch.nn as nn
import torch.nn.functional as F

from ...registry import MODELS
from ...variants import BL_ARCH_KEYS, BL_ARCHS, BL_STAGE_BLOCKS
from .arch import check, check_positive_int, resolve_named_arch
from .bottle2neck import Bottle2neck
from .layers import build_conv_layer, build_norm_layer
from .contract import MultiLevelBackbone

STEM_CHANNELS = 64
STAGE_CHANNELS = (256, 512, 1024, 2048)


def conv_norm(cfg, in_channels, out_channels, kernel, stride=1):
    """[conv, norm] of a stem layer (kernel 1 or 3, 'same' padding)."""
    conv = build_conv_layer(cfg['conv_cfg'], in_channels, out_channels, kernel, stride=stride,
                            padding=kernel // 2, bias=False)
    return conv, build_norm_layer(cfg['norm_cfg'], out_channels)[1]


def make_branch(inplanes, outplanes, num_blocks, stride, cfg, last_relu=True):
    """``num_blocks`` blocks from ``inplanes`` to ``outplanes`` channels, the
    first with ``stride``. The shortcut of a block that changes the shape
    average-pools (3x3, stride 2) and/or projects (1x1 conv, norm), as
    bL-Net's code; that block is a Res2Net stage block. ``last_relu``:
    whether the last block (of two or more) ends in ReLU."""
    layers = [nn.AvgPool2d(3, stride=2, padding=1)] if stride != 1 else []
    if inplanes != outplanes:
        layers += [build_conv_layer(cfg['conv_cfg'], inplanes, outplanes, 1, bias=False),
                   build_norm_layer(cfg['norm_cfg'], outplanes)[1]]
    downsample = nn.Sequential(*layers) if layers else None
    planes = outplanes // Bottle2neck.expansion
    blocks = [Bottle2neck(inplanes, planes, stride, downsample=downsample,
                          stage_block=downsample is not None, **cfg)]
    for i in range(1, num_blocks):
        blocks.append(Bottle2neck(outplanes, planes, **cfg,
                                  last_relu=last_relu or i < num_blocks - 1))
    return nn.Sequential(*blocks)


class BigLittleStage(nn.Module):
    """A big-little module (Chen et al., Fig. 1b) of ``num_blocks`` blocks.

    Args:
        in_channels, out_channels (int): Channels in and out.
        num_blocks (int): The stage's blocks (ResNet's count).
        alpha, beta (int): Little branch channel and depth divisors.
        stride (int): Stride of the fusion block (1 or 2).
        cfg (dict): ``Bottle2neck`` arguments (and conv_cfg / norm_cfg).
    """

    def __init__(self, in_channels, out_channels, num_blocks, alpha, beta, stride, cfg):
        super().__init__()
        self.big = make_branch(in_channels, out_channels, num_blocks - 1, 2, cfg,
                               last_relu=False)
        little = out_channels // alpha
        self.little = make_branch(in_channels, little, max(1, num_blocks // beta - 1), 1, cfg)
        self.little_e = nn.Sequential(*conv_norm(cfg, little, out_channels, 1))
        self.fusion = make_branch(out_channels, out_channels, 1, stride, cfg)

    def merge(self, x):
        """Both branches, summed at the little branch's resolution: the
        stage's last feature before the fusion block's stride."""
        little = self.little_e(self.little(x))
        big = F.interpolate(self.big(x), little.shape[2:])  # nearest, as bL-Net
        return F.relu(big + little)

    def forward(self, x):
        return self.fusion(self.merge(x))


@MODELS.register_module()
class BigLittleRes2Net(MultiLevelBackbone):
    """bLRes2Net-50 / bL-ResNet-50 backbone (Big-Little Net with Res2Net or
    plain bottlenecks) for classification and dense prediction.

    Stage outputs (``out_indices``) are the last feature at each stride
    4, 8, 16, 32: the merged branches of stages 1-2 (before their strided
    fusion block), the output of stage 3 and of stage 4, with ResNet's
    channels 256, 512, 1024, 2048. The stem is the 7x7 conv and the
    big-little stem.

    Args:
        arch (str | dict | None): A name of ``variants.BL_ARCHS`` or a dict
            with its keys (depth, base_width, scales, cardinality, alpha,
            beta). Defaults to None ('blres2net50').
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Stages returned. Defaults to (0, 1, 2, 3).
        frozen_stages (int): Stages to freeze (-1: none, 0: stem only).
            Defaults to -1.
        conv_cfg (dict | None): Conv layer config. Defaults to None.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep norm layers in eval mode while training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        zero_init_residual (bool): Zero every block's last norm at init (as
            the bL-Net code). Defaults to True.
        pretrained (str | None): Deprecated; use ``init_cfg``.
            Defaults to None.
        init_cfg (dict | list | None): Default Kaiming/Constant;
            ``dict(type='Pretrained', checkpoint=PATH)`` loads ours or, for
            bL-ResNet, the bL-Net code's weights strictly. Defaults to None.

    Example:
        >>> import torch
        >>> from res2net_mm.models import BigLittleRes2Net
        >>> model = BigLittleRes2Net('blres2net50').eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    def __init__(self, arch=None, in_channels=3, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                 conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                 with_cp=False, zero_init_residual=True, pretrained=None, init_cfg=None):
        super().__init__(out_indices, frozen_stages, norm_eval, with_cp, zero_init_residual,
                         pretrained, init_cfg)
        self.arch = arch = resolve_named_arch(arch, BL_ARCHS, BL_ARCH_KEYS, 'blres2net50')
        self.arch_name = next((n for n, a in BL_ARCHS.items() if a == arch), 'custom')
        check(arch['depth'] in BL_STAGE_BLOCKS,
              f'arch depth must be one of {sorted(BL_STAGE_BLOCKS)}, got {arch["depth"]!r}')
        for key in ('base_width', 'scales', 'cardinality', 'alpha', 'beta'):
            check_positive_int(f'arch {key}', arch[key])
        check_positive_int('in_channels', in_channels)
        cfg = dict(scales=arch['scales'], base_width=arch['base_width'],
                   cardinality=arch['cardinality'], conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                   with_cp=with_cp)
        self._make_stem(in_channels, arch['alpha'], cfg)
        blocks, alpha, beta = BL_STAGE_BLOCKS[arch['depth']], arch['alpha'], arch['beta']
        inplanes = STEM_CHANNELS
        for i, stride in enumerate((2, 2, 1)):
            self.add_module(f'layer{i + 1}', BigLittleStage(
                inplanes, STAGE_CHANNELS[i], blocks[i], alpha, beta, stride, cfg))
            inplanes = STAGE_CHANNELS[i]
        self.layer4 = make_branch(inplanes, STAGE_CHANNELS[3], blocks[3], 2, cfg)
        stem = [self.conv1, self.bn1, self.b_conv0, self.bn_b0, self.l_conv0, self.bn_l0,
                self.l_conv1, self.bn_l1, self.l_conv2, self.bn_l2, self.bl_init, self.bn_bl_init]
        self._set_stages([stem] + [[getattr(self, f'layer{i}')] for i in range(1, 5)],
                         channels=STAGE_CHANNELS, strides=(4, 8, 16, 32))

    def _make_stem(self, in_channels, alpha, cfg):
        """7x7 conv, then the bL stem: a strided 3x3 (big) and a 3x3 + strided
        3x3 + 1x1 at 1/alpha channels (little), summed, then a 1x1."""
        check(STEM_CHANNELS % alpha == 0 and all(c % (alpha * 4) == 0 for c in STAGE_CHANNELS),
              f'arch alpha must divide the stem and stage widths (64, 256, ...), got {alpha!r}')
        channels, little = STEM_CHANNELS, STEM_CHANNELS // alpha
        self.conv1 = build_conv_layer(cfg['conv_cfg'], in_channels, channels, 7, stride=2,
                                      padding=3, bias=False)
        self.bn1 = build_norm_layer(cfg['norm_cfg'], channels)[1]
        self.b_conv0, self.bn_b0 = conv_norm(cfg, channels, channels, 3, stride=2)
        self.l_conv0, self.bn_l0 = conv_norm(cfg, channels, little, 3)
        self.l_conv1, self.bn_l1 = conv_norm(cfg, little, little, 3, stride=2)
        self.l_conv2, self.bn_l2 = conv_norm(cfg, little, channels, 1)
        self.bl_init, self.bn_bl_init = conv_norm(cfg, channels, channels, 1)

    def convert_keys(self, state_dict, prefix):
        """bL-Net code's bottleneck names (``conv2``, ``bn2``) to ours."""
        if self.arch['scales'] != 1:
            return
        for key in [k for k in state_dict if k.startswith(prefix)]:
            new = key.replace('.conv2.', '.convs.0.').replace('.bn2.', '.bns.0.')
            if new != key:
                state_dict[new] = state_dict.pop(key)

    def forward(self, x):
        """The outputs of the ``out_indices`` stages (strides 4-32)."""
        x = F.relu(self.bn1(self.conv1(x)))
        big = self.bn_b0(self.b_conv0(x))
        little = F.relu(self.bn_l0(self.l_conv0(x)))
        little = F.relu(self.bn_l1(self.l_conv1(little)))
        x = F.relu(big + self.bn_l2(self.l_conv2(little)))
        x = F.relu(self.bn_bl_init(self.bl_init(x)))
        outs = []
        for i in range(3):
            stage = getattr(self, f'layer{i + 1}')
            merged = stage.merge(x)
            x = stage.fusion(merged)
            if i in self.out_indices:
                outs.append(merged if i < 2 else x)  # stage 3's fusion keeps stride 16
        x = self.layer4(x)
        if 3 in self.out_indices:
            outs.append(x)
        return tuple(outs)
