"""The deploy step: fold every BatchNorm into the conv before it, for good.

Unlike ``impl='fast'``, which folds on every call from the current weights,
this rewrites the model (as mmcv's ``fuse_conv_bn`` and tools/test.py's
``--fuse-conv-bn`` do): each conv gets the folded weight and a bias, each
folded norm becomes ``nn.Identity``. The result computes what the model
did, to float rounding, for inference only: its state dict has other keys,
and training or changing weights afterwards changes a different function.
"""
import torch
import torch.nn as nn

from .bottle2neck import Bottle2neck
from .res2net import Res2Net

FOLDABLE_NORMS = (nn.BatchNorm2d, nn.SyncBatchNorm)


def _fuse_pair(conv, norm):
    """Fold eval-mode ``norm`` into ``conv`` in place; True if it did."""
    if (type(conv) is not nn.Conv2d or type(norm) not in FOLDABLE_NORMS
            or norm.running_var is None or not norm.affine):
        return False
    with torch.no_grad():
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        bias = norm.bias - norm.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        conv.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1),
                                   requires_grad=conv.weight.requires_grad)
        conv.bias = nn.Parameter(bias, requires_grad=conv.weight.requires_grad)
    return True


def _pairs(model):
    """(owner, conv attribute path, norm attribute path) of a Res2Net's
    conv+norm pairs, in our key names."""
    if isinstance(model.conv1, nn.Sequential):
        yield model.conv1, '0', '1'
        yield model.conv1, '3', '4'
        yield model, 'conv1.6', 'bn1'
    else:
        yield model, 'conv1', 'bn1'
    for block in model.modules():
        if not isinstance(block, Bottle2neck):
            continue
        yield block, 'conv1', 'bn1'
        for i in range(len(block.convs)):
            yield block, f'convs.{i}', f'bns.{i}'
        yield block, 'conv3', 'bn3'
        if isinstance(block.downsample, nn.Sequential):
            n = len(block.downsample)
            yield block.downsample, str(n - 2), str(n - 1)


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """Fold the BatchNorms of every ``Res2Net`` inside ``module`` (or
    ``module`` itself) into their convs, in place, then the rest of the model
    with mmcv's ``fuse_conv_bn``; returns ``module`` in eval mode.

    Args:
        module (nn.Module): A backbone or a whole detector/segmentor.
    """
    from mmcv.cnn import fuse_conv_bn as mmcv_fuse_conv_bn
    module.eval()
    for model in [m for m in module.modules() if isinstance(m, Res2Net)]:
        for owner, conv_name, norm_name in _pairs(model):
            if _fuse_pair(owner.get_submodule(conv_name), owner.get_submodule(norm_name)):
                parent, _, name = norm_name.rpartition('.')
                setattr(owner.get_submodule(parent) if parent else owner, name, nn.Identity())
    return mmcv_fuse_conv_bn(module)
