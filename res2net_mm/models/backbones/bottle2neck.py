"""The Res2Net block (Gao et al., "Res2Net", TPAMI 2020, Eq. 1 and Fig. 2),
in plain nn modules: the reference every faster path is tested against.

Key names follow the official code (conv1/bn1, convs.i/bns.i, conv3/bn3) so
official, timm and mmdet block weights load without renaming.
"""
import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init

from .arch import PLUGIN_POSITIONS
from .layers import build_conv_layer, build_norm_layer, build_plugin_layer


class SEModule(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018) placed before the residual add.

    Layout and reduction follow timm's ``SEModule`` (1x1 convs with bias,
    ``channels / 16`` rounded to a multiple of 8), so timm-built SE-Res2Net
    weights load as they are.
    """

    def __init__(self, channels: int, reduction: int = 16, divisor: int = 8):
        super().__init__()
        hidden = max(divisor, int(channels / reduction + divisor / 2) // divisor * divisor)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        w = x.mean((2, 3), keepdim=True)
        w = self.fc2(torch.relu(self.fc1(w)))
        return x * torch.sigmoid(w)


class Bottle2neck(BaseModule):
    """Res2Net bottleneck: 1x1 conv, hierarchical 3x3 convs over ``scales``
    splits, 1x1 conv, residual add.

    Eq. 1 of the paper: the 1x1 conv's output is split into x_1..x_s;
    y_1 = K_1(x_1), y_i = K_i(x_i + y_{i-1}) for 1 < i < s, and the last
    split passes through (the official code's order; the paper draws it
    first). A ``stage_block`` (the first of every stage) changes resolution
    or width, so there is no y_{i-1} to add: each 3x3 conv sees its own split
    and the pass-through split is average-pooled (3x3, pad 1, the block's
    stride) to match.

    Args:
        inplanes (int): Input channels.
        planes (int): Bottleneck base channels; the output has
            ``planes * expansion``.
        stride (int): Spatial stride of the block. Defaults to 1.
        dilation (int): Dilation of the 3x3 convs. Defaults to 1.
        downsample (nn.Module | None): Shortcut projection. Defaults to None.
        scales (int): Number of splits s; 1 is a plain ResNet bottleneck.
            Defaults to 4.
        base_width (int): Split width for ``planes == 64``; a split has
            ``floor(planes * base_width / 64) * cardinality`` channels.
            Defaults to 26.
        cardinality (int): Groups of each 3x3 conv (Res2NeXt). Defaults to 1.
        stage_block (bool): Whether this is the first block of a stage.
            Defaults to False.
        stage_pool (bool): Whether a stage block pools its pass-through split
            at stride 1 too. The official code always does
            (``AvgPool2d(3, stride, 1)``); mmdet skips it at stride 1.
            Defaults to True.
        style (str): 'pytorch' puts the stride in the 3x3 convs, 'caffe' in
            the first 1x1 conv. Defaults to 'pytorch'.
        se (bool): Squeeze-and-excitation before the residual add.
            Defaults to False.
        conv_cfg (dict | None): Conv layer config. Defaults to None (Conv2d).
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        dcn (dict | None): Deformable conv config for the 3x3 convs; with
            ``fallback_on_stride=True`` strided blocks keep plain convs (as in
            mmdet). Defaults to None.
        plugins (list[dict] | None): mmcv plugin configs, each with ``cfg``
            and ``position`` in PLUGIN_POSITIONS. Defaults to None.
        with_cp (bool): Gradient checkpointing of the whole block.
            Defaults to False.
        last_relu (bool): ReLU after the residual add. Big-Little Net's big
            branch ends without it (the branches are summed, then ReLU).
            Defaults to True.
        init_cfg (dict | list[dict] | None): Initialization config.
            Defaults to None.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample=None, scales: int = 4, base_width: int = 26,
                 cardinality: int = 1, stage_block: bool = False, stage_pool: bool = True,
                 pool_include_pad: bool = True, style: str = 'pytorch', se: bool = False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), dcn=None, plugins=None, with_cp: bool = False,
                 last_relu: bool = True, init_cfg=None):
        super().__init__(init_cfg)
        width = (planes * base_width // 64) * cardinality
        if width < 1:
            raise ValueError(f'planes={planes} and base_width={base_width} give an empty split')
        self.width, self.scales, self.stride = width, scales, stride
        self.stage_block, self.with_cp, self.last_relu = stage_block, with_cp, last_relu
        conv1_stride, conv2_stride = (stride, 1) if style == 'caffe' else (1, stride)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width * scales, 1,
                                      stride=conv1_stride, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, width * scales)[1]
        conv2_cfg = conv_cfg
        if dcn is not None:
            import mmcv.ops  # noqa: F401  (compiled; registers DCN/DCNv2 layers)
            dcn = dict(dcn)
            if not (dcn.pop('fallback_on_stride', False) and conv2_stride != 1):
                conv2_cfg = dcn
        num_convs = max(1, scales - 1)
        self.convs = nn.ModuleList(
            build_conv_layer(conv2_cfg, width, width, 3, stride=conv2_stride,
                             padding=dilation, dilation=dilation,
                             groups=cardinality, bias=False)
            for _ in range(num_convs))
        self.bns = nn.ModuleList(build_norm_layer(norm_cfg, width)[1] for _ in range(num_convs))
        self.pool = None
        if stage_block and scales > 1 and (stage_pool or conv2_stride != 1):
            self.pool = nn.AvgPool2d(3, stride=conv2_stride, padding=1,
                                     count_include_pad=pool_include_pad)
        self.conv3 = build_conv_layer(conv_cfg, width * scales, planes * self.expansion, 1,
                                      bias=False)
        self.bn3 = build_norm_layer(norm_cfg, planes * self.expansion)[1]
        self.se = SEModule(planes * self.expansion) if se else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        # mmcv's deformable kernels need contiguous inputs; channel splits of
        # a batch are strided views (the crash users reported with mmdet).
        self.contiguous_splits = conv2_cfg is not conv_cfg
        self.plugin_names = self._make_plugins(plugins or [], width * scales,
                                               planes * self.expansion)

    def _make_plugins(self, plugins, mid_channels, out_channels):
        names = {pos: [] for pos in PLUGIN_POSITIONS}
        channels = dict(after_conv1=mid_channels, after_conv2=mid_channels,
                        after_conv3=out_channels)
        for plugin in plugins:
            position = plugin['position']
            if position not in PLUGIN_POSITIONS:
                raise ValueError(f'plugin position {position!r} is not one of {PLUGIN_POSITIONS}')
            name, layer = build_plugin_layer(plugin['cfg'], in_channels=channels[position],
                                             postfix=plugin.get('postfix', ''))
            if hasattr(self, name):
                raise ValueError(f'two plugins named {name!r} in one block; give a postfix')
            self.add_module(name, layer)
            names[position].append(name)
        return names

    def plugins(self, x, position: str):
        """``x`` through the plugins at ``position``, in order."""
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def zero_init_last(self):
        """Zero the last norm's weight: the block starts as the identity
        (Goyal et al., 2017)."""
        constant_init(self.bn3, 0)

    def _inner_forward(self, x, identity=None):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.plugins(out, 'after_conv1')

        splits = torch.split(out, self.width, 1)
        ys = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            sp = splits[i] if i == 0 or self.stage_block else ys[-1] + splits[i]
            if self.contiguous_splits:
                sp = sp.contiguous()
            ys.append(self.relu(bn(conv(sp))))
        if self.scales > 1:
            ys.append(splits[-1] if self.pool is None else self.pool(splits[-1]))
        out = torch.cat(ys, 1)
        out = self.plugins(out, 'after_conv2')

        out = self.bn3(self.conv3(out))
        out = self.plugins(out, 'after_conv3')
        if self.se is not None:
            out = self.se(out)
        if identity is None:
            identity = x if self.downsample is None else self.downsample(x)
        out = out + identity
        return self.relu(out) if self.last_relu else out

    def forward(self, x, identity=None):
        """The block on ``x``; ``identity`` replaces the shortcut branch
        where the network computes it (DLA's trees project it once per
        tree)."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, identity, use_reentrant=False)
        return self._inner_forward(x, identity)
