"""CAM data made from the shapes: whole scenes with the classes they show.

Class activation maps mean most on whole scenes, where a class covers a
small share of the image and a map that favours it stands out from a
constant one. This writes, once per shapes data:

* the val scenes as an image classification folder, one copy of a scene
  under each class present in its label map, with that class's pixels as
  the mask (``tools/analysis/vis_cam.py --target-class folder --masks ...``);
* every scene's classes as multi-label annotations in mmpretrain's format
  (``MultiLabelDataset``), for the CAM demo's scene classifiers
  (``configs/demo/cam_r2n50_shapes.py``, ``type='res2net_mm.ShapeScenesDataset'``)::

    cam/manifest.json                     what the folders were made from
    cam/val/<class>/<stem>.jpg            the scene, byte for byte
    cam/masks/val/<class>/<stem>.png      uint8 mask (255: the label map's
                                          pixels of <class>, as painted,
                                          occlusion included)
    cam/labels_{train,val}.json           {"metainfo": {"classes": [...]},
                                          "data_list": [{"img_path":
                                          "images/<split>/<stem>.jpg",
                                          "gt_label": [...]}, ...]}, the
                                          classes sorted by name and paths
                                          relative to the shapes root
"""
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ..registry import DATASETS
from .synthetic import SHAPE_CLASSES, prepare_shapes, require_data_root, write_derived

CAM_SCENES_VERSION = 2
SPLIT = 'val'
LABEL_SPLITS = ('train', 'val')
# The scene classifiers' labels: sorted by name, as the crop classifiers'
# (their class folders), so that both read a CAM folder's class alike.
LABEL_CLASSES = tuple(sorted(SHAPE_CLASSES))


def generate_cam_scenes(shapes):
    """Lay out the val scenes of ``shapes`` (``generate_shapes``' paths) per
    class, once: a second call with the same shapes data writes nothing
    (``write_derived``). Returns the folders: ``root``, ``val`` (the class
    folders) and ``masks_val``."""
    root = Path(shapes['root']) / 'cam'
    manifest = dict(version=CAM_SCENES_VERSION, split=SPLIT,
                    shapes=json.loads(Path(shapes['manifest']).read_text()))

    def write(folder):
        _write_split(shapes, folder)
        for split in LABEL_SPLITS:
            _write_labels(shapes, split, folder / f'labels_{split}.json')

    write_derived(root, manifest, write)
    return dict(root=str(root), **{SPLIT: str(root / SPLIT),
                                   f'masks_{SPLIT}': str(root / 'masks' / SPLIT)},
                **{f'labels_{split}': str(root / f'labels_{split}.json')
                   for split in LABEL_SPLITS})


def _write_split(shapes, out):
    for name in SHAPE_CLASSES:
        (out / SPLIT / name).mkdir(parents=True)
        (out / 'masks' / SPLIT / name).mkdir(parents=True)
    for label_file in sorted(Path(shapes[f'segmentation_{SPLIT}']).glob('*.png')):
        image = Path(shapes[f'images_{SPLIT}']) / f'{label_file.stem}.jpg'
        for name, mask in class_masks(np.asarray(Image.open(label_file))).items():
            shutil.copyfile(image, out / SPLIT / name / image.name)
            Image.fromarray(mask).save(out / 'masks' / SPLIT / name / label_file.name)


def _write_labels(shapes, split, out):
    data_list = []
    for label_file in sorted(Path(shapes[f'segmentation_{split}']).glob('*.png')):
        names = class_masks(np.asarray(Image.open(label_file)))
        data_list.append(dict(img_path=f'images/{split}/{label_file.stem}.jpg',
                              gt_label=sorted(LABEL_CLASSES.index(name) for name in names)))
    out.write_text(json.dumps(dict(metainfo=dict(classes=list(LABEL_CLASSES)),
                                   data_list=data_list)))


def class_masks(label_map):
    """Class name -> uint8 mask (0/255) of each class present in a label
    map (0 background, i ``SHAPE_CLASSES[i - 1]``)."""
    return {name: np.where(label_map == i, 255, 0).astype(np.uint8)
            for i, name in enumerate(SHAPE_CLASSES, start=1) if (label_map == i).any()}


@DATASETS.register_module(name='ShapeScenesDataset')
def build_shape_scenes_dataset(dataset, shapes_root, num_train=200, num_val=50,
                               image_size=192, seed=0):
    """Generate the shapes data into ``shapes_root`` and its CAM data into
    ``<shapes_root>/cam`` (once), then build ``dataset``: the config type
    ``res2net_mm.ShapeScenesDataset``, for mmpretrain's ``MultiLabelDataset``
    over ``cam/labels_<split>.json``.

    Args:
        dataset (dict): Config of the dataset to return; its ``data_root``
            must be ``shapes_root`` (the annotations' image paths are
            relative to it) and its ``ann_file`` ``cam/labels_train.json``
            or ``cam/labels_val.json``.
        shapes_root (str): Folder of the shapes data.
        num_train, num_val, image_size, seed: The shapes data's parameters
            (``generate_shapes``).

    Example:
        >>> train_dataset = dict(
        ...     type='res2net_mm.ShapeScenesDataset', shapes_root='data/shapes/',
        ...     dataset=dict(type='MultiLabelDataset', data_root='data/shapes/',
        ...                  ann_file='cam/labels_train.json'))
    """
    root = Path(shapes_root).resolve()
    require_data_root('ShapeScenesDataset', dataset, root, f'shapes_root ({root})')
    names = [f'cam/labels_{split}.json' for split in LABEL_SPLITS]
    if dataset.get('ann_file') not in names:
        raise ValueError(f'res2net_mm.ShapeScenesDataset: dataset.ann_file must be one of '
                         f'{names}, got {dataset.get("ann_file")!r}')
    prepare_shapes(shapes_root, derive=generate_cam_scenes, num_train=num_train,
                   num_val=num_val, image_size=image_size, seed=seed)
    return DATASETS.build(dataset)
