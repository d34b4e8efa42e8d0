"""The Res2Net block (Gao et al., "Res2Net", TPAMI 2020, Eq. 1 and Fig. 2).

Key names follow the official code (conv1/bn1, convs.i/bns.i, conv3/bn3) so
official, timm and mmdet block weights load without renaming.
"""
import weakref

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
import mmcv.ops  # noqa: F401  (registers the DCN/DCNv2 conv layers)
from mmcv.cnn import build_conv_layer, build_norm_layer, build_plugin_layer
from mmengine.model import BaseModule

from .lean import JoinedInputConv, captured, norm_then_relu, recorded_lean

EXPANSION = 4
PLUGIN_POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')
FOLDABLE_NORMS = (nn.BatchNorm2d, nn.SyncBatchNorm)


# oneDNN's convolution with prepacked weights and a fused ReLU / residual
# add: the op torch.compile's CPU backend emits. F.conv2d reorders the weights
# into oneDNN's layout on every call; prepacked once, the narrow split convs
# run up to 3x faster at batch 1.
_POINTWISE = (getattr(torch.ops.mkldnn, '_convolution_pointwise', None)
              if torch.backends.mkldnn.is_available() else None)
# Inference weights per conv (or per ModuleList of a stage block's convs):
# the folded weights and their prepacked copy. Kept outside the modules so
# deepcopy and pickling of a model never meet oneDNN tensors.
INFERENCE_CACHE = weakref.WeakKeyDictionary()


def foldable(conv, norm):
    """Whether ``norm(conv(x))`` may run as one conv with folded weights: at
    inference (eval mode, autograd off, not tracing) of a plain conv without
    bias followed by a BatchNorm with running statistics and affine terms.

    Tracing (jit/ONNX) and torch.compile record the plain ops: exporters
    and compilers fold BN themselves.
    """
    return not (norm.training or torch.is_grad_enabled() or captured()
                or type(conv) is not nn.Conv2d or conv.bias is not None
                or type(norm) not in FOLDABLE_NORMS
                or norm.running_var is None or norm.weight is None)


def _inference_weights(owner, pairs):
    """The cache entry of ``owner``: weight and bias of the conv computing
    ``cat([norm(conv(x)) for conv, norm in pairs])`` over matching input
    channel groups, each norm folded into its conv. Recomputed whenever any
    source tensor is replaced or changed in place (data pointer and version
    counter), so loading weights or training in between is always seen.
    """
    sources = [t for conv, norm in pairs
               for t in (conv.weight, norm.weight, norm.bias, norm.running_mean, norm.running_var)]
    key = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in sources)
    entry = INFERENCE_CACHE.get(owner)
    if entry is None or entry['key'] != key:
        weights, biases = [], []
        for conv, norm in pairs:
            scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
            weights.append(conv.weight * scale.reshape(-1, 1, 1, 1))
            biases.append(norm.bias - norm.running_mean * scale)
        channels_last = pairs[0][0].weight.is_contiguous(memory_format=torch.channels_last)
        weight = torch.cat(weights).contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        entry = dict(key=key, weight=weight, bias=torch.cat(biases),
                     channels_last=channels_last, packed=None, packed_for=None)
        INFERENCE_CACHE[owner] = entry
    return entry


def _prepackable(entry, x, residual):
    """Whether the prepacked oneDNN op may run: the channels-last fast path
    on a float32 CPU tensor, outside autocast."""
    return (_POINTWISE is not None and entry['channels_last'] and x.device.type == 'cpu'
            and x.dtype == torch.float32 and entry['weight'].dtype == torch.float32
            and not torch.is_autocast_enabled('cpu')
            and (residual is None or (residual.dtype == torch.float32 and residual.is_contiguous(
                memory_format=torch.channels_last))))


