"""Train one demo config on the synthetic shapes, evaluate it on the val
split, and print the metric curve and where the pictures are.

    python tools/demo.py configs/demo/faster_rcnn_r2n50_shapes.py
    python tools/demo.py CONFIG --work-dir DIR \
        --cfg-options train_cfg.max_iters=20

The data is generated into the config's ``data_root`` on first use; the
config's hooks write ``curves.png`` / ``curves.json`` (losses and metrics
against the iteration) and ``predictions.png`` into the work dir. Every run
trains from scratch (a re-run retrains; the data is kept). Run it from the
repository root: data and work dirs are relative to it.
"""
import argparse
import json
import os.path as osp
import time

from mmengine.config import Config, DictAction

from res2net_mm.cli import build_runner


def parse_args(argv=None):
    """Command-line arguments.

    Args:
        argv (list[str] | None): Arguments; None reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a config of configs/demo/')
    parser.add_argument('--work-dir', help='default: the config\'s work_dir, '
                        'else work_dirs/<config name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='key=value overrides of the config')
    return parser.parse_args(argv)


def build_config(args):
    """The config of ``args`` with its overrides and work dir applied."""
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('work_dirs', name)
    return cfg


def summary(work_dir, seconds):
    """Lines that report the run: metrics per evaluation and output files.

    Args:
        work_dir (str): The run's work dir.
        seconds (float): Wall time of training with its evaluations.
    """
    lines = [f'training + evaluation took {seconds / 60:.1f} min']
    curves = osp.join(work_dir, 'curves.json')
    if osp.isfile(curves):
        with open(curves) as f:
            evaluations = json.load(f)['evaluations']
        for point in evaluations:
            values = ', '.join(f'{name} {value:.3f}'
                               for name, value in point.items()
                               if name != 'iter')
            lines.append(f'  iteration {point["iter"]:>5}: {values}')
    for name in ('curves.png', 'predictions.png'):
        path = osp.join(work_dir, name)
        if osp.isfile(path):
            lines.append(f'{name[:-4]:>11}: {osp.abspath(path)}')
    return lines


def run(cfg):
    """Train and evaluate ``cfg``; print the summary and return its lines.

    Args:
        cfg (Config): A demo config with its work dir set.
    """
    runner = build_runner(cfg)
    start = time.monotonic()
    runner.train()
    lines = summary(runner.work_dir, time.monotonic() - start)
    print('\n'.join(lines), flush=True)
    return lines


def main(argv=None):
    """Command-line entry point.

    Args:
        argv (list[str] | None): Arguments; None reads ``sys.argv``.
    """
    run(build_config(parse_args(argv)))


if __name__ == '__main__':
    main()
