"""Bit-identical resume: the random number generators' states travel with
the runner checkpoint (``type='res2net_mm.RandomStateHook'``).

mmengine 0.10.7 saves the seed but not the generators' states, so a resumed
run draws other random numbers (data augmentation, proposal sampling,
dropout) than the uninterrupted run from the first resumed iteration on.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from ...registry import HOOKS

CHECKPOINT_KEY = 'rng_states'


def get_rng_states():
    """The states of python's ``random``, numpy's global generator, torch's
    CPU generator and, when CUDA is available, every CUDA device's, as plain
    tensors, tuples and numbers (a weights-only ``torch.load`` reads them)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    states = dict(python=random.getstate(), torch=torch.get_rng_state(),
                  numpy=(kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss))
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states):
    """Restore states returned by ``get_rng_states`` (also after a load with
    ``map_location='cuda'``, as mmengine resumes on a GPU)."""
    random.setstate(states['python'])
    kind, key, pos, has_gauss, gauss = states['numpy']
    np.random.set_state((kind, key.cpu().numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states['cuda']])


class _RestoreAfterSkipping:
    """The train loop's data iterator, restoring ``states`` right before the
    first batch after the ``skip`` batches that mmengine 0.10.7's
    ``IterBasedTrainLoop`` fetches and throws away on resume (their
    transforms draw random numbers); then it puts the iterator back."""

    def __init__(self, loop, skip, states):
        self.loop, self.iterator = loop, loop.dataloader_iterator
        self.skip, self.states = skip, states

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip == 0:
            set_rng_states(self.states)
            self.loop.dataloader_iterator = self.iterator
        self.skip -= 1
        return next(self.iterator)


def _check_sampler_seed(runner, seed):
    """mmengine seeds the data sampler before it resumes the checkpoint's seed."""
    sampler_seed = getattr(runner.train_dataloader.sampler, 'seed', None)
    if None not in (seed, sampler_seed) and sampler_seed != seed:
        runner.logger.warning(
            f'the data sampler\'s seed {sampler_seed} is not the checkpoint\'s {seed}: '
            'the data order differs from the interrupted run; set '
            f'randomness=dict(seed={seed}) (tools/train.py --resume does)')


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save every random generator's state in each checkpoint and restore it
    on resume, so that a resumed run ends with exactly the weights of the
    uninterrupted one. ``tools/train.py`` adds it to every config; add it
    yourself with ``custom_hooks = [dict(type='res2net_mm.RandomStateHook')]``.

    The states restored are those at the checkpoint, right before the next
    batch is loaded: for iteration-based loops after the batches mmengine
    skips on resume, for epoch-based loops (epoch-end checkpoints) at the
    start of the next epoch. Validation runs with saved and restored states,
    so it draws nothing from the training's generators (with or without an
    interruption). Exact for single-process runs; in distributed runs rank 0
    saves its states and every rank restores them.
    """

    priority = 'LOWEST'  # restore after every other hook's before_train_epoch

    def __init__(self):
        self._resumed = None  # (meta, states) of the loaded checkpoint
        self._outside_val = None

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint[CHECKPOINT_KEY] = get_rng_states()

    def after_load_checkpoint(self, runner, checkpoint):
        if CHECKPOINT_KEY not in checkpoint:
            runner.logger.warning('the checkpoint has no random generator states '
                                  f'({CHECKPOINT_KEY!r}): a resumed run will not be '
                                  'bit-identical to an uninterrupted one')
            return
        self._resumed = (checkpoint.get('meta', {}), checkpoint[CHECKPOINT_KEY])

    def before_train_epoch(self, runner):
        if self._resumed is None:
            return
        meta, states = self._resumed
        self._resumed = None
        # Only when resuming: load_from (fine-tuning) starts at iteration 0.
        if runner.iter == 0 or (runner.epoch, runner.iter) != (meta.get('epoch'), meta.get('iter')):
            return
        _check_sampler_seed(runner, meta.get('seed'))
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop
            loop.dataloader_iterator = _RestoreAfterSkipping(loop, runner.iter, states)
        else:
            set_rng_states(states)
        runner.logger.info(f'restoring the random generator states of iteration {runner.iter}')

    def before_val(self, runner):
        self._outside_val = get_rng_states()

    def after_val(self, runner):
        if self._outside_val is not None:
            set_rng_states(self._outside_val)
            self._outside_val = None
