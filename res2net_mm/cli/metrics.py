"""The metrics tools/test.py reports: the paper's full COCO tables and a
readable summary of whatever the evaluators return."""
import math

# mmdet's CocoMetric returns only AP, AP50, AP75 and AP S/M/L unless asked;
# the paper's Table 6 also has AR (all, S, M, L). mmdet evaluates with
# maxDets = proposal_nums = (100, 300, 1000), hence the @1000 of AR S/M/L;
# detectors keep at most 100 boxes per image, so they equal COCO's @100.
COCO_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l',
              'AR@100', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')


def request_full_coco(cfg):
    """Ask every mmdet CocoMetric of the test evaluator for COCO_ITEMS."""
    if cfg.get('default_scope') != 'mmdet':
        return
    evaluators = cfg.test_evaluator
    for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
        if evaluator.get('type') == 'CocoMetric' and not evaluator.get('metric_items'):
            evaluator.metric_items = list(COCO_ITEMS)


def format_metrics(metrics, title='Test metrics'):
    """A two-column text table of a metrics dict (-1 means 'no such
    objects', as pycocotools reports it)."""
    if not metrics:
        return f'{title}: none (the evaluators returned nothing)'
    width = max(len(key) for key in metrics)
    lines = [f'{title}:']
    for key, value in metrics.items():
        if isinstance(value, float) and math.isfinite(value):
            value = f'{value:.4f}'
        lines.append(f'  {key:<{width}}  {value}')
    return '\n'.join(lines)
