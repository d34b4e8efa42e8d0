"""Res2Net networks (Gao et al., "Res2Net", TPAMI 2020) for OpenMMLab.

The architecture comes from the variant table in ``variants.py``; parameter
names follow the official code, so official/timm weights load as they are.
"""
import warnings

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init
from torch.nn.modules.batchnorm import _BatchNorm

from ..registry import MODELS
from .arch import MEMORY_FORMATS, resolve_arch, stage_plugins, validate_runtime_args
from .bottle2neck import EXPANSION, Bottle2neck, conv_norm
from .lean import recomputing_norm_relu

DEFAULT_INIT = [dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]


@MODELS.register_module()
class Res2Net(BaseModule):
    """Res2Net backbone: v1 (7x7 stem) and v1b (deep stem, avg-pool shortcut),
    Res2NeXt and SE-Res2Net, for classification and dense prediction.

    Args:
        arch (str | dict | None): A name of ``variants.ARCHS`` or a dict with
            its keys (depth, base_width, scales, cardinality, stem, se).
            None with ``depth`` None means 'res2net50_26w_4s'.
        depth, scales, base_width (int | None): mmdet-style architecture,
            used only when ``arch`` is None (mmdet's defaults: scales 4,
            base_width 26, v1b stem).
        deep_stem, avg_down (bool | None): Override the stem's 3-conv stem and
            average-pool shortcut (None: from the arch's stem style).
        in_channels (int): Input channels. Default: 3.
        stem_channels (int | None): Stem output channels (None: base_channels).
        base_channels (int): Planes of the first stage. Default: 64.
        num_stages (int): Stages, 1 to 4. Default: 4.
        strides, dilations (Sequence[int]): Per stage. Output stride 16 is
            ``strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)``.
        contract_dilation (bool): Halve the first block's dilation in dilated
            stages (as mmseg's ResNetV1c). Default: False.
        multi_grid (Sequence[int] | None): Dilations of the last stage's
            blocks (DeepLabv3 multi-grid). Default: None.
        stage_pool (str): 'always' (official; every stage block pools its
            pass-through split, stride 1 and dilated stages included with
            ``AvgPool2d(3, 1, 1)``) or 'strided' (mmdet's numerics: only
            when the stride is not 1). Default: 'always'.
        out_indices (Sequence[int]): Stages whose outputs are returned.
        style (str): 'pytorch' or 'caffe' (stride in the first 1x1 conv).
        frozen_stages (int): Stages to freeze (-1: none, 0: stem only).
        conv_cfg, norm_cfg (dict): Layer configs. norm_cfg default BN.
        norm_eval (bool): Keep norm layers in eval mode while training.
        dcn (dict | None): Deformable conv for the 3x3 split convs.
        stage_with_dcn (Sequence[bool]): Stages that use ``dcn``.
        plugins (list[dict] | None): mmdet-style plugins (cfg, stages,
            position in 'after_conv1' | 'after_conv2' | 'after_conv3').
        with_cp (bool): Gradient checkpointing of every block.
        memory_format (str): 'channels_last' (default) keeps the plain convs'
            weights and activations in NHWC, where the narrow split convs run
            much faster (oneDNN/cuDNN need no layout reorders); 'contiguous'
            is the NCHW reference path. Outputs are NCHW-contiguous either
            way and agree within float rounding; checkpoints are the same.
        zero_init_residual (bool): Zero every block's last norm weight.
        pretrained (str | None): Deprecated; use ``init_cfg``.
        init_cfg (dict | list | None): Default Kaiming/Constant; use
            ``dict(type='Pretrained', checkpoint=PATH)`` for weights in any
            supported layout (official, timm, mmdet, mmpretrain).

    Example:
        >>> import torch
        >>> from res2net_mm.models import Res2Net
        >>> model = Res2Net('res2net50_26w_4s', out_indices=(0, 1, 2, 3)).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    def __init__(self, arch=None, depth=None, scales=None, base_width=None,
                 deep_stem=None, avg_down=None, in_channels=3,
                 stem_channels=None, base_channels=64, num_stages=4,
                 strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1),
                 contract_dilation=False, multi_grid=None, stage_pool='always',
                 out_indices=(0, 1, 2, 3), style='pytorch', frozen_stages=-1,
                 conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval=False, dcn=None, stage_with_dcn=(False, False, False, False),
                 plugins=None, with_cp=False, zero_init_residual=True,
                 memory_format='channels_last', pretrained=None, init_cfg=None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('give either init_cfg or the deprecated pretrained, not both')
            warnings.warn('pretrained is deprecated, use init_cfg=dict(type="Pretrained", ...)')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg if init_cfg is not None else DEFAULT_INIT)
        self.arch = resolve_arch(arch, depth=depth, scales=scales, base_width=base_width,
                                 deep_stem=deep_stem, avg_down=avg_down)
        validate_runtime_args(num_stages=num_stages, strides=strides, dilations=dilations,
                              out_indices=out_indices, frozen_stages=frozen_stages,
                              stage_pool=stage_pool, style=style, multi_grid=multi_grid,
                              stage_with_dcn=stage_with_dcn, dcn=dcn,
                              memory_format=memory_format)
        self.out_indices, self.frozen_stages = tuple(out_indices), frozen_stages
        self.norm_eval, self.zero_init_residual = norm_eval, zero_init_residual
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        stem_channels = base_channels if stem_channels is None else stem_channels
        self._make_stem(in_channels, stem_channels)

        block_cfg = dict(scales=self.arch['scales'], base_width=self.arch['base_width'],
                         cardinality=self.arch['cardinality'], se=self.arch['se'],
                         stage_pool=stage_pool == 'always', style=style,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp)
        inplanes, total_stride = stem_channels, 4
        self.out_channels, self.out_strides = [], []
        for i, num_blocks in enumerate(self.arch['stage_blocks'][:num_stages]):
            planes = base_channels * 2**i
            dilation = dilations[i]
            block_dilations = [dilation] * num_blocks
            if multi_grid is not None and i == num_stages - 1:
                block_dilations = list(multi_grid)
            elif contract_dilation and dilation > 1:
                block_dilations[0] = dilation // 2
            layer = self._make_stage(inplanes, planes, strides[i], block_dilations,
                                     dcn=dcn if stage_with_dcn[i] else None,
                                     plugins=stage_plugins(plugins, i), **block_cfg)
            self.add_module(f'layer{i + 1}', layer)
            inplanes = planes * EXPANSION
            total_stride *= strides[i]
            if i in self.out_indices:
                self.out_channels.append(inplanes)
                self.out_strides.append(total_stride)
        self.num_stages = num_stages
        self.feat_dim = inplanes
        self.memory_format = MEMORY_FORMATS[memory_format]
        for name, module in self.named_modules():
            # Only plain convs: mmcv's deformable kernels expect NCHW offsets.
            if type(module) is nn.Conv2d and not name.endswith('conv_offset'):
                module.to(memory_format=self.memory_format)
        self._freeze_stages()

    def _make_stem(self, in_channels, stem_channels):
        """v1: 7x7 conv; v1b: three 3x3 convs (official keys conv1.{0,1,3,4,6})."""
        if self.arch['deep_stem']:
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
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _make_stage(self, inplanes, planes, stride, block_dilations, **block_cfg):
        downsample = None
        if stride != 1 or inplanes != planes * EXPANSION:
            layers = []
            conv_stride = stride
            if self.arch['avg_down']:
                # v1b: average-pool, then a stride-1 projection (official code).
                layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True,
                                           count_include_pad=False))
                conv_stride = 1
            layers += [build_conv_layer(self.conv_cfg, inplanes, planes * EXPANSION, 1,
                                        stride=conv_stride, bias=False),
                       build_norm_layer(self.norm_cfg, planes * EXPANSION)[1]]
            downsample = nn.Sequential(*layers)
        blocks = [Bottle2neck(inplanes, planes, stride, block_dilations[0], downsample,
                              stage_block=True, **block_cfg)]
        for dilation in block_dilations[1:]:
            blocks.append(Bottle2neck(planes * EXPANSION, planes, 1, dilation, **block_cfg))
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

    def init_weights(self):
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            from ..checkpoint import load_pretrained
            load_pretrained(self, self.init_cfg['checkpoint'])
            self._is_init = True
            return
        super().init_weights()
        for module in self.modules():
            if hasattr(module, 'conv_offset'):  # deformable convs start as plain convs
                constant_init(module.conv_offset, 0)
            if self.zero_init_residual and isinstance(module, Bottle2neck):
                constant_init(module.bn3, 0)

    def forward(self, x):
        with recomputing_norm_relu():
            return self._forward(x)

    def _forward(self, x):
        x = x.contiguous(memory_format=self.memory_format)
        if self.arch['deep_stem']:  # conv1 = (conv, norm, relu) x 2, conv
            x = conv_norm(self.conv1[0], self.conv1[1], x, relu=True)
            x = conv_norm(self.conv1[3], self.conv1[4], x, relu=True)
            x = conv_norm(self.conv1[6], self.bn1, x, relu=True)
        else:
            x = conv_norm(self.conv1, self.bn1, x, relu=True)
        x = self.maxpool(x)
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                # NCHW out: mmcv ops (RoIAlign, ...) read their input as
                # contiguous NCHW memory whatever its strides.
                outs.append(x.contiguous())
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
