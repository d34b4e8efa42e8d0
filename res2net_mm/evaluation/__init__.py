"""Metrics of the ``res2net_mm`` scope (``type='res2net_mm.SaliencyMetric'``)."""
from .saliency import SaliencyMetric, saliency_counts

__all__ = ['SaliencyMetric', 'saliency_counts']
