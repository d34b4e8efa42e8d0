#!/usr/bin/env bash
# The README's test command: install what is missing (idempotent), then run
# the whole default test suite. Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/tools/install.sh"
cd "$repo"
.venv/bin/python -m res2net_mm.env
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
