"""The non-public torch ops of the fast training path, in one place.

``lean.py`` writes backward passes by hand with the kernels autograd itself
uses. They are not public API, so they are looked up once here, for torch
versions they were checked on; where one is missing ``AVAILABLE`` is False
and the fast path takes the public ops (``F.conv2d``, ``F.batch_norm``,
``F.relu`` with autograd's own backward) instead.
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

AVAILABLE = _version() >= MIN_TORCH and None not in (
    convolution_backward, batch_norm_backward, relu_backward, batch_norm_update_stats)
