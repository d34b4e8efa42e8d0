#!/usr/bin/env bash
# The GPU check: everything a CUDA machine must show before impl='auto' may
# take the fast path there, in one run of under 8 minutes, ending in one table.
#
#   1. the CUDA test cases: the fast path against the reference on the GPU
#      (pytest -k 'cuda or device_moves' over tests/models/fast and the impl
#      tests), inference and float64 training, autocast, device moves;
#   2. the backbone benchmark (tools/benchmark.py --device cuda): fp32 and AMP,
#      eager and compiled, ours (impl='auto': the reference on CUDA; and
#      impl='fast') against ResNet-50 and timm's Res2Net-50;
#   3. a short Faster R-CNN demo training (tools/demo.py, a few iterations of
#      configs/demo/faster_rcnn_r2n50_shapes.py), if mmdet and mmcv are there.
#
# Without CUDA (or with --no-cuda) steps 1-3 are skipped and the table says
# so. Each step has a time limit; a step that fails or runs out does not stop
# the others. Logs go to --out.
#
# Usage:
#   bash tools/gpu_check.sh                 # about 8 minutes at most
#   bash tools/gpu_check.sh --quick         # about 5.5 minutes at most: fewer rounds and iterations, no compiled training
#   bash tools/gpu_check.sh --out DIR       # logs and tables in DIR (default: work_dirs/gpu_check)
#   bash tools/gpu_check.sh --no-cuda       # as on a machine without CUDA (checks the script itself)
#   bash tools/gpu_check.sh --python PATH   # the interpreter (default: .venv/bin/python, else python3)
#   bash tools/gpu_check.sh --table-only --out DIR   # print the table of the run in DIR again
set -u
cd "$(dirname "$0")/.."

usage() { sed -n '/^# Usage:/,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "gpu_check.sh: $1" >&2; echo >&2; usage >&2; exit 2; }

QUICK=0 NO_CUDA=0 TABLE_ONLY=0 OUT=work_dirs/gpu_check PY=
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-cuda) NO_CUDA=1 ;;
        --table-only) TABLE_ONLY=1 ;;
        --out) [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ] || die "--out needs a folder"
               OUT=$2; shift ;;
        --python) [ $# -ge 2 ] && [ -n "$2" ] || die "--python needs an interpreter"
                  PY=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (valid: --quick, --out DIR, --no-cuda, --python PATH, --table-only, --help)" ;;
    esac
    shift
done
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
command -v "$PY" >/dev/null 2>&1 || die "python interpreter '$PY' not found"
if [ "$TABLE_ONLY" = 1 ]; then
    [ -f "$OUT/steps.tsv" ] || die "--table-only: no run in '$OUT' (no steps.tsv)"
else
    mkdir -p "$OUT" || die "cannot create --out folder '$OUT'"
fi
OUT=$(cd "$OUT" && pwd)
ROWS="$OUT/steps.tsv"
export PYTHONWARNINGS=ignore

# row STEP STATUS NUMBERS: one line of the final table
row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$ROWS"; }

# limited SECONDS LOG CMD...: run CMD with a time limit, output to LOG; prints the status
limited() {
    local seconds=$1 log=$2; shift 2
    timeout --kill-after=10 "$seconds" "$@" > "$log" 2>&1
    case $? in
        0) echo ok ;;
        124|137) echo "timeout (${seconds} s)" ;;
        *) echo FAILED ;;
    esac
}

