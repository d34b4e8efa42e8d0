"""Fixtures shared by the test files: the repository root and a tiny copy of
the synthetic shapes data."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def repo_root():
    """The repository root (configs/, tools/ are under it)."""
    return REPO


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory):
    """Paths (``generate_shapes``' dict) of 4 train and 2 val images of
    128 px; with seed 1 both splits hold stars, the keypoint class."""
    from res2net_mm.datasets import generate_shapes
    root = tmp_path_factory.mktemp('tiny_shapes') / 'shapes'
    return generate_shapes(root, num_train=4, num_val=2, image_size=128, seed=1)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``slow`` (pyproject.toml) unless ``-m`` selects."""
    if config.getoption('markexpr'):
        return
    skip = pytest.mark.skip(reason='slow: run with -m slow')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip)
