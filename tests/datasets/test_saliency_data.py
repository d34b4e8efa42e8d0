"""Saliency data and evaluation (res2net_mm/datasets/saliency.py,
shapes_saliency.py, evaluation/per_dataset.py): list files and folders,
binary masks, the largest shape's mask, metrics per test set through
tools/test.py, and the DSS config on real photos with real masks (the
person masks of the COCO sample, when present)."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, EVALUATOR, MODELS, TRANSFORMS, init_default_scope
from PIL import Image

from res2net_mm.datasets.shapes_saliency import (has_one_salient_object, make_shapes_saliency,
                                                 polygon_mask, salient_mask)
from res2net_mm.cli import build_runner
from res2net_mm.testing import load_tool, smoke_config

pytest.importorskip('mmseg')
REPO = Path(__file__).resolve().parents[2]
COCO_SAMPLE = Path(os.environ.get('RES2NET_MM_COCO_SAMPLE',
                                  REPO.parent / 'shared' / 'data' / 'coco_sample'))
KEYS = ('MAE', 'maxF', 'adpF')


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def saliency_folder(root, stems):
    """imgs/<stem>.jpg and gt/<stem>.png (0/255 masks, a grey level too)."""
    for folder in ('imgs', 'gt'):
        (root / folder).mkdir(parents=True)
    for k, stem in enumerate(stems):
        Image.new('RGB', (8, 6), (k, 0, 0)).save(root / 'imgs' / f'{stem}.jpg')
        mask = np.zeros((6, 8), np.uint8)
        mask[:, :k + 1] = 255
        mask[0, 0] = 127
        Image.fromarray(mask).save(root / 'gt' / f'{stem}.png')
    return root


def build(cfg):
    return DATASETS.build(dict(type='res2net_mm.SaliencyDataset', **cfg))


@pytest.mark.parametrize('lines', [None, ['b', 'a'], ['b.jpg', 'a.jpg'],
                                   ['imgs/b.jpg gt/b.png', '', 'imgs/a.jpg gt/a.png']],
                         ids=['folder', 'stems', 'names', 'pairs'])
def test_dataset_reads_folders_and_list_files(lines, tmp_path):
    root = saliency_folder(tmp_path / 'set', ['a', 'b'])
    cfg = dict(data_root=str(root), data_prefix=dict(img_path='imgs', seg_map_path='gt'))
    if lines is not None:
        (root / 'list.txt').write_text('\n'.join(lines) + '\n')
        cfg['ann_file'] = 'list.txt'
        if ' ' in lines[0]:
            cfg['data_prefix'] = dict(img_path='', seg_map_path='')
    dataset = build(cfg)
    names = [Path(dataset[i]['img_path']).stem for i in range(len(dataset))]
    assert names == (['a', 'b'] if lines is None else ['b', 'a'])  # sorted / listed
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert Path(info['seg_map_path']) == root / 'gt' / (Path(info['img_path']).stem + '.png')
    assert dataset.metainfo['classes'] == ('background', 'salient')


def test_list_file_with_a_bad_line_names_it(tmp_path):
    root = saliency_folder(tmp_path / 'set', ['a'])
    (root / 'list.txt').write_text('a\nimgs/a.jpg gt/a.png extra\n')
    with pytest.raises(ValueError, match='list.txt, line 2'):
        build(dict(data_root=str(root), ann_file='list.txt'))


def test_masks_load_binary(tmp_path):
    root = saliency_folder(tmp_path / 'set', ['a', 'b'])
    dataset = build(dict(data_root=str(root), data_prefix=dict(img_path='imgs', seg_map_path='gt'),
                         pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                   dict(type='res2net_mm.BinarizeMask'),
                                   dict(type='PackSegInputs')]))
    mask = dataset[1]['data_samples'].gt_sem_seg.data[0]
    expected = torch.zeros(6, 8, dtype=mask.dtype)
    expected[:, :2] = 1
    expected[0, 0] = 0  # grey 127 < 128
    assert torch.equal(mask, expected)


def test_binarize_mask_threshold_colour_and_errors():
    binarize = TRANSFORMS.build(dict(type='res2net_mm.BinarizeMask', threshold=100))
    grey = np.array([[0, 99, 100, 255]], np.uint8)
    assert binarize(dict(gt_seg_map=grey))['gt_seg_map'].tolist() == [[0, 0, 1, 1]]
    colour = np.stack([grey, np.zeros_like(grey), np.full_like(grey, 0)], axis=2)
    assert binarize(dict(gt_seg_map=colour))['gt_seg_map'].tolist() == [[0, 0, 1, 1]]
    for bad in (0, 256, 128.0, True):
        with pytest.raises(ValueError, match='threshold'):
            TRANSFORMS.build(dict(type='res2net_mm.BinarizeMask', threshold=bad))
    with pytest.raises(KeyError, match='LoadAnnotations'):
        binarize(dict(img=grey))


def test_polygon_and_largest_shape_masks_by_hand():
    square = [1, 1, 3, 1, 3, 3, 1, 3]  # pixel centres (1.5, 1.5) ... (2.5, 2.5)
    expected = np.zeros((4, 5), bool)
    expected[1:3, 1:3] = True
    assert np.array_equal(polygon_mask([square], 4, 5), expected)
    label_map = np.zeros((4, 5), np.uint8)
    label_map[1:3, 1:3] = 2
    label_map[2, 2] = 4  # a later shape drawn over the largest one
    label_map[0, 4] = 1
    anns = [dict(area=4.0, category_id=2, segmentation=[square]),
            dict(area=1.0, category_id=1, segmentation=[[4, 0, 5, 0, 5, 1, 4, 1]])]
    expected[2, 2] = False
    assert np.array_equal(salient_mask(anns, label_map), expected)
    assert not salient_mask([], label_map).any()


def test_one_salient_object_by_hand():
    # A 2x2 square (4 px) and a 1 px shape: 4 >= 2 * 1.
    square = [1, 1, 3, 1, 3, 3, 1, 3]
    dot = dict(area=1.0, category_id=1, segmentation=[[4, 0, 5, 0, 5, 1, 4, 1]])
    label_map = np.zeros((4, 5), np.uint8)
    label_map[1:3, 1:3] = 2
    label_map[0, 4] = 1
    big = dict(area=4.0, category_id=2, segmentation=[square])
    assert has_one_salient_object([big, dot], label_map)
    assert has_one_salient_object([big], label_map)
    # The square covered down to 3 px by a later shape: 3 < 2 * 2.
    label_map[2, 2] = 1
    other = dict(area=2.0, category_id=1, segmentation=[[2, 2, 3, 2, 3, 3, 2, 3], [4, 0, 5, 0, 5, 1, 4, 1]])
    assert not has_one_salient_object([big, other], label_map)
    assert has_one_salient_object([big, other], label_map, dominance=1.5)
    assert not has_one_salient_object([], label_map)  # nothing is salient


def test_shapes_saliency_lists_the_images_with_one_salient_object(tiny_shapes):
    folders = make_shapes_saliency(tiny_shapes)
    counts = []
    for split in ('train', 'val'):
        masks = Path(folders[f'saliency_{split}'])
        listed = (masks.parent / 'splits' / f'{split}.txt').read_text().split()
        coco = json.loads(Path(tiny_shapes[f'instances_{split}']).read_text())
        expected = []
        for image in coco['images']:
            stem = Path(image['file_name']).stem
            salient = np.asarray(Image.open(masks / f'{stem}.png')) > 0
            labels = np.asarray(Image.open(Path(tiny_shapes[f'segmentation_{split}']) / f'{stem}.png'))
            # Each other shape's visible pixels (polygon_mask: tested by hand).
            anns = [a for a in coco['annotations'] if a['image_id'] == image['id']]
            visible = [(labels == a['category_id']) & polygon_mask(a['segmentation'], *labels.shape)
                       for a in anns]
            others = [v.sum() for v in visible if not np.array_equal(v, salient)]
            if salient.sum() >= 2 * max(others, default=0):
                expected.append(stem)
        assert listed == expected
        counts.append((len(listed), len(coco['images'])))
    assert 0 < sum(n for n, _ in counts) < sum(total for _, total in counts), counts


def test_shapes_saliency_masks_are_the_largest_shape_once(tiny_shapes):
    folders = make_shapes_saliency(tiny_shapes)
    for split in ('train', 'val'):
        coco = json.loads(Path(tiny_shapes[f'instances_{split}']).read_text())
        assert coco['images']
        for image in coco['images']:
            stem = Path(image['file_name']).stem
            mask = np.asarray(Image.open(Path(folders[f'saliency_{split}']) / f'{stem}.png'))
            labels = np.asarray(Image.open(Path(tiny_shapes[f'segmentation_{split}']) / f'{stem}.png'))
            anns = [a for a in coco['annotations'] if a['image_id'] == image['id']]
            largest = max(anns, key=lambda a: a['area'])
            assert set(np.unique(mask)) <= {0, 255} and mask.any()
            assert (labels[mask > 0] == largest['category_id']).all()
            # the largest shape's visible pixels
            visible = (labels == largest['category_id']) & polygon_mask(
                largest['segmentation'], *labels.shape)
            assert np.array_equal(mask > 0, visible)
    stamp = os.stat(Path(folders['saliency_val']) / f'{stem}.png').st_mtime_ns
    assert make_shapes_saliency(tiny_shapes) == folders
    assert os.stat(Path(folders['saliency_val']) / f'{stem}.png').st_mtime_ns == stamp


def named_concat(tmp_path, sizes):
    datasets = [dict(type='res2net_mm.SaliencyDataset',
                     data_root=str(saliency_folder(tmp_path / name, [f'{name}{i}' for i in range(n)])),
                     data_prefix=dict(img_path='imgs', seg_map_path='gt'))
                for name, n in sizes.items()]
    return DATASETS.build(dict(type='res2net_mm.NamedConcatDataset', datasets=datasets,
                               names=list(sizes)))


def test_named_concat_records_names_and_sizes(tmp_path):
    dataset = named_concat(tmp_path, dict(X=2, Y=1))
    assert len(dataset) == 3
    assert dataset.metainfo['dataset_names'] == ['X', 'Y']
    assert dataset.metainfo['cumulative_sizes'] == [2, 3]
    for names in (['X'], ['X', 'X'], ['X', 'a/b']):
        with pytest.raises(ValueError, match='one distinct name'):
            DATASETS.build(dict(type='res2net_mm.NamedConcatDataset',
                                datasets=[dataset.datasets[0]] * 2, names=names))


def sample(pred, gt):
    return dict(img_path='img.jpg', seg_logits=dict(data=torch.tensor(pred)[None]),
                gt_sem_seg=dict(data=torch.tensor(gt)[None]))


# tests/evaluation/test_saliency_metric.py's images: A alone MAE 0.2, maxF 1;
# B alone MAE 0.4, maxF 0.8125 (P 1, R 1/2 at (0.65, 0.95]).
IMAGE_A = sample([[1.0, 0.75, 0.35], [0.55, 0.15, 0.0]], [[1, 1, 0], [1, 0, 0]])
IMAGE_B = sample([[0.95, 0.65, 0.15, 0.05]], [[1, 0, 1, 0]])


def test_per_dataset_evaluator_reports_each_dataset_by_hand():
    evaluator = EVALUATOR.build(dict(type='res2net_mm.PerDatasetEvaluator',
                                     metrics=[dict(type='res2net_mm.SaliencyMetric')]))
    evaluator.dataset_meta = dict(dataset_names=['X', 'Y'], cumulative_sizes=[1, 2])
    evaluator.process([IMAGE_A, IMAGE_B])
    result = evaluator.evaluate(2)
    assert sorted(result) == sorted(f'{n}/saliency/{k}' for n in 'XY' for k in KEYS)
    assert result['X/saliency/MAE'] == pytest.approx(0.2)
    assert result['X/saliency/maxF'] == pytest.approx(1.0)
    assert result['Y/saliency/MAE'] == pytest.approx(0.4)
    assert result['Y/saliency/maxF'] == pytest.approx(1.3 * 0.5 / 0.8)
    evaluator.dataset_meta = dict(classes=('background', 'salient'))  # one plain dataset
    evaluator.process([IMAGE_A, IMAGE_B])
    assert sorted(evaluator.evaluate(2)) == [f'saliency/{k}' for k in sorted(KEYS)]
    evaluator.dataset_meta = dict(dataset_names=['X', 'Y'], cumulative_sizes=[1, 3])
    evaluator.process([IMAGE_A, IMAGE_B])
    with pytest.raises(ValueError, match='hold 3 samples, the evaluation 2'):
        evaluator.evaluate(2)


def small_dss(tiny_shapes, work_dir):
    """dss_r2n50_msrab.py on the tiny shapes, from scratch, narrow sides."""
    cfg = Config.fromfile(REPO / 'configs' / 'dss_r2n50_msrab.py')
    cfg.merge_from_dict({'model.backbone.init_cfg': None,
                         'model.decode_head.side_channels': (8, 8, 8, 8)})
    return smoke_config(cfg, tiny_shapes, work_dir)


def test_test_tool_prints_f_measure_and_mae_per_test_set(tiny_shapes, tmp_path, capsys):
    cfg = small_dss(tiny_shapes, tmp_path / 'work')
    cfg.dump(tmp_path / 'dss.py')
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), tmp_path / 'dss.pth')
    load_tool('test').main([str(tmp_path / 'dss.py'), str(tmp_path / 'dss.pth'),
                            '--work-dir', str(tmp_path / 'test')])
    table = capsys.readouterr().out.split('Test metrics of')[-1]
    for name in ('ECSSD', 'PASCAL-S', 'HKU-IS', 'DUT-OMRON'):
        for key in KEYS:
            assert f'{name}/saliency/{key}' in table


def test_missing_saliency_data_stops_the_tools_naming_each_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/ here
    config = str(REPO / 'configs' / 'dss_r2n50_msrab.py')
    with pytest.raises(SystemExit) as exc:
        load_tool('train').main([config])
    assert 'data/saliency/MSRA-B/  (train_dataloader.dataset.data_root' in str(exc.value.code)
    (tmp_path / 'model.pth').write_bytes(b'')
    (tmp_path / 'data/saliency/ECSSD/imgs').mkdir(parents=True)
    with pytest.raises(SystemExit) as exc:
        load_tool('test').main([config, 'model.pth'])
    message = str(exc.value.code)
    assert 'data/saliency/ECSSD/gt  (test_dataloader.dataset.datasets.0.data_prefix' in message
    for i, name in enumerate(('PASCAL-S', 'HKU-IS', 'DUT-OMRON'), 1):
        assert f'data/saliency/{name}/  (test_dataloader.dataset.datasets.{i}.data_root' in message


def coco_person_saliency(root):
    """The COCO sample's images with the union of their person polygons as
    the saliency mask, and a DSS-style list file of (image, mask) pairs."""
    coco = json.loads((COCO_SAMPLE / 'test_coco.json').read_text())
    (root / 'gt').mkdir(parents=True)
    lines = []
    for image in coco['images']:
        polygons = [p for a in coco['annotations'] if a['image_id'] == image['id']
                    and a['category_id'] == 1 and not a['iscrowd'] for p in a['segmentation']]
        mask = polygon_mask(polygons, image['height'], image['width'])
        stem = Path(image['file_name']).stem
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / 'gt' / f'{stem}.png')
        lines.append(f'{COCO_SAMPLE / image["file_name"]} {root / "gt" / stem}.png')
    (root / 'pairs.lst').write_text('\n'.join(lines) + '\n')
    return coco


def test_dss_on_real_photos_with_person_masks(tiny_shapes, tmp_path):
    if not (COCO_SAMPLE / 'test_coco.json').is_file():
        pytest.skip(f'no COCO sample at {COCO_SAMPLE}')
    coco = coco_person_saliency(tmp_path / 'persons')
    cfg = small_dss(tiny_shapes, tmp_path / 'work')
    resize = dict(type='Resize', scale=(160, 160), keep_ratio=True)  # CPU time
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader] = dict(cfg[loader], batch_size=1, dataset=dict(
            type='res2net_mm.SaliencyDataset', data_root=str(tmp_path / 'persons'),
            ann_file='pairs.lst', data_prefix=dict(img_path='', seg_map_path=''),
            pipeline=[cfg.train_pipeline[0], resize] + cfg.train_pipeline[1:]))
    cfg.test_evaluator = dict(type='res2net_mm.SaliencyMetric')
    runner = build_runner(cfg)
    runner.train()
    dataset = runner.test_dataloader.dataset
    assert len(dataset) == len(coco['images']) == 4
    first = dataset[0]['data_samples']
    assert first.gt_sem_seg.data.float().mean() > 0.05  # the person is there
    metrics = runner.test()
    assert all(math.isfinite(metrics[f'saliency/{k}']) for k in KEYS)
