"""Every way weights reach a Res2Net goes through our loader: layout
converted, loaded strictly, never overwritten by the zero-init of the
residual norms."""
import pytest
import torch
import torch.nn as nn

from res2net_mm.checkpoint import CheckpointError, convert_state_dict
from res2net_mm.models import Res2Net


def random_state(arch='res2net50_v1b_26w_4s', seed=0):
    torch.manual_seed(seed)
    model = Res2Net(arch, zero_init_residual=False)
    model.init_weights()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.running_var.uniform_(0.5, 2)
    return model.state_dict()


def assert_loaded(model, state):
    got = model.state_dict()
    assert got.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(got[key], value), key


@pytest.fixture
def mmdet_detector_file(tmp_path):
    """A whole detector's checkpoint in mmdet's layout (deep stem named
    ``stem.*``, ``backbone.`` prefix, a neck)."""
    state = random_state()
    converted, _ = convert_state_dict(state, dst='mmdet')
    full = {'backbone.' + k: v for k, v in converted.items()}
    full['neck.conv.weight'] = torch.zeros(8, 2048, 1, 1)
    path = tmp_path / 'detector.pth'
    torch.save({'meta': {}, 'state_dict': full}, path)
    return state, path


def test_pretrained_in_a_list_init_cfg_goes_through_our_loader(mmdet_detector_file):
    state, path = mmdet_detector_file
    model = Res2Net('res2net50_v1b_26w_4s', zero_init_residual=True, init_cfg=[
        dict(type='Pretrained', checkpoint=str(path)),
        dict(type='Constant', val=0.5, layer='Conv2d')])
    model.init_weights()
    assert_loaded(model, state)  # converted, complete, bn3 not zeroed


def test_pretrained_in_a_list_is_strict(tmp_path):
    torch.save(random_state('res2net50_26w_4s'), tmp_path / 'other.pth')
    model = Res2Net('res2net50_14w_8s', init_cfg=[
        dict(type='Pretrained', checkpoint=str(tmp_path / 'other.pth')),
        dict(type='Constant', val=1, layer='_BatchNorm')])
    with pytest.raises(CheckpointError, match='looks like res2net50_26w_4s.*res2net50_14w_8s'):
        model.init_weights()


def test_two_pretrained_entries_are_refused(tmp_path):
    model = Res2Net(init_cfg=[dict(type='Pretrained', checkpoint='a.pth'),
                              dict(type='Pretrained', checkpoint='b.pth')])
    with pytest.raises(ValueError, match='2 Pretrained'):
        model.init_weights()


def test_deprecated_pretrained_argument(mmdet_detector_file):
    state, path = mmdet_detector_file
    with pytest.warns(UserWarning, match='deprecated'):
        model = Res2Net('res2net50_v1b_26w_4s', pretrained=str(path))
    model.init_weights()
    assert_loaded(model, state)


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Res2Net('res2net50_v1b_26w_4s')
        self.neck = nn.Module()
        self.neck.conv = nn.Conv2d(2048, 8, 1, bias=False)


def test_mmengine_load_checkpoint_on_a_whole_detector(mmdet_detector_file):
    from mmengine.runner import load_checkpoint
    state, path = mmdet_detector_file
    detector = Detector()
    load_checkpoint(detector, str(path), map_location='cpu')
    assert_loaded(detector.backbone, state)


def test_mmengine_load_checkpoint_refuses_a_partial_backbone(mmdet_detector_file, tmp_path):
    from mmengine.runner import load_checkpoint
    _, path = mmdet_detector_file
    checkpoint = torch.load(path)
    del checkpoint['state_dict']['backbone.layer3.2.convs.1.weight']
    torch.save(checkpoint, tmp_path / 'partial.pth')
    with pytest.raises(CheckpointError, match='layer3.2.convs.1.weight'):
        load_checkpoint(Detector(), str(tmp_path / 'partial.pth'), map_location='cpu')


@pytest.mark.parametrize('assign', [False, True])
def test_load_state_dict_converts_layouts(assign):
    state = random_state()
    mmpretrain, _ = convert_state_dict(state, dst='mmpretrain')
    model = Res2Net('res2net50_v1b_26w_4s')
    model.load_state_dict(mmpretrain, assign=assign)
    assert_loaded(model, state)
