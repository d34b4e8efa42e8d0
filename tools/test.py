"""Test a checkpoint of a config of configs/ and print its metrics: COCO
AP/AR tables (bbox, segm, keypoints), VOC mAP, mIoU, top-1/top-5, or the
saliency F-measure and MAE of each test set (``<set>/saliency/maxF``).

A published classifier file (official, timm, torchvision, PaddleClas
.pdparams: backbone keys at the top level and an ``fc``), or its zoo name
(zoo://<name>), tests as it is in a classification config: its
keys are moved to ``backbone.*`` / ``head.fc.*``, the backbone's layout is
converted, and the whole model loads strictly (a wrong number of classes or
another architecture is a named error).

Examples:
    python tools/test.py configs/faster_rcnn_r2n50_coco.py work_dirs/faster_rcnn_r2n50_coco/epoch_12.pth
    python tools/test.py configs/cls_r2n50_in1k.py res2net50_26w_4s-06e79181.pth
    python tools/test.py configs/cls_r2n50_v1b_in1k.py zoo://res2net50_v1b_26w_4s_ssld \\
        --cfg-options model.backbone.stage_pool=paddle
    python tools/test.py CONFIG CHECKPOINT --show-dir vis --out preds.pkl
    python tools/test.py CONFIG CHECKPOINT --fuse-conv-bn   # deploy: BN folded
    python tools/test.py CONFIG CHECKPOINT --deploy         # deploy: folded + fastest of eager/frozen
    bash tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import argparse
import os.path as osp
import sys

from mmengine.dist import get_rank
from mmengine.model import is_model_wrapper

from res2net_mm.checkpoint import CheckpointError, is_bare_classifier, load_classifier
from res2net_mm.cli import (UnusableCheckpointError, add_dump, add_runner_args, build_runner,
                            check_data_paths, enable_show_dir, format_metrics, load_config,
                            read_tool_checkpoint, request_full_coco)


def parse_args(argv=None):
    """Parse the command line (``argv``; None: ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Test a detector, segmentor, pose estimator or classifier.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', metavar='FILE.pkl',
                        help='also dump the raw predictions to this pickle file')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='draw the predictions into this folder')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='deploy step: fold BatchNorm into the convs before '
                        'testing (slightly faster; the same metrics to float rounding)')
    parser.add_argument('--deploy', action='store_true',
                        help='measured deploy step: each Res2Net backbone folded, channels-last '
                        'and run by its fastest treatment (res2net_mm.deploy), picked on the first '
                        'batch; the same metrics to float rounding')
    return add_runner_args(parser).parse_args(argv)


def setup_config(args):
    """The config to test: ``args`` applied, its data and the checkpoint
    (a local file must be one torch can read) checked; and the checkpoint if
    it is a bare classifier file for ``load_classifier`` (else None: the
    runner loads ``load_from``)."""
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    request_full_coco(cfg)
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir)
    if args.out:
        add_dump(cfg, args.out)
    if args.fuse_conv_bn:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='res2net_mm.FuseConvBNHook')]
    if args.deploy:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='res2net_mm.DeployHook')]
    check_data_paths(cfg, ('test', ))
    # Files and zoo names are read here (a bare classifier loads below);
    # other URLs go to the runner's load_from.
    remote = '://' in args.checkpoint and not args.checkpoint.startswith('zoo://')
    checkpoint = None if remote else read_tool_checkpoint(args.checkpoint)
    if checkpoint is not None and is_bare_classifier(checkpoint):
        cfg.load_from = None
        return cfg, checkpoint
    return cfg, None


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg, classifier = setup_config(args)
    except (FileNotFoundError, UnusableCheckpointError) as exc:  # the checkpoint or the dataset
        sys.exit(f'error: {exc}')
    runner = build_runner(cfg)
    if classifier is not None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        try:
            load_classifier(model, classifier, args.checkpoint)
        except CheckpointError as exc:
            sys.exit(f'error: {exc}')
    try:
        metrics = runner.test()
    except CheckpointError as exc:  # e.g. a bare backbone's weights (BareBackboneError)
        sys.exit(f'error: {args.checkpoint}: {exc}')
    if get_rank() == 0:
        print(format_metrics(metrics, f'Test metrics of {args.checkpoint}'))


if __name__ == '__main__':
    main()
