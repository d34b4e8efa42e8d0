"""Whole published classifiers (backbone + ImageNet ``fc``) into an
mmpretrain ``ImageClassifier``.

An official, timm or torchvision classification file keeps its backbone at
the top level and its classifier in ``fc``; an ``ImageClassifier`` holds them
as ``backbone.*`` and ``head.fc.*``. ``classifier_state_dict`` moves the keys
there; ``Res2Net``'s own loading hook then converts the backbone's layout
(official, timm, mmdet, mmpretrain), so the whole model loads strictly. A
PaddleClas ``.pdparams`` classifier (``out`` for ``fc``) is converted to
ours first.
"""
import torch

from .convert import NON_FLOAT, non_float_keys, warn_paddle_numerics
from .errors import CheckpointError
from .layouts import state_dict_of
from .paddle import PADDLE_STEM, from_paddle


def _tensors(obj, source):
    """The tensors of a checkpoint in our keys (PaddleClas's converted)."""
    obj = state_dict_of(obj, source)
    if PADDLE_STEM in obj:
        backbone, head = from_paddle(obj, source)
        obj = {**backbone, **head}
    return obj


def is_bare_classifier(obj):
    """Whether a loaded checkpoint is a classifier file with its backbone at
    the top level (no ``backbone.`` keys) and an ``fc`` classifier."""
    try:
        keys = _tensors(obj, 'checkpoint').keys()
    except CheckpointError:
        return False
    return 'fc.weight' in keys and not any(k.startswith('backbone.') for k in keys)


def classifier_state_dict(obj, source='checkpoint'):
    """The ``ImageClassifier`` keys of a bare classifier checkpoint:
    ``fc.*`` -> ``head.fc.*``, everything else -> ``backbone.*``."""
    tensors = _tensors(obj, source)
    if not is_bare_classifier(tensors):
        raise CheckpointError(f'{source}: not a bare classifier file (expected top-level '
                              f'backbone keys and fc.weight; first keys: {sorted(tensors)[:6]})')
    return {('head.' if key.startswith('fc.') else 'backbone.') + key: value
            for key, value in tensors.items()}


def load_classifier(model, obj, source='checkpoint'):
    """Load a bare classifier checkpoint into an mmpretrain ``ImageClassifier``
    strictly: every key fits or a ``CheckpointError`` names what does not
    (another number of classes, another architecture)."""
    state_dict = classifier_state_dict(obj, source)
    non_float = non_float_keys(state_dict)
    if non_float:
        raise CheckpointError(f'{source}: {len(non_float)} {NON_FLOAT}, first: '
                              f'{"; ".join(non_float[:4])}')
    if PADDLE_STEM in state_dict_of(obj, source):
        warn_paddle_numerics(getattr(model, 'backbone', None), 'paddle', source)
    fc = getattr(getattr(model, 'head', None), 'fc', None)
    if not isinstance(fc, torch.nn.Linear):
        raise CheckpointError(f'{source} is a classifier; the model has no linear head.fc '
                              f'to hold it ({type(model).__name__})')
    classes = state_dict['head.fc.weight'].shape
    if classes != fc.weight.shape:
        raise CheckpointError(
            f'{source}: its classifier maps {classes[1]} features to {classes[0]} classes, '
            f'the model\'s head {fc.in_features} to {fc.out_features}; set '
            f'model.head.num_classes={classes[0]} (or load only the backbone with '
            f'init_cfg=dict(type="Pretrained", checkpoint=...))')
    try:
        model.load_state_dict(state_dict, strict=True)
    except CheckpointError as exc:
        raise CheckpointError(f'{source}: {exc}') from None
    except RuntimeError as exc:
        raise CheckpointError(f'{source} does not fit the model: {str(exc)[:600]}') from None
