"""The paper's downstream configs (configs/*.py): what each declares, and that
each builds its full model, trains one iteration and evaluates on CPU.

Tiny data: the synthetic shapes (tests/conftest.py), 4 train and 2 val
images of 128 px. ``res2net_mm.testing.smoke_config`` points a config at it
(COCO json for mmdet/mmpose, label maps for mmseg, the largest shape's mask for
the saliency configs, and for the VOC detection
configs a VOCdevkit converted from the COCO json below), with the classes and
keypoints of the shapes (5 classes; the 5 keypoints of the star via its mmpose
metainfo file), inputs resized to a 128 px short side and one iteration. The
COCO-17 keypoint path (COCO metainfo untouched) also runs on the real COCO
sample in /work/shared/data/coco_sample when it is there. Every config trains
and evaluates in the default suite.
"""
import json
import math
import os
import pickle
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest
from mmengine.config import Config

from res2net_mm.cli import COCO_ITEMS, add_dump, build_runner, enable_show_dir, request_full_coco
from res2net_mm.testing import smoke_config
from res2net_mm.checkpoint import zoo_names_of
from res2net_mm.variants import ARCHS

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs').glob('*.py'))
NAMES = [path.stem for path in CONFIGS]
SCOPES = dict(faster_rcnn='mmdet', mask_rcnn='mmdet', deeplabv3plus='mmseg',
              simplebaseline='mmpose', cls='mmpretrain',
              dss='mmseg')
MAIN = ('faster_rcnn_r2n50_coco', 'faster_rcnn_r2n50_voc', 'mask_rcnn_r2n50_coco',
        'deeplabv3plus_r2n50_voc12aug', 'simplebaseline_r2n50_coco')
COCO_SAMPLE = Path(os.environ.get('RES2NET_MM_COCO_SAMPLE',
                                  REPO.parent / 'shared' / 'data' / 'coco_sample'))
POSE_KEYS = ('coco/AP', 'coco/AP .5', 'coco/AP .75', 'coco/AP (M)', 'coco/AP (L)',
             'coco/AR', 'coco/AR (M)', 'coco/AR (L)')


def _load(name):
    return Config.fromfile(REPO / 'configs' / f'{name}.py')


def _evaluators(cfg):
    evaluator = cfg.test_evaluator
    return evaluator if isinstance(evaluator, list) else [evaluator]


def expected_metrics(cfg):
    """Keys the test evaluators must return (after ``request_full_coco``)."""
    keys = []
    for evaluator in _evaluators(cfg):
        kind = (cfg.default_scope, evaluator['type'])
        if kind == ('mmdet', 'CocoMetric'):
            tasks = evaluator['metric']
            tasks = [tasks] if isinstance(tasks, str) else tasks
            keys += [f'coco/{task}_{item}' for task in tasks for item in COCO_ITEMS]
        elif kind == ('mmdet', 'VOCMetric'):
            keys.append('pascal_voc/mAP')
        elif kind == ('mmseg', 'IoUMetric'):
            keys.append('mIoU')
        elif kind == ('mmpose', 'CocoMetric'):
            keys += POSE_KEYS
        elif kind == ('mmpretrain', 'Accuracy'):
            keys += [f'accuracy/top{k}' for k in evaluator['topk']]
        elif kind == ('mmseg', 'res2net_mm.PerDatasetEvaluator'):  # each test set apart
            names = cfg.test_dataloader.dataset.names
            assert [m['type'] for m in evaluator['metrics']] == ['res2net_mm.SaliencyMetric']
            keys += [f'{n}/saliency/{k}' for n in names for k in ('MAE', 'maxF', 'adpF')]
    return keys


