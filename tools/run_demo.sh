#!/usr/bin/env bash
# The README's main job (its "Demo" section): on a fresh machine, set up .venv
# (idempotent), check the environment, generate the synthetic shapes data
# (once, into data/shapes/), then the paper's protocol in miniature on the
# CPU: pretrain Res2Net-50 on the shape crops (classification, the ImageNet
# step; kept in work_dirs/pretrained/ and reused by later runs), train the
# Faster R-CNN demo from it and evaluate it on the held-out val split with
# the COCO bbox metric. Writes work_dirs/demo_faster_rcnn/{curves.png,
# curves.json,predictions.png} and prints both steps' numbers.
#
# Safe to re-run: the data and the pretrained backbone are kept, the detector
# is retrained into the same work dir (the pictures are replaced).
#
#   bash tools/run_demo.sh                    # the main job
#   bash tools/run_demo.sh --seed 0 1 2       # once per seed
#   bash tools/run_demo.sh --compare          # beside its ResNet-50 twin
#   bash tools/run_demo.sh CONFIG [ARGS...]   # another configs/demo/ config
# Every argument goes to tools/demo.py (--help lists them).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The demo needs the runtime only: no test extras, no PaddlePaddle reference
# (tools/run_tests.sh installs those).
RES2NET_MM_EXTRAS=${RES2NET_MM_EXTRAS-} bash "$repo/tools/install.sh"
cd "$repo"  # data/ and work_dirs/ are relative to the repository root
if [ -f res2net_mm/env.py ]; then
    .venv/bin/python -m res2net_mm.env
fi
# OpenMP threads spin only briefly before they sleep: where another job uses
# the cores, threads that spin for long (OpenMP's default) make training
# steps several times slower, and sleeping at once (OMP_WAIT_POLICY=PASSIVE)
# made them 1.4x slower on idle cores. Set either variable to override.
if [ -z "${OMP_WAIT_POLICY:-}" ]; then
    export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-30000}
fi
exec .venv/bin/python tools/demo.py "$@"
