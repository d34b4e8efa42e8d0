"""Docs that cannot rot: every relative link and every repository path named
in the README, docs/ and the config headers exists, no link leaves the
repository, and every ``tools/*.py`` command shown uses options the tool
has (checked against its ``--help``)."""
import ast
import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Folders of the repository whose paths the docs may name.
TRACKED_ROOTS = ('configs', 'docs', 'res2net_mm', 'tests', 'tools', 'requirements', '.ci')
PATH = re.compile(r'(?<![\w/.-])((?:%s)/[\w./-]*[\w/])' % '|'.join(re.escape(r) for r in TRACKED_ROOTS))
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<img [^>]*src="([^"]+)"')
COMMAND = re.compile(r'(?:^|\s|`)(?:\S*python\S*\s+)(tools/[\w/]+\.py)((?:[ \t]+(?![#|&;`])\S+)*)')
PLACEHOLDER = re.compile(r'[<>{}*$]|\.\.\.')


def doc_files():
    files = [REPO / 'README.md', REPO / 'configs' / 'README.md']
    files += sorted((REPO / 'docs').glob('*.md'))
    return [f for f in files if f.is_file()]


def config_header(path):
    """The docstring and leading comments of a config file."""
    text = path.read_text()
    doc = ast.get_docstring(ast.parse(text)) or ''
    comments = []
    for line in text.splitlines():
        if line.startswith('#'):
            comments.append(line)
        elif line.strip() and not comments and not line.startswith(('"""', "'''")):
            break
    return doc + '\n' + '\n'.join(comments)


def texts():
    """(name, text) of every checked document."""
    out = [(str(f.relative_to(REPO)), f.read_text()) for f in doc_files()]
    out += [(str(p.relative_to(REPO)), config_header(p))
            for p in sorted((REPO / 'configs').rglob('*.py'))]
    return out


def links(text):
    for match in LINK.finditer(text):
        yield match.group(1) or match.group(2)


def bad_links(name, text):
    base = (REPO / name).parent
    bad = []
    for target in links(text):
        if re.match(r'[a-z]+://|mailto:', target):
            continue  # a web address
        path = target.split('#')[0]
        if not path:
            continue  # an anchor in the same file
        resolved = (base / path).resolve()
        if target.startswith('/') or not resolved.is_relative_to(REPO):
            bad.append(f'{name}: {target} leaves the repository')
        elif not resolved.exists():
            bad.append(f'{name}: {target} does not exist')
    return bad


def bad_paths(name, text):
    bad = []
    for match in PATH.finditer(text):
        path = match.group(1).rstrip('.')
        if PLACEHOLDER.search(text[match.start():match.end() + 1]):
            continue  # a pattern, not a path
        if not (REPO / path).exists():
            bad.append(f'{name}: {path} does not exist')
    return bad


def test_every_link_and_path_exists_and_stays_inside():
    bad = []
    for name, text in texts():
        bad += bad_links(name, text) + bad_paths(name, text)
    assert bad == []


def test_the_checks_can_fail(tmp_path):
    text = ('[a](../shared/PAPER.md) [b](docs/nowhere.md) [c](https://example.org) '
            '[d](#anchor) see `configs/missing_config.py` and `configs/<name>.py`')
    assert len(bad_links('README.md', text)) == 2
    assert bad_paths('README.md', text) == ['README.md: docs/nowhere.md does not exist',
                                            'README.md: configs/missing_config.py does not exist']
    assert list(commands('python tools/train.py CONFIG --resume  # note')) == [
        ('tools/train.py', ['CONFIG', '--resume'])]


def commands(text):
    """(tool, arguments) of each ``python tools/X.py ...`` command shown."""
    for line in text.splitlines():
        line = line.split(' #')[0]
        for match in COMMAND.finditer(line):
            args = match.group(2).strip().rstrip('`').strip()
            try:
                yield match.group(1), shlex.split(args)
            except ValueError:
                yield match.group(1), args.split()


@functools.lru_cache(maxsize=None)
def help_text(tool):
    result = subprocess.run([sys.executable, str(REPO / tool), '--help'], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f'{tool} --help failed:\n{result.stderr[-2000:]}'
    return result.stdout


def shown_commands():
    found = {}
    for name, text in texts():
        for tool, args in commands(text):
            found.setdefault(tool, []).append((name, args))
    return found


@pytest.mark.parametrize('tool', sorted(shown_commands()))
def test_every_tool_command_shown_uses_real_options(tool):
    assert (REPO / tool).is_file(), f'{tool} does not exist'
    text = help_text(tool)
    unknown = []
    for name, args in shown_commands()[tool]:
        for arg in args:
            option = re.match(r'--[\w-]+', arg)
            # the whole option (not the start of a longer one: --work in --work-dir)
            if option and not re.search(rf'(?<![\w-]){re.escape(option.group())}(?![\w-])', text):
                unknown.append(f'{name}: {tool} {option.group()}')
    assert unknown == []


def test_every_shell_script_shown_exists():
    missing = []
    for name, text in texts():
        for script in re.findall(r'bash\s+(tools/[\w/]+\.sh)', text):
            if not (REPO / script).is_file():
                missing.append(f'{name}: {script}')
    assert missing == []


def test_readme_is_short():
    assert len((REPO / 'README.md').read_text().splitlines()) <= 200
