"""Zoo names (``zoo://<name>``) against a server on 127.0.0.1 started here:
download, cache, verification, mirror fall-through, truncated and corrupted
transfers, the offline message, and every published file of the table
loading by its name (its URLs and hash swapped for the served stand-in).

No test reaches any other address: ``socket.create_connection`` refuses
every host but 127.0.0.1 for the whole module.
"""
import hashlib
import http.server
import io
import os
import pickle
import re
import socket
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import torch
from mmengine.config import Config

from res2net_mm.checkpoint import (CacheNotWritableError, CheckpointError, DownloadError,
                                   cache_dir, resolve)
from res2net_mm.checkpoint.layouts import STEM_NAMES
from res2net_mm.models import Res2Net
from res2net_mm.checkpoint.zoo import zoo_table
from res2net_mm.models import Res2NetDLA
from res2net_mm.variants import ARCHS, DLA_ARCHS

WEIGHTS = zoo_table()  # the resolver's table (configs/metafile.yml), patched per test

REPO = Path(__file__).resolve().parents[2]
TABLE_FILES = [(name, i) for name, row in WEIGHTS.items() for i in range(len(row['files']))]
# One file of each kind (official .pth, hub .safetensors and .bin, mmdet,
# PaddleClas .pdparams) in the default suite; all of them with -m slow.
QUICK_FILES = [('res2net50_26w_4s', 0), ('res2net50_14w_8s', 1), ('res2net50_26w_6s', 1),
               ('res2net101_v1b_26w_4s', 1), ('res2net50_v1b_26w_4s_ssld', 0), ('res2net_dla60', 0)]


class Server(http.server.ThreadingHTTPServer):
    """Serves ``files`` (path -> bytes); paths in ``truncated`` announce their
    full length and send half. ``hits`` counts GETs per path."""

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.files, self.truncated, self.hits = {}, set(), Counter()

    def url(self, path):
        return f'http://127.0.0.1:{self.server_address[1]}{path}'


class Handler(http.server.BaseHTTPRequestHandler):

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.hits[self.path] += 1
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2] if self.path in self.server.truncated else data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server():
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path, server):
    """Loopback only, no proxies, an empty cache under $TORCH_HOME."""
    real = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        if address[0] != '127.0.0.1':
            raise AssertionError(f'a test tried to reach {address}')
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, 'create_connection', loopback_only)
    for var in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    server.files.clear()
    server.truncated.clear()
    server.hits.clear()


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return f'http://127.0.0.1:{sock.getsockname()[1]}/gone.pth'


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def add_entry(monkeypatch, name, *files, arch='res2net50_26w_4s'):
    monkeypatch.setitem(WEIGHTS, name, dict(arch=arch, top1=None, source='test', files=files))


def spec(file, sha, *urls, layout='official'):
    return dict(file=file, sha256=sha, layout=layout, urls=urls)


def cached_files():
    return sorted(os.listdir(cache_dir())) if os.path.isdir(cache_dir()) else []


def test_download_is_cached_verified_and_not_repeated(server, monkeypatch):
    data = os.urandom(3000)
    server.files['/a/w.pth'] = data
    add_entry(monkeypatch, 'w', spec('w.pth', sha256(data), server.url('/a/w.pth')))
    path = resolve('zoo://w')
    assert path == os.path.join(os.environ['TORCH_HOME'], 'hub', 'checkpoints', 'w.pth')
    assert Path(path).read_bytes() == data and cached_files() == ['w.pth']
    assert resolve('w') == path  # the scheme is optional
    assert server.hits['/a/w.pth'] == 1


def test_sha256_mismatch_is_rejected_and_nothing_cached(server, monkeypatch):
    server.files['/w.pth'] = b'tampered'
    add_entry(monkeypatch, 'w', spec('w.pth', sha256(b'original'), server.url('/w.pth')))
    with pytest.raises(DownloadError, match='does not match the published sha256 '):
        resolve('zoo://w')
    assert cached_files() == []


def test_sha256_prefix_is_checked_as_torch_hub_does(server, monkeypatch):
    data = b'official file'
    server.files['/w.pth'] = data
    add_entry(monkeypatch, 'good', spec('w.pth', sha256(data)[:8], server.url('/w.pth')))
    add_entry(monkeypatch, 'bad', spec('v.pth', '0badf00d', server.url('/w.pth')))
    assert Path(resolve('zoo://good')).read_bytes() == data
    with pytest.raises(DownloadError, match=r'sha256 prefix \(from the file name\) 0badf00d'):
        resolve('zoo://bad')
    assert cached_files() == ['w.pth']


