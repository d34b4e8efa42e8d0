"""Class activation maps (the paper's Fig. 4) of any model built from our
configs, from the ``grad-cam`` package, and two numbers that score them
against an object mask.

The package needs a module whose output is one row of class scores per
image and a target layer whose forward hook fires. ``Scores`` turns each kind
of model into the former: a classifier's logits, a two-stage detector's class
logits for one fixed box, a segmentor's mean logit map per class. For the
latter, ``stage_taps`` makes each backbone stage's output visible as the
output of a module of its own: our ``Res2Net``'s fast path computes
its blocks without calling the stage modules, so a hook on ``layer4`` would
never fire there, while the backbone's output is the same in every
implementation.
"""
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

METHODS = {'gradcam': GradCAM, 'gradcam++': GradCAMPlusPlus}
KINDS = ('classifier', 'detector', 'segmentor')


class LayerError(ValueError):
    """A target layer that does not exist or does not run."""


class Tap(nn.Identity):
    """The output of one backbone stage, as the output of a module whose
    forward hooks ``grad-cam`` can use."""


@contextmanager
def stage_taps(backbone, prefix='backbone'):
    """Make every stage output of ``backbone`` pass through a ``Tap``.

    While active, the backbone computes all its stages (``out_indices`` is
    widened) and a forward hook sends each stage output through its tap, then
    returns only the outputs of the original ``out_indices``. Our fast path
    also runs in NCHW meanwhile: it returns its channels-last activations as
    NCHW copies, and a copy would receive only the gradient of the copy's own
    consumers, not the gradient that flows back through the later stages; an
    NCHW activation is returned as itself.

    Args:
        backbone (nn.Module): A backbone with ``res_layers`` (stage module
            names) and ``out_indices``: ours, mmdet's or mmpretrain's ResNet.
        prefix (str): The backbone's name in the model. Defaults to
            'backbone'.

    Yields:
        dict[str, Tap]: ``'<prefix>.<stage>'`` -> its tap; empty for a
        backbone without ``res_layers``.
    """
    stages = list(getattr(backbone, 'res_layers', []))
    if not stages:
        yield {}
        return
    taps = {f'{prefix}.{name}': Tap() for name in stages}
    kept = sorted(backbone.out_indices)
    saved = {key: getattr(backbone, key) for key in ('out_indices', 'memory_format')
             if hasattr(backbone, key)}

    def tap_outputs(module, args, outputs):
        tapped = [tap(out) for tap, out in zip(taps.values(), outputs)]
        return tuple(tapped[i] for i in kept)

    backbone.out_indices = tuple(range(len(stages)))
    if 'memory_format' in saved:
        backbone.memory_format = torch.contiguous_format
    handle = backbone.register_forward_hook(tap_outputs)
    try:
        yield taps
    finally:
        handle.remove()
        for key, value in saved.items():
            setattr(backbone, key, value)


def model_kind(model):
    """'classifier' (mmpretrain ``ImageClassifier``), 'detector' (two-stage,
    with a ``roi_head``) or 'segmentor' (``EncoderDecoder``); else a
    ``TypeError``."""
    if hasattr(model, 'roi_head'):
        return 'detector'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    if hasattr(model, 'with_head'):
        return 'classifier'
    raise TypeError(f'{type(model).__name__}: CAMs need an mmpretrain ImageClassifier, a '
                    'two-stage detector (with roi_head) or an EncoderDecoder segmentor')


class Scores(nn.Module):
    """One row of class scores per image of a model of any ``KINDS``: the
    module ``grad-cam`` differentiates. The last output is kept in ``last``.

    Args:
        model (nn.Module): The whole model (see ``model_kind``).
        box (Sequence[float] | None): Detector only, required there: the box
            (x1, y1, x2, y2, in input pixels) whose class logits are the
            scores. Defaults to None.
    """

    def __init__(self, model, box=None):
        super().__init__()
        self.kind = model_kind(model)
        if self.kind == 'classifier' and not model.with_head:
            raise ValueError(f'{type(model).__name__} without a head has no class scores')
        if (box is None) != (self.kind != 'detector'):
            raise ValueError(f'a box is needed for a detector and only there; got box={box!r} '
                             f'for a {self.kind}')
        self.model = model
        self.box = None if box is None else torch.tensor([0.0, *box])
        self.last = None

    def forward(self, inputs):
        if self.kind == 'classifier':
            scores = self.model(inputs, mode='tensor')
        elif self.kind == 'segmentor':  # mean over the logit map: a class's mean pixel score
            scores = self.model.decode_head(self.model.extract_feat(inputs)).mean((2, 3))
        else:
            rois = self.box.to(inputs).expand(len(inputs), 5).clone()
            rois[:, 0] = torch.arange(len(inputs))  # the RoI's image in the batch
            feats = self.model.extract_feat(inputs)
            scores = self.model.roi_head._bbox_forward(feats, rois)['cls_score']
        self.last = scores.detach()
        return scores


