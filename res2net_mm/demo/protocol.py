"""The demo's protocol, the paper's in miniature: pretrain the backbone on a
classification task (the ImageNet step), then train the downstream model
from that checkpoint and evaluate it.

A downstream demo config names its pretraining config and loads the result
with a plain ``Pretrained`` init of its backbone::

    pretrain_config = './cls_r2n50_shapes.py'   # relative to this config
    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', prefix='backbone.',
        checkpoint='work_dirs/pretrained/cls_r2n50_shapes_seed0.pth')))

``ensure_pretrained`` trains the pretraining config once per seed and keeps
the classifier's weights at ``pretrained_file(...)``: a re-run reuses them,
as a downloaded ImageNet checkpoint would be, unless the pretraining config
changed (a digest of it travels in the checkpoint's meta). ``compare_config``
names the ResNet-50 twin of a demo (only the backbone differs), which
``tools/demo.py --compare`` runs beside it.
"""
import hashlib
import json
import os
import os.path as osp
import pickle
import time

import torch
from mmengine.config import Config
from mmengine.logging import print_log

PRETRAINED_DIR = 'work_dirs/pretrained'
_FLOPS_SIZE = 224  # backbone FLOPs are counted at 224 x 224, as the paper


def linked_config(cfg, key):
    """The config that ``cfg[key]`` names (a path relative to ``cfg``'s file),
    or None where ``cfg`` names none.

    Raises:
        FileNotFoundError: If the named file does not exist.
    """
    name = cfg.get(key)
    if not name:
        return None
    path = osp.normpath(osp.join(osp.dirname(cfg.filename), name))
    if not osp.isfile(path):
        raise FileNotFoundError(f'{key}={name!r} of {cfg.filename}: no file '
                                f'{path}')
    return Config.fromfile(path)


def set_seed(cfg, seed):
    """Give ``cfg`` the run seed ``seed`` and the work dir
    ``<its work dir>/seed<seed>``; None keeps both as they are."""
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f'seed must be an integer >= 0, got {seed!r}')
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
        cfg.work_dir = osp.join(cfg.work_dir, f'seed{seed}')
    return cfg


def run_seed(cfg):
    """The seed ``cfg`` trains with (0 where it sets none)."""
    return (cfg.get('randomness') or {}).get('seed') or 0


def pretrained_file(pretrain_cfg, directory=PRETRAINED_DIR):
    """Where the weights that ``pretrain_cfg`` trains are kept:
    ``<directory>/<config name>_seed<seed>.pth``."""
    name = osp.splitext(osp.basename(pretrain_cfg.filename))[0]
    return osp.join(directory, f'{name}_seed{run_seed(pretrain_cfg)}.pth')


def config_digest(cfg):
    """A digest of what ``cfg`` trains (its work dir excluded)."""
    data = cfg.to_dict()
    data.pop('work_dir', None)
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_meta(path):
    """The meta of a kept pretrained checkpoint, or None if it is missing or
    unreadable."""
    try:
        return torch.load(path, map_location='cpu', weights_only=True)['meta']
    except (OSError, RuntimeError, KeyError, TypeError, EOFError,
            pickle.UnpicklingError) as error:
        if osp.exists(path):
            print_log(f'cannot read the pretrained checkpoint {path} '
                      f'({error}); pretraining again', logger='current')
        return None


