"""Tests of the demo (README, "Demo"): each configs/demo/ config trains a few
iterations on a tiny copy of the shapes data, evaluates with its real metric
and writes the curve plot and the prediction picture; the hooks on their own.
"""
import json
import math
from pathlib import Path

import pytest
from PIL import Image

from res2net_mm.datasets import (KEYPOINT_METAINFO_FILE, SEG_PALETTE,
                                 SHAPE_CLASSES, generate_shapes)
from res2net_mm.demo.protocol import read_meta
from res2net_mm.testing import load_tool

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')
pytest.importorskip('mmpose')
from mmengine.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'demo'
# Config -> the metric its run must report. Tiny data: with seed 3 both
# splits hold stars, which the keypoint demo needs (asserted below).
METRICS = {
    'faster_rcnn_r2n50_shapes.py': 'coco/bbox_mAP',
    'faster_rcnn_r50_shapes.py': 'coco/bbox_mAP',
    'mask_rcnn_r2n50_shapes.py': 'coco/segm_mAP',
    'deeplabv3plus_r2n50_shapes.py': 'mIoU',
    'simplebaseline_r2n50_shapes.py': 'coco/AP',
    'cls_r2n50_shapes.py': 'accuracy/top1',
    'cls_r50_shapes.py': 'accuracy/top1',
    'dss_r2n50_shapes.py': 'saliency/maxF',
    'cam_r2n50_shapes.py': 'multi-label/mAP',
    'cam_r50_shapes.py': 'multi-label/mAP',
}
# Demo configs of a ResNet twin: the same recipe, another backbone.
TWINS = {'cls_r50_shapes.py': 'cls_r2n50_shapes.py',
         'cam_r50_shapes.py': 'cam_r2n50_shapes.py',
         'faster_rcnn_r50_shapes.py': 'faster_rcnn_r2n50_shapes.py'}
# Keys in which a twin may differ from its Res2Net config.
TWIN_KEYS = ('work_dir', 'pretrain_config', 'compare_config')
SHAPES_TYPES = ('res2net_mm.ShapesDataset', 'res2net_mm.ShapesSaliencyDataset',
                'res2net_mm.ShapeCropsDataset', 'res2net_mm.ShapeScenesDataset')
TINY = dict(num_train=6, num_val=3, image_size=96, seed=3)
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# pycocotools' mask decoding warns under numpy 2; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning')


def _retarget(node, root, default_root):
    """Point a config (sub)tree at the tiny data: the data-root prefix of
    every path string and the generator parameters of ShapesDataset."""
    if isinstance(node, dict):
        node = {key: _retarget(value, root, default_root)
                for key, value in node.items()}
        if node.get('type') in SHAPES_TYPES:
            node.update(TINY)
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_retarget(v, root, default_root) for v in node)
    if isinstance(node, str) and node.startswith(default_root):
        return str(root) + '/' + node[len(default_root):]
    return node


def _tiny_config(name, data_root, work_dir):
    """The demo config ``name`` shortened to 2 iterations on the tiny data,
    evaluated once, in the main process, without checkpoints."""
    cfg = Config.fromfile(DEMO / name)
    cfg = Config(_retarget(cfg.to_dict(), data_root, cfg.shapes_root),
                 filename=cfg.filename)
    cfg.merge_from_dict({
        'work_dir': str(work_dir),
        'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 10**6,
        'default_hooks.checkpoint.save_last': False,
    })
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0,
                           persistent_workers=False)
    if cfg.model.get('data_preprocessor', {}).get('size'):
        # The segmentation demo pads nothing (mmseg 1.2.2's class-weighted
        # CrossEntropyLoss fails on padded labels): nor does its tiny copy.
        cfg.model.data_preprocessor.size = (TINY['image_size'], ) * 2
    return cfg


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo') / 'shapes'
    paths = generate_shapes(root, **TINY)
    for split in ('train', 'val'):
        stars = json.loads(Path(paths[f'keypoints_{split}']).read_text())
        assert stars['annotations'], f'no star in the tiny {split} split'
    return root


def _assert_png(path):
    assert path.is_file(), f'{path.name} was not written'
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()


