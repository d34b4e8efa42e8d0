"""Checkpoint conversion: reference models with random weights in their own
layouts load into ours strictly and give the same features; conversions are
lossless; bad files fail with messages that say what to do."""
import fractions
import importlib.util
import os
from pathlib import Path
import subprocess
import sys
from functools import lru_cache

import numpy as np
import pytest
import torch
import torch.nn as nn

from res2net_mm.checkpoint import (CheckpointError, convert_state_dict, load_pretrained,
                                   read_checkpoint, save_atomic)
from res2net_mm.models import Res2Net

timm = pytest.importorskip('timm')
REPO = str(Path(__file__).resolve().parents[2])
CLI = os.path.join(REPO, 'tools', 'convert_checkpoint.py')
# (timm name, our arch, extra timm kwargs); timm is bit-identical to official.
TIMM_PAIRS = [('res2net50_26w_4s', 'res2net50_26w_4s', {}),
              ('res2net50_14w_8s', 'res2net50_14w_8s', {}),
              ('res2next50', 'res2next50', {}),
              ('res2net50d', 'res2net50_v1b_26w_4s', {}),
              ('res2net50_26w_4s', 'se_res2net50_26w_4s',
               dict(block_args=dict(scale=4, attn_layer=timm.layers.SEModule)))]


