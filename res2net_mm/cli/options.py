"""Command-line options of tools/train.py and tools/test.py and what they do
to a config, the same for mmdet, mmseg and mmpose configs (each one's
``default_scope`` decides where it differs)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
AMP_FREE_WRAPPERS = (None, 'OptimWrapper')


def add_runner_args(parser):
    """Options both tools share: --work-dir, --cfg-options, --launcher,
    --local-rank."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints '
                        '(default: the config\'s work_dir, else '
                        'work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
        help='override config entries, e.g. model.backbone.init_cfg=None '
        'train_dataloader.batch_size=4 (lists: key="[a,b]" or key=a,b)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch: torchrun, as in '
                        'tools/dist_*.sh; slurm: srun)')
    # torch.distributed.launch passes --local_rank (older) or --local-rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return parser


def load_config(args):
    """The config of ``args.config`` with --cfg-options, --launcher and the
    work_dir (CLI > config > work_dirs/<config name>) applied."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg


def enable_amp(cfg):
    """Mixed precision: mmengine's AmpOptimWrapper with dynamic loss scale
    (it needs a GPU/NPU/MLU: mmengine refuses it on CPU)."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') == 'AmpOptimWrapper':
        return
    if wrapper.get('type') not in AMP_FREE_WRAPPERS:
        raise ValueError(f'--amp replaces OptimWrapper, but this config uses '
                         f'{wrapper.type!r}')
    wrapper.type = 'AmpOptimWrapper'
    wrapper.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg):
    """Scale the learning rate by the real batch over ``base_batch_size``."""
    if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
        raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                         'in the config')
    cfg.auto_scale_lr.enable = True


class UnusableCheckpointError(ValueError):
    """A checkpoint given to a tool that does not exist, cannot be read, or
    (for --resume) is not a runner checkpoint."""


RUNNER_CHECKPOINT_KEYS = ('meta', 'optimizer', 'state_dict')
RANDOM_STATE_HOOK = 'res2net_mm.RandomStateHook'


def read_tool_checkpoint(path):
    """The checkpoint at ``path``, read weights-only; an
    ``UnusableCheckpointError`` naming the file if it is missing or is not a
    checkpoint (a text file, a truncated download)."""
    from ..checkpoint import CheckpointError, read_checkpoint
    try:
        return read_checkpoint(path)
    except FileNotFoundError as exc:
        raise UnusableCheckpointError(f'checkpoint not found: {path}') from exc
    except CheckpointError as exc:
        raise UnusableCheckpointError(f'{path} is not a readable checkpoint: {exc}') from exc
    except Exception as exc:  # torch's unpickler fails on arbitrary bytes in arbitrary ways
        raise UnusableCheckpointError(
            f'{path} is not a readable checkpoint: torch.load failed with '
            f'{type(exc).__name__}: {str(exc)[:200]}') from exc


def read_runner_checkpoint(path):
    """The checkpoint at ``path`` if it is a full runner checkpoint (what
    tools/train.py saves: weights, optimizer state, iteration counter)."""
    checkpoint = read_tool_checkpoint(path)
    keys = sorted(checkpoint) if isinstance(checkpoint, dict) else []
    missing = [key for key in RUNNER_CHECKPOINT_KEYS if key not in keys]
    if not missing and not {'epoch', 'iter'} <= set(checkpoint['meta']):
        missing = ['meta.epoch', 'meta.iter']
    if missing:
        raise UnusableCheckpointError(
            f'--resume: {path} is not a runner checkpoint: it has no {missing} (its keys: '
            f'{keys[:8]}). Resume needs a checkpoint saved by tools/train.py; to start a '
            f'new run from these weights, {_start_from(checkpoint, path)}')
    return checkpoint


