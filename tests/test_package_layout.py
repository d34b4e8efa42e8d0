"""The package's import graph: no module imports itself through others (no
circle), no private name (``_x``) is imported from another module, the
checkpoint package never imports the models, and the names that moved keep
working from their old places."""
import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'res2net_mm'


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def modules():
    return {module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}


def imports_of(name, path, known):
    """(imported module, imported names) of every import statement in the
    file, at any depth (lazy imports in functions count too)."""
    is_package = path.name == '__init__.py'
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split('.')
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = tuple(alias.name for alias in node.names)
            # ``from pkg import submodule`` imports the submodule.
            subs = [f'{target}.{n}' for n in names if f'{target}.{n}' in known]
            found += [(s, ()) for s in subs]
            found.append((target, tuple(n for n in names if f'{target}.{n}' not in known)))
    return found


def import_graph():
    known = modules()
    graph = {}
    for name, path in known.items():
        graph[name] = sorted({target for target, _ in imports_of(name, path, known)
                              if target in known and target != name})
    return graph


def find_cycle(graph):
    """One import circle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 'done'
        stack.pop()
        return None

    for node in graph:
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_circle():
    assert find_cycle(import_graph()) is None


def test_find_cycle_finds_a_circle():
    # The check itself can fail: a graph with a circle is reported.
    assert find_cycle({'a': ['b'], 'b': ['c'], 'c': ['a']}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': ['b'], 'b': []}) is None


def test_no_private_name_is_imported_across_modules():
    known = modules()
    crossing = []
    for name, path in known.items():
        for target, names in imports_of(name, path, known):
            if target.split('.')[0] != 'res2net_mm':
                continue
            private = [n for n in names if n.startswith('_') and not n.startswith('__')]
            if private or any(part.startswith('_') and not part.startswith('__')
                              for part in target.split('.')):
                crossing.append(f'{name} imports {private or target} from {target}')
    assert crossing == []


def test_checkpoint_never_imports_the_models():
    # Not even through the registry (building a model by name): the models
    # register what the converter needs (``checkpoint.register_shapes``).
    graph = import_graph()
    reach, todo = set(), [m for m in graph if m.startswith('res2net_mm.checkpoint')]
    while todo:
        module = todo.pop()
        for nxt in graph[module]:
            if nxt not in reach:
                reach.add(nxt)
                todo.append(nxt)
    assert not [m for m in reach if m.startswith(('res2net_mm.models', 'res2net_mm.registry'))]


def test_the_package_folders_name_its_parts():
    for folder in ('models/backbones', 'models/heads', 'models/fast', 'checkpoint', 'datasets',
                   'evaluation', 'engine/hooks', 'cli', 'testing'):
        assert (PACKAGE / folder / '__init__.py').is_file(), folder
    for module in ('bottle2neck', 'res2net', 'dla', 'biglittle', 'contract'):
        assert (PACKAGE / 'models/backbones' / f'{module}.py').is_file(), module


# Names users import from the places they had before the layout changed.
OLD_PLACES = {
    'res2net_mm': ('Res2Net', 'ARCHS'),
    'res2net_mm.models': ('Res2Net', 'Res2NetDLA', 'BigLittleRes2Net', 'Bottle2neck', 'SEModule',
                          'fuse_conv_bn', 'deploy', 'ARCHS', 'STAGE_BLOCKS'),
    'res2net_mm.checkpoint': ('CheckpointError', 'DownloadError', 'convert_checkpoint',
                              'convert_state_dict', 'load_pretrained', 'read_checkpoint',
                              'resolve', 'SAFE_GLOBALS', 'allowed_globals', 'LAYOUTS',
                              'TARGETS'),
    'res2net_mm.engine': ('allow_runner_checkpoints', 'build_runner', 'smoke_config',
                          'add_runner_args', 'FuseConvBNHook', 'DeployHook', 'ParamDigestHook',
                          'RandomStateHook', 'DatasetNotFoundError', 'format_metrics'),
}


@pytest.mark.parametrize('module', sorted(OLD_PLACES))
def test_moved_names_keep_working_from_their_old_place(module):
    imported = importlib.import_module(module)
    for name in OLD_PLACES[module]:
        assert getattr(imported, name) is not None, f'{module}.{name}'
