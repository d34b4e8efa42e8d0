"""Fuzz test of the checkpoint loading path: files this test writes from a
real Res2Net (torch zip and legacy pickles, safetensors, .pdparams), in
every layout and wrapper we accept, then damaged at random: keys renamed,
dropped or added; tensors cast to other dtypes or reshaped; bad wrappers;
files truncated, their headers overwritten, or replaced by other bytes
(HTML error pages, text, noise, an empty file, another format under the
name). Each case goes through one loader (``load_pretrained``,
``convert_state_dict``, ``Res2Net.load_state_dict`` or mmengine's
``load_checkpoint`` on a whole model) and must end in one of two ways:

* the right result: every weight and statistic equals the source's (cast
  to the model's dtype where the file held another float type), or
* a named error: ``CheckpointError`` (any subclass) or ``FileNotFoundError``
  with a message.

Anything else (a load that leaves weights as they were, a bare KeyError,
RuntimeError, UnpicklingError, ...) is a problem; the test lists them.
Bit flips inside tensor data are not tried: no reader can see them without
a published hash (the zoo checks sha256). The seed is fixed; set
RES2NET_FUZZ_CASES (and RES2NET_FUZZ_SEED) to run more or other cases than
the default suite's 120 (400 under -m slow).
"""
import os
import pickle
import random
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.runner import load_checkpoint
from safetensors.torch import save_file

from res2net_mm.checkpoint import (STEM_NAMES, CheckpointError, convert_state_dict,
                                   load_pretrained, read_checkpoint, rename_key)
from res2net_mm.models import Res2Net

SEED = int(os.environ.get('RES2NET_FUZZ_SEED', 20251206))
CASES = os.environ.get('RES2NET_FUZZ_CASES')
SENTINEL = -7.0  # every float weight before each load: a partial load shows
LOADERS = ('pretrained', 'convert', 'load_state_dict', 'mmengine')
BENIGN_DTYPES = (torch.float16, torch.bfloat16, torch.float64)
BAD_DTYPES = (torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64)
GARBAGE = {
    'html': b'<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>\n',
    'text': b'hello\n',
    'empty': b'',
    'json': b'{"conv1.weight": [1, 2, 3]}',
}


def build():
    return Res2Net('res2net50_v1b_26w_4s', base_channels=8, stem_channels=8).eval()


class Whole(nn.Module):
    """A whole model as OpenMMLab builds one: ``backbone.*`` and a neck."""

    def __init__(self):
        super().__init__()
        self.backbone, self.neck = build(), nn.Conv2d(2, 2, 1)


def source_state(seed):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=gen) if v.is_floating_point()
            else torch.full_like(v, 3) for k, v in build().state_dict().items()}


def mutate_keys(rng, state, expected, notes):
    """0-2 damages to the keys and tensors of ``state`` (our layout, in
    place); ``expected`` follows the benign ones (a float cast)."""
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        key = rng.choice(sorted(state))
        kind = rng.choice(('rename', 'drop', 'add', 'cast', 'bad dtype', 'reshape'))
        if kind == 'rename':
            parts = key.split('.')
            i = rng.randrange(len(parts))
            parts[i] = rng.choice((parts[i] + 'x', str(rng.randrange(9)), 'conv2', 'bn9', ''))
            state['.'.join(parts)] = state.pop(key)
        elif kind == 'drop':
            del state[key]
        elif kind == 'add':
            state[rng.choice(('layer9.0.conv1.weight', key + 'x', 'extra', 'fc.bias'))] = \
                torch.zeros(3)
        elif kind == 'cast' and state[key].is_floating_point():
            dtype = rng.choice(BENIGN_DTYPES)
            state[key] = state[key].to(dtype)
            expected[key] = state[key].to(expected[key].dtype)
        elif kind == 'bad dtype':
            state[key] = state[key].to(rng.choice(BAD_DTYPES))
        elif kind == 'reshape' and state[key].numel() > 1:
            value = state[key]
            state[key] = rng.choice((value.flatten(), value[:1], value.unsqueeze(0)))
        notes.append(f'{kind} {key}')


def wrap(rng, state, notes):
    """``state`` in a layout and wrapper we accept, or a bad wrapper."""
    kind = rng.choice(('plain', 'plain', 'state_dict', 'model', 'runner', 'module.', 'backbone.',
                       'mmdet', 'mmpretrain', 'classifier', 'list', 'nested', 'non-tensor'))
    notes.append(f'wrapper {kind}')
    if kind in ('mmdet', 'mmpretrain'):
        state = {rename_key(k, STEM_NAMES[kind]): v for k, v in state.items()}
        return {'backbone.' + k: v for k, v in state.items()} if kind == 'mmpretrain' else state
    if kind == 'classifier':
        return {**state, 'fc.weight': torch.zeros(10, 256), 'fc.bias': torch.zeros(10)}
    if kind in ('module.', 'backbone.'):
        return {kind + k: v for k, v in state.items()}
    if kind in ('state_dict', 'model'):
        return {kind: state}
    if kind == 'runner':
        return dict(state_dict=state, meta=dict(epoch=np.int64(3), seed=5), optimizer={})
    if kind == 'list':
        return list(state.values())
    if kind == 'nested':
        return {'state_dict': {'state_dict': state}}
    return {**state, 'conv1.0.weight': 0.5}  # a number among the tensors