def _start_from(checkpoint, path):
    """How to train from the weights of ``checkpoint``: a whole model's (its
    keys under ``backbone.``) by ``load_from``, a bare backbone's by the
    backbone's ``Pretrained`` init."""
    from ..checkpoint import CheckpointError, state_dict_of
    try:
        whole = any(key.startswith('backbone.') for key in state_dict_of(checkpoint))
    except CheckpointError:
        whole = True
    if whole:
        return f'use --cfg-options load_from={path} without --resume'
    return (f'which are a bare backbone\'s (no key under \'backbone.\'), set '
            f'model.backbone.init_cfg=dict(type=\'Pretrained\', checkpoint=\'{path}\') '
            'in the config')


def apply_resume(cfg, resume):
    """``--resume`` alone: the latest checkpoint of the work_dir ('auto');
    ``--resume PATH``: that checkpoint. Both restore optimizer, schedulers,
    the iteration counter and (with ``res2net_mm.RandomStateHook``) the
    random generators; the checkpoint's seed becomes the run's seed unless
    the config sets one, so that the data order continues too. Raises
    ``UnusableCheckpointError`` if there is no checkpoint to resume or it is
    not a runner checkpoint."""
    if resume is None:
        return
    from mmengine.runner import find_latest_checkpoint
    path = resume
    if resume == 'auto':
        path = find_latest_checkpoint(cfg.work_dir)
        if not path:
            raise UnusableCheckpointError(
                f'--resume: no checkpoint to resume in the work_dir {cfg.work_dir} (it has no '
                'last_checkpoint file); train without --resume, or give --resume PATH')
    checkpoint = read_runner_checkpoint(path)
    cfg.resume, cfg.load_from = True, path
    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is None and checkpoint['meta'].get('seed') is not None:
        cfg.randomness = dict(randomness, seed=checkpoint['meta']['seed'])


def add_random_state_hook(cfg):
    """Add ``res2net_mm.RandomStateHook`` (random generator states saved
    with every checkpoint, restored on resume) unless the config has it."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(hook.get('type') in (RANDOM_STATE_HOOK, 'RandomStateHook') for hook in hooks):
        cfg.custom_hooks = hooks + [dict(type=RANDOM_STATE_HOOK)]


def _show_mmdet(cfg, show_dir):
    cfg.default_hooks.visualization.update(draw=True, test_out_dir=show_dir)


def _show_mmseg(cfg, show_dir):
    # SegVisualizationHook saves through the visualizer's backends, and
    # draws only every `interval`-th test batch.
    cfg.default_hooks.visualization.update(draw=True, interval=1)
    cfg.visualizer.save_dir = show_dir


def _show_mmpose(cfg, show_dir):
    cfg.default_hooks.visualization.update(enable=True, interval=1, out_dir=show_dir)


SHOW_DIR = dict(mmdet=_show_mmdet, mmseg=_show_mmseg, mmpose=_show_mmpose)


def enable_show_dir(cfg, show_dir):
    """Draw every test prediction into ``show_dir`` with the library's own
    visualization hook. Relative paths are relative to the current
    directory (not, as mmdet's and mmpose's hooks would take them, to
    work_dir/<timestamp>)."""
    scope = cfg.get('default_scope')
    if scope not in SHOW_DIR:
        raise ValueError(f'--show-dir supports the scopes {sorted(SHOW_DIR)}, '
                         f'not {scope!r}')
    if 'visualization' not in cfg.get('default_hooks', {}):
        raise ValueError('--show-dir needs default_hooks.visualization')
    SHOW_DIR[scope](cfg, osp.abspath(show_dir))


def add_dump(cfg, out):
    """Also dump the raw predictions to the pickle file ``out``."""
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must name a .pkl or .pickle file, got {out!r}')
    # mmdet's dumper encodes masks as RLE; mmengine's keeps tensors.
    dump = 'DumpDetResults' if cfg.get('default_scope') == 'mmdet' else 'DumpResults'
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, list):
        evaluators = [evaluators]
    cfg.test_evaluator = evaluators + [dict(type=dump, out_file_path=out)]
