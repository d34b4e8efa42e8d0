"""Matplotlib drawings of the demo: predictions next to ground truth, curves.

Each ``draw_*`` function draws one validation data sample of one library
(mmdet ``DetDataSample``, mmseg ``SegDataSample``, mmpose ``PoseDataSample``,
mmpretrain ``DataSample``)
into a matplotlib axis; ``draw_sample`` picks the right one from the fields
the sample holds. Predictions and ground truth are in the coordinates of the
original image, as the OpenMMLab models return them at test time.
"""
import math

import matplotlib

matplotlib.use('Agg')  # files only: no display on a training machine
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

_COLOURS = plt.get_cmap('tab10').colors
_GT_COLOUR = 'white'


def _numpy(value):
    """A tensor or array as a numpy array."""
    return value.cpu().numpy() if hasattr(value, 'cpu') else np.asarray(value)


def _image(sample):
    """The sample's original image as RGB uint8, read from its path."""
    return np.asarray(Image.open(sample.metainfo['img_path']).convert('RGB'))


def _box(ax, box, colour, dashed=False):
    x0, y0, x1, y1 = box
    ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                               edgecolor=colour, linewidth=1.5,
                               linestyle='--' if dashed else '-'))


def draw_detection(ax, sample, meta, score_thr=0.3):
    """Boxes (and masks, if any) of a detection sample.

    Ground truth: dashed white boxes; predictions with a score of at least
    ``score_thr``: solid boxes coloured by class with ``class score`` labels,
    masks filled with the class colour.

    Args:
        ax (matplotlib.axes.Axes): Where to draw.
        sample (DetDataSample): With ``pred_instances`` and ``gt_instances``.
        meta (dict): Dataset metainfo with ``classes``.
        score_thr (float): Lowest score drawn. Default: 0.3.
    """
    image = _image(sample).astype(np.float64)
    pred = sample.pred_instances
    keep = _numpy(pred.scores) >= score_thr
    labels = _numpy(pred.labels)[keep]
    if 'masks' in pred:
        for mask, label in zip(_numpy(pred.masks)[keep], labels):
            colour = 255 * np.array(_COLOURS[label % len(_COLOURS)])
            image[mask > 0] = 0.55 * image[mask > 0] + 0.45 * colour
    ax.imshow(image.astype(np.uint8))
    if 'gt_instances' in sample:
        for box in _numpy(sample.gt_instances.bboxes):
            _box(ax, box, _GT_COLOUR, dashed=True)
    for box, label, score in zip(_numpy(pred.bboxes)[keep], labels,
                                 _numpy(pred.scores)[keep]):
        colour = _COLOURS[label % len(_COLOURS)]
        _box(ax, box, colour)
        ax.text(box[0], box[1], f"{meta['classes'][label]} {score:.2f}",
                fontsize=6, color='white', va='bottom',
                bbox=dict(facecolor=colour, alpha=0.8, pad=0.5, lw=0))


def _blend(image, label_map, palette):
    """``image`` with each labelled pixel (label > 0) tinted by ``palette``."""
    colours = np.asarray(palette, np.float64)[label_map]
    alpha = 0.55 * (label_map > 0)[..., None]
    return (image * (1 - alpha) + colours * alpha).astype(np.uint8)


def draw_segmentation(ax, sample, meta):
    """Predicted label map (left) next to the ground truth (right), each
    blended over the image in the dataset palette.

    Args:
        ax (matplotlib.axes.Axes): Where to draw.
        sample (SegDataSample): With ``pred_sem_seg`` and ``gt_sem_seg``.
        meta (dict): Dataset metainfo with ``palette``.
    """
    image = _image(sample).astype(np.float64)
    pred = _numpy(sample.pred_sem_seg.data)[0]
    panels = [_blend(image, pred, meta['palette'])]
    if 'gt_sem_seg' in sample:
        gt = _numpy(sample.gt_sem_seg.data)[0]
        gt = np.where(gt == 255, 0, gt)  # ignore index: drawn as background
        gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
        panels += [gap, _blend(image, gt, meta['palette'])]
    ax.imshow(np.concatenate(panels, axis=1))


def draw_saliency(ax, sample):
    """The image, the ground-truth mask and the predicted saliency map
    (grey levels, white = 1), side by side.

    Args:
        ax (matplotlib.axes.Axes): Where to draw.
        sample (SegDataSample): With a one-channel ``seg_logits`` (mmseg
            stores the saliency map there) and ``gt_sem_seg`` (0/1).
    """
    image = _image(sample)
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    panels = [image]
    maps = [_numpy(sample.gt_sem_seg.data)[0]] if 'gt_sem_seg' in sample else []
    for value in maps + [_numpy(sample.seg_logits.data)[0]]:
        grey = (255 * np.clip(value, 0, 1)).astype(np.uint8)
        panels += [gap, np.repeat(grey[..., None], 3, axis=2)]
    ax.imshow(np.concatenate(panels, axis=1))


def draw_keypoints(ax, sample, meta, margin=0.25):
    """Predicted keypoints (dots and skeleton) and the ground truth (white
    rings) of a top-down pose sample, cropped around its box.

    Args:
        ax (matplotlib.axes.Axes): Where to draw.
        sample (PoseDataSample): With ``pred_instances.keypoints`` and
            ``gt_instances`` (``bboxes``, ``keypoints``).
        meta (dict): Dataset metainfo with ``skeleton_links``.
        margin (float): Crop margin, a fraction of the box side.
            Default: 0.25.
    """
    image = _image(sample)
    ax.imshow(image)
    points = _numpy(sample.pred_instances.keypoints)[0]
    for a, b in meta.get('skeleton_links', []):
        ax.plot(*points[[a, b]].T, color=_COLOURS[0], linewidth=1)
    for k, (x, y) in enumerate(points):
        ax.plot(x, y, 'o', color=_COLOURS[(k + 1) % len(_COLOURS)],
                markersize=3)
    gt = sample.get('gt_instances')
    if gt is not None and 'keypoints' in gt:
        ax.plot(*_numpy(gt.keypoints)[0].T, 'o', markersize=6,
                markerfacecolor='none', markeredgecolor=_GT_COLOUR)
    if gt is not None and 'bboxes' in gt:
        x0, y0, x1, y1 = _numpy(gt.bboxes)[0]
        pad = margin * max(x1 - x0, y1 - y0)
        ax.set_xlim(max(x0 - pad, 0), min(x1 + pad, image.shape[1]))
        ax.set_ylim(min(y1 + pad, image.shape[0]), max(y0 - pad, 0))


