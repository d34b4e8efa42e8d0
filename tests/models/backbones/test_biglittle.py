"""Big-Little Net: bL-ResNet-50 (alpha=2, beta=4) against the bL-Net
paper's published complexity, the skeleton of its code, and bLRes2Net-50."""
import pytest
import torch
from mmengine.analysis import FlopAnalyzer

from res2net_mm.models import BigLittleRes2Net
from res2net_mm.variants import FAMILY_ZOO

FC_PARAMS = 2048 * 1000 + 1000  # the ImageNet classifier the published counts include


def gflops(model, size=224):
    analyzer = FlopAnalyzer(model.eval(), (torch.randn(1, 3, size, size),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total() / 1e9


def test_blresnet50_parameters_equal_published():
    """26.69M in the bL-Net paper (with the classifier), to its precision."""
    model = BigLittleRes2Net('blresnet50')
    total = sum(p.numel() for p in model.parameters()) + FC_PARAMS
    assert round(total / 1e6, 2) == FAMILY_ZOO['blresnet50']['params_m']


def test_blresnet50_flops_within_3_percent_of_published():
    """2.85 GFLOPs (multiply-adds at 224, the bL-Net release), against
    ResNet-50's 4.1: the saving is the point of the architecture."""
    assert gflops(BigLittleRes2Net('blresnet50')) == pytest.approx(
        FAMILY_ZOO['blresnet50']['gflops'], rel=0.03)


def test_skeleton_follows_the_bl_net_code():
    """Per stage of ResNet-50's (3, 4, 6, 3): the big branch has all blocks
    but one (the fusion's), the first at stride 2, its last without ReLU;
    the little branch max(1, n // beta - 1) blocks at 1/alpha channels."""
    model = BigLittleRes2Net('blresnet50')
    for i, n in enumerate((3, 4, 6), start=1):
        stage = getattr(model, f'layer{i}')
        assert len(stage.big) == n - 1 and stage.big[0].stride == 2
        assert [b.last_relu for b in stage.big] == [True] * (n - 2) + [False]
        assert len(stage.little) == 1 and stage.little[0].conv3.out_channels == 128 * 2**(i - 1)
        assert len(stage.fusion) == 1 and stage.fusion[0].stride == (1 if i == 3 else 2)
    assert len(model.layer4) == 3 and model.layer4[0].stride == 2
    shortcut = model.layer4[0].downsample
    assert isinstance(shortcut[0], torch.nn.AvgPool2d) and shortcut[0].kernel_size == 3


def test_merge_is_upsampled_big_plus_expanded_little():
    """A hand recomputation of the big-little merge from the branches."""
    torch.manual_seed(0)
    model = BigLittleRes2Net('blres2net50', zero_init_residual=False)
    model.init_weights()
    stage = model.layer2.eval()
    x = torch.randn(1, 256, 10, 14)
    with torch.no_grad():
        big = stage.big(x)
        little = stage.little_e(stage.little(x))
        assert big.shape[2:] == (5, 7) and little.shape[2:] == (10, 14)
        assert (big < 0).any() and (stage.little(x) >= 0).all()  # no ReLU ends the big branch
        expected = torch.relu(little + big.repeat_interleave(2, 2).repeat_interleave(2, 3))
        torch.testing.assert_close(stage.merge(x), expected)
        torch.testing.assert_close(stage(x), stage.fusion(expected))


def test_blres2net50_uses_res2net_blocks_with_stage_blocks_where_shapes_change():
    model = BigLittleRes2Net('blres2net50')
    first = model.layer1.big[0]
    assert first.scales == 4 and first.width == 26 and first.stage_block
    assert first.pool is not None and first.pool.stride == 2
    assert model.layer1.little[0].stage_block  # 64 -> 128 channels at stride 1
    assert not model.layer2.little[0].stage_block  # 256 -> 256: hierarchical sums
    assert not model.layer3.fusion[0].stage_block  # stride 1, same width


def test_bl_net_code_names_load(tmp_path):
    """bL-ResNet weights named as the bL-Net code (conv2/bn2) load."""
    source = BigLittleRes2Net('blresnet50')
    state = {k.replace('.convs.0.', '.conv2.').replace('.bns.0.', '.bn2.'): v
             for k, v in source.state_dict().items()}
    state['fc.weight'], state['fc.bias'] = torch.zeros(1000, 2048), torch.zeros(1000)
    assert 'layer4.2.conv2.weight' in state
    torch.save(dict(state_dict=state), tmp_path / 'bl.pth')
    model = BigLittleRes2Net('blresnet50', init_cfg=dict(type='Pretrained',
                                                          checkpoint=str(tmp_path / 'bl.pth')))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

