"""The published state-dict layouts: detection, renaming, architecture inference.

Our keys are the official ones (``ours`` = ``official`` = ``timm``, head
``fc``); mmdet and mmpretrain rename only the deep stem (``STEM_NAMES``),
mmpretrain classifiers have ``backbone.`` keys and a ``head.fc``, mmdet
detectors ``backbone.`` keys. PaddleClas's Res2Net_vd names everything its
own way (``paddle.from_paddle``); it is a source layout only.
"""
import torch

from ..variants import ARCHS, STAGE_BLOCKS
from .errors import CheckpointError
from .paddle import PADDLE_STEM, from_paddle

LAYOUTS = ('official', 'timm', 'mmdet', 'mmpretrain', 'ours', 'paddle')
TARGETS = LAYOUTS[:-1]  # layouts a conversion can write
# Deep-stem module names, ours -> layout; everything else is shared.
STEM_NAMES = {
    'mmdet': {'conv1.0': 'stem.0', 'conv1.1': 'stem.1', 'conv1.3': 'stem.3',
              'conv1.4': 'stem.4', 'conv1.6': 'stem.6', 'bn1': 'stem.7'},
    'mmpretrain': {'conv1.0': 'stem.0.conv', 'conv1.1': 'stem.0.bn', 'conv1.3': 'stem.1.conv',
                   'conv1.4': 'stem.1.bn', 'conv1.6': 'stem.2.conv', 'bn1': 'stem.2.bn'},
}
# Layouts whose keys a detected key family may be: mmpretrain's v1
# (deep_stem=False, avg_down=False) has exactly the official keys.
KEY_FAMILIES = {'official': ('official', 'timm', 'ours', 'mmpretrain'),
                'mmdet': ('mmdet',), 'mmpretrain': ('mmpretrain',), 'paddle': ('paddle',)}

def state_dict_of(obj, source='checkpoint'):
    """The tensors of a loaded checkpoint: the file itself or its
    'state_dict' / 'model', without a (Distributed)DataParallel ``module.``
    prefix; a ``CheckpointError`` if there is no state dict of tensors."""
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        found = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f'{source}: no state dict of tensors found (top level: {found})')
    if all(key.startswith('module.') for key in obj):
        obj = {key[len('module.'):]: value for key, value in obj.items()}
    return obj


def split_checkpoint(obj, prefix, source):
    """(backbone, head as ``fc.*``, dropped keys, head style) of a checkpoint.

    The tensors are the file itself or its 'state_dict' / 'model'; a
    ``module.`` prefix is removed. A full model (``backbone.*`` keys, or
    ``prefix`` given) keeps the backbone and an mmpretrain ``head.fc`` and
    drops the rest (neck, detection heads).
    """
    obj = state_dict_of(obj, source)
    if prefix is None:
        prefix = 'backbone.' if any(key.startswith('backbone.') for key in obj) else ''
    head_prefix = 'head.fc.' if prefix else 'fc.'
    head = {'fc.' + k[len(head_prefix):]: v for k, v in obj.items() if k.startswith(head_prefix)}
    backbone = {k[len(prefix):]: v for k, v in obj.items()
                if k.startswith(prefix) and not k.startswith(head_prefix)}
    if not backbone:
        raise CheckpointError(f'{source}: no key starts with prefix {prefix!r}')
    dropped = [k for k in obj if not k.startswith(prefix) and not k.startswith(head_prefix)]
    return backbone, head, dropped, head_prefix if head else None


def detect_layout(keys):
    """The key family of backbone ``keys`` ('official' covers official, timm,
    ours and mmpretrain's v1, which share keys), from the stem.

    Args:
        keys (Iterable[str]): Backbone keys (no ``backbone.`` prefix).
    """
    stems = {'stem.0.conv.weight': 'mmpretrain', 'stem.0.weight': 'mmdet',
             'conv1.weight': 'official', 'conv1.0.weight': 'official',
             PADDLE_STEM: 'paddle'}
    keys = set(keys)
    found = [layout for key, layout in stems.items() if key in keys]
    if len(found) != 1:
        what = f'ambiguous (stems of {found})' if found else 'unknown (no Res2Net stem)'
        raise CheckpointError(f'checkpoint layout is {what}; first keys: {sorted(keys)[:6]}; '
                              f'give the layout explicitly, one of {LAYOUTS}')
    return found[0]


def rename_key(key, names):
    """``key`` with its first module name replaced by ``names`` (old -> new)."""
    for old, new in names.items():
        if key.startswith(old + '.'):
            return new + key[len(old):]
    return key


def to_ours(obj, src='auto', prefix=None, source='checkpoint'):
    """Our-layout backbone and head of a loaded checkpoint in any layout.

    Args:
        obj: What ``read_checkpoint`` returned.
        src (str): 'auto' or one of ``LAYOUTS``. Default: 'auto'.
        prefix (str | None): Backbone prefix (None: ``backbone.`` if present).
        source (str): Name used in error messages.

    Returns:
        tuple: (backbone, head as ``fc.*``, dropped keys, source layout).
    """
    if src != 'auto' and src not in LAYOUTS:
        raise CheckpointError(f'unknown layout {src!r}; valid: auto, {", ".join(LAYOUTS)}')
    backbone, head, dropped, head_style = split_checkpoint(obj, prefix, source)
    family = detect_layout(backbone)
    if src == 'auto':
        src = 'mmpretrain' if head_style == 'head.fc.' else family
    elif src not in KEY_FAMILIES[family]:
        raise CheckpointError(f'{source}: keys are in the {family} layout, not {src}')
    if family == 'paddle':
        backbone, head = from_paddle(backbone, source)
        return backbone, head, dropped, src
    names = {new: old for old, new in STEM_NAMES.get(family, {}).items()}
    return {rename_key(k, names): v for k, v in backbone.items()}, head, dropped, src