def _voc_xml(image, anns, names):
    """VOC annotation of one image: 1-based corners, as VOC writes them."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'filename').text = image['file_name']
    size = ET.SubElement(root, 'size')
    for key, value in (('width', image['width']), ('height', image['height']), ('depth', 3)):
        ET.SubElement(size, key).text = str(value)
    for ann in anns:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = names[ann['category_id']]
        ET.SubElement(obj, 'difficult').text = '0'
        box = ET.SubElement(obj, 'bndbox')
        x, y, w, h = ann['bbox']
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), (x, y, x + w, y + h)):
            ET.SubElement(box, key).text = str(round(value) + 1)
    return ET.tostring(root, encoding='unicode')


def make_vocdevkit(shapes, root):
    """A VOCdevkit of the shapes for VOC07+12 trainval -> VOC07 test:
    VOC2007 trainval/test are the train/val splits, VOC2012 trainval is the
    train split again. Images are symlinks."""
    layout = dict(VOC2007=dict(trainval='train', test='val'), VOC2012=dict(trainval='train'))
    for year, sets in layout.items():
        for folder in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
            (root / year / folder).mkdir(parents=True)
        for set_name, split in sets.items():
            coco = json.loads(Path(shapes[f'instances_{split}']).read_text())
            names = {cat['id']: cat['name'] for cat in coco['categories']}
            anns = defaultdict(list)
            for ann in coco['annotations']:
                anns[ann['image_id']].append(ann)
            stems = []
            for image in coco['images']:
                stem = f'{split}_{Path(image["file_name"]).stem}'
                os.symlink(Path(shapes[f'images_{split}']) / image['file_name'],
                           root / year / 'JPEGImages' / f'{stem}.jpg')
                xml = _voc_xml(image, anns[image['id']], names)
                (root / year / 'Annotations' / f'{stem}.xml').write_text(xml)
                stems.append(stem)
            (root / year / 'ImageSets/Main' / f'{set_name}.txt').write_text('\n'.join(stems) + '\n')
    return str(root) + '/'


@pytest.fixture(scope='module')
def voc_root(tiny_shapes, tmp_path_factory):
    return make_vocdevkit(tiny_shapes, tmp_path_factory.mktemp('voc') / 'VOCdevkit')


def test_main_configs_exist():
    assert set(MAIN) <= set(NAMES)


def test_model_zoo_lists_every_config():
    zoo = (REPO / 'docs' / 'model_zoo.md').read_text()
    assert [name for name in NAMES if f'(../configs/{name}.py)' not in zoo] == []


@pytest.mark.parametrize('name', NAMES)
def test_config_declares_plugin_and_scope(name):
    cfg = _load(name)
    assert cfg.custom_imports == dict(imports=['res2net_mm'], allow_failed_imports=False)
    method = next(m for m in SCOPES if name.startswith(m + '_'))
    assert cfg.default_scope == SCOPES[method]
    base = re.search(r"^_base_ = '(.+)'$", (REPO / 'configs' / f'{name}.py').read_text(), re.M)
    assert base and (base[1].startswith(SCOPES[method] + '::') or base[1].startswith('./'))


def arch_of(name):
    """The Res2Net arch a config name promises: [se]r2n<depth>[_<w>w<s>s][_v1b]
    (26w x 4s by default), r2next50 or the CIFAR r2next29 / rx29 nets."""
    match = re.search(r'_(se)?(r2n|r2next|rx)(\d+)(?:_(\d+)c)?(?:_?(\d+)w)?(?:(\d+)s)?(_v1b)?_', name)
    se, kind, depth, groups, width, scales, v1b = match.groups()
    if depth == '29':
        stem = 'resnext29' if kind == 'rx' else 'res2next29'
        return f'{"se_" if se else ""}{stem}_{groups}c_{width}w' + (f'_{scales}s' if scales else '')
    if kind == 'r2next':
        return f'res2next{depth}'
    v1b = '_v1b' if v1b else ''
    return f'{"se_" if se else ""}res2net{depth}{v1b}_{width or 26}w_{scales or 4}s'


# Res2Net blocks in other networks (Table 2): config backbone tag -> (type, arch).
FAMILY = {'r2ndla60': ('res2net_mm.Res2NetDLA', 'res2net_dla60'),
          'r2nextdla60': ('res2net_mm.Res2NetDLA', 'res2next_dla60'),
          'blr2n50': ('res2net_mm.BigLittleRes2Net', 'blres2net50')}


def family_of(name):
    """The FAMILY tag of a config name (its backbone field), or None."""
    tag = name.rsplit('_', 2)[-2]
    return tag if tag in FAMILY else None


def _expected_checkpoint(backbone):
    """Published weights by zoo name (every family: Res2Net, DLA-60); other
    archs a file to pretrain; the ResNet baselines torchvision's."""
    if 'arch' not in backbone:
        return f'torchvision://resnet{backbone["depth"]}'
    if backbone['arch'] in zoo_names_of(backbone['arch']):
        return f'zoo://{backbone["arch"]}'
    return f'checkpoints/{backbone["arch"]}.pth'


