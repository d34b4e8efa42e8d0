"""What tools/train.py, tools/test.py and tools/demo.py share: command-line
options and what they do to a config (``options``), building mmengine's
Runner (``runner``), the early dataset check (``data_check``) and the
metrics report (``metrics``). Loaded on first use (PEP 562), so importing
one name does not import mmengine's runner."""
import importlib

_EXPORTS = {
    'data_check': ('DatasetNotFoundError', 'check_data_paths', 'missing_data_paths'),
    'metrics': ('COCO_ITEMS', 'format_metrics', 'request_full_coco'),
    'options': ('UnusableCheckpointError', 'add_dump', 'add_random_state_hook',
                'add_runner_args', 'apply_resume', 'enable_amp', 'enable_auto_scale_lr',
                'enable_show_dir', 'load_config', 'read_runner_checkpoint',
                'read_tool_checkpoint'),
    'runner': ('build_runner', 'setup_cpu_distributed'),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{_MODULE_OF[name]}', __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
