"""Tests of the demo's protocol (res2net_mm/demo/protocol.py): the
pretraining step runs once per config and seed and is reused after; its
weights reach the downstream model through a plain Pretrained init."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from res2net_mm.demo.protocol import (config_digest, ensure_pretrained,
                                      key_metric, linked_config,
                                      pretrained_file, read_meta, set_seed,
                                      use_pretrained)
from res2net_mm.testing import load_tool

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'demo'
MAIN_JOB = DEMO / 'faster_rcnn_r2n50_shapes.py'


class FakeTraining:
    """Stands in for ``run_training``: a tiny 'classifier', counted calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, cfg):
        self.calls += 1
        model = torch.nn.Module()
        model.backbone = torch.nn.Conv2d(3, 4, 3)
        torch.nn.init.constant_(model.backbone.weight, float(self.calls))
        return dict(model=model, metric='accuracy/top1', value=90.0 + self.calls,
                    minutes=0.5)


def _pretrain_cfg(seed=0):
    cfg = linked_config(Config.fromfile(MAIN_JOB), 'pretrain_config')
    return set_seed(cfg, seed)


def test_pretraining_runs_once_and_is_reused(tmp_path):
    cfg, train = _pretrain_cfg(), FakeTraining()
    path = pretrained_file(cfg, str(tmp_path))
    assert Path(path).name == 'cls_r2n50_shapes_seed0.pth'
    first = ensure_pretrained(cfg, path, train)
    again = ensure_pretrained(cfg, path, train)
    assert train.calls == 1
    assert (first['reused'], again['reused']) == (False, True)
    assert again['value'] == first['value'] == 91.0
    assert again['digest'] == config_digest(cfg)
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]  # no partial left
    state = torch.load(path, weights_only=True)['state_dict']
    assert torch.equal(state['backbone.weight'], torch.ones(4, 3, 3, 3))


def test_a_changed_pretraining_config_pretrains_again(tmp_path):
    cfg, train = _pretrain_cfg(), FakeTraining()
    path = pretrained_file(cfg, str(tmp_path))
    ensure_pretrained(cfg, path, train)
    cfg.train_cfg.max_iters += 1
    assert not ensure_pretrained(cfg, path, train)['reused']
    assert train.calls == 2
    assert read_meta(path)['digest'] == config_digest(cfg)


def test_an_unreadable_pretrained_file_is_replaced(tmp_path):
    cfg, train = _pretrain_cfg(), FakeTraining()
    path = pretrained_file(cfg, str(tmp_path))
    Path(path).write_bytes(b'not a checkpoint')
    assert read_meta(path) is None
    assert not ensure_pretrained(cfg, path, train)['reused']
    assert read_meta(path)['value'] == 91.0


def test_seeds_pretrain_separately(tmp_path):
    names = {Path(pretrained_file(_pretrain_cfg(s), str(tmp_path))).name
             for s in (0, 1, 2)}
    assert names == {f'cls_r2n50_shapes_seed{s}.pth' for s in (0, 1, 2)}
    assert _pretrain_cfg(2).work_dir == 'work_dirs/demo_cls_r2n50/seed2'
    with pytest.raises(ValueError, match='seed must be an integer >= 0'):
        set_seed(_pretrain_cfg(), -1)


