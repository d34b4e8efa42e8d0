"""The model zoo's metafile, ``configs/metafile.yml`` (OpenMMLab's format,
collected by the repository's ``model-index.yml``): every config with the
paper's result, and every published weight file by zoo name.

It lives beside the configs, outside the package, and is found relative to
the package's checkout (an editable install or a source tree).
"""
import functools
from pathlib import Path


def metafile_path():
    """``configs/metafile.yml`` of the checkout the package is imported from."""
    return Path(__file__).resolve().parents[1] / 'configs' / 'metafile.yml'


@functools.lru_cache(maxsize=None)
def load_metafile():
    """The parsed metafile (``Collections``, ``Models``), read once.

    Raises:
        FileNotFoundError: The package is not imported from a checkout that
            has ``configs/metafile.yml`` (e.g. a wheel install).
    """
    import yaml
    path = metafile_path()
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found: the model zoo is read from the configs/ '
                                'folder of a res2net_mm checkout (install it with pip install -e .)')
    with open(path) as f:
        return yaml.safe_load(f)
