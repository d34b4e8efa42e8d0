"""res2net_mm.SaliencyMetric against values computed by hand (the
conventions are in ``res2net_mm/evaluation/saliency.py``: b2 = 0.3, maxF from
the dataset-mean precision and recall at the thresholds k/255, adpF at twice
the mean saliency capped at 1, MAE per image, all averaged over images)."""
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import METRICS
from mmengine.structures import PixelData

from res2net_mm.evaluation import SaliencyMetric


def f_measure(p, r):
    return 1.3 * p * r / (0.3 * p + r)


def sample(pred, gt, name='img.jpg'):
    """An mmseg-style data sample (as ``Evaluator.process`` passes it)."""
    return dict(img_path=name, seg_logits=dict(data=torch.tensor(pred, dtype=torch.float64)[None]),
                gt_sem_seg=dict(data=torch.tensor(gt)[None]))


def evaluate(*samples):
    metric = SaliencyMetric()
    metric.process({}, list(samples))
    return metric.compute_metrics(metric.results)


# Values away from the thresholds k/255 (0.05 * 255 = 12.75, ...), except 0 and 1.
IMAGE_A = sample([[1.0, 0.75, 0.35], [0.55, 0.15, 0.0]], [[1, 1, 0], [1, 0, 0]], 'a.jpg')
IMAGE_B = sample([[0.95, 0.65, 0.15, 0.05]], [[1, 0, 1, 0]], 'b.jpg')


def test_one_image_by_hand():
    result = evaluate(IMAGE_A)
    # |error|: 0, .25, .35, .45, .15, 0 -> 1.2 / 6
    assert result['MAE'] == pytest.approx(0.2)
    # mean 2.8 / 6 -> threshold 0.933: only the 1.0 pixel: P = 1, R = 1/3
    assert result['adpF'] == pytest.approx(f_measure(1, 1 / 3)) == pytest.approx(1.3 / 1.9)
    # thresholds in (0.35, 0.55] keep exactly the three salient pixels
    assert result['maxF'] == pytest.approx(1.0)


def test_dataset_means_precision_and_recall_before_the_f_measure():
    result = evaluate(IMAGE_A, IMAGE_B)
    assert result['MAE'] == pytest.approx((0.2 + 1.6 / 4) / 2)
    # B: mean 0.45 -> threshold 0.9: the 0.95 pixel, P = 1, R = 1/2
    assert result['adpF'] == pytest.approx((1.3 / 1.9 + f_measure(1, 1 / 2)) / 2)
    # Best thresholds (0.65, 0.75]: A P = 1, R = 2/3; B P = 1, R = 1/2, so
    # mean P = 1, mean R = 7/12: F = 9.1 / 10.6. Averaging per-image F
    # curves instead (PySODMetrics) would give (F(1, 2/3) + F(1, 1/2)) / 2.
    assert result['maxF'] == pytest.approx(9.1 / 10.6)
    assert result['maxF'] != pytest.approx((f_measure(1, 2 / 3) + f_measure(1, 1 / 2)) / 2)


@pytest.mark.parametrize('pred,gt,expected', [
    # all-zero mask: recall 0 at every threshold, no salient pixel is right
    ([[0.5, 0.25], [0.0, 0.0]], [[0, 0], [0, 0]], dict(MAE=0.1875, maxF=0.0, adpF=0.0)),
    # all-one prediction: salient at every threshold (1 >= k/255), also the
    # adaptive one min(2 * 1, 1): P = 1/4, R = 1
    ([[1.0, 1.0], [1.0, 1.0]], [[1, 0], [0, 0]],
     dict(MAE=0.75, maxF=f_measure(1 / 4, 1), adpF=f_measure(1 / 4, 1))),
    # all-one prediction on an all-zero mask
    ([[1.0, 1.0], [1.0, 1.0]], [[0, 0], [0, 0]], dict(MAE=1.0, maxF=0.0, adpF=0.0)),
    # all-zero prediction: only the threshold 0 (and the adaptive 2 * 0) keeps pixels
    ([[0.0, 0.0], [0.0, 0.0]], [[1, 0], [0, 0]],
     dict(MAE=0.25, maxF=f_measure(1 / 4, 1), adpF=f_measure(1 / 4, 1))),
    # perfect prediction
    ([[1.0, 0.0], [0.0, 0.0]], [[1, 0], [0, 0]], dict(MAE=0.0, maxF=1.0, adpF=1.0)),
], ids=['all-zero mask', 'all-one prediction', 'all-one on all-zero', 'all-zero prediction',
        'perfect'])
def test_edge_cases_by_hand(pred, gt, expected):
    result = evaluate(sample(pred, gt))
    assert result == pytest.approx(expected)


def test_registered_and_run_by_mmengine_evaluator_on_seg_data_samples():
    from mmseg.structures import SegDataSample
    metric = METRICS.build(dict(type='res2net_mm.SaliencyMetric'))
    assert isinstance(metric, SaliencyMetric)
    samples = []
    for raw in (IMAGE_A, IMAGE_B):
        data_sample = SegDataSample(metainfo=dict(img_path=raw['img_path']))
        data_sample.seg_logits = PixelData(data=raw['seg_logits']['data'].float())
        data_sample.gt_sem_seg = PixelData(data=raw['gt_sem_seg']['data'])
        samples.append(data_sample)
    evaluator = Evaluator(metric)
    evaluator.process(samples)
    result = evaluator.evaluate(2)
    assert sorted(result) == ['saliency/MAE', 'saliency/adpF', 'saliency/maxF']
    assert result['saliency/maxF'] == pytest.approx(9.1 / 10.6)


@pytest.mark.parametrize('bad,fragment', [
    (sample([[1.5, 0.0]], [[1, 0]]), '[0, 1.5]'),
    (sample([[0.5, 0.0]], [[255, 0]]), '[0, 255]'),
    (sample([[0.5, 0.0, 0.1]], [[1, 0]]), '(1, 3)'),
    (dict(img_path='img.jpg', pred_sem_seg=dict(data=torch.zeros(1, 2, 2)),
          gt_sem_seg=dict(data=torch.zeros(1, 2, 2))), "'seg_logits'"),
], ids=['prediction above 1', 'mask of 0/255', 'shapes differ', 'no prediction field'])
def test_invalid_samples_name_the_image_and_the_problem(bad, fragment):
    with pytest.raises((ValueError, KeyError)) as exc:
        evaluate(bad)
    assert 'img.jpg' in str(exc.value) and fragment in str(exc.value)


def test_no_results_is_a_named_error():
    from res2net_mm.evaluation.saliency import EmptyEvaluationError
    evaluator = Evaluator(METRICS.build(dict(type='res2net_mm.SaliencyMetric')))
    with pytest.raises(EmptyEvaluationError, match='no image was evaluated'):
        evaluator.evaluate(0)
