"""Metrics per dataset of a joined test set (``NamedConcatDataset``)."""
from mmengine.dist import broadcast_object_list, collect_results, is_main_process
from mmengine.evaluator import Evaluator
from mmengine.evaluator.metric import _to_cpu

from ..registry import EVALUATOR


@EVALUATOR.register_module()
class PerDatasetEvaluator(Evaluator):
    """Run the metrics on each dataset of a ``res2net_mm.NamedConcatDataset``
    apart and name the results ``<dataset>/<metric prefix>/<key>``, e.g.
    ``ECSSD/saliency/maxF``. On a dataset without ``dataset_names`` in its
    metainfo it is mmengine's ``Evaluator``.

    The samples arrive in dataset order (mmengine's ``collect_results``
    restores it across ranks, as ``BaseMetric.evaluate`` relies on), so the
    ``cumulative_sizes`` of the metainfo cut the results into datasets.

    Args:
        metrics (dict | BaseMetric | Sequence): The metrics.
    """

    def evaluate(self, size):
        meta = self.dataset_meta or {}
        if 'dataset_names' not in meta:
            return super().evaluate(size)
        names, ends = meta['dataset_names'], meta['cumulative_sizes']
        if ends[-1] != size:
            raise ValueError(f'PerDatasetEvaluator: the datasets {names} hold {ends[-1]} '
                             f'samples, the evaluation {size}')
        results = {}
        for metric in self.metrics:
            collected = collect_results(metric.results, size, metric.collect_device)
            if is_main_process():
                collected = _to_cpu(collected)
                for name, start, end in zip(names, [0] + ends[:-1], ends):
                    prefix = '/'.join(p for p in (name, metric.prefix) if p)
                    for key, value in metric.compute_metrics(collected[start:end]).items():
                        results[f'{prefix}/{key}'] = value
            metric.results.clear()
        shared = [results if is_main_process() else None]
        broadcast_object_list(shared)
        return shared[0]
