"""Building mmengine's Runner for tools/train.py and tools/test.py.

The one place where the tools differ from ``Runner.from_cfg``: full runner
checkpoints load under torch >= 2.6 (``checkpoint_compat``), and the
``pytorch`` launcher also works without GPUs (gloo on CPU), which mmengine
0.10.7 does not support on its own: its ``_init_dist_pytorch`` calls
``torch.cuda.set_device`` and its ``wrap_model`` passes
``device_ids=[LOCAL_RANK]``, which DistributedDataParallel rejects for CPU
modules.
"""
import datetime

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..checkpoint import allow_runner_checkpoints

DDP_WRAPPERS = ('MMDistributedDataParallel', 'DistributedDataParallel')


def setup_cpu_distributed(cfg):
    """Start the process group of a ``pytorch``-launched job on CPU.

    Uses the config's ``env_cfg.dist_cfg`` with 'nccl', which needs GPUs,
    replaced by 'gloo'; makes DDP wrap the model without ``device_ids``.
    The rank and world come from torchrun's environment (RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT).
    """
    if torch_dist.is_initialized():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'gloo')
    if backend == 'nccl':
        print_log('no GPU: using the gloo backend instead of nccl',
                  logger='current')
        backend = 'gloo'
    if dist_cfg.get('timeout') is not None:  # seconds, as mmengine takes it
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(backend=backend, **dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if wrapper.get('type', DDP_WRAPPERS[0]) in DDP_WRAPPERS:
        wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg):
    """The Runner of ``cfg`` (``runner_type`` honoured), ready for
    ``train()`` or ``test()``: checkpoints loadable, CPU launch handled."""
    allow_runner_checkpoints()
    launcher = cfg.get('launcher', 'none')
    if launcher == 'pytorch' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
