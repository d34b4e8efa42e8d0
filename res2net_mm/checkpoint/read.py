"""``read_checkpoint``: any checkpoint a config may name, loaded onto the CPU
weights-only: a local file (``io.read_file``), a ``zoo://`` name (resolved
to its verified cached file by ``zoo.resolve``) or a URL (mmengine's
loader: ``open-mmlab://``, ``https://``, ...)."""
from .io import read_file
from .zoo import SCHEME, resolve


def read_checkpoint(path):
    """Load a checkpoint file, zoo name or URL onto the CPU without running
    pickled code (see ``io.read_file`` for what a file may hold).

    Args:
        path (str): File path, ``zoo://<name>`` or URL.
    """
    if path.startswith(SCHEME):
        path = resolve(path)
    if '://' in path:
        from mmengine.runner import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    return read_file(path)