def folded_conv(owner, pairs, x, groups, relu=False, residual=None):
    """``relu(cat([norm(conv(x)) ...]) + residual)`` at inference, each norm
    folded into its conv (all ``pairs`` must be ``foldable``; ``groups`` of the
    combined conv), as one oneDNN op where it can be.

    Args:
        owner (nn.Module): Module the weights are cached for.
        pairs (list[tuple[nn.Conv2d, nn.Module]]): (conv, norm) pairs sharing
            stride, padding and dilation; their outputs are concatenated.
        x (Tensor): Input.
        groups (int): Groups of the combined conv.
        relu (bool): Apply ReLU last.
        residual (Tensor | None): Added before the ReLU.
    """
    conv = pairs[0][0]
    entry = _inference_weights(owner, pairs)
    if _prepackable(entry, x, residual):
        if entry['packed_for'] != tuple(x.shape):
            entry['packed'] = torch._C._nn.mkldnn_reorder_conv2d_weight(
                entry['weight'].to_mkldnn(), conv.padding, conv.stride, conv.dilation,
                groups, list(x.shape))
            entry['packed_for'] = tuple(x.shape)
        args = (entry['packed'], entry['bias'], conv.padding, conv.stride, conv.dilation, groups)
        activation = 'relu' if relu else 'none'
        if residual is None:
            return _POINTWISE(x, *args, activation, [], '')
        return _POINTWISE.binary(x, residual, *args, 'add', 1.0, activation, [], '')
    out = F.conv2d(x, entry['weight'], entry['bias'], conv.stride, conv.padding,
                   conv.dilation, groups)
    if residual is not None:
        out = out + residual
    return F.relu(out, inplace=True) if relu else out


def conv_norm(conv, norm, x, relu=False, residual=None):
    """``relu(norm(conv(x)) + residual)`` (ReLU and residual optional); at
    inference with the norm folded into the conv weights (see ``foldable``),
    as one op."""
    if foldable(conv, norm):
        return folded_conv(conv, [(conv, norm)], x, conv.groups, relu, residual)
    out = conv(x)
    if relu and residual is None:
        return norm_then_relu(norm, out)
    out = norm(out)
    if residual is not None:
        out = out + residual
    return F.relu(out, inplace=True) if relu else out


