"""PaddleClas ``.pdparams``: parity with the real PaddlePaddle + PaddleClas
(run in their own environment, ``.venv-paddle`` from tools/install.sh), the
Res2Net-200 key map against PaddleClas's own model, and the unpickler's
refusals (these without PaddlePaddle)."""
import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from res2net_mm.checkpoint import CheckpointError, fit_error, from_paddle, read_pdparams
from res2net_mm.models import Res2Net

REPO = Path(__file__).resolve().parents[2]
PADDLE_PYTHON = Path(os.environ.get('RES2NET_MM_PADDLE_VENV', REPO / '.venv-paddle'),
                     'bin', 'python')


@pytest.fixture(scope='module')
def paddle_reference(tmp_path_factory):
    """The outputs of tests/references/paddle_reference.py (see there)."""
    if not PADDLE_PYTHON.is_file():
        pytest.skip(f'no PaddlePaddle environment at {PADDLE_PYTHON}: tools/install.sh makes '
                    'it with the tests extra (RES2NET_MM_PADDLE_VENV moves it)')
    out = tmp_path_factory.mktemp('paddle')
    result = subprocess.run([str(PADDLE_PYTHON), str(REPO / 'tests' / 'references' / 'paddle_reference.py'),
                             str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def reference_io(paddle_reference):
    """The image and PaddleClas's logits for it, as the reference run saved them."""
    return (torch.from_numpy(np.load(paddle_reference / 'input.npy')),
            torch.from_numpy(np.load(paddle_reference / 'logits.npy')))


def logits(model, head, image):
    """The Res2Net_vd classifier: global average pool, then ``out``."""
    with torch.no_grad():
        features = model(image)[-1].mean((2, 3))
    return features @ head['fc.weight'].t() + head['fc.bias']


@pytest.mark.parametrize('impl', ['reference', 'fast'])
def test_pdparams_logits_equal_paddleclas(paddle_reference, impl):
    path = str(paddle_reference / 'model.pdparams')
    model = Res2Net('res2net50_v1b_26w_4s', stage_pool='paddle', impl=impl, out_indices=(3, ),
                    init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()  # strict: every tensor of the file mapped
    _, head = from_paddle(read_pdparams(path))
    image, expected = reference_io(paddle_reference)
    got = logits(model.eval(), head, image)
    scale = expected.abs().max()
    assert scale > 1  # random weights give logits well above float noise
    assert (got - expected).abs().max() <= 1e-4 * scale


def test_official_numerics_differ_and_warn(paddle_reference):
    """The stage blocks are where PaddleClas differs: without
    stage_pool='paddle' the logits are off and loading warns."""
    path = str(paddle_reference / 'model.pdparams')
    model = Res2Net('res2net50_v1b_26w_4s', out_indices=(3, ),
                    init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.warns(UserWarning, match="stage_pool='paddle'"):
        model.init_weights()
    _, head = from_paddle(read_pdparams(path))
    image, expected = reference_io(paddle_reference)
    assert (logits(model.eval(), head, image) - expected).abs().max() > 1e-2 * expected.abs().max()


def test_res2net200_keys_map_to_our_200_layer_arch(paddle_reference):
    shapes = json.loads((paddle_reference / 'res2net200_shapes.json').read_text())
    backbone, head = from_paddle({k: torch.empty(s, device='meta') for k, s in shapes.items()})
    with torch.device('meta'):
        model = Res2Net('res2net200_v1b_26w_4s', stage_pool='paddle')
    expected = {k: v.shape for k, v in model.state_dict().items()}
    assert fit_error('200', backbone, expected) is None
    assert tuple(head['fc.weight'].shape) == (1000, 2048)
    # PaddleClas reports 76.21M parameters (with the classifier, to 2 digits).
    params = sum(int(np.prod(s)) for k, s in shapes.items() if not k.endswith(('_mean', '_variance')))
    assert 76.21e6 <= params < 76.22e6


class Payload:
    """Pickles as a call of os.system: what a malicious file would hold."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_pdparams_refuses_anything_but_numpy_arrays(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pdparams'
    path.write_bytes(pickle.dumps({'conv1_1._conv.weight': Payload(marker)}))
    with pytest.raises(CheckpointError, match=r'refusing to unpickle posix\.system'):
        read_pdparams(str(path))
    assert not marker.exists()


@pytest.mark.parametrize('protocol', [2, 4])
def test_pdparams_of_either_pickle_protocol_read_without_paddle(tmp_path, protocol):
    """paddle.save writes protocol 4; PaddlePaddle 2.0-era files protocol 2
    (bytes as _codecs.encode)."""
    arrays = {'conv1_1._conv.weight': np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3),
              'StructuredToParameterName@@': {'conv1_1._conv.weight': 'conv1_1_weights'}}
    path = tmp_path / 'a.pdparams'
    path.write_bytes(pickle.dumps(arrays, protocol=protocol))
    tensors = read_pdparams(str(path))
    assert list(tensors) == ['conv1_1._conv.weight']
    assert torch.equal(tensors['conv1_1._conv.weight'], torch.arange(6.).reshape(1, 1, 2, 3))


def test_truncated_pdparams_and_foreign_keys_are_named(tmp_path):
    path = tmp_path / 'cut.pdparams'
    path.write_bytes(pickle.dumps({'w': np.zeros(1000, np.float32)}, protocol=4)[:2000])
    with pytest.raises(CheckpointError, match='cut.pdparams: not a .pdparams pickle, or truncated'):
        read_pdparams(str(path))
    with pytest.raises(CheckpointError, match=r"1 keys are not PaddleClas Res2Net_vd keys, "
                                              r"first: \['head.fc.weight'\]"):
        from_paddle({'conv1_1._conv.weight': torch.zeros(1), 'head.fc.weight': torch.zeros(1)})


def test_paddle_is_a_source_layout_only():
    from res2net_mm.checkpoint import convert_state_dict
    with pytest.raises(CheckpointError, match='paddle is a source layout only'):
        convert_state_dict({'conv1.weight': torch.zeros(1)}, dst='paddle')



def test_state_dict_path_converts_and_warns_too(paddle_reference):
    """load_state_dict (and so mmengine's load_checkpoint) takes .pdparams
    tensors as they are, like load_pretrained: PaddleClas's logits."""
    tensors = read_pdparams(str(paddle_reference / 'model.pdparams'))
    _, head = from_paddle(tensors)
    model = Res2Net('res2net50_v1b_26w_4s', stage_pool='paddle', out_indices=(3, ))
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith('out.')})
    image, expected = reference_io(paddle_reference)
    assert (logits(model.eval(), head, image) - expected).abs().max() <= 1e-4 * expected.abs().max()
    with pytest.warns(UserWarning, match="stage_pool='paddle'"):
        Res2Net('res2net50_v1b_26w_4s').load_state_dict(
            {k: v for k, v in tensors.items() if not k.startswith('out.')})


def test_paddleclas_classifier_in_the_classification_config(paddle_reference):
    """The whole .pdparams classifier (backbone and ``out``) loads into
    cls_r2n50_v1b_in1k's ImageClassifier and gives PaddleClas's logits."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    from res2net_mm.checkpoint import load_classifier
    cfg = Config.fromfile(REPO / 'configs' / 'cls_r2n50_v1b_in1k.py')
    cfg.model.backbone.stage_pool = 'paddle'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    load_classifier(model, read_pdparams(str(paddle_reference / 'model.pdparams')))
    image, expected = reference_io(paddle_reference)
    with torch.no_grad():
        got = model.eval()(image, mode='tensor')
    assert (got - expected).abs().max() <= 1e-4 * expected.abs().max()
