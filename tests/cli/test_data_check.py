"""The early dataset check (res2net_mm/cli/data_check.py) in a checkout
without data/: the demo configs generate their data and pass; a config
of a real dataset stops, pointing to docs/experiments.md#data."""
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

from res2net_mm.cli import DatasetNotFoundError, check_data_paths, missing_data_paths

REPO = Path(__file__).resolve().parents[2]
DEMOS = sorted(p.name for p in (REPO / 'configs' / 'demo').glob('*.py'))
PHASES = ('train', 'val', 'test')


@pytest.mark.parametrize('derived', [False, True], ids=['no data', 'shapes without derived'])
@pytest.mark.parametrize('demo', DEMOS)
def test_demo_configs_pass_without_data(demo, derived, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if derived:  # the shapes made, their crops / saliency masks not yet
        (tmp_path / 'data' / 'shapes' / 'annotations').mkdir(parents=True)
        (tmp_path / 'data' / 'shapes' / 'manifest.json').write_text('{}')
    cfg = Config.fromfile(REPO / 'configs' / 'demo' / demo)
    assert missing_data_paths(cfg, PHASES) == []
    check_data_paths(cfg, PHASES)


def test_generated_folders_hide_only_their_own_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shapes = dict(type='res2net_mm.ShapesDataset',
                  dataset=dict(type='CocoDataset', data_root='data/shapes/',
                               ann_file='annotations/instances_train.json'))
    real = dict(type='CocoDataset', data_root='data/coco/', ann_file='a.json')
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[shapes, real])),
        val_dataloader=dict(dataset=shapes),
        val_evaluator=[dict(type='CocoMetric', ann_file='data/shapes/annotations/x.json'),
                       dict(type='CocoMetric', ann_file='data/shapes2/x.json')]))
    assert missing_data_paths(cfg, PHASES) == [
        ('train_dataloader.dataset.datasets.1.data_root', 'data/coco/'),
        ('val_evaluator.ann_file', 'data/shapes2/x.json')]


def test_train_tool_points_to_the_data_docs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location('tool_train', REPO / 'tools' / 'train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as exc:
        tool.main([str(REPO / 'configs' / 'faster_rcnn_r2n50_coco.py')])
    message = str(exc.value.code)
    assert 'docs/experiments.md#data' in message and 'data/coco/' in message
    assert (REPO / 'docs' / 'experiments.md').read_text().count('\n## Data\n') == 1
    with pytest.raises(DatasetNotFoundError, match='experiments.md#data'):
        check_data_paths(Config.fromfile(REPO / 'configs' / 'faster_rcnn_r2n50_coco.py'),
                         ('train', ))
