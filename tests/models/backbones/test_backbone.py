"""Generic checks over the variant table and the OpenMMLab runtime contract."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from res2net_mm.models import ARCHS, Bottle2neck, Res2Net


# Res2Net-200 alone takes ~40 s here on 2 cores: in the slow run only.
ARCH_NAMES = [pytest.param(a, marks=pytest.mark.slow) if ARCHS[a]['depth'] == 200 else a
              for a in sorted(ARCHS)]


def small_input(batch=2, h=64, w=64):
    torch.manual_seed(0)
    return torch.randn(batch, 3, h, w)


def expected_outputs(arch):
    """Channels and strides of every stage: ImageNet nets 4 stages from
    stride 4, the CIFAR nets (stem 'cifar') 3 stages from stride 1."""
    if ARCHS[arch]['stem'] == 'cifar':
        return [256, 512, 1024], [1, 2, 4]
    return [256, 512, 1024, 2048], [4, 8, 16, 32]


@pytest.mark.parametrize('arch', ARCH_NAMES)
def test_outputs_match_declared_channels_and_strides(arch):
    model = Res2Net(arch).eval()  # default out_indices: every stage
    channels, strides = expected_outputs(arch)
    assert model.out_channels == channels
    assert model.out_strides == strides
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 97, 131))  # odd size, batch 1
    assert len(outs) == len(channels)
    for out, channels, stride in zip(outs, model.out_channels, model.out_strides):
        assert out.shape == (1, channels, -(-97 // stride), -(-131 // stride))


@pytest.mark.parametrize('arch', ARCH_NAMES)
def test_backward_reaches_every_trainable_parameter(arch):
    model = Res2Net(arch, zero_init_residual=False)
    model.init_weights()
    model.train()
    outs = model(small_input())
    sum(o.mean() for o in outs).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad
               and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, f'no gradient reached {missing[:5]}'


@pytest.mark.parametrize('out_indices', [(0,), (1, 3), (3,), (0, 1, 2, 3)])
def test_out_indices_select_stages(out_indices):
    model = Res2Net('res2net50_14w_8s', out_indices=out_indices).eval()
    with torch.no_grad():
        outs = model(small_input(1))
    assert len(outs) == len(out_indices) == len(model.out_channels)
    assert [o.shape[1] for o in outs] == [256 * 2**i for i in out_indices]


def test_frozen_stages_stay_frozen_after_train():
    model = Res2Net('res2net50_v1b_26w_4s', frozen_stages=2)
    model.train()
    frozen = [model.conv1, model.bn1, model.layer1, model.layer2]
    for module in frozen:
        assert not module.training
        assert all(not p.requires_grad for p in module.parameters())
    for module in (model.layer3, model.layer4):
        assert module.training
        assert all(p.requires_grad for p in module.parameters())


def test_norm_eval_keeps_batchnorm_in_eval_mode():
    model = Res2Net('res2net50_26w_4s', norm_eval=True)
    assert model.train() is model
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    before = model.layer4[0].bn3.running_mean.clone()
    model(small_input())
    assert torch.equal(before, model.layer4[0].bn3.running_mean)


def test_with_cp_gives_same_outputs_and_gradients():
    torch.manual_seed(0)
    ref = Res2Net('res2net50_26w_4s', zero_init_residual=False)
    ref.init_weights()
    cp = Res2Net('res2net50_26w_4s', with_cp=True)
    cp.load_state_dict(ref.state_dict())
    x = small_input()
    results = []
    for model in (ref, cp):
        model.train()
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        results.append(([o.detach() for o in outs],
                        {n: p.grad.clone() for n, p in model.named_parameters()}))
    for a, b in zip(results[0][0], results[1][0]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    for name, grad in results[0][1].items():
        torch.testing.assert_close(grad, results[1][1][name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('zero_init', [True, False])
def test_zero_init_residual_zeroes_every_last_norm(zero_init):
    model = Res2Net('se_res2net50_26w_4s', zero_init_residual=zero_init)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, Bottle2neck)]
    assert len(blocks) == 16
    for block in blocks:
        assert bool((block.bn3.weight == 0).all()) == zero_init
    # A zero-initialized block starts as relu(shortcut(x)).
    block = model.layer2[1].eval()
    x = torch.randn(1, 512, 8, 8)
    if zero_init:
        torch.testing.assert_close(block(x), torch.relu(x))


def test_stage_blocks_pool_pass_through_split_as_official():
    model = Res2Net('res2net50_26w_4s')
    for i in range(1, 5):
        layer = getattr(model, f'layer{i}')
        stride = 1 if i == 1 else 2
        assert layer[0].stage_block and layer[0].pool.stride == stride
        assert layer[0].pool.padding == 1 and layer[0].pool.count_include_pad
        assert all(not b.stage_block and b.pool is None for b in layer[1:])
    strided = Res2Net('res2net50_26w_4s', stage_pool='strided')
    assert strided.layer1[0].pool is None and strided.layer2[0].pool.stride == 2


def test_split_width_and_cardinality():
    model = Res2Net('res2next50')
    conv = model.layer1[0].convs[0]
    assert conv.groups == 8 and conv.in_channels == 32  # floor(64*4/64) * 8
    model = Res2Net('res2net50_18w_4s')
    assert [getattr(model, f'layer{i}')[0].width for i in range(1, 5)] == [18, 36, 72, 144]


def test_scales_one_is_a_resnet_bottleneck():
    model = Res2Net(dict(depth=50, base_width=64, scales=1))
    block = model.layer1[1]
    assert len(block.convs) == 1 and block.convs[0].in_channels == 64
    resnet50_backbone_params = 23_508_032  # torchvision resnet50 without fc
    assert sum(p.numel() for p in model.parameters()) == resnet50_backbone_params


@pytest.mark.parametrize('strides,dilations,out_stride', [
    ((1, 2, 2, 1), (1, 1, 1, 2), 16), ((1, 2, 1, 1), (1, 1, 2, 4), 8)])
def test_dilated_output_strides(strides, dilations, out_stride):
    model = Res2Net('res2net50_26w_4s', strides=strides, dilations=dilations,
                    contract_dilation=True, multi_grid=(1, 2, 4)).eval()
    assert model.out_strides[-1] == out_stride
    with torch.no_grad():
        out = model(small_input(1))[-1]
    assert out.shape[-1] == 64 // out_stride
    assert [b.convs[0].dilation[0] for b in model.layer4] == [1, 2, 4]  # multi_grid
    if dilations[2] == 2:  # contract_dilation halves the first block's dilation
        assert [b.convs[0].dilation[0] for b in model.layer3[:2]] == [1, 2]
    # Official rule in dilated stages: the stage block still pools, stride 1.
    assert model.layer4[0].pool.stride == 1


def test_style_caffe_strides_first_conv():
    model = Res2Net('res2net50_26w_4s', style='caffe').eval()
    assert model.layer2[0].conv1.stride == (2, 2)
    assert model.layer2[0].convs[0].stride == (1, 1)
    with torch.no_grad():
        assert model(small_input(1))[-1].shape[-1] == 2


def test_group_norm_and_conv_cfg():
    model = Res2Net('res2net50_26w_4s', norm_cfg=dict(type='GN', num_groups=2))
    assert isinstance(model.layer1[0].bns[0], torch.nn.GroupNorm)
    model.init_weights()
    with torch.no_grad():
        model(small_input(1))


def test_mmdet_style_arguments():
    model = Res2Net(depth=101, scales=4, base_width=26)
    assert model.arch['deep_stem'] and model.arch['avg_down']
    assert isinstance(model.conv1, torch.nn.Sequential)
    assert isinstance(model.layer1[0].downsample[0], torch.nn.AvgPool2d)
    v1 = Res2Net(depth=50, deep_stem=False, avg_down=False)
    assert isinstance(v1.conv1, torch.nn.Conv2d)
    assert isinstance(v1.layer1[0].downsample[0], torch.nn.Conv2d)


@pytest.mark.parametrize('kwargs,message', [
    (dict(arch='res2net50_99w_4s'), "valid names: ['res2net101_26w_4s'"),
    (dict(arch=dict(depth=34, base_width=26, scales=4)), 'depth must be one of [29, 50, 101, 152, 200]'),
    (dict(arch=dict(depth=50, base_width=26, scales=0)), 'scales must be an int >= 1, got 0'),
    (dict(arch=dict(depth=50, base_width=26, scales=4, stem='v1d')), "stem must be one of ('v1', 'v1b', 'cifar')"),
    (dict(arch=dict(depth=50, width=26, scales=4)), "unknown arch keys ['width']"),
    (dict(arch='res2net50_26w_4s', depth=50), 'give either arch or'),
    (dict(out_indices=(4,)), 'out_indices must be in [0, 4)'),
    (dict(frozen_stages=5), 'frozen_stages must be in [-1, 4], got 5'),
    (dict(strides=(1, 2, 2)), 'strides needs one value per stage'),
    (dict(stage_pool='never'),
     "stage_pool must be one of ('always', 'strided', 'paddle'), got 'never'"),
    (dict(style='tf'), "style must be one of ('pytorch', 'caffe')"),
    (dict(memory_format='nhwc'), "memory_format must be one of ('channels_last', 'contiguous')"),
    (dict(stage_with_dcn=(False, True, True, True)), 'needs a dcn config'),
    (dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv9')]),
     "plugin position 'after_conv9'"),
])
def test_invalid_arguments_raise_naming_the_value(kwargs, message):
    with pytest.raises(ValueError) as err:
        Res2Net(**kwargs)
    assert message in str(err.value)


def test_mixed_precision_keeps_the_plain_ops():
    """Under autocast (bf16 on CPU here, fp16 on GPU) training and inference
    take the plain ops, whose casts autocast handles: both run, and the
    result follows the float32 one to bf16 precision."""
    torch.manual_seed(0)
    model = Res2Net('res2net50_26w_4s', zero_init_residual=False)
    model.init_weights()
    x = small_input(2, 64, 64)
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(x)
    sum(o.float().sum() for o in outs).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters())
    model.eval()
    with torch.no_grad():
        expected = model(x)[-1]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = model(x)[-1]
    assert got.dtype == torch.bfloat16
    assert (got.float() - expected).abs().max() <= 0.1 * expected.abs().max()


def test_outputs_are_nchw_so_mmcv_ops_read_them_right():
    """mmcv's RoIAlign reads its input as contiguous NCHW memory whatever its
    strides: the NHWC fast path must hand NCHW features to the detector."""
    from mmcv.ops import RoIAlign
    torch.manual_seed(0)
    fast = Res2Net('res2net50_26w_4s', out_indices=(0,)).eval()
    ref = Res2Net('res2net50_26w_4s', out_indices=(0,), impl='reference').eval()
    ref.load_state_dict(fast.state_dict())
    x = small_input(1)
    with torch.no_grad():
        got, expected = fast(x)[0], ref(x)[0]
    assert got.is_contiguous()
    rois = torch.tensor([[0., 4., 4., 40., 52.]])
    pool = RoIAlign((7, 7), spatial_scale=0.25, sampling_ratio=2)
    torch.testing.assert_close(pool(got, rois), pool(expected, rois), rtol=1e-4, atol=1e-5)
