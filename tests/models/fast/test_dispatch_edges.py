"""Where the fast path steps aside: an input of the wrong rank gets the
reference's own error, and ``torch.jit.trace`` (its recording and its check
run alike) sees the reference ops, so its check compares like with like."""
import warnings

import pytest
import torch

from res2net_mm.models import Res2Net


@pytest.mark.parametrize('shape', [(3, 32, 32), (1, 1, 3, 32, 32), (3, )])
def test_wrong_rank_raises_what_the_reference_raises(shape):
    errors = []
    for impl in ('fast', 'reference'):
        model = Res2Net('res2net50_26w_4s', base_channels=8, stem_channels=8, impl=impl).eval()
        with pytest.raises(Exception) as info:
            model(torch.randn(shape))
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]
    if len(shape) == 3:  # the stem's norm is the first to check the rank
        assert errors[0] == (ValueError, 'expected 4D input (got 3D input)')


@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_jit_trace_of_the_fast_path_checks_without_false_warnings(mode, randomize):
    torch.manual_seed(0)
    model = getattr(randomize(Res2Net('res2net50_26w_4s', impl='fast')), mode)()
    x = torch.randn(2, 3, 64, 64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        traced = torch.jit.trace(model, x)
    mismatches = [str(w.message)[:120] for w in caught if 'does not match' in str(w.message)]
    assert mismatches == []
    if mode == 'train':  # the recording holds batch statistics
        return
    with torch.no_grad():
        for got, expected in zip(traced(x), model(x)):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
