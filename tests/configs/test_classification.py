"""Classification (the paper's Tables 1-4) with mmpretrain: published
classifiers evaluated as they are (logits equal to timm's), pretraining
handed to the downstream configs, the CIFAR nets' sizes, the shape crops and
the real ImageNet pipeline."""
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from res2net_mm.checkpoint import CheckpointError, load_classifier, read_checkpoint
from res2net_mm.datasets import CROP_SIZE, generate_shape_crops
from res2net_mm.datasets.crops import crop_box, visible_mask
from res2net_mm.cli import build_runner
from res2net_mm.testing import smoke_config
from res2net_mm.models import Res2Net
from res2net_mm.variants import CIFAR

from tests.conftest import randomize
from tests.references.test_parity_timm import TIMM_MODELS, assert_scaled_close
from tests.cli.test_tools import load_tool

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
COCO_SAMPLE = Path(os.environ.get('RES2NET_MM_COCO_SAMPLE',
                                  REPO.parent / 'shared' / 'data' / 'coco_sample'))
# A published classifier of each kind and the config that evaluates it.
CLASSIFIERS = {'res2net50_26w_4s': 'cls_r2n50_in1k', 'res2net50_v1b_26w_4s': 'cls_r2n50_v1b_in1k',
               'res2next50': 'cls_r2next50_in1k', 'se_res2net50_26w_4s': 'cls_ser2n50_in1k'}


def build_classifier(config, **head):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(CONFIGS / f'{config}.py')
    cfg.model.head.update(head)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('arch', sorted(CLASSIFIERS))
def test_official_classifier_gives_timm_logits(arch, tmp_path):
    """An official-layout file (timm's keys are the official ones) of a
    randomly initialised timm model, loaded with its classifier into the
    config's ImageClassifier, gives timm's logits."""
    reference = randomize(TIMM_MODELS[arch]()).eval()
    path = tmp_path / f'{arch}.pth'
    torch.save(reference.state_dict(), path)
    model = build_classifier(CLASSIFIERS[arch]).eval()
    load_classifier(model, read_checkpoint(str(path)), str(path))
    assert isinstance(model.backbone, Res2Net) and model.backbone.arch['depth'] == 50
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        assert_scaled_close(model(x, mode='tensor'), reference(x), tol=1e-4)


def test_classifier_with_other_classes_or_arch_is_a_named_error(tmp_path):
    reference = TIMM_MODELS['res2net50_26w_4s']()
    path = tmp_path / 'official.pth'
    torch.save(reference.state_dict(), path)
    checkpoint = read_checkpoint(str(path))
    with pytest.raises(CheckpointError, match='1000 classes.*head 2048 to 10'):
        load_classifier(build_classifier('cls_r2n50_in1k', num_classes=10), checkpoint)
    with pytest.raises(CheckpointError, match='res2net50_14w_8s'):
        load_classifier(build_classifier('cls_r2n50_14w8s_in1k'), checkpoint)


def _timm_file(tmp_path, num_classes):
    import timm
    path = tmp_path / f'res2net50_{num_classes}.pth'
    torch.save(randomize(timm.create_model('res2net50_26w_4s', num_classes=num_classes))
               .state_dict(), path)
    return str(path)


def _smoke_file(name, tiny_shapes, tmp_path, **kwargs):
    cfg = Config.fromfile(CONFIGS / f'{name}.py')
    smoke_config(cfg, tiny_shapes, tmp_path / 'work', **kwargs)
    path = tmp_path / f'{name}_smoke.py'
    cfg.pop('work_dir')
    cfg.dump(path)
    return str(path), cfg


def test_test_tool_evaluates_an_official_file_with_its_classifier(tiny_shapes, tmp_path, capsys):
    test_tool = load_tool('test')
    config, _ = _smoke_file('cls_r2n50_in1k', tiny_shapes, tmp_path)
    test_tool.main([config, _timm_file(tmp_path, 5), '--work-dir', str(tmp_path / 'work')])
    printed = capsys.readouterr().out
    assert 'accuracy/top1' in printed and 'accuracy/top5' in printed
    with pytest.raises(SystemExit, match='1000 classes'):
        test_tool.main([config, _timm_file(tmp_path, 1000), '--work-dir', str(tmp_path / 'w2')])


