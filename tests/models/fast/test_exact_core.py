"""``impl='fast'`` computes what ``impl='reference'`` (the plain modules of
Eq. 1) computes from the same module's current weights, however they were
changed: every test runs both on one model and compares."""
import copy
import weakref

import pytest
import torch
import torch.nn as nn

from res2net_mm.models import Res2Net
from res2net_mm.models.fast import dispatch as fast
from res2net_mm.models.fast import torch_ops
from tests.conftest import randomize_norms

LAYOUTS = [
    dict(arch='res2net50_26w_4s'),
    dict(arch='res2net50_v1b_26w_4s'),  # deep stem, avg-pool shortcut
    dict(arch='se_res2net50_26w_4s'),  # SE before the residual add
    dict(arch='res2next50'),  # grouped split convs
    dict(arch='res2net50_14w_8s', with_cp=True),
    dict(arch=dict(depth=50, base_width=64, scales=1)),  # a ResNet bottleneck
    dict(arch='res2net50_48w_2s', style='caffe', stage_pool='strided',
         strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
    dict(arch='res2net50_26w_4s', memory_format='contiguous', plugins=[
        dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv2'),
        dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv3', postfix='3')]),
    dict(arch='res2net50_26w_4s', norm_cfg=dict(type='GN', num_groups=2)),
]


def build(seed=0, **kwargs):
    """A model with torch's default random init (mmengine's init_weights
    logs every tensor: slow, and no more random)."""
    torch.manual_seed(seed)
    return Res2Net(**dict(dict(arch='res2net50_26w_4s'), **kwargs))


def run(model, x, impl, grad=False):
    model.impl = impl
    try:
        with torch.set_grad_enabled(grad):
            return model(x)
    finally:
        model.impl = 'fast'


def assert_same(ref, got, rtol=1e-5, exact=None):
    """Same shapes, NaN and Inf where the reference has them, finite values
    equal to ``rtol`` of the feature scale. With ``exact`` (the reference in
    float64), float32 results are held to the reference's own accuracy
    instead: deep random nets amplify float32 rounding past any fixed rtol,
    in both paths alike."""
    for i, (r, g) in enumerate(zip(ref, got, strict=True)):
        assert g.shape == r.shape and g.dtype == r.dtype and g.is_contiguous()
        assert torch.equal(r.isnan(), g.isnan()), 'NaN where the reference has none or v.v.'
        assert torch.equal(r.isinf(), g.isinf()), 'Inf where the reference has none or v.v.'
        finite = r.isfinite()
        if not finite.any():
            continue
        scale = r[finite].abs().max().clamp_min(1e-30)
        error = (g[finite] - r[finite]).abs().max()
        if exact is None:
            assert error <= rtol * scale, f'output {i}: error {error:.3g} vs scale {scale:.3g}'
        else:
            e = exact[i][finite]
            ref_error = (r[finite].double() - e).abs().max()
            fast_error = (g[finite].double() - e).abs().max()
            assert fast_error <= 4 * ref_error + rtol * scale, (
                f'output {i}: fast {fast_error:.3g}, reference {ref_error:.3g} from float64')


def check_inference(model, x, rtol=1e-5):
    """Fast == reference under no_grad and with autograd on (float32: as
    accurate as the reference, measured against the reference in float64);
    returns the fast no_grad outputs."""
    exact = None
    if x.dtype == torch.float32:
        exact = run(copy.deepcopy(model).double(), x.double(), 'reference')
    got = run(model, x, 'fast')
    assert_same(run(model, x, 'reference'), got, rtol, exact)
    assert_same(run(model, x, 'reference', grad=True), run(model, x, 'fast', grad=True),
                rtol, exact)
    return got


NEEDS_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
# The devices the equality tests run on (tools/gpu_check.sh selects '-k cuda'):
# impl='auto' takes the fast path only on device types proven here.
DEVICES = ['cpu', pytest.param('cuda', marks=NEEDS_CUDA)]


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('kwargs', LAYOUTS, ids=lambda k: str(k.get('arch'))[:20])
@pytest.mark.parametrize('size', [(1, 45, 37), (2, 32, 32)])
def test_fast_equals_reference_at_inference(kwargs, size, device):
    model = randomize_norms(build(**kwargs)).eval().to(device)
    torch.manual_seed(1)
    check_inference(model, torch.randn(*size[:1], 3, *size[1:]).to(device))


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('kwargs', LAYOUTS, ids=lambda k: str(k.get('arch'))[:20])
def test_fast_equals_reference_in_training_float64(kwargs, device):
    """Train mode (batch statistics, running statistics updated) in float64:
    outputs, every gradient and every buffer after the step."""
    model = build(**kwargs).double().train().to(device)
    twin = copy.deepcopy(model)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64, device=device,
                    requires_grad=True)  # 2x2 maps in stage 4:
    # batch statistics over fewer values amplify even float64 rounding
    results = []
    for m, impl in ((model, 'reference'), (twin, 'fast')):
        m.impl = impl
        x.grad = None
        outs = m(x)
        torch.manual_seed(2)
        sum((o * torch.randn_like(o)).sum() for o in outs).backward()
        results.append((outs, x.grad.clone(), dict(m.named_parameters()), dict(m.named_buffers())))
    (outs_r, gx_r, params_r, bufs_r), (outs_f, gx_f, params_f, bufs_f) = results
    assert_same(outs_r, outs_f, 1e-10)
    assert_same([gx_r], [gx_f], 1e-10)
    for name, p in params_r.items():
        assert_same([p.grad], [params_f[name].grad], 1e-9)
    for name, b in bufs_r.items():
        assert torch.allclose(b, bufs_f[name], rtol=1e-10, atol=1e-12), name


def test_stale_weights_issue_example():
    """The issue's example: training-mode forwards change BN statistics (no
    version bump); the next eval forward must see them."""
    model = build().eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        y0 = model(x)
        model.train()
        for _ in range(2):
            model(torch.randn(2, 3, 32, 32) * 3 + 1)
        model.eval()
        y1 = model(x)
    assert not torch.equal(y0[-1], y1[-1])
    assert torch.equal(check_inference(model, x)[-1], y1[-1])


@pytest.mark.parametrize('edit', ['data_mul', 'data_copy', 'data_fill', 'param_inplace',
                                  'buffer_data', 'replace_param'])
def test_weight_edits_are_seen(edit):
    model = randomize_norms(build()).eval()
    x = torch.randn(1, 3, 32, 32)
    before = check_inference(model, x)
    block = model.layer2[0]
    with torch.no_grad():
        if edit == 'data_mul':
            block.convs[0].weight.data.mul_(3)
        elif edit == 'data_copy':
            block.conv1.weight.data.copy_(torch.randn_like(block.conv1.weight))
        elif edit == 'data_fill':
            block.bn3.weight.data.fill_(2.0)
        elif edit == 'param_inplace':
            block.bns[1].bias.add_(1.0)
        elif edit == 'buffer_data':
            block.bn1.running_var.data.mul_(4)
        else:
            block.conv3.weight = nn.Parameter(torch.randn_like(block.conv3.weight))
    after = check_inference(model, x)
    assert not torch.equal(before[-1], after[-1])


@pytest.mark.parametrize('assign', [False, True])
def test_load_state_dict_is_seen(assign):
    model = build().eval()
    x = torch.randn(1, 3, 32, 32)
    before = check_inference(model, x)
    other = randomize_norms(build(seed=1))
    model.load_state_dict(other.state_dict(), assign=assign)
    after = check_inference(model, x)
    assert not torch.equal(before[-1], after[-1])
    assert_same(run(other.eval(), x, 'reference'), after)


def test_optimizer_steps_are_seen():
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(1, 3, 32, 32)
    outputs = []
    for _ in range(2):
        model.train()
        loss = sum(o.mean() for o in model(torch.randn(2, 3, 32, 32)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        outputs.append(check_inference(model.eval(), x))
    assert not torch.equal(outputs[0][-1], outputs[1][-1])


def test_bn_recalibration_and_frozen_weights_with_bn_in_train_mode():
    """Running statistics recomputed under no_grad in train mode (BN
    recalibration), with every weight frozen (requires_grad=False)."""
    model = build().eval()
    for p in model.parameters():
        p.requires_grad = False
    x = torch.randn(1, 3, 32, 32)
    before = check_inference(model, x)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 32, 32) + 0.5)
    model.train()(torch.randn(2, 3, 32, 32))  # with autograd on, nothing to train
    after = check_inference(model.eval(), x)
    assert not torch.equal(before[-1], after[-1])


def test_dtype_moves():
    model = randomize_norms(build()).eval()
    x = torch.randn(1, 3, 32, 32)
    check_inference(model, x)
    model.double()
    got = check_inference(model, x.double(), rtol=1e-12)
    assert got[0].dtype == torch.float64
    model.float()
    check_inference(model, x)
    model.to(torch.bfloat16)  # the fast path declines bf16: the reference runs
    assert torch.equal(run(model, x.bfloat16(), 'fast')[-1],
                       run(model, x.bfloat16(), 'reference')[-1])


@NEEDS_CUDA
def test_device_moves():
    model = randomize_norms(build()).eval()
    x = torch.randn(1, 3, 32, 32)
    check_inference(model, x)
    model.cuda()
    check_inference(model, x.cuda(), rtol=1e-4)
    model.cpu()
    check_inference(model, x)


@pytest.mark.parametrize('kwargs', LAYOUTS[:4], ids=lambda k: str(k.get('arch'))[:20])
@pytest.mark.parametrize('value', [float('nan'), float('inf'), -float('inf')])
def test_nan_and_inf_inputs_propagate_as_in_the_reference(kwargs, value):
    model = randomize_norms(build(**kwargs)).eval()
    x = torch.randn(2, 3, 32, 32)
    x[0] = value  # a whole image
    x[1, :, 10, 20] = value  # one pixel
    got = check_inference(model, x)
    if value != value:  # NaN reaches the outputs
        assert got[-1][0].isnan().all() and got[-1][1].isnan().any()


def test_fast_adds_no_parameters_buffers_or_state():
    fast_model, ref_model = build(), build(impl='reference')
    assert fast_model.state_dict().keys() == ref_model.state_dict().keys()
    before = {k: v.clone() for k, v in fast_model.state_dict().items()}
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        fast_model.eval()(x)
    assert all(torch.equal(before[k], v) for k, v in fast_model.state_dict().items())
    assert [n for n, _ in fast_model.named_modules()] == [n for n, _ in ref_model.named_modules()]
    caches = [name for name, value in vars(fast).items()  # no module-level caches
              if not name.startswith('__') and isinstance(value, (dict, weakref.WeakKeyDictionary))]
    assert not caches, caches


def test_impl_switch_is_validated():
    with pytest.raises(ValueError, match="impl must be one of .* got 'fastest'"):
        Res2Net(impl='fastest')
    model = Res2Net()
    with pytest.raises(ValueError, match="got 'slow'"):
        model.impl = 'slow'
    with pytest.raises(ValueError, match='memory_format'):
        Res2Net(impl='reference', memory_format='channels_last')


def test_public_op_fallback_when_private_ops_are_missing(monkeypatch):
    """On a torch without the private ops, training takes no lean op: the
    fast path's dispatch (channels-last, splits) over the plain modules,
    still equal to the reference."""
    monkeypatch.setattr(torch_ops, 'AVAILABLE', False)
    test_fast_equals_reference_in_training_float64(dict(arch='res2net50_26w_4s'), 'cpu')


def test_fast_path_under_tracing_is_the_reference():
    model = randomize_norms(build()).eval()
    x = torch.randn(1, 3, 32, 32)
    traced = torch.jit.trace(model, x, check_trace=False)
    assert_same(run(model, x, 'reference'), traced(x))


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_fast_inference_under_autocast_is_as_close_as_the_reference(dtype):
    """Under autocast the fast path folds nothing (autocast rounds a conv's
    weight before its norm, a fold would round after it) and lands as close
    to float32 as the plain modules under autocast (relative L2 error per
    stage output within 1.5x theirs)."""
    model = randomize_norms(build()).eval()
    x = torch.randn(2, 3, 64, 64)
    exact = run(model, x, 'reference')
    with torch.autocast('cpu', dtype=dtype):
        assert not fast.can_fold(model.conv1, model.bn1, x)
        got, ref = run(model, x, 'fast'), run(model, x, 'reference')
    for g, r, e in zip(got, ref, exact):
        assert g.dtype == r.dtype == dtype
        ours, plain = ((t.float() - e).norm() / e.norm() for t in (g, r))
        assert 1e-4 < plain and ours <= 1.5 * plain, (ours, plain)


def _ema_run(impl, work_dir, ema=True):
    """3 training iterations of a float64 toy classifier with mmengine's
    EMAHook (EMA weights swapped in through ``.data`` before each
    validation); returns the validation metrics of every iteration."""
    import torch.nn.functional as F
    from mmengine.evaluator import BaseMetric
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Classifier(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = Res2Net('res2net50_26w_4s', out_indices=(3, ), impl=impl)
            self.head = nn.Linear(2048, 2)

        def forward(self, inputs, labels, mode='tensor'):
            x = torch.stack(inputs).to(self.head.weight.dtype)
            logits = self.head(self.backbone(x)[0].mean((2, 3)))
            if mode == 'loss':
                return dict(loss=F.cross_entropy(logits, torch.stack(labels)))
            return logits

    class LogitMetric(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.append(torch.stack(data_samples).detach())

        def compute_metrics(self, results):
            logits = torch.cat(results)
            return dict(mean=logits.mean().item(), norm=logits.norm().item())

    gen = torch.Generator().manual_seed(0)
    # 64 px: 2x2 maps in stage 4 (batch statistics of 1x1 maps amplify rounding)
    data = [dict(inputs=torch.randn(3, 64, 64, generator=gen), labels=torch.tensor(i % 2))
            for i in range(8)]
    loader = dict(dataset=data, batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    torch.manual_seed(0)
    model = Classifier().double()
    runner = Runner(
        model=model, work_dir=str(work_dir), train_dataloader=loader, val_dataloader=loader,
        val_evaluator=[LogitMetric()], val_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=3, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        custom_hooks=[dict(type='EMAHook', momentum=0.5)] if ema else [],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=-1, save_last=False)),
        randomness=dict(seed=0), default_scope='mmengine')
    recorded = []

    class Recorder(Hook):
        def after_val_epoch(self, runner, metrics=None):
            recorded.append(dict(metrics))

    runner.register_hook(Recorder(), priority='LOWEST')
    runner.train()
    return recorded


def test_ema_hook_validation_equals_reference(tmp_path):
    """A real mmengine run with EMAHook: the fast path validates the EMA
    weights exactly as the reference does, at every iteration."""
    fast_metrics = _ema_run('fast', tmp_path / 'fast')
    ref_metrics = _ema_run('reference', tmp_path / 'reference')
    assert len(fast_metrics) == len(ref_metrics) == 3
    for f, r in zip(fast_metrics, ref_metrics):
        assert f.keys() == r.keys()
        for key in r:
            assert f[key] == pytest.approx(r[key], rel=1e-9, abs=1e-12), key
    raw_metrics = _ema_run('fast', tmp_path / 'raw', ema=False)
    assert raw_metrics[-1]['norm'] != pytest.approx(fast_metrics[-1]['norm'], rel=1e-6)


@pytest.mark.parametrize('kwargs', LAYOUTS[:4] + [LAYOUTS[6]], ids=lambda k: str(k.get('arch'))[:20])
def test_fuse_conv_bn_deploy_step_keeps_the_function(kwargs):
    """The explicit deploy step folds every BN of ours into its conv (norms
    become Identity); both impls of the fused model compute what the model
    computed before."""
    from res2net_mm.models import fuse_conv_bn
    model = randomize_norms(build(**kwargs)).eval()
    x = torch.randn(2, 3, 45, 37)
    expected = run(model, x, 'reference')
    exact = run(copy.deepcopy(model).double(), x.double(), 'reference')
    fuse_conv_bn(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    for impl in ('reference', 'fast'):
        assert_same(expected, run(model, x, impl), 1e-5, exact)


@pytest.mark.parametrize('mode', ['eval', 'train'])
@pytest.mark.parametrize('grad', [False, True])
def test_empty_batch_and_wrong_channels_behave_as_torchvision(mode, grad):
    """A 0-image batch gives empty outputs (torchvision's ResNet does too),
    in both impls, leaving the BN statistics as the reference does; a wrong
    channel count is torch's conv error, naming both counts."""
    torchvision = pytest.importorskip('torchvision')
    model, resnet = build(), torchvision.models.resnet50()
    getattr(model, mode)()
    getattr(resnet, mode)()
    empty = torch.randn(0, 3, 64, 64)
    with torch.set_grad_enabled(grad):
        assert resnet(empty).shape == (0, 1000)
        outs = {}
        for impl in ('reference', 'fast'):
            before = copy.deepcopy(model.state_dict())
            outs[impl] = run(model, empty, impl, grad)
            buffers = copy.deepcopy(model.state_dict())  # load_state_dict copies in place
            model.load_state_dict(before)
            outs[impl + '_buffers'] = buffers
    for impl in ('reference', 'fast'):
        assert [tuple(o.shape) for o in outs[impl]] == [
            (0, c, 64 // s, 64 // s) for c, s in zip(model.out_channels, model.out_strides)]
    for key, value in outs['reference_buffers'].items():
        assert torch.equal(value, outs['fast_buffers'][key]) or (
            value.isnan().all() and outs['fast_buffers'][key].isnan().all()), key
    for impl in ('reference', 'fast'):
        with pytest.raises(RuntimeError, match='expected input.*to have 3 channels, but got 4'):
            run(model, torch.randn(1, 4, 64, 64), impl, grad)
    with pytest.raises(RuntimeError, match='to have 3 channels, but got 4'):
        resnet(torch.randn(1, 4, 64, 64))
