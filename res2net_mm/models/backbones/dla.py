"""Res2Net-DLA-60 and Res2NeXt-DLA-60 (Gao et al., TPAMI 2020, Section 3.2):
Deep Layer Aggregation (Yu et al., CVPR 2018) with Res2Net blocks.

Parameter names are the official Res2Net ``dla.py``'s, which timm's
``dla60_res2net`` / ``dla60_res2next`` share, except that the official
trees of depth > 1 also hold a ``project`` shortcut they compute and never
use (timm drops it): loading drops those keys, nothing else is renamed.
"""
import torch
import torch.nn as nn

from ...registry import MODELS
from ...variants import DLA_ARCH_KEYS, DLA_ARCHS
from .arch import check, check_positive_int, resolve_named_arch
from .bottle2neck import Bottle2neck
from .layers import build_conv_layer, build_norm_layer
from .contract import MultiLevelBackbone


class DlaBottle2neck(Bottle2neck):
    """The Res2Net block with DLA's bottleneck expansion of 2: ``planes``
    is half the output channels, so a split has
    ``floor(out_channels * base_width / 128) * cardinality`` channels."""

    expansion = 2


class DlaRoot(nn.Module):
    """Aggregation node: 1x1 conv over the concatenated children, norm, ReLU
    (``shortcut``: plus the first child, DLA-102 and deeper)."""

    def __init__(self, in_channels, out_channels, shortcut, conv_cfg, norm_cfg):
        super().__init__()
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, 1, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut

    def forward(self, children):
        x = self.bn(self.conv(torch.cat(children, 1)))
        if self.shortcut:
            x = x + children[0]
        return self.relu(x)


