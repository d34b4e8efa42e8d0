"""The training-loop side: hooks of the ``res2net_mm`` scope (``hooks/``).

The names that lived here before the package was split by job keep working
from here, loaded on first use (PEP 562): the tools' shared options and
runner are ``res2net_mm.cli``, ``smoke_config`` is ``res2net_mm.testing``,
the checkpoint allow-list is ``res2net_mm.checkpoint``.
"""
import importlib

_EXPORTS = {
    'res2net_mm.checkpoint': ('allow_runner_checkpoints', ),
    'res2net_mm.cli': ('COCO_ITEMS', 'DatasetNotFoundError', 'UnusableCheckpointError', 'add_dump',
                       'add_random_state_hook', 'add_runner_args', 'apply_resume',
                       'build_runner', 'check_data_paths', 'enable_amp', 'enable_auto_scale_lr',
                       'enable_show_dir', 'format_metrics', 'load_config', 'missing_data_paths',
                       'read_runner_checkpoint', 'read_tool_checkpoint', 'request_full_coco',
                       'setup_cpu_distributed'),
    'res2net_mm.engine.hooks': ('DeployHook', 'FuseConvBNHook', 'ParamDigestHook', 'RandomStateHook',
                                'get_rng_states', 'param_digest', 'set_rng_states'),
    'res2net_mm.testing': ('smoke_config', ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
