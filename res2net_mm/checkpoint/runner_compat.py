"""Resuming and testing runner checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``. mmengine
0.10.7 loads full runner checkpoints (``--resume``, ``load_from``, the
checkpoint of ``tools/test.py``) with a plain ``torch.load``, and those pickle
a few objects besides tensors: numpy arrays and scalars in ``meta`` and
mmengine's ``HistoryBuffer`` in ``message_hub``. They fail to load.

Of the two workarounds, ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (unpickle
anything, for every load in the process) and allow-listing the globals, we
take the allow-list: loading stays weights-only, so a checkpoint can still
not run code; only the plain data classes of ``res2net_mm.checkpoint.
SAFE_GLOBALS`` (shared with the pretrained-weights loader), numpy's dtype
classes, and ``getattr`` restricted to the methods of those classes
(HistoryBuffer pickles its statistics methods with it) become loadable. A
checkpoint that pickles anything else still fails with torch's message
naming the global; for a checkpoint you trust, setting
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` then loads it anyway.
"""
import importlib

import torch

from .io import SAFE_GLOBALS, allowed_globals


def _importable(name):
    module, _, attr = name.rpartition('.')
    try:
        return hasattr(importlib.import_module(module), attr)
    except ImportError:  # e.g. numpy 1's numpy.core in a later numpy
        return False


def runner_checkpoint_globals():
    """What ``add_safe_globals`` needs for full mmengine runner checkpoints:
    objects, or (object, pickled name) pairs."""
    names = [name for name in SAFE_GLOBALS if _importable(name)]
    return allowed_globals(names + ['builtins.getattr'])


def allow_runner_checkpoints():
    """Let weights-only ``torch.load`` read full runner checkpoints.

    Process-wide and idempotent; a no-op on torch without the allow-list API
    (< 2.4, whose ``torch.load`` is not weights-only by default anyway).
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(runner_checkpoint_globals())
