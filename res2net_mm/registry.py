"""Registries of the ``res2net_mm`` scope, children of mmengine's roots.

``type='res2net_mm.Res2Net'`` resolves here from any OpenMMLab library: mmengine
imports ``res2net_mm.registry`` for the scope and, through ``locations``, the
modules that register into it.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='res2net_mm',
                  locations=['res2net_mm.models', 'res2net_mm.models.heads.dss_head'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='res2net_mm',
                    locations=['res2net_mm.datasets', 'res2net_mm.datasets.saliency',
                               'res2net_mm.datasets.shapes_saliency'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS,
                      scope='res2net_mm',
                      locations=['res2net_mm.datasets', 'res2net_mm.datasets.saliency'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='res2net_mm',
                   locations=['res2net_mm.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope='res2net_mm',
                     locations=['res2net_mm.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='res2net_mm',
                 locations=['res2net_mm.engine.hooks'])
