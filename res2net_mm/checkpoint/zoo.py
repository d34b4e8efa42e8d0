"""Published weights by name: ``zoo://<name>`` resolves to a verified file in
the cache, downloaded once from the first mirror that serves it intact.

The table is configs/metafile.yml: every Model with ``Weights`` is a zoo
name (``zoo_table`` reads it once; the metafile's header says what each key
holds). The cache is torch.hub's:
``$TORCH_HOME/hub/checkpoints`` (``torch.hub.get_dir()``). A file is written
there only after its transfer completed and its sha256 matched (atomically,
so an interrupted or corrupted download leaves nothing); a file whose
publisher gives no sha256 (PaddleClas) is kept only if it reads as a
checkpoint. A cached file is checked again before each use and removed if it
fails. Importing this module registers the scheme
with mmengine's ``CheckpointLoader``, so mmengine's ``Pretrained`` init,
``load_checkpoint`` and ``load_from`` resolve zoo names too.
"""
import functools
import hashlib
import http.client
import os
import tempfile
import urllib.request
from urllib.parse import urlsplit

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

from ..model_index import load_metafile
from .errors import CacheNotWritableError, CheckpointError, DownloadError
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


def unreadable(spec, path):
    """Why the file at ``path`` of an entry without a published sha256 is
    not a checkpoint (an error page a mirror sent, a cut transfer), or None.
    A file with a published sha256 is checked by it instead."""
    if spec['sha256'] is not None:
        return None
    try:
        read_file(path)
    except CheckpointError as exc:
        return f'not a checkpoint ({exc})'
    return None


def _unverified(spec, digest, path):
    if spec['sha256'] is None:
        print_log(f'{path}: its publisher gives no checksum; it reads as a checkpoint, '
                  f'its sha256 is {digest}', logger='current')


def _download(url, path, spec):
    """Fetch ``url`` into ``path`` if the transfer is complete and its sha256
    matches (or, unpublished, it reads as a checkpoint); otherwise raise and
    leave no file at ``path``."""
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
    problem = unreadable(spec, path)
    if problem:
        os.remove(path)
        raise DownloadError(f'{problem}; not kept')
    _unverified(spec, digest.hexdigest(), path)


def _cached(spec, failures):
    """The cached path of one file of a zoo entry if it verifies, else None
    (a cached file that does not verify is removed; why is appended to
    ``failures``)."""
    path = os.path.join(cache_dir(), spec['file'])
    if not os.path.isfile(path):
        return None
    digest = sha256_of(path)
    problem = hash_problem(digest, spec) or unreadable(spec, path)
    if problem is None:
        _unverified(spec, digest, path)
        return path
    os.remove(path)
    failures.append(f'cached {path}: {problem}; removed')
    return None


def _downloaded(spec, failures):
    """The path of one file of a zoo entry downloaded from its first mirror
    that serves it intact, or None; what went wrong is appended to
    ``failures``."""
    path = os.path.join(cache_dir(), spec['file'])
    for url in spec['urls']:
        try:
            _download(url, path, spec)
            return path
        except (OSError, http.client.HTTPException, ValueError, DownloadError) as exc:
            failures.append(f'{url}: {type(exc).__name__}: {exc}')
    return None


def check_cache_writable(name):
    """Raise a ``CacheNotWritableError`` if no file can be written into the
    cache folder, before any mirror is tried (none of them is at fault)."""
    folder = cache_dir()
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CacheNotWritableError(
            f'cannot get {SCHEME}{name}: the zoo cache {folder} is not writable '
            f'({type(exc).__name__}: {exc}); no mirror was tried. Point TORCH_HOME at a '
            'writable folder (the cache is $TORCH_HOME/hub/checkpoints; e.g. export '
            'TORCH_HOME=$HOME/.cache/torch), or make the folder writable') from exc


def resolve(name):
    """The local path of zoo weights: a cached file that verifies, else the
    first mirror's complete, verified download.

    A file is verified by its published sha256; PaddleClas publishes none,
    so its files are accepted when they read as a checkpoint (an error page
    a mirror sent is removed from the cache and downloaded again).

    Args:
        name (str): ``zoo://<name>`` or ``<name>`` (see ``zoo_table``).

    Raises:
        CacheNotWritableError: Nothing is cached and the cache folder cannot
            be written; the message says how to move it.
        DownloadError: No file of the entry could be had; the message names
            the files, every URL tried and why, and where to put a file
            downloaded by hand.
    """
    name, entry = zoo_entry(name)
    failures = []
    for spec in entry['files']:
        path = _cached(spec, failures)
        if path is not None:
            return path
    check_cache_writable(name)
    for spec in entry['files']:
        path = _downloaded(spec, failures)
        if path is not None:
            return path
    by_hand = '\n'.join(f'  {os.path.join(cache_dir(), spec["file"])}  <- any of: '
                        f'{", ".join(spec["urls"])}' for spec in entry['files'])
    raise DownloadError(
        f'cannot get {SCHEME}{name} ({entry["arch"]}, {entry["source"]}):\n  '
        + '\n  '.join(failures)
        + '\nDownload one file by hand and save it under the name shown (set TORCH_HOME to '
        'move the cache); it is checked against its published sha256 (where none is '
        f'published: that it reads as a checkpoint) before use:\n{by_hand}')


@CheckpointLoader.register_scheme(prefixes=SCHEME, force=True)  # re-import safe
def load_from_zoo(filename, map_location=None):
    """mmengine's loader for ``zoo://`` names: the resolved file, read
    weights-only (torch, safetensors or .pdparams) onto the CPU.

    Args:
        filename (str): ``zoo://<name>``.
        map_location: Ignored; weights are loaded onto the CPU.
    """
    return read_file(resolve(filename))
