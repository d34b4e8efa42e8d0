"""``res2net_mm.deploy(model, example)``: BN folded, channels-last, the
fastest of eager / frozen / frozen + optimize_for_inference / prepacked
(inductor on request) picked by measuring; equal to the reference on every
arch of the variant table, and a snapshot of the weights."""
import pytest
import torch
import torch.nn as nn

import res2net_mm
from res2net_mm.models import Res2Net
from res2net_mm.models.fast import torch_ops
from res2net_mm.models.fast.deploy import fuse_conv_bn
from res2net_mm.models.fast.deploy_best import TREATMENTS, Deployed
from res2net_mm.models.fast.prepacked import NotPackableError, PrepackedRes2Net
from res2net_mm.variants import ARCHS
from tests.conftest import randomize_norms

# The default suite deploys a representative subset; -m slow every arch.
SUBSET = ['res2net50_26w_4s', 'res2net50_v1b_26w_4s', 'se_res2next29_6c_24w_4s']
ALL = [pytest.param(a, marks=pytest.mark.slow) for a in ARCHS if a not in SUBSET]


def build(arch):
    torch.manual_seed(0)
    return randomize_norms(Res2Net(arch, impl='reference').eval())


def assert_close(reference, got, rtol=1e-4):
    for r, g in zip(reference, got, strict=True):
        assert g.shape == r.shape and g.dtype == r.dtype
        scale = r.abs().max()
        assert (g - r).abs().max() <= rtol * scale


@pytest.mark.parametrize('arch', SUBSET + ALL)
def test_deploy_equals_the_reference(arch):
    model = build(arch)
    size = 32 if ARCHS[arch]['stem'] == 'cifar' else 64
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        reference = model(x)
    deployed = res2net_mm.deploy(model, x[:1], rounds=1, treatments=['eager', 'frozen'])
    assert deployed.treatment in ('eager', 'frozen')
    assert_close(reference, deployed(x))  # another batch size than the example's
    assert model.impl == 'reference' and isinstance(model.bn1, nn.BatchNorm2d)  # untouched


@pytest.mark.parametrize('arch', SUBSET + ALL)
def test_prepacked_equals_the_reference(arch):
    model = build(arch)
    size = 32 if ARCHS[arch]['stem'] == 'cifar' else 64
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        reference = model(x)
    deployed = res2net_mm.deploy(model, x[:1], rounds=1, treatments=['prepacked'])
    assert deployed.treatment == 'prepacked' and isinstance(deployed.runner, PrepackedRes2Net)
    x_nhwc = x.contiguous(memory_format=torch.channels_last)
    got = deployed(x_nhwc)  # another batch size than the example's weights were packed for
    assert_close(reference, got)
    assert all(g.is_contiguous() for g in got)  # NCHW, as mmcv's ops read it
    assert torch.equal(x_nhwc, x)  # the in-place adds stay inside the snapshot
    assert_close(reference, deployed(x))  # and no state carried from call to call
    other = torch.randn(1, 3, size + 16, size - 16)  # another image size (a detector's next image)
    with torch.no_grad():
        assert_close(model(other), deployed(other))


def test_prepacked_runs_the_public_ops_where_torch_lacks_them(monkeypatch):
    model = build('res2net50_26w_4s')
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)
    monkeypatch.setattr(torch_ops, 'PREPACKED_AVAILABLE', False)
    deployed = res2net_mm.deploy(model, x, rounds=1, treatments=['prepacked'])
    assert all(conv.weight is None for conv in deployed.runner.stem)  # nothing packed
    assert_close(reference, deployed(x))


def test_prepacked_refuses_what_it_does_not_run():
    plugin = dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv3')
    model = Res2Net('res2net50_26w_4s', plugins=[plugin], impl='reference').eval()
    x = torch.randn(1, 3, 64, 64)
    with pytest.raises(NotPackableError, match='plugins'):
        PrepackedRes2Net(fuse_conv_bn(model), x)
    with pytest.raises(NotPackableError, match='not folded'):
        PrepackedRes2Net(build('res2net50_26w_4s'), x)
    deployed = res2net_mm.deploy(model, x, rounds=1, treatments=['eager', 'prepacked'])
    assert deployed.treatment == 'eager' and 'NotPackableError' in deployed.timings['prepacked']
    torchvision = pytest.importorskip('torchvision')
    deployed = res2net_mm.deploy(torchvision.models.resnet18().eval(), x, rounds=1)
    assert deployed.treatment != 'prepacked' and 'Res2Net' in deployed.timings['prepacked']


def test_every_treatment_is_measured_and_the_fastest_kept(monkeypatch):
    model = build('res2net50_26w_4s')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)
    deployed = res2net_mm.deploy(model, x, rounds=1)
    assert isinstance(deployed, Deployed) and set(deployed.timings) == set(TREATMENTS) - {'inductor'}
    assert deployed.treatment == min(deployed.timings, key=deployed.timings.get)
    assert_close(reference, deployed(x))


@pytest.mark.parametrize('treatment', ['eager', 'prepacked'])
def test_deploy_is_a_snapshot_of_the_weights(treatment):
    model = build('res2net50_26w_4s')
    x = torch.randn(1, 3, 64, 64)
    deployed = res2net_mm.deploy(model, x, rounds=1, treatments=[treatment])
    before = deployed(x)[0].clone()
    with torch.no_grad():
        model.layer4[0].conv1.weight.mul_(2)
    assert torch.equal(deployed(x)[0], before)  # re-deploy after changing weights
    assert not torch.equal(model(x)[0], before)


@pytest.mark.parametrize('kwargs,message', [
    (dict(treatments=['tensorrt']), "'tensorrt'"),
    (dict(treatments=[]), 'non-empty'),
    (dict(rounds=0), 'rounds must be an int >= 1, got 0'),
])
def test_invalid_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        res2net_mm.deploy(build('res2net50_26w_4s'), torch.randn(1, 3, 32, 32), **kwargs)


def test_the_example_must_be_an_image_batch():
    with pytest.raises(ValueError, match='4-d'):
        res2net_mm.deploy(build('res2net50_26w_4s'), torch.randn(3, 32, 32))
