"""Salient object detection metrics: MAE, max F-measure and adaptive
F-measure, computed as the saliency benchmarks compute them.

Conventions (Borji et al., "Salient Object Detection: A Benchmark", TIP
2015, and its toolbox as used by DSS, Hou et al., CVPR 2017; the adaptive
threshold of Achanta et al., CVPR 2009):

* F-measure ``F = (1 + b2) P R / (b2 P + R)`` with ``b2 = 0.3``
  (precision weighted more than recall); F = 0 where P = R = 0.
* **maxF**: the map is binarized at each of the 256 thresholds
  ``k / 255`` (a pixel is salient if its value is >= the threshold); per
  image precision (0 where nothing is salient) and recall (0 where the mask
  is empty) are averaged over the dataset at each threshold, F is computed
  from the averaged P and R, and maxF is the largest F over thresholds.
* **adpF**: each map is binarized at its adaptive threshold, twice its mean
  value capped at 1; F of that image (0 where no salient pixel is right);
  averaged over the images.
* **MAE**: mean absolute difference between the map and the binary mask,
  per image, averaged over the images.

Unlike the toolboxes' image readers, the maps are not rescaled (by their
maximum or min-max): a model's probabilities are taken as they are.
"""
from typing import Sequence

import torch
from mmengine.evaluator import BaseMetric

from ..registry import METRICS

BETA2 = 0.3
NUM_THRESHOLDS = 256


class EmptyEvaluationError(ValueError):
    """``SaliencyMetric.evaluate`` with no image processed: there is no
    mean to report (mmengine warns, then mmseg's metrics fail too)."""


def _f_measure(precision, recall):
    denominator = BETA2 * precision + recall
    f = (1 + BETA2) * precision * recall / denominator.clamp(min=1e-300)
    return torch.where(denominator > 0, f, torch.zeros_like(f))


def saliency_counts(pred, gt):
    """The per-image statistics the metrics need.

    Args:
        pred (Tensor): Saliency map (H, W) with values in [0, 1].
        gt (Tensor): Binary mask (H, W), 1 salient, 0 background.

    Returns:
        dict: ``precision`` and ``recall`` (float64, one per threshold
        ``k / 255``, k = 0..255), ``adaptive_f`` and ``mae`` (floats).
    """
    pred, gt = pred.detach().cpu().double().flatten(), gt.detach().cpu().flatten().bool()
    thresholds = torch.arange(NUM_THRESHOLDS, dtype=torch.float64) / (NUM_THRESHOLDS - 1)

    def at_least(values):  # how many of ``values`` are >= each threshold
        ordered = values.sort().values
        return values.numel() - torch.searchsorted(ordered, thresholds)

    true_pos = at_least(pred[gt]).double()
    predicted = (true_pos + at_least(pred[~gt])).clamp(min=1)
    salient = max(int(gt.sum()), 1)
    adaptive = pred >= min(2 * pred.mean().item(), 1.0)
    hits = int((adaptive & gt).sum())
    adaptive_f = _f_measure(torch.tensor(hits / max(int(adaptive.sum()), 1), dtype=torch.float64),
                            torch.tensor(hits / salient, dtype=torch.float64))
    return dict(precision=true_pos / predicted, recall=true_pos / salient,
                adaptive_f=float(adaptive_f), mae=float((pred - gt.double()).abs().mean()))


@METRICS.register_module()
class SaliencyMetric(BaseMetric):
    """MAE, max F-measure and adaptive F-measure of saliency maps
    (``saliency/MAE``, ``saliency/maxF``, ``saliency/adpF``); the
    conventions are in the module docstring.

    Reads mmseg-style data samples: the prediction from
    ``<pred_field>.data`` (default ``seg_logits``: for a decode head with one
    output channel mmseg's ``EncoderDecoder`` stores there the sigmoid of the
    logits, a (1, H, W) map in [0, 1], at the input image's size), the mask
    from ``<gt_field>.data`` (default ``gt_sem_seg``: (1, H, W), values 0
    and 1). Values out of range raise ``ValueError`` naming the image; an
    evaluation with no image raises ``EmptyEvaluationError``.

    Args:
        pred_field (str): Data-sample field of the saliency map. Defaults to
            'seg_logits'.
        gt_field (str): Data-sample field of the binary mask. Defaults to
            'gt_sem_seg'.
        collect_device (str): 'cpu' or 'gpu', where results are gathered
            across ranks. Defaults to 'cpu'.
        prefix (str | None): Prefix of the metric names. Defaults to
            'saliency'.

    Example:
        >>> from mmengine.registry import METRICS
        >>> metric = METRICS.build(dict(type='res2net_mm.SaliencyMetric'))
    """

    default_prefix = 'saliency'

    def __init__(self, pred_field='seg_logits', gt_field='gt_sem_seg',
                 collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_field, self.gt_field = pred_field, gt_field

    def _maps(self, sample):
        name = sample.get('img_path', 'an image')
        for field in (self.pred_field, self.gt_field):
            if field not in sample:
                raise KeyError(f'SaliencyMetric: the data sample of {name} has no '
                               f'{field!r}; fields: {sorted(sample)}')
        pred = sample[self.pred_field]['data'].squeeze(0)
        gt = sample[self.gt_field]['data'].squeeze(0)
        if pred.shape != gt.shape or pred.dim() != 2:
            raise ValueError(f'SaliencyMetric: {name}: the map {tuple(pred.shape)} and '
                             f'the mask {tuple(gt.shape)} must be one (H, W) map each')
        if pred.numel() and not (pred.min() >= 0 and pred.max() <= 1):
            raise ValueError(f'SaliencyMetric: {name}: {self.pred_field} has values in '
                             f'[{pred.min():.4g}, {pred.max():.4g}], not in [0, 1]')
        values = gt.unique().tolist()
        if not set(values) <= {0, 1}:
            raise ValueError(f'SaliencyMetric: {name}: {self.gt_field} has values '
                             f'{values[:8]}, not 0/1 (divide 0/255 masks by 255)')
        return pred, gt

    def process(self, data_batch, data_samples: Sequence[dict]):
        for sample in data_samples:
            self.results.append(saliency_counts(*self._maps(sample)))

    def compute_metrics(self, results):
        if not results:  # mmseg's IoUMetric fails here too, with a bare AssertionError
            raise EmptyEvaluationError(
                'SaliencyMetric: no image was evaluated (the dataloader gave no samples, or '
                'process() never ran); check the test set and its data_prefix / ann_file')

        def mean(key):
            return sum(r[key] for r in results) / len(results)

        max_f = _f_measure(mean('precision'), mean('recall')).max()
        return dict(MAE=mean('mae'), maxF=float(max_f), adpF=mean('adaptive_f'))