def layer_names(model, taps):
    """Every name ``find_layer`` accepts: the stage taps, then the model's
    modules."""
    return list(taps) + [name for name, _ in model.named_modules() if name]


def find_layer(model, taps, name):
    """The module of the target layer ``name``: a stage tap (``backbone.layer4``
    under ``stage_taps``) or any other module of ``model``; an unknown name is
    a ``LayerError`` listing the valid ones."""
    if name is None:
        raise LayerError('the backbone has no stages (res_layers) to default to; give a target '
                         'layer: ' + ', '.join(layer_names(model, taps)))
    if name in taps:
        return taps[name]
    modules = dict(model.named_modules())
    if name and name in modules:
        return modules[name]
    raise LayerError(f'unknown target layer {name!r}; valid: ' + ', '.join(layer_names(model, taps)))


@contextmanager
def map_sizes(layer):
    """Collect the spatial sizes (h, w) of ``layer``'s 4-d outputs while
    active: the resolution of its maps before they are upsampled to the
    input.

    Yields:
        set[tuple[int, int]]: Filled as the layer runs.
    """
    sizes = set()

    def record(module, args, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            sizes.add(tuple(output.shape[-2:]))

    handle = layer.register_forward_hook(record)
    try:
        yield sizes
    finally:
        handle.remove()


def compute_cam(scores, layer, inputs, method='gradcam', target=None):
    """The CAM of one target class for a batch of inputs.

    Args:
        scores (Scores): The model's class scores.
        layer (nn.Module): The target layer (see ``find_layer``).
        inputs (Tensor): The model's input batch, N x 3 x H x W.
        method (str): One of ``METHODS``. Defaults to 'gradcam'.
        target (int | None): The class; None: each image's top-scoring one.

    Returns:
        tuple[np.ndarray, list[int]]: The maps (N x H x W float32, ReLU'd
        and min-max scaled to [0, 1] per image by ``grad-cam``) and the class
        of each.
    """
    if method not in METHODS:
        raise ValueError(f'method must be one of {tuple(METHODS)}, got {method!r}')
    cam = METHODS[method](model=scores, target_layers=[layer])
    targets = None if target is None else [ClassifierOutputTarget(target)] * len(inputs)
    try:
        with torch.enable_grad():
            maps = cam(inputs.detach().requires_grad_(), targets)
    except Exception:
        if not cam.activations_and_grads.activations:
            raise LayerError(_not_run(layer)) from None
        if not cam.activations_and_grads.gradients:
            raise LayerError(f'the target layer ({type(layer).__name__}) got no gradient from '
                             'the score: its output does not lead to the class scores') from None
        raise
    finally:
        cam.activations_and_grads.release()
    classes = scores.last.argmax(1).tolist() if target is None else [target] * len(inputs)
    return maps, classes


def _not_run(layer):
    return (f'the target layer ({type(layer).__name__}) did not run in the forward pass: '
            "Res2Net's fast path (impl='fast', and impl='auto' on the CPU) computes its blocks "
            "without calling their modules; take a "
            "stage (backbone.layerN) or set model.backbone.impl='reference'")


def energy_inside(cam, mask):
    """Share of the map's sum inside the mask (a constant map: the mask's
    area share, as it holds no location).

    Args:
        cam (np.ndarray): H x W map, non-negative.
        mask (np.ndarray): H x W bool, the object.
    """
    total = float(cam.sum())
    if total <= 0 or cam.min() == cam.max():
        return float(mask.mean())
    return float(cam[mask].sum()) / total


def pointing_hit(cam, mask):
    """Whether the map's maximum falls inside the mask (the pointing game).
    A maximum shared by several pixels counts by the share of them inside
    the mask: the expected hit of picking one of them at random.

    Args:
        cam (np.ndarray): H x W map.
        mask (np.ndarray): H x W bool, the object.
    """
    peak = cam == cam.max()
    return float((peak & mask).sum()) / float(peak.sum())
