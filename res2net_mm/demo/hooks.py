"""mmengine hooks of the demo: a loss/metric plot and a prediction picture.

Both work with any OpenMMLab 2.x library and write into the work dir. Use
them from a config (``res2net_mm.demo`` must be imported, which
``custom_imports`` does)::

    custom_imports = dict(imports=['res2net_mm', 'res2net_mm.demo'],
                          allow_failed_imports=False)
    custom_hooks = [dict(type='res2net_mm.CurvePlotHook'),
                    dict(type='res2net_mm.PredictionGridHook')]
"""
import json
import math
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ..registry import HOOKS
from .draw import save_curves, save_grid


def _float(value):
    """A scalar tensor, array or number as a float."""
    return float(value.item() if hasattr(value, 'item') else value)


@HOOKS.register_module()
class CurvePlotHook(Hook):
    """Plot the training losses and the validation metrics against the
    iteration into ``<work_dir>/<out_file>``, and keep the numbers in a JSON
    file beside it (same name, ``.json``).

    The picture is rewritten after every evaluation and at the end of the
    run; the history travels in checkpoints, so a resumed run keeps its
    curve.

    Args:
        out_file (str): PNG name, relative to the work dir.
            Default: 'curves.png'.
        metrics (Sequence[str] | None): Metric names to plot, e.g.
            ``('coco/bbox_mAP', )``; None plots every numeric metric.
            Default: None.
        loss_prefix (str): Logged training values whose name starts with it
            are plotted. Default: 'loss'.
    """

    priority = 'LOW'

    def __init__(self, out_file='curves.png', metrics=None,
                 loss_prefix='loss'):
        if not str(out_file).endswith('.png'):
            raise ValueError(f'out_file must end with .png, got {out_file!r}')
        self.out_file = out_file
        self.metrics = None if metrics is None else tuple(metrics)
        self.loss_prefix = loss_prefix
        self.losses = dict(iter=[])
        self.evaluations = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        """Record the losses of this iteration."""
        values = {name: _float(value)
                  for name, value in (outputs or {}).items()
                  if name.startswith(self.loss_prefix)}
        if not values:
            return
        self.losses['iter'].append(runner.iter + 1)
        for name, value in values.items():
            self.losses.setdefault(name, []).append(value)

    def after_val_epoch(self, runner, metrics=None):
        """Record the metrics of this evaluation and redraw the picture."""
        numbers = {name: _safe_float(value)
                   for name, value in (metrics or {}).items()
                   if self.metrics is None or name in self.metrics}
        wanted = {k: v for k, v in numbers.items() if v is not None}
        if wanted:
            self.evaluations.append(dict(iter=runner.iter, **wanted))
        self._save(runner)

    def after_run(self, runner):
        """Draw the final picture and say where it is."""
        path = self._save(runner)
        if path:
            runner.logger.info(f'loss and metric curves: {path} '
                               f'(numbers: {path[:-4]}.json)')

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['curve_plot_hook'] = dict(losses=self.losses,
                                             evaluations=self.evaluations)

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('curve_plot_hook')
        if state:
            self.losses, self.evaluations = (state['losses'],
                                             state['evaluations'])

    def _save(self, runner):
        """Write the PNG and the JSON (main process only); return the PNG
        path, or None if nothing was written."""
        if not is_main_process() or not (self.losses['iter']
                                         or self.evaluations):
            return None
        path = osp.join(runner.work_dir, self.out_file)
        with open(path[:-4] + '.json', 'w') as f:
            json.dump(dict(losses=self.losses, evaluations=self.evaluations),
                      f)
        save_curves(self.losses, self.evaluations, path,
                    title=f'{runner.experiment_name}')
        return path


def _safe_float(value):
    """``value`` as a float, or None when it is not a finite scalar."""
    try:
        number = _float(value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if math.isfinite(number) else None


@HOOKS.register_module()
class PredictionGridHook(Hook):
    """Draw the predictions on the first validation (or test) samples next
    to their ground truth, as a grid, into ``<work_dir>/<out_file>``.

    It reuses the outputs of the evaluation loop (no extra inference), so it
    redraws the picture after every evaluation; the last one stays.

    Args:
        out_file (str): PNG name, relative to the work dir.
            Default: 'predictions.png'.
        num_images (int): Samples drawn, >= 1. Default: 8.
        cols (int): Columns of the grid, >= 1. Default: 4.
        score_thr (float): Lowest detection score drawn. Default: 0.3.
        metric (str | None): Metric named in the title; None: the first
            one the evaluator returns. Default: None.
    """

    priority = 'LOW'

    def __init__(self, out_file='predictions.png', num_images=8, cols=4,
                 score_thr=0.3, metric=None):
        if not str(out_file).endswith('.png'):
            raise ValueError(f'out_file must end with .png, got {out_file!r}')
        for name, value in (('num_images', num_images), ('cols', cols)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be an int >= 1, got {value!r}')
        self.out_file, self.num_images, self.cols = out_file, num_images, cols
        self.score_thr, self.metric = score_thr, metric
        self.samples, self.path = [], None

    def before_val_epoch(self, runner):
        self.samples = []

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        """Keep the first ``num_images`` samples with their predictions."""
        missing = self.num_images - len(self.samples)
        self.samples += [sample.cpu() for sample in (outputs or [])[:missing]]

    def after_val_epoch(self, runner, metrics=None):
        self._save(runner, runner.val_loop, metrics, f'iteration {runner.iter}')

    before_test_epoch = before_val_epoch
    after_test_iter = after_val_iter

    def after_test_epoch(self, runner, metrics=None):
        self._save(runner, runner.test_loop, metrics, 'test')  # runner.iter is 0 there

    def after_run(self, runner):
        if self.path:
            runner.logger.info(f'predictions vs ground truth: {self.path}')

    def _save(self, runner, loop, metrics, stage):
        """Draw the kept samples; the title names the stage (the training
        iteration, or 'test') and the first metric."""
        if not is_main_process() or not self.samples:
            return
        metrics = metrics or {}
        name = self.metric or next(iter(metrics), None)
        score = (f', {name} {_float(metrics[name]):.3f}'
                 if name in metrics else '')
        title = f'{runner.experiment_name}: {stage}{score}'
        meta = loop.dataloader.dataset.metainfo
        self.path = osp.join(runner.work_dir, self.out_file)
        save_grid(self.samples, meta, self.path, title, cols=self.cols,
                  score_thr=self.score_thr)
        self.samples = []
