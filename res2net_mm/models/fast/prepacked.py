"""The 'prepacked' deploy treatment: a folded Res2Net run op for op as a
straight-line channels-last forward over oneDNN weights reordered once.

What it saves against eager and ``torch.jit.freeze`` (per op, see
docs/performance.md): the per-call weight reorders of oneDNN (frozen graphs
keep them unless ``optimize_for_inference``, which then converts layouts
around every split, add and concatenation); torch's im2col for the small
stage-3/4 split convs at batch 1; and a pass over memory for every ReLU and
for the residual add + ReLU, which run inside the conv (oneDNN post-ops, as
inductor's CPU freezing fuses them).

It is a snapshot: the packed weights are copies taken when it is built, from
a model whose BN was folded (``fuse_conv_bn``). Changing the model afterwards
does not reach it; re-deploy after changing weights. Inference only, float32,
CPU. Models it cannot run the same function of (deformable convs, plugins,
unfolded norms, other dtypes or devices) raise ``NotPackableError``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..backbones.res2net import Res2Net
from . import torch_ops
from .dispatch import shortcut_pair, stem_pairs


class NotPackableError(ValueError):
    """The model holds something the prepacked forward does not run."""


class PackedConv:
    """A conv with its folded bias; its weight is reordered into oneDNN's
    layout at the first call, for inputs of that call's size (other sizes run
    too: oneDNN then reorders per call)."""

    def __init__(self, conv: nn.Conv2d):
        if type(conv) is not nn.Conv2d or conv.padding_mode != 'zeros' or conv.bias is None:
            raise NotPackableError(f'not a plain conv with a folded bias: {conv}')
        self.args = ([*conv.padding], [*conv.stride], [*conv.dilation], conv.groups)
        self.dense_weight = conv.weight.detach().clone(memory_format=torch.channels_last)
        self.bias = conv.bias.detach().clone()
        self.weight = None

    def _packed(self, x):
        if self.weight is None:
            self.weight = torch_ops.reorder_conv_weight(self.dense_weight, *self.args,
                                                        list(x.shape))
        return self.weight

    def __call__(self, x, relu=False):
        """``conv(x)``, ReLU'd if ``relu``."""
        if not torch_ops.PREPACKED_AVAILABLE:
            out = F.conv2d(x, self.dense_weight, self.bias, *self._conv2d_args())
            return F.relu(out, inplace=True) if relu else out
        return torch_ops.conv_pointwise(x, self._packed(x), self.bias, *self.args,
                                        'relu' if relu else 'none', [], '')

    def add_(self, x, other, relu=True):
        """``other += conv(x)`` in place (then ReLU'd if ``relu``)."""
        if not torch_ops.PREPACKED_AVAILABLE:
            other.add_(F.conv2d(x, self.dense_weight, self.bias, *self._conv2d_args()))
            return other.relu_() if relu else other
        return torch_ops.conv_pointwise_add_(other, x, self._packed(x), self.bias, *self.args,
                                             'add', 1.0, 'relu' if relu else None, [], '')

    def _conv2d_args(self):
        padding, stride, dilation, groups = self.args
        return stride, padding, dilation, groups


def _grouped(convs):
    """A stage block's independent split convs as one grouped conv."""
    first = convs[0]
    grouped = nn.Conv2d(first.in_channels * len(convs), first.out_channels * len(convs),
                        first.kernel_size, first.stride, first.padding, first.dilation,
                        first.groups * len(convs))
    grouped.weight = nn.Parameter(torch.cat([c.weight for c in convs]))
    grouped.bias = nn.Parameter(torch.cat([c.bias for c in convs]))
    return grouped


def _check_block(block):
    """Refuse what the straight-line block would not compute as the model."""
    if any(block.plugin_names.values()):
        raise NotPackableError('a block with plugins')
    if block.contiguous_splits:
        raise NotPackableError('deformable split convs (dcn)')
    norms = [block.bn1, *block.bns, block.bn3]
    if block.downsample is not None:
        norms.append(block.downsample[-1])
    if not all(isinstance(n, nn.Identity) for n in norms):
        raise NotPackableError('a norm not folded into its conv (fold BN first: fuse_conv_bn)')


