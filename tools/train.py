"""Train a config of configs/ (mmdet, mmseg, mmpose or mmpretrain) with mmengine's Runner.

Examples:
    python tools/train.py configs/faster_rcnn_r2n50_coco.py
    python tools/train.py configs/mask_rcnn_r2n50_coco.py --resume
    python tools/train.py configs/deeplabv3plus_r2n50_voc12aug.py \\
        --cfg-options model.backbone.init_cfg=None   # from scratch
    bash tools/dist_train.sh configs/faster_rcnn_r2n50_coco.py 8
"""
import argparse
import sys

from res2net_mm.checkpoint import BareBackboneError
from res2net_mm.cli import (DatasetNotFoundError, UnusableCheckpointError, add_random_state_hook,
                            add_runner_args, apply_resume, build_runner, check_data_paths,
                            enable_amp, enable_auto_scale_lr, load_config)


def parse_args(argv=None):
    """Parse the command line (``argv``; None: ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Train a detector, segmentor, pose estimator or classifier.')
    parser.add_argument('config', help='config file')
    parser.add_argument('--resume', nargs='?', const='auto', metavar='CHECKPOINT',
                        help='resume from CHECKPOINT, or alone from the latest '
                        'checkpoint of the work_dir (optimizer, schedulers, '
                        'iteration and random generator states included)')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU only)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the real over the base batch size')
    return add_runner_args(parser).parse_args(argv)


def setup_config(args):
    """The config to train: ``args`` applied, random generator states saved
    with every checkpoint (bit-identical resume), its data checked."""
    cfg = load_config(args)
    add_random_state_hook(cfg)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    apply_resume(cfg, args.resume)
    phases = ('train', 'val') if cfg.get('val_cfg') else ('train', )
    check_data_paths(cfg, phases)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = setup_config(args)
    except (DatasetNotFoundError, UnusableCheckpointError) as exc:
        sys.exit(f'error: {exc}')
    try:
        build_runner(cfg).train()
    except BareBackboneError as exc:  # load_from / --resume: a backbone's weights
        sys.exit(f'error: {cfg.load_from}: {exc}')


if __name__ == '__main__':
    main()
