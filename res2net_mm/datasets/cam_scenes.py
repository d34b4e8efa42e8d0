"""CAM data made from the shapes: each val scene once per class it shows.

The demo classifiers learn from object crops (``crops.py``); their class
activation maps mean most on whole scenes, where a class covers a small
share of the image and a map that favours it stands out from a constant
one. This lays the val scenes out as an image classification folder, one
copy of a scene under each class present in its label map, with that
class's pixels as the mask (``tools/analysis/vis_cam.py --target-class
folder --masks ...``)::

    cam/manifest.json                     what the folders were made from
    cam/val/<class>/<stem>.jpg            the scene, byte for byte
    cam/masks/val/<class>/<stem>.png      uint8 mask (255: the label map's
                                          pixels of <class>, as painted,
                                          occlusion included)
"""
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from .synthetic import SHAPE_CLASSES, write_derived

CAM_SCENES_VERSION = 1
SPLIT = 'val'


def generate_cam_scenes(shapes):
    """Lay out the val scenes of ``shapes`` (``generate_shapes``' paths) per
    class, once: a second call with the same shapes data writes nothing
    (``write_derived``). Returns the folders: ``root``, ``val`` (the class
    folders) and ``masks_val``."""
    root = Path(shapes['root']) / 'cam'
    manifest = dict(version=CAM_SCENES_VERSION, split=SPLIT,
                    shapes=json.loads(Path(shapes['manifest']).read_text()))
    write_derived(root, manifest, lambda folder: _write_split(shapes, folder))
    return dict(root=str(root), **{SPLIT: str(root / SPLIT),
                                   f'masks_{SPLIT}': str(root / 'masks' / SPLIT)})


def _write_split(shapes, out):
    for name in SHAPE_CLASSES:
        (out / SPLIT / name).mkdir(parents=True)
        (out / 'masks' / SPLIT / name).mkdir(parents=True)
    for label_file in sorted(Path(shapes[f'segmentation_{SPLIT}']).glob('*.png')):
        image = Path(shapes[f'images_{SPLIT}']) / f'{label_file.stem}.jpg'
        for name, mask in class_masks(np.asarray(Image.open(label_file))).items():
            shutil.copyfile(image, out / SPLIT / name / image.name)
            Image.fromarray(mask).save(out / 'masks' / SPLIT / name / label_file.name)


def class_masks(label_map):
    """Class name -> uint8 mask (0/255) of each class present in a label
    map (0 background, i ``SHAPE_CLASSES[i - 1]``)."""
    return {name: np.where(label_map == i, 255, 0).astype(np.uint8)
            for i, name in enumerate(SHAPE_CLASSES, start=1) if (label_map == i).any()}
