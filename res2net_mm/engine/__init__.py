"""Runner helpers shared by tools/train.py and tools/test.py.

The names load on first use (PEP 562): ``import res2net_mm`` imports only
``checkpoint_compat`` from here, not mmengine's runner, the shapes data
generator or PIL. The hooks register into the ``res2net_mm`` scope when
their modules are imported (``res2net_mm.registry`` lists them).
"""
import importlib

_EXPORTS = {
    'checkpoint_compat': ('allow_runner_checkpoints', ),
    'data_check': ('DatasetNotFoundError', 'check_data_paths', 'missing_data_paths'),
    'hooks': ('FuseConvBNHook', 'ParamDigestHook', 'param_digest'),
    'metrics': ('COCO_ITEMS', 'format_metrics', 'request_full_coco'),
    'options': ('UnusableCheckpointError', 'add_dump', 'add_random_state_hook',
                'add_runner_args', 'apply_resume', 'enable_amp', 'enable_auto_scale_lr',
                'enable_show_dir', 'load_config', 'read_runner_checkpoint',
                'read_tool_checkpoint'),
    'random_state': ('RandomStateHook', 'get_rng_states', 'set_rng_states'),
    'runner': ('build_runner', 'setup_cpu_distributed'),
    'smoke': ('smoke_config', ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{_MODULE_OF[name]}', __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
