"""Environment self-check: ``python -m res2net_mm.env``.

Prints the versions of the stack and verifies each known trap of it (see
docs/get_started.md, "Common failures"), with one line per check and a
message that says what to do when a check fails. Exit status 1 if any fails.
"""
import importlib
import os
import sys
import tempfile
import traceback

PACKAGES = ('torch', 'torchvision', 'numpy', 'mmengine', 'mmcv', 'mmdet', 'mmseg',
            'mmpose', 'mmpretrain', 'setuptools')
INSTALL_HINT = 'run `bash tools/install.sh` (it sets up .venv with the tested versions)'


def check_torchvision():
    """torchvision must be built for this torch: its C++ ops must load."""
    import torch
    import torchvision
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0], f'torchvision nms returned {keep.tolist()}'


def check_mmcv_ops():
    """mmcv must have its compiled ops (mmcv-lite is not enough) and run them on CPU."""
    import torch
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    assert keep.tolist() == [0, 2], f'mmcv nms returned {keep.tolist()}'
    # RoIAlign of a constant map is that constant: a hand-checkable value.
    feat = torch.full((1, 1, 8, 8), 3.0)
    out = RoIAlign((2, 2), 1.0, 2)(feat, torch.tensor([[0., 1., 1., 5., 5.]]))
    assert torch.allclose(out, torch.full_like(out, 3.0)), f'RoIAlign gave {out.flatten()}'


def check_downstream_imports():
    """mmdet/mmseg assert the mmcv version at import; mmpose imports torchvision;
    mmpretrain imports mat4py, einops and modelindex."""
    for name in ('mmdet.models', 'mmseg.models', 'mmpose.models', 'mmpretrain.models'):
        importlib.import_module(name)


def check_setuptools():
    """setuptools >= 81 drops pkg_resources, which mmengine's 'mmdet::' lookup needs."""
    from mmengine.config import Config
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'inherit.py')
        with open(path, 'w') as f:
            f.write("_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'\n")
        cfg = Config.fromfile(path)
    assert cfg.model.type == 'FasterRCNN'


def check_backbone():
    import torch

    from res2net_mm.models import Res2Net
    model = Res2Net('res2net50_26w_4s', out_indices=(3,)).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))[0]
    assert out.shape == (1, 2048, 2, 2), out.shape


def check_resume():
    """A full runner checkpoint (optimizer, message hub) must load under
    torch >= 2.6, whose torch.load defaults to weights_only=True."""
    import torch
    from mmengine.logging import HistoryBuffer, MessageHub
    from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

    from res2net_mm.checkpoint import allow_runner_checkpoints
    allow_runner_checkpoints()  # what importing res2net_mm and the tools do
    hub = MessageHub.get_instance('res2net_mm_env_check')
    hub.update_scalar('train/loss', 1.5)
    model = torch.nn.Linear(2, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(3, 2)).sum().backward()
    optim.step()
    ckpt = dict(meta=dict(iter=3, seed=0), state_dict=model.state_dict(),
                optimizer=optim.state_dict(), message_hub=hub.state_dict())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'iter_3.pth')
        save_checkpoint(ckpt, path)
        loaded = _load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['iter'] == 3
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert loaded['optimizer']['state'][0]['momentum_buffer'].shape == (2, 2)


CHECKS = [
    ('torch/torchvision match', check_torchvision,
     'torchvision is not built for this torch; install the pinned pair from '
     'requirements/constraints.txt'),
    ('mmcv compiled ops run on CPU', check_mmcv_ops,
     'mmcv has no compiled ops (mmcv-lite?) or was built for another torch; ' + INSTALL_HINT),
    ('mmdet / mmseg / mmpose / mmpretrain import', check_downstream_imports,
     'a downstream library fails to import (mmcv version bounds, missing ftfy/regex, '
     'xtcocotools built for numpy 1); ' + INSTALL_HINT),
    ("'mmdet::' config lookup (setuptools < 81)", check_setuptools,
     'pin setuptools<81: newer releases drop pkg_resources; ' + INSTALL_HINT),
    ('Res2Net builds and runs', check_backbone, 'the res2net_mm package is broken'),
    ('runner checkpoint resume under torch >= 2.6', check_resume,
     'full checkpoints fail to load with weights_only=True; res2net_mm.checkpoint '
     'must allow-list their globals'),
]


def versions():
    lines = [f'python {sys.version.split()[0]}']
    for name in PACKAGES:
        try:
            lines.append(f'{name} {importlib.import_module(name).__version__}')
        except Exception as err:  # noqa: BLE001  (reported, not raised)
            lines.append(f'{name} MISSING ({type(err).__name__}: {err})')
    return lines


def main(verbose=False):
    print('res2net_mm environment')
    for line in versions():
        print('  ' + line)
    failed = 0
    for title, check, hint in CHECKS:
        try:
            check()
            print(f'  [ok]   {title}')
        except Exception as err:  # noqa: BLE001  (every check reports, then we fail)
            failed += 1
            print(f'  [FAIL] {title}: {type(err).__name__}: {err}\n         -> {hint}')
            if verbose:
                traceback.print_exc()
    print('all checks passed' if not failed else f'{failed} check(s) failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(verbose='-v' in sys.argv))
