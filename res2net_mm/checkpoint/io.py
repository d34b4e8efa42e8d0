"""Reading and writing local checkpoint files safely (weights-only
unpickling): torch files, safetensors and PaddlePaddle ``.pdparams``.
``read.read_checkpoint`` adds zoo names and URLs on top."""
import contextlib
import importlib
import os
import pickle
import tempfile
import types

import torch

from .errors import CheckpointError
from .paddle import read_pdparams

# Globals that full mmengine / timm training checkpoints pickle besides
# tensors (numpy scalars in 'meta', mmengine's HistoryBuffer in
# 'message_hub', timm's argparse 'args'); none of them can run code.
SAFE_GLOBALS = ('numpy.dtype', 'numpy.ndarray', 'numpy.core.multiarray.scalar',
                'numpy._core.multiarray.scalar', 'numpy.core.multiarray._reconstruct',
                'numpy._core.multiarray._reconstruct', 'argparse.Namespace',
                'mmengine.logging.history_buffer.HistoryBuffer')


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


def read_file(path):
    """Load a local checkpoint file onto the CPU without running pickled code.

    A state dict loads with ``weights_only=True``. A full training checkpoint
    that also pickles the objects of ``SAFE_GLOBALS`` (mmengine's ``meta`` and
    ``message_hub``, timm's ``args``) is loaded again, still weights-only,
    with exactly those classes allowed; any other global raises, naming it.
    ``.safetensors`` files load with safetensors, ``.pdparams`` with the
    restricted unpickler of ``paddle.read_pdparams``.

    Args:
        path (str): File path.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    if path.endswith('.pdparams'):
        return read_pdparams(path)
    if path.endswith('.safetensors'):
        return _read_safetensors(path)
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
    except Exception as exc:  # noqa: BLE001 - unpickling arbitrary bytes fails in arbitrary ways
        raise CheckpointError(f'cannot read {path}: not a torch checkpoint, or truncated or corrupt '
                              f'({type(exc).__name__}: {str(exc)[:200]})') from exc


def _read_safetensors(path):
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(path, device='cpu')
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f'cannot read {path}: not a safetensors file, or truncated or '
                              f'corrupt ({type(exc).__name__}: {str(exc)[:200]})') from exc


@contextlib.contextmanager
def atomic_write(path):
    """A binary file object on a temporary file beside ``path``, renamed to
    ``path`` only when the block ends without an exception: readers never
    see a partial file, a failure leaves none (and keeps an older ``path``).

    Args:
        path (str): Final file path (its folder is created).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_atomic(obj, path):
    """Write ``obj`` to ``path`` atomically (``atomic_write``): a
    ``.safetensors`` path gets a safetensors file (``obj`` a dict of
    tensors), any other path ``torch.save(obj)``."""
    if path.endswith('.safetensors'):
        from safetensors.torch import save
        # safetensors stores whole, unshared tensors.
        data = save({k: v.detach().contiguous().clone() for k, v in obj.items()},
                    metadata={'format': 'pt'})
    with atomic_write(path) as f:
        if path.endswith('.safetensors'):
            f.write(data)
        else:
            torch.save(obj, f)
