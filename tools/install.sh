#!/usr/bin/env bash
# Idempotent set-up of the project-local virtual environment `.venv`.
#
# Installs the tested stack (requirements/constraints.txt): torch + torchvision
# first, then mmcv 2.1.0 built from source WITH its compiled ops (the built
# wheel is cached outside the repo, keyed by torch version and Python ABI),
# then mmengine / mmdet / mmseg / mmpose / mmpretrain and this package in editable mode.
# See ../shared/STACK.md for why each step looks the way it does.
#
# Environment:
#   RES2NET_MM_VENV       venv path (default: <repo>/.venv)
#   RES2NET_MM_CACHE      wheel cache (default: ${XDG_CACHE_HOME:-~/.cache}/res2net_mm)
#   RES2NET_MM_CUDA=1     build mmcv's CUDA kernels (needs nvcc; FORCE_CUDA=1)
#   RES2NET_MM_EXTRAS     extra requirement files to install (default: tests; an empty
#                         value installs none: tools/run_demo.sh needs none)
#   RES2NET_MM_PADDLE_VENV  the PaddlePaddle reference venv the tests extra makes
#                         (default: <repo>/.venv-paddle)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${RES2NET_MM_VENV:-$repo/.venv}
cache=${RES2NET_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/res2net_mm}
constraints=$repo/requirements/constraints.txt
extras=${RES2NET_MM_EXTRAS-tests}
log() { printf '[install] %s\n' "$*" >&2; }

py=$(command -v python3.11 || command -v python3)
if [ ! -x "$venv/bin/python" ]; then
    log "creating virtual environment $venv"
    "$py" -m venv "$venv"
fi
vpy=$venv/bin/python
pip() { "$vpy" -m pip --disable-pip-version-check "$@"; }

# The tests extra: PaddlePaddle + PaddleClas (tests/references/test_paddle.py's reference)
# in a venv of their own, since PaddleClas pins numpy 1.24 and ours is numpy 2.
paddle_venv=${RES2NET_MM_PADDLE_VENV:-$repo/.venv-paddle}
if [[ " $extras " == *" tests "* ]]; then
    paddle_stamp=$(sha256sum "$repo/requirements/paddle.txt" | cut -c1-16)
    if [ "$(cat "$paddle_venv/.res2net_mm_stamp" 2>/dev/null)" != "$paddle_stamp" ]; then
        log "installing the PaddlePaddle reference into $paddle_venv (requirements/paddle.txt)"
        [ -x "$paddle_venv/bin/python" ] || "$py" -m venv "$paddle_venv"
        "$paddle_venv/bin/python" -m pip --disable-pip-version-check install -q \
            -r "$repo/requirements/paddle.txt"
        echo "$paddle_stamp" > "$paddle_venv/.res2net_mm_stamp"
    fi
fi

pin() { grep -E "^$1==" "$constraints" | head -1; }
pipc() { pip install -q -c "$constraints" "$@"; }

# Extras install on top of the runtime, each once (a stamp per extra), so the
# demo (no extras) and the tests (extra 'tests') never undo each other.
install_extras() {
    for extra in $extras; do
        local stamp_file=$venv/.res2net_mm_stamp_$extra
        local extra_stamp
        extra_stamp=$(cat "$constraints" "$repo/requirements/$extra"*.txt | sha256sum | cut -c1-16)
        if [ "$(cat "$stamp_file" 2>/dev/null)" != "$extra_stamp" ]; then
            log "installing extras: requirements/$extra.txt"
            pipc -r "$repo/requirements/$extra.txt"
            if [ -f "$repo/requirements/$extra-nodeps.txt" ]; then
                pipc --no-deps -r "$repo/requirements/$extra-nodeps.txt"
            fi
            echo "$extra_stamp" > "$stamp_file"
        fi
    done
}

# The runtime below is skipped when nothing that shapes it changed.
stamp_src=$(cat "$constraints" "$repo/requirements.txt" "$repo/pyproject.toml" \
            "${BASH_SOURCE[0]}"; echo "cuda=${RES2NET_MM_CUDA:-0}")
stamp=$(printf '%s' "$stamp_src" | sha256sum | cut -c1-16)
if [ "$(cat "$venv/.res2net_mm_stamp" 2>/dev/null)" = "$stamp" ]; then
    install_extras
    log "environment up to date ($venv)"
    exit 0
fi

# Install a cached wheel over whatever is there, once: a marker per package
# remembers which wheel the venv holds.
install_wheel() {
    local marker=$venv/.wheel-$(basename "$1" | cut -d- -f1)
    if [ "$(cat "$marker" 2>/dev/null)" != "$1" ]; then
        pipc --no-deps --force-reinstall "$1"
        echo "$1" > "$marker"
    fi
}

log "installing build tools and torch ($(pin torch), $(pin torchvision))"
pipc "setuptools<81" wheel ninja cython "numpy>=2.0,<2.4"
pipc "$(pin torch)" "$(pin torchvision)"

