"""Res2Net-DLA-60 and Res2NeXt-DLA-60 against timm's dla60_res2net /
dla60_res2next (ported from the official Res2Net dla.py), the official
checkpoint layout and the published parameter counts."""
import pytest
import torch

from res2net_mm.checkpoint import CheckpointError
from res2net_mm.models import Res2NetDLA
from res2net_mm.variants import FAMILY_ZOO

timm = pytest.importorskip('timm')

TIMM_NAMES = {'res2net_dla60': 'dla60_res2net', 'res2next_dla60': 'dla60_res2next'}
# The shortcut projections the official dla.py builds in DLA-60's trees of
# depth 2 (level3) and 3 (level4, level4.tree1) and never uses, as its
# checkpoints hold them: name -> (in, out) channels, read from the code.
OFFICIAL_UNUSED = {'level3.project': (128, 256), 'level4.project': (256, 512),
                   'level4.tree1.project': (256, 512)}


@pytest.fixture
def timm_and_ours(randomize):
    """(timm's model with random weights, ours) of an arch."""
    def build(arch):
        return randomize(timm.create_model(TIMM_NAMES[arch])).eval(), Res2NetDLA(arch).eval()
    return build


def backbone_weights(model):
    return {k: v for k, v in model.state_dict().items() if not k.startswith('fc.')}


def official_layout(reference):
    """The official file's layout: timm's keys (fc included) plus the unused
    projections (conv, BN) with random values."""
    state = dict(reference.state_dict())
    for name, (cin, cout) in OFFICIAL_UNUSED.items():
        state.update({f'{name}.0.weight': torch.randn(cout, cin, 1, 1),
                      f'{name}.1.weight': torch.rand(cout), f'{name}.1.bias': torch.rand(cout),
                      f'{name}.1.running_mean': torch.rand(cout),
                      f'{name}.1.running_var': torch.rand(cout) + 0.5,
                      f'{name}.1.num_batches_tracked': torch.tensor(0)})
    return state


def levels_of(reference, x):
    return reference.forward_intermediates(x, indices=[2, 3, 4, 5], intermediates_only=True)


@pytest.mark.parametrize('arch', sorted(TIMM_NAMES))
def test_stage_outputs_equal_timm(arch, timm_and_ours):
    """Same weights, same keys: levels 2-5 equal timm's op for op."""
    reference, ours = timm_and_ours(arch)
    ours.load_state_dict(backbone_weights(reference), strict=True)
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        for expected, got in zip(levels_of(reference, x), ours(x), strict=True):
            assert got.shape == expected.shape
            torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)
            assert torch.equal(got, expected)


@pytest.mark.parametrize('arch', sorted(TIMM_NAMES))
def test_parameter_count_equals_timm_backbone(arch, timm_and_ours):
    reference, ours = timm_and_ours(arch)
    expected = sum(p.numel() for n, p in reference.named_parameters() if not n.startswith('fc.'))
    assert sum(p.numel() for p in ours.parameters()) == expected


@pytest.mark.parametrize('arch', sorted(TIMM_NAMES))
def test_published_parameter_count(arch):
    """The release's count (21.15M / 17.33M) is the full official model:
    ours + the 1x1-conv classifier + the unused projections."""
    ours = Res2NetDLA(arch)
    unused = sum(cin * cout + 2 * cout for cin, cout in OFFICIAL_UNUSED.values())
    total = sum(p.numel() for p in ours.parameters()) + 1024 * 1000 + 1000 + unused
    assert round(total / 1e6, 2) == FAMILY_ZOO[arch]['params_m']


@pytest.mark.parametrize('arch', sorted(TIMM_NAMES))
def test_official_checkpoint_layout_loads_through_init_cfg(arch, tmp_path, timm_and_ours):
    reference, _ = timm_and_ours(arch)
    path = tmp_path / 'official.pth'
    torch.save(official_layout(reference), path)
    ours = Res2NetDLA(arch, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    ours.init_weights()
    ours.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for expected, got in zip(levels_of(reference, x), ours(x), strict=True):
            assert torch.equal(got, expected)


def test_unused_projection_elsewhere_is_refused(timm_and_ours):
    """Only the official file's unused projections are dropped: a projection
    key the official code has nowhere is named as unexpected."""
    reference, ours = timm_and_ours('res2net_dla60')
    state = backbone_weights(reference)
    state['level5.tree2.project.0.weight'] = torch.zeros(1024, 1024, 1, 1)
    with pytest.raises(CheckpointError, match=r'unexpected keys.*level5\.tree2\.project'):
        ours.load_state_dict(state)


def test_a_res2next_checkpoint_does_not_fit_res2net():
    reference = timm.create_model('dla60_res2next')
    with pytest.raises(CheckpointError, match='shape mismatches.*level2.tree1.conv1.weight'):
        Res2NetDLA('res2net_dla60').load_state_dict(backbone_weights(reference))


def test_odd_input_sizes_work_and_even_ones_match_official_pooling():
    """The shortcut max-pool rounds up (ceil_mode): odd sizes, where the
    official floor pooling fails, run; even sizes pool identically."""
    model = Res2NetDLA('res2next_dla60').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 33, 47))
    assert [tuple(o.shape[2:]) for o in outs] == [(9, 12), (5, 6), (3, 3), (2, 2)]
    x = torch.randn(1, 8, 6, 4)
    assert torch.equal(model.level2.downsample(x), torch.nn.MaxPool2d(2, 2)(x))


def test_blocks_pool_and_skip_sums_only_when_strided():
    """Official rule: a block is a 'stage' block iff its stride is 2."""
    model = Res2NetDLA('res2net_dla60')
    strided = [model.level2.tree1, model.level3.tree1.tree1, model.level5.tree1]
    plain = [model.level2.tree2, model.level3.tree1.tree2, model.level3.tree2.tree1]
    assert all(b.stage_block and b.pool.stride == 2 for b in strided)
    assert all(not b.stage_block and b.pool is None for b in plain)
    assert model.level2.tree1.width == 28 and model.level5.tree1.width == 224


@pytest.mark.parametrize('arch', sorted(TIMM_NAMES))
def test_flops_within_3_percent_of_published(arch):
    """The release's MACs (4.2G / 3.6G) count the official forward, which
    also runs the unused projections: ours + theirs (1x1 convs at stride 8
    for level3, 16 for level4's two) at 224x224."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(Res2NetDLA(arch).eval(), (torch.randn(1, 3, 224, 224),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    unused = 28 * 28 * 128 * 256 + 2 * 14 * 14 * 256 * 512
    assert (analyzer.total() + unused) / 1e9 == pytest.approx(FAMILY_ZOO[arch]['gflops'], rel=0.03)
