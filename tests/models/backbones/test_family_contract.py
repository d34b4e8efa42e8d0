"""The OpenMMLab contract of Res2NetDLA and BigLittleRes2Net, as
tests/models/backbones/test_backbone.py checks it for Res2Net, and their builds by scoped
name from mmdet, mmseg, mmpose and mmpretrain configs."""
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

from res2net_mm.checkpoint import CheckpointError
from res2net_mm.models import BigLittleRes2Net, Bottle2neck, Res2NetDLA

MODELS_UNDER_TEST = {
    'res2net_dla60': (Res2NetDLA, [128, 256, 512, 1024]),
    'res2next_dla60': (Res2NetDLA, [128, 256, 512, 1024]),
    'blresnet50': (BigLittleRes2Net, [256, 512, 1024, 2048]),
    'blres2net50': (BigLittleRes2Net, [256, 512, 1024, 2048]),
}
ARCHS = sorted(MODELS_UNDER_TEST)
ONE_EACH = ['res2next_dla60', 'blres2net50']  # one per class, for the costlier checks


def build(arch, **kwargs):
    return MODELS_UNDER_TEST[arch][0](arch, **kwargs)


def initialized(arch, seed=0, **kwargs):
    torch.manual_seed(seed)
    model = build(arch, zero_init_residual=False, **kwargs)
    model.init_weights()
    return model


