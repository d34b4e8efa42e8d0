"""Runner helpers shared by tools/train.py and tools/test.py."""
from .checkpoint_compat import allow_runner_checkpoints
from .data_check import DatasetNotFoundError, check_data_paths, missing_data_paths
from .hooks import ParamDigestHook, param_digest
from .metrics import COCO_ITEMS, format_metrics, request_full_coco
from .options import (add_dump, add_runner_args, apply_resume, enable_amp,
                      enable_auto_scale_lr, enable_show_dir, load_config)
from .runner import build_runner, setup_cpu_distributed
from .smoke import smoke_config

__all__ = [
    'COCO_ITEMS', 'DatasetNotFoundError', 'ParamDigestHook', 'add_dump',
    'add_runner_args', 'allow_runner_checkpoints', 'apply_resume', 'build_runner',
    'check_data_paths', 'enable_amp', 'enable_auto_scale_lr', 'enable_show_dir',
    'format_metrics', 'load_config', 'missing_data_paths', 'param_digest',
    'request_full_coco', 'setup_cpu_distributed', 'smoke_config'
]
