"""Validated conversion between layouts and strict loading into ``Res2Net``:
every tensor is mapped or the conversion fails naming the keys.

This package never imports the models: a conversion is validated against the
state-dict shapes of the network the keys describe, which the models package
provides by registering a function with ``register_shapes`` when it is
imported (``res2net_mm.models.backbones.res2net``), or a caller passes as
``expected_shapes``."""
import os
import warnings

import torch

from .errors import BareBackboneError, CheckpointError
from .io import save_atomic
from .layouts import (STEM_NAMES, TARGETS, arch_name, detect_layout, infer_arch, rename_key,
                      split_checkpoint, to_ours)
from .read import read_checkpoint
from .zoo import zoo_names_of, zoo_table

# arch dict, constructor kwargs -> {key: shape} of that Res2Net's state dict.
_shape_functions = []

# Where the official files of the backbones outside the zoo table come from.
RELEASE = ('the official Res2Net-PretrainedModels release '
           '(https://github.com/Res2Net/Res2Net-PretrainedModels, linked from '
           'https://mmcheng.net/res2net/)')

PADDLE_NUMERICS = ("PaddleClas's Res2Net_vd computes the first block of stage 1 as an "
                   "ordinary block and excludes the padding from the stage blocks' pool; "
                   "build the backbone with stage_pool='paddle' to reproduce its outputs")


def fit_error(what, state_dict, expected, first=4):
    """A CheckpointError naming what of ``state_dict`` does not fit, or None.

    Args:
        what (str): Start of the message.
        state_dict (dict): Our-layout tensors.
        expected (dict): Key -> shape (BN ``num_batches_tracked`` may be missing).
        first (int): How many keys of each kind to name. Default: 4.
    """
    error = non_tensor_error(what, state_dict, first)
    if error:
        return error
    shapes = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(shape)}'
              for k, shape in expected.items() if k in state_dict
              and tuple(state_dict[k].shape) != tuple(shape)]
    missing = [k for k in expected if k not in state_dict and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in expected]
    parts = [f'{len(items)} {label}, first: {"; ".join(items[:first])}'
             for label, items in (('shape mismatches', shapes),
                                  ('keys missing from the checkpoint', missing),
                                  ('unexpected keys', unexpected),
                                  (NON_FLOAT, non_float_keys(state_dict))) if items]
    return CheckpointError(f'{what}: {". ".join(parts)}') if parts else None


def non_tensor_error(what, state_dict, first=4):
    """A CheckpointError naming the values of ``state_dict`` that are not
    tensors (a checkpoint's wrapper passed as a state dict), or None."""
    found = [f'{k}: {type(v).__name__}' for k, v in state_dict.items() if not torch.is_tensor(v)]
    if not found:
        return None
    return CheckpointError(
        f'{what}: {len(found)} values are not tensors, first: {"; ".join(found[:first])}. A '
        'state dict maps keys to tensors; a checkpoint file may wrap it (\'state_dict\', '
        '\'model\'): load the file with init_cfg=dict(type=\'Pretrained\', checkpoint=PATH) or '
        'res2net_mm.checkpoint.load_pretrained, which unwrap it, or pass '
        'checkpoint[\'state_dict\']')


NON_FLOAT = ('tensors of a non-float dtype (weights and statistics must be floating point, '
             "only BN's num_batches_tracked is an integer; save the weights as float32, "
             'float16 or bfloat16)')


def non_float_keys(state_dict):
    """'key: dtype' of every tensor of ``state_dict`` that is not floating
    point, BN ``num_batches_tracked`` (an integer counter) excepted: torch
    would copy such a tensor into a float weight without a word."""
    return [f'{k}: {v.dtype}' for k, v in state_dict.items()
            if not v.is_floating_point() and not k.endswith('num_batches_tracked')]


def register_shapes(function):
    """Register ``function(arch, kwargs) -> {key: shape}``: the state-dict
    shapes of the Res2Net with the resolved ``arch`` dict (``infer_arch``'s)
    and constructor ``kwargs``. The models package registers its own."""
    _shape_functions[:] = [function]
    return function


