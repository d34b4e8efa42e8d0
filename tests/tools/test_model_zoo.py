"""The model zoo's one source, configs/metafile.yml, against the configs,
the zoo resolver, the variant table and the docs tools/model_zoo.py
generates from it."""
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

from res2net_mm.checkpoint.zoo import zoo_entry, zoo_table
from res2net_mm.model_index import load_metafile

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(f'configs/{p.name}' for p in (REPO / 'configs').glob('*.py'))


def load_tool():
    spec = importlib.util.spec_from_file_location('model_zoo_tool', REPO / 'tools' / 'model_zoo.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture(scope='module')
def tool():
    return load_tool()


def models():
    return load_metafile()['Models']


def test_model_index_imports_the_metafile():
    assert (REPO / 'model-index.yml').read_text().split() == ['Import:', '-', 'configs/metafile.yml']


def test_every_config_is_in_the_metafile():
    listed = {m['Config'] for m in models() if 'Config' in m}
    assert sorted(set(CONFIGS) - listed) == []


def test_every_metafile_config_exists():
    missing = [m['Config'] for m in models() if 'Config' in m and not (REPO / m['Config']).is_file()]
    assert missing == []


def test_models_are_named_once_and_complete():
    names = [m['Name'] for m in models()]
    assert len(names) == len(set(names))
    collections = {c['Name'] for c in load_metafile()['Collections']}
    for model in models():
        assert model['In Collection'] in collections, model['Name']
        assert 'Config' in model or 'Arch' in model['Metadata'], model['Name']
        if model['Metadata'].get('Paper Table'):  # a paper row has the paper's numbers
            assert model['Results'] and all(r['Metrics'] for r in model['Results']), model['Name']


def keys_of(node):
    if isinstance(node, dict):
        return set(node) | set().union(*map(keys_of, node.values()))
    if isinstance(node, list):
        return set().union(*map(keys_of, node)) if node else set()
    return set()


def test_params_and_flops_are_not_in_the_metafile():
    """They are facts of the variant table (res2net_mm/variants.py) only."""
    complexity = [k for k in keys_of(load_metafile()) if re.search(r'param|flop|mac', k, re.I)]
    assert complexity == []


def test_every_weights_entry_is_a_zoo_name(tool):
    """Each Model with Weights resolves by its name to the files it lists,
    for the arch of its config."""
    with_weights = [m for m in models() if 'Weights' in m]
    assert sorted(zoo_table()) == sorted(m['Name'] for m in with_weights)
    for model in with_weights:
        name, row = zoo_entry(f'zoo://{model["Name"]}')
        assert row['files'][0]['urls'][0] == model['Weights']
        urls = [u for spec in row['files'] for u in spec['urls']]
        assert urls == [model['Weights'], *model.get('Mirrors', ()),
                        *[u for f in model.get('Other Files', ()) for u in [f['Weights'], *f.get('Mirrors', ())]]]
        if 'Config' in model:
            assert tool.arch_of(model['Config']) == row['arch'], name


@pytest.mark.parametrize('config', CONFIGS)
def test_zoo_names_in_configs_resolve(tool, config):
    name = tool.pretrained_of(config)
    if name is not None:
        assert zoo_entry(name)[1]['arch'] == tool.arch_of(config)


def test_committed_docs_equal_what_the_tool_generates(tool, capsys):
    assert tool.main(['--check']) == 0, capsys.readouterr().out


def test_check_names_a_file_that_differs_and_a_missing_block(tool, tmp_path, monkeypatch, capsys):
    (tmp_path / 'configs').symlink_to(REPO / 'configs')
    (tmp_path / 'docs').mkdir()
    experiments = tmp_path / 'docs' / 'experiments.md'
    text = (REPO / 'docs' / 'experiments.md').read_text()
    assert '| 22.01 |' in text
    experiments.write_text(text.replace('| 22.01 |', '| 22.00 |', 1))
    zoo = tmp_path / 'docs' / 'model_zoo.md'
    shutil.copy(REPO / 'docs' / 'model_zoo.md', zoo)
    monkeypatch.setattr(tool, 'MODEL_ZOO', zoo)
    monkeypatch.setattr(tool, 'TABLE_FILES', {experiments: True})
    monkeypatch.setattr(tool, 'REPO', tmp_path)
    assert tool.main(['--check']) == 1
    assert 'experiments.md differs' in capsys.readouterr().out
    assert tool.main([]) == 0 and tool.main(['--check']) == 0  # rewritten in place
    assert experiments.read_text() == text

    experiments.write_text(re.sub(r'<!-- model-index: table7 -->.*?<!-- /model-index -->\n', '',
                                  text, flags=re.S))
    assert tool.main(['--check']) == 1
    assert 'no <!-- model-index: table7 -->' in capsys.readouterr().out


def test_paper_tables_hold_the_metafile_numbers(tool):
    """A generated table carries each paper number of its rows."""
    table = tool.paper_table(tool.models_of_table(models(), 6), 6, REPO / 'docs')
    assert '| Res2Net-50 (paper) | [faster_rcnn_r2n50_coco.py](../configs/faster_rcnn_r2n50_coco.py) ' \
           '| 33.7 | 53.6 | 14.0 | 38.3 | 51.1 | 23.2 | 51.1 | 65.3 | 45.0 |' in table
