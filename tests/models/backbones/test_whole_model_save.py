"""Whole-model saves: ``torch.save(model)`` and ``torch.load(...,
weights_only=False)`` round-trip Res2Net (each impl and memory format) and a
whole mmdet detector holding one, with the same settings and equal outputs."""
import io

import pytest
import torch

from res2net_mm.models import Res2Net


def round_trip(model):
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


@pytest.mark.parametrize('build', [
    lambda: Res2Net('res2net50_v1b_26w_4s', base_channels=8, stem_channels=8, impl='fast'),
    lambda: Res2Net('res2net50_26w_4s', base_channels=8, stem_channels=8, impl='fast',
                    memory_format='contiguous'),
    lambda: Res2Net('res2next50', base_channels=16, stem_channels=8, impl='reference'),
], ids=['fast', 'fast-contiguous', 'reference'])
def test_backbone_round_trips_whole(build, randomize):
    model = randomize(build()).eval()
    loaded = round_trip(model)
    for name in ('impl', 'memory_format', 'out_indices'):
        assert getattr(loaded, name, None) == getattr(model, name, None)
    x = torch.randn(2, 3, 40, 36)
    with torch.no_grad():
        for expected, got in zip(model(x), loaded(x)):
            assert torch.equal(expected, got)


def test_memory_format_is_set_by_name_or_format():
    model = Res2Net('res2net50_26w_4s', base_channels=8, stem_channels=8)
    model.memory_format = torch.contiguous_format
    assert model.memory_format == torch.contiguous_format
    model.memory_format = 'channels_last'
    assert model.memory_format == torch.channels_last
    with pytest.raises(ValueError, match=r"memory_format must be one of .*got 'nhwc'"):
        model.memory_format = 'nhwc'


def test_mmdet_detector_round_trips_whole():
    pytest.importorskip('mmdet')
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile('configs/demo/faster_rcnn_r2n50_shapes.py')
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(cfg.model)
    detector.eval()
    loaded = round_trip(detector)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for expected, got in zip(detector.extract_feat(x), loaded.extract_feat(x)):
            assert torch.equal(expected, got)
