"""DSS: deeply supervised salient object detection with short connections
(Hou, Cheng, Hu, Borji, Tu, Torr, CVPR 2017 / TPAMI 2019), as an mmseg
decode head, for the Res2Net paper's Table 9.

The facts come from the authors' released Caffe models
(github.com/Andrew-Qibin/DSS: ``train_val.prototxt`` for VGG-16,
``resnet/train_resnet.prototxt`` for ResNet):

* **side outputs**: on each backbone level, two k x k convs with ReLU and
  a 1x1 conv to one score map. The ResNet model has five: conv1 (stride 2,
  128 channels, 3x3), res2 and res3 (256, 5x5), res4 (512, 5x5), res5 (512,
  7x7); no normalization, weights N(0, 0.01), biases 0.
* **short connections**, deeper to shallower: the two deepest side outputs
  (res5, res4) stand alone; res3 and res2 each concatenate their own score
  with the (upsampled) scores of res5 and res4 and mix them with a 1x1 conv;
  conv1 takes the mixed scores of res3 and res2 and the scores of res4 and
  res5. The VGG model follows the same rule (its sides 5-6 alone, 3-4 from
  5-6, 1-2 from 3-6). A connection carries a side's final score (after its
  own short connection).
* **fusion**: a 1x1 conv over all side scores at the input size, weights
  initialised to 1 / number of sides (0.2 for five), bias 0.
* **deep supervision**: sigmoid cross-entropy on every side output and on
  the fused output against the binary mask, all with loss weight 1.
* **inference**: the mean of the sigmoid maps of the fused output and of
  the side outputs at strides 4, 8 and 16 (the released test notebook
  ``DSS-tutorial.ipynb``: ``(out3 + out4 + out5 + fuse) / 4`` of VGG's six
  sides; the paper's text, as the DSS-pytorch port reads it, takes sides
  2-4 instead; ``test_sides`` chooses).

mmseg's backbones (its ResNet, our Res2Net) return the four stage outputs
(strides 4 to 32), not the stride-2 stem, so the default head has the four
stage side outputs with the ResNet model's connections among them
(``connections=((2, 3), (2, 3), (), ())``); a backbone that also returns
the stem can add the fifth side with ``connections`` and the other
per-side arguments. Upsampling is bilinear (the Caffe models use fixed
bilinear deconvolutions and crops).
"""
from collections import OrderedDict

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize

from ...registry import MODELS

# Four stage outputs of a ResNet-50-like backbone, shallow to deep.
DEFAULT_CONNECTIONS = ((2, 3), (2, 3), (), ())


def _per_side(name, value, num_sides, kind):
    """``value`` as a tuple of ``num_sides`` items of ``kind``, or raise."""
    if (not isinstance(value, (list, tuple)) or len(value) != num_sides
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)):
        raise ValueError(f'{name} needs one {kind.__name__} per side output '
                         f'({num_sides}), got {value!r}')
    return tuple(value)


def check_connections(connections, num_sides):
    """The short connections as tuples, or raise ``ValueError``: entry i
    lists the sides j > i (deeper) whose scores side i receives."""
    if (not isinstance(connections, (list, tuple)) or len(connections) != num_sides
            or not all(isinstance(c, (list, tuple)) for c in connections)):
        raise ValueError(f'connections needs one sequence of side indices per side '
                         f'output ({num_sides}), got {connections!r}')
    for i, sources in enumerate(connections):
        sources = tuple(sources)
        if len(set(sources)) != len(sources) or not all(
                isinstance(j, int) and i < j < num_sides for j in sources):
            raise ValueError(f'connections[{i}] = {sources!r}: a side output receives '
                             f'deeper ones only, each once: indices in ({i}, {num_sides})')
    return tuple(tuple(sources) for sources in connections)


