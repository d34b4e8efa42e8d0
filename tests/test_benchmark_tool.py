"""The benchmark tool runs end to end and prints its ratio tables (speed
targets are checked by running it, not by timed tests)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / 'tools' / 'benchmark.py'


@pytest.mark.slow  # ~1-3 min: three models, three memory-probe processes
def test_benchmark_prints_ratios_for_every_table():
    out = subprocess.run(
        [sys.executable, str(TOOL), '--models', 'ours_26w_4s', 'mmdet_resnet50',
         'timm_res2net50_26w_4s', '--rounds', '1', '--size', '64', '--batch-sizes', '1',
         '--train-batch', '2'], capture_output=True, text=True, timeout=600, check=True).stdout
    for title in ('eval latency, batch 1', 'eval latency, batch 1, frozen', 'training step, batch 2',
                  'peak training memory'):
        assert f'### {title}' in out
    ratios = re.findall(r'\| ours_26w_4s \| [\d.]+ \| ([\d.]+)x mmdet_resnet50, ([\d.]+)x timm', out)
    assert len(ratios) == 4 and all(float(r) > 0 for pair in ratios for r in pair)
    memory = re.search(r'\| ours_26w_4s_with_cp \| ([\d.]+) \|', out)
    plain = re.findall(r'\| ours_26w_4s \| ([\d.]+) \|', out)[-1]
    assert memory and float(memory.group(1)) < float(plain)  # checkpointing saves memory


@pytest.mark.slow  # ~1 min: two pose estimators, one round
def test_whole_model_benchmark_prints_ratios():
    tool = TOOL.parent / 'benchmark_models.py'
    out = subprocess.run([sys.executable, str(tool), '--tasks', 'pose', '--rounds', '1'],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    assert '### SimpleBaseline inference' in out and '### SimpleBaseline training step' in out
    ratios = re.findall(r'\| ours Res2Net-50 \| \d+ \| ([\d.]+)x \|', out)
    assert len(ratios) == 2 and all(float(r) > 0 for r in ratios)
