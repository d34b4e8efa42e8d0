"""tools/gpu_check.sh, its CPU-side parts: argument parsing, and the table
with the CUDA steps skipped (the CUDA steps themselves need a GPU)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'gpu_check.sh'
STEPS = ['environment', 'CUDA tests', 'benchmark eager', 'benchmark compiled', 'demo Faster R-CNN']
pytestmark = pytest.mark.skipif(shutil.which('bash') is None or shutil.which('timeout') is None,
                                reason='needs bash and coreutils timeout')


def gpu_check(*args):
    return subprocess.run(['bash', str(SCRIPT), '--python', sys.executable, *args],
                          capture_output=True, text=True, timeout=120)


def table(stdout):
    """{step: (status, key numbers)} of the final table."""
    lines = stdout[stdout.index('| step | status | key numbers |'):].splitlines()[2:]
    return {cells[0]: (cells[1], cells[2]) for cells in
            ([c.strip() for c in line.strip('|').split('|')] for line in lines if line)}


def test_without_cuda_the_cuda_steps_are_skipped_and_the_table_printed(tmp_path):
    result = gpu_check('--no-cuda', '--quick', '--out', str(tmp_path / 'out'))
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert list(rows) == STEPS
    status, numbers = rows['environment']
    assert status == 'ok' and f'torch {torch.__version__}' in numbers and 'no CUDA' in numbers
    for step in STEPS[1:]:
        assert rows[step] == ('skipped: no CUDA', ''), step
    assert (tmp_path / 'out' / 'steps.tsv').is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_a_machine_without_cuda_needs_no_flag(tmp_path):
    rows = table(gpu_check('--out', str(tmp_path)).stdout)
    assert rows['CUDA tests'][0] == 'skipped: no CUDA'


def test_the_table_shows_ours_against_resnet50_from_the_benchmark_tables(tmp_path):
    (tmp_path / 'steps.tsv').write_text('environment\tok\tcuda\nbenchmark eager\tok\ttables\n'
                                        'benchmark compiled\tskipped: no CUDA\t\n')
    tables = ('### eval latency, batch 32 fp32\n\n| model | ms | ratio |\n|---|---|---|\n'
              '| ours_26w_4s | 12.0 | 1.20x mmdet_resnet50, 0.98x timm_res2net50_26w_4s |\n'
              '| ours_26w_4s_fast | 9.5 | 0.95x mmdet_resnet50, 0.78x timm_res2net50_26w_4s |\n'
              '| mmdet_resnet50 | 10.0 | - |\n')
    (tmp_path / 'benchmark_eager.md').write_text(tables)
    (tmp_path / 'benchmark_compiled.md').write_text(tables)  # skipped: not shown
    result = gpu_check('--table-only', '--out', str(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert rows['. eval latency, batch 32 fp32, ours impl=auto'] == (
        '', '12.0 ms; 1.20x ResNet-50; 0.98x timm')
    assert rows['. eval latency, batch 32 fp32, ours impl=fast'] == (
        '', '9.5 ms; 0.95x ResNet-50; 0.78x timm')
    assert len(rows) == 5


@pytest.mark.parametrize('args,message', [
    (['--bogus'], "unknown argument '--bogus'"),
    (['--out'], '--out needs a folder'),
    (['--out', '--quick'], '--out needs a folder'),
    (['--python', 'no-such-python-here'], "'no-such-python-here' not found"),
    (['--table-only', '--out', '/nonexistent/gpu_check'], 'no run in'),
])
def test_bad_arguments_are_rejected_with_a_message(args, message):
    result = subprocess.run(['bash', str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and 'Usage:' in result.stderr


def test_help_prints_the_usage():
    result = subprocess.run(['bash', str(SCRIPT), '--help'], capture_output=True, text=True)
    assert result.returncode == 0 and '--quick' in result.stdout and '--out DIR' in result.stdout
