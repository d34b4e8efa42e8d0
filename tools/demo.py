"""Run a demo on the synthetic shapes: pretrain its backbone (once), train
the demo model from it, evaluate on the val split, and print the numbers and
where the pictures are.

    python tools/demo.py                                  # the main job
    python tools/demo.py configs/demo/faster_rcnn_r2n50_shapes.py --seed 0 1 2
    python tools/demo.py --compare --seed 0 1 2           # vs the ResNet-50 twin
    python tools/demo.py CONFIG --work-dir DIR \
        --cfg-options train_cfg.max_iters=20

A demo config that names ``pretrain_config`` (res2net_mm/demo/protocol.py)
first gets that classification config trained on the shape crops and its
weights kept in work_dirs/pretrained/ (a re-run reuses them), then loads
them through its backbone's ``Pretrained`` init. The data is generated into
the config's ``data_root`` on first use; the config's hooks write
``curves.png`` / ``curves.json`` and ``predictions.png`` into the work dir.
Run it from the repository root: data and work dirs are relative to it.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from res2net_mm.demo.protocol import (PRETRAINED_DIR, backbone_complexity,
                                      ensure_pretrained, evaluations,
                                      linked_config, pretrained_file,
                                      run_seed, run_training, set_seed,
                                      use_pretrained)

MAIN_JOB = 'configs/demo/faster_rcnn_r2n50_shapes.py'


def parse_args(argv=None):
    """Command-line arguments.

    Args:
        argv (list[str] | None): Arguments; None reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=MAIN_JOB,
                        help=f'a config of configs/demo/ (default: {MAIN_JOB})')
    parser.add_argument('--seed', type=int, nargs='+', metavar='N',
                        help='run once per seed (pretraining too), each into '
                        '<work dir>/seed<N>; default: the config\'s seed')
    parser.add_argument('--compare', action='store_true',
                        help='also run the config\'s ResNet-50 twin '
                        '(compare_config) and print both side by side')
    parser.add_argument('--work-dir', help='default: the config\'s work_dir, '
                        'else work_dirs/<config name>; with --compare, each '
                        'config runs into <work dir>/<config name>, and the '
                        'table is written there')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='key=value overrides of the config')
    args = parser.parse_args(argv)
    for seed in args.seed or ():
        if seed < 0:
            parser.error(f'--seed must be >= 0, got {seed}')
    return args


def build_config(args, config=None, seed=None):
    """The config of ``args`` (or ``config``) with its overrides, seed and
    work dir applied: ``--work-dir`` (``<work dir>/<config name>`` with
    ``--compare``, so that the twin does not run into its own config's
    work dir); a given seed runs into ``<work dir>/seed<N>``."""
    cfg = Config.fromfile(config or args.config)
    cfg.merge_from_dict(args.cfg_options)
    name = osp.splitext(osp.basename(cfg.filename))[0]
    if args.work_dir:
        cfg.work_dir = osp.join(args.work_dir, name) if args.compare else args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', name)
    return set_seed(cfg, seed)


def summary(work_dir, seconds):
    """Lines that report the run: metrics per evaluation and output files.

    Args:
        work_dir (str): The run's work dir.
        seconds (float): Wall time of training with its evaluations.
    """
    lines = [f'training + evaluation took {seconds / 60:.1f} min']
    for point in evaluations(work_dir):
        values = ', '.join(f'{name} {value:.3f}'
                           for name, value in point.items() if name != 'iter')
        lines.append(f'  iteration {point["iter"]:>5}: {values}')
    for name in ('curves.png', 'predictions.png'):
        path = osp.join(work_dir, name)
        if osp.isfile(path):
            lines.append(f'{name[:-4]:>11}: {osp.abspath(path)}')
    return lines


def _print(lines):
    print('\n'.join(lines), flush=True)
    return lines


def run(cfg):
    """Train and evaluate ``cfg`` (no pretraining step); print the summary.

    Returns:
        list[str]: The printed lines.
    """
    result = run_training(cfg)
    return _print(summary(result['work_dir'], result['minutes'] * 60))


def pretrain_step(cfg, seed=None, directory=PRETRAINED_DIR):
    """Pretrain the backbone of ``cfg`` (once; see the module docstring) and
    point ``cfg``'s ``Pretrained`` init at the weights.

    Returns:
        dict | None: The pretrained checkpoint's meta with ``path`` and
        ``reused``; None if ``cfg`` names no ``pretrain_config``.
    """
    pre = linked_config(cfg, 'pretrain_config')
    if pre is None:
        return None
    set_seed(pre, seed)
    path = pretrained_file(pre, directory)
    info = ensure_pretrained(pre, path, run_training)
    use_pretrained(cfg, path)
    how = ('reused; delete it to pretrain again' if info['reused'] else
           f'{info["minutes"]:.1f} min')
    _print([f'pretraining ({osp.basename(pre.filename)}, seed '
             f'{run_seed(pre)}): {info["metric"]} {info["value"]:.2f} '
             f'({how})', f'pretrained backbone: {osp.abspath(path)}'])
    return dict(info, path=path)