@pytest.mark.parametrize('name', NAMES)
def test_config_backbone_and_pretrained_checkpoint(name):
    backbone = _load(name).model.backbone
    if family_of(name):
        assert (backbone.type, backbone.arch) == FAMILY[family_of(name)]
    elif re.search(r'_(se)?r2n', name):
        assert arch_of(name) in ARCHS
        assert backbone.type == 'res2net_mm.Res2Net' and backbone.arch == arch_of(name)
    elif backbone.type == 'res2net_mm.Res2Net':  # a ResNeXt baseline built by ours
        assert arch_of(name) in ARCHS and backbone.arch == arch_of(name)
    else:
        assert backbone.type == 'ResNet' and f'_r{backbone.depth}_' in name
    if name.startswith('cls_'):  # trained from scratch, as in the paper
        assert backbone.get('init_cfg') is None
    else:
        assert backbone.init_cfg == dict(type='Pretrained', checkpoint=_expected_checkpoint(backbone))


def _without_backbone(cfg):
    data = cfg.to_dict()
    data['model'].pop('backbone')
    return data


def baseline_of(name):
    """The ResNet / ResNeXt config a Res2Net config is compared with."""
    method, se, depth = re.match(r'(.+?)_(se)?r2n(?:ext)?(\d+)_', name).groups()
    dataset = name.rsplit('_', 1)[1]
    if depth == '29':  # CIFAR: ResNeXt-29 8c x 64w, with SE for the SE nets
        return f'{method}_{se or ""}rx29_8c64w_{dataset}'
    return f'{method}_r{depth}_{dataset}'


RES2NET_CONFIGS = [n for n in NAMES if re.search(r'_(se)?r2n', n) and '_299_' not in n
                   and not family_of(n)]


@pytest.mark.parametrize('name', RES2NET_CONFIGS)
def test_res2net_config_changes_only_the_backbone(name):
    baseline = baseline_of(name)
    assert baseline in NAMES
    assert _without_backbone(_load(name)) == _without_backbone(_load(baseline))


@pytest.mark.parametrize('name', [n for n in NAMES if family_of(n)])
def test_family_config_changes_only_the_backbone_and_its_channels(name):
    """DLA-60 and bL configs against the ResNet-50 one: another backbone and,
    for DLA-60 (levels of 128-1024 channels), the FPN's / classifier's input."""
    method, dataset = name.split('_' + family_of(name) + '_')
    ours, baseline = _without_backbone(_load(name)), _without_backbone(_load(f'{method}_r50_{dataset}'))
    head = ('neck', 'in_channels') if method == 'faster_rcnn' else ('head', 'in_channels')
    channels = ours['model'][head[0]].pop(head[1]), baseline['model'][head[0]].pop(head[1])
    expected = [128, 256, 512, 1024] if 'dla' in name else [256, 512, 1024, 2048]
    assert channels == ((expected, [256, 512, 1024, 2048]) if head[0] == 'neck' else
                        (expected[-1], 2048))
    assert ours == baseline