def test_dead_mirrors_fall_through_to_the_next(server, monkeypatch):
    data = os.urandom(100)
    server.files['/mirror3/w.pth'] = data
    urls = (server.url('/mirror1/w.pth'), closed_port_url(), server.url('/mirror3/w.pth'))
    add_entry(monkeypatch, 'w', spec('w.pth', sha256(data), *urls))
    assert Path(resolve('zoo://w')).read_bytes() == data
    assert server.hits['/mirror1/w.pth'] == 1 and server.hits['/mirror3/w.pth'] == 1


def pdparams_bytes(numbers=2400):
    """A small valid .pdparams file (paddle.save: a pickled dict of arrays)."""
    arrays = {'a': np.arange(numbers, dtype=np.float32)}
    return pickle.dumps({**arrays, 'StructuredToParameterName@@': {'a': 'a'}}, protocol=4)


def test_truncated_transfer_leaves_no_file(server, monkeypatch):
    data = pdparams_bytes()
    server.files['/cut.pdparams'] = data
    server.truncated.add('/cut.pdparams')
    # No published hash: only the length check can catch the truncation.
    add_entry(monkeypatch, 'w', spec('w.pdparams', None, server.url('/cut.pdparams')))
    with pytest.raises(DownloadError, match=f'transfer ended after {len(data) // 2} of {len(data)} '):
        resolve('zoo://w')
    assert cached_files() == []
    server.files['/whole.pdparams'] = data  # a second mirror that sends it all
    add_entry(monkeypatch, 'w', spec('w.pdparams', None, server.url('/cut.pdparams'),
                                     server.url('/whole.pdparams')))
    assert Path(resolve('zoo://w')).read_bytes() == data


def test_corrupted_cache_is_downloaded_again_and_a_hand_placed_file_is_used(server, monkeypatch):
    data = os.urandom(500)
    server.files['/w.pth'] = data
    add_entry(monkeypatch, 'w', spec('w.pth', sha256(data), server.url('/w.pth')))
    os.makedirs(cache_dir())
    Path(cache_dir(), 'w.pth').write_bytes(data[:250])  # an old interrupted copy
    assert Path(resolve('zoo://w')).read_bytes() == data and server.hits['/w.pth'] == 1
    add_entry(monkeypatch, 'h', spec('h.pth', sha256(b'by hand'), closed_port_url()))
    Path(cache_dir(), 'h.pth').write_bytes(b'by hand')
    assert Path(resolve('zoo://h')).read_bytes() == b'by hand'


def test_offline_error_names_the_files_the_urls_and_where_to_put_them(monkeypatch):
    urls = (closed_port_url(), closed_port_url().replace('gone', 'mirror'))
    add_entry(monkeypatch, 'w', spec('w-0123abcd.pth', '0123abcd', *urls),
              spec('w.safetensors', 'ab' * 32, urls[0]), arch='res2net50_14w_8s')
    with pytest.raises(DownloadError) as info:
        resolve('zoo://w')
    message = str(info.value)
    assert message.startswith('cannot get zoo://w (res2net50_14w_8s, test)')
    assert all(url in message for url in urls)
    assert os.path.join(cache_dir(), 'w-0123abcd.pth') in message
    assert os.path.join(cache_dir(), 'w.safetensors') in message
    assert 'by hand' in message and 'TORCH_HOME' in message and 'Connection refused' in message


ERROR_PAGE = b'<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n'


