"""Metrics of the ``res2net_mm`` scope (``type='res2net_mm.SaliencyMetric'``)
and ``res2net_mm.PerDatasetEvaluator`` (metrics per dataset of a test set)."""
from .per_dataset import PerDatasetEvaluator
from .saliency import SaliencyMetric, saliency_counts

__all__ = ['PerDatasetEvaluator', 'SaliencyMetric', 'saliency_counts']
