"""The OpenMMLab runtime contract every backbone here shares
(``BackboneContract``: init_cfg with Pretrained through our strict loader,
frozen stages that stay frozen, norm_eval) and the multi-level form of it
for the DLA and Big-Little networks (``MultiLevelBackbone``: four outputs
at strides 4-32 chosen by ``out_indices``, each argument checked at
construction as ``Res2Net`` checks them)."""
import warnings

from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import bare_backbone_error, fit_error, load_backbone, zoo_names_of
from .arch import check, check_bool, check_out_indices
from .bottle2neck import Bottle2neck

NUM_STAGES = 4
DEFAULT_INIT = [dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]


class BackboneContract(BaseModule):
    """``init_cfg`` / ``pretrained``, ``init_weights``, loading and ``train``
    for ``Res2Net``, ``Res2NetDLA`` and ``BigLittleRes2Net``.

    A subclass sets ``frozen_stages``, ``norm_eval`` and
    ``zero_init_residual`` and defines ``_freeze_stages``,
    ``_load_pretrained(path, prefix)`` (its loader) and
    ``_fit_loaded(state_dict, prefix)`` (convert the keys under ``prefix``
    in place and raise if they do not fit).

    Args:
        pretrained (str | None): Deprecated; use ``init_cfg``.
        init_cfg (dict | list | None): None means Kaiming convs, unit norms.
    """

    def __init__(self, pretrained, init_cfg):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('give either init_cfg or the deprecated pretrained, not both')
            warnings.warn('pretrained is deprecated, use init_cfg=dict(type="Pretrained", ...)')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg if init_cfg is not None else DEFAULT_INIT)

    def init_weights(self):
        """Run ``init_cfg``: every init but 'Pretrained', then
        ``_init_after_defaults`` (the zero-init of residual norms), then
        'Pretrained' (a dict or an entry of a list) through our loader:
        strict, nothing overwrites it."""
        if self._is_init:
            return super().init_weights()  # mmengine warns and does nothing
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
        pretrained = [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']
        if len(pretrained) > 1:
            raise ValueError(f'init_cfg has {len(pretrained)} Pretrained entries; give one')
        init_cfg, self.init_cfg = self.init_cfg, [c for c in cfgs if c and c not in pretrained]
        try:
            super().init_weights()
        finally:
            self.init_cfg = init_cfg
        self._init_after_defaults()
        if pretrained:
            self._load_pretrained(pretrained[0]['checkpoint'], pretrained[0].get('prefix'))

    def _init_after_defaults(self):
        if self.zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottle2neck):
                    module.zero_init_last()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # Every way of loading (load_state_dict, mmengine's load_checkpoint
        # on a whole detector, Pretrained init) converts the keys under
        # ``prefix`` from the published layouts and fits all of them or none.
        # Inside a bigger model, ``state_dict`` holds only the keys under
        # ``prefix``; a bare backbone file given to the whole model shows in
        # the keys its outer modules found no place for (``unexpected_keys``,
        # collected before the loaders reach this module).
        if prefix and not any(key.startswith(prefix) for key in state_dict):
            error = bare_backbone_error(unexpected_keys, self._own_names(), prefix)
            if error:
                raise error
        self._fit_loaded(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _own_names(self):
        """The first component of every key of this backbone's state dict."""
        return {key.split('.', 1)[0] for key in self.state_dict()}

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


class MultiLevelBackbone(BackboneContract):
    """Base of ``Res2NetDLA`` and ``BigLittleRes2Net``: the contract with
    four stage outputs at strides 4-32.

    A subclass builds its layers, then calls ``_set_stages`` with the modules
    of the stem and of each stage (what ``frozen_stages`` freezes) and the
    channels and strides of the four stage outputs; ``convert_keys`` renames
    or drops its published layouts' keys on load.

    Args:
        out_indices (Sequence[int]): Stages (0-3, strides 4-32) returned.
        frozen_stages (int): Stages to freeze (-1: none, 0: stem only).
        norm_eval (bool): Keep norm layers in eval mode while training.
        with_cp (bool): Gradient checkpointing of every block.
        zero_init_residual (bool): Zero every block's last norm at init.
        pretrained (str | None): Deprecated; use ``init_cfg``.
        init_cfg (dict | list | None): Default Kaiming/Constant; a
            ``Pretrained`` entry loads a checkpoint strictly, last.
    """

    def __init__(self, out_indices, frozen_stages, norm_eval, with_cp, zero_init_residual,
                 pretrained, init_cfg):
        super().__init__(pretrained, init_cfg)
        check_out_indices(out_indices, NUM_STAGES)
        check(isinstance(frozen_stages, int) and not isinstance(frozen_stages, bool)
              and -1 <= frozen_stages <= NUM_STAGES,
              f'frozen_stages must be in [-1, {NUM_STAGES}], got {frozen_stages!r}')
        for name, value in (('with_cp', with_cp), ('norm_eval', norm_eval),
                            ('zero_init_residual', zero_init_residual)):
            check_bool(name, value)
        self.out_indices, self.frozen_stages = tuple(out_indices), frozen_stages
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.zero_init_residual = zero_init_residual

    def _set_stages(self, groups, channels, strides):
        """Record the stem and stage modules (``groups[0]`` the stem) and the
        outputs' channels and strides, then apply ``frozen_stages``."""
        self._stage_groups = groups
        self.out_channels = [channels[i] for i in self.out_indices]
        self.out_strides = [strides[i] for i in self.out_indices]
        self.feat_dim = channels[-1]
        self._freeze_stages()

    def _freeze_stages(self):
        for group in self._stage_groups[:self.frozen_stages + 1]:
            for module in group:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def _load_pretrained(self, path, prefix):
        names = zoo_names_of(self.arch_name)
        hint = (f'. Published {self.arch_name} weights load by zoo name: '
                + ' or '.join(f'zoo://{n}' for n in names) if names
                else f'. No weights are published for {self.arch_name}')
        load_backbone(self, path, prefix=prefix, missing_hint=hint)

    def convert_keys(self, state_dict, prefix):
        """Rename or drop, in place, published-layout keys under ``prefix``
        (none here; subclasses know their layouts)."""

    def _fit_loaded(self, state_dict, prefix):
        self.convert_keys(state_dict, prefix)
        ours = {k[len(prefix):]: v for k, v in state_dict.items()
                if k.startswith(prefix) and not k.startswith(prefix + 'fc.')}  # fc: a classifier
        if ours:
            expected = {k: v.shape for k, v in self.state_dict().items()}
            where = f' under {prefix!r}' if prefix else ''
            error = fit_error(f'the weights{where} do not fit this {type(self).__name__}'
                              f'({self.arch_name})', ours, expected)
            if error:
                raise error