def ensure_pretrained(pretrain_cfg, path, train):
    """Pretrain ``pretrain_cfg`` into ``path`` unless a checkpoint of the same
    config is already there.

    Args:
        pretrain_cfg (Config): The classification config, seed and work dir
            set.
        path (str): Where the weights are kept.
        train (callable): ``train(cfg) -> dict`` with ``model`` (the trained
            model), ``metric``, ``value`` and ``minutes``: ``run_training``.

    Returns:
        dict: The checkpoint's meta: ``metric``, ``value``, ``minutes``,
        ``seed``, ``digest``, ``config`` and ``dataset_meta`` (the class
        names, as mmengine's checkpoints keep them, so tools that read a
        checkpoint's classes take them from this file too); with ``reused``
        True where it was already there.
    """
    digest = config_digest(pretrain_cfg)
    meta = read_meta(path)
    if meta is not None and meta.get('digest') == digest:
        return dict(meta, reused=True)
    if meta is not None:
        print_log(f'{path} was pretrained with another config; pretraining '
                  'again', logger='current')
    result = train(pretrain_cfg)
    meta = dict(metric=result['metric'], value=result['value'],
                minutes=result['minutes'], seed=run_seed(pretrain_cfg),
                digest=digest, config=pretrain_cfg.filename,
                dataset_meta=result.get('dataset_meta'))
    state = {k: v.detach().cpu().clone()
             for k, v in result['model'].state_dict().items()}
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    partial = f'{path}.partial-{os.getpid()}'  # one per process
    torch.save(dict(state_dict=state, meta=meta), partial)
    os.replace(partial, path)  # a crash leaves the old file or none
    return dict(meta, reused=False)


def use_pretrained(cfg, path):
    """Point the ``Pretrained`` init of ``cfg``'s backbone at ``path``.

    Raises:
        ValueError: If the backbone has no ``Pretrained`` init to point.
    """
    init_cfg = cfg.model.backbone.get('init_cfg')
    if not init_cfg or init_cfg.get('type') != 'Pretrained':
        raise ValueError(
            f'{cfg.filename} names pretrain_config but its backbone has no '
            f"init_cfg=dict(type='Pretrained', ...), got {init_cfg!r}")
    init_cfg.checkpoint = path
    return cfg


def key_metric(cfg):
    """The metric a demo reports: its ``PredictionGridHook``'s."""
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'res2net_mm.PredictionGridHook' and hook.get(
                'metric'):
            return hook['metric']
    raise ValueError(f'{cfg.filename} has no res2net_mm.PredictionGridHook '
                     'naming its metric')


def evaluations(work_dir):
    """The evaluations that ``CurvePlotHook`` recorded in ``work_dir``
    (dicts of metric values and ``iter``), [] where there are none."""
    try:
        with open(osp.join(work_dir, 'curves.json')) as f:
            return json.load(f)['evaluations']
    except (OSError, ValueError, KeyError):
        return []


def backbone_complexity(backbone, size=_FLOPS_SIZE):
    """(parameters in M, GFLOPs as multiply-adds at ``size`` x ``size``) of a
    backbone, counted by mmengine's ``FlopAnalyzer``."""
    from mmengine.analysis import FlopAnalyzer
    was_training = backbone.training
    backbone.eval()
    try:
        analyzer = FlopAnalyzer(backbone, (torch.zeros(1, 3, size, size), ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        flops = analyzer.total() / 1e9
    finally:
        backbone.train(was_training)
    params = sum(p.numel() for p in backbone.parameters()) / 1e6
    return params, flops


def run_training(cfg):
    """Train and evaluate ``cfg`` (a demo config, work dir set).

    Returns:
        dict: ``model`` (the trained model), ``metric`` and ``value`` (its
        key metric at the last evaluation; nan if none ran), ``minutes``
        (training with its evaluations), ``work_dir``, ``dataset_meta``
        (the training set's class names, as the runner's checkpoints keep
        them; None where its metainfo names none, as mmpose's).
    """
    from ..cli import build_runner
    metric = key_metric(cfg)
    runner = build_runner(cfg)
    start = time.monotonic()
    runner.train()
    minutes = (time.monotonic() - start) / 60
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    last = (evaluations(runner.work_dir) or [{}])[-1]
    classes = runner.train_dataloader.dataset.metainfo.get('classes')
    dataset_meta = None if classes is None else dict(classes=list(classes))
    return dict(model=model, metric=metric,
                value=float(last.get(metric, float('nan'))),
                minutes=minutes, work_dir=runner.work_dir,
                dataset_meta=dataset_meta)
