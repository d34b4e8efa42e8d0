"""Training ops that keep less for backward than the plain ops, with the same
outputs and gradients (to float rounding; tests/models/fast/test_lean_training.py).

A Res2Net block is wider inside than a ResNet bottleneck at the same FLOPs
(104 vs 64 channels after conv1 in 26w x 4s), so what autograd keeps of its
inner maps sets its training memory:

* ``join_inputs_conv`` keeps the pieces of a conv's input (split outputs),
  not their concatenation or sum, which would be extra copies;
* ``norm_relu`` keeps only the norm's input of ``relu(batch_norm(x))``; its
  output, which the next convs would keep too, is recomputed in backward
  (one elementwise pass) for the ops that saved it inside
  ``recomputing_norm_relu``.
"""
import contextlib
import weakref

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch_ops as ops


def is_tracing():
    """Whether a tracer or compiler records the ops (jit trace/script,
    torch.compile), or ``torch.jit.trace`` runs the model eagerly to check
    its recording against: it gets the plain ops (and folds BN and plans
    memory itself), and its check compares the plain ops with themselves."""
    return (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling()
            or ops.in_jit_trace())


def _recording():
    """Whether autograd records the ops here, eagerly (grad mode on, not
    tracing), and the ops lean training needs exist in this torch."""
    return torch.is_grad_enabled() and not is_tracing() and ops.AVAILABLE


LOW_PRECISION = (torch.bfloat16, torch.float16)


