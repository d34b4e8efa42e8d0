"""Whole models at real input sizes: each Res2Net config of configs/ against
its ResNet-50 twin (the same config but the backbone), side by side.

The models are built from the configs with random weights (no checkpoint
needed) and measured in one process, interleaved run by run:

* detection: Faster R-CNN R2-50-FPN vs R-50-FPN and mmdet's own Res2Net
  (v1b) in the same detector. Inference over a stream of COCO-like images
  as the test pipeline makes them (keep-ratio resize into 1333x800, padded
  to 32: almost every image a new shape), next to the same image repeated
  (shape seen before); a training step at batch 2 (SGD, 1333x800);
* segmentation: DeepLabv3+ (output stride 16) at 512x512, batch 1
  inference and a batch-2 training step;
* pose: SimpleBaseline at 256x192, batch 1 inference and a batch-32
  training step.

Every number is a median; ratios are to the ResNet-50 model.

Usage:
    python tools/benchmark_models.py                 # all tasks
    python tools/benchmark_models.py --tasks det --images 12 --rounds 3
"""
import argparse
import statistics
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData

import res2net_mm  # noqa: F401  (registers the backbone)

MMDET_RES2NET = dict(_delete_=True, type='mmdet.Res2Net', depth=50, scales=4, base_width=26,
                     out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True,
                     norm_cfg=dict(type='BN', requires_grad=True), style='pytorch')
TASKS = {
    'det': ('configs/faster_rcnn_r50_coco.py', 'configs/faster_rcnn_r2n50_coco.py'),
    'seg': ('configs/deeplabv3plus_r50_voc12aug.py', 'configs/deeplabv3plus_r2n50_voc12aug.py'),
    'pose': ('configs/simplebaseline_r50_coco.py', 'configs/simplebaseline_r2n50_coco.py'),
}


def build(path, backbone=None):
    """The model of config ``path`` (backbone replaced by ``backbone`` if
    given), random weights, on the CPU."""
    cfg = Config.fromfile(path)
    if backbone is not None:
        cfg.merge_from_dict(dict(model=dict(backbone=backbone)))
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.pop('pretrained', None)
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    return MODELS.build(cfg.model)


def coco_like_sizes(count, seed=0):
    """Image sizes (h, w) after mmdet's test resize: COCO photos are mostly
    640 px on the long side, aspect ratios ~0.5-2; scaled to fit 1333x800."""
    rng = np.random.default_rng(seed)
    sizes = []
    for _ in range(count):
        long_side, ratio = 640, rng.uniform(0.5, 1.0)
        h, w = (int(long_side * ratio), long_side) if rng.random() < 0.7 else (long_side, int(long_side * ratio))
        scale = min(1333 / max(h, w), 800 / min(h, w))
        sizes.append((round(h * scale), round(w * scale)))
    return sizes


def det_batch(model, sizes, train=False):
    """What the data pipeline + preprocessor give mmdet's models."""
    from mmdet.structures import DetDataSample
    samples, images = [], []
    for h, w in sizes:
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        if train:
            boxes = torch.tensor([[w * 0.1, h * 0.2, w * 0.5, h * 0.7], [w * 0.4, h * 0.1, w * 0.9, h * 0.5]])
            sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 5]))
        samples.append(sample)
        images.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), train)


def seg_batch(model, batch, size, train=False):
    from mmseg.structures import SegDataSample
    samples, images = [], []
    for _ in range(batch):
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 21, (1, *size)))
        samples.append(sample)
        images.append(torch.randint(0, 256, (3, *size), dtype=torch.uint8))
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), train)


def pose_batch(model, batch, train=False):
    from mmpose.structures import PoseDataSample
    samples, images = [], []
    for _ in range(batch):
        sample = PoseDataSample(metainfo=dict(
            input_size=(192, 256), input_center=np.array([96.0, 128.0]),
            input_scale=np.array([192.0, 256.0]), flip_indices=list(range(17)),
            img_shape=(256, 192), ori_shape=(256, 192)))
        sample.gt_instances = InstanceData(bboxes=np.array([[0, 0, 192, 256]], dtype=np.float32),
                                           bbox_scores=np.ones(1, dtype=np.float32))
        sample.gt_fields = PixelData(heatmaps=torch.rand(17, 64, 48))
        sample.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
        samples.append(sample)
        images.append(torch.randint(0, 256, (3, 256, 192), dtype=torch.uint8))
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), train)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def predict_step(model, data):
    def step():
        model.eval()
        with torch.no_grad():
            model(**data, mode='predict')
    return step


