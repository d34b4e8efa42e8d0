"""Published weights by name: ``zoo://<name>`` resolves to a verified file in
the cache, downloaded once from the first mirror that serves it intact.

The table is configs/metafile.yml: every Model with ``Weights`` is a zoo
name (``zoo_table`` reads it once; the metafile's header says what each key
holds). The cache is torch.hub's:
``$TORCH_HOME/hub/checkpoints`` (``torch.hub.get_dir()``). A file is written
there only after its transfer completed and its sha256 matched (atomically,
so an interrupted or corrupted download leaves nothing), and a cached file is
checked again before each use. Importing this module registers the scheme
with mmengine's ``CheckpointLoader``, so mmengine's ``Pretrained`` init,
``load_checkpoint`` and ``load_from`` resolve zoo names too.
"""
import functools
import hashlib
import http.client
import os
import urllib.request
from urllib.parse import urlsplit

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

from ..model_index import load_metafile
from .errors import CheckpointError, DownloadError
from .io import atomic_write, read_file

SCHEME = 'zoo://'
CHUNK = 1 << 20
TIMEOUT_S = 60


def cache_dir():
    """Where zoo files are kept: torch.hub's checkpoints folder."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def _file_spec(entry):
    """One weights file of a metafile Model (itself, or one of its ``Other
    Files``) as the resolver uses it: the name it is cached under, its
    sha256, its layout and its URLs, tried in order."""
    url, sha256 = entry['Weights'], entry['SHA256']
    if sha256 is not None and not isinstance(sha256, str):  # YAML reads 8 digits as a number
        raise CheckpointError(f'configs/metafile.yml: quote the SHA256 of {url} ({sha256!r})')
    file = urlsplit(url).path.rpartition('/')[2]
    if urlsplit(url).netloc == 'huggingface.co':  # <owner>/<repo>/resolve/<rev>/<generic name>
        repo = urlsplit(url).path.split('/')[2]
        file = f'{repo}-{sha256[:8]}.{file.rpartition(".")[2]}'
    return dict(file=file, sha256=sha256, layout=entry['Layout'],
                urls=(url, *entry.get('Mirrors', ())))


def _top1(model):
    """The ImageNet top-1 accuracy the Model's publisher reports."""
    metrics = next(r['Metrics'] for r in model['Results'] if r['Dataset'] == 'ImageNet-1k')
    if 'Top 1 Accuracy' in metrics:
        return metrics['Top 1 Accuracy']
    return round(100 - metrics['Top 1 Error'], 2)


@functools.lru_cache(maxsize=None)
def zoo_table():
    """Every zoo name of configs/metafile.yml: ``{name: dict(arch, top1,
    source, files)}``, ``files`` tried in order (see ``_file_spec``)."""
    table = {}
    for model in load_metafile()['Models']:
        if 'Weights' in model:
            files = (model, *model.get('Other Files', ()))
            table[model['Name']] = dict(arch=model['Metadata']['Arch'], top1=_top1(model),
                                        source=model['Source'], files=tuple(map(_file_spec, files)))
    return table


def zoo_entry(name):
    """The ``zoo_table`` row of ``name`` (with or without ``zoo://``).

    Args:
        name (str): A zoo name.
    """
    name = name[len(SCHEME):] if name.startswith(SCHEME) else name
    table = zoo_table()
    if name not in table:
        raise CheckpointError(f'unknown zoo name {name!r}; published: {", ".join(sorted(table))}')
    return name, table[name]


def zoo_names_of(arch):
    """The zoo names of the weights published for ``arch``, sorted."""
    return sorted(name for name, row in zoo_table().items() if row['arch'] == arch)


def sha256_of(path):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def hash_problem(digest, spec):
    """Why ``digest`` is not the published sha256 of ``spec``, or None.

    A full 64-digit value must match exactly; an 8-digit one (the prefix in
    an official file name) must start the digest, as torch.hub checks it.
    None (not published) accepts any digest.
    """
    expected = spec['sha256']
    if expected is None or digest.startswith(expected):
        return None
    what = 'sha256' if len(expected) == 64 else 'sha256 prefix (from the file name)'
    return f'sha256 {digest} does not match the published {what} {expected}'


def _unverified(spec, digest, path):
    if spec['sha256'] is None:
        print_log(f'{path}: its publisher gives no checksum; its sha256 is {digest}',
                  logger='current')


def _download(url, path, spec):
    """Fetch ``url`` into ``path`` if the transfer is complete and its sha256
    matches; otherwise raise and leave ``path`` as it was."""
    print_log(f'downloading {url} to {path}', logger='current')
    request = urllib.request.Request(url, headers={'User-Agent': 'res2net_mm'})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, atomic_write(path) as f:
        announced = response.headers.get('Content-Length')
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: response.read(CHUNK), b''):
            digest.update(chunk)
            f.write(chunk)
            size += len(chunk)
        if announced is not None and size != int(announced):
            raise DownloadError(f'transfer ended after {size} of {announced} bytes')
        problem = hash_problem(digest.hexdigest(), spec)
        if problem:
            raise DownloadError(problem)
    _unverified(spec, digest.hexdigest(), path)


def _fetch(spec, failures):
    """The verified cached path of one file of a zoo entry, or None; what
    went wrong is appended to ``failures``."""
    path = os.path.join(cache_dir(), spec['file'])
    if os.path.isfile(path):
        digest = sha256_of(path)
        problem = hash_problem(digest, spec)
        if problem is None:
            _unverified(spec, digest, path)
            return path
        failures.append(f'cached {path}: {problem}')
    for url in spec['urls']:
        try:
            _download(url, path, spec)
            return path
        except (OSError, http.client.HTTPException, ValueError, DownloadError) as exc:
            failures.append(f'{url}: {type(exc).__name__}: {exc}')
    return None


def resolve(name):
    """The local path of zoo weights: the cached file if it verifies, else
    the first mirror's complete, verified download.

    Args:
        name (str): ``zoo://<name>`` or ``<name>`` (see ``zoo_table``).

    Raises:
        DownloadError: No file of the entry could be had; the message names
            the files, every URL tried and why, and where to put a file
            downloaded by hand.
    """
    name, entry = zoo_entry(name)
    failures = []
    for spec in entry['files']:
        path = _fetch(spec, failures)
        if path is not None:
            return path
    by_hand = '\n'.join(f'  {os.path.join(cache_dir(), spec["file"])}  <- any of: '
                        f'{", ".join(spec["urls"])}' for spec in entry['files'])
    raise DownloadError(
        f'cannot get {SCHEME}{name} ({entry["arch"]}, {entry["source"]}):\n  '
        + '\n  '.join(failures)
        + '\nDownload one file by hand and save it under the name shown (set TORCH_HOME to '
        f'move the cache); it is checked against its published sha256 before use:\n{by_hand}')


@CheckpointLoader.register_scheme(prefixes=SCHEME, force=True)  # re-import safe
def load_from_zoo(filename, map_location=None):
    """mmengine's loader for ``zoo://`` names: the resolved file, read
    weights-only (torch, safetensors or .pdparams) onto the CPU.

    Args:
        filename (str): ``zoo://<name>``.
        map_location: Ignored; weights are loaded onto the CPU.
    """
    return read_file(resolve(filename))
