"""``impl='fast'``: the reference Res2Net (``bottle2neck.py``, ``res2net.py``)
computed in fewer, cheaper ops — the same function of the same modules.

Everything here is recomputed from the modules' current parameters and
buffers on every call: there are no caches, so no weight change of any kind
(optimizer steps, ``load_state_dict``, ``.data`` edits, EMA swaps, BN
statistics updated in train mode, dtype or device moves) can be missed.
Nothing here adds parameters, buffers or state-dict keys.

The tricks, each where it applies (else the module runs as it is):

* activations in ``model.memory_format`` (channels-last by default), where
  the narrow split convs need no layout reorders;
* inference (autograd off): an eval-mode BatchNorm is folded into the conv
  before it when the conv's output is larger than its weight (then the fold
  costs less than the norm pass it saves); a stage block's independent 3x3
  convs run as one grouped conv;
* training (autograd on): ``lean.py``'s BN+ReLU keeps only the norm's input
  for backward, and the joined-input conv keeps the split pieces instead of
  their sum or concatenation; under autocast (bfloat16/float16) too, with
  autocast's casts.

Under autocast nothing is folded (a folded weight would be rounded to the
low precision after the fold, the reference rounds before the norm).
Tracing, scripting and torch.compile run the reference modules: exporters
and compilers fold and fuse themselves.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from .lean import (LOW_PRECISION, autocast_dtype, can_join_inputs, is_tracing, join_inputs_conv,
                   norm_then_relu, recomputing_norm_relu)

FOLDABLE_NORMS = (nn.BatchNorm2d, nn.SyncBatchNorm)
FLOAT_TYPES = (torch.float32, torch.float64)


def supports(x) -> bool:
    """Whether the fast path runs for input ``x``: a 4-D float32/float64
    tensor, eagerly (not traced or compiled), outside autocast or under
    autocast to bfloat16/float16. Anything else runs the reference, which
    also raises what the reference raises for a wrong input."""
    dtype = autocast_dtype(x.device.type)
    return (x.dim() == 4 and x.dtype in FLOAT_TYPES and not is_tracing()
            and (dtype is None or dtype in LOW_PRECISION))


def is_foldable_norm(norm) -> bool:
    """Whether ``norm`` in eval mode is an affine map that can move into the
    conv before it: a BatchNorm with running statistics and affine terms."""
    return (type(norm) in FOLDABLE_NORMS and norm.running_var is not None
            and norm.weight is not None)


def can_fold(conv, norm, x) -> bool:
    """Whether ``norm(conv(x))`` may run as one conv with folded weights:
    autograd off, a plain conv followed by an eval-mode ``is_foldable_norm``,
    and folding is worth it: the conv's output (~ batch x positions x out
    channels) is larger than its weight (out x in channels x kernel taps),
    so scaling the weight costs less than the norm pass over the output that
    it saves."""
    if (torch.is_grad_enabled() or type(conv) is not nn.Conv2d or conv.padding_mode != 'zeros'
            or autocast_dtype(x.device.type) is not None):
        return False
    if isinstance(norm, nn.Identity):  # folded already (deploy.fuse_conv_bn)
        return True
    if norm.training or not is_foldable_norm(norm):
        return False
    positions = x.shape[0] * x.shape[2] * x.shape[3] // (conv.stride[0] * conv.stride[1])
    return positions > conv.weight[0].numel()


def folded(conv, norm):
    """(weight, bias) of the conv that computes ``norm(conv(x))`` for an
    eval-mode BatchNorm (or an Identity), from their current tensors."""
    if isinstance(norm, nn.Identity):
        return conv.weight, conv.bias
    scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
    bias = norm.bias - norm.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    return conv.weight * scale.reshape(-1, 1, 1, 1), bias


def conv_norm(conv, norm, x, relu=True):
    """``relu(norm(conv(x)))`` (ReLU optional), folded or lean where it may."""
    if can_fold(conv, norm, x):
        weight, bias = folded(conv, norm)
        out = F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        return F.relu(out, inplace=True) if relu else out
    out = conv(x)
    if relu:
        return norm_then_relu(norm, out)
    return norm(out)


def _stage_convs(block, x):
    """A stage block's 3x3 convs at inference: one grouped conv over the
    first ``scales - 1`` splits of ``x``, or None where that does not apply
    (training, a non-foldable pair, a single conv)."""
    pairs = list(zip(block.convs, block.bns))
    if len(pairs) < 2 or not all(can_fold(c, n, x) for c, n in pairs):
        return None
    conv = block.convs[0]
    weights, biases = zip(*(folded(c, n) for c, n in pairs))
    if any(b is None for b in biases):
        return None
    first = x[:, :block.width * len(pairs)]
    out = F.conv2d(first, torch.cat(weights), torch.cat(biases), conv.stride, conv.padding,
                   conv.dilation, conv.groups * len(pairs))
    return F.relu(out, inplace=True)


def _multi_scale(block, x):
    """Eq. 1's hierarchical convs over the splits of ``x``: the pieces whose
    concatenation is the block's mid feature map."""
    splits = torch.split(x, block.width, 1)
    grouped = _stage_convs(block, x) if block.stage_block else None
    if grouped is not None:
        ys = [grouped]
    else:
        ys = []
        for i, (conv, bn) in enumerate(zip(block.convs, block.bns)):
            if i == 0 or block.stage_block:
                sp = splits[i].contiguous() if block.contiguous_splits else splits[i]
                ys.append(conv_norm(conv, bn, sp))
            elif can_join_inputs(conv):
                ys.append(norm_then_relu(bn, join_inputs_conv('sum', conv, ys[-1], splits[i])))
            else:
                sp = ys[-1] + splits[i]
                ys.append(conv_norm(conv, bn, sp.contiguous() if block.contiguous_splits else sp))
    if block.scales > 1:
        ys.append(splits[-1] if block.pool is None else block.pool(splits[-1]))
    return ys


