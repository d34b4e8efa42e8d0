#!/usr/bin/env bash
# The README's main job (its "Demo" section): on a fresh machine, set up .venv
# (idempotent), check the environment, generate the synthetic shapes data
# (once, into data/shapes/), then train the Faster R-CNN Res2Net-50 demo from
# scratch on the CPU, evaluating it on the held-out val split with the COCO
# bbox metric as it goes. Writes work_dirs/demo_faster_rcnn/{curves.png,
# curves.json,predictions.png} and prints where they are.
#
# Safe to re-run: the data is kept, the model is retrained from scratch into
# the same work dir (a new timestamped log folder; the pictures are replaced).
#
#   bash tools/run_demo.sh                    # the Faster R-CNN demo
#   bash tools/run_demo.sh CONFIG [ARGS...]   # another configs/demo/ config;
#                                             # ARGS go to tools/demo.py
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The demo needs the runtime only: no test extras, no PaddlePaddle reference
# (tools/run_tests.sh installs those).
RES2NET_MM_EXTRAS=${RES2NET_MM_EXTRAS-} bash "$repo/tools/install.sh"
cd "$repo"  # data/ and work_dirs/ are relative to the repository root
if [ -f res2net_mm/env.py ]; then
    .venv/bin/python -m res2net_mm.env
fi
# OpenMP threads wait passively: where another job uses the cores, spinning
# threads (OpenMP's default) make training steps several times slower; on
# idle cores passive waiting costs little. Export OMP_WAIT_POLICY=ACTIVE to
# spin anyway.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
config=${1:-configs/demo/faster_rcnn_r2n50_shapes.py}
exec .venv/bin/python tools/demo.py "$config" "${@:2}"
