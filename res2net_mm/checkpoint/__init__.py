"""Res2Net checkpoints in every published layout: read, convert, load.

``io`` reads files weights-only and writes them atomically; ``layouts``
knows the official/timm, mmdet and mmpretrain key layouts and infers the
architecture from the keys; ``convert`` validates every conversion against
that architecture and loads strictly into ``Res2Net``; ``paddle`` reads
PaddleClas ``.pdparams`` files; ``zoo`` resolves ``zoo://<name>`` to a
verified download (and registers the scheme with mmengine).
"""
from .classifier import classifier_state_dict, is_bare_classifier, load_classifier
from .convert import (convert_checkpoint, convert_state_dict, fit_error, load_backbone,
                      load_pretrained, strict_fit, warn_paddle_numerics)
from .io import (SAFE_GLOBALS, CheckpointError, allowed_globals, atomic_write, class_getattr,
                 read_checkpoint, save_atomic)
from .layouts import (LAYOUTS, STEM_NAMES, TARGETS, arch_name, detect_layout, infer_arch,
                      rename_to_ours, to_ours)
from .paddle import from_paddle, read_pdparams
from .zoo import DownloadError, cache_dir, resolve

__all__ = [
    'LAYOUTS', 'SAFE_GLOBALS', 'STEM_NAMES', 'TARGETS', 'CheckpointError', 'DownloadError',
    'allowed_globals', 'arch_name', 'atomic_write', 'cache_dir', 'class_getattr',
    'classifier_state_dict', 'convert_checkpoint', 'convert_state_dict', 'detect_layout',
    'fit_error', 'from_paddle', 'infer_arch', 'is_bare_classifier', 'load_backbone',
    'load_classifier', 'load_pretrained', 'read_checkpoint', 'read_pdparams', 'rename_to_ours',
    'resolve', 'save_atomic', 'strict_fit', 'to_ours', 'warn_paddle_numerics'
]
