"""The non-public torch API of the fast path, in one place.

``lean.py`` writes backward passes by hand with the kernels autograd itself
uses, and recomputes a saved output only while neither it nor its view base
changed in place. None of that is public API, so it is looked up once here,
for torch versions it was checked on; where something is missing
``AVAILABLE`` is False and the fast path takes the public ops (``F.conv2d``,
``F.batch_norm``, ``F.relu`` with autograd's own backward) instead.
``in_jit_trace`` reads the tracer's state (the fast path steps aside for it).
The deploy snapshot (``prepacked.py``) runs oneDNN's convolutions over
weights reordered once, the ops inductor's CPU freezing calls; where they are
missing ``PREPACKED_AVAILABLE`` is False and it runs ``F.conv2d``.
"""
import torch

MIN_TORCH = (2, 1)  # first release checked (convolution_backward's signature)


def _version():
    return tuple(int(part) for part in torch.__version__.split('+')[0].split('.')[:2])


def _lookup(namespace, name):
    try:
        return getattr(namespace, name)
    except (AttributeError, RuntimeError):
        return None


# grad_input, grad_weight, grad_bias of a convolution.
convolution_backward = _lookup(torch.ops.aten, 'convolution_backward')
# grad of x, weight, bias of batch_norm, given the saved statistics.
batch_norm_backward = _lookup(torch.ops.aten, 'native_batch_norm_backward')
# grad of relu given its output.
relu_backward = _lookup(torch.ops.aten, 'threshold_backward')
# batch mean and biased variance, updating running statistics in place.
batch_norm_update_stats = _lookup(torch, 'batch_norm_update_stats')


def version_counter(tensor):
    """How often ``tensor`` (and its views) was changed in place."""
    return tensor._version


def view_base(tensor):
    """The tensor ``tensor`` is a view of, or ``tensor`` itself."""
    return tensor if tensor._base is None else tensor._base


def in_jit_trace():
    """Whether a ``torch.jit.trace`` of a module is under way, its check
    included: after recording, the tracer runs the module eagerly (where
    ``torch.jit.is_tracing()`` is False) and compares the outputs with the
    recording's. It keeps its module map set for the whole call."""
    trace = getattr(torch.jit, '_trace', None)
    return getattr(trace, '_trace_module_map', None) is not None


AVAILABLE = (_version() >= MIN_TORCH
             and all(hasattr(torch.Tensor, name) for name in ('_version', '_base'))
             and None not in (convolution_backward, batch_norm_backward, relu_backward,
                              batch_norm_update_stats))


# oneDNN conv (+ ReLU, + in-place add + ReLU) over a weight reordered once by
# _reorder_convolution_weight into oneDNN's blocked layout (torch >= 2.0).
_mkldnn = getattr(torch.ops, 'mkldnn', None)
conv_pointwise = _lookup(_mkldnn, '_convolution_pointwise')
conv_pointwise_add_ = _lookup(_lookup(_mkldnn, '_convolution_pointwise_'), 'binary')
reorder_conv_weight = _lookup(_mkldnn, '_reorder_convolution_weight')
PREPACKED_AVAILABLE = (torch.backends.mkldnn.is_available()
                       and None not in (conv_pointwise, conv_pointwise_add_, reorder_conv_weight))
