"""res2net_mm.DSSHead against DSS's definition (res2net_mm/models/dss_head.py):
which side outputs feed which (the short connections, read off the gradient),
the fusion's initial weights, one sigmoid cross-entropy per output, the test
map as the mean of the chosen sigmoid maps, and the full mmseg model on our
Res2Net and on mmseg's ResNet giving saliency maps in [0, 1] at image size."""
import pytest
import torch
from mmengine.config import ConfigDict
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

pytest.importorskip('mmseg')
from mmseg.registry import MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

CHANNELS = (256, 512, 1024, 2048)


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def build_head(**kwargs):
    cfg = dict(type='res2net_mm.DSSHead', side_channels=(8, 8, 8, 8), **kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def features(batch=1, size=32, requires_grad=False):
    return [torch.randn(batch, c, size // 2**i, size // 2**i, requires_grad=requires_grad)
            for i, c in enumerate(CHANNELS)]


def depends_on(output, inputs):
    """Indices of the inputs the output's gradient reaches."""
    grads = torch.autograd.grad(output.sum(), inputs, allow_unused=True, retain_graph=True)
    return {i for i, g in enumerate(grads) if g is not None and g.abs().sum() > 0}


@pytest.mark.parametrize('connections,expected', [
    # DSS's ResNet model on four stages: res2, res3 from res4, res5.
    (((2, 3), (2, 3), (), ()), [{0, 2, 3}, {1, 2, 3}, {2}, {3}]),
    # A connection carries the deeper side's final score, with its sources.
    (((1, ), (2, ), (3, ), ()), [{0, 1, 2, 3}, {1, 2, 3}, {2, 3}, {3}]),
    # Without short connections: HED's independent side outputs.
    (((), (), (), ()), [{0}, {1}, {2}, {3}]),
], ids=['dss', 'chain', 'none'])
def test_short_connections_feed_shallow_sides_from_deep_ones(connections, expected):
    head = build_head(connections=connections)
    inputs = features(requires_grad=True)
    outputs = head(inputs, (64, 64))
    assert [o.shape for o in outputs] == [(1, 1, 64, 64)] * 5
    assert [depends_on(o, inputs) for o in outputs[:4]] == expected
    assert depends_on(outputs[4], inputs) == {0, 1, 2, 3}
    assert sorted(head.shortcuts) == [str(i) for i, c in enumerate(connections) if c]


def test_fusion_starts_as_the_mean_of_the_sides():
    """DSS initialises the fusion weights to 1 / number of sides (0.2 for
    its five), bias 0; the side convs N(0, 0.01)."""
    head = build_head()
    assert torch.equal(head.conv_seg.weight.flatten(), torch.full((4, ), 0.25))
    assert head.conv_seg.bias.item() == 0
    weight = head.sides[3].conv1.conv.weight
    assert abs(weight.std().item() - 0.01) < 1e-3
    with torch.no_grad():
        *sides, fused = head(features(), (16, 16))
    torch.testing.assert_close(fused, torch.stack(sides).mean(0))


def samples(labels):
    return [SegDataSample(gt_sem_seg=PixelData(data=label[None])) for label in labels]


def test_every_output_gets_its_sigmoid_cross_entropy():
    head = build_head()
    inputs = features(batch=2)
    labels = torch.randint(0, 2, (2, 64, 64))
    labels[1, :, 40:] = 255  # padding: left out of the loss
    losses = head.loss(inputs, samples(labels), None)
    assert list(losses) == ['loss_side0', 'loss_side1', 'loss_side2', 'loss_side3', 'loss_fuse']
    outputs = head(inputs, (64, 64))
    valid = labels != 255
    for output, loss in zip(outputs, losses.values()):
        expected = F.binary_cross_entropy_with_logits(output[:, 0][valid], labels[valid].float())
        torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize('test_sides', [(0, 1, 2), (3, ), ()])
def test_prediction_is_the_mean_saliency_of_the_chosen_outputs(test_sides):
    head = build_head(test_sides=test_sides)
    inputs = features()
    metas = [dict(img_shape=(60, 62), pad_shape=(64, 64))]
    with torch.no_grad():
        logits = head.predict(inputs, metas, None)
        outputs = head(inputs, (64, 64))
    chosen = [outputs[i] for i in test_sides] + [outputs[-1]]
    torch.testing.assert_close(logits.sigmoid(), torch.stack(chosen).sigmoid().mean(0),
                               atol=2e-6, rtol=0)


@pytest.mark.parametrize('kwargs,fragment', [
    (dict(connections=((1, ), (0, ), (), ())), 'connections[1]'),
    (dict(connections=((2, 2), (), (), ())), 'connections[0]'),
    (dict(connections=((), ())), 'one sequence of side indices per side'),
    (dict(kernel_sizes=(5, 4, 5, 7)), 'odd'),
    (dict(kernel_sizes=(5, 5, 5)), 'kernel_sizes'),
    (dict(side_channels=(8, 8, 8, 8.0)), 'side_channels'),
    (dict(test_sides=(4, )), 'test_sides'),
    (dict(in_channels=2048), 'in_channels'),
    (dict(in_index=(0, 1)), 'in_index'),
    (dict(threshold=1.5), 'threshold'),
])
def test_invalid_arguments_are_named(kwargs, fragment):
    cfg = dict(side_channels=(8, 8, 8, 8))
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=fragment.replace('[', r'\[').replace(']', r'\]')):
        MODELS.build(dict(type='res2net_mm.DSSHead', **cfg))


BACKBONES = {
    'ours': dict(type='res2net_mm.Res2Net', arch='res2net50_26w_4s'),
    'mmseg ResNet': dict(type='ResNet', depth=50),
}


@pytest.mark.parametrize('backbone', BACKBONES.values(), ids=BACKBONES)
def test_encoder_decoder_outputs_saliency_maps_at_image_size(backbone):
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=1),
        backbone=backbone,
        decode_head=dict(type='res2net_mm.DSSHead', side_channels=(8, 8, 8, 8)),
        test_cfg=ConfigDict(mode='whole'))).eval()
    sample = SegDataSample(metainfo=dict(img_shape=(64, 80), ori_shape=(90, 100),
                                         pad_shape=(64, 80)))
    with torch.no_grad():
        (result, ) = model.predict(torch.randn(1, 3, 64, 80), [sample])
    saliency = result.seg_logits.data
    assert saliency.shape == (1, 90, 100)
    assert 0 <= saliency.min() and saliency.max() <= 1 and saliency.std() > 0
    assert torch.equal(result.pred_sem_seg.data, (saliency > 0.5).to(saliency))


def test_config_sets_the_caffe_lr_multipliers():
    """DSS's prototxt: side convs lr x1 (bias x2, no decay); 1x1 score,
    short-connection and fusion convs x0.1 (bias x0.2, no decay)."""
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(Path(__file__).resolve().parents[3] / 'configs' / 'dss_r50_msrab.py')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    found = {names[id(g['params'][0])]: (g['lr'] / 1e-3, g['weight_decay'] / 5e-4) for g in groups}
    expected = {'backbone.conv1.weight': (1, 1), 'decode_head.sides.3.conv1.conv.weight': (1, 1),
                'decode_head.sides.3.conv1.conv.bias': (2, 0),
                'decode_head.sides.0.score.weight': (0.1, 1),
                'decode_head.sides.0.score.bias': (0.2, 0),
                'decode_head.shortcuts.1.score.weight': (0.1, 1),
                'decode_head.shortcuts.1.score.bias': (0.2, 0),
                'decode_head.conv_seg.weight': (0.1, 1), 'decode_head.conv_seg.bias': (0.2, 0)}
    assert {k: found[k] for k in expected} == pytest.approx(expected)
    assert 'backbone.bn1.weight' not in found  # frozen BN: not optimized
