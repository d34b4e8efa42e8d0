"""Hooks of the ``res2net_mm`` scope (``type='res2net_mm.ParamDigestHook'``)."""
import hashlib
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...registry import HOOKS


def param_digest(model):
    """SHA-256 of a model's parameters (names, shapes, dtypes, bytes)."""
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        tensor = param.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(tensor.shape)}:{tensor.dtype}'.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class ParamDigestHook(Hook):
    """Write each rank's parameter digest after training, to check that
    data-parallel replicas ended identical.

    Writes ``param_digest_rank<rank>.txt`` into the work_dir (every rank
    writes its own file) and logs it. Only parameters count: BN running
    statistics are per-rank buffers, not synchronised by DDP.
    """

    priority = 'VERY_LOW'

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        digest = param_digest(model)
        path = osp.join(runner.work_dir, f'param_digest_rank{get_rank()}.txt')
        with open(path, 'w') as f:
            f.write(digest + '\n')
        runner.logger.info(f'parameter digest of rank {get_rank()}: {digest}')


@HOOKS.register_module()
class FuseConvBNHook(Hook):
    """The deploy step before testing: fold every BatchNorm into its conv
    (``res2net_mm.models.fuse_conv_bn``: ours, then mmcv's for the rest of
    the model), after the checkpoint is loaded. tools/test.py adds it for
    ``--fuse-conv-bn``."""

    priority = 'VERY_HIGH'

    def before_test(self, runner):
        from ...models import fuse_conv_bn
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        fuse_conv_bn(model)
        runner.logger.info('BatchNorm folded into the convs (--fuse-conv-bn)')


@HOOKS.register_module()
class DeployHook(Hook):
    """The measured deploy step before testing: every ``Res2Net`` in the
    model is replaced by ``res2net_mm.deploy`` of it, deployed on the first
    batch it sees (the example whose shape it is measured on), after the
    checkpoint is loaded. tools/test.py adds it for ``--deploy``."""

    priority = 'VERY_HIGH'

    def before_test(self, runner):
        from ...models import Res2Net
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, module in list(model.named_modules()):
            if isinstance(module, Res2Net):
                parent, _, child = name.rpartition('.')
                setattr(model.get_submodule(parent), child, _DeployOnFirstCall(module))
                runner.logger.info(f'{name or "model"}: deployed on its first batch (--deploy)')


class _DeployOnFirstCall(torch.nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone, self.deployed = backbone, None

    def forward(self, x):
        if self.deployed is None:
            from ...models import deploy
            self.deployed = deploy(self.backbone, x)
        return self.deployed(x)