def test_pretrained_weights_reach_the_detector_backbone(tmp_path):
    """A classifier's backbone weights, saved as the pretraining step saves
    them, load into the detector through its Pretrained init (mmengine's
    PretrainedInit with prefix 'backbone.'), every tensor equal."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS as CLS_MODELS
    cfg = Config.fromfile(MAIN_JOB)
    pretrain = linked_config(cfg, 'pretrain_config')
    init_default_scope('mmpretrain')
    classifier = CLS_MODELS.build(pretrain.model)
    with torch.no_grad():
        for p in classifier.parameters():
            p.normal_()
    path = str(tmp_path / 'pretrained.pth')
    torch.save(dict(state_dict=classifier.state_dict(), meta={}), path)
    use_pretrained(cfg, path)
    init_default_scope('mmdet')
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    mine = detector.backbone.state_dict()
    theirs = classifier.backbone.state_dict()
    assert set(mine) == set(theirs)
    for key, value in theirs.items():
        assert torch.equal(mine[key], value), key


def test_use_pretrained_needs_a_pretrained_init():
    cfg = Config.fromfile(MAIN_JOB)
    cfg.model.backbone.init_cfg = None
    with pytest.raises(ValueError, match="type='Pretrained'"):
        use_pretrained(cfg, 'x.pth')


def test_key_metric_and_missing_linked_config(tmp_path):
    assert key_metric(Config.fromfile(MAIN_JOB)) == 'coco/bbox_mAP'
    cfg = Config.fromfile(MAIN_JOB)
    cfg.pretrain_config = './no_such_config.py'
    with pytest.raises(FileNotFoundError, match='no_such_config'):
        linked_config(cfg, 'pretrain_config')


def test_seed_option_runs_into_a_work_dir_per_seed():
    tool = load_tool('demo')
    args = tool.parse_args(['--seed', '0', '2'])
    assert args.config == tool.MAIN_JOB and args.seed == [0, 2]
    cfg = tool.build_config(args, seed=2)
    assert cfg.randomness.seed == 2
    assert cfg.work_dir == 'work_dirs/demo_faster_rcnn/seed2'
    with pytest.raises(SystemExit):
        tool.parse_args(['--seed', '-1'])


def test_compare_table_has_a_row_per_run_and_the_means():
    tool = load_tool('demo')

    def row(name, seed, top1, value):
        return dict(name=name, seed=seed, params=23.5, gflops=4.1,
                    pretrain=dict(value=top1, minutes=2.0),
                    result=dict(metric='coco/bbox_mAP', value=value,
                                minutes=6.0))

    rows = [row('r2n', 0, 95.0, 0.8), row('r2n', 1, 97.0, 0.7),
            row('r50', 0, 94.0, 0.6)]
    lines = tool.compare_table(rows)
    assert len(lines) == 2 + 3 + 1  # head, rule, runs, one mean
    assert lines[-1].startswith('| r2n | mean | 96.0 | coco/bbox_mAP | 0.750 |')
    assert all(line.count('|') == 10 for line in lines)


def _fake_protocol(tool, monkeypatch, calls, fail_at=None):
    """Replace the demo tool's protocol by one that records each run's
    config in ``calls`` and returns a fixed outcome (raises on run
    ``fail_at``)."""
    outcome = dict(params=23.7, gflops=4.3, pretrain=dict(value=93.0, minutes=3.0),
                   result=dict(metric='coco/bbox_mAP', value=0.75, minutes=9.0))

    def protocol(cfg, seed=None):
        calls.append(cfg)
        if len(calls) == fail_at:
            raise RuntimeError('the twin failed')
        return dict(outcome)

    monkeypatch.setattr(tool, 'protocol', protocol)


def test_compare_table_keeps_the_runs_before_a_failing_one(tmp_path, monkeypatch):
    tool = load_tool('demo')
    calls = []
    _fake_protocol(tool, monkeypatch, calls, fail_at=2)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match='twin failed'):
        tool.main([str(MAIN_JOB), '--compare'])
    table = (tmp_path / 'work_dirs' /
             'demo_faster_rcnn_r2n50_shapes_vs_faster_rcnn_r50_shapes.md').read_text()
    assert calls[1].filename.endswith('faster_rcnn_r50_shapes.py')
    lines = table.splitlines()
    assert len(lines) == 3  # head, rule, the first run
    assert lines[2].startswith('| faster_rcnn_r2n50_shapes | 0 | 93.0 | coco/bbox_mAP | 0.750 |')


def test_compare_with_a_work_dir_runs_each_config_into_its_own_folder(tmp_path, monkeypatch):
    """--work-dir with --compare: the twin does not run into (and replace the
    checkpoints of) its own config's default work dir."""
    tool = load_tool('demo')
    calls = []
    _fake_protocol(tool, monkeypatch, calls)
    monkeypatch.chdir(tmp_path)
    tool.main([str(MAIN_JOB), '--compare', '--work-dir', 'mine'])
    assert [c.work_dir for c in calls] == ['mine/faster_rcnn_r2n50_shapes',
                                           'mine/faster_rcnn_r50_shapes']
    assert (tmp_path / 'mine' / 'demo_faster_rcnn_r2n50_shapes_vs_faster_rcnn_r50_shapes.md'
            ).is_file()
    assert not (tmp_path / 'work_dirs').exists()
    calls.clear()
    tool.main([str(MAIN_JOB), '--work-dir', 'alone'])  # without --compare: the folder itself
    assert [c.work_dir for c in calls] == ['alone']