@pytest.mark.parametrize('arch', ARCHS)
def test_outputs_match_declared_channels_and_strides(arch):
    model = build(arch).eval()
    assert model.out_channels == MODELS_UNDER_TEST[arch][1]
    assert model.out_strides == [4, 8, 16, 32]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 49, 67))  # odd size, batch 1
    for out, channels, stride in zip(outs, model.out_channels, model.out_strides):
        assert out.shape == (1, channels, -(-49 // stride), -(-67 // stride))


@pytest.mark.parametrize('arch', ONE_EACH)
def test_backward_reaches_every_trainable_parameter(arch):
    model = initialized(arch).train()
    sum(o.mean() for o in model(torch.randn(2, 3, 32, 32))).backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f'no gradient reached {missing[:5]}'


@pytest.mark.parametrize('arch,out_indices', [('res2next_dla60', (0, 3)), ('blres2net50', (1,))])
def test_out_indices_select_stages(arch, out_indices):
    full = initialized(arch).eval()
    part = build(arch, out_indices=out_indices).eval()
    part.load_state_dict(full.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected, got = full(x), part(x)
    assert part.out_channels == [full.out_channels[i] for i in out_indices]
    assert len(got) == len(out_indices)
    for i, out in zip(out_indices, got):
        assert torch.equal(out, expected[i])


@pytest.mark.parametrize('arch', ['res2net_dla60', 'blres2net50'])
def test_frozen_stages_stay_frozen_after_train(arch):
    model = build(arch, frozen_stages=2).train()
    groups = model._stage_groups
    for i, group in enumerate(groups):
        for module in group:
            assert module.training == (i > 2)
            assert all(p.requires_grad == (i > 2) for p in module.parameters())
    frozen = {id(p) for g in groups[:3] for m in g for p in m.parameters()}
    assert len(frozen) + sum(p.requires_grad for p in model.parameters()) == \
        len(list(model.parameters()))  # the groups cover the whole network


@pytest.mark.parametrize('arch', ['res2net_dla60', 'blres2net50'])
def test_norm_eval_keeps_batchnorm_in_eval_mode(arch):
    model = build(arch, norm_eval=True)
    assert model.train() is model
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    before = bns[-1].running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(before, bns[-1].running_mean)


@pytest.mark.parametrize('arch', ONE_EACH)
def test_with_cp_gives_same_outputs_and_gradients(arch):
    ref = initialized(arch)
    cp = build(arch, with_cp=True)
    cp.load_state_dict(ref.state_dict())
    assert all(b.with_cp for b in cp.modules() if isinstance(b, Bottle2neck))
    x = torch.randn(2, 3, 32, 32)
    results = []
    for model in (ref, cp):
        outs = model.train()(x)
        sum(o.square().mean() for o in outs).backward()
        results.append(([o.detach() for o in outs],
                        {n: p.grad.clone() for n, p in model.named_parameters()}))
    for a, b in zip(results[0][0], results[1][0]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    for name, grad in results[0][1].items():
        torch.testing.assert_close(grad, results[1][1][name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('arch', ['res2net_dla60', 'blresnet50'])
@pytest.mark.parametrize('zero_init', [True, False])
def test_zero_init_residual_zeroes_every_last_norm(arch, zero_init):
    model = build(arch, zero_init_residual=zero_init)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, Bottle2neck)]
    assert blocks and all(bool((b.bn3.weight == 0).all()) == zero_init for b in blocks)


@pytest.mark.parametrize('arch', ONE_EACH)
def test_pretrained_init_in_a_list_and_deprecated_argument(arch, tmp_path):
    source = initialized(arch, seed=1)
    torch.save({'backbone.' + k: v for k, v in source.state_dict().items()},
               tmp_path / 'detector.pth')
    path = str(tmp_path / 'detector.pth')
    listed = build(arch, init_cfg=[dict(type='Kaiming', layer='Conv2d'),
                                   dict(type='Pretrained', checkpoint=path)])
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        deprecated = build(arch, pretrained=path)
    for model in (listed, deprecated):
        model.init_weights()
        for key, value in source.state_dict().items():
            assert torch.equal(model.state_dict()[key], value), key


def test_pretrained_of_another_arch_is_refused_naming_keys(tmp_path):
    torch.save(build('blresnet50').state_dict(), tmp_path / 'bl.pth')
    model = build('blres2net50', init_cfg=dict(type='Pretrained',
                                               checkpoint=str(tmp_path / 'bl.pth')))
    with pytest.raises(CheckpointError, match='blres2net50.*keys missing.*convs.1'):
        model.init_weights()
    with pytest.raises(FileNotFoundError, match='nowhere.pth.*zoo://res2net_dla60'):
        build('res2net_dla60', init_cfg=dict(type='Pretrained',
                                             checkpoint='nowhere.pth')).init_weights()


@pytest.mark.parametrize('cls,kwargs,message', [
    (Res2NetDLA, dict(arch='dla60'), "valid names: ['res2net_dla60', 'res2next_dla60']"),
    (Res2NetDLA, dict(arch=dict(levels=(1, 1, 1, 2, 3), channels=(16, 32, 128, 256, 512, 1024),
                                base_width=28, scales=4, cardinality=1)),
     'arch levels needs one value per level 0-5'),
    (Res2NetDLA, dict(arch=dict(scales=4)), "arch dict misses keys"),
    (BigLittleRes2Net, dict(arch='blresnet34'), "valid names: ['blres2net50', 'blresnet50']"),
    (BigLittleRes2Net, dict(arch=dict(depth=34, base_width=26, scales=4, cardinality=1,
                                      alpha=2, beta=4)), 'arch depth must be one of [50, 101, 152]'),
    (BigLittleRes2Net, dict(arch=dict(depth=50, base_width=26, scales=4, cardinality=1,
                                      alpha=3, beta=4)), 'arch alpha must divide'),
    (BigLittleRes2Net, dict(arch=dict(depth=50, base_width=26, scales=0, cardinality=1,
                                      alpha=2, beta=4)), 'arch scales must be an int >= 1, got 0'),
    (BigLittleRes2Net, dict(out_indices=(4,)), 'out_indices must be in [0, 4)'),
    (Res2NetDLA, dict(out_indices=(1, 1)), 'out_indices must not repeat a stage'),
    (Res2NetDLA, dict(frozen_stages=5), 'frozen_stages must be in [-1, 4], got 5'),
    (BigLittleRes2Net, dict(with_cp=1), 'with_cp must be a bool'),
    (Res2NetDLA, dict(norm_eval='yes'), 'norm_eval must be a bool'),
    (Res2NetDLA, dict(in_channels=0), 'in_channels must be an int >= 1, got 0'),
    (BigLittleRes2Net, dict(pretrained='a.pth', init_cfg=dict(type='Kaiming')), 'not both'),
])
def test_invalid_arguments_raise_naming_the_value(cls, kwargs, message):
    with pytest.raises(ValueError) as err:
        cls(**kwargs)
    assert message in str(err.value)


def test_unknown_argument_is_a_type_error():
    with pytest.raises(TypeError, match='dilations'):
        Res2NetDLA(dilations=(1, 1, 1, 2))


# A stock model of each library with our backbone by scoped name (the
# library's own heads read out_channels / feat_dim).
STOCK = {
    'mmdet': ('mmdet::_base_/models/faster-rcnn_r50_fpn.py', ''),
    'mmseg': ('mmseg::_base_/models/fpn_r50.py', 'pretrained=None, '),
    'mmpose': ('mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py',
               ''),
    'mmpretrain': ('mmpretrain::_base_/models/resnet50.py', ''),
}


@pytest.mark.parametrize('scope', ['mmseg', 'mmpose'])  # mmdet, mmpretrain: configs/
@pytest.mark.parametrize('name,arch', [('Res2NetDLA', 'res2next_dla60'),
                                       ('BigLittleRes2Net', 'blresnet50')])
def test_each_library_builds_and_runs_it_by_scoped_name(tmp_path, scope, name, arch):
    from mmengine.config import Config
    base, extra = STOCK[scope]
    cls, channels = MODELS_UNDER_TEST[arch]
    neck = {'mmdet': f'neck=dict(in_channels={channels}), ',
            'mmseg': f'neck=dict(in_channels={channels}), ',
            'mmpose': f'head=dict(in_channels={channels[-1]}), ',
            'mmpretrain': f'head=dict(in_channels={channels[-1]}), '}[scope]
    out = '' if scope in ('mmdet', 'mmseg') else 'out_indices=(3, ), '
    (tmp_path / 'cfg.py').write_text(
        f"_base_ = '{base}'\n"
        "custom_imports = dict(imports=['res2net_mm'], allow_failed_imports=False)\n"
        f"model = dict({extra}{neck}backbone=dict(_delete_=True, type='res2net_mm.{name}', "
        f"{out}arch='{arch}'))\n")
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    assert type(model.backbone) is cls
    feats = model.eval().extract_feat(torch.randn(1, 3, 32, 32))
    assert feats[-1].shape[1] in (channels[-1], 256)  # the backbone's or the FPN's