def test_unhashed_error_page_is_not_kept_and_a_cached_one_is_replaced(server, monkeypatch):
    # PaddleClas publishes no sha256: a file is kept only if it reads as a checkpoint.
    data = pdparams_bytes()
    server.files['/busy/w.pdparams'], server.files['/ok/w.pdparams'] = ERROR_PAGE, data
    add_entry(monkeypatch, 'bad', spec('w.pdparams', None, server.url('/busy/w.pdparams')))
    with pytest.raises(DownloadError, match=r'busy/w.pdparams: DownloadError: not a checkpoint '
                                            r'\(cannot read .*\); not kept') as info:
        resolve('zoo://bad')
    assert 'where none is published: that it reads as a checkpoint' in str(info.value)
    assert cached_files() == []
    Path(cache_dir(), 'w.pdparams').write_bytes(ERROR_PAGE)  # left by an older version
    add_entry(monkeypatch, 'w', spec('w.pdparams', None, server.url('/busy/w.pdparams'),
                                     server.url('/ok/w.pdparams')))
    assert Path(resolve('zoo://w')).read_bytes() == data
    assert server.hits['/ok/w.pdparams'] == 1
    assert Path(resolve('zoo://w')).read_bytes() == data and server.hits['/ok/w.pdparams'] == 1


def test_unwritable_cache_is_named_and_no_mirror_is_blamed(server, monkeypatch, tmp_path):
    server.files['/w.pth'] = b'weights'
    add_entry(monkeypatch, 'w', spec('w.pth', sha256(b'weights'), server.url('/w.pth')))
    (tmp_path / 'file').write_text('a file where the cache folder would be')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'file' / 'torch'))
    with pytest.raises(CacheNotWritableError) as info:
        resolve('zoo://w')
    message = str(info.value)
    assert f'the zoo cache {cache_dir()} is not writable' in message
    assert 'Point TORCH_HOME at a writable folder' in message
    assert 'http://' not in message and server.hits['/w.pth'] == 0


def test_unknown_zoo_name_lists_the_published_ones():
    with pytest.raises(CheckpointError, match=r"unknown zoo name 'res2net50'; published: .*res2net50_26w_4s"):
        resolve('zoo://res2net50')


# --- published files, each served by the local server in its own format ---

def build(arch, **kwargs):
    """The backbone of a Res2Net or DLA-60 arch."""
    return Res2NetDLA(arch, **kwargs) if arch in DLA_ARCHS else Res2Net(arch, **kwargs)


def random_state(arch):
    """Our-layout state dict (random weights) plus an ImageNet ``fc`` (the
    official DLA-60's is a 1x1 conv)."""
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=gen) if v.is_floating_point() else v
             for k, v in build(arch, init_cfg=[]).state_dict().items()}
    fc = (1000, 1024, 1, 1) if arch in DLA_ARCHS else (1000, 2048)
    state.update({'fc.weight': torch.randn(*fc, generator=gen), 'fc.bias': torch.zeros(1000)})
    return state


def paddle_name(key, depth):
    """PaddleClas Res2Net_vd's name of our ``key`` (res2net_vd.py's naming)."""
    stem = {'conv1.0': 'conv1_1._conv', 'conv1.1': 'conv1_1._batch_norm', 'conv1.3': 'conv1_2._conv',
            'conv1.4': 'conv1_2._batch_norm', 'conv1.6': 'conv1_3._conv', 'bn1': 'conv1_3._batch_norm'}
    param = {'weight': 'weight', 'bias': 'bias', 'running_mean': '_mean', 'running_var': '_variance'}
    module, name = key.rsplit('.', 1)
    if module in stem:
        return f'{stem[module]}.{param[name]}'
    stage, block, part = re.match(r'layer(\d)\.(\d+)\.(.+)$', module).groups()
    stage, block = int(stage) - 1, int(block)
    conv = (f'res4b{block}' if block else 'res4a') if depth > 50 and stage == 2 \
        else f'res{stage + 2}{chr(97 + block)}'
    parts = {'conv1': 'conv0._conv', 'bn1': 'conv0._batch_norm', 'conv3': 'conv2._conv',
             'bn3': 'conv2._batch_norm', 'downsample.1': 'short._conv',
             'downsample.2': 'short._batch_norm'}
    split = re.match(r'(convs|bns)\.(\d+)$', part)
    if split:
        kind = '_conv' if split[1] == 'convs' else '_batch_norm'
        part = f'{conv}_branch2b_{int(split[2]) + 1}.{kind}'
    else:
        part = parts[part]
    return f'bb_{stage}_{block}.{part}.{param[name]}'


