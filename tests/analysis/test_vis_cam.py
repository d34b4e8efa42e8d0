"""Class activation maps (tools/analysis/vis_cam.py, res2net_mm.analysis):
the scores against hand-computed values, the maps of classifiers, detectors
and segmentors, our fast path's gradients against the reference's, bad
input, and real photos with their person masks."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image, ImageDraw

from res2net_mm.analysis.cam import (LayerError, Scores, compute_cam, energy_inside,
                                     find_layer, pointing_hit, stage_taps)
from res2net_mm.analysis.inputs import inference_pipeline, load_model, prepare

from tests.conftest import randomize
from tests.cli.test_tools import load_tool

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
DEMO = {name: str(CONFIGS / 'demo' / f'cls_{name}_shapes.py') for name in ('r2n50', 'r50')}
COCO_SAMPLE = Path(os.environ.get('RES2NET_MM_COCO_SAMPLE',
                                  REPO.parent / 'shared' / 'data' / 'coco_sample'))
vis_cam = load_tool('analysis/vis_cam')


def test_energy_and_pointing_equal_hand_computed_values():
    cam = np.array([[0, 0, 0, 0],
                    [0, 1, 2, 0],
                    [0, 3, 4, 0],
                    [0, 0, 0, 0]], dtype=np.float32)
    mask = np.zeros((4, 4), bool)
    mask[1, 1:3] = True  # the 1 and the 2: 3 of 10
    assert energy_inside(cam, mask) == pytest.approx(0.3)
    assert pointing_hit(cam, mask) == 0.0  # the 4 is outside
    mask[2, 2] = True
    assert energy_inside(cam, mask) == pytest.approx(0.7)
    assert pointing_hit(cam, mask) == 1.0
    cam[0, 0] = 4  # two maxima, one inside: half a hit
    assert pointing_hit(cam, mask) == 0.5
    assert energy_inside(cam, mask) == pytest.approx(7 / 14)
    flat = np.zeros((4, 4), np.float32)  # no location: the mask's area share
    assert energy_inside(flat, mask) == pointing_hit(flat, mask) == pytest.approx(3 / 16)


def _classifier(config, seed):
    model, cfg, classes = load_model(config, 'none')
    return randomize(model, seed), cfg


def _sample(model, cfg, size=64, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return prepare(model, inference_pipeline(cfg), img)


@pytest.fixture(scope='module')
def r2n50():
    return _classifier(DEMO['r2n50'], seed=0)


def test_cam_has_the_image_size_is_not_constant_and_is_deterministic(r2n50):
    model, cfg = r2n50
    sample = _sample(model, cfg, size=96)  # the demo's test pipeline resizes to 48 px
    assert sample['image'].shape == (48, 48, 3)
    with stage_taps(model.backbone) as taps:
        layer = find_layer(model, taps, 'backbone.layer3')
        for method in ('gradcam', 'gradcam++'):
            first, cls = compute_cam(Scores(model), layer, sample['inputs'], method)
            again, _ = compute_cam(Scores(model), layer, sample['inputs'], method)
            assert first.shape == (1, 48, 48)
            assert first.max() - first.min() > 0.5
            np.testing.assert_array_equal(first, again)
            assert cls == [int(model(sample['inputs'], mode='tensor').argmax())]


@pytest.mark.parametrize('layer', ['backbone.layer3', 'backbone.layer4'])
def test_fast_path_gives_the_reference_maps(r2n50, layer):
    model, cfg = r2n50
    sample = _sample(model, cfg, size=96, seed=1)
    maps = {}
    for impl in ('reference', 'fast'):
        model.backbone.impl = impl
        with stage_taps(model.backbone) as taps:
            for method in ('gradcam', 'gradcam++'):
                maps[impl, method] = compute_cam(Scores(model), find_layer(model, taps, layer),
                                                 sample['inputs'], method, target=2)[0]
    for method in ('gradcam', 'gradcam++'):
        assert maps['reference', method].std() > 0.1
        np.testing.assert_allclose(maps['fast', method], maps['reference', method], atol=1e-5)


def test_two_checkpoints_give_different_maps(r2n50):
    model, cfg = r2n50
    other, _ = _classifier(DEMO['r2n50'], seed=1)
    sample = _sample(model, cfg)
    cams = []
    for net in (model, other):
        with stage_taps(net.backbone) as taps:
            layer = find_layer(net, taps, 'backbone.layer3')
            cams.append(compute_cam(Scores(net), layer, sample['inputs'], target=0)[0])
    assert np.abs(cams[0] - cams[1]).max() > 0.1


def test_scores_are_mmpretrains_prediction_of_the_file(tmp_path):
    """What the tool scores is what mmpretrain's own inferencer predicts for
    the image file (test pipeline from the file, the Runner's data
    preprocessor: normalised, RGB)."""
    from mmpretrain.apis import ImageClassificationInferencer
    images, _ = _crops(tmp_path, count=1)
    image = images / 'disc' / '0.png'
    checkpoint = _checkpoint(tmp_path, DEMO['r50'], seed=2)
    model, cfg, _ = load_model(DEMO['r50'], checkpoint)
    sample = prepare(model, inference_pipeline(cfg), vis_cam.read_image(image))
    with torch.no_grad():
        ours = Scores(model)(sample['inputs']).softmax(1)[0]
    cfg = Config.fromfile(DEMO['r50'])
    cfg.test_dataloader.dataset = cfg.test_dataloader.dataset.dataset  # it reads the pipeline here
    # mmpretrain's inferencer builds its pipeline in the current default
    # scope, which an earlier test in the process may have left at another library.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        inferencer = ImageClassificationInferencer(cfg, pretrained=checkpoint)
        theirs = inferencer(str(image))[0]['pred_scores']
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-5)


def _small_detector_or_segmentor(config, size):
    """A downstream config's model with random weights, its test images
    resized to at most ``size``."""
    options = {'test_dataloader.dataset.pipeline.1.scale': size}
    model, cfg, classes = load_model(str(CONFIGS / config), 'none', options)
    return randomize(model), cfg, classes


def test_detector_backbone_cam_of_a_box_class_score_equals_the_reference():
    model, cfg, classes = _small_detector_or_segmentor('faster_rcnn_r2n50_coco.py', (160, 96))
    img = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    sample = prepare(model, inference_pipeline(cfg), img)
    assert sample['image'].shape[:2] == (96, 160) and sample['scale_factor'] == (0.8, 0.8)
    scores = Scores(model, box=(20, 10, 120, 80))
    for layer in ('backbone.layer1', 'backbone.layer2', 'backbone.layer4'):
        maps = {}
        for impl in ('reference', 'fast'):
            model.backbone.impl = impl
            with stage_taps(model.backbone) as taps:
                maps[impl] = compute_cam(scores, find_layer(model, taps, layer),
                                         sample['inputs'], target=classes.index('person'))[0]
        assert maps['reference'].shape == (1, 96, 160) and maps['reference'].std() > 0.05
        np.testing.assert_allclose(maps['fast'], maps['reference'], atol=1e-5)


def test_segmentor_backbone_cam_of_a_class_mean_pixel_score():
    model, cfg, classes = _small_detector_or_segmentor('deeplabv3plus_r2n50_voc12aug.py', (96, 64))
    img = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    sample = prepare(model, inference_pipeline(cfg), img)
    with stage_taps(model.backbone) as taps:
        layer = find_layer(model, taps, 'backbone.layer4')
        cam, cls = compute_cam(Scores(model), layer, sample['inputs'], 'gradcam++', target=15)
    assert cam.shape == (1, 64, 96) and cam.std() > 0.05 and cls == [15]


def test_layer_errors_name_the_valid_layers_and_the_fast_path(r2n50):
    model, cfg = r2n50
    sample = _sample(model, cfg)
    with stage_taps(model.backbone) as taps:
        with pytest.raises(LayerError, match=r'backbone\.layr4.*valid: backbone\.layer1, '
                           r'backbone\.layer2, backbone\.layer3, backbone\.layer4, .*head\.fc'):
            find_layer(model, taps, 'backbone.layr4')
        block = find_layer(model, taps, 'backbone.layer4.2')  # a module the fast path skips
        with pytest.raises(LayerError, match="impl='fast'"):
            compute_cam(Scores(model), block, sample['inputs'])
        model.backbone.impl = 'reference'  # there it runs
        try:
            assert compute_cam(Scores(model), block, sample['inputs'])[0].std() > 0
        finally:
            model.backbone.impl = 'fast'


def _crops(tmp_path, count=6):
    """``count`` 64 px images of a disc on noise, with their disc masks,
    as class folders: images/disc/i.png and masks/disc/i.png."""
    rng = np.random.default_rng(0)
    for i in range(count):
        img = Image.fromarray(rng.integers(0, 120, (64, 64, 3), dtype=np.uint8))
        mask = Image.new('L', (64, 64), 0)
        x, y, r = rng.integers(16, 48), rng.integers(16, 48), rng.integers(8, 16)
        for canvas, fill in ((ImageDraw.Draw(img), (230, 200, 40)), (ImageDraw.Draw(mask), 255)):
            canvas.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        for folder, picture in (('images', img), ('masks', mask)):
            (tmp_path / folder / 'disc').mkdir(parents=True, exist_ok=True)
            picture.save(tmp_path / folder / 'disc' / f'{i}.png')
    return tmp_path / 'images', tmp_path / 'masks'


def _checkpoint(tmp_path, config, seed):
    model, _ = _classifier(config, seed)
    path = tmp_path / f'{Path(config).stem}_{seed}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(
        dataset_meta=dict(classes=['circle', 'square', 'triangle', 'star', 'cross']))), path)
    return str(path)


def test_tool_scores_every_model_on_the_same_images_and_skips_unreadable_ones(tmp_path, capsys):
    images, masks = _crops(tmp_path)
    (images / 'disc' / 'broken.png').write_text('not an image')
    models = [_checkpoint(tmp_path, DEMO[name], seed) for name, seed in (('r2n50', 0), ('r50', 0))]
    out = tmp_path / 'grid.png'
    report = vis_cam.main([str(images), '--model', DEMO['r2n50'], models[0], '--model',
                           DEMO['r50'], models[1], '--names', 'R2-50', 'R-50', '--masks',
                           str(masks), '--methods', 'gradcam', 'gradcam++', '--out', str(out),
                           '--grid-images', '3', '--metrics-out', str(tmp_path / 'cam.json')])
    printed = capsys.readouterr()
    assert f'skipping {images / "disc" / "broken.png"}: not a readable image' in printed.err
    assert report['images'] == 6 and report == json.loads((tmp_path / 'cam.json').read_text())
    areas = {model['mask_area'] for model in report['models'].values()}
    assert len(areas) == 1 and 0.05 < areas.pop() < 0.5
    for name in ('R2-50', 'R-50'):
        for method in ('gradcam', 'gradcam++'):
            value = report['models'][name][method]
            assert 0 <= value['energy'] <= 1 and 0 <= value['pointing'] <= 1
            assert f'{value["energy"]:>13.3f}' in printed.out
    assert report['models']['R2-50']['gradcam'] != report['models']['R-50']['gradcam']
    assert Image.open(out).size[0] > Image.open(out).size[1]  # 3 rows, 5 columns


@pytest.mark.parametrize('args, message', [
    (['--model', str(CONFIGS / 'faster_rcnn_r2n50_coco.py'), 'none'],
     'a detector has no classifier head; give --target-class'),
    (['--model', str(CONFIGS / 'deeplabv3plus_r2n50_voc12aug.py'), 'none'],
     'a segmentor has no classifier head; give --target-class'),
    (['--model', DEMO['r50'], 'none', '--target-layer', 'backbone.stage4'],
     "unknown target layer 'backbone.stage4'; valid: backbone.layer1, "),
    (['--model', DEMO['r50'], 'none', '--target-class', 'hexagon'],
     "--target-class 'hexagon' is not a class of"),
])
def test_tool_bad_input_is_a_clear_error(tmp_path, args, message):
    images, _ = _crops(tmp_path, count=1)
    with pytest.raises(SystemExit, match=message):
        vis_cam.main([str(images), '--grid-images', '0', *args])


def test_tool_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    images, _ = _crops(tmp_path, count=1)
    resnet = _checkpoint(tmp_path, DEMO['r50'], seed=0)
    with pytest.raises(SystemExit, match=f'{resnet} does not fit .*cls_r2n50_shapes.py'):
        vis_cam.main([str(images), '--grid-images', '0', '--model', DEMO['r2n50'], resnet])


def _person_masks(folder):
    """Each COCO sample image's union of person polygons, as PNGs in
    ``folder``."""
    coco = json.loads((COCO_SAMPLE / 'test_coco.json').read_text())
    for image in coco['images']:
        mask = Image.new('L', (image['width'], image['height']), 0)
        for ann in coco['annotations']:
            if ann['image_id'] == image['id'] and ann['category_id'] == 1:
                for polygon in ann['segmentation']:
                    ImageDraw.Draw(mask).polygon(polygon, fill=255)
        mask.save(folder / f'{Path(image["file_name"]).stem}.png')


@pytest.mark.skipif(not (COCO_SAMPLE / 'test_coco.json').is_file(), reason='no COCO sample')
def test_real_photos_with_person_masks(tmp_path):
    """The 4 COCO photos through the ImageNet test pipeline (resize the
    short side to 256, centre crop 224): the person masks follow the image
    (checked against PIL doing the same), and both ImageNet classifiers'
    maps are scored on them."""
    _person_masks(tmp_path)
    cfg = Config.fromfile(CONFIGS / 'cls_r2n50_in1k.py')
    model, cfg, classes = load_model(str(CONFIGS / 'cls_r2n50_in1k.py'), 'none')
    for mask_file in sorted(tmp_path.glob('*.png')):
        img = np.asarray(Image.open(COCO_SAMPLE / f'{mask_file.stem}.jpg').convert('RGB'))
        mask = np.asarray(Image.open(mask_file)) > 127
        sample = prepare(model, inference_pipeline(cfg), img[..., ::-1].copy(), mask)
        h, w = mask.shape  # mmpretrain's ResizeEdge and mmcv's CenterCrop arithmetic:
        size = (256, int(256 * h / w)) if w < h else (int(256 * w / h), 256)
        left, top = (int(round((side - 224) / 2)) for side in size)
        expected = np.asarray(Image.open(mask_file).resize(size, Image.BILINEAR).crop(
            (left, top, left + 224, top + 224))) > 127
        assert sample['mask'].shape == sample['image'].shape[:2] == (224, 224)
        assert (sample['mask'] != expected).mean() < 0.01
    report = vis_cam.main([str(COCO_SAMPLE), '--masks', str(tmp_path), '--grid-images', '4',
                           '--out', str(tmp_path / 'grid.png'),
                           '--model', str(CONFIGS / 'cls_r2n50_in1k.py'), 'none',
                           '--model', str(CONFIGS / 'cls_r50_in1k.py'), 'none'])
    assert report['images'] == 4 and 0.05 < report['models']['cls_r50_in1k']['mask_area'] < 0.9