def shortcut_pair(block):
    """(conv, norm) of a block's projection shortcut ([AvgPool2d,] conv,
    norm), or None for the identity."""
    if block.downsample is None:
        return None
    return tuple(block.downsample[-2:])


def _shortcut(block, x):
    pair = shortcut_pair(block)
    if pair is None:
        return x
    for layer in block.downsample[:-2]:
        x = layer(x)
    return conv_norm(*pair, x, relu=False)


def _block_forward(block, x):
    """``block._inner_forward(x)``, fast."""
    out = conv_norm(block.conv1, block.bn1, x)
    out = block.plugins(out, 'after_conv1')
    ys = _multi_scale(block, out)
    if len(ys) > 1 and not block.plugin_names['after_conv2'] and can_join_inputs(block.conv3):
        out = block.bn3(join_inputs_conv('cat', block.conv3, *ys))
    else:
        out = block.plugins(ys[0] if len(ys) == 1 else torch.cat(ys, 1), 'after_conv2')
        out = conv_norm(block.conv3, block.bn3, out, relu=False)
    out = block.plugins(out, 'after_conv3')
    if block.se is not None:
        out = block.se(out)
    out = out + _shortcut(block, x)
    return F.relu(out, inplace=True)


def block_forward(block, x):
    """``block(x)`` (a ``Bottle2neck``), fast; ``with_cp`` honoured."""
    if block.with_cp and x.requires_grad:
        return cp.checkpoint(_block_forward, block, x, use_reentrant=False)
    return _block_forward(block, x)


def stem_pairs(model):
    """The (conv, norm) pairs of a Res2Net's stem, each followed by a ReLU:
    v1 one 7x7 conv; v1b three 3x3 convs (official keys conv1.{0,1,3,4,6})."""
    if not isinstance(model.conv1, nn.Sequential):
        return [(model.conv1, model.bn1)]
    conv_a, norm_a, _, conv_b, norm_b, _, conv_c = model.conv1
    return [(conv_a, norm_a), (conv_b, norm_b), (conv_c, model.bn1)]


def _stem(model, x):
    for conv, norm in stem_pairs(model):
        x = conv_norm(conv, norm, x)
    return x


def res2net_forward(model, x):
    """``model(x)`` (a ``Res2Net``), fast."""
    with recomputing_norm_relu():
        x = model.maxpool(_stem(model, x.contiguous(memory_format=model.memory_format)))
        outs = []
        for i, name in enumerate(model.res_layers):
            for block in getattr(model, name):
                x = block_forward(block, x)
            if i in model.out_indices:
                outs.append(x.contiguous())
    return tuple(outs)