class SEModule(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018) placed before the residual add.

    Layout and reduction follow timm's ``SEModule`` (1x1 convs with bias,
    ``channels / 16`` rounded to a multiple of 8), so timm-built SE-Res2Net
    weights load as they are.
    """

    def __init__(self, channels, reduction=16, divisor=8):
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

    The pass-through split is the last one, as in the official code. A
    ``stage`` block (the first of every stage) cannot add the previous split's
    output (its input has another resolution/width): each 3x3 conv sees its
    own split only, and the pass-through split is average-pooled (3x3, pad 1,
    the block's stride) so its shape matches.

    Args:
        inplanes (int): Input channels.
        planes (int): Bottleneck base channels; the output has ``4 * planes``.
        stride (int): Spatial stride of the block. Default: 1.
        dilation (int): Dilation of the 3x3 convs. Default: 1.
        downsample (nn.Module | None): Shortcut projection. Default: None.
        scales (int): Number of splits s; 1 is a plain ResNet bottleneck.
        base_width (int): Split width for ``planes == 64``; the split has
            ``floor(planes * base_width / 64) * cardinality`` channels.
        cardinality (int): Groups of each 3x3 conv (Res2NeXt). Default: 1.
        stage_block (bool): Whether this is the first block of a stage.
        stage_pool (bool): Whether a stage block pools its pass-through split.
            The official code always does (``AvgPool2d(3, stride, 1)``); mmdet
            skips it at stride 1. Default: True.
        style (str): 'pytorch' puts the stride in the 3x3 convs, 'caffe' in
            the first 1x1 conv. Default: 'pytorch'.
        se (bool): Add squeeze-and-excitation before the residual add.
        conv_cfg, norm_cfg (dict): Layer configs (mmcv ``build_*_layer``).
        dcn (dict | None): Deformable conv config for the 3x3 convs.
        plugins (list[dict] | None): mmcv plugin configs, each with
            ``cfg`` and ``position`` in PLUGIN_POSITIONS.
        with_cp (bool): Gradient checkpointing of the whole block.
        init_cfg (dict | list[dict] | None): Initialization config.
    """

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None,
                 scales=4, base_width=26, cardinality=1, stage_block=False,
                 stage_pool=True, style='pytorch', se=False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), dcn=None, plugins=None,
                 with_cp=False, init_cfg=None):
        super().__init__(init_cfg)
        width = (planes * base_width // 64) * cardinality
        if width < 1:
            raise ValueError(f'planes={planes} and base_width={base_width} give an empty split')
        self.width, self.scales, self.stride = width, scales, stride
        self.stage_block, self.with_cp = stage_block, with_cp
        conv1_stride, conv2_stride = (stride, 1) if style == 'caffe' else (1, stride)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width * scales, 1,
                                      stride=conv1_stride, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, width * scales)[1]
        num_convs = max(1, scales - 1)
        conv2_cfg = conv_cfg
        if dcn is not None:
            dcn = dict(dcn)
            # mmdet's meaning: strided blocks keep plain convs when set.
            if not (dcn.pop('fallback_on_stride', False) and conv2_stride != 1):
                conv2_cfg = dcn
        self.convs = nn.ModuleList(
            build_conv_layer(conv2_cfg, width, width, 3, stride=conv2_stride,
                             padding=dilation, dilation=dilation,
                             groups=cardinality, bias=False)
            for _ in range(num_convs))
        self.bns = nn.ModuleList(build_norm_layer(norm_cfg, width)[1] for _ in range(num_convs))
        self.pool = None
        if stage_block and scales > 1 and (stage_pool or conv2_stride != 1):
            self.pool = nn.AvgPool2d(3, stride=conv2_stride, padding=1)
        self.conv3 = build_conv_layer(conv_cfg, width * scales, planes * EXPANSION, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, planes * EXPANSION)[1]
        self.se = SEModule(planes * EXPANSION) if se else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        # mmcv's deformable convs need contiguous inputs; channel splits of a
        # batch are strided views (the crash users reported with mmdet).
        self.contiguous_splits = conv2_cfg is not conv_cfg
        self.plugin_names = self._make_plugins(plugins or [], width * scales, planes * EXPANSION)

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

    def _plugins(self, x, position):
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def _multi_scale(self, x):
        """The hierarchical 3x3 convs of Eq. 1 over the splits of ``x``: the
        pieces whose concatenation is the block's mid feature map."""
        splits = torch.split(x, self.width, 1)
        pairs = list(zip(self.convs, self.bns))
        if self.stage_block and len(pairs) > 1 and all(foldable(c, n) for c, n in pairs):
            # Inference: a stage block's splits are independent, so its
            # 3x3 convs (and folded norms) run as one grouped conv.
            first = x[:, :self.width * len(pairs)]
            out = folded_conv(self.convs, pairs, first, self.convs[0].groups * len(pairs),
                              relu=True)
            last = splits[-1]
            return [out, self.pool(last) if self.pool is not None else last]
        outs = []
        for i, (conv, bn) in enumerate(pairs):
            # Eq. 1: each split adds the previous split's output, except in
            # stage blocks, whose splits are independent.
            if i == 0 or self.stage_block:
                sp = splits[i].contiguous() if self.contiguous_splits else splits[i]
                sp = conv_norm(conv, bn, sp, relu=True)
            elif recorded_lean(conv):
                sp = JoinedInputConv.apply('sum', conv, conv.weight, sp, splits[i])
                sp = norm_then_relu(bn, sp)
            else:
                sp = sp + splits[i]
                if self.contiguous_splits:
                    sp = sp.contiguous()
                sp = conv_norm(conv, bn, sp, relu=True)
            outs.append(sp)
        if self.scales > 1:
            last = splits[-1]
            outs.append(self.pool(last) if self.pool is not None else last)
        return outs

    def _shortcut(self, x):
        if self.downsample is None:
            return x
        if not isinstance(self.downsample, nn.Sequential) or len(self.downsample) < 2:
            return self.downsample(x)
        *pre, conv, norm = self.downsample  # ours: [AvgPool2d,] conv, norm
        for layer in pre:
            x = layer(x)
        return conv_norm(conv, norm, x)

    def _forward(self, x):
        out = conv_norm(self.conv1, self.bn1, x, relu=True)
        out = self._plugins(out, 'after_conv1')
        pieces = self._multi_scale(out)
        identity = self._shortcut(x)
        if len(pieces) > 1 and not self.plugin_names['after_conv2'] and recorded_lean(self.conv3):
            out = self.bn3(JoinedInputConv.apply('cat', self.conv3, self.conv3.weight, *pieces))
        else:
            mid = pieces[0] if len(pieces) == 1 else torch.cat(pieces, 1)
            mid = self._plugins(mid, 'after_conv2')
            if self.se is None and not self.plugin_names['after_conv3']:
                return conv_norm(self.conv3, self.bn3, mid, relu=True, residual=identity)
            out = conv_norm(self.conv3, self.bn3, mid)
        out = self._plugins(out, 'after_conv3')
        if self.se is not None:
            out = self.se(out)
        return self.relu(out + identity)

    def forward(self, x):
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