def _validate(state_dict, source, expected_shapes=None):
    """Check ``state_dict`` against the network its keys describe."""
    arch, kwargs = infer_arch(state_dict)
    shapes_of = expected_shapes or (_shape_functions[0] if _shape_functions else None)
    if shapes_of is None:
        raise RuntimeError('no state-dict shapes to validate against: import res2net_mm '
                           '(it registers them) or pass expected_shapes')
    error = fit_error(f'{source} is not a complete {arch_name(arch)}', state_dict,
                      shapes_of(arch, kwargs))
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
                       source='checkpoint', expected_shapes=None):
    """Convert a loaded checkpoint to layout ``dst``, validated in full.

    Args:
        obj: What ``read_checkpoint`` returned (any wrapper, any layout).
        src (str): 'auto' or one of ``layouts.LAYOUTS``. Default: 'auto'.
        dst (str): One of ``TARGETS``. Default: 'ours'.
        keep_head (bool): Keep the ImageNet classifier (``fc`` / mmpretrain
            ``head.fc``; then mmpretrain output is a full classifier with
            ``backbone.`` keys). Default: False.
        prefix (str | None): Backbone prefix of a full model checkpoint.
        source (str): Name used in messages.
        expected_shapes (callable | None): ``(arch, kwargs) -> {key: shape}``;
            None means the registered one (``register_shapes``).

    Returns:
        tuple: (state dict in ``dst``, report dict).
    """
    if dst not in TARGETS:
        raise CheckpointError(f'unknown target layout {dst!r}; valid: {", ".join(TARGETS)} '
                              '(paddle is a source layout only)')
    backbone, head, dropped, src = to_ours(obj, src, prefix, source)
    arch, kwargs = _validate(backbone, source, expected_shapes)
    _check_target(arch, kwargs, dst)
    if keep_head and (not head or dst == 'mmdet'):
        raise CheckpointError('--keep-head: ' + ('the mmdet layout has no classifier head'
                              if head else f'{source} has no classifier head (fc)'))
    names = STEM_NAMES.get(dst, {}) if arch['deep_stem'] else {}
    out = {rename_key(k, names): v for k, v in backbone.items()}
    if keep_head and dst == 'mmpretrain':
        out = {'backbone.' + k: v for k, v in out.items()}
        out.update({'head.' + k: v for k, v in head.items()})
    elif keep_head:
        out.update(head)
    report = dict(src=src, dst=dst, arch=arch_name(arch), tensors=len(out),
                  head='kept' if keep_head else ('dropped' if head else 'none'),
                  dropped=len(dropped) + (0 if keep_head else len(head)))
    return out, report


def convert_checkpoint(src_path, dst_path, src='auto', dst='ours', keep_head=False):
    """Read ``src_path`` (a file or a ``zoo://`` name), convert it and only
    then write ``dst_path`` atomically as a plain state dict (a safetensors
    file where ``dst_path`` ends in ``.safetensors``); arguments and report
    as in ``convert_state_dict``."""
    out, report = convert_state_dict(read_checkpoint(src_path), src, dst, keep_head,
                                     source=src_path)
    save_atomic(out, dst_path)
    return report


def _missing_message(path, arch):
    name = arch_name(arch)
    zoo = zoo_names_of(name)
    if not zoo:
        published = sorted({row['arch'] for row in zoo_table().values()})
        return (f'checkpoint file {path!r} not found; no weights are published '
                f'for {name} (published: {", ".join(published)})')
    return (f'checkpoint file {path!r} not found. Published {name} weights load by zoo '
            f'name (downloaded once, verified): init_cfg.checkpoint = '
            f'{" or ".join("zoo://" + n for n in zoo)}')


def warn_paddle_numerics(model, layout, source):
    """Warn when PaddleClas weights (``layout`` 'paddle') go into a backbone
    that does not compute as PaddleClas does."""
    if layout == 'paddle' and getattr(model, 'stage_pool', 'paddle') != 'paddle':
        warnings.warn(f'{source}: {PADDLE_NUMERICS}')


def strict_fit(state_dict, prefix, model):
    """Raise a CheckpointError naming what does not fit where ``state_dict``
    has keys under ``prefix`` but not exactly ``model``'s (in our layout):
    a backbone loads completely or not at all, even through loaders that
    would only warn (mmengine's ``load_checkpoint``)."""
    ours = {k[len(prefix):]: v for k, v in state_dict.items()
            if k.startswith(prefix) and not k.startswith(prefix + 'fc.')}  # a classifier is not ours
    if not ours:
        return
    where = f' under {prefix!r}' if prefix else ''
    error = non_tensor_error(f'the state dict{where}', ours)
    if error:
        raise error
    expected = {k: v.shape for k, v in model.state_dict().items()}
    try:
        looks = f', looks like {arch_name(infer_arch(ours)[0])}'
    except CheckpointError:
        looks = ''
    error = fit_error(f'the weights{where}{looks} do not fit this {arch_name(model.arch)} model',
                      ours, expected)
    if error:
        raise error


