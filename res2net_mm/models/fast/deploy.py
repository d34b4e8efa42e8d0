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

from ..backbones.bottle2neck import Bottle2neck
from ..backbones.res2net import Res2Net
from .dispatch import folded, is_foldable_norm, shortcut_pair, stem_pairs

def _pairs(model):
    """Every (conv, norm) pair of a Res2Net, as ``fast.py`` runs them."""
    pairs = stem_pairs(model)
    for block in model.modules():
        if isinstance(block, Bottle2neck):
            pairs += [(block.conv1, block.bn1), *zip(block.convs, block.bns),
                      (block.conv3, block.bn3)]
            if shortcut_pair(block) is not None:
                pairs.append(shortcut_pair(block))
    return pairs


def _fold(model):
    """Fold each foldable norm of ``model`` (a Res2Net) into its conv, then
    put ``nn.Identity`` where the norm was."""
    folded_norms = set()
    with torch.no_grad():
        for conv, norm in _pairs(model):
            if type(conv) is not nn.Conv2d or not is_foldable_norm(norm):
                continue
            weight, bias = folded(conv, norm)
            requires_grad = conv.weight.requires_grad
            conv.weight = nn.Parameter(weight, requires_grad=requires_grad)
            conv.bias = nn.Parameter(bias, requires_grad=requires_grad)
            folded_norms.add(id(norm))
    for name, module in list(model.named_modules()):
        if id(module) in folded_norms:
            parent, _, child = name.rpartition('.')
            setattr(model.get_submodule(parent), child, nn.Identity())


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
        _fold(model)
    return mmcv_fuse_conv_bn(module)