@pytest.mark.parametrize('name', sorted(METRICS))
def test_demo_config_trains_evaluates_and_draws(name, tiny_data, tmp_path,
                                                monkeypatch):
    """The demo's protocol, shortened: the pretraining step (where the
    config names one) on the tiny crops, then the demo model from it."""
    tool = load_tool('demo')
    linked = tool.linked_config

    def tiny_linked(cfg, key):  # the pretraining config, shortened too
        found = linked(cfg, key)
        return found and _tiny_config(Path(found.filename).name, tiny_data,
                                      tmp_path / 'pretrain')

    monkeypatch.setattr(tool, 'linked_config', tiny_linked)
    cfg = _tiny_config(name, tiny_data, tmp_path / 'work')
    outcome = tool.protocol(cfg, directory=str(tmp_path / 'pretrained'))
    lines = outcome['lines']
    if cfg.get('pretrain_config'):
        pretrain = outcome['pretrain']
        assert not pretrain['reused']
        assert Path(pretrain['path']).is_file()
        assert cfg.model.backbone.init_cfg.checkpoint == pretrain['path']
        assert math.isfinite(pretrain['value'])
        # The kept file names the classes in the labels' order (the sorted
        # crop folders), as a runner's checkpoint does: vis_cam reads them.
        meta = read_meta(pretrain['path'])
        folders = sorted(p.name for p in (tiny_data / 'crops' / 'train').iterdir())
        assert set(folders) <= set(SHAPE_CLASSES)
        assert meta['dataset_meta'] == dict(classes=folders)
    else:
        assert outcome['pretrain'] is None
    assert outcome['result']['metric'] == METRICS[name]
    assert 0 < outcome['params'] < 30 and 0 < outcome['gflops'] < 10
    curves = json.loads((tmp_path / 'work' / 'curves.json').read_text())
    (evaluation, ) = curves['evaluations']
    assert evaluation['iter'] == 2
    assert math.isfinite(evaluation[METRICS[name]])
    assert outcome['result']['value'] == evaluation[METRICS[name]]
    assert curves['losses']['iter'] == [1, 2]
    assert all(map(math.isfinite, curves['losses']['loss']))
    for picture in ('curves.png', 'predictions.png'):
        _assert_png(tmp_path / 'work' / picture)
        assert any(str(tmp_path / 'work' / picture) in line
                   for line in lines), f'{picture} not reported'


@pytest.mark.parametrize('name', ['faster_rcnn_r2n50_shapes.py',
                                  'mask_rcnn_r2n50_shapes.py'])
def test_detector_features_are_nchw_for_roi_align(name):
    """mmcv's RoIAlign reads its input as NCHW memory whatever its strides:
    channels-last features give it scrambled RoI features (the detector
    then cannot learn to classify)."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(DEMO / name).model).eval()
    with torch.no_grad():
        features = model.extract_feat(torch.rand(1, 3, 64, 64))
    assert all(f.is_contiguous() for f in features)


def test_shared_config_matches_the_generator():
    """configs/demo/_base_/shapes.py repeats facts of the generator (configs
    cannot import them); they must agree."""
    base = Config.fromfile(DEMO / '_base_' / 'shapes.py')
    assert tuple(base.shapes_classes) == SHAPE_CLASSES
    assert [tuple(c) for c in base.shapes_palette] == list(SEG_PALETTE)
    assert REPO / base.shapes_keypoint_metainfo == Path(
        KEYPOINT_METAINFO_FILE)
    # The saliency demo repeats the data facts (it cannot inherit both bases).
    dss = Config.fromfile(DEMO / 'dss_r2n50_shapes.py')
    assert (dss.shapes_root, dss.shapes_data) == (base.shapes_root, base.shapes_data)
    assert dss.custom_imports == base.custom_imports


def test_curve_history_survives_resume(tmp_path):
    from res2net_mm.demo import CurvePlotHook
    hook = CurvePlotHook()
    hook.losses = dict(iter=[1, 2], loss=[2.0, 1.5])
    hook.evaluations = [dict(iter=2, mAP=0.25)]
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    resumed = CurvePlotHook()
    resumed.after_load_checkpoint(None, checkpoint)
    assert (resumed.losses, resumed.evaluations) == (hook.losses,
                                                     hook.evaluations)


@pytest.mark.parametrize('kwargs', [dict(out_file='grid.jpg'),
                                    dict(num_images=0), dict(cols=1.5)])
def test_prediction_hook_rejects_bad_arguments(kwargs):
    from res2net_mm.demo import PredictionGridHook
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PredictionGridHook(**kwargs)
