"""Tests of the synthetic shapes data (res2net_mm/datasets/synthetic.py):
determinism, COCO validity, keypoints, label maps, idempotence, and loading by
mmdet, mmseg and mmpose."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from res2net_mm.datasets import (KEYPOINT_CLASS, KEYPOINT_METAINFO_FILE,
                                 KEYPOINT_NAMES, SEG_CLASSES, SEG_PALETTE,
                                 SHAPE_CLASSES, SKELETON, generate_shapes)

# With seed 3 both tiny splits hold stars, overlaps and hidden star tips, so
# the occlusion checks below have something to check (asserted).
TINY = dict(num_train=6, num_val=3, image_size=128, seed=3)
SPLITS = dict(train=TINY['num_train'], val=TINY['num_val'])
STAR_ID = SHAPE_CLASSES.index(KEYPOINT_CLASS) + 1
# pycocotools' mask decoding warns under numpy 2; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning')


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    return generate_shapes(tmp_path_factory.mktemp('shapes') / 'data', **TINY)


def _coco(path):
    coco_module = pytest.importorskip('pycocotools.coco')
    return coco_module.COCO(path)


def _files(root):
    """Relative path -> bytes of every file under ``root``."""
    return {p.relative_to(root): p.read_bytes()
            for p in sorted(Path(root).rglob('*')) if p.is_file()}


def _dilate(mask, radius):
    """Binary dilation by a (2 radius + 1) square, in numpy."""
    h, w = mask.shape
    padded, out = np.pad(mask, radius), np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy:dy + h, dx:dx + w]
    return out


def _erode(mask, radius):
    return ~_dilate(~mask, radius)


def _union(masks, shape):
    return np.logical_or.reduce([np.zeros(shape, bool)] + list(masks))


def test_same_seed_same_bytes_other_seed_differs(shapes, tmp_path):
    first = _files(shapes['root'])
    assert len(first) == 1 + 4 + 2 + 2 * sum(SPLITS.values())
    assert _files(generate_shapes(tmp_path / 'again', **TINY)['root']) == first
    other = _files(generate_shapes(tmp_path / 'other',
                                   **dict(TINY, seed=1))['root'])
    assert other.keys() == first.keys()
    assert all(other[p] != first[p] for p in first if p.suffix == '.jpg')


def test_image_depends_only_on_seed_split_and_index(shapes, tmp_path):
    fewer = generate_shapes(tmp_path / 'fewer', **dict(TINY, num_train=2))
    for name in ('000001.jpg', '000002.jpg'):
        assert (Path(fewer['images_train'], name).read_bytes() ==
                Path(shapes['images_train'], name).read_bytes())


def test_layout_and_split_lists(shapes):
    for split, num in SPLITS.items():
        stems = Path(shapes[f'split_{split}']).read_text().split()
        assert stems == [f'{i:06d}' for i in range(1, num + 1)]
        images = json.loads(Path(shapes[f'instances_{split}']).read_text())
        assert [im['file_name'] for im in images['images']] == [
            s + '.jpg' for s in stems]
        for stem in stems:
            image = Image.open(Path(shapes[f'images_{split}'], stem + '.jpg'))
            labels = Image.open(Path(shapes[f'segmentation_{split}'],
                                     stem + '.png'))
            assert (image.mode, image.size) == ('RGB', (128, 128))
            assert (labels.mode, labels.size) == ('L', (128, 128))
            assert np.array(labels).max() <= len(SHAPE_CLASSES)


@pytest.mark.parametrize('split', list(SPLITS))
def test_instances_are_coco_with_tight_boxes(shapes, split):
    coco = _coco(shapes[f'instances_{split}'])
    assert coco.getCatIds() == list(range(1, len(SHAPE_CLASSES) + 1))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
        SHAPE_CLASSES)
    assert all(coco.imgToAnns[i] for i in coco.getImgIds())
    for ann in coco.loadAnns(coco.getAnnIds()):
        image = coco.imgs[ann['image_id']]
        mask = coco.annToMask(ann).astype(bool)
        assert mask.shape == (image['height'], image['width'])
        assert ann['iscrowd'] == 0 and mask.any()
        rows, cols = np.nonzero(mask)
        x, y, w, h = ann['bbox']
        # The box encloses the mask within 1 px: pixel j spans [j, j + 1).
        assert x - 1 <= cols.min() and cols.max() + 1 <= x + w + 1
        assert y - 1 <= rows.min() and rows.max() + 1 <= y + h + 1
        # and is tight: sharp star tips may cover no pixel centre.
        assert cols.min() <= x + 2 and cols.max() + 1 >= x + w - 2
        assert rows.min() <= y + 2 and rows.max() + 1 >= y + h - 2
        assert mask.sum() == pytest.approx(ann['area'], rel=0.1, abs=8)


@pytest.mark.parametrize('split', list(SPLITS))
def test_keypoints_are_coco_and_on_their_star(shapes, split):
    coco = _coco(shapes[f'keypoints_{split}'])
    instances = _coco(shapes[f'instances_{split}'])
    assert coco.loadCats(coco.getCatIds()) == [dict(
        id=1, name=KEYPOINT_CLASS, supercategory='shape',
        keypoints=list(KEYPOINT_NAMES),
        skeleton=[[a + 1, b + 1] for a, b in SKELETON])]
    assert coco.getImgIds() == instances.getImgIds()
    assert coco.getAnnIds() == instances.getAnnIds(catIds=[STAR_ID])
    assert coco.getAnnIds(), 'no star: pick another seed for TINY'
    hidden = 0
    for ann in coco.loadAnns(coco.getAnnIds()):
        twin = instances.anns[ann['id']]
        assert (ann['bbox'], ann['image_id']) == (twin['bbox'],
                                                  twin['image_id'])
        points = np.reshape(ann['keypoints'], (-1, 3))
        assert points.shape == (len(KEYPOINT_NAMES), 3)
        assert ann['num_keypoints'] == (points[:, 2] > 0).sum()
        x, y, w, h = ann['bbox']
        eps = 0.01  # x + w is rounded to 2 decimals
        assert (x - eps <= points[:, 0]).all() and (
            points[:, 0] <= x + w + eps).all()
        assert (y - eps <= points[:, 1]).all() and (
            points[:, 1] <= y + h + eps).all()
        own = _dilate(instances.annToMask(twin).astype(bool), 2)
        later = [_dilate(instances.annToMask(a).astype(bool), 2)
                 for a in instances.imgToAnns[ann['image_id']]
                 if a['id'] > ann['id']]
        for px, py, v in points:
            assert v in (1, 2)
            assert own[int(py), int(px)]
            covered = any(m[int(py), int(px)] for m in later)
            assert covered or v == 2  # v == 1 only under a later object
            hidden += v == 1
        # The names mean what they say (the star is drawn upright).
        named = dict(zip(KEYPOINT_NAMES, points[:, :2]))
        assert named['left'][0] < named['right'][0]
        assert named['bottom_left'][0] < named['bottom_right'][0]
        assert named['top'][1] == points[:, 1].min()
    assert hidden, 'no hidden tip: pick another seed for TINY'


@pytest.mark.parametrize('split', list(SPLITS))
def test_label_maps_match_instances(shapes, split):
    coco = _coco(shapes[f'instances_{split}'])
    checked = occluded = 0
    for image in coco.dataset['images']:
        labels = np.array(Image.open(Path(
            shapes[f'segmentation_{split}'],
            image['file_name'].replace('.jpg', '.png'))))
        anns = sorted(coco.imgToAnns[image['id']], key=lambda a: a['id'])
        masks = [coco.annToMask(a).astype(bool) for a in anns]
        for k, (ann, mask) in enumerate(zip(anns, masks)):
            # Later annotations are painted over earlier ones.
            later = _union(masks[k + 1:], mask.shape)
            visible = _erode(mask, 1) & ~_dilate(later, 1)
            assert (labels[visible] == ann['category_id']).all()
            checked += visible.sum()
            occluded += (mask & later).sum()
        for label in range(1, len(SHAPE_CLASSES) + 1):
            near = _dilate(_union((m for a, m in zip(anns, masks)
                                   if a['category_id'] == label),
                                  labels.shape), 1)
            assert not (labels == label)[~near].any()
    assert checked > 0 and occluded > 0, 'pick another seed for TINY'


def test_second_call_touches_nothing(shapes):
    def stamps():
        return {p: (p.stat().st_mtime_ns, p.stat().st_ino)
                for p in Path(shapes['root']).rglob('*')}

    before = stamps()
    assert generate_shapes(shapes['root'], **TINY) == shapes
    assert stamps() == before


def test_other_params_regenerate_cleanly(tmp_path):
    root = tmp_path / 'data'
    generate_shapes(root, num_train=4, num_val=2, image_size=64)
    paths = generate_shapes(root, num_train=2, num_val=1, image_size=64)
    assert sorted(p.name for p in Path(paths['images_train']).iterdir()) == [
        '000001.jpg', '000002.jpg']
    manifest = json.loads(Path(paths['manifest']).read_text())
    assert manifest['params']['num_train'] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data']


def test_a_concurrent_generation_of_the_same_data_is_kept(tmp_path, monkeypatch):
    """Two demos started together both generate: the one that finishes second
    keeps the first one's folder, which the first may already be reading,
    instead of deleting and replacing it."""
    from res2net_mm.datasets import synthetic
    params = dict(num_train=2, num_val=1, image_size=64)
    other = tmp_path / 'other'
    generate_shapes(other, **params)
    root = tmp_path / 'data'
    write_coco = synthetic._write_coco
    stamps = {}

    def other_process_finishes_first(*args):
        if not root.exists():  # the other process's final rename
            shutil.copytree(other, root)
            stamps.update({p: p.stat().st_ino for p in root.rglob('*')})
        write_coco(*args)

    monkeypatch.setattr(synthetic, '_write_coco', other_process_finishes_first)
    paths = generate_shapes(root, **params)
    assert stamps and {p: p.stat().st_ino for p in root.rglob('*')} == stamps
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data', 'other']
    assert Path(paths['images_train'], '000002.jpg').is_file()


def test_refuses_foreign_folder_and_bad_arguments(tmp_path):
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='manifest'):
        generate_shapes(tmp_path, num_train=1, num_val=1, image_size=64)
    assert (tmp_path / 'notes.txt').read_text() == 'mine'
    for bad in (dict(num_train=0), dict(image_size=32), dict(seed=-1),
                dict(num_val=2.5), dict(seed=True)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            generate_shapes(tmp_path / 'new', **bad)


def test_keypoint_metainfo_parses_in_mmpose():
    pytest.importorskip('mmpose')
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    meta = parse_pose_metainfo(dict(from_file=KEYPOINT_METAINFO_FILE))
    assert meta['num_keypoints'] == len(KEYPOINT_NAMES) == 5
    assert [meta['keypoint_id2name'][i] for i in range(5)] == list(
        KEYPOINT_NAMES)
    assert meta['flip_indices'] == [0, 2, 1, 4, 3]  # left <-> right
    assert [tuple(link) for link in meta['skeleton_links']] == list(SKELETON)
    assert len(meta['sigmas']) == len(meta['dataset_keypoint_weights']) == 5


def test_mmdet_coco_dataset_loads(shapes):
    pytest.importorskip('mmdet')
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations
    dataset = CocoDataset(
        data_root=shapes['root'], ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/train/'),
        metainfo=dict(classes=SHAPE_CLASSES),
        pipeline=[LoadImageFromFile(),
                  LoadAnnotations(with_bbox=True, with_mask=True)])
    assert len(dataset) == TINY['num_train']
    sample = dataset[0]
    anns = _coco(shapes['instances_train']).imgToAnns[1]
    assert sample['img'].shape == (128, 128, 3)
    assert sample['gt_bboxes_labels'].tolist() == [
        a['category_id'] - 1 for a in anns]
    np.testing.assert_allclose(
        sample['gt_bboxes'].numpy(),
        [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)])
    assert len(sample['gt_masks']) == len(anns)


def test_mmseg_dataset_loads(shapes):
    pytest.importorskip('mmseg')
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets import BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations
    dataset = BaseSegDataset(
        data_root=shapes['root'], ann_file='splits/val.txt',
        data_prefix=dict(img_path='images/val',
                         seg_map_path='segmentation/val'),
        img_suffix='.jpg', seg_map_suffix='.png',
        metainfo=dict(classes=SEG_CLASSES, palette=SEG_PALETTE),
        pipeline=[LoadImageFromFile(), LoadAnnotations()])
    assert len(dataset) == TINY['num_val']
    sample = dataset[0]
    expected = Image.open(Path(shapes['segmentation_val'], '000001.png'))
    assert sample['img'].shape == (128, 128, 3)
    np.testing.assert_array_equal(sample['gt_seg_map'], np.array(expected))


def test_mmpose_topdown_coco_dataset_loads(shapes):
    pytest.importorskip('mmpose')
    from mmpose.datasets import CocoDataset
    from mmpose.datasets.transforms import LoadImage
    dataset = CocoDataset(
        data_root=shapes['root'], ann_file='annotations/keypoints_train.json',
        data_prefix=dict(img='images/train/'), data_mode='topdown',
        metainfo=dict(from_file=KEYPOINT_METAINFO_FILE),
        pipeline=[LoadImage()])
    stars = _coco(shapes['keypoints_train']).dataset['annotations']
    assert len(dataset) == len(stars) > 0
    assert dataset.metainfo['dataset_name'] == 'shapes_star'
    sample = dataset[0]
    assert sample['img'].shape == (128, 128, 3)
    np.testing.assert_allclose(
        sample['keypoints'][0],
        np.reshape(stars[0]['keypoints'], (-1, 3))[:, :2])


def test_mmpose_coco_metric_scores_ground_truth_as_perfect(shapes):
    """The keypoint files use category id 1 because mmpose's CocoMetric
    writes its results with it; any other id would score 0 here."""
    pytest.importorskip('mmpose')
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.evaluation import CocoMetric
    metric = CocoMetric(ann_file=shapes['keypoints_train'])
    metric.dataset_meta = parse_pose_metainfo(
        dict(from_file=KEYPOINT_METAINFO_FILE))
    stars = _coco(shapes['keypoints_train']).dataset['annotations']
    for ann in stars:
        points = np.reshape(ann['keypoints'], (1, -1, 3))[..., :2]
        pred = dict(keypoints=points, keypoint_scores=np.ones((1, 5)),
                    bbox_scores=np.ones(1))
        metric.process([], [dict(
            id=ann['id'], img_id=ann['image_id'], pred_instances=pred,
            gt_instances=dict(bbox_scales=np.array([ann['bbox'][2:]])))])
    assert metric.evaluate(len(stars))['coco/AP'] == pytest.approx(1.0)
