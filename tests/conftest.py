"""Fixtures shared by the test files."""
import pytest
import torch


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory):
    """Paths (``generate_shapes``' dict) of 4 train and 2 val images of
    128 px; with seed 1 both splits hold stars, the keypoint class."""
    from res2net_mm.datasets import generate_shapes
    root = tmp_path_factory.mktemp('tiny_shapes') / 'shapes'
    return generate_shapes(root, num_train=4, num_val=2, image_size=128, seed=1)


def randomize(model, seed=0):
    """Random weights and BN statistics at a realistic scale (activations stay
    O(1)), so every parameter and buffer matters and atol 1e-5 is meaningful."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.dtype.is_floating_point:
                continue
            noise = torch.rand(tensor.shape, generator=gen)
            if tensor.dim() > 1:  # conv / fc weights: uniform with variance 1 / fan_in
                tensor.copy_((noise - 0.5) * (12 / tensor[0].numel()) ** 0.5)
            elif name.endswith(('running_var', '.weight')):
                tensor.copy_(noise + 0.5)
            else:  # biases and running means
                tensor.copy_((noise - 0.5) * 0.2)
    return model


def randomize_norms(model):
    """BN statistics and affine terms away from their init values, so that
    folding them is not the identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model


@pytest.fixture(name='randomize')
def randomize_fixture():
    """``randomize(model, seed=0)``: random weights and statistics in place."""
    return randomize
