"""Shrink a paper config into a seconds-long CPU run on the synthetic shapes.

The configs of ``configs/`` train for a day on COCO or VOC. ``smoke_config``
keeps what they build (model, losses, pipelines, evaluators, hooks) and
changes only what a quick check must: the data (``res2net_mm.datasets.
synthetic``), the class/keypoint counts that follow from it, the input size
and the schedule. The tests run every config through it; it also checks an
installation::

    from mmengine import Config
    from res2net_mm.datasets import generate_shapes
    from res2net_mm.cli import build_runner
    from res2net_mm.testing import smoke_config
    cfg = Config.fromfile('configs/faster_rcnn_r2n50_coco.py')
    smoke_config(cfg, generate_shapes('data/shapes', 4, 4, 128), 'work_dirs/smoke')
    build_runner(cfg).train()
"""
from ..datasets import (KEYPOINT_METAINFO_FILE, KEYPOINT_NAMES, SHAPE_CLASSES,
                        generate_shape_crops)
from ..datasets.shapes_saliency import make_shapes_saliency
from ..cli.data_check import leaf_datasets

LOADER_SPLITS = dict(train_dataloader='train', val_dataloader='val',
                     test_dataloader='val')


def _coco_detection(leaf, split, shapes, voc_root):
    leaf.update(data_root=shapes['root'], ann_file=shapes[f'instances_{split}'],
                data_prefix=dict(img=shapes[f'images_{split}'] + '/'),
                metainfo=dict(classes=SHAPE_CLASSES))


def _voc_detection(leaf, split, shapes, voc_root):
    if voc_root is None:
        raise ValueError('a VOC detection config needs voc_root: a VOCdevkit '
                         'folder made from the shapes data')
    leaf.update(data_root=voc_root, metainfo=dict(classes=SHAPE_CLASSES))


def _segmentation(leaf, split, shapes, voc_root):
    # Labels 0..5 of the shapes are valid VOC labels: the 21 classes stay.
    leaf.update(data_root=shapes['root'], ann_file=shapes[f'split_{split}'],
                data_prefix=dict(img_path=shapes[f'images_{split}'],
                                 seg_map_path=shapes[f'segmentation_{split}']))


def _keypoints(leaf, split, shapes, voc_root):
    # Ground-truth boxes instead of a person detector's (bbox_file).
    leaf.update(data_root=shapes['root'], ann_file=shapes[f'keypoints_{split}'],
                data_prefix=dict(img=shapes[f'images_{split}'] + '/'),
                bbox_file=None, metainfo=dict(from_file=KEYPOINT_METAINFO_FILE))


def _classification(leaf, split, shapes, voc_root):
    # ImageNet / CIFAR-100 become the per-object crops in the ImageNet folder
    # layout, read by mmpretrain's CustomDataset.
    crops = generate_shape_crops(shapes)
    for key in ('split', 'ann_file', 'test_mode'):
        leaf.pop(key, None)
    leaf.update(type='CustomDataset', data_root=crops['root'], data_prefix=split,
                with_label=True)  # labels: the sorted class folders
    if leaf.pipeline[0]['type'] != 'LoadImageFromFile':  # CIFAR's come decoded
        leaf.pipeline.insert(0, dict(type='LoadImageFromFile'))


def _saliency(leaf, split, shapes, voc_root):
    # The largest shape of each image is salient (datasets/shapes_saliency.py).
    masks = make_shapes_saliency(shapes)
    leaf.update(data_root=shapes['root'], ann_file=shapes[f'split_{split}'],
                data_prefix=dict(img_path=shapes[f'images_{split}'],
                                 seg_map_path=masks[f'saliency_{split}']))


RETARGET = {('mmdet', 'CocoDataset'): _coco_detection,
            ('mmdet', 'VOCDataset'): _voc_detection,
            ('mmseg', 'PascalVOCDataset'): _segmentation,
            ('mmpose', 'CocoDataset'): _keypoints,
            ('mmpretrain', 'ImageNet'): _classification,
            ('mmpretrain', 'CIFAR100'): _classification,
            ('mmseg', 'res2net_mm.SaliencyDataset'): _saliency}