def autocast_dtype(device_type):
    """The dtype autocast runs convs in on ``device_type``, or None outside
    autocast."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


def can_join_inputs(conv):
    """Whether ``join_inputs_conv`` may stand in for ``conv``: autograd records
    a plain conv without bias (under autocast too: it casts as autocast
    would)."""
    return (_recording() and type(conv) is nn.Conv2d
            and conv.bias is None and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str))


def _join(how, pieces):
    return torch.cat(pieces, 1) if how == 'cat' else pieces[0] + pieces[1]


class _JoinedInputConv(torch.autograd.Function):
    """``conv(join(pieces))`` that keeps the pieces for backward instead of
    their join (``'cat'``: concatenated channels; ``'sum'``: two summed).

    A Res2Net block joins maps that autograd keeps anyway (split outputs kept
    by their ReLUs, splits of conv1's ReLU output): the concatenation before
    conv3 and the sums before the hierarchical convs were extra copies of the
    block's maps. Backward joins again (a copy or an add, no conv FLOPs).
    """

    @staticmethod
    def forward(ctx, how, conv, weight, *pieces):
        ctx.how, ctx.conv = how, conv
        ctx.save_for_backward(weight, *pieces)
        return F.conv2d(_join(how, pieces), weight, None, conv.stride, conv.padding,
                        conv.dilation, conv.groups)

    @staticmethod
    def backward(ctx, grad):
        weight, *pieces = ctx.saved_tensors
        conv = ctx.conv
        need_input = any(ctx.needs_input_grad[3:])
        grad_x, grad_weight, _ = ops.convolution_backward(
            grad, _join(ctx.how, pieces), weight, None, conv.stride, conv.padding,
            conv.dilation, False, (0, 0), conv.groups, (need_input, ctx.needs_input_grad[2], False))
        if grad_x is None:
            grad_pieces = (None, ) * len(pieces)
        elif ctx.how == 'cat':
            grad_pieces = torch.split(grad_x, [p.shape[1] for p in pieces], 1)
        else:
            grad_pieces = (grad_x, grad_x)
        return (None, None, grad_weight, *grad_pieces)


def join_inputs_conv(how, conv, *pieces):
    """``conv(torch.cat(pieces, 1))`` (how='cat') or ``conv(pieces[0] +
    pieces[1])`` (how='sum') for a ``can_join_inputs`` conv, keeping the
    pieces for backward instead of their join.

    Under autocast the conv runs as autocast runs it: weight and input cast
    to its dtype (the weight's cast is a differentiable op, whose backward
    returns the float32 gradient). Pieces of another dtype would be joined
    before that cast: they take the plain conv."""
    weight = conv.weight
    dtype = autocast_dtype(weight.device.type)
    if dtype is not None:
        if any(p.dtype != dtype for p in pieces):
            return conv(_join(how, pieces))
        weight = weight.to(dtype)
    return _JoinedInputConv.apply(how, conv, weight, *pieces)


def can_norm_relu(norm, x):
    """Whether ``norm_relu`` may stand in for ``relu(norm(x))``: autograd
    records an affine ``nn.BatchNorm2d`` (training mode, or eval mode as
    with mmdet's ``norm_eval=True``) on a non-empty input (an empty batch
    takes BatchNorm's own rules) of the norm's dtype, float32 or float64,
    or, under autocast, a float32 norm on an input in autocast's dtype (the
    conv's output there): BatchNorm's mixed-precision kernels, as the plain
    module runs them."""
    if not (_recording() and type(norm) is nn.BatchNorm2d and norm.affine and x.numel() > 0
            and (norm.running_mean is None) == (norm.running_var is None)):
        return False
    if x.dtype in (torch.float32, torch.float64) and x.dtype == norm.weight.dtype:
        return autocast_dtype(x.device.type) is None
    return (x.dtype in LOW_PRECISION and norm.weight.dtype == torch.float32
            and x.dtype == autocast_dtype(x.device.type))


def _norm_relu_output(x, weight, bias, mean, var, eps):
    """``relu(batch_norm(x))`` with the given statistics: the eval-mode
    kernel, so that backward recomputes the forward output bit for bit."""
    out = F.batch_norm(x, mean, var, weight, bias, False, 0.0, eps)
    return out.relu_()


def _recomputed_output(ctx):
    """The output of the ``_NormReLU`` node ``ctx`` for an op that kept it:
    recomputed on the first request of a backward pass, kept until the
    node's own backward (the last use) drops it."""
    if ctx.output is None:
        ctx.output = _norm_relu_output(*ctx.saved_tensors, ctx.eps)
    return ctx.output


class _NormReLU(torch.autograd.Function):
    """``relu(norm(x))`` for a BatchNorm2d in training or eval mode that saves
    only ``x`` and the statistics it normalized with; the output, where an
    op kept it inside ``recomputing_norm_relu``, is recomputed in backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, norm):
        batch_stats = norm.training or norm.running_mean is None
        if not batch_stats:
            mean, var = norm.running_mean.clone(), norm.running_var.clone()
        else:
            if x.numel() // x.shape[1] <= 1:
                raise ValueError('Expected more than 1 value per channel when training, '
                                 f'got input size {tuple(x.shape)}')
            factor = 0.0
            if norm.training and norm.track_running_stats:
                norm.num_batches_tracked.add_(1)
                factor = (1.0 / norm.num_batches_tracked.item() if norm.momentum is None
                          else norm.momentum)
            # Batch mean and biased variance; the running statistics
            # (unbiased variance) update in the same pass, as in BatchNorm.
            running = (norm.running_mean, norm.running_var) if factor else (None, None)
            mean, var = ops.batch_norm_update_stats(x, *running, factor)
        out = _norm_relu_output(x, weight, bias, mean, var, norm.eps)
        # Saved tensors go through whatever saved-tensor hooks are active
        # (gradient checkpointing drops them); the output does not hold them.
        ctx.save_for_backward(x, weight, bias, mean, var)
        ctx.eps, ctx.batch_stats, ctx.output = norm.eps, batch_stats, None
        if any(ctx.needs_input_grad[:3]):  # else no node: ops must keep out itself
            # For recomputing_norm_relu's pack hook, with the version the
            # recomputation reproduces (an in-place change after it is not).
            out._norm_relu_node = weakref.ref(ctx), ops.version_counter(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad[:3]
        # Unpacked once: gradient checkpointing allows no second unpack.
        x, weight, bias, mean, var = ctx.saved_tensors
        out, ctx.output = ctx.output, None
        if torch.is_grad_enabled():
            # create_graph=True: the plain ops, so that backward is
            # differentiable again (batch statistics depend on x).
            stats = (None, None) if ctx.batch_stats else (mean, var)
            out = F.relu(F.batch_norm(x, *stats, weight, bias, ctx.batch_stats, 0.0, ctx.eps))
            wanted = [t for t, need in zip((x, weight, bias), needs) if need]
            grads = iter(torch.autograd.grad(out, wanted, grad, create_graph=True))
            return (*[next(grads) if need else None for need in needs], None)
        if out is None:
            out = _norm_relu_output(x, weight, bias, mean, var, ctx.eps)
        grad = ops.relu_backward(grad, out, 0)
        if ctx.batch_stats:
            stats = (None, None, mean, torch.rsqrt(var + ctx.eps))
        else:
            stats = (mean, var, None, None)
        grad_x, grad_weight, grad_bias = ops.batch_norm_backward(
            grad, x, weight, *stats, ctx.batch_stats, ctx.eps, list(needs))
        return grad_x, grad_weight, grad_bias, None


def norm_relu(norm, x):
    """``relu(norm(x))`` for a ``can_norm_relu`` norm, keeping only ``x`` and the
    statistics it normalized with (batch or running) for backward. Running
    statistics and ``num_batches_tracked`` update as in ``norm.forward``.
    Backward with ``create_graph=True`` takes the plain ops (differentiable
    again)."""
    return _NormReLU.apply(x, norm.weight, norm.bias, norm)


def norm_then_relu(norm, x):
    """``relu(norm(x))``: ``norm_relu`` where it may stand in."""
    return norm_relu(norm, x) if can_norm_relu(norm, x) else F.relu(norm(x), inplace=True)


def _pack(tensor):
    base = ops.view_base(tensor)
    node, version = getattr(base, '_norm_relu_node', (None, None))
    if node is None or ops.version_counter(base) != version:
        # Detached: autograd gives the unpacked tensor its graph back, and an op
        # that saves its own output would otherwise hold that output's grad_fn,
        # itself: a cycle through C++ that Python's collector never frees, kept
        # whole where backward does not run or retains the graph (Grad-CAM).
        return tensor.detach()
    return node, tensor.size(), tensor.stride(), tensor.storage_offset()


def _unpack(packed):
    if isinstance(packed, torch.Tensor):
        return packed
    node, size, stride, offset = packed
    ctx = node()
    if ctx is None:  # its graph is gone: no backward can ask for it
        raise RuntimeError('a recomputed norm_relu output was requested after its graph was freed')
    return _recomputed_output(ctx).as_strided(size, stride, offset)


def recomputing_norm_relu():
    """Context in which an op that saves a ``norm_relu`` output (or a view of
    it) for backward keeps a reference to the norm's node instead of the
    memory: backward recomputes the output (one elementwise pass per norm).
    A no-op where autograd does not record (inference, tracing,
    torch.compile)."""
    if not _recording():
        return contextlib.nullcontext()
    return torch.autograd.graph.saved_tensors_hooks(_pack, _unpack)
