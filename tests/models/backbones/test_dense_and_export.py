"""Deformable convs, plugins, and export (jit.trace, ONNX)."""
import copy

import pytest
import torch

from res2net_mm.models import Res2Net


@pytest.mark.parametrize('dcn', [dict(type='DCN', deform_groups=1, fallback_on_stride=False),
                                 dict(type='DCNv2', deform_groups=1)])
def test_dcn_in_split_convs_trains_on_batches(dcn):
    model = Res2Net('res2net50_26w_4s', dcn=dcn, stage_with_dcn=(False, True, True, True))
    model.init_weights()
    conv = model.layer2[1].convs[0]
    assert hasattr(conv, 'conv_offset') and not hasattr(model.layer1[1].convs[0], 'conv_offset')
    assert conv.conv_offset.weight.abs().sum() == 0  # starts as a plain conv
    model.train()
    # batch 2: channel splits are strided views, which mmcv's kernels reject.
    outs = model(torch.randn(2, 3, 96, 96))
    sum(o.mean() for o in outs).backward()
    assert conv.weight.grad is not None and conv.conv_offset.weight.grad is not None


def test_dcn_fallback_on_stride_keeps_strided_convs_plain():
    dcn = dict(type='DCN', deform_groups=1, fallback_on_stride=True)
    model = Res2Net('res2net50_26w_4s', dcn=dcn, stage_with_dcn=(False, True, True, True))
    assert type(model.layer2[0].convs[0]) is torch.nn.Conv2d
    assert hasattr(model.layer2[1].convs[0], 'conv_offset')


def test_plugins_at_every_position_get_the_right_channels():
    plugins = [
        dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(False, True, True, True),
             position='after_conv3'),
        dict(cfg=dict(type='GeneralizedAttention', spatial_range=-1, num_heads=8,
                      attention_type='0010', kv_stride=2),
             stages=(False, False, True, True), position='after_conv2'),
        dict(cfg=dict(type='NonLocal2d'), position='after_conv1'),
    ]
    model = Res2Net('res2net50_26w_4s', plugins=plugins).eval()
    assert not hasattr(model.layer1[0], 'context_block')
    assert model.layer2[0].context_block.in_channels == 512
    assert model.layer3[0].gen_attention_block.in_channels == 4 * 104
    assert model.layer1[0].nonlocal_block.in_channels == 4 * 26
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


def test_jit_trace_matches_eager():
    model = Res2Net('res2net50_v1b_26w_4s', num_stages=2, out_indices=(0, 1)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
        for a, b in zip(traced(torch.randn(2, 3, 80, 48)), model(torch.randn(2, 3, 80, 48))):
            assert a.shape == b.shape
        for a, b in zip(traced(x), model(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_onnx_export_runs_in_onnxruntime(tmp_path):
    pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    model = Res2Net('res2net50_26w_4s', out_indices=(1, 3)).eval()
    x = torch.randn(1, 3, 64, 64)
    path = str(tmp_path / 'res2net.onnx')
    torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17,
                      input_names=['image'], output_names=['c3', 'c5'])
    outs = ort.InferenceSession(path).run(None, {'image': x.numpy()})
    with torch.no_grad():
        for got, expected in zip(outs, model(x)):
            torch.testing.assert_close(torch.from_numpy(got), expected, rtol=0, atol=1e-4)


def test_torch_compile_traces_whole_graphs_in_training_and_inference():
    """torch.compile (``fullgraph=True``: any graph break fails) sees the
    plain ops, as tracing does, and matches eager mode (training compared
    in float64: float32 drifts through batch statistics of 2x2 maps). The
    aot_eager backend checks tracing without a C++ toolchain."""
    torch.manual_seed(0)
    model = Res2Net('res2net50_26w_4s', out_indices=(3, )).double().train()
    compiled = torch.compile(model, backend='aot_eager', fullgraph=True)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    state = copy.deepcopy(model.state_dict())
    compiled(x)[0].square().mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.load_state_dict(state)
    model.zero_grad()
    model(x)[0].square().mean().backward()
    for name, p in model.named_parameters():
        error = ((grads[name] - p.grad).abs().max() / p.grad.abs().max()).item()
        assert error < 1e-9, f'{name}: relative gradient error {error:.2g}'
    model.float().eval()
    with torch.no_grad():
        expected = model(x.float())[0]
        got = compiled(x.float())[0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * expected.abs().max())


@pytest.mark.parametrize('dcn', [dict(type='DCN', deform_groups=1, fallback_on_stride=False),
                                 dict(type='DCNv2', deform_groups=1)])
def test_dcn_fast_path_equals_reference(dcn):
    """Deformable split convs (not foldable, contiguous inputs): both impls
    compute the same, at inference (float32) and in training (float64:
    batch statistics of 3x3 maps amplify float32 rounding in both alike)."""
    torch.manual_seed(0)
    model = Res2Net('res2net50_26w_4s', dcn=dcn, stage_with_dcn=(False, True, True, True))
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, 'conv_offset'):
                m.conv_offset.weight.normal_(0, 0.01)  # real offsets
    x = torch.randn(2, 3, 96, 96)
    for mode, grad, dtype in (('eval', False, torch.float32), ('eval', True, torch.float32),
                              ('train', True, torch.float64)):
        getattr(model.to(dtype), mode)()
        outs = {}
        for impl in ('reference', 'fast'):
            model.impl = impl
            state = copy.deepcopy(model.state_dict())
            with torch.set_grad_enabled(grad):
                outs[impl] = [o.detach() for o in model(x.to(dtype))]
            model.load_state_dict(state)  # the same BN statistics for both
        for r, f in zip(outs['reference'], outs['fast']):
            torch.testing.assert_close(f, r, rtol=1e-5, atol=1e-5 * r.abs().max().item())
