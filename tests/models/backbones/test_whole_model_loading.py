"""Our backbones inside a whole model (a detector, a classifier): a bare
backbone's state dict given to the whole model is a named error through
torch's ``load_state_dict`` and mmengine's ``load_checkpoint``, never a
load that leaves the backbone as it was; whole-model files and partial
loads of the other parts are unaffected."""
import pytest
import torch
import torch.nn as nn
from mmengine.runner import load_checkpoint

from res2net_mm.checkpoint import BareBackboneError, STEM_NAMES, rename_key
from res2net_mm.models import BigLittleRes2Net, Res2Net, Res2NetDLA

ADVICE = "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)"
BACKBONES = {
    'Res2Net': lambda: Res2Net('res2net50_v1b_26w_4s', base_channels=8, stem_channels=8),
    'Res2NetDLA': lambda: Res2NetDLA('res2net_dla60'),
    'BigLittleRes2Net': lambda: BigLittleRes2Net('blres2net50'),
}


class Detector(nn.Module):
    """A whole model as mmdet builds one: ``backbone.*`` and a neck."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone, self.neck = backbone, nn.Conv2d(3, 4, 1)


def stem_weight(model):
    return next(iter(model.backbone.state_dict().values()))


@pytest.fixture(scope='module', params=sorted(BACKBONES))
def pair(request):
    """(a whole model, a bare state dict of another instance of its backbone)."""
    torch.manual_seed(0)
    bare = BACKBONES[request.param]().state_dict()
    return Detector(BACKBONES[request.param]()), bare


def test_bare_backbone_into_whole_model_is_a_named_error(pair, tmp_path):
    model, bare = pair
    before = stem_weight(model).clone()
    message = r"bare backbone's .*none under 'backbone\.'"
    with pytest.raises(BareBackboneError, match=message) as exc:
        model.load_state_dict(bare, strict=False)
    assert ADVICE in str(exc.value)
    torch.save(bare, tmp_path / 'bb.pth')
    with pytest.raises(BareBackboneError, match='leave model.backbone as it was'):
        load_checkpoint(model, str(tmp_path / 'bb.pth'))
    assert torch.equal(stem_weight(model), before)


def test_whole_model_file_and_partial_loads_still_load(pair):
    model, bare = pair
    whole = {'backbone.' + k: v for k, v in bare.items()}
    whole.update({'neck.' + k: v for k, v in model.neck.state_dict().items()})
    model.load_state_dict(whole)
    assert torch.equal(stem_weight(model), next(iter(bare.values())))
    # A file of the other parts only: mmengine and torch warn or list the
    # missing backbone keys as they always did.
    result = model.load_state_dict({'neck.weight': torch.zeros(4, 3, 1, 1)}, strict=False)
    assert result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize('variant', ['other architecture', 'mmdet layout', 'classifier'])
def test_every_bare_res2net_file_is_recognised(variant):
    model = Detector(Res2Net('res2net50_v1b_26w_4s', base_channels=8, stem_channels=8))
    if variant == 'other architecture':
        bare = Res2Net('res2net50_48w_2s', base_channels=8, stem_channels=8).state_dict()
    else:
        bare = {rename_key(k, STEM_NAMES['mmdet']): v
                for k, v in model.backbone.state_dict().items()}
    if variant == 'classifier':
        bare['fc.weight'], bare['fc.bias'] = torch.zeros(10, 256), torch.zeros(10)
    with pytest.raises(BareBackboneError, match='bare backbone') as exc:
        model.load_state_dict(bare, strict=False)
    assert ('load_classifier' in str(exc.value)) == (variant == 'classifier')
