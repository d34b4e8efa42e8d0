"""Res2Net networks (Gao et al., "Res2Net", TPAMI 2020) for OpenMMLab.

The architecture comes from the variant table (``res2net_mm/variants.py``);
parameter names follow the official code, so official/timm weights load as
they are. ``forward`` runs the plain modules (``impl='reference'``) or
the fast path's execution (``models/fast``) of the same function
(``impl='fast'``); ``impl='auto'`` (the default) picks the fast path on the
devices where its equality tests run, the reference elsewhere.
"""
import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import constant_init

from ...checkpoint import (load_pretrained, register_shapes, rename_to_ours, strict_fit,
                           warn_paddle_numerics)
from ...registry import MODELS
from ...variants import ARCH_KEYS
from ..fast import dispatch as fast
from .arch import IMPLS, MEMORY_FORMATS, resolve_arch, stage_plugins, validate_runtime_args
from .bottle2neck import Bottle2neck
from .layers import build_conv_layer, build_norm_layer
from .contract import BackboneContract

DEFAULT_STRIDES = (1, 2, 2, 2)
# Device types where the fast path's equality tests (tests/models/fast) have
# passed; impl='auto' runs the reference on every other device.
PROVEN_DEVICES = ('cpu', )


def auto_impl(device_type: str) -> tuple:
    """What ``impl='auto'`` runs on ``device_type`` ('cpu', 'cuda', ...) and
    why: ('fast' | 'reference', reason)."""
    if device_type in PROVEN_DEVICES:
        return 'fast', f'its equality tests with the reference run on {device_type}'
    return 'reference', (f'the fast path is proven equal to the reference on '
                         f'{"/".join(PROVEN_DEVICES)} only; impl=\'fast\' opts in on '
                         f'{device_type}')


