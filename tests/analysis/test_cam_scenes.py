"""CAMs on whole scenes (res2net_mm/datasets/cam_scenes.py, vis_cam.py
--target-class folder): the per-class folders against the label maps, the
folder's class found by name in the model's classes, and a run of the tool
on the tiny scenes."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from res2net_mm.analysis.inputs import load_model
from res2net_mm.datasets.cam_scenes import generate_cam_scenes
from res2net_mm.testing import load_tool

REPO = Path(__file__).resolve().parents[2]
R2N50 = str(REPO / 'configs' / 'demo' / 'cls_r2n50_shapes.py')
# The demo classifiers' labels: the sorted crop folders, not the shapes' order.
SORTED_CLASSES = ['circle', 'cross', 'square', 'star', 'triangle']
vis_cam = load_tool('analysis/vis_cam')


@pytest.fixture(scope='module')
def scenes(tiny_shapes):
    return generate_cam_scenes(tiny_shapes)


def test_each_val_scene_is_under_each_class_it_shows_with_that_class_mask(tiny_shapes, scenes):
    coco = json.loads(Path(tiny_shapes['instances_val']).read_text())
    expected = {}  # (class, stem) -> mask, from the COCO categories' names and ids
    for label_file in Path(tiny_shapes['segmentation_val']).glob('*.png'):
        labels = np.asarray(Image.open(label_file))
        for category in coco['categories']:
            if (labels == category['id']).any():
                expected[category['name'], label_file.stem] = labels == category['id']
    assert len({name for name, _ in expected}) > 1  # several classes, several per scene
    written = {(file.parent.name, file.stem): file for file in Path(scenes['val']).rglob('*.jpg')}
    assert written.keys() == expected.keys()
    for (name, stem), file in written.items():
        scene = Path(tiny_shapes['images_val']) / f'{stem}.jpg'
        assert file.read_bytes() == scene.read_bytes()
        mask = np.asarray(Image.open(Path(scenes['masks_val']) / name / f'{stem}.png'))
        assert mask.shape == expected[name, stem].shape
        np.testing.assert_array_equal(mask, np.where(expected[name, stem], 255, 0))
    stamp = os.stat(file).st_mtime_ns
    assert generate_cam_scenes(tiny_shapes) == scenes
    assert os.stat(file).st_mtime_ns == stamp  # the second call touches nothing


def test_folder_target_is_the_class_of_that_name():
    images = [dict(path=f'cam/val/{name}/000001.jpg') for name in ('square', 'cross', 'star')]
    assert vis_cam.image_targets('folder', images, tuple(SORTED_CLASSES), 'classifier',
                                 'c.py') == [2, 1, 3]
    assert vis_cam.image_targets('2', images, SORTED_CLASSES, 'classifier', 'c.py') == [2] * 3
    images.append(dict(path='cam/val/hexagon/000002.jpg'))
    with pytest.raises(ValueError, match=r"folder 'hexagon' of cam/val/hexagon/000002.jpg is "
                       r"not a class of c.py: \['circle', 'cross', "):
        vis_cam.image_targets('folder', images, SORTED_CLASSES, 'classifier', 'c.py')
    with pytest.raises(ValueError, match='c.py and its checkpoint name no classes'):
        vis_cam.image_targets('folder', images[:1], None, 'classifier', 'c.py')


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory):
    """Random weights of the Res2Net-50 demo classifier, saved as a runner
    checkpoint names them: with the classes of its training data."""
    model, _, _ = load_model(R2N50, 'none')
    path = tmp_path_factory.mktemp('checkpoint') / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=SORTED_CLASSES))), path)
    return str(path)


def test_tool_scores_tiny_scenes_on_4x4_maps(scenes, random_checkpoint, tmp_path, capsys):
    size = 128  # the tiny scenes' size, instead of the crops' 48 px
    report = vis_cam.main([
        scenes['val'], '--masks', scenes['masks_val'], '--target-class', 'folder',
        '--model', R2N50, random_checkpoint, '--names', 'R2-50',
        '--methods', 'gradcam++', '--grid-images', '2', '--out', str(tmp_path / 'g.png'),
        '--cfg-options', f'test_dataloader.dataset.dataset.pipeline.1.scale=({size},{size})'])
    printed = capsys.readouterr().out
    assert Image.open(tmp_path / 'g.png').mode == 'P'  # a 256-colour PNG
    assert report['models']['R2-50']['map_size'] == [[4, 4]]
    assert 'R2-50: last stage maps of 4 x 4' in printed
    area = report['models']['R2-50']['mask_area']
    assert 0.01 < area < 0.5
    value = report['models']['R2-50']['gradcam++']
    row = (f'R2-50 gradcam++ {value["energy"]:.3f} {value["pointing"]:.3f} '
           f'{value["energy"] / area:.2f} {value["pointing"] / area:.2f}')
    assert row in ' '.join(printed.split())
    assert f'mean mask area share): {area:.3f}' in printed


@pytest.mark.parametrize('checkpoint, message', [
    ('random', "the folder 'extra' of .*extra.* is not a class of .*cls_r2n50_shapes.py: "
               r"\['circle', 'cross', 'square', 'star', 'triangle'\]"),
    ('none', 'cls_r2n50_shapes.py and its checkpoint name no classes'),
])
def test_tool_folder_target_errors(random_checkpoint, tmp_path, checkpoint, message):
    images = tmp_path / 'images'
    for name in ('star', 'extra'):
        (images / name).mkdir(parents=True)
        Image.new('RGB', (64, 64)).save(images / name / 'a.png')
    checkpoint = random_checkpoint if checkpoint == 'random' else checkpoint
    with pytest.raises(SystemExit, match=message):
        vis_cam.main([str(images), '--target-class', 'folder', '--grid-images', '0',
                      '--model', R2N50, checkpoint])


def test_scene_labels_are_the_classes_each_label_map_shows(tiny_shapes, scenes):
    """cam/labels_<split>.json (the CAM demo classifiers' data): every scene
    once, with the classes present in its label map, by sorted name."""
    coco = json.loads(Path(tiny_shapes['instances_train']).read_text())
    names = {c['id']: c['name'] for c in coco['categories']}
    for split in ('train', 'val'):
        written = json.loads(Path(scenes[f'labels_{split}']).read_text())
        assert written['metainfo'] == dict(classes=SORTED_CLASSES)
        expected = {}
        for label_file in Path(tiny_shapes[f'segmentation_{split}']).glob('*.png'):
            present = np.unique(np.asarray(Image.open(label_file)))
            expected[f'images/{split}/{label_file.stem}.jpg'] = sorted(
                SORTED_CLASSES.index(names[int(i)]) for i in present if i)
        assert {d['img_path']: d['gt_label'] for d in written['data_list']} == expected
        assert len(written['data_list']) == len(expected)
        assert any(len(labels) > 1 for labels in expected.values())


def test_scenes_dataset_reads_the_labels_and_checks_its_paths(tiny_shapes, scenes):
    from res2net_mm.datasets.cam_scenes import build_shape_scenes_dataset
    shapes_root = str(Path(tiny_shapes['root']))
    params = json.loads(Path(tiny_shapes['manifest']).read_text())['params']
    pytest.importorskip('mmpretrain')
    dataset = build_shape_scenes_dataset(
        dict(type='mmpretrain.MultiLabelDataset', data_root=shapes_root,
             ann_file='cam/labels_val.json'), shapes_root, **params)
    written = json.loads(Path(scenes['labels_val']).read_text())['data_list']
    assert len(dataset) == len(written)
    first = dataset.get_data_info(0)
    assert first['img_path'] == str(Path(shapes_root) / written[0]['img_path'])
    assert list(first['gt_label']) == written[0]['gt_label']
    assert list(dataset.metainfo['classes']) == SORTED_CLASSES
    with pytest.raises(ValueError, match='dataset.data_root must be shapes_root'):
        build_shape_scenes_dataset(dict(type='MultiLabelDataset', data_root='elsewhere',
                                        ann_file='cam/labels_val.json'), shapes_root, **params)
    with pytest.raises(ValueError, match=r"ann_file must be one of .*got 'cam/x.json'"):
        build_shape_scenes_dataset(dict(type='MultiLabelDataset', data_root=shapes_root,
                                        ann_file='cam/x.json'), shapes_root, **params)