def test_pretrained_classifier_feeds_the_downstream_configs(tiny_shapes, tmp_path):
    """The 18w x 6s rows of Tables 7-8 end to end: a 2-iteration
    classification run writes a checkpoint; the segmentation and instance
    segmentation configs of that arch load its backbone strictly and train;
    another arch's checkpoint is a named error."""
    _, cfg = _smoke_file('cls_r2n50_18w6s_in1k', tiny_shapes, tmp_path, max_iters=2,
                         checkpoint_interval=2, batch_size=2)
    cfg.work_dir = str(tmp_path / 'cls')
    runner = build_runner(cfg)
    runner.train()
    checkpoint = str(tmp_path / 'cls' / 'iter_2.pth')
    trained = {k[len('backbone.'):]: v for k, v in runner.model.state_dict().items()
               if k.startswith('backbone.')}
    for name in ('deeplabv3plus_r2n50_18w6s_voc12aug', 'mask_rcnn_r2n50_18w6s_coco'):
        down = Config.fromfile(CONFIGS / f'{name}.py')
        assert down.model.backbone.init_cfg.type == 'Pretrained'
        down.model.backbone.init_cfg.checkpoint = checkpoint
        smoke_config(down, tiny_shapes, tmp_path / name)
        down_runner = build_runner(down)
        down_runner.train()
        assert down_runner.iter == 1
    model = Res2Net('res2net50_18w_6s', init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    model.init_weights()
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in trained.items())
    other = Res2Net('res2net50_26w_4s', init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    with pytest.raises(CheckpointError, match='res2net50_18w_6s.*res2net50_26w_4s'):
        other.init_weights()


def _params(arch):
    model = Res2Net(arch)
    return (sum(p.numel() for p in model.parameters()) + 1024 * 100 + 100) / 1e6


@pytest.mark.parametrize('arch', sorted(CIFAR))
def test_cifar_parameter_counts_match_table_4(arch):
    """Table 4 counts (with the 100-class fc) within 3%; the one exception,
    SE-Res2NeXt-29 6c x 24w x 4s, is the paper's: its SE adds 1.7M there but
    0.2M to the other two Res2NeXt nets, while the same SE on the same
    output widths adds the same 0.52M to each (README, "CIFAR-100")."""
    ours, paper = _params(arch), CIFAR[arch]['params_m']
    if arch == 'se_res2next29_6c_24w_4s':
        plain = _params('res2next29_6c_24w_4s')
        assert ours - plain == pytest.approx(_params('se_resnext29_8c_64w') - _params('resnext29_8c_64w'))
        assert abs(ours / paper - 1) > 0.03
    else:
        assert abs(ours / paper - 1) <= 0.03, f'{ours:.2f}M vs {paper}M'


def test_cifar_net_keeps_32px_resolution_in_its_first_stage():
    model = Res2Net('res2next29_6c_24w_4s').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [(256, 32, 32), (512, 16, 16), (1024, 8, 8)]
    with pytest.raises(ValueError, match='cifar stem'):
        Res2Net('res2next29_6c_24w_4s', deep_stem=True)


def test_crop_box_is_the_square_around_the_box_inside_the_image():
    assert crop_box([50, 60, 40, 20], (192, 192)) == (44, 44, 96, 96)  # 1.3 * 40 = 52
    assert crop_box([2, 3, 10, 10], (192, 192)) == (0, 0, 32, 32)  # at least 32, moved inside
    assert crop_box([0, 0, 180, 100], (192, 192)) == (0, 0, 192, 192)  # at most the image


def test_visible_mask_removes_later_objects():
    square = dict(segmentation=[[0, 0, 10, 0, 10, 10, 0, 10]])
    later = dict(segmentation=[[5, 0, 10, 0, 10, 10, 5, 10]])
    mask = visible_mask(square, [later], (12, 12))
    assert mask[2, 2] == 255 and mask[2, 7] == 0 and mask[11, 11] == 0


def test_shape_crops_are_one_labelled_image_and_mask_per_object(tiny_shapes):
    crops = generate_shape_crops(tiny_shapes)
    stamp = os.stat(Path(crops['root']) / 'manifest.json').st_mtime_ns
    assert generate_shape_crops(tiny_shapes) == crops  # idempotent: nothing rewritten
    assert os.stat(Path(crops['root']) / 'manifest.json').st_mtime_ns == stamp
    for split in ('train', 'val'):
        coco = json.loads(Path(tiny_shapes[f'instances_{split}']).read_text())
        names = {c['id']: c['name'] for c in coco['categories']}
        expected = sorted(f'{names[a["category_id"]]}/{a["image_id"]:06d}_{a["id"]}.png'
                          for a in coco['annotations'])
        found = sorted(str(p.relative_to(crops[split])) for p in Path(crops[split]).rglob('*.png'))
        assert found == expected
        from PIL import Image
        for rel in found:
            mask = Image.open(Path(crops[f'masks_{split}']) / rel)
            assert Image.open(Path(crops[split]) / rel).size == mask.size == (CROP_SIZE, CROP_SIZE)
            assert 0 < (torch.tensor(list(mask.getdata())) > 0).float().mean() < 1


def test_imagenet_pipeline_on_real_photos(tmp_path):
    """mmpretrain's ImageNet dataset and train pipeline (LoadImageFromFile,
    RandomResizedCrop, RandomFlip, PackInputs) on real photos in the ImageNet
    folder layout: the COCO sample's images when present, else demo images."""
    photos = sorted(COCO_SAMPLE.glob('*.jpg'))
    if not photos:
        photos = sorted((REPO / 'docs').glob('*.png'))[:4]
    for i, photo in enumerate(photos):
        folder = tmp_path / 'imagenet' / 'train' / f'n0000000{i % 2}'
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, folder / photo.name)
    cfg = Config.fromfile(CONFIGS / 'cls_r2n50_in1k.py')
    # The ImageNet class checks that the folders match its 1000 classes: here 2.
    dataset_cfg = dict(cfg.train_dataloader.dataset, data_root=str(tmp_path / 'imagenet'),
                       classes=['n00000000', 'n00000001'][:len(photos)])
    from mmpretrain.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == len(photos)
    for i in range(len(dataset)):
        sample = dataset[i]
        assert tuple(sample['inputs'].shape) == (3, 224, 224)
        assert sample['data_samples'].gt_label.item() in (0, 1)
