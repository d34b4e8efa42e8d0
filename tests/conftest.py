"""Fixtures shared by the test files."""
import pytest


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory):
    """Paths (``generate_shapes``' dict) of 4 train and 2 val images of
    128 px; with seed 1 both splits hold stars, the keypoint class."""
    from res2net_mm.datasets import generate_shapes
    root = tmp_path_factory.mktemp('tiny_shapes') / 'shapes'
    return generate_shapes(root, num_train=4, num_val=2, image_size=128, seed=1)
