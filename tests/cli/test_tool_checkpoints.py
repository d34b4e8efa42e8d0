"""tools/test.py and tools/train.py given a bare backbone's weights (keys
without ``backbone.``) where they need a whole model's: each stops with a
named error that says what the file is and how to use it, instead of
testing or training a randomly initialised model."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from res2net_mm import Res2Net
from res2net_mm.testing import load_tool, smoke_config

REPO = Path(__file__).resolve().parents[2]
ADVICE = "model.backbone.init_cfg=dict(type='Pretrained', checkpoint="


@pytest.fixture(scope='module')
def detector_config(tiny_shapes, tmp_path_factory):
    """faster_rcnn_r2n50_coco on the tiny shapes, one iteration, from scratch."""
    path = tmp_path_factory.mktemp('cfg') / 'faster_rcnn_tiny.py'
    cfg = Config.fromfile(REPO / 'configs' / 'faster_rcnn_r2n50_coco.py')
    smoke_config(cfg, tiny_shapes, 'unused')
    cfg.pop('work_dir')
    cfg.model.backbone.init_cfg = None
    cfg.dump(path)
    return str(path)


@pytest.fixture(scope='module')
def bare_backbone(tmp_path_factory):
    """A Res2Net-50 state dict as a user saves it from a bare backbone."""
    path = tmp_path_factory.mktemp('bb') / 'bb.pth'
    torch.save(Res2Net('res2net50_26w_4s').state_dict(), path)
    return str(path)


def test_test_tool_refuses_a_bare_backbone(detector_config, bare_backbone, tmp_path):
    with pytest.raises(SystemExit) as exc:
        load_tool('test').main([detector_config, bare_backbone, '--work-dir', str(tmp_path)])
    message = str(exc.value.code)
    assert message.startswith(f"error: {bare_backbone}: the state dict is a bare backbone's")
    assert ADVICE in message


def test_train_tool_refuses_a_bare_backbone_as_load_from(detector_config, bare_backbone,
                                                         tmp_path):
    with pytest.raises(SystemExit) as exc:
        load_tool('train').main([detector_config, '--work-dir', str(tmp_path),
                                 '--cfg-options', f'load_from={bare_backbone}'])
    message = str(exc.value.code)
    assert message.startswith(f"error: {bare_backbone}: the state dict is a bare backbone's")
    assert ADVICE in message
    assert not list(tmp_path.glob('*.pth'))  # stopped before the first iteration


def test_resume_from_a_bare_backbone_advises_the_pretrained_init(detector_config, bare_backbone,
                                                                 tmp_path):
    with pytest.raises(SystemExit) as exc:
        load_tool('train').main([detector_config, '--work-dir', str(tmp_path),
                                 '--resume', bare_backbone])
    message = str(exc.value.code)
    assert 'is not a runner checkpoint' in message and f"{ADVICE}'{bare_backbone}')" in message
    assert 'load_from' not in message
