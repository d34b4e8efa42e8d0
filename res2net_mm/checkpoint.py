"""Res2Net checkpoints in every published layout: read, convert, load.

Our keys are the official ones (``ours`` = ``official`` = ``timm``, head
``fc``); mmdet and mmpretrain rename only the deep stem (``STEM_NAMES``),
mmpretrain classifiers have ``backbone.`` keys and a ``head.fc``, mmdet
detectors ``backbone.`` keys. Every conversion is validated against the
network the keys describe: it maps every tensor or fails naming the keys.
"""
import importlib
import os
import pickle
import tempfile
import types

import torch

from .models.variants import ARCHS, STAGE_BLOCKS, ZOO

LAYOUTS = ('official', 'timm', 'mmdet', 'mmpretrain', 'ours')
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
                'mmdet': ('mmdet',), 'mmpretrain': ('mmpretrain',)}
# Globals that full mmengine / timm training checkpoints pickle besides
# tensors (numpy scalars in 'meta', mmengine's HistoryBuffer in
# 'message_hub', timm's argparse 'args'); none of them can run code.
SAFE_GLOBALS = ('numpy.dtype', 'numpy.ndarray', 'numpy.core.multiarray.scalar',
                'numpy._core.multiarray.scalar', 'numpy.core.multiarray._reconstruct',
                'numpy._core.multiarray._reconstruct', 'argparse.Namespace',
                'mmengine.logging.history_buffer.HistoryBuffer')