@MODELS.register_module()
class Res2Net(BackboneContract):
    """Res2Net backbone: v1 (7x7 stem) and v1b (deep stem, avg-pool shortcut),
    Res2NeXt and SE-Res2Net, for classification and dense prediction.

    Args:
        arch (str | dict | None): A name of ``variants.ARCHS`` or a dict with
            its keys (depth, base_width, scales, cardinality, stem, se).
            None with ``depth`` None means 'res2net50_26w_4s'.
            Defaults to None.
        depth, scales, base_width (int | None): mmdet-style architecture,
            used only when ``arch`` is None (mmdet's defaults: scales 4,
            base_width 26, v1b stem). Defaults to None.
        deep_stem, avg_down (bool | None): Override the arch's 3-conv stem
            and average-pool shortcut (None: from the arch's stem style).
            Defaults to None.
        in_channels (int): Input channels. Defaults to 3.
        stem_channels (int | None): Stem output channels (None:
            ``base_channels``). Defaults to None.
        base_channels (int): Planes of the first stage. Defaults to 64.
        num_stages (int | None): Stages to build, 1 to the arch's (4; 3 for
            the CIFAR nets). Defaults to None: all of them.
        strides, dilations (Sequence[int] | None): One per stage. Output
            stride 16 is ``strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)``.
            Defaults to None: ``(1, 2, 2, 2)`` and ``(1, 1, 1, 1)`` cut to
            ``num_stages``.
        contract_dilation (bool): Halve the first block's dilation in dilated
            stages (as mmseg's ResNetV1c). Defaults to False.
        multi_grid (Sequence[int] | None): Dilations of the last stage's
            blocks, one per block (DeepLabv3 multi-grid). Defaults to None.
        stage_pool (str): 'always' (official; every stage block pools its
            pass-through split, stride 1 and dilated stages included, with
            ``AvgPool2d(3, 1, 1)``), 'strided' (mmdet's numerics: only when
            the stride is not 1) or 'paddle' (PaddleClas's Res2Net_vd: only
            strided first blocks are stage blocks, a stride-1 first block is
            an ordinary hierarchical one, and the pool excludes the padding;
            use it with PaddleClas weights). Defaults to 'always'.
        out_indices (Sequence[int] | None): Stages whose outputs are
            returned. Defaults to None: every built stage, (0, 1, 2, 3).
        style (str): 'pytorch' or 'caffe' (stride in the first 1x1 conv).
            Defaults to 'pytorch'.
        frozen_stages (int): Stages to freeze (-1: none, 0: stem only).
            Defaults to -1.
        conv_cfg (dict | None): Conv layer config. Defaults to None.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep norm layers in eval mode while training.
            Defaults to False.
        dcn (dict | None): Deformable conv for the 3x3 split convs.
            Defaults to None.
        stage_with_dcn (Sequence[bool] | None): One per stage: stages that
            use ``dcn``. Defaults to None (no stage).
        plugins (list[dict] | None): mmdet-style plugins (cfg, stages,
            position in 'after_conv1' | 'after_conv2' | 'after_conv3').
            Defaults to None.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        zero_init_residual (bool): Zero every block's last norm weight at
            init (never over loaded weights). Defaults to True.
        impl (str): 'fast' runs ``models/fast`` (no extra parameters, state
            or caches; outputs equal to the reference to float rounding);
            'reference' runs the plain modules of Eq. 1; 'auto' decides on
            every call from the input's device: the fast path where its
            equality tests run (``PROVEN_DEVICES``: the CPU), the reference
            elsewhere (CUDA, ...), and logs which once per device type. Can
            be changed on a built model (``model.impl = 'reference'``).
            Defaults to 'auto'.
        memory_format (str | None): Activation layout of the fast path:
            'channels_last' (NHWC, where the narrow split convs run faster)
            or 'contiguous' (NCHW). None: 'channels_last'. Outputs are NCHW
            either way. For ``impl='fast'`` or 'auto' (where the fast path
            runs). Defaults to None.
        pretrained (str | None): Deprecated; use ``init_cfg``.
            Defaults to None.
        init_cfg (dict | list | None): Default Kaiming/Constant;
            ``dict(type='Pretrained', checkpoint=PATH)`` (also inside a list)
            loads weights of any supported layout (official, timm, mmdet,
            mmpretrain) strictly, after every other init. Defaults to None.

    Example:
        >>> import torch
        >>> from res2net_mm.models import Res2Net
        >>> model = Res2Net('res2net50_26w_4s', out_indices=(0, 1, 2, 3)).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    def __init__(self, arch=None, depth=None, scales=None, base_width=None,
                 deep_stem=None, avg_down=None, in_channels=3,
                 stem_channels=None, base_channels=64, num_stages=None,
                 strides=None, dilations=None,
                 contract_dilation=False, multi_grid=None, stage_pool='always',
                 out_indices=None, style='pytorch', frozen_stages=-1,
                 conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval=False, dcn=None, stage_with_dcn=None,
                 plugins=None, with_cp=False, zero_init_residual=True, impl='auto',
                 memory_format=None, pretrained=None, init_cfg=None):
        super().__init__(pretrained, init_cfg)
        self.arch = resolve_arch(arch, depth=depth, scales=scales, base_width=base_width,
                                 deep_stem=deep_stem, avg_down=avg_down)
        if num_stages is None:
            num_stages = len(self.arch['stage_blocks'])
        if out_indices is None and isinstance(num_stages, int):
            out_indices = tuple(range(num_stages))
        strides = DEFAULT_STRIDES[:num_stages] if strides is None else strides
        dilations = (1, ) * num_stages if dilations is None else dilations
        stage_with_dcn = (False, ) * num_stages if stage_with_dcn is None else stage_with_dcn
        validate_runtime_args(num_stages=num_stages, strides=strides, dilations=dilations,
                              out_indices=out_indices, frozen_stages=frozen_stages,
                              stage_pool=stage_pool, style=style, multi_grid=multi_grid,
                              stage_with_dcn=stage_with_dcn, dcn=dcn,
                              memory_format=memory_format,
                              stage_blocks=self.arch['stage_blocks'], with_cp=with_cp,
                              norm_eval=norm_eval, zero_init_residual=zero_init_residual,
                              impl=impl)
        if impl == 'reference' and memory_format is not None:
            raise ValueError(f'memory_format={memory_format!r} applies to impl="fast" or '
                             '"auto" only; the reference keeps the layout of its input')
        self.impl, self.stage_pool = impl, stage_pool
        self._logged_devices = set()  # device types impl='auto' has logged its choice for
        self.memory_format = MEMORY_FORMATS[memory_format or 'channels_last']
        self.out_indices, self.frozen_stages = tuple(out_indices), frozen_stages
        self.norm_eval, self.zero_init_residual = norm_eval, zero_init_residual
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        stem_channels = base_channels if stem_channels is None else stem_channels
        self._make_stem(in_channels, stem_channels)

        block_cfg = dict(scales=self.arch['scales'], base_width=self.arch['base_width'],
                         cardinality=self.arch['cardinality'], se=self.arch['se'],
                         stage_pool=stage_pool == 'always', style=style,
                         pool_include_pad=stage_pool != 'paddle',
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp)
        inplanes, total_stride = stem_channels, 1 if self.arch['stem'] == 'cifar' else 4
        self.out_channels, self.out_strides, self.res_layers = [], [], []
        for i, num_blocks in enumerate(self.arch['stage_blocks'][:num_stages]):
            planes = base_channels * 2**i
            block_dilations = [dilations[i]] * num_blocks
            if multi_grid is not None and i == num_stages - 1:
                block_dilations = list(multi_grid)
            elif contract_dilation and dilations[i] > 1:
                block_dilations[0] = dilations[i] // 2
            layer = self._make_stage(inplanes, planes, strides[i], block_dilations,
                                     dcn=dcn if stage_with_dcn[i] else None,
                                     plugins=stage_plugins(plugins, i, num_stages), **block_cfg)
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
            inplanes = planes * Bottle2neck.expansion
            total_stride *= strides[i]
            if i in self.out_indices:
                self.out_channels.append(inplanes)
                self.out_strides.append(total_stride)
        self.num_stages = num_stages
        self.feat_dim = inplanes
        self._freeze_stages()

    @property
    def impl(self) -> str:
        """'auto', 'fast' or 'reference': how ``forward`` computes (see Args)."""
        return self._impl

    @impl.setter
    def impl(self, value: str):
        if value not in IMPLS:
            raise ValueError(f'impl must be one of {IMPLS}, got {value!r}')
        self._impl = value

    @property
    def memory_format(self) -> torch.memory_format:
        """The fast path's activation layout (see Args), set by name or as a
        ``torch.memory_format``. Kept as its name: torch.save's pickle
        protocol cannot hold a memory format, and whole models must save."""
        return MEMORY_FORMATS[self._memory_format]

    @memory_format.setter
    def memory_format(self, value):
        name = next((n for n, fmt in MEMORY_FORMATS.items() if value in (n, fmt)), None)
        if name is None:
            raise ValueError(f'memory_format must be one of {tuple(MEMORY_FORMATS)} or their '
                             f'torch.memory_format, got {value!r}')
        self._memory_format = name

    def _make_stem(self, in_channels, stem_channels):
        """v1: 7x7 conv; v1b: three 3x3 convs (official keys conv1.{0,1,3,4,6}),
        each followed by bn1 / relu, then a 3x3 max-pool (stride 4 in all);
        cifar: one 3x3 conv at stride 1 and no pool (ResNeXt-29, Xie et al.
        2017, Sec. 5.3)."""
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        if self.arch['stem'] == 'cifar':
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 3,
                                          padding=1, bias=False)
            self.maxpool = nn.Identity()
        elif self.arch['deep_stem']:
            mid = stem_channels // 2
            self.conv1 = nn.Sequential(
                build_conv_layer(self.conv_cfg, in_channels, mid, 3, stride=2, padding=1, bias=False),
                build_norm_layer(self.norm_cfg, mid)[1], nn.ReLU(inplace=True),
                build_conv_layer(self.conv_cfg, mid, mid, 3, padding=1, bias=False),
                build_norm_layer(self.norm_cfg, mid)[1], nn.ReLU(inplace=True),
                build_conv_layer(self.conv_cfg, mid, stem_channels, 3, padding=1, bias=False))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7,
                                          stride=2, padding=3, bias=False)
        self.bn1 = build_norm_layer(self.norm_cfg, stem_channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def _make_stage(self, inplanes, planes, stride, block_dilations, **block_cfg):
        downsample = None
        outplanes = planes * Bottle2neck.expansion
        if stride != 1 or inplanes != outplanes:
            layers = []
            conv_stride = stride
            if self.arch['avg_down']:
                # v1b: average-pool, then a stride-1 projection (official code).
                layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True,
                                           count_include_pad=False))
                conv_stride = 1
            layers += [build_conv_layer(self.conv_cfg, inplanes, outplanes, 1,
                                        stride=conv_stride, bias=False),
                       build_norm_layer(self.norm_cfg, outplanes)[1]]
            downsample = nn.Sequential(*layers)
        # PaddleClas makes only strided first blocks stage blocks.
        stage_block = self.stage_pool != 'paddle' or stride != 1
        blocks = [Bottle2neck(inplanes, planes, stride, block_dilations[0], downsample,
                              stage_block=stage_block, **block_cfg)]
        for dilation in block_dilations[1:]:
            blocks.append(Bottle2neck(outplanes, planes, 1, dilation, **block_cfg))
        return nn.Sequential(*blocks)

    def _freeze_stages(self):
        frozen = []
        if self.frozen_stages >= 0:
            frozen += [self.conv1, self.bn1]
        frozen += [getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def _init_after_defaults(self):
        for module in self.modules():
            if hasattr(module, 'conv_offset'):  # deformable convs start as plain convs
                constant_init(module.conv_offset, 0)
        super()._init_after_defaults()

    def _load_pretrained(self, path, prefix):
        load_pretrained(self, path, prefix=prefix)

    def _fit_loaded(self, state_dict, prefix):
        # Every way of loading (load_state_dict, mmengine's load_checkpoint
        # on a whole detector, Pretrained init) converts the keys under
        # ``prefix`` from any published layout and fits all of them or none.
        warn_paddle_numerics(self, rename_to_ours(state_dict, prefix), 'the state dict')
        strict_fit(state_dict, prefix, self)

    def runs_fast(self, x) -> bool:
        """Whether ``forward(x)`` takes the fast path: ``impl`` 'fast', or
        'auto' on a ``PROVEN_DEVICES`` device (logged once per device type),
        and ``fast.supports(x)``."""
        impl = self.impl
        if impl == 'auto':
            impl, reason = auto_impl(x.device.type)
            if x.device.type not in self._logged_devices and not torch.compiler.is_compiling():
                self._logged_devices.add(x.device.type)
                path = 'the fast path' if impl == 'fast' else 'the reference modules'
                print_log(f"Res2Net impl='auto' runs {path} on {x.device.type}: {reason}",
                          logger='current')
        return impl == 'fast' and fast.supports(x)

    def forward(self, x):
        """The outputs of the ``out_indices`` stages, NCHW-contiguous (mmcv
        ops such as RoIAlign read their input as NCHW memory)."""
        if self.runs_fast(x):
            return fast.res2net_forward(self, x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x.contiguous())
        return tuple(outs)


@register_shapes
def res2net_state_shapes(arch, kwargs):
    """Key -> shape of the state dict of the ``Res2Net`` with the resolved
    ``arch`` dict and constructor ``kwargs``, built on the meta device (no
    memory); what the checkpoint converter validates against."""
    with torch.device('meta'):
        model = Res2Net(arch={k: arch[k] for k in ARCH_KEYS}, deep_stem=arch['deep_stem'],
                        avg_down=arch['avg_down'], **kwargs)
    return {k: v.shape for k, v in model.state_dict().items()}