def bare_backbone_error(unexpected, own_names, prefix):
    """A ``BareBackboneError`` where a backbone sits under ``prefix`` in a
    bigger model, got no key, and the keys the whole model could not place
    (``unexpected``) are a bare backbone's: a Res2Net layout's stem among
    them, or mostly the backbone's own module names (``own_names``) at
    their top level. Else None.

    Args:
        unexpected (list[str]): Keys no module of the model took (torch's and
            mmengine's loaders collect them before they reach the backbone).
        own_names (Iterable[str]): The first component of the backbone's keys.
        prefix (str): Where the backbone sits, e.g. 'backbone.'.
    """
    if not unexpected:
        return None
    names = {key.split('.', 1)[0] for key in unexpected}
    try:
        detect_layout(unexpected)
    except CheckpointError:
        if 2 * len(names & set(own_names)) <= len(names):
            return None
    where = 'model.' + prefix[:-1]
    classifier = ('; a classifier file (with its fc) tests as a whole classifier with '
                  'tools/test.py or res2net_mm.checkpoint.load_classifier'
                  if 'fc.weight' in unexpected else '')
    return BareBackboneError(
        f"the state dict is a bare backbone's ({len(unexpected)} keys such as "
        f"{unexpected[0]!r}, none under {prefix!r}), not a whole model's: it would "
        f"load nothing and leave {where} as it was. Load it as the backbone's pretrained "
        f"weights: {where}.init_cfg=dict(type='Pretrained', checkpoint=PATH) in the config"
        f"{classifier}")


def load_pretrained(model, path, prefix=None):
    """Load a checkpoint of any layout into a ``Res2Net``, strictly.

    Args:
        model (Res2Net): The backbone (its ``arch`` names it in messages).
        path (str): Checkpoint file or URL.
        prefix (str | None): Backbone prefix, as mmengine's ``Pretrained``
            init (None: ``backbone.`` if the keys have it). Defaults to None.
    """
    from mmengine.logging import print_log
    if '://' not in path and not os.path.isfile(path):
        raise FileNotFoundError(_missing_message(path, model.arch))
    state_dict, head, dropped, src = to_ours(read_checkpoint(path), 'auto', prefix, path)
    warn_paddle_numerics(model, src, path)
    for key, value in model.state_dict().items():  # BN counters older files lack
        if key.endswith('num_batches_tracked'):
            state_dict.setdefault(key, torch.zeros_like(value))
    try:  # Res2Net's _load_from_state_dict checks the fit (strict_fit)
        model.load_state_dict(state_dict, strict=True)
    except CheckpointError as exc:
        raise CheckpointError(f'checkpoint {path} ({src} layout): {exc}') from None
    except RuntimeError as exc:  # torch's strict check: keys strict_fit leaves to it (fc)
        raise CheckpointError(f'checkpoint {path} ({src} layout) does not fit the backbone: '
                              f'{str(exc)[:600]}') from None
    print_log(f'loaded {path} ({src} layout, {len(state_dict)} tensors; dropped '
              f'{len(head)} head and {len(dropped)} non-backbone keys)', logger='current')


def load_backbone(model, path, prefix=None, missing_hint=''):
    """Load a checkpoint into a backbone that converts its own published
    layouts on load (``Res2NetDLA``, ``BigLittleRes2Net``), strictly.

    Args:
        model (nn.Module): The backbone.
        path (str): Checkpoint file or URL.
        prefix (str | None): Backbone prefix (None: ``backbone.`` if the keys
            have it). Defaults to None.
        missing_hint (str): Appended to the error for a missing file (where
            the weights are published). Defaults to ''.
    """
    from mmengine.logging import print_log
    if '://' not in path and not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} not found{missing_hint}')
    state_dict, head, dropped, _ = split_checkpoint(read_checkpoint(path), prefix, path)
    for key, value in model.state_dict().items():  # BN counters older files lack
        if key.endswith('num_batches_tracked'):
            state_dict.setdefault(key, torch.zeros_like(value))
    try:
        model.load_state_dict(state_dict, strict=True)
    except CheckpointError as exc:
        raise CheckpointError(f'checkpoint {path}: {exc}') from None
    except RuntimeError as exc:  # torch's strict check
        raise CheckpointError(f'checkpoint {path} does not fit the backbone: '
                              f'{str(exc)[:600]}') from None
    print_log(f'loaded {path} ({len(state_dict)} tensors; dropped {len(head)} head and '
              f'{len(dropped)} non-backbone keys)', logger='current')
