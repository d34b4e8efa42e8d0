"""Res2Net checkpoints in every published layout: read, convert, load.

``errors`` holds the errors; ``io`` reads local files weights-only (torch,
safetensors, PaddleClas ``.pdparams`` through ``paddle``) and writes them
atomically; ``zoo`` resolves ``zoo://<name>`` to a verified download (and
registers the scheme with mmengine); ``read`` reads any of these;
``layouts`` knows the official/timm, mmdet, mmpretrain and PaddleClas key
layouts and infers the architecture from the keys; ``convert`` validates
every conversion and loads strictly; ``classifier`` handles whole mmpretrain
classifiers; ``runner_compat`` lets torch >= 2.6 resume mmengine runner
checkpoints weights-only. Nothing here imports ``res2net_mm.models``.
"""
from .classifier import classifier_state_dict, is_bare_classifier, load_classifier
from .convert import (PADDLE_NUMERICS, RELEASE, bare_backbone_error, convert_checkpoint,
                      convert_state_dict, fit_error, load_backbone, load_pretrained,
                      register_shapes, strict_fit, warn_paddle_numerics)
from .errors import BareBackboneError, CacheNotWritableError, CheckpointError, DownloadError
from .io import (SAFE_GLOBALS, allowed_globals, atomic_write, class_getattr, read_file,
                 save_atomic)
from .layouts import (LAYOUTS, STEM_NAMES, TARGETS, arch_name, detect_layout, infer_arch,
                      rename_key, rename_to_ours, split_checkpoint, state_dict_of, to_ours)
from .paddle import from_paddle, read_pdparams
from .read import read_checkpoint
from .runner_compat import allow_runner_checkpoints
from .zoo import cache_dir, resolve, zoo_names_of, zoo_table

__all__ = [
    'LAYOUTS', 'PADDLE_NUMERICS', 'RELEASE', 'SAFE_GLOBALS', 'STEM_NAMES', 'TARGETS',
    'BareBackboneError', 'CacheNotWritableError', 'CheckpointError', 'DownloadError',
    'allow_runner_checkpoints', 'allowed_globals', 'arch_name', 'atomic_write',
    'bare_backbone_error', 'cache_dir', 'class_getattr', 'classifier_state_dict',
    'convert_checkpoint', 'convert_state_dict', 'detect_layout', 'fit_error', 'from_paddle',
    'infer_arch', 'is_bare_classifier', 'load_backbone', 'load_classifier', 'load_pretrained',
    'read_checkpoint', 'read_file', 'read_pdparams', 'register_shapes', 'rename_key',
    'rename_to_ours', 'resolve', 'save_atomic', 'split_checkpoint', 'state_dict_of',
    'strict_fit', 'to_ours', 'warn_paddle_numerics', 'zoo_names_of', 'zoo_table'
]