def protocol(cfg, seed=None, directory=PRETRAINED_DIR):
    """Pretrain (once) and train + evaluate ``cfg``; print both steps.

    Returns:
        dict: ``pretrain`` (the pretraining meta, or None), ``result``
        (``run_training``'s, without the model), ``params`` / ``gflops``
        (the backbone's, at 224 x 224), ``lines``.
    """
    pretrain = pretrain_step(cfg, seed, directory)
    result = run_training(cfg)
    params, gflops = backbone_complexity(result.pop('model').backbone)
    lines = _print(summary(result['work_dir'], result['minutes'] * 60))
    if pretrain is not None:
        total = result['minutes'] + (0 if pretrain['reused'] else
                                     pretrain['minutes'])
        lines += _print([f'pretraining + training + evaluation: '
                         f'{total:.1f} min'])
    return dict(pretrain=pretrain, result=result, params=params,
                gflops=gflops, lines=lines)


def compare_table(rows):
    """A Markdown table of ``protocol`` outcomes, one row per (config, seed),
    then the mean per config."""
    head = ('| backbone | seed | pretraining top-1 | metric | value | '
            'pretraining min | training min | params (M) | GFLOPs (224) |')
    lines = [head, '|' + '---|' * 9]
    by_config = {}
    for row in rows:
        by_config.setdefault(row['name'], []).append(row)
        lines.append(_row(row['name'], row['seed'], _numbers(row), row))
    for name, group in by_config.items():
        if len(group) > 1:
            mean = {key: sum(_numbers(r)[key] for r in group) / len(group)
                    for key in _numbers(group[0])}
            lines.append(_row(name, 'mean', mean, group[0]))
    return lines


def _numbers(row):
    """The per-run numbers of a table row: those a mean is taken of."""
    pre = row['pretrain'] or {}
    return dict(top1=pre.get('value', float('nan')),
                value=row['result']['value'],
                pre_min=pre.get('minutes', float('nan')),
                min=row['result']['minutes'])


def _row(name, seed, n, row):
    """A table line: ``n`` as ``_numbers`` gives, the rest from ``row``."""
    return (f'| {name} | {seed} | {n["top1"]:.1f} | {row["result"]["metric"]}'
            f' | {n["value"]:.3f} | {n["pre_min"]:.1f} | {n["min"]:.1f} | '
            f'{row["params"]:.1f} | {row["gflops"]:.2f} |')


def main(argv=None):
    """Command-line entry point.

    Args:
        argv (list[str] | None): Arguments; None reads ``sys.argv``.
    """
    args = parse_args(argv)
    configs = [args.config]
    if args.compare:
        twin = Config.fromfile(args.config).get('compare_config')
        if not twin:
            raise SystemExit(f'{args.config} names no compare_config to '
                             'compare with')
        configs.append(osp.normpath(osp.join(osp.dirname(args.config), twin)))
    # The table is rewritten after every run: a later run's failure keeps
    # the rows of those before it.
    seeds = args.seed or [None]
    out = table_path(configs, args.work_dir) if len(seeds) * len(configs) > 1 else None
    rows = []
    for seed in seeds:
        for config in configs:
            cfg = build_config(args, None if config == args.config else
                               config, seed)
            outcome = protocol(cfg, seed)
            rows.append(dict(outcome, seed=run_seed(cfg),
                             name=osp.splitext(osp.basename(config))[0]))
            if out:
                table = write_table(rows, out)
    if out:
        _print([''] + table + [f'table: {osp.abspath(out)}'])


def table_path(configs, work_dir=None):
    """Where ``main`` writes the table of runs of ``configs``:
    ``<work_dir or work_dirs>/demo_<name>[_vs_<name>].md``."""
    return osp.join(work_dir or 'work_dirs', 'demo_' + '_vs_'.join(
        osp.splitext(osp.basename(c))[0] for c in configs) + '.md')


def write_table(rows, path):
    """Write ``compare_table(rows)`` to ``path`` (replaced whole) and
    return its lines."""
    table = compare_table(rows)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(table) + '\n')
    return table


if __name__ == '__main__':
    main()
