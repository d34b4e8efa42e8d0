"""PaddleClas ``.pdparams`` files: read without PaddlePaddle and without
running pickled code, and map Res2Net_vd keys to ours.

A ``.pdparams`` file is a pickle of ``{structured name: numpy array}`` plus a
``'StructuredToParameterName@@'`` table of names (``paddle.save`` of a
``state_dict``). Unpickling may only rebuild numpy arrays; any other global
is refused by name.

PaddleClas's Res2Net_vd (ppcls/arch/backbone/model_zoo/res2net_vd.py) is
our v1b: stem ``conv1_{1,2,3}``, blocks ``bb_<stage>_<block>`` with
``conv0`` (1x1), ``<name>_branch2b_<k>`` (the k-th 3x3 split conv), ``conv2``
(1x1) and ``short`` (the projection after the average pool), each a
``_conv`` and a ``_batch_norm``; the classifier ``out`` is a Linear stored
(in, out).
"""
import codecs
import io
import pickle
import re

import numpy as np
import torch

from .errors import CheckpointError

try:  # numpy >= 2 keeps it in numpy._core; files pickled by numpy 1 name numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core.multiarray import _reconstruct

# The globals a pickled dict of numpy arrays needs (protocol 2 files also
# pickle their raw bytes as _codecs.encode(str, 'latin1')).
PADDLE_GLOBALS = {
    ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
    ('_codecs', 'encode'): codecs.encode,
}
PADDLE_STEM = 'conv1_1._conv.weight'  # the key that marks the layout
BN_NAMES = {'weight': 'weight', 'bias': 'bias', '_mean': 'running_mean',
            '_variance': 'running_var'}
STEM = {'conv1_1': ('conv1.0', 'conv1.1'), 'conv1_2': ('conv1.3', 'conv1.4'),
        'conv1_3': ('conv1.6', 'bn1')}
BLOCK = {'conv0': ('conv1', 'bn1'), 'conv2': ('conv3', 'bn3'),
         'short': ('downsample.1', 'downsample.2')}
KEY = re.compile(r'(?:(conv1_[123])|bb_(\d+)_(\d+)\.(conv0|conv2|short|res\w+_branch2b_(\d+)))'
                 r'\._(conv|batch_norm)\.(weight|bias|_mean|_variance)$')


class _ArraysOnly(pickle.Unpickler):

    def find_class(self, module, name):
        if (module, name) not in PADDLE_GLOBALS:
            raise CheckpointError(f'refusing to unpickle {module}.{name}: a .pdparams file may only '
                                  f'hold numpy arrays (allowed: {sorted(PADDLE_GLOBALS)})')
        return PADDLE_GLOBALS[(module, name)]


def read_pdparams(path):
    """The tensors of a ``.pdparams`` file, by Paddle's structured names.

    Args:
        path (str): The file.

    Returns:
        dict[str, torch.Tensor]: Every array of the file (the name table and
        other non-array entries are left out).
    """
    with open(path, 'rb') as f:
        data = f.read()
    try:
        obj = _ArraysOnly(io.BytesIO(data)).load()
    except CheckpointError as exc:
        raise CheckpointError(f'{path}: {exc}') from None
    except Exception as exc:  # noqa: BLE001 - unpickling arbitrary bytes fails in arbitrary ways
        raise CheckpointError(f'cannot read {path}: not a .pdparams pickle, or truncated or '
                              f'corrupt ({type(exc).__name__}: {str(exc)[:200]})') from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f'{path}: a .pdparams file holds a dict, found {type(obj).__name__}')
    arrays = {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}
    bad = [k for k, v in arrays.items() if v.dtype.kind not in 'fiub']
    if bad:
        raise CheckpointError(f'{path}: arrays of non-numeric dtype: {bad[:4]}')
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


def _our_name(key):
    """Our key for a PaddleClas Res2Net_vd backbone key, or None."""
    match = KEY.match(key)
    if match is None:
        return None
    stem, stage, block, part, split, kind, param = match.groups()
    if stem:
        conv, norm = STEM[stem]
    else:
        where = f'layer{int(stage) + 1}.{int(block)}.'
        if split is None:
            conv, norm = BLOCK[part]
        else:  # the k-th split conv, k from 1
            conv, norm = f'convs.{int(split) - 1}', f'bns.{int(split) - 1}'
        conv, norm = where + conv, where + norm
    if kind == 'conv':
        return f'{conv}.weight' if param == 'weight' else None
    return f'{norm}.{BN_NAMES[param]}'


def from_paddle(tensors, source='checkpoint'):
    """Our backbone and ``fc`` head from PaddleClas Res2Net_vd tensors.

    Args:
        tensors (dict): Paddle structured name -> tensor.
        source (str): Name used in error messages.

    Returns:
        tuple: (backbone dict, head dict with ``fc.weight`` as (out, in)).
    """
    backbone, head, unknown = {}, {}, []
    for key, value in tensors.items():
        if key in ('out.weight', 'out.bias'):
            # Paddle's Linear stores (in, out); torch's (out, in).
            head['fc.' + key[4:]] = value.t().contiguous() if key == 'out.weight' else value
            continue
        name = _our_name(key)
        if name is None:
            unknown.append(key)
        else:
            backbone[name] = value
    if unknown:
        raise CheckpointError(f'{source}: {len(unknown)} keys are not PaddleClas Res2Net_vd '
                              f'keys, first: {unknown[:4]}')
    return backbone, head