def train_step(model, data):
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step():
        model.train()
        optim.zero_grad(set_to_none=True)
        losses = model(**data, mode='loss')
        sum(v.sum() for k, v in losses.items() if 'loss' in k and torch.is_tensor(v)).backward()
        optim.step()
    return step


def interleaved(steps, rounds):
    """Median seconds per step; each round runs every model once, in turn."""
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(timed(step))
    return {name: statistics.median(t) for name, t in times.items()}


def print_table(title, values, reference):
    print(f'\n### {title}\n')
    print('| model | ms | vs ResNet-50 |')
    print('|---|---|---|')
    for name, value in values.items():
        print(f'| {name} | {value * 1e3:.0f} | {value / values[reference]:.2f}x |')


def detection(args):
    r50, ours = TASKS['det']
    models = {'ResNet-50': build(r50), 'ours Res2Net-50': build(ours),
              'mmdet Res2Net-50': build(r50, MMDET_RES2NET)}
    sizes = coco_like_sizes(args.images)
    stream = {name: [] for name in models}
    repeated = {name: [] for name in models}
    for size in sizes:  # every model sees each new shape once, then again
        for name, model in models.items():
            data = det_batch(model, [size])
            stream[name].append(timed(predict_step(model, data)))
            repeated[name].append(timed(predict_step(model, data)))
    print(f'\nimage sizes (h, w) after resize: {sizes}')
    print_table(f'Faster R-CNN inference, stream of {len(sizes)} COCO-like shapes, per image',
                {n: statistics.median(t) for n, t in stream.items()}, 'ResNet-50')
    print_table('Faster R-CNN inference, the same image again (shape seen), per image',
                {n: statistics.median(t) for n, t in repeated.items()}, 'ResNet-50')
    for name in models:
        print(f'{name}: new shape / seen shape {statistics.median(stream[name]) / statistics.median(repeated[name]):.3f}')
    steps = {n: train_step(m, det_batch(m, [(800, 1216), (800, 1067)], train=True))
             for n, m in models.items()}
    print_table('Faster R-CNN training step, batch 2', interleaved(steps, args.rounds), 'ResNet-50')


def segmentation(args):
    r50, ours = TASKS['seg']
    models = {'ResNet-50': build(r50), 'ours Res2Net-50': build(ours)}
    size = (512, 512)
    steps = {n: predict_step(m, seg_batch(m, 1, size)) for n, m in models.items()}
    print_table('DeepLabv3+ (OS 16) inference, 512x512, batch 1',
                interleaved(steps, args.rounds), 'ResNet-50')
    steps = {n: train_step(m, seg_batch(m, 2, size, train=True)) for n, m in models.items()}
    print_table('DeepLabv3+ training step, batch 2', interleaved(steps, args.rounds), 'ResNet-50')


def pose(args):
    r50, ours = TASKS['pose']
    models = {'ResNet-50': build(r50), 'ours Res2Net-50': build(ours)}
    steps = {n: predict_step(m, pose_batch(m, 1)) for n, m in models.items()}
    print_table('SimpleBaseline inference (flip test), 256x192, batch 1',
                interleaved(steps, args.rounds), 'ResNet-50')
    steps = {n: train_step(m, pose_batch(m, 32, train=True)) for n, m in models.items()}
    print_table('SimpleBaseline training step, batch 32', interleaved(steps, args.rounds), 'ResNet-50')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', default=list(TASKS), choices=list(TASKS))
    parser.add_argument('--images', type=int, default=12, help='detection stream length')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'CPU, torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'{args.rounds} interleaved rounds, medians')
    for task in args.tasks:
        dict(det=detection, seg=segmentation, pose=pose)[task](args)


if __name__ == '__main__':
    main()
