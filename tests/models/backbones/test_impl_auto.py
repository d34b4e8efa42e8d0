"""``impl='auto'`` (the default): the fast path on the devices where its
equality tests run (the CPU), the reference elsewhere, decided per call
from the input's device and logged once per model and device type."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from res2net_mm.models import Res2Net
from res2net_mm.models.backbones import res2net as res2net_module
from res2net_mm.models.fast import dispatch as fast


def small(**kwargs):
    torch.manual_seed(0)
    return Res2Net('res2net50_26w_4s', num_stages=2, out_indices=(0, 1), **kwargs).eval()


@pytest.fixture
def messages():
    """The lines logged to mmengine's current logger during the test."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def path_taken(monkeypatch):
    """Which path each forward took: 'fast' when fast.res2net_forward ran."""
    taken = []
    real = fast.res2net_forward

    def spy(model, x):
        taken.append('fast')
        return real(model, x)
    monkeypatch.setattr(fast, 'res2net_forward', spy)
    return taken


def test_auto_is_the_default():
    assert Res2Net('res2net50_26w_4s', num_stages=1, out_indices=(0,)).impl == 'auto'


def test_auto_on_the_cpu_is_the_fast_path_bit_for_bit(path_taken):
    model = small()
    model.layer1[0].bn1.running_var.uniform_(0.5, 2.0)  # a fold that is not the identity
    x = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        auto = model(x)
        model.impl = 'fast'
        fast_out = model(x)
        model.impl = 'reference'
        reference = model(x)
    assert path_taken == ['fast', 'fast']
    for a, f, r in zip(auto, fast_out, reference, strict=True):
        assert torch.equal(a, f)
        assert not torch.equal(a, r)  # another op order: the comparison can tell them apart


def test_auto_takes_the_reference_on_an_unproven_device(monkeypatch, path_taken, messages):
    monkeypatch.setattr(res2net_module, 'PROVEN_DEVICES', ())  # as if the CPU were CUDA
    model = small()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        auto = model(x)
        model.impl = 'reference'
        reference = model(x)
    assert path_taken == []
    for a, r in zip(auto, reference, strict=True):
        assert torch.equal(a, r)
    assert any("impl='auto' runs the reference modules on cpu" in m for m in messages)


def test_auto_takes_the_reference_on_another_device_type(path_taken, messages):
    with torch.device('meta'):  # a real non-CPU device, shapes only
        model = small()
        outs = model(torch.empty(1, 3, 32, 32))
    assert path_taken == [] and outs[1].shape == (1, 512, 4, 4)
    assert any("runs the reference modules on meta" in m and "impl='fast' opts in" in m
               for m in messages)


def test_explicit_fast_runs_on_any_device(monkeypatch, path_taken):
    monkeypatch.setattr(res2net_module, 'PROVEN_DEVICES', ())
    small(impl='fast')(torch.randn(1, 3, 32, 32))
    assert path_taken == ['fast']


def test_the_choice_is_logged_once_per_model_and_device_type(monkeypatch, messages):
    model, other = small(), small()
    x = torch.randn(1, 3, 32, 32)
    for _ in range(3):
        model(x)
    other(x)
    logged = [m for m in messages if "impl='auto'" in m]
    assert logged == ["Res2Net impl='auto' runs the fast path on cpu: its equality tests "
                      'with the reference run on cpu'] * 2
    monkeypatch.setattr(res2net_module, 'PROVEN_DEVICES', ())
    model(x)  # the same device type: decided again, not logged again
    small(impl='fast')(x)
    small(impl='reference')(x)
    assert len([m for m in messages if "impl='auto'" in m]) == 2


def test_the_device_is_read_on_every_call(monkeypatch, path_taken):
    """A model moved to another device switches (here the decision for the
    CPU changes between calls, as a .cuda() move changes the input's)."""
    model = small()
    x = torch.randn(1, 3, 32, 32)
    model(x)
    monkeypatch.setattr(res2net_module, 'PROVEN_DEVICES', ())
    model(x)
    monkeypatch.setattr(res2net_module, 'PROVEN_DEVICES', ('cpu', ))
    model(x)
    assert path_taken == ['fast', 'fast']


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_move_switches_to_the_reference(path_taken, messages):
    model = small()
    x = torch.randn(1, 3, 32, 32)
    model(x)
    model.cuda()(x.cuda())
    assert path_taken == ['fast']
    assert any('reference modules on cuda' in m for m in messages)


@pytest.mark.parametrize('impl', ['plain', 'Fast', None])
def test_an_invalid_impl_names_the_valid_values(impl):
    with pytest.raises(ValueError, match=r"\('auto', 'fast', 'reference'\)") as exc:
        small(impl=impl)
    assert repr(impl) in str(exc.value)
    model = small()
    with pytest.raises(ValueError, match=repr(impl)):
        model.impl = impl


def test_memory_format_applies_to_auto():
    assert small(memory_format='contiguous').memory_format == torch.contiguous_format
    assert small().memory_format == torch.channels_last
    with pytest.raises(ValueError, match='"fast" or "auto" only'):
        small(impl='reference', memory_format='contiguous')
