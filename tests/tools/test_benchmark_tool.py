"""The benchmark tool runs end to end and prints its ratio tables (speed
targets are checked by running it, not by timed tests)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from res2net_mm.models.fast.deploy_best import TREATMENTS

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'benchmark.py'


@pytest.mark.slow  # ~5-10 min: three models, every mode (compiling), fp32 and bf16
def test_benchmark_prints_ratios_for_every_table():
    out = subprocess.run(
        [sys.executable, str(TOOL), '--models', 'ours_26w_4s', 'mmdet_resnet50',
         'timm_res2net50_26w_4s', '--rounds', '1', '--size', '64', '--batch-sizes', '1',
         '--train-batch', '2', '--amp', '--profile'],
        capture_output=True, text=True, timeout=1800, check=True).stdout
    titles = re.findall(r'^### (.*)$', out, re.M)
    expected = ['eval latency, batch 1', 'eval latency, batch 1, frozen', 'eval latency, batch 1, compiled',
                'training step, batch 2', 'training step, batch 2, compiled', 'peak training memory, batch 2',
                'eval latency, batch 1 AMP (bfloat16)', 'eval latency, batch 1 AMP (bfloat16), compiled',
                'training step, batch 2 AMP (bfloat16)', 'peak training memory, batch 2 AMP (bfloat16)']
    for title in expected:
        assert any(t.startswith(title) for t in titles), title
    assert not any('AMP' in t and 'frozen' in t for t in titles)
    ratios = re.findall(r'\| ours_26w_4s \| [\d.]+ \| ([\d.]+)x mmdet_resnet50, ([\d.]+)x timm', out)
    assert len(ratios) == len(titles) and all(float(r) > 0 for pair in ratios for r in pair)
    assert '| op (self CPU ms per step) | ours_26w_4s | mmdet_resnet50 |' in out
    assert re.search(r'\| aten::\w*conv\w* \| [\d.]+ \| [\d.]+ \|', out)
    memory = re.findall(r'\| ours_26w_4s_with_cp \| ([\d.]+) \|', out)
    plain = re.findall(r'\| ours_26w_4s \| ([\d.]+) \|', out)
    assert len(memory) == 2 and float(memory[0]) < float(plain[5])  # checkpointing saves memory


def test_benchmark_rejects_bad_arguments():
    for args, message in ((['--rounds', '0'], '--rounds must be >= 1, got 0'),
                          (['--modes', 'jit'], "invalid choice: 'jit'")):
        result = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)
        assert result.returncode == 2 and message in result.stderr


@pytest.mark.slow  # ~1 min: two pose estimators, one round
def test_whole_model_benchmark_prints_ratios():
    tool = TOOL.parent / 'benchmark_models.py'
    out = subprocess.run([sys.executable, str(tool), '--tasks', 'pose', '--rounds', '1'],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    assert '### SimpleBaseline inference' in out and '### SimpleBaseline training step' in out
    ratios = re.findall(r'\| ours Res2Net-50 \| \d+ \| ([\d.]+)x \|', out)
    assert len(ratios) == 2 and all(float(r) > 0 for r in ratios)


def test_best_vs_best_table_deploys_each_model():
    out = subprocess.run(
        [sys.executable, str(TOOL), '--best', '--models', 'ours_26w_4s', 'timm_resnet50',
         '--rounds', '1', '--size', '32', '--batch-sizes', '1', '--threads', '1'],
        capture_output=True, text=True, timeout=900, check=True).stdout
    assert '### eval latency, batch 1, best vs best (res2net_mm.deploy)' in out
    assert re.search(r'\| ours_26w_4s \| [\d.]+ \| [\d.]+x timm_resnet50', out)
    # Which treatment wins is a measurement; any but inductor (not asked for).
    measured = '|'.join(t for t in TREATMENTS if t != 'inductor')
    assert re.search(rf'chosen: ours_26w_4s ({measured}), timm_resnet50 ', out)
