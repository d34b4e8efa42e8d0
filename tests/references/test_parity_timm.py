"""Numerical parity with timm, which is bit-identical to the official code
(ANCHORS.md): v1, v1b, Res2NeXt and SE-Res2Net at atol 1e-5."""
import pytest
import torch

from res2net_mm.models import Res2Net

timm = pytest.importorskip('timm')
from timm.models.res2net import Bottle2neck as TimmBottle2neck  # noqa: E402
from timm.models.resnet import ResNet as TimmResNet  # noqa: E402


def timm_se_res2net50():
    """timm builds SE-Res2Net from its generic ResNet with attn_layer='se'."""
    return TimmResNet(block=TimmBottle2neck, layers=[3, 4, 6, 3], base_width=26,
                      block_args=dict(scale=4, attn_layer=timm.layers.get_attn('se')))


TIMM_MODELS = {
    'res2net50_26w_4s': lambda: timm.create_model('res2net50_26w_4s'),
    'res2net50_48w_2s': lambda: timm.create_model('res2net50_48w_2s'),
    'res2net50_14w_8s': lambda: timm.create_model('res2net50_14w_8s'),
    'res2next50': lambda: timm.create_model('res2next50'),
    'res2net50_v1b_26w_4s': lambda: timm.create_model('res2net50d'),
    'se_res2net50_26w_4s': timm_se_res2net50,
}


def timm_stage_outputs(model, x):
    x = model.maxpool(model.act1(model.bn1(model.conv1(x))))
    outs = []
    for i in range(1, 5):
        x = getattr(model, f'layer{i}')(x)
        outs.append(x)
    return outs


def assert_scaled_close(got, expected, tol=1e-5):
    """max |got - expected| <= tol * max(1, max |expected|): absolute 1e-5 for
    unit-scale features, relative where deep features reach ~100 (there a
    float32 ulp alone is ~1e-5)."""
    scale = max(1.0, expected.abs().max().item())
    error = (got - expected).abs().max().item()
    assert error <= tol * scale, f'max error {error:.3g} > {tol} * {scale:.3g}'


@pytest.mark.parametrize('impl', ['reference', 'fast'])
@pytest.mark.parametrize('arch', sorted(TIMM_MODELS))
def test_stage_outputs_equal_timm(arch, impl, randomize):
    """The reference is timm's computation op for op: bit-identical. The fast
    path (NHWC, BN folded at inference) runs under no_grad as mmengine's
    test loops do, equal to float rounding."""
    reference = randomize(TIMM_MODELS[arch]()).eval()
    ours = Res2Net(arch, impl=impl).eval()
    weights = {k: v for k, v in reference.state_dict().items() if not k.startswith('fc.')}
    ours.load_state_dict(weights, strict=True)
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        expected = timm_stage_outputs(reference, x)
        got = ours(x)
    for e, g in zip(expected, got, strict=True):
        if impl == 'reference':
            assert torch.equal(g, e)
        else:
            assert_scaled_close(g, e)


def test_mmdet_rule_differs_from_official_at_stride_one(randomize):
    """The stage-block pool at stride 1 is real: dropping it changes outputs."""
    official = randomize(Res2Net('res2net50_26w_4s', out_indices=(0,))).eval()
    strided = Res2Net('res2net50_26w_4s', out_indices=(0,), stage_pool='strided').eval()
    strided.load_state_dict(official.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(official(x)[0], strided(x)[0], atol=1e-3)