run_steps() {
: > "$ROWS"
rm -f "$OUT"/tests.log "$OUT"/benchmark_*.md "$OUT"/demo.log "$OUT"/seconds  # an earlier run's
if [ "$QUICK" = 1 ]; then
    T_TESTS=90 T_EAGER=75 T_COMPILED=90 T_DEMO=75 ROUNDS=3 ITERS=10
else
    T_TESTS=120 T_EAGER=120 T_COMPILED=150 T_DEMO=80 ROUNDS=5 ITERS=30
fi
START=$(date +%s)

# 0. environment
ENV=$("$PY" - "$NO_CUDA" <<'EOF' 2>&1
import sys
import torch
cuda = torch.cuda.is_available() and sys.argv[1] == '0'
name = torch.cuda.get_device_name() if cuda else 'no CUDA'
print(f'{"cuda" if cuda else "cpu"}\tpython {sys.version.split()[0]}, torch {torch.__version__}, {name}')
EOF
)
if [ $? -ne 0 ]; then
    row environment FAILED "$(echo "$ENV" | tail -1)"
    DEVICE=none
else
    DEVICE=${ENV%%$'\t'*}
    row environment ok "${ENV#*$'\t'}"
fi
SKIP="skipped: no CUDA"

# 1. the CUDA test cases
if [ "$DEVICE" = cuda ]; then
    status=$(limited "$T_TESTS" "$OUT/tests.log" "$PY" -m pytest -q -p no:cacheprovider \
             tests/models/fast tests/models/backbones/test_impl_auto.py -k 'cuda or device_moves')
    counts=$(grep -Eo '[0-9]+ (passed|failed|skipped|error|errors)' "$OUT/tests.log" | tail -4 | paste -sd, -)
    row "CUDA tests" "$status" "${counts:-no summary} (log: tests.log)"
else
    row "CUDA tests" "$SKIP" ""
fi

# 2. the backbone benchmark, eager then compiled (batch 32 only: compiling is slow)
BENCH_MODELS="ours_26w_4s ours_26w_4s_fast mmdet_resnet50 timm_resnet50 timm_res2net50_26w_4s"
if [ "$DEVICE" = cuda ]; then
    status=$(limited "$T_EAGER" "$OUT/benchmark_eager.md" "$PY" tools/benchmark.py --device cuda \
             --models $BENCH_MODELS --modes eager --rounds "$ROUNDS" --batch-sizes 1 32)
    row "benchmark eager" "$status" "tables: benchmark_eager.md"
    compiled_args="--modes compiled --rounds $ROUNDS --batch-sizes 32"
    [ "$QUICK" = 1 ] && compiled_args="$compiled_args --skip-train"
    status=$(limited "$T_COMPILED" "$OUT/benchmark_compiled.md" "$PY" tools/benchmark.py --device cuda \
             --models $BENCH_MODELS $compiled_args)
    row "benchmark compiled" "$status" "tables: benchmark_compiled.md"
else
    row "benchmark eager" "$SKIP" ""
    row "benchmark compiled" "$SKIP" ""
fi

# 3. a short Faster R-CNN training on the synthetic shapes
if [ "$DEVICE" != cuda ]; then
    row "demo Faster R-CNN" "$SKIP" ""
elif ! "$PY" -c 'import mmdet, mmcv.ops' > "$OUT/demo.log" 2>&1; then
    row "demo Faster R-CNN" "skipped: mmdet not installed" "$(tail -1 "$OUT/demo.log")"
else
    status=$(limited "$T_DEMO" "$OUT/demo.log" "$PY" tools/demo.py \
             configs/demo/faster_rcnn_r2n50_shapes.py --work-dir "$OUT/demo" \
             --cfg-options train_cfg.max_iters="$ITERS" train_cfg.val_interval="$ITERS" \
             default_hooks.logger.interval=5)
    row "demo Faster R-CNN" "$status" "$ITERS iterations (log: demo.log)"
fi
echo $(( $(date +%s) - START )) > "$OUT/seconds"
}

[ "$TABLE_ONLY" = 1 ] || run_steps

# The table: one row per step, then the benchmark's key ratios.
"$PY" - "$OUT" "$(cat "$OUT/seconds" 2>/dev/null || echo '?')" <<'EOF'
import os
import re
import sys

out, seconds = sys.argv[1], sys.argv[2]
rows = [line.rstrip('\n').split('\t') for line in open(os.path.join(out, 'steps.tsv'))]


def ratios(path):
    """(table title, ours' ratios to ResNet-50) of a benchmark.py output."""
    if not os.path.isfile(path):
        return []
    found, title = [], None
    for line in open(path):
        if line.startswith('### '):
            title = line[4:].strip()
        m = re.match(r'\| (ours_26w_4s(?:_fast)?) \| ([\d.]+) \| (.*) \|$', line.strip())
        if title and m:
            r50 = re.search(r'([\d.]+)x (?:mmdet|timm)_resnet50', m.group(3))
            timm = re.search(r'([\d.]+)x timm_res2net50_26w_4s', m.group(3))
            impl = 'fast' if m.group(1).endswith('fast') else 'auto'
            unit = 'MiB' if 'memory' in title else 'ms'
            found.append((f'. {title}, ours impl={impl}', '',
                          '; '.join([f'{m.group(2)} {unit}'] + [f'{v.group(1)}x {k}' for k, v in
                                    (('ResNet-50', r50), ('timm', timm)) if v])))
    return found


for name in ('benchmark_eager.md', 'benchmark_compiled.md'):
    at = next((i for i, r in enumerate(rows) if r[0] == 'benchmark ' + name[10:-3]), None)
    if at is not None and not rows[at][1].startswith('skipped'):
        rows[at + 1:at + 1] = [(step, value, numbers) for step, value, numbers in
                               ratios(os.path.join(out, name))]
demo = os.path.join(out, 'demo.log')
for i, r in enumerate(rows):
    if r[0] == 'demo Faster R-CNN' and os.path.isfile(demo):
        text = open(demo).read()
        losses = re.findall(r'\bloss: ([\d.]+)', text)
        times = re.findall(r'\btime: ([\d.]+)', text)
        if losses:
            rows[i][2] += f'; loss {losses[0]} -> {losses[-1]}, {times[-1]} s/iter'
print(f'\n## GPU check ({seconds} s; logs in {out})\n')
print('| step | status | key numbers |')
print('|---|---|---|')
for step, status, numbers in rows:
    print(f'| {step} | {status} | {numbers} |')
EOF
