"""Lay out the demo's val scenes once per class they show, with that class's
masks, for the CAM tool (``res2net_mm/datasets/cam_scenes.py``). Generates
the shapes data first where it is missing, with the demo configs'
parameters (``configs/demo/_base_/shapes.py``); a second run does nothing.

    python tools/analysis/cam_scenes.py
    python tools/analysis/vis_cam.py data/shapes/cam/val \
        --masks data/shapes/cam/masks/val --target-class folder --model ...
"""
import argparse
from pathlib import Path

from mmengine.config import Config

from res2net_mm.datasets.cam_scenes import generate_cam_scenes
from res2net_mm.datasets.synthetic import prepare_shapes

REPO = Path(__file__).resolve().parents[2]
SHAPES_CONFIG = REPO / 'configs' / 'demo' / '_base_' / 'shapes.py'


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.split('\n')[0]).parse_args(argv)
    shapes = Config.fromfile(SHAPES_CONFIG)
    root = REPO / shapes.shapes_root  # relative to the repository, as in the configs
    paths = generate_cam_scenes(prepare_shapes(root, **shapes.shapes_data))
    for key in ('val', 'masks_val'):
        print(f'{key}: {paths[key]}')
    return paths


if __name__ == '__main__':
    main()