def write(rng, obj, path, notes):
    """Write ``obj`` in a random format; returns the path written."""
    flat = isinstance(obj, dict) and all(torch.is_tensor(v) for v in obj.values())
    fmt = rng.choice(('pth', 'pth', 'legacy', 'safetensors', 'pdparams') if flat
                     else ('pth', 'legacy'))
    notes.append(f'format {fmt}')
    path = f'{path}.{fmt if fmt in ("safetensors", "pdparams") else "pth"}'
    if fmt == 'safetensors':
        save_file({k: v.contiguous() for k, v in obj.items()}, path)
    elif fmt == 'pdparams':
        arrays = {k: v.numpy() for k, v in obj.items() if v.dtype not in (torch.bfloat16,
                                                                           torch.complex64)}
        with open(path, 'wb') as f:
            pickle.dump(arrays, f, protocol=4)
    else:
        torch.save(obj, path, _use_new_zipfile_serialization=fmt == 'pth')
    return path


def damage_bytes(rng, path, notes):
    """Sometimes damage the file as bytes: cut it, overwrite its header,
    replace it by other bytes, or give it another format's extension."""
    kind = rng.choice(('none',) * 6 + ('truncate', 'header', 'garbage', 'noise', 'rename'))
    if kind == 'none':
        return path
    notes.append(f'bytes {kind}')
    data = open(path, 'rb').read()
    if kind == 'truncate':
        data = data[:rng.randrange(len(data))]
    elif kind == 'header':
        data = bytes(rng.randrange(256) for _ in range(16)) + data[16:]
    elif kind == 'garbage':
        data = GARBAGE[rng.choice(sorted(GARBAGE))]
    elif kind == 'noise':
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    else:
        os.remove(path)
        path = os.path.splitext(path)[0] + rng.choice(('.safetensors', '.pdparams', '.pth'))
    with open(path, 'wb') as f:
        f.write(data)
    return path


def reset(module):
    with torch.no_grad():
        for value in module.state_dict().values():
            if value.is_floating_point():
                value.fill_(SENTINEL)


def run_loader(loader, path, model, whole):
    """The backbone state dict the loader produced (our keys)."""
    if loader == 'pretrained':
        load_pretrained(model, path)
    elif loader == 'load_state_dict':  # non-strict, as mmengine loads: nothing may slip by
        obj = read_checkpoint(path)
        model.load_state_dict(obj if isinstance(obj, dict) else {'checkpoint': obj}, strict=False)
    elif loader == 'mmengine':
        load_checkpoint(whole, path, map_location='cpu', logger='silent')
        return whole.backbone.state_dict()
    else:
        return convert_state_dict(read_checkpoint(path))[0]
    return model.state_dict()


def wrong_weights(loaded, expected):
    """The keys whose tensors are not the expected ones (None: all right)."""
    bad = [k for k, v in expected.items() if v.is_floating_point()
           and (k not in loaded or not torch.equal(loaded[k].to(v.dtype), v))]
    return bad or None


def one_case(rng, index, folder, model, whole, source):
    loader = rng.choice(LOADERS)
    notes = [loader]
    state, expected = dict(source), dict(source)
    mutate_keys(rng, state, expected, notes)
    if loader == 'mmengine':  # a whole model's file: mmengine reads it with torch.load
        obj = {**{'backbone.' + k: v for k, v in state.items()},
               'neck.weight': torch.zeros(2, 2, 1, 1), 'neck.bias': torch.zeros(2)}
        path = os.path.join(folder, f'case{index}.pth')
        torch.save(obj, path)
    else:
        obj = wrap(rng, state, notes)
        path = damage_bytes(rng, write(rng, obj, os.path.join(folder, f'case{index}'), notes),
                            notes)
    reset(model)
    reset(whole.backbone)
    try:
        bad = wrong_weights(run_loader(loader, path, model, whole), expected)
    except (CheckpointError, FileNotFoundError) as exc:
        return ('named error', None) if str(exc).strip() else ('problem', f'{notes}: empty message')
    except Exception as exc:  # noqa: BLE001 - what the fuzz is looking for
        return 'problem', f'{notes}: {type(exc).__name__}: {str(exc)[:200]}'
    finally:
        if os.path.exists(path):
            os.remove(path)
    if bad:
        return 'problem', f'{notes}: loaded, but {len(bad)} tensors differ, first {bad[:3]}'
    return 'right result', None


@pytest.mark.parametrize('cases', [120, pytest.param(400, marks=pytest.mark.slow)])
def test_every_damaged_checkpoint_loads_right_or_raises_a_named_error(tmp_path, cases):
    cases = int(CASES or cases)
    rng = random.Random(SEED)
    model, whole, source = build(), Whole(), source_state(0)
    outcomes, problems = Counter(), []
    for index in range(cases):
        outcome, problem = one_case(rng, index, str(tmp_path), model, whole, source)
        outcomes[outcome] += 1
        if problem:
            problems.append(problem)
    print(f'\ncheckpoint fuzz: {cases} cases (seed {SEED}): {dict(outcomes)}')
    assert outcomes['right result'] > cases // 10 and outcomes['named error'] > cases // 10
    assert not problems, '\n'.join(problems[:20])
