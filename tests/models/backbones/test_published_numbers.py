"""Parameter counts and FLOPs against the published numbers (ANCHORS.md, the
paper's Table 3), read from the single variant table."""
import pytest
import torch
from mmengine.analysis import FlopAnalyzer

from res2net_mm.models import ZOO, Res2Net

WITH_PARAMS = sorted(a for a, z in ZOO.items() if z['params'] is not None)
WITH_FLOPS = sorted(a for a, z in ZOO.items() if z['gflops'] is not None)
# Counting Res2Net-200 takes ~25 s on 2 cores: in the slow run only.
FLOPS_PARAMS = [pytest.param(a, marks=pytest.mark.slow) if '200' in a else a for a in WITH_FLOPS]


def test_published_facts_cover_the_main_variants():
    assert {'res2net50_26w_4s', 'res2net101_26w_4s', 'res2next50',
            'res2net50_v1b_26w_4s'} <= set(WITH_PARAMS)
    assert len(WITH_FLOPS) >= 10


@pytest.mark.parametrize('arch', WITH_PARAMS)
def test_parameter_count_equals_official(arch):
    model = Res2Net(arch)
    assert sum(p.numel() for p in model.parameters()) == ZOO[arch]['params']


@pytest.mark.parametrize('arch', FLOPS_PARAMS)
def test_flops_within_3_percent_of_paper(arch):
    model = Res2Net(arch).eval()
    analyzer = FlopAnalyzer(model, (torch.randn(1, 3, 224, 224),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    gflops = analyzer.total() / 1e9  # multiply-adds, as the paper counts
    assert gflops == pytest.approx(ZOO[arch]['gflops'], rel=0.03)