RELEASE = ('the official Res2Net-PretrainedModels release '
           '(https://github.com/Res2Net/Res2Net-PretrainedModels, linked from '
           'https://mmcheng.net/res2net/)')


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, recognised or converted without loss."""


def class_getattr(owner, name):
    """``builtins.getattr`` as checkpoints may use it: HistoryBuffer pickles
    its statistics methods as ``getattr(HistoryBuffer, 'min')``. Returns only
    a function defined on a SAFE_GLOBALS class, so nothing else is reachable."""
    qualname = f'{getattr(owner, "__module__", "")}.{getattr(owner, "__qualname__", "")}'
    if qualname not in SAFE_GLOBALS or not isinstance(vars(owner).get(name), types.FunctionType):
        raise CheckpointError(f'refusing to unpickle getattr({owner!r}, {name!r})')
    return vars(owner)[name]


def allowed_globals(names, source='checkpoint'):
    """The objects ``torch.serialization.safe_globals`` needs to load a
    checkpoint that pickles the globals ``names``, if all are allowed.

    Args:
        names (list[str]): From ``get_unsafe_globals_in_checkpoint``.
        source (str): Name used in the error that names refused globals.
    """
    refused = [n for n in names if n not in SAFE_GLOBALS and n != 'builtins.getattr'
               and not n.startswith('numpy.dtypes.')]
    if refused:
        raise CheckpointError(
            f'{source} pickles objects outside the allow-list {SAFE_GLOBALS}: {refused}. '
            'Extract its state dict with code you trust and save that instead.')
    # Registered under the pickled name: numpy 1's 'numpy.core...' is numpy
    # 2's 'numpy._core...' object.
    allowed = [(class_getattr if n == 'builtins.getattr' else getattr(
        importlib.import_module(n.rpartition('.')[0]), n.rpartition('.')[2]), n) for n in names]
    if 'numpy.dtype' in names:  # a dtype's state is built on its class
        dtypes = importlib.import_module('numpy.dtypes')
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return allowed


def read_checkpoint(path):
    """Load a checkpoint onto the CPU without running pickled code.

    A state dict loads with ``weights_only=True``. A full training checkpoint
    that also pickles the objects of ``SAFE_GLOBALS`` (mmengine's ``meta`` and
    ``message_hub``, timm's ``args``) is loaded again, still weights-only,
    with exactly those classes allowed; any other global raises, naming it.
    URLs (``open-mmlab://``, ``https://``) go through mmengine's loader.

    Args:
        path (str): File path or URL.
    """
    if '://' in path:
        from mmengine.runner import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    try:
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as exc:
            if 'Weights only load failed' not in str(exc):
                raise
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        with torch.serialization.safe_globals(allowed_globals(needed, path)):
            return torch.load(path, map_location='cpu', weights_only=True)
    except CheckpointError:
        raise
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError, ImportError) as exc:
        raise CheckpointError(f'cannot read {path}: the file is truncated or corrupt '
                              f'({type(exc).__name__}: {str(exc)[:200]})') from exc


def _split(obj, prefix, source):
    """(backbone, head as ``fc.*``, dropped keys, head style) of a checkpoint.

    The tensors are the file itself or its 'state_dict' / 'model'; a
    ``module.`` prefix is removed. A full model (``backbone.*`` keys, or
    ``prefix`` given) keeps the backbone and an mmpretrain ``head.fc`` and
    drops the rest (neck, detection heads).
    """
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        found = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f'{source}: no state dict of tensors found (top level: {found})')
    if all(key.startswith('module.') for key in obj):  # saved from (Distributed)DataParallel
        obj = {key[len('module.'):]: value for key, value in obj.items()}
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
             'conv1.weight': 'official', 'conv1.0.weight': 'official'}
    keys = set(keys)
    found = [layout for key, layout in stems.items() if key in keys]
    if len(found) != 1:
        what = f'ambiguous (stems of {found})' if found else 'unknown (no Res2Net stem)'
        raise CheckpointError(f'checkpoint layout is {what}; first keys: {sorted(keys)[:6]}; '
                              f'give the layout explicitly, one of {LAYOUTS}')
    return found[0]


def _rename(key, names):
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
    backbone, head, dropped, head_style = _split(obj, prefix, source)
    family = detect_layout(backbone)
    if src == 'auto':
        src = 'mmpretrain' if head_style == 'head.fc.' else family
    elif src not in KEY_FAMILIES[family]:
        raise CheckpointError(f'{source}: keys are in the {family} layout, not {src}')
    names = {new: old for old, new in STEM_NAMES.get(family, {}).items()}
    return {_rename(k, names): v for k, v in backbone.items()}, head, dropped, src


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
        raise CheckpointError(f'not a Res2Net-50/101/152 state dict (blocks per stage {blocks}, '
                              f'first keys {sorted(state_dict)[:4]})')
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


def fit_error(what, state_dict, expected, first=4):
    """A CheckpointError naming what of ``state_dict`` does not fit, or None.

    Args:
        what (str): Start of the message.
        state_dict (dict): Our-layout tensors.
        expected (dict): Key -> shape (BN ``num_batches_tracked`` may be missing).
        first (int): How many keys of each kind to name. Default: 4.
    """
    shapes = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(shape)}'
              for k, shape in expected.items() if k in state_dict
              and tuple(state_dict[k].shape) != tuple(shape)]
    missing = [k for k in expected if k not in state_dict and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in expected]
    parts = [f'{len(items)} {label}, first: {"; ".join(items[:first])}'
             for label, items in (('shape mismatches', shapes),
                                  ('keys missing from the checkpoint', missing),
                                  ('unexpected keys', unexpected)) if items]
    return CheckpointError(f'{what}: {". ".join(parts)}') if parts else None


def _validate(state_dict, source):
    """Check ``state_dict`` against the network its keys describe."""
    from .models import Res2Net
    arch, kwargs = infer_arch(state_dict)
    with torch.device('meta'):  # shapes only, no memory or init time
        model = Res2Net(arch={k: arch[k] for k in ('depth', 'base_width', 'scales',
                                                   'cardinality', 'stem', 'se')},
                        deep_stem=arch['deep_stem'], avg_down=arch['avg_down'], **kwargs)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    error = fit_error(f'{source} is not a complete {arch_name(arch)}', state_dict, expected)
    if error:
        raise error
    return arch, kwargs


def _check_target(arch, kwargs, dst):
    """Refuse a layout whose reference code cannot build this network."""
    problems = []
    if dst in ('mmdet', 'mmpretrain'):  # their Bottle2necks have no groups and no SE
        problems += ['grouped 3x3 convs (Res2NeXt)'] * (arch['cardinality'] != 1)
        problems += ['SE blocks'] * arch['se']
    if dst == 'mmdet' and not (arch['deep_stem'] and arch['avg_down']):
        problems.append('the v1 stem or shortcut (mmdet builds v1b only)')
    if dst not in ('mmdet', 'ours') and 'dcn' in kwargs:
        problems.append('deformable convs')
    if problems:
        raise CheckpointError(f'the {dst} layout cannot hold {arch_name(arch)}: it has '
                              f'{", ".join(problems)}; convert to "ours" instead')


def convert_state_dict(obj, src='auto', dst='ours', keep_head=False, prefix=None,
                       source='checkpoint'):
    """Convert a loaded checkpoint to layout ``dst``, validated in full.

    Args:
        obj: What ``read_checkpoint`` returned (any wrapper, any layout).
        src (str): 'auto' or one of ``LAYOUTS``. Default: 'auto'.
        dst (str): One of ``LAYOUTS``. Default: 'ours'.
        keep_head (bool): Keep the ImageNet classifier (``fc`` / mmpretrain
            ``head.fc``; then mmpretrain output is a full classifier with
            ``backbone.`` keys). Default: False.
        prefix (str | None): Backbone prefix of a full model checkpoint.
        source (str): Name used in messages.

    Returns:
        tuple: (state dict in ``dst``, report dict).
    """
    if dst not in LAYOUTS:
        raise CheckpointError(f'unknown target layout {dst!r}; valid: {", ".join(LAYOUTS)}')
    backbone, head, dropped, src = to_ours(obj, src, prefix, source)
    arch, kwargs = _validate(backbone, source)
    _check_target(arch, kwargs, dst)
    if keep_head and (not head or dst == 'mmdet'):
        raise CheckpointError('--keep-head: ' + ('the mmdet layout has no classifier head'
                              if head else f'{source} has no classifier head (fc)'))
    names = STEM_NAMES.get(dst, {}) if arch['deep_stem'] else {}
    out = {_rename(k, names): v for k, v in backbone.items()}
    if keep_head and dst == 'mmpretrain':
        out = {'backbone.' + k: v for k, v in out.items()}
        out.update({'head.' + k: v for k, v in head.items()})
    elif keep_head:
        out.update(head)
    report = dict(src=src, dst=dst, arch=arch_name(arch), tensors=len(out),
                  head='kept' if keep_head else ('dropped' if head else 'none'),
                  dropped=len(dropped) + (0 if keep_head else len(head)))
    return out, report


def save_atomic(obj, path):
    """``torch.save(obj)`` to a temporary file beside ``path``, then rename
    it to ``path``: readers never see a partial file, a failure leaves none."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert_checkpoint(src_path, dst_path, src='auto', dst='ours', keep_head=False):
    """Read ``src_path``, convert it and only then write ``dst_path``
    atomically as a plain state dict; arguments and report as in
    ``convert_state_dict``."""
    out, report = convert_state_dict(read_checkpoint(src_path), src, dst, keep_head,
                                     source=src_path)
    save_atomic(out, dst_path)
    return report


def _missing_message(path, arch):
    name = arch_name(arch)
    official = ZOO.get(name, {}).get('checkpoint')
    if official is None:
        published = sorted(n for n, row in ZOO.items() if row['checkpoint'])
        return (f'checkpoint file {path!r} not found; no official weights are published '
                f'for {name} (published: {", ".join(published)})')
    return (f'checkpoint file {path!r} not found. The official {name} weights are '
            f'{official} from {RELEASE}. Point init_cfg.checkpoint at that file (it is '
            'converted on load) or convert it once: python tools/convert_checkpoint.py '
            f'{official} checkpoints/{name}.pth')


def load_pretrained(model, path, prefix=None):
    """Load a checkpoint of any layout into a ``Res2Net``, strictly.

    Args:
        model (Res2Net): The backbone (its ``arch`` names it in messages).
        path (str): Checkpoint file or URL.
        prefix (str | None): Backbone prefix, as mmengine's ``Pretrained``
            init (None: ``model.init_cfg['prefix']`` if set, else
            ``backbone.`` if the keys have it).
    """
    from mmengine.logging import print_log
    if prefix is None and isinstance(getattr(model, 'init_cfg', None), dict):
        prefix = model.init_cfg.get('prefix')
    if '://' not in path and not os.path.isfile(path):
        raise FileNotFoundError(_missing_message(path, model.arch))
    state_dict, head, dropped, src = to_ours(read_checkpoint(path), 'auto', prefix, path)
    expected = model.state_dict()
    try:
        looks = f', looks like {arch_name(infer_arch(state_dict)[0])}'
    except CheckpointError:
        looks = ''
    error = fit_error(f'checkpoint {path} ({src} layout{looks}) does not fit this '
                      f'{arch_name(model.arch)} model', state_dict,
                      {k: v.shape for k, v in expected.items()})
    if error:
        raise error
    for key in expected.keys() - state_dict.keys():  # BN counters older files lack
        state_dict[key] = torch.zeros_like(expected[key])
    model.load_state_dict(state_dict, strict=True)
    print_log(f'loaded {path} ({src} layout, {len(state_dict)} tensors; dropped '
              f'{len(head)} head and {len(dropped)} non-backbone keys)', logger='current')