def rename_to_ours(state_dict, prefix=''):
    """Rename, in place, the keys of ``state_dict`` under ``prefix`` from the
    layout they are in (mmdet's or mmpretrain's deep stem) to ours.

    Returns the detected key family, or None where there is nothing under
    ``prefix`` or no Res2Net stem among it (strict loading then names the
    keys).
    """
    keys = [k[len(prefix):] for k in state_dict if k.startswith(prefix)]
    try:
        family = detect_layout(keys) if keys else None
    except CheckpointError:
        return None
    if family == 'paddle':
        backbone, head = from_paddle({k: state_dict.pop(prefix + k) for k in keys})
        state_dict.update({prefix + k: v for k, v in {**backbone, **head}.items()})
        return family
    names = {new: old for old, new in STEM_NAMES.get(family, {}).items()}
    for key in keys:
        new = rename_key(key, names)
        if new != key:
            state_dict[prefix + new] = state_dict.pop(prefix + key)
    return family


def _check_shapes(conv, conv1, stem, norm):
    """Raise unless the tensors ``infer_arch`` reads the arch from have the
    ranks of convs and a norm, and the split conv's groups divide it."""
    for key, tensor, ndim in (('layer1.0.convs.0.weight', conv, 4),
                              ('layer1.0.conv1.weight', conv1, 4),
                              ('the stem conv weight', stem, 4), ('bn1.weight', norm, 1)):
        if tensor.dim() != ndim:
            raise CheckpointError(f'not a Res2Net state dict: {key} has shape '
                                  f'{tuple(tensor.shape)}, not {ndim}-D')
    groups = conv.shape[0] // conv.shape[1] if conv.shape[1] else 0
    if groups < 1 or conv.shape[0] % groups or conv1.shape[0] < conv.shape[0]:
        raise CheckpointError(f'not a Res2Net state dict: split conv layer1.0.convs.0.weight '
                              f'{tuple(conv.shape)} and layer1.0.conv1.weight '
                              f'{tuple(conv1.shape)} give no width, scales and groups')


def infer_arch(state_dict):
    """The architecture an our-layout state dict describes.

    Args:
        state_dict (dict): Backbone tensors with our keys.

    Returns:
        tuple: (arch in ``Res2Net.arch`` form, other ``Res2Net`` kwargs).
    """
    blocks = tuple(len({k.split('.')[1] for k in state_dict if k.startswith(f'layer{i}.')})
                   for i in range(1, 5))
    depth = next((d for d, stage_blocks in STAGE_BLOCKS.items() if stage_blocks == blocks), None)
    conv, conv1 = state_dict.get('layer1.0.convs.0.weight'), state_dict.get('layer1.0.conv1.weight')
    deep_stem = 'conv1.0.weight' in state_dict
    stem = state_dict.get('conv1.0.weight' if deep_stem else 'conv1.weight')
    if depth is None or conv is None or conv1 is None or stem is None or 'bn1.weight' not in state_dict:
        depths = '/'.join(map(str, STAGE_BLOCKS))
        raise CheckpointError(f'not a Res2Net-{depths} state dict (blocks per stage {blocks}, '
                              f'first keys {sorted(state_dict)[:4]})')
    _check_shapes(conv, conv1, stem, state_dict['bn1.weight'])
    cardinality = conv.shape[0] // conv.shape[1]
    arch = dict(depth=depth, base_width=conv.shape[0] // cardinality,
                scales=conv1.shape[0] // conv.shape[0], cardinality=cardinality,
                stem='v1b' if deep_stem else 'v1', se='layer1.0.se.fc1.weight' in state_dict,
                deep_stem=deep_stem, avg_down='layer1.0.downsample.2.weight' in state_dict)
    kwargs = dict(in_channels=stem.shape[1], stem_channels=state_dict['bn1.weight'].shape[0])
    offsets = [state_dict.get(f'layer{i}.0.convs.0.conv_offset.weight') for i in range(1, 5)]
    if any(o is not None for o in offsets):
        # DCN predicts 2 offsets per kernel tap and deform group, DCNv2 also a mask.
        per_tap = next(o for o in offsets if o is not None).shape[0] // 9
        kwargs.update(stage_with_dcn=tuple(o is not None for o in offsets),
                      dcn=dict(type='DCN', deform_groups=per_tap // 2) if per_tap % 2 == 0
                      else dict(type='DCNv2', deform_groups=per_tap // 3))
    return arch, kwargs


def arch_name(arch):
    """The ``ARCHS`` name of ``arch`` (a ``Res2Net.arch`` dict), else its fields."""
    for name, row in ARCHS.items():
        v1b = row['stem'] == 'v1b'
        if all(arch[k] == v for k, v in row.items()) and \
                arch['deep_stem'] == v1b and arch['avg_down'] == v1b:
            return name
    fields = ('depth', 'base_width', 'scales', 'cardinality', 'deep_stem', 'avg_down', 'se')
    return 'Res2Net(' + ', '.join(f'{k}={arch[k]}' for k in fields) + ')'