def check_sides(in_channels, side_channels, kernel_sizes, test_sides):
    """The per-side arguments of ``DSSHead`` as tuples, or raise
    ``ValueError`` naming the argument."""
    if not isinstance(in_channels, (list, tuple)) or not in_channels:
        raise ValueError('in_channels needs one int per backbone level (side output), '
                         f'got {in_channels!r}')
    num_sides = len(in_channels)
    per_side = [_per_side(name, value, num_sides, int) for name, value in (
        ('in_channels', in_channels), ('side_channels', side_channels),
        ('kernel_sizes', kernel_sizes))]
    if any(k < 1 or k % 2 == 0 for k in per_side[2]):
        raise ValueError(f'kernel_sizes must be odd and >= 1, got {kernel_sizes!r}')
    if not (isinstance(test_sides, (list, tuple)) and len(set(test_sides)) == len(test_sides)
            and all(isinstance(i, int) and 0 <= i < num_sides for i in test_sides)):
        raise ValueError(f'test_sides must be distinct side indices in [0, {num_sides}), '
                         f'got {test_sides!r}')
    return per_side


@MODELS.register_module()
class DSSHead(BaseDecodeHead):
    """DSS decode head (Hou et al., CVPR 2017): deeply supervised side
    outputs with short connections and a learned fusion; the details and
    their sources are in the module docstring.

    ``forward`` returns the score maps (logits) of the sides, shallow to
    deep, then the fused one; ``predict`` returns one logit map whose
    sigmoid (which mmseg's ``EncoderDecoder`` applies to one-channel heads)
    is the saliency map in [0, 1].

    Args:
        in_channels (Sequence[int]): Channels of the backbone levels used,
            shallow to deep. Defaults to (256, 512, 1024, 2048).
        side_channels (Sequence[int]): Channels of each side's two convs.
            Defaults to (256, 256, 512, 512).
        kernel_sizes (Sequence[int]): Kernel size (odd) of each side's two
            convs. Defaults to (5, 5, 5, 7).
        connections (Sequence[Sequence[int]]): For each side, the deeper
            sides whose scores it receives. Defaults to
            ``((2, 3), (2, 3), (), ())``.
        test_sides (Sequence[int]): Sides averaged with the fused output at
            test time (empty: the fused output alone). Defaults to (0, 1, 2).
        in_index (Sequence[int]): Backbone outputs used, one per side.
            Defaults to (0, 1, 2, 3).
        norm_cfg (dict | None): Norm layer of the side convs (DSS: None).
            Defaults to None.
        loss_decode (dict): Loss of every side and the fused output.
            Defaults to sigmoid cross-entropy, averaged over the pixels
            that are not ``ignore_index`` (padding), weight 1.
        threshold (float): ``pred_sem_seg`` is saliency > threshold.
            Defaults to 0.5.
        ignore_index (int): Mask value of padded pixels. Defaults to 255.
        align_corners (bool): Of the bilinear upsampling. Defaults to False.
        init_cfg (dict | list[dict] | None): Defaults to DSS's: N(0, 0.01)
            convs with zero bias, fusion weights 1 / number of sides.
    """

    def __init__(self, in_channels=(256, 512, 1024, 2048), side_channels=(256, 256, 512, 512),
                 kernel_sizes=(5, 5, 5, 7), connections=DEFAULT_CONNECTIONS,
                 test_sides=(0, 1, 2), in_index=(0, 1, 2, 3), norm_cfg=None,
                 loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                  avg_non_ignore=True, loss_weight=1.0),
                 threshold=0.5, ignore_index=255, align_corners=False, init_cfg=None):
        in_channels, side_channels, kernel_sizes = check_sides(
            in_channels, side_channels, kernel_sizes, test_sides)
        num_sides = len(in_channels)
        if not 0 < threshold < 1:
            raise ValueError(f'threshold must be in (0, 1), got {threshold!r}')
        if init_cfg is None:
            init_cfg = [dict(type='Normal', std=0.01, bias=0, layer='Conv2d'),
                        dict(type='Constant', val=1 / num_sides, bias=0,
                             override=dict(name='conv_seg'))]
        # conv_seg, BaseDecodeHead's classifier, is the fusion: sides -> 1.
        super().__init__(in_channels, num_sides, num_classes=2, out_channels=1,
                         threshold=threshold, dropout_ratio=0, norm_cfg=norm_cfg,
                         in_index=_per_side('in_index', in_index, num_sides, int),
                         input_transform='multiple_select', loss_decode=loss_decode,
                         ignore_index=ignore_index, align_corners=align_corners,
                         init_cfg=init_cfg)
        self.connections = check_connections(connections, num_sides)
        self.test_sides = tuple(test_sides)
        self.sides = nn.ModuleList(
            self._side(c_in, c, k) for c_in, c, k in zip(in_channels, side_channels, kernel_sizes))
        # Every 1x1 conv that makes a score map is named 'score' (in the
        # sides and the short connections): configs set their lr by name.
        self.shortcuts = nn.ModuleDict({
            str(i): nn.Sequential(OrderedDict(score=nn.Conv2d(1 + len(sources), 1, 1)))
            for i, sources in enumerate(self.connections) if sources})

    def _side(self, in_channels, channels, kernel_size):
        def conv(c_in):
            return ConvModule(c_in, channels, kernel_size, padding=kernel_size // 2,
                              norm_cfg=self.norm_cfg, act_cfg=dict(type='ReLU'))
        return nn.Sequential(OrderedDict(conv1=conv(in_channels), conv2=conv(channels),
                                         score=nn.Conv2d(channels, 1, 1)))

    def _up(self, x, size):
        return resize(x, size=size, mode='bilinear', align_corners=self.align_corners)

    def forward(self, inputs, size=None):
        """Score maps (logits) of the sides, shallow to deep, then of the
        fusion, each (N, 1, *size).

        Args:
            inputs (Sequence[Tensor]): The backbone outputs.
            size (tuple[int, int] | None): Output size (the input image's);
                None: the shallowest side's resolution.
        """
        features = self._transform_inputs(inputs)
        size = tuple(size or features[0].shape[2:])
        scores = [None] * len(features)
        for i in reversed(range(len(features))):  # deep first: shallow ones receive them
            own = self.sides[i](features[i])
            sources = [self._up(scores[j], own.shape[2:]) for j in self.connections[i]]
            scores[i] = self.shortcuts[str(i)](torch.cat([own] + sources, 1)) if sources else own
        sides = [self._up(score, size) for score in scores]
        return sides + [self.cls_seg(torch.cat(sides, 1))]

    def loss(self, inputs, batch_data_samples, train_cfg):
        """Losses ``loss_side<i>`` and ``loss_fuse`` (deep supervision)."""
        label = self._stack_batch_gt(batch_data_samples)
        outputs = self.forward(inputs, label.shape[2:])
        names = [f'loss_side{i}' for i in range(len(outputs) - 1)] + ['loss_fuse']
        label = label.squeeze(1)
        return {name: self.loss_decode(output, label, ignore_index=self.ignore_index)
                for name, output in zip(names, outputs)}

    def predict(self, inputs, batch_img_metas, test_cfg):
        """Logits of the mean of the sigmoid maps of the fusion and of
        ``test_sides``, at the (padded) input size."""
        meta = batch_img_metas[0]  # the sizes as BaseDecodeHead.predict_by_feat takes them
        size = meta['img_shape']
        if not isinstance(size, torch.Size) and 'pad_shape' in meta:  # not slide inference
            size = meta['pad_shape'][:2]
        outputs = self.forward(inputs, size)
        if not self.test_sides:
            return outputs[-1]
        chosen = [outputs[i] for i in self.test_sides] + [outputs[-1]]
        saliency = torch.stack(chosen).sigmoid().mean(0)
        return torch.logit(saliency, eps=1e-6)
