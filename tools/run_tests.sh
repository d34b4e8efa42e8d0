#!/usr/bin/env bash
# The README's test command: install what is missing (idempotent), then run
# the whole default test suite. Extra arguments go to pytest.
#
# The suite runs in RES2NET_MM_TEST_WORKERS pytest-xdist processes (default:
# the CPU count, at most 4; 0 runs it in this process), one torch/OpenMP
# thread each: most tests are too small to use a second thread, so processes
# side by side finish sooner than one process with more threads, and threads
# beyond the cores would spin against each other.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/tools/install.sh"
cd "$repo"
.venv/bin/python -m res2net_mm.env
workers=${RES2NET_MM_TEST_WORKERS:-$(.venv/bin/python -c \
    'import os; print(min(len(os.sched_getaffinity(0)), 4))')}
if [ "$workers" -gt 0 ]; then
    export OMP_NUM_THREADS=1  # also for the tools the tests start
    set -- -n "$workers" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
