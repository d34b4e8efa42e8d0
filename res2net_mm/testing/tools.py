"""The repository's command-line tools as modules, for tests."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_tool(name):
    """``tools/<name>.py`` of the repository as a module (``tools/`` is not
    a package); ``name`` may hold a subfolder, e.g. 'analysis/vis_cam'."""
    path = REPO / 'tools' / f'{name}.py'
    if not path.is_file():
        raise FileNotFoundError(f'no tool {path}')
    spec = importlib.util.spec_from_file_location(
        'tool_' + name.replace('/', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
