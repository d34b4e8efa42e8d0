"""The demo: hooks that plot training curves and draw predictions.

Importing this package registers ``CurvePlotHook`` and ``PredictionGridHook``
in the ``res2net_mm`` scope (``type='res2net_mm.CurvePlotHook'``). The demo
configs are in ``configs/demo/``; the walk-through is the README's "Demo"
section.
"""
from .hooks import CurvePlotHook, PredictionGridHook

__all__ = ['CurvePlotHook', 'PredictionGridHook']
