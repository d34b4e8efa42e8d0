"""Fail early, naming the path, when a config's dataset is not there.

Without this check a missing dataset surfaces minutes into a run, deep in
a dataset's ``__init__`` (or as pycocotools' bare ``FileNotFoundError``).
Paths follow mmengine's ``BaseDataset``: ``ann_file`` and every
``data_prefix`` entry are relative to ``data_root`` unless absolute; an
evaluator's ``ann_file`` and mmpose's ``bbox_file`` are relative to the
current directory. Remote paths (``s3://...``) are not checked, nor are
the datasets mmpretrain downloads on first use (CIFAR, MNIST), nor the
paths under a folder a dataset generates on first use (the synthetic shapes
and the crops, CAM scenes and saliency masks made from them, ``GENERATED``).
"""
import os.path as osp

DATA_DOCS = 'docs/experiments.md#data'
DOWNLOADED = ('CIFAR10', 'CIFAR100', 'MNIST', 'FashionMNIST')  # download=True by default
# dataset types that write their data on first use -> the key path of the folder
GENERATED = {'ShapesDataset': ('dataset', 'data_root'),
             'ShapesSaliencyDataset': ('dataset', 'data_root'),
             'ShapeCropsDataset': ('shapes_root', ),
             'ShapeScenesDataset': ('shapes_root', )}


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


def generated_roots(dataset):
    """The folders the datasets of a dataset config (wrappers included)
    generate on first use, as given in the config."""
    roots = []
    kind = str(dataset.get('type', '')).rsplit('.', 1)[-1]
    if kind in GENERATED:
        root = dataset
        for key in GENERATED[kind]:
            root = root.get(key) if isinstance(root, dict) else None
        roots += [root] if _is_local(root) else []
    for child in dataset.get('datasets') or []:
        roots += generated_roots(child)
    if isinstance(dataset.get('dataset'), dict):
        roots += generated_roots(dataset['dataset'])
    return roots


def _is_under(path, roots):
    path = osp.abspath(path)
    return any(path == root or path.startswith(root.rstrip(osp.sep) + osp.sep)
               for root in map(osp.abspath, roots))


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
    needed, generated = [], []
    for phase in phases:
        loader = cfg.get(f'{phase}_dataloader')
        if not loader:
            continue
        generated += generated_roots(loader['dataset'])
        for key, leaf in leaf_datasets(loader['dataset'], f'{phase}_dataloader.dataset'):
            needed += _dataset_paths(leaf, key)
        if cfg.get(f'{phase}_evaluator'):
            needed += _evaluator_paths(cfg[f'{phase}_evaluator'],
                                       f'{phase}_evaluator')
    return [(key, path) for key, path in needed
            if not osp.exists(path) and not _is_under(path, generated)]


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
            f'described in {DATA_DOCS}, or point the config at it with '
            '--cfg-options (the keys in brackets). The demo configs '
            '(configs/demo/) need no data: they generate theirs.')
