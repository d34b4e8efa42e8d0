"""Analysis of trained models: class activation maps (``cam``), the inputs
and pictures of ``tools/analysis/vis_cam.py`` (``inputs``, ``grid``).
Imported on demand (``grad-cam``, matplotlib), not by ``import res2net_mm``."""