def file_bytes(state, layout, file, depth):
    """``state`` as the published file ``file`` in ``layout`` would hold it."""
    state = {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    if layout == 'paddle':  # paddle.save: a pickled dict of numpy arrays
        arrays = {paddle_name(k, depth): v.numpy() for k, v in state.items() if not k.startswith('fc.')}
        arrays.update({'out.weight': state['fc.weight'].t().numpy(), 'out.bias': state['fc.bias'].numpy()})
        arrays['StructuredToParameterName@@'] = {k: k.replace('.', '_') for k in arrays}
        return pickle.dumps(arrays, protocol=4)
    if layout == 'mmdet':
        names = STEM_NAMES['mmdet']
        state = {next((names[m] + k[len(m):] for m in names if k.startswith(m + '.')), k): v
                 for k, v in state.items() if not k.startswith('fc.')}
    if file.endswith('.safetensors'):
        from safetensors.torch import save
        return save(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def serve_published(server, monkeypatch, name, index):
    """Serve a stand-in for file ``index`` of zoo entry ``name`` at the
    paths of its real mirrors, with its hash swapped for the stand-in's
    (as long as the published one: 64, 8 or none). Returns the state."""
    row = WEIGHTS[name]
    published = row['files'][index]
    state = random_state(row['arch'])
    depth = ARCHS[row['arch']]['depth'] if row['arch'] in ARCHS else None
    data = file_bytes(state, published['layout'], published['file'], depth)
    urls = []
    for url in published['urls']:
        parts = urlsplit(url)
        server.files[f'/{parts.netloc}{parts.path}'] = data
        urls.append(server.url(f'/{parts.netloc}{parts.path}'))
    sha = published['sha256'] and sha256(data)[:len(published['sha256'])]
    monkeypatch.setitem(WEIGHTS, name, dict(row, files=(dict(published, sha256=sha, urls=tuple(urls)), )))
    return state


def check_file_loads(server, monkeypatch, name, index):
    state = serve_published(server, monkeypatch, name, index)
    row, spec = WEIGHTS[name], WEIGHTS[name]['files'][0]
    init_cfg = dict(type='Pretrained', checkpoint=f'zoo://{name}')
    if row['arch'] in DLA_ARCHS:
        model = build(row['arch'], init_cfg=init_cfg)
    else:
        model = build(row['arch'], stage_pool='paddle' if spec['layout'] == 'paddle' else 'always',
                      init_cfg=init_cfg)
    model.init_weights()  # strict: every key and shape of the arch
    # every tensor where it belongs (strict loading checks names and shapes
    # only: two same-shape tensors swapped would pass it)
    loaded = model.state_dict()
    compared = [key for key in state if key in loaded]
    assert len(compared) == len(loaded), sorted(set(loaded) - set(compared))[:5]
    for key in compared:
        assert torch.equal(loaded[key], state[key]), key
    assert cached_files() == [spec['file']]
    assert sum(server.hits.values()) == 1


@pytest.mark.parametrize('name,index', QUICK_FILES)
def test_published_files_load_by_zoo_name(server, monkeypatch, name, index):
    check_file_loads(server, monkeypatch, name, index)


@pytest.mark.slow
@pytest.mark.parametrize('name,index', TABLE_FILES)
def test_every_published_file_loads_by_zoo_name(server, monkeypatch, name, index):
    check_file_loads(server, monkeypatch, name, index)


def test_table_is_consistent():
    for name, row in WEIGHTS.items():
        assert (row['arch'] in ARCHS or row['arch'] in DLA_ARCHS) and row['top1'] > 70, name
        for file in row['files']:
            sha = file['sha256']
            assert sha is None or re.fullmatch('[0-9a-f]{8}|[0-9a-f]{64}', sha), file
            if sha is not None and len(sha) == 8:  # the official naming: <name>-<sha8>.pth
                assert file['file'].endswith(f'-{sha}.pth') and file['urls'][0].endswith(file['file'])
            assert file['urls'] and all(u.startswith('https://') for u in file['urls'])
            assert (file['layout'] == 'paddle') == file['file'].endswith('.pdparams')


def test_zoo_name_through_mmengine_and_a_config(server, monkeypatch):
    """mmengine's load_checkpoint and Pretrained init, and the backbone of a
    downstream config, resolve the name (one download for all)."""
    from mmengine.model.weight_init import PretrainedInit
    from mmengine.runner import load_checkpoint

    from res2net_mm.registry import MODELS
    state = serve_published(server, monkeypatch, 'res2net50_26w_4s', 0)
    key = 'layer3.5.convs.2.weight'

    model = Res2Net('res2net50_26w_4s', init_cfg=[])
    load_checkpoint(model, 'zoo://res2net50_26w_4s', strict=False)
    assert torch.equal(model.state_dict()[key], state[key])
    model = Res2Net('res2net50_26w_4s', init_cfg=[])
    PretrainedInit(checkpoint='zoo://res2net50_26w_4s')(model)
    assert torch.equal(model.state_dict()[key], state[key])

    cfg = Config.fromfile(REPO / 'configs' / 'faster_rcnn_r2n50_coco.py')
    assert cfg.model.backbone.init_cfg.checkpoint == 'zoo://res2net50_26w_4s'
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    assert torch.equal(backbone.state_dict()[key], state[key])
    assert sum(server.hits.values()) == 1


@pytest.mark.parametrize('config,name', [('faster_rcnn_r2ndla60_coco', 'res2net_dla60'),
                                         ('faster_rcnn_r2nextdla60_coco', 'res2next_dla60')])
def test_dla_configs_load_the_official_weights_by_zoo_name(server, monkeypatch, config, name):
    """The DLA-60 detectors start from the official ImageNet file by zoo
    name (no hand download), its unused projections dropped on load."""
    from res2net_mm.registry import MODELS
    state = serve_published(server, monkeypatch, name, 0)
    cfg = Config.fromfile(REPO / 'configs' / f'{config}.py')
    assert cfg.model.backbone.init_cfg.checkpoint == f'zoo://{name}'
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    key = 'level4.tree2.tree1.conv2.weight' if 'level4.tree2.tree1.conv2.weight' in state else \
        sorted(k for k in state if k.startswith('level4'))[0]
    assert torch.equal(backbone.state_dict()[key], state[key])
    assert sum(server.hits.values()) == 1


def test_convert_tool_reads_a_zoo_name_and_writes_safetensors(server, monkeypatch, tmp_path):
    """PaddleClas SSLD weights by name -> an our-layout safetensors file with
    the classifier, which loads like any .pth."""
    import importlib.util

    from res2net_mm.checkpoint import read_checkpoint
    state = serve_published(server, monkeypatch, 'res2net50_v1b_26w_4s_ssld', 0)
    spec_ = importlib.util.spec_from_file_location('convert_tool', REPO / 'tools' / 'convert_checkpoint.py')
    tool = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(tool)
    out = tmp_path / 'r2n50_ssld.safetensors'
    tool.main(['zoo://res2net50_v1b_26w_4s_ssld', str(out), '--keep-head'])
    with open(out, 'rb') as f:  # safetensors: 8-byte header length, then JSON
        assert f.read(9)[8:] == b'{'
    written = read_checkpoint(str(out))
    expected = {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}
    assert sorted(written) == sorted(expected)
    assert all(torch.equal(written[k], expected[k]) for k in expected)
    model = Res2Net('res2net50_v1b_26w_4s', stage_pool='paddle',
                    init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    model.init_weights()
    assert torch.equal(model.state_dict()['layer2.0.bns.1.running_mean'],
                       state['layer2.0.bns.1.running_mean'])


def test_test_tool_evaluates_a_published_classifier_by_zoo_name(server, monkeypatch, tiny_shapes,
                                                                 tmp_path, capsys):
    from tests.configs.test_classification import _smoke_file
    from tests.cli.test_tools import load_tool
    state = serve_published(server, monkeypatch, 'res2net50_26w_4s', 0)
    config, _ = _smoke_file('cls_r2n50_in1k', tiny_shapes, tmp_path)
    tool, loaded = load_tool('test'), []

    def load_classifier(model, checkpoint, source):  # the tool's, recording the model
        tool_load_classifier(model, checkpoint, source)
        loaded.append(model)

    tool_load_classifier = tool.load_classifier
    monkeypatch.setattr(tool, 'load_classifier', load_classifier)
    tool.main([config, 'zoo://res2net50_26w_4s', '--work-dir', str(tmp_path / 'w'),
               '--cfg-options', 'model.head.num_classes=1000'])
    assert 'accuracy/top1' in capsys.readouterr().out
    # Loaded whole (classifier included) before testing, from one download.
    assert torch.equal(loaded[0].head.fc.weight.cpu(), state['fc.weight'])
    assert sum(server.hits.values()) == 1