# mmcv: build once per (mmcv, torch, python ABI, cuda) and keep the wheel.
torch_v=$("$vpy" -c 'import torch; print(torch.__version__)')
abi=$("$vpy" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
mmcv_pin=$(pin mmcv)
# The compiler flags of both builds: Python's own CFLAGS (-O3, -DNDEBUG, ...;
# CFLAGS in the environment replace them, so they are restated) without
# their debug information: over torch's headers -g costs ~40% of each
# file's compile time and 98% of the object's size. The recipe's number is
# in the cache keys: bump it when the flags change, so cached wheels rebuild
# (recipe 1 passed only -g0 and compiled the ops unoptimized).
recipe=2
build_cflags="$("$vpy" -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS") or "")') -g0 ${CFLAGS:-}"
key="${mmcv_pin#mmcv==}-torch${torch_v}-${abi}-cuda${RES2NET_MM_CUDA:-0}-r$recipe"
wheel_dir=$cache/wheels/mmcv-$key
if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    log "building $mmcv_pin with compiled ops for torch $torch_v/$abi (about 5 min on 2 cores)"
    mkdir -p "$wheel_dir.tmp"
    if [ "${RES2NET_MM_CUDA:-0}" = 1 ]; then export FORCE_CUDA=1; fi
    src=$(mktemp -d)
    pip download -q --no-deps --no-binary :all: -d "$src" "$mmcv_pin"
    tar xzf "$src"/mmcv-*.tar.gz -C "$src"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$src"/mmcv-*/setup.py
    mmcv_cflags=$build_cflags
    if [ "${RES2NET_MM_CUDA:-0}" != 1 ]; then
        # Nearly every op file first includes pytorch_cpp_helper.hpp (torch's
        # extension headers): precompiled once (~40 s), each file compiles in
        # ~5 instead of ~16 s, to the same code. The .gch lies outside the
        # source tree (the wheel packs csrc/), in a folder searched before the
        # header's own; GCC uses it only where the flags match, and reads the
        # header otherwise.
        common=$(echo "$src"/mmcv-*/mmcv/ops/csrc/common)
        mkdir "$src/pch"
        read -r -a torch_inc < <("$vpy" -c 'import sys, sysconfig
from torch.utils.cpp_extension import include_paths
print(*(f"-I{p}" for p in [*include_paths(), sys.exec_prefix + "/include", sysconfig.get_path("include")]))') \
            || torch_inc=()
        # shellcheck disable=SC2086  # the flags are words
        if "${CXX:-c++}" $mmcv_cflags -fPIC -I"$common" "${torch_inc[@]}" -x c++-header \
                "$common/pytorch_cpp_helper.hpp" -o "$src/pch/pytorch_cpp_helper.hpp.gch" \
                -std=c++20 -DTORCH_API_INCLUDE_EXTENSION_H -DTORCH_EXTENSION_NAME=_ext; then
            mmcv_cflags="-I$src/pch $mmcv_cflags"
        else
            log "could not precompile mmcv's header: each file parses it (slower, same wheel)"
        fi
    fi
    CFLAGS="$mmcv_cflags" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        pip wheel -q --no-build-isolation --no-deps -w "$wheel_dir.tmp" "$src"/mmcv-*/
    rm -rf "$src"
    rm -rf "$wheel_dir" && mv "$wheel_dir.tmp" "$wheel_dir"
fi
log "installing mmengine, mmcv (from $wheel_dir), mmdet, mmsegmentation, mmpose, mmpretrain, grad-cam"
pipc "$(pin mmengine)" "$(pin safetensors)" addict packaging Pillow pyyaml yapf opencv-python
install_wheel "$wheel_dir"/mmcv-*.whl
pipc "$(pin mmdet)" "$(pin mmsegmentation)" ftfy regex \
     json_tricks munkres scipy matplotlib pycocotools
# mmpose declares chumpy, which neither builds nor is ever imported.
pipc --no-deps "$(pin mmpose)"
pipc "$(pin mmpretrain)" "$(pin grad-cam)"

# xtcocotools' published wheel is built against numpy 1: rebuild it for ours.
np_v=$("$vpy" -c 'import numpy; print(numpy.__version__)')
xt_dir=$cache/wheels/xtcocotools-${np_v}-${abi}-r$recipe
if ! ls "$xt_dir"/xtcocotools-*.whl >/dev/null 2>&1; then
    log "building $(pin xtcocotools) against numpy $np_v"
    mkdir -p "$xt_dir.tmp"
    CFLAGS="$build_cflags" pip wheel -q --no-cache-dir --no-build-isolation --no-binary xtcocotools --no-deps \
        -w "$xt_dir.tmp" "$(pin xtcocotools)"
    rm -rf "$xt_dir" && mv "$xt_dir.tmp" "$xt_dir"
fi
install_wheel "$xt_dir"/xtcocotools-*.whl

install_extras

log "installing res2net_mm (editable)"
pipc --no-deps --no-build-isolation -e "$repo"

# A later step must never have replaced torch.
"$vpy" - "$constraints" <<'PY'
import sys, torch, torchvision
pins = dict(l.strip().split('==') for l in open(sys.argv[1]) if '==' in l)
for mod in (torch, torchvision):
    got = mod.__version__.split('+')[0]
    if got != pins[mod.__name__]:
        sys.exit(f'{mod.__name__} {got} installed, {pins[mod.__name__]} pinned')
PY
echo "$stamp" > "$venv/.res2net_mm_stamp"
log "done ($venv)"