def _retarget_model(cfg, scope):
    """Class and keypoint counts of the shapes data."""
    if scope == 'mmdet':
        for head in ('bbox_head', 'mask_head'):
            if head in cfg.model.get('roi_head', {}):
                cfg.model.roi_head[head].num_classes = len(SHAPE_CLASSES)
    elif scope == 'mmpose':
        cfg.model.head.out_channels = len(KEYPOINT_NAMES)
    elif scope == 'mmpretrain':
        cfg.model.head.num_classes = len(SHAPE_CLASSES)
        cfg.data_preprocessor.num_classes = len(SHAPE_CLASSES)  # the Runner's


def _retarget_evaluators(cfg, shapes):
    kind = 'keypoints' if cfg.default_scope == 'mmpose' else 'instances'
    for name in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg[name] if isinstance(cfg[name], list) else [cfg[name]]
        for evaluator in evaluators:
            if evaluator.get('ann_file'):
                evaluator.ann_file = shapes[f'{kind}_val']


def shrink_pipeline(pipeline, image_size):
    """Scale every resize/crop/pad size so that the short side becomes
    ``image_size`` (aspect ratios kept); top-down crops stay as they are.
    Square sizes given as one int (classification) larger than
    ``image_size`` scale by ``image_size / 224`` (ImageNet's crop)."""
    for transform in pipeline:
        for key in ('scale', 'crop_size', 'size'):
            value = transform.get(key)
            if isinstance(value, (tuple, list)) and len(value) == 2:
                factor = image_size / min(value)
                transform[key] = tuple(round(v * factor) for v in value)
            elif isinstance(value, int) and value > image_size:
                transform[key] = round(value * image_size / 224)


def _shrink_schedule(cfg, max_iters, val_interval, checkpoint_interval):
    # The loop validates at its last iteration unless val_begin is later.
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=val_interval or max_iters,
                         val_begin=1 if val_interval else max_iters + 1)
    cfg.log_processor = dict(type='LogProcessor', window_size=1, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=checkpoint_interval,
        save_last=checkpoint_interval > 0)


def smoke_config(cfg, shapes, work_dir, voc_root=None, image_size=128,
                 max_iters=1, val_interval=0, checkpoint_interval=-1,
                 batch_size=None):
    """Point ``cfg`` at the shapes data and shrink it, in place.

    Args:
        cfg (mmengine.Config): A config of ``configs/`` (mmdet COCO/VOC,
            mmseg VOC, mmseg saliency: the largest shape is salient, mmpose
            COCO, mmpretrain ImageNet/CIFAR-100).
        shapes (dict): Paths returned by ``generate_shapes``.
        work_dir (str): The runner's work_dir.
        voc_root (str | None): A VOCdevkit made of the shapes (VOC
            detection configs only; their ann_file/data_prefix stay).
        image_size (int): Short side of resized/cropped inputs. Default: 128.
        max_iters (int): Training iterations. Default: 1.
        val_interval (int): Validate every this many iterations (0: never).
        checkpoint_interval (int): Save every this many iterations and at
            the end (-1: never). Default: -1.
        batch_size (int | None): Training batch size (None: 2 for mmseg,
            whose ASPP pools to 1x1 before a BN, else 1).
    """
    scope = cfg.default_scope
    for loader, split in LOADER_SPLITS.items():
        cfg[loader].update(num_workers=0, persistent_workers=False)
        for _, leaf in leaf_datasets(cfg[loader].dataset):
            key = (scope, leaf.type)
            if key not in RETARGET:
                raise ValueError(f'no shapes retargeting for {key}; known: '
                                 f'{sorted(RETARGET)}')
            RETARGET[key](leaf, split, shapes, voc_root)
            shrink_pipeline(leaf.pipeline, image_size)
    if batch_size is None:
        batch_size = 2 if scope == 'mmseg' else 1
    cfg.train_dataloader.batch_size = batch_size
    if scope == 'mmseg' and 'size' in cfg.model.data_preprocessor:  # pads to the crop size
        cfg.model.data_preprocessor.size = (image_size, image_size)
    _retarget_model(cfg, scope)
    _retarget_evaluators(cfg, shapes)
    _shrink_schedule(cfg, max_iters, val_interval, checkpoint_interval)
    cfg.work_dir = str(work_dir)
    return cfg
