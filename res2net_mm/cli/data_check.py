"""Fail early, naming the path, when a config's dataset is not there.

Without this check a missing dataset surfaces minutes into a run, deep in
a dataset's ``__init__`` (or as pycocotools' bare ``FileNotFoundError``).
Paths follow mmengine's ``BaseDataset``: ``ann_file`` and every
``data_prefix`` entry are relative to ``data_root`` unless absolute; an
evaluator's ``ann_file`` and mmpose's ``bbox_file`` are relative to the
current directory. Remote paths (``s3://...``) are not checked, nor are
the datasets mmpretrain downloads on first use (CIFAR, MNIST).
"""
import os.path as osp

README = 'configs/README.md (section "Data")'
DOWNLOADED = ('CIFAR10', 'CIFAR100', 'MNIST', 'FashionMNIST')  # download=True by default


class DatasetNotFoundError(FileNotFoundError):
    """A path a config's dataset or evaluator needs does not exist."""


def leaf_datasets(dataset, key='dataset'):
    """(config key, config) of the datasets under the wrappers of
    ``dataset`` (Repeat/ClassBalanced: ``dataset``; Concat: ``datasets``),
    depth first; the keys work with --cfg-options."""
    if 'datasets' in dataset:
        return [leaf for i, d in enumerate(dataset['datasets'])
                for leaf in leaf_datasets(d, f'{key}.datasets.{i}')]
    if isinstance(dataset.get('dataset'), dict):
        return leaf_datasets(dataset['dataset'], f'{key}.dataset')
    return [(key, dataset)]


def _is_local(path):
    return isinstance(path, str) and path != '' and '://' not in path


def _join(root, path):
    """``path`` as the dataset reads it; None if that is not a local path."""
    if not _is_local(path):
        return None
    if not root or osp.isabs(path):
        return path
    return osp.join(root, path) if _is_local(root) else None


def _dataset_paths(dataset, where):
    """(config key, path) pairs one dataset config reads; the files under a
    missing data_root are left out: the root is the one to report."""
    root = dataset.get('data_root')
    if dataset.get('type') in DOWNLOADED and dataset.get('download', True):
        return []
    paths = [(f'{where}.bbox_file', dataset.get('bbox_file'))]
    if _is_local(root) and not osp.isdir(root):
        paths.append((f'{where}.data_root', root))
    else:
        paths.append((f'{where}.ann_file', _join(root, dataset.get('ann_file'))))
        prefixes = dataset.get('data_prefix') or {}
        if isinstance(prefixes, str):  # mmpretrain: one folder
            paths.append((f'{where}.data_prefix', _join(root, prefixes)))
            prefixes = {}
        paths += [(f'{where}.data_prefix.{key}', _join(root, value))
                  for key, value in prefixes.items()]
    return [(key, path) for key, path in paths if _is_local(path)]


def _evaluator_paths(evaluator, where):
    evaluators = evaluator if isinstance(evaluator, list) else [evaluator]
    return [(f'{where}.ann_file', e.get('ann_file')) for e in evaluators
            if isinstance(e, dict) and _is_local(e.get('ann_file'))]


def missing_data_paths(cfg, phases):
    """(config key, path) of every missing input of the given phases.

    Args:
        cfg (mmengine.Config): The config.
        phases (Sequence[str]): Any of 'train', 'val', 'test'.
    """
    needed = []
    for phase in phases:
        loader = cfg.get(f'{phase}_dataloader')
        if not loader:
            continue
        for key, leaf in leaf_datasets(loader['dataset'], f'{phase}_dataloader.dataset'):
            needed += _dataset_paths(leaf, key)
        if cfg.get(f'{phase}_evaluator'):
            needed += _evaluator_paths(cfg[f'{phase}_evaluator'],
                                       f'{phase}_evaluator')
    return [(key, path) for key, path in needed if not osp.exists(path)]


def check_data_paths(cfg, phases):
    """Raise ``DatasetNotFoundError`` listing every missing input of the
    given phases (see ``missing_data_paths``)."""
    keys_of = {}
    for key, path in missing_data_paths(cfg, phases):
        keys_of.setdefault(path, []).append(key)
    if keys_of:
        lines = ''.join(f'\n  {path}  ({", ".join(keys)})'
                        for path, keys in keys_of.items())
        raise DatasetNotFoundError(
            f'dataset not found, missing:{lines}\nPrepare the data as '
            f'described in {README}, or point the config at it with '
            '--cfg-options (the keys in brackets).')