class DlaTree(nn.Module):
    """Hierarchical deep aggregation tree of depth ``levels`` (Yu et al.,
    Fig. 2): two subtrees (blocks at depth 1) whose outputs, with the
    tree's input at the level root, meet in one root node.

    Args:
        levels (int): Depth of the tree (1: two blocks and a root).
        in_channels, out_channels (int): Channels in and out.
        stride (int): Stride of the first block; the shortcut max-pools.
        level_root (bool): Aggregate the (pooled) input too.
        root_dim (int): Root input channels from deeper children (0: none).
        block_cfg (dict): Arguments of every ``DlaBottle2neck``.
        root_shortcut (bool): Residual shortcut in the roots.
        conv_cfg, norm_cfg (dict | None): Layer configs.
    """

    def __init__(self, levels, in_channels, out_channels, stride, level_root, root_dim,
                 block_cfg, root_shortcut, conv_cfg, norm_cfg):
        super().__init__()
        root_dim = (root_dim or 2 * out_channels) + (in_channels if level_root else 0)
        # ceil_mode: the official floor mode breaks odd sizes (the pooled
        # shortcut is a pixel short of the strided conv); equal elsewhere.
        self.downsample = nn.MaxPool2d(stride, stride, ceil_mode=True) if stride > 1 else None
        self.project, self.root = None, None
        planes = out_channels // DlaBottle2neck.expansion
        if levels == 1:
            self.tree1 = DlaBottle2neck(in_channels, planes, stride,
                                        stage_block=stride > 1, **block_cfg)
            self.tree2 = DlaBottle2neck(out_channels, planes, 1, **block_cfg)
            if in_channels != out_channels:
                self.project = nn.Sequential(
                    build_conv_layer(conv_cfg, in_channels, out_channels, 1, bias=False),
                    build_norm_layer(norm_cfg, out_channels)[1])
            self.root = DlaRoot(root_dim, out_channels, root_shortcut, conv_cfg, norm_cfg)
        else:
            args = dict(block_cfg=block_cfg, root_shortcut=root_shortcut,
                        conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            self.tree1 = DlaTree(levels - 1, in_channels, out_channels, stride, False, 0, **args)
            self.tree2 = DlaTree(levels - 1, out_channels, out_channels, 1, False,
                                 root_dim + out_channels, **args)
        self.level_root = level_root

    def forward(self, x, children=None):
        children = [] if children is None else children
        bottom = x if self.downsample is None else self.downsample(x)
        if self.level_root:
            children.append(bottom)
        if self.root is None:  # deeper tree: tree1's output joins tree2's root
            x1 = self.tree1(x)
            children.append(x1)
            return self.tree2(x1, children)
        x1 = self.tree1(x, bottom if self.project is None else self.project(bottom))
        x2 = self.tree2(x1)
        return self.root([x2, x1] + children)


def official_unused_projects(levels, name):
    """Key prefixes of the shortcut projections the official code builds in
    trees deeper than 1 and never uses (the subtree computes its own)."""
    if levels == 1:
        return []
    return [f'{name}.project.'] + official_unused_projects(levels - 1, f'{name}.tree1')


@MODELS.register_module()
class Res2NetDLA(MultiLevelBackbone):
    """Res2Net-DLA-60 / Res2NeXt-DLA-60 backbone for classification and
    dense prediction (Gao et al., "Res2Net", TPAMI 2020, Table 2).

    Levels 2-5 (strides 4-32) are the four stages of ``out_indices``;
    the stem is the 7x7 base layer and conv levels 0-1.

    Args:
        arch (str | dict | None): A name of ``variants.DLA_ARCHS`` or a dict
            with its keys (levels, channels, base_width, scales,
            cardinality). Defaults to None ('res2net_dla60').
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Stages returned. Defaults to (0, 1, 2, 3).
        frozen_stages (int): Stages to freeze (-1: none, 0: stem only).
            Defaults to -1.
        root_shortcut (bool): Residual shortcut in the aggregation roots
            (False in DLA-60). Defaults to False.
        conv_cfg (dict | None): Conv layer config. Defaults to None.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep norm layers in eval mode while training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        zero_init_residual (bool): Zero every block's last norm at init, so
            each block starts as its shortcut (as ``Res2Net``; the official
            DLA init does not). Defaults to True.
        pretrained (str | None): Deprecated; use ``init_cfg``.
            Defaults to None.
        init_cfg (dict | list | None): Default Kaiming/Constant;
            ``dict(type='Pretrained', checkpoint=PATH)`` loads official,
            timm or our weights strictly. Defaults to None.

    Example:
        >>> import torch
        >>> from res2net_mm.models import Res2NetDLA
        >>> model = Res2NetDLA('res2net_dla60').eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 128, 16, 16), (1, 256, 8, 8), (1, 512, 4, 4), (1, 1024, 2, 2)]
    """

    def __init__(self, arch=None, in_channels=3, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                 root_shortcut=False, conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                 with_cp=False, zero_init_residual=True, pretrained=None, init_cfg=None):
        super().__init__(out_indices, frozen_stages, norm_eval, with_cp, zero_init_residual,
                         pretrained, init_cfg)
        self.arch = arch = resolve_named_arch(arch, DLA_ARCHS, DLA_ARCH_KEYS, 'res2net_dla60')
        self.arch_name = next((n for n, a in DLA_ARCHS.items() if a == arch), 'custom')
        self._check_arch(arch)
        check_positive_int('in_channels', in_channels)
        channels, levels = arch['channels'], arch['levels']
        self.base_layer = nn.Sequential(
            build_conv_layer(conv_cfg, in_channels, channels[0], 7, padding=3, bias=False),
            build_norm_layer(norm_cfg, channels[0])[1], nn.ReLU(inplace=True))
        self.level0 = self._conv_level(channels[0], channels[0], levels[0], 1, conv_cfg, norm_cfg)
        self.level1 = self._conv_level(channels[0], channels[1], levels[1], 2, conv_cfg, norm_cfg)
        block_cfg = dict(scales=arch['scales'], base_width=arch['base_width'],
                         cardinality=arch['cardinality'], conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, with_cp=with_cp)
        for i in range(2, 6):
            self.add_module(f'level{i}', DlaTree(
                levels[i], channels[i - 1], channels[i], 2, level_root=i > 2, root_dim=0,
                block_cfg=block_cfg, root_shortcut=root_shortcut,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg))
        self._set_stages([[self.base_layer, self.level0, self.level1]]
                         + [[getattr(self, f'level{i}')] for i in range(2, 6)],
                         channels=channels[2:], strides=(4, 8, 16, 32))

    @staticmethod
    def _check_arch(arch):
        for key in ('levels', 'channels'):
            check(isinstance(arch[key], (list, tuple)) and len(arch[key]) == 6,
                  f'arch {key} needs one value per level 0-5, got {arch[key]!r}')
            for value in arch[key]:
                check_positive_int(f'arch {key}', value)
        for key in ('base_width', 'scales', 'cardinality'):
            check_positive_int(f'arch {key}', arch[key])

    @staticmethod
    def _conv_level(in_channels, out_channels, convs, stride, conv_cfg, norm_cfg):
        layers = []
        for i in range(convs):
            layers += [build_conv_layer(conv_cfg, in_channels, out_channels, 3,
                                        stride=stride if i == 0 else 1, padding=1, bias=False),
                       build_norm_layer(norm_cfg, out_channels)[1], nn.ReLU(inplace=True)]
            in_channels = out_channels
        return nn.Sequential(*layers)

    def convert_keys(self, state_dict, prefix):
        """Drop the official file's unused tree projections (see module doc)."""
        unused = [prefix + p for i in range(2, 6)
                  for p in official_unused_projects(self.arch['levels'][i], f'level{i}')]
        for key in [k for k in state_dict if k.startswith(tuple(unused))]:
            del state_dict[key]

    def forward(self, x):
        """The outputs of the ``out_indices`` stages (levels 2-5)."""
        x = self.level1(self.level0(self.base_layer(x)))
        outs = []
        for i in range(4):
            x = getattr(self, f'level{i + 2}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