class PackedBlock:
    """A folded ``Bottle2neck``: its ``_inner_forward`` over packed convs."""

    def __init__(self, block):
        _check_block(block)
        self.width, self.scales = block.width, block.scales
        self.stage_block, self.last_relu = block.stage_block, block.last_relu
        self.pool, self.se = block.pool, block.se
        self.conv1, self.conv3 = PackedConv(block.conv1), PackedConv(block.conv3)
        convs = list(block.convs)
        self.grouped = None
        if block.stage_block and len(convs) > 1:
            self.grouped, convs = PackedConv(_grouped(convs)), []
        self.convs = [PackedConv(conv) for conv in convs]
        self.pre_shortcut = self.shortcut = None
        if shortcut_pair(block) is not None:
            self.pre_shortcut = block.downsample[:-2]  # avg_down's pool, or nothing
            self.shortcut = PackedConv(block.downsample[-2])

    def _multi_scale(self, out):
        """Eq. 1 over the splits of ``out``: their concatenation."""
        splits = torch.split(out, self.width, 1)
        if self.grouped is not None:
            ys = [self.grouped(out[:, :self.width * (self.scales - 1)], relu=True)]
        else:
            ys = []
            for i, conv in enumerate(self.convs):
                sp = splits[i] if i == 0 or self.stage_block else ys[-1] + splits[i]
                ys.append(conv(sp, relu=True))
        if self.scales > 1:
            ys.append(splits[-1] if self.pool is None else self.pool(splits[-1]))
        return ys[0] if len(ys) == 1 else torch.cat(ys, 1)

    def __call__(self, x):
        """The block on ``x``, consumed: without a projection shortcut the
        residual add runs in place into ``x``, inside the conv."""
        out = self._multi_scale(self.conv1(x, relu=True))
        identity = x if self.shortcut is None else self.shortcut(self.pre_shortcut(x))
        if self.se is None:
            return self.conv3.add_(out, identity, relu=self.last_relu)
        out = self.se(self.conv3(out)).add_(identity)
        return F.relu(out, inplace=True) if self.last_relu else out


class PrepackedRes2Net(nn.Module):
    """A folded ``Res2Net`` (``fuse_conv_bn``) run over packed convs: a
    snapshot of its weights, for inference on the CPU in float32.

    Args:
        model (Res2Net): The folded model; left unchanged.
        example (Tensor): An input batch of the deployment's shape; the
            weights are reordered for its sizes.
    """

    def __init__(self, model: Res2Net, example: torch.Tensor):
        super().__init__()
        if not isinstance(model, Res2Net) or type(model).forward is not Res2Net.forward:
            raise NotPackableError(f'a Res2Net is needed, got {type(model).__name__}')
        if example.device.type != 'cpu' or any(p.dtype != torch.float32 or p.device.type != 'cpu'
                                               for p in model.parameters()):
            raise NotPackableError('a float32 model and input on the CPU are needed')
        if not isinstance(model.bn1, nn.Identity):
            raise NotPackableError('a norm not folded into its conv (fold BN first: fuse_conv_bn)')
        self.stem = [PackedConv(conv) for conv, _ in stem_pairs(model)]
        self.maxpool, self.out_indices = model.maxpool, model.out_indices
        self.stages = [[PackedBlock(b) for b in getattr(model, name)] for name in model.res_layers]
        with torch.inference_mode():
            self(example)  # reorders every weight for the example's sizes

    def forward(self, x):
        """The outputs of the ``out_indices`` stages, NCHW-contiguous."""
        x = x.contiguous(memory_format=torch.channels_last)
        for conv in self.stem:
            x = conv(x, relu=True)
        x = self.maxpool(x)
        outs = []
        for i, blocks in enumerate(self.stages):
            for block in blocks:
                x = block(x)
            if i in self.out_indices:  # read next by a stage block, which adds into its shortcut
                outs.append(x.contiguous())
        return tuple(outs)