def draw_classification(ax, sample, meta):
    """The image, titled with the predicted class(es) and score(s), green
    when they are the ground truth's, red (naming the truth) when not. A
    multi-label sample predicts every class above its threshold, maybe none."""
    ax.imshow(_image(sample))
    classes = meta['classes']
    pred = [int(i) for i in _numpy(sample.pred_label).reshape(-1)]
    truth = [int(i) for i in _numpy(sample.gt_label).reshape(-1)]
    scores = _numpy(sample.pred_score)
    text = ', '.join(f'{classes[i]} {float(scores[i]):.2f}' for i in pred) or 'none'
    right = sorted(pred) == sorted(truth)
    if not right:
        text += ' (' + ', '.join(classes[i] for i in truth) + ')'
    ax.set_title(text, fontsize=7, color='green' if right else 'red')


LEGENDS = dict(
    classification='titles: predicted class and score (red: wrong, truth in brackets)',
    detection='dashed white: ground truth, coloured: predictions',
    segmentation='left: prediction, right: ground truth',
    saliency='image | ground truth | predicted saliency',
    keypoints='white rings: ground truth, dots: prediction')


def sample_kind(sample):
    """'saliency', 'segmentation', 'keypoints', 'detection' or
    'classification': what ``sample`` predicts (saliency: a one-channel
    ``seg_logits`` map)."""
    if 'pred_label' in sample:
        return 'classification'
    if 'pred_sem_seg' in sample:
        logits = sample.get('seg_logits')
        return 'saliency' if logits is not None and logits.data.shape[0] == 1 else 'segmentation'
    pred = sample.get('pred_instances', {})
    if 'keypoints' in pred:
        return 'keypoints'
    if 'bboxes' in pred:
        return 'detection'
    raise ValueError('no predictions to draw: expected pred_label, pred_sem_seg or '
                     'pred_instances with keypoints or bboxes, got fields '
                     f'{sorted(sample.keys())}')


def draw_sample(ax, sample, meta, score_thr=0.3):
    """Draw ``sample`` with the drawer of its kind (see ``sample_kind``)."""
    kind = sample_kind(sample)
    ax.set_title(sample.metainfo['img_path'].rsplit('/', 1)[-1], fontsize=7)
    if kind == 'classification':
        draw_classification(ax, sample, meta)
    elif kind == 'saliency':
        draw_saliency(ax, sample)
    elif kind == 'segmentation':
        draw_segmentation(ax, sample, meta)
    elif kind == 'keypoints':
        draw_keypoints(ax, sample, meta)
    else:
        draw_detection(ax, sample, meta, score_thr)
    ax.axis('off')


def save_grid(samples, meta, out_file, title, cols=4, score_thr=0.3):
    """Draw ``samples`` in a grid of ``cols`` columns into a PNG.

    Args:
        samples (list): Data samples with predictions (see ``draw_sample``).
        meta (dict): Dataset metainfo.
        out_file (str | Path): PNG to write.
        title (str): Figure title.
        cols (int): Columns of the grid. Default: 4.
        score_thr (float): Lowest detection score drawn. Default: 0.3.
    """
    cols = min(cols, len(samples))
    rows = math.ceil(len(samples) / cols)
    wide = dict(segmentation=2, saliency=3).get(sample_kind(samples[0]), 1)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(
        max(3 * cols * wide, 6), 3 * rows + 0.5))
    for ax in axes.flat[len(samples):]:
        ax.axis('off')
    for ax, sample in zip(axes.flat, samples):
        draw_sample(ax, sample, meta, score_thr)
    legend = LEGENDS[sample_kind(samples[0])]
    fig.suptitle(f'{title}\n{legend}', fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def save_curves(losses, evaluations, out_file, title):
    """Plot training losses and validation metrics against the iteration.

    Args:
        losses (dict[str, list]): ``iter`` and one list per loss name.
        evaluations (list[dict]): One dict per evaluation: ``iter`` and
            metric values.
        out_file (str | Path): PNG to write.
        title (str): Figure title.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    iters = np.asarray(losses.get('iter', []))
    window = max(1, len(iters) // 50)  # a moving average over ~2% of the run
    for k, (name, values) in enumerate(
            (n, v) for n, v in losses.items() if n != 'iter'):
        colour = _COLOURS[k % len(_COLOURS)]
        left.plot(iters, values, color=colour, alpha=0.2, linewidth=0.5)
        smooth = np.convolve(values, np.ones(window) / window, mode='valid')
        left.plot(iters[window - 1:], smooth, color=colour, label=name)
    left.set(xlabel='iteration', ylabel='loss', title='training losses')
    left.set_yscale('log')
    names = sorted({n for e in evaluations for n in e if n != 'iter'})
    for name in names:
        points = [(e['iter'], e[name]) for e in evaluations if name in e]
        right.plot(*zip(*points), 'o-', label=name)
    right.set(xlabel='iteration', ylabel='metric', title='validation')
    for ax in (left, right):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
