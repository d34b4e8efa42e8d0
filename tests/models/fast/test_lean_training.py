"""The memory-lean training ops (res2net_mm/models/lean.py) against the plain
autograd ops they stand in for, and what they keep for backward against
mmdet's ResNet-50."""
import copy
import gc
import weakref

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from res2net_mm.models import Res2Net
from res2net_mm.models.fast import lean


def _norm_pair(momentum, track):
    torch.manual_seed(0)
    norm = nn.BatchNorm2d(6, momentum=momentum, track_running_stats=track)
    nn.init.uniform_(norm.weight, -1.5, 1.5)  # negative scales too
    nn.init.normal_(norm.bias)
    return norm, copy.deepcopy(norm)


def _consumers(out, conv):
    # Ops that keep the output or views of it for backward, as in a block:
    # a conv of one split, a conv of all of it, a pooled split.
    return (conv(out[:, :3]).sum() * 0.5 + (conv(out[:, 3:]) * out[:, 3:]).mean()
            + F.avg_pool2d(out[:, 1:4], 3, 2, 1).square().sum())


@pytest.mark.parametrize('memory_format', [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize('momentum,track', [(0.1, True), (None, True), (0.1, False)])
@pytest.mark.parametrize('training', [True, False])
def test_norm_relu_equals_batchnorm_then_relu(memory_format, momentum, track, training):
    """Outputs, gradients of input and affine terms, running statistics and
    num_batches_tracked as BatchNorm2d + ReLU, over two steps, with the
    output recomputed for the ops that kept it; in training mode and in
    eval mode (mmdet's norm_eval: running statistics, trained affine terms)."""
    lean_bn, plain_norm = _norm_pair(momentum, track)
    if track:
        lean_bn.running_mean.normal_()
        lean_bn.running_var.uniform_(0.5, 2)
        plain_norm.load_state_dict(lean_bn.state_dict())
    lean_bn.train(training)
    plain_norm.train(training)
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    for step in range(2):
        x = torch.randn(4, 6, 9, 11).contiguous(memory_format=memory_format)
        results = []
        for norm in (lean_bn, plain_norm):
            x_ = x.clone().requires_grad_()
            with lean.recomputing_norm_relu():
                assert lean.can_norm_relu(norm, x_)
                out = lean.norm_relu(norm, x_) if norm is lean_bn else F.relu(norm(x_))
                loss = _consumers(out, conv)
            grads = torch.autograd.grad(loss, (x_, norm.weight, norm.bias))
            results.append((out.detach(), *grads))
        for got, expected in zip(*results):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        assert results[0][0].is_contiguous(memory_format=memory_format)
        for name, buffer in plain_norm.named_buffers():
            torch.testing.assert_close(getattr(lean_bn, name), buffer, rtol=1e-6, atol=0)


def test_norm_relu_recomputes_what_consumers_kept():
    """Inside recomputing_norm_relu an op that saved the output (a view of
    it) gets a recomputed copy with the same values, not the output's
    memory; a retained graph backwards twice alike."""
    norm = nn.BatchNorm2d(4)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with lean.recomputing_norm_relu():
        out = lean.norm_relu(norm, x)
        loss = conv(out[:, 2:]).square().sum()
    conv_node = loss.grad_fn.next_functions[0][0].next_functions[0][0]  # sum <- pow <- conv
    assert conv_node.name().startswith('ConvolutionBackward')
    saved = conv_node._saved_input
    assert torch.equal(saved, out[:, 2:])
    assert saved.untyped_storage().data_ptr() != out.untyped_storage().data_ptr()
    first = torch.autograd.grad(loss, x, retain_graph=True)[0]
    second = torch.autograd.grad(loss, x)[0]
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_norm_relu_output_changed_in_place_is_kept_as_changed():
    """An op that saves the output after an in-place change keeps the
    changed tensor (a recomputation would give the unchanged one): the
    gradients of the same ops without in-place changes."""
    results = []
    for use_lean in (True, False):
        norm, _ = _norm_pair(0.1, True)
        x = torch.randn(2, 6, 5, 5, generator=torch.Generator().manual_seed(2),
                        requires_grad=True)
        if use_lean:
            with lean.recomputing_norm_relu():
                changed = lean.norm_relu(norm, x).mul_(3).add_(1)
                loss = changed.pow(3).sum()
        else:
            changed = F.relu(norm(x)) * 3 + 1
            loss = changed.pow(3).sum()
        results.append(torch.autograd.grad(loss, (x, norm.weight)))
    for got, expected in zip(*results):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * expected.abs().max())


def test_a_graph_dropped_without_backward_is_freed():
    """What ops keep inside recomputing_norm_relu holds no reference back to
    their graph: a graph that no backward frees (none runs, or it retains
    the graph, as Grad-CAM does) goes with its last reference."""
    norm = nn.BatchNorm2d(4)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    with lean.recomputing_norm_relu():
        out = lean.norm_relu(norm, x).mul(2).relu_()  # relu_ keeps its own output
    kept = weakref.ref(out)
    del out
    gc.collect()
    assert kept() is None


def test_norm_relu_without_gradients_is_kept_by_its_consumers():
    """A frozen norm on an input without gradient records no node: a
    trainable op after it keeps the output itself."""
    norm = nn.BatchNorm2d(4).eval().requires_grad_(False)
    conv = nn.Conv2d(4, 4, 1, bias=False)
    x = torch.randn(2, 4, 5, 5)
    with lean.recomputing_norm_relu():
        loss = conv(lean.norm_relu(norm, x)).square().sum()
    grad, = torch.autograd.grad(loss, conv.weight)
    expected, = torch.autograd.grad(conv(F.relu(norm(x))).square().sum(), conv.weight)
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize('training', [True, False])
def test_norm_relu_backward_is_differentiable_again(training):
    """A gradient penalty (create_graph=True) gets BatchNorm + ReLU's
    second derivatives."""
    results = []
    for use_lean in (True, False):
        norm, _ = _norm_pair(0.1, True)
        norm.train(training)
        x = torch.randn(3, 6, 5, 5, generator=torch.Generator().manual_seed(1),
                        requires_grad=True)
        out = lean.norm_relu(norm, x) if use_lean else F.relu(norm(x))
        grad_x, = torch.autograd.grad(out.square().sum(), x, create_graph=True)
        results.append(torch.autograd.grad(grad_x.square().sum(), (x, norm.weight)))
    for got, expected in zip(*results):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_norm_relu_rejects_one_value_per_channel_as_batchnorm_does():
    norm = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        lean.norm_relu(norm, torch.randn(1, 3, 1, 1, requires_grad=True))


def test_plain_ops_where_lean_ones_do_not_apply():
    norm = nn.BatchNorm2d(3)
    x = torch.randn(2, 3, 4, 4)
    assert lean.can_norm_relu(norm, x)
    assert lean.can_norm_relu(nn.BatchNorm2d(3).eval(), x)  # running statistics
    assert not lean.can_norm_relu(nn.SyncBatchNorm(3), x)
    assert not lean.can_norm_relu(nn.BatchNorm2d(3, affine=False), x)
    assert not lean.can_norm_relu(norm, x.half())
    with torch.no_grad():
        assert not lean.can_norm_relu(norm, x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not lean.can_norm_relu(norm, x)  # float32 input: not a conv output
        assert lean.can_norm_relu(norm, x.bfloat16())  # BatchNorm's mixed kernels
        assert not lean.can_norm_relu(norm, x.half())  # not autocast's dtype
        assert not lean.can_norm_relu(nn.BatchNorm2d(3).bfloat16(), x.bfloat16())


def _plain_ops(model):
    """The reference: the plain modules, autograd's own backward."""
    model.impl = 'reference'


def _train_step(model, state, x, weights):
    model.load_state_dict(state)
    model.zero_grad()
    outs = model(x)
    sum((o * w).sum() for o, w in zip(outs, weights)).backward()
    return ([o.detach() for o in outs],
            {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None},
            copy.deepcopy(model.state_dict()))


def _relative_errors(got, expected):
    """Largest error relative to the largest value, per output / gradient /
    buffer."""
    outs, grads, state = got
    ref_outs, ref_grads, ref_state = expected
    assert grads.keys() == ref_grads.keys()
    errors = {f'out{i}': (a.double() - b.double()).abs().max() / b.abs().max()
              for i, (a, b) in enumerate(zip(outs, ref_outs))}
    # Own key prefixes: a parameter's name is also its state-dict key.
    errors.update({f'grad {n}': (grads[n].double() - g.double()).abs().max() / g.abs().max()
                   for n, g in ref_grads.items()})
    errors.update({f'state {n}': (state[n].double() - v.double()).abs().max()
                   / v.abs().max().clamp(min=1) for n, v in ref_state.items()})
    return {n: e.item() for n, e in errors.items()}


@pytest.mark.parametrize('kwargs', [
    dict(arch='res2net50_26w_4s'),
    dict(arch='res2net50_v1b_26w_4s', memory_format='contiguous'),  # deep stem
    dict(arch='res2next50', memory_format='contiguous'),
    dict(arch='res2net50_14w_8s', with_cp=True),
    dict(arch='res2net50_26w_4s', norm_eval=True, frozen_stages=1),  # mmdet's setting
])
def test_lean_training_equals_plain_autograd(kwargs):
    """The backbone's lean training path (JoinedInputConv, norm_relu with
    recomputed outputs) gives the outputs, gradients and running statistics
    of the plain ops: in float64, to 1e-10."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 48, 56, dtype=torch.float64)
    model = Res2Net(**kwargs, zero_init_residual=False).double().train()
    model.init_weights()
    state = copy.deepcopy(model.state_dict())
    weights = [torch.randn_like(o) for o in model(x)]
    lean_results = _train_step(model, state, x, weights)
    _plain_ops(model)
    errors = _relative_errors(lean_results, _train_step(model, state, x, weights))
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-10, f'{worst}: relative error {errors[worst]:.2g}'


def test_lean_training_in_float32_is_as_exact_as_the_plain_ops():
    """In float32, training-mode BatchNorm over few values per channel
    (2x2 maps in stage 4 here) amplifies rounding, and any two orders of
    float32 ops drift apart by up to ~1e-4; measured against float64, the
    lean path stays as close as the plain one."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 48, 56, dtype=torch.float64)
    model = Res2Net('res2net50_26w_4s', zero_init_residual=False).double().train()
    model.init_weights()
    state64 = copy.deepcopy(model.state_dict())
    weights = [torch.randn_like(o) for o in model(x)]
    _plain_ops(model)
    exact = _train_step(model, state64, x, weights)  # the reference, in float64
    model.impl = 'fast'
    model.float()
    state32 = {n: v.float() if v.is_floating_point() else v for n, v in state64.items()}
    weights32 = [w.float() for w in weights]
    lean_errors = _relative_errors(_train_step(model, state32, x.float(), weights32), exact)
    _plain_ops(model)
    plain_errors = _relative_errors(_train_step(model, state32, x.float(), weights32), exact)
    for name, error in lean_errors.items():
        assert error <= 4 * plain_errors[name] + 1e-6, (
            f'{name}: lean {error:.2g}, plain {plain_errors[name]:.2g} from float64')


def _kept_bytes(model, x, monkeypatch):
    """Bytes of the distinct activation storages (not parameters) autograd
    keeps for backward after a training forward; recomputed outputs count
    nothing."""
    kept = {}
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def record(packed):
        if (isinstance(packed, torch.Tensor)
                and packed.untyped_storage().data_ptr() not in params):
            storage = packed.untyped_storage()
            kept[storage.data_ptr()] = storage.nbytes()
        return packed

    pack = lean._pack
    monkeypatch.setattr(lean, '_pack', lambda t: record(pack(t)))
    with torch.autograd.graph.saved_tensors_hooks(record, lambda t: t):
        model(x)  # ours replaces these hooks with recomputing_norm_relu's
    return sum(kept.values())


@pytest.mark.parametrize('norm_eval', [False, True])
def test_training_keeps_less_than_resnet50(norm_eval, monkeypatch):
    """What a training forward keeps for backward, against mmdet's ResNet-50
    at the same input: the plain ops keep ~30% more (a 26w x 4s block's maps
    are wider: 104 channels after conv1 where ResNet has 64), the lean path
    ~10% less."""
    backbones = pytest.importorskip('mmdet.models.backbones')
    torch.manual_seed(0)
    x = torch.randn(2, 3, 128, 128)
    resnet = backbones.ResNet(depth=50, norm_eval=norm_eval)
    resnet.train()
    reference = _kept_bytes(resnet, x, monkeypatch)
    model = Res2Net('res2net50_26w_4s', norm_eval=norm_eval, memory_format='contiguous').train()
    ours = _kept_bytes(model, x, monkeypatch)
    _plain_ops(model)
    plain = _kept_bytes(model, x, monkeypatch)
    print(f'kept for backward: ours {ours / reference:.2f}x, plain ops '
          f'{plain / reference:.2f}x ResNet-50')
    assert plain > 1.2 * reference
    assert ours < 0.95 * reference


def test_gradient_penalty_through_the_backbone_equals_plain_autograd():
    """Backward of backward (create_graph=True, e.g. a gradient penalty)
    through the lean ops gives the plain ops' parameter gradients."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    model = Res2Net('res2net50_26w_4s', zero_init_residual=False, out_indices=(1, )).double()
    model.init_weights()
    model.train()
    state = copy.deepcopy(model.state_dict())
    results = []
    for plain in (False, True):
        if plain:
            _plain_ops(model)
        model.load_state_dict(state)
        model.zero_grad()
        grad_x, = torch.autograd.grad(model(x)[0].square().sum(), x, create_graph=True)
        grad_x.square().sum().backward()
        results.append({n: p.grad.clone() for n, p in model.named_parameters()
                        if p.grad is not None})
    assert results[0].keys() == results[1].keys() and len(results[0]) > 100
    for name, grad in results[1].items():
        torch.testing.assert_close(results[0][name], grad, rtol=1e-9, atol=1e-12 * grad.abs().max())


NEEDS_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
AUTOCAST = [('cpu', torch.bfloat16), ('cpu', torch.float16),
            pytest.param('cuda', torch.float16, marks=NEEDS_CUDA),
            pytest.param('cuda', torch.bfloat16, marks=NEEDS_CUDA)]


def _amp_step(model, state, x, impl, dtype):
    """One training forward + backward under autocast to ``dtype`` (None: plain
    float32); outputs, gradients and buffers as float32."""
    model.load_state_dict(state)
    model.zero_grad()
    model.impl = impl
    with torch.autocast(x.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        outs = model(x)
    # Random weights: a plain sum of BN-normalized maps has ~zero gradient,
    # whose rounding noise would be all there is to compare.
    weights = torch.Generator(x.device).manual_seed(1)
    sum((o.float() * torch.randn(o.shape, generator=weights, device=x.device)).sum()
        for o in outs).backward()
    # Copies: .float() of a float32 tensor is the tensor itself, which the next
    # step's load_state_dict / zero_grad would overwrite in place.
    return ([o.detach().float() for o in outs],
            {n: p.grad.float().clone() for n, p in model.named_parameters() if p.grad is not None},
            {n: b.float().clone() for n, b in model.state_dict().items() if b.is_floating_point()})


def _l2_errors(got, expected):
    """Relative L2 error of each output, of all gradients together and of all
    floating-point buffers together, and of each gradient and buffer on its
    own (keys 'gradient NAME', 'buffer NAME')."""
    def joined(tensors, names):
        return torch.cat([tensors[n].flatten() for n in names])

    def error(a, b):
        return ((a - b).norm() / b.norm().clamp(min=1e-30)).item()

    errors = {f'out{i}': error(a, b) for i, (a, b) in enumerate(zip(got[0], expected[0], strict=True))}
    for i, key in ((1, 'gradient'), (2, 'buffer')):
        names = list(expected[i])
        assert got[i].keys() == expected[i].keys()
        errors[f'{key}s'] = error(joined(got[i], names), joined(expected[i], names))
        errors.update({f'{key} {n}': error(got[i][n], expected[i][n]) for n in names})
    return errors


@pytest.mark.parametrize('device,dtype', AUTOCAST)
@pytest.mark.parametrize('memory_format', ['channels_last', 'contiguous'])
def test_lean_training_under_autocast_is_as_close_as_the_plain_ops(device, dtype, memory_format,
                                                                 monkeypatch):
    """Training under autocast takes the lean ops (norm_relu on the
    low-precision conv outputs with float32 statistics, joined-input convs
    in autocast's dtype) and lands as close to float32 training as the
    plain modules under autocast do: outputs, every gradient, every BN
    buffer (relative L2 errors within 1.25x the plain ops' own + 1e-4; per
    gradient or buffer, where a small layer's error is mostly low-precision
    noise in either path (up to ~0.55 in bfloat16), within 1.4x + 0.1: a
    wrong gradient of one norm is an error of ~1)."""
    used = []
    apply = lean._NormReLU.apply
    monkeypatch.setattr(lean._NormReLU, 'apply', lambda *a: used.append(1) or apply(*a))
    torch.manual_seed(0)
    model = Res2Net('res2net50_26w_4s', memory_format=memory_format).to(device).train()
    with torch.no_grad():  # a trained net's scale of the residual branch, not zero-init's 0
        for name, module in model.named_modules():
            if name.endswith('bn3'):
                module.weight.uniform_(0.1, 0.3)
    state = copy.deepcopy(model.state_dict())
    x = torch.randn(2, 3, 64, 64, device=device)
    exact = _amp_step(model, state, x, 'reference', None)
    plain = _l2_errors(_amp_step(model, state, x, 'reference', dtype), exact)
    assert not used
    ours = _l2_errors(_amp_step(model, state, x, 'fast', dtype), exact)
    assert len(used) > 50  # every BN+ReLU of the blocks and the stem
    assert ours.keys() == plain.keys() and len(ours) > 600
    for name, error in ours.items():
        per_tensor = name.startswith(('gradient ', 'buffer '))
        bound = 1.4 * plain[name] + 0.1 if per_tensor else 1.25 * plain[name] + 1e-4
        assert error <= bound, f'{name}: lean {error:.3g}, plain {plain[name]:.3g} from float32'
    assert plain['out3'] > 1e-3  # autocast did run in low precision


@pytest.mark.parametrize('device,dtype', AUTOCAST[:1] + AUTOCAST[2:])
def test_training_under_autocast_keeps_less_than_the_plain_ops(device, dtype, monkeypatch):
    """What a training forward under autocast keeps for backward (autocast's
    low-precision copies of the weights included): ours ~0.87x of the plain
    modules under the same autocast, and less than mmdet's ResNet-50 there."""
    backbones = pytest.importorskip('mmdet.models.backbones')
    torch.manual_seed(0)
    x = torch.randn(2, 3, 128, 128, device=device)
    resnet = backbones.ResNet(depth=50).to(device)
    resnet.train()
    model = Res2Net('res2net50_26w_4s').to(device).train()
    with torch.autocast(device, dtype=dtype):
        reference = _kept_bytes(resnet, x, monkeypatch)
        ours = _kept_bytes(model, x, monkeypatch)
        _plain_ops(model)
        plain = _kept_bytes(model, x, monkeypatch)
    print(f'kept for backward under autocast: ours {ours / reference:.2f}x, plain ops '
          f'{plain / reference:.2f}x ResNet-50')
    assert ours < 0.9 * plain
    assert ours < reference
