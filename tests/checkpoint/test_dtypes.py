"""Checkpoint dtypes: a tensor that is not floating point (an integer, bool
or complex weight) is a named error in every loader, where torch would copy
it into the float weight without a word; half-precision files load, cast;
BN's ``num_batches_tracked`` stays an integer counter."""
import pytest
import torch
from safetensors.torch import save_file

from res2net_mm.checkpoint import (CheckpointError, convert_state_dict, load_classifier,
                                   load_pretrained)
from res2net_mm.models import Res2Net, Res2NetDLA


def small():
    return Res2Net('res2net50_v1b_26w_4s', base_channels=8, stem_channels=8)


def as_dtype(state_dict, dtype, only=None):
    """``state_dict`` with its float tensors (or just ``only``) cast."""
    return {k: v.to(dtype) if v.is_floating_point() and (only is None or k == only) else v
            for k, v in state_dict.items()}


@pytest.mark.parametrize('dtype', [torch.int32, torch.int64, torch.bool, torch.complex64])
def test_non_float_file_through_pretrained_is_a_named_error(dtype, tmp_path):
    path = str(tmp_path / 'w.safetensors')
    save_file(as_dtype(small().state_dict(), dtype), path)
    with pytest.raises(CheckpointError, match=rf'non-float dtype.*bn1.bias: {dtype}'):
        load_pretrained(small(), path)


@pytest.mark.parametrize('loader', ['Res2Net', 'Res2NetDLA', 'convert', 'classifier'])
def test_one_integer_tensor_is_named_by_every_loader(loader):
    model = Res2NetDLA('res2net_dla60') if loader == 'Res2NetDLA' else small()
    state = model.state_dict()
    key = next(k for k in state if k.endswith('conv1.weight'))
    bad = as_dtype(state, torch.int32, only=key)
    message = f'1 tensors of a non-float dtype.*{key}: torch.int32'
    with pytest.raises(CheckpointError, match=message):
        if loader == 'convert':
            convert_state_dict(bad)
        elif loader == 'classifier':
            classifier = torch.nn.Module()
            classifier.backbone, classifier.head = model, torch.nn.Module()
            classifier.head.fc = torch.nn.Linear(256, 3)
            bad.update({'fc.weight': torch.zeros(3, 256), 'fc.bias': torch.zeros(3)})
            load_classifier(classifier, bad)
        else:
            model.load_state_dict(bad)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_files_load_cast(dtype, tmp_path):
    source = small()
    path = str(tmp_path / 'w.safetensors')
    save_file(as_dtype(source.state_dict(), dtype), path)
    model = small()
    load_pretrained(model, path)
    for key, value in model.state_dict().items():
        assert value.dtype == source.state_dict()[key].dtype
        assert torch.equal(value, source.state_dict()[key].to(dtype).to(value.dtype))