def randomize(model, seed=0):
    """Random BN affine and running stats (and DCN offsets), eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.num_batches_tracked.fill_(7)
            if hasattr(module, 'conv_offset'):
                module.conv_offset.weight.copy_(
                    torch.randn(module.conv_offset.weight.shape, generator=gen) * 0.01)
    model.eval()  # mmdet's and mmpretrain's train() return None
    return model


@pytest.fixture(scope='module', autouse=True)
def _free_cached_models():
    yield
    timm_model.cache_clear()


@lru_cache(maxsize=None)
def timm_model(name, arch):
    kwargs = next(kw for n, a, kw in TIMM_PAIRS if (n, a) == (name, arch))
    torch.manual_seed(0)
    return randomize(timm.create_model(name, pretrained=False, **kwargs))


def timm_stages(model, x):
    x = model.maxpool(model.act1(model.bn1(model.conv1(x))))
    outs = []
    for i in range(1, 5):
        x = getattr(model, f'layer{i}')(x)
        outs.append(x)
    return outs


def ours_from(path, arch=None, **kwargs):
    model = Res2Net(arch, init_cfg=dict(type='Pretrained', checkpoint=str(path)), **kwargs)
    model.init_weights()
    return model.eval()


def assert_same_features(ours, reference, image):
    """Equal stage outputs: atol 1e-5, plus rtol 1e-5 for float32 rounding
    (ours runs channels_last by default, in another summation order)."""
    with torch.no_grad():
        expected = (timm_stages(reference, image) if isinstance(reference, timm.models.ResNet)
                    else reference(image))
        got = ours(image)
    assert len(got) == len(expected) == 4
    for a, b in zip(got, expected):
        assert b.abs().mean() > 1e-2  # features that could differ
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.fixture(scope='module')
def image():
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize('name,arch', [pair[:2] for pair in TIMM_PAIRS])
def test_timm_official_layout_loads_with_same_features(name, arch, image, tmp_path):
    ref = timm_model(name, arch)
    torch.save(ref.state_dict(), tmp_path / 'official.pth')  # head fc.* included
    ours = ours_from(tmp_path / 'official.pth', arch)
    assert_same_features(ours, ref, image)


def test_mmdet_detector_checkpoint_loads_with_same_features(image, tmp_path):
    from mmdet.models.backbones import Res2Net as MMDetRes2Net
    torch.manual_seed(0)
    ref = randomize(MMDetRes2Net(depth=50))
    state = {'backbone.' + k: v for k, v in ref.state_dict().items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(256, 256, 1, 1)
    torch.save({'meta': {'epoch': 12, 'mmengine_version': '0.10.7'}, 'state_dict': state},
               tmp_path / 'detector.pth')
    ours = ours_from(tmp_path / 'detector.pth', depth=50, stage_pool='strided')
    assert_same_features(ours, ref, image)
    # The prefix of mmengine's Pretrained init selects the same backbone.
    model = Res2Net(depth=50, stage_pool='strided', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'detector.pth'), prefix='backbone.'))
    model.init_weights()
    assert_same_features(model.eval(), ref, image)


def test_mmdet_dcn_checkpoint_loads_with_same_features(tmp_path):
    from mmdet.models.backbones import Res2Net as MMDetRes2Net
    image = torch.randn(1, 3, 96, 96)  # mmcv's DCN needs maps >= 3x3 in stage 4
    stages = (False, True, True, True)
    torch.manual_seed(0)
    ref = randomize(MMDetRes2Net(depth=50, stage_with_dcn=stages, dcn=dict(
        type='DCN', deform_groups=1, fallback_on_stride=False)))
    torch.save(ref.state_dict(), tmp_path / 'dcn.pth')
    ours = ours_from(tmp_path / 'dcn.pth', depth=50, stage_pool='strided',
                     dcn=dict(type='DCN', deform_groups=1), stage_with_dcn=stages)
    assert_same_features(ours, ref, image)


def mmpretrain_keys(official):
    """The mmpretrain v1b classifier keys, written out from the ANCHORS table."""
    stem = {'conv1.0.': 'stem.0.conv.', 'conv1.1.': 'stem.0.bn.', 'conv1.3.': 'stem.1.conv.',
            'conv1.4.': 'stem.1.bn.', 'conv1.6.': 'stem.2.conv.', 'bn1.': 'stem.2.bn.'}
    out = {}
    for key, value in official.items():
        prefix = next((p for p in stem if key.startswith(p)), None)
        if key.startswith('fc.'):
            out['head.' + key] = value
        else:
            out['backbone.' + (stem[prefix] + key[len(prefix):] if prefix else key)] = value
    return out


def test_mmpretrain_layout_from_spec_loads_with_same_features(image, tmp_path):
    ref = timm_model('res2net50d', 'res2net50_v1b_26w_4s')
    state = mmpretrain_keys(ref.state_dict())
    torch.save({'meta': {}, 'state_dict': state}, tmp_path / 'mmpretrain.pth')
    ours = ours_from(tmp_path / 'mmpretrain.pth', 'res2net50_v1b_26w_4s')
    assert_same_features(ours, ref, image)
    # With its head, the converter writes exactly these keys back.
    back, report = convert_state_dict({'state_dict': ref.state_dict()}, dst='mmpretrain',
                                      keep_head=True)
    assert report['src'] == 'official' and back.keys() == state.keys()


@pytest.mark.parametrize('deep', [True, False])
def test_mmpretrain_model_loads_with_same_features(deep, image, tmp_path):
    backbones = pytest.importorskip('mmpretrain.models.backbones')
    torch.manual_seed(0)
    ref = randomize(backbones.Res2Net(depth=50, deep_stem=deep, avg_down=deep,
                                      out_indices=(0, 1, 2, 3)))
    state = {'backbone.' + k: v for k, v in ref.state_dict().items()}
    state.update({'head.fc.weight': torch.zeros(10, 2048), 'head.fc.bias': torch.zeros(10)})
    torch.save({'state_dict': state}, tmp_path / 'cls.pth')
    ours = ours_from(tmp_path / 'cls.pth', 'res2net50_v1b_26w_4s' if deep else 'res2net50_26w_4s')
    assert_same_features(ours, ref, image)


@pytest.fixture(scope='module')
def v1b_state():
    torch.manual_seed(0)
    return randomize(Res2Net('res2net50_v1b_26w_4s')).state_dict()


@pytest.mark.parametrize('layout', ['timm', 'official', 'mmdet', 'mmpretrain'])
def test_round_trip_through_files_is_bit_exact(layout, v1b_state, tmp_path):
    there, _ = convert_state_dict({'model': v1b_state}, dst=layout)
    save_atomic({'module.' + k: v for k, v in there.items()}, str(tmp_path / 'there.pth'))
    back, report = convert_state_dict(read_checkpoint(str(tmp_path / 'there.pth')))
    assert report['src'] == ('official' if layout == 'timm' else layout)
    assert list(back) == list(v1b_state)
    for key, value in back.items():
        assert value.dtype == v1b_state[key].dtype and torch.equal(value, v1b_state[key]), key


def test_timm_layout_is_timm_keys(v1b_state):
    timm_layout, _ = convert_state_dict(v1b_state, dst='timm')
    missing, unexpected = timm.create_model('res2net50d').load_state_dict(timm_layout, strict=False)
    assert missing == ['fc.weight', 'fc.bias'] and unexpected == []


def test_conversion_names_unmatched_keys_and_impossible_targets(v1b_state):
    extra = dict(v1b_state, **{'layer1.0.foo.weight': torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r'1 unexpected keys, first: layer1.0.foo.weight'):
        convert_state_dict(extra)
    partial = {k: v for k, v in v1b_state.items() if k != 'layer2.1.bns.0.weight'}
    with pytest.raises(CheckpointError, match=r'missing from the checkpoint, first: layer2.1.bns.0'):
        convert_state_dict(partial)
    with pytest.raises(CheckpointError, match=r'keys are in the official layout, not mmdet'):
        convert_state_dict(v1b_state, src='mmdet')
    mixed = dict(v1b_state, **{'stem.0.weight': torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r'ambiguous'):
        convert_state_dict(mixed)
    resnet = {'conv1.weight': torch.zeros(64, 3, 7, 7), 'layer1.0.conv2.weight': torch.zeros(1)}
    with pytest.raises(CheckpointError, match=r'not a Res2Net-29/50/101/152/200 state dict'):
        convert_state_dict(resnet)
    with pytest.raises(CheckpointError, match=r'no classifier head'):
        convert_state_dict(v1b_state, keep_head=True)
    res2next = timm_model('res2next50', 'res2next50').state_dict()
    with pytest.raises(CheckpointError, match=r'mmdet layout cannot hold res2next50.*Res2NeXt'):
        convert_state_dict(res2next, dst='mmdet')


def test_wrong_architecture_names_first_mismatched_shapes(tmp_path):
    torch.save(timm_model('res2net50_26w_4s', 'res2net50_26w_4s').state_dict(), tmp_path / 'a.pth')
    with pytest.raises(CheckpointError) as info:
        ours_from(tmp_path / 'a.pth', 'res2net50_14w_8s')
    message = str(info.value)
    assert 'looks like res2net50_26w_4s' in message and 'res2net50_14w_8s model' in message
    assert 'layer1.0.conv1.weight: checkpoint (104, 64, 1, 1) vs model (112, 64, 1, 1)' in message


def test_missing_file_names_the_zoo_weights(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ours_from(tmp_path / 'res2net50_26w_4s-06e79181.pth', 'res2net50_v1b_26w_4s')
    message = str(info.value)
    for part in ('res2net50_26w_4s-06e79181.pth', 'zoo://res2net50_v1b_26w_4s or '
                 'zoo://res2net50_v1b_26w_4s_paddle or zoo://res2net50_v1b_26w_4s_ssld'):
        assert part in message


def test_truncated_file_is_reported_as_corrupt(v1b_state, tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save(v1b_state, path)
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(CheckpointError, match=r'cut.pth: not a torch checkpoint, or truncated or corrupt'):
        load_pretrained(Res2Net('res2net50_v1b_26w_4s'), str(path))


def test_training_checkpoint_loads_weights_only_with_allow_list(tmp_path):
    from mmengine.logging import HistoryBuffer
    full = {'meta': {'seed': np.int64(3), 'lr': np.float64(0.1)}, 'state_dict': {'w': torch.ones(1)},
            'message_hub': {'log_scalars': {'loss': HistoryBuffer([np.float64(1.0)], [1])}}}
    torch.save(full, tmp_path / 'full.pth')
    # Plain torch >= 2.6 refuses the file; importing res2net_mm allow-lists
    # exactly what such checkpoints pickle, process-wide.
    plain = subprocess.run([sys.executable, '-c', 'import sys, torch; torch.load(sys.argv[1])',
                            str(tmp_path / 'full.pth')], capture_output=True, text=True)
    assert plain.returncode != 0 and 'Weights only load failed' in plain.stderr
    assert torch.load(tmp_path / 'full.pth')['meta']['seed'] == 3
    assert torch.equal(read_checkpoint(str(tmp_path / 'full.pth'))['state_dict']['w'], torch.ones(1))
    full['meta']['ratio'] = fractions.Fraction(1, 3)
    torch.save(full, tmp_path / 'odd.pth')
    with pytest.raises(CheckpointError, match=r"allow-list.*\['fractions.Fraction'\]"):
        read_checkpoint(str(tmp_path / 'odd.pth'))


def test_save_atomic_leaves_no_partial_file(tmp_path, monkeypatch):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'old')

    def failing_save(obj, f):
        f.write(b'partial')
        raise OSError('disk full')
    monkeypatch.setattr(torch, 'save', failing_save)
    with pytest.raises(OSError, match='disk full'):
        save_atomic({'w': torch.ones(1)}, str(dst))
    assert dst.read_bytes() == b'old' and os.listdir(tmp_path) == ['out.pth']


def test_cli_converts_and_never_writes_a_partial_file(v1b_state, tmp_path):
    torch.save(v1b_state, tmp_path / 'official.pth')
    done = subprocess.run([sys.executable, CLI, tmp_path / 'official.pth', tmp_path / 'mmdet.pth',
                           '--to', 'mmdet'], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert done.returncode == 0, done.stderr
    assert '(official layout) -> ' in done.stdout and 'res2net50_v1b_26w_4s' in done.stdout
    assert 'stem.7.running_var' in torch.load(tmp_path / 'mmdet.pth', weights_only=True)
    # The failure path in-process (a second interpreter start costs ~5 s).
    spec = importlib.util.spec_from_file_location('convert_checkpoint', CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    (tmp_path / 'bad.pth').write_bytes(b'not a checkpoint')
    (tmp_path / 'keep.pth').write_bytes(b'old')
    with pytest.raises(SystemExit, match=r'(?s)truncated or corrupt.*nothing was written'):
        cli.main([str(tmp_path / 'bad.pth'), str(tmp_path / 'keep.pth')])
    with pytest.raises(SystemExit, match='has no classifier head'):
        cli.main([str(tmp_path / 'mmdet.pth'), str(tmp_path / 'keep.pth'), '--keep-head'])
    assert (tmp_path / 'keep.pth').read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['bad.pth', 'keep.pth', 'mmdet.pth', 'official.pth']


@pytest.mark.parametrize('text', ['hello\n', 'model = dict(type="Res2Net")\n', ''])
def test_text_file_is_named_as_no_checkpoint(text, tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text(text)
    with pytest.raises(CheckpointError, match='notes.pth: not a torch checkpoint'):
        read_checkpoint(str(path))