def test_res2net_299_changes_only_the_input_size():
    big, base = _load('cls_r2n50_299_in1k').to_dict(), _load('cls_r2n50_in1k').to_dict()
    sizes = {key: [t for t in big[key]['dataset']['pipeline'] if t != dict(type='LoadImageFromFile')
                   and t['type'] != 'PackInputs' and t['type'] != 'RandomFlip']
             for key in ('train_dataloader', 'test_dataloader')}
    assert sizes == dict(train_dataloader=[dict(type='RandomResizedCrop', scale=299)],
                         test_dataloader=[dict(type='ResizeEdge', scale=342, edge='short'),
                                          dict(type='CenterCrop', crop_size=299)])
    for cfg in (big, base):
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key]['dataset'].pop('pipeline')
        for key in ('train_pipeline', 'test_pipeline'):  # the variables behind them
            cfg.pop(key)
    assert big == base


@pytest.mark.parametrize('name', [n for n in NAMES if n.startswith('deeplabv3plus')])
def test_deeplab_output_stride_16(name):
    model = _load(name).model
    assert tuple(model.backbone.strides) == (1, 2, 2, 1)
    assert tuple(model.backbone.dilations) == (1, 1, 1, 2)
    assert tuple(model.decode_head.dilations) == (1, 6, 12, 18)
    assert model.pretrained is None


def _assert_metrics(metrics, keys):
    assert keys, 'no known evaluator: nothing to check'
    for key in keys:
        assert key in metrics, f'{key} missing from {sorted(metrics)}'
        assert math.isfinite(metrics[key]), f'{key} = {metrics[key]}'


def _smoke(name, shapes, tmp_path, voc_root=None):
    """Config ``name`` from scratch (as --cfg-options would set it) on the
    tiny shapes, with its own logger/visualizer instances."""
    cfg = _load(name)
    cfg.merge_from_dict({'model.backbone.init_cfg': None})
    smoke_config(cfg, shapes, tmp_path / 'work', voc_root=voc_root)
    cfg.experiment_name = cfg.visualizer.name = f'{name}_{tmp_path.name}'
    return cfg


@pytest.mark.parametrize('name', NAMES)
def test_config_trains_and_evaluates(name, tiny_shapes, voc_root, tmp_path):
    cfg = _smoke(name, tiny_shapes, tmp_path, voc_root)
    request_full_coco(cfg)
    if name in MAIN:  # tools/test.py's --show-dir and --out, once per task
        enable_show_dir(cfg, str(tmp_path / 'vis'))
        add_dump(cfg, str(tmp_path / 'preds.pkl'))
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 1
    metrics = runner.test()
    _assert_metrics(metrics, expected_metrics(cfg))
    if name in MAIN:
        num_samples = len(runner.test_dataloader.dataset)
        drawn = [p for p in (tmp_path / 'vis').rglob('*') if p.suffix in ('.jpg', '.png')]
        assert len(drawn) == num_samples
        with open(tmp_path / 'preds.pkl', 'rb') as f:
            assert len(pickle.load(f)) == num_samples


def test_simplebaseline_on_coco_sample_with_17_keypoints(tiny_shapes, tmp_path):
    if not (COCO_SAMPLE / 'test_coco.json').is_file():
        pytest.skip(f'no COCO sample at {COCO_SAMPLE}')
    cfg = _smoke('simplebaseline_r2n50_coco', tiny_shapes, tmp_path)
    cfg.model.head.out_channels = 17
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        dataset.pop('metainfo')
        dataset.update(data_root=str(COCO_SAMPLE), ann_file='test_coco.json',
                       data_prefix=dict(img=''))
    cfg.test_evaluator.ann_file = str(COCO_SAMPLE / 'test_coco.json')
    runner = build_runner(cfg)
    runner.train()
    assert runner.test_dataloader.dataset.metainfo['num_keypoints'] == 17
    _assert_metrics(runner.test(), POSE_KEYS)
