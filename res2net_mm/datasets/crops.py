"""Classification data made from the shapes: one square crop per object.

Each object of the detection data (``synthetic.py``) becomes an image of its
class, in the ImageNet folder layout that mmpretrain's ``CustomDataset``
reads, with the object's visible mask beside it (for CAM scoring)::

    crops/manifest.json                       what the crops were made from
    crops/{train,val}/<class>/<stem>_<id>.png RGB crop, CROP_SIZE x CROP_SIZE
    crops/masks/{train,val}/<class>/<stem>_<id>.png
                                              uint8 mask (255: the object's
                                              visible pixels)

The crop is the square around the object's box, ``MARGIN`` times its longer
side (at least ``MIN_SIDE`` px), moved inside the image and resized; other
objects may show at its border, as context does in real photos.
"""
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..registry import DATASETS
from .synthetic import SHAPE_CLASSES, prepare_shapes, require_data_root, write_derived

CROPS_VERSION = 1
CROP_SIZE = 64
MARGIN = 1.3
MIN_SIDE = 32
SPLITS = ('train', 'val')


def generate_shape_crops(shapes):
    """Cut the crops of the shapes data once; return their folders.

    Idempotent: a manifest naming the shapes data's own manifest makes a
    second call return at once; anything else is rebuilt in a staging folder
    and moved into place.

    Args:
        shapes (dict): Paths returned by ``generate_shapes``.

    Returns:
        dict[str, str]: ``root`` and, per split, ``<split>`` (the class
        folders) and ``masks_<split>``.
    """
    root = Path(shapes['root']) / 'crops'
    paths = dict(root=str(root))
    for split in SPLITS:
        paths[split] = str(root / split)
        paths[f'masks_{split}'] = str(root / 'masks' / split)
    manifest = dict(version=CROPS_VERSION, size=CROP_SIZE, margin=MARGIN,
                    shapes=json.loads(Path(shapes['manifest']).read_text()))

    def write(folder):
        for split in SPLITS:
            _write_split(shapes, split, folder)

    write_derived(root, manifest, write)
    return paths


def _write_split(shapes, split, out):
    coco = json.loads(Path(shapes[f'instances_{split}']).read_text())
    by_image = {image['id']: [] for image in coco['images']}
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    for name in SHAPE_CLASSES:
        (out / split / name).mkdir(parents=True)
        (out / 'masks' / split / name).mkdir(parents=True)
    for image in coco['images']:
        rgb = Image.open(Path(shapes[f'images_{split}']) / image['file_name']).convert('RGB')
        anns = sorted(by_image[image['id']], key=lambda a: a['id'])  # painting order
        for k, ann in enumerate(anns):
            mask = visible_mask(ann, anns[k + 1:], rgb.size)
            box = crop_box(ann['bbox'], rgb.size)
            name = SHAPE_CLASSES[ann['category_id'] - 1]
            file = f'{Path(image["file_name"]).stem}_{ann["id"]}.png'
            size = (CROP_SIZE, CROP_SIZE)
            rgb.crop(box).resize(size, Image.BILINEAR).save(out / split / name / file)
            Image.fromarray(mask).crop(box).resize(size, Image.NEAREST).save(
                out / 'masks' / split / name / file)


def _polygon_mask(ann, size):
    canvas = Image.new('L', size, 0)
    for polygon in ann['segmentation']:
        ImageDraw.Draw(canvas).polygon([tuple(p) for p in np.reshape(polygon, (-1, 2))],
                                       fill=255)
    return np.asarray(canvas)


def visible_mask(ann, later, size):
    """uint8 mask (0/255) of ``ann``'s pixels that no later-painted object
    (``later``) covers; ``size`` is the image's (width, height)."""
    mask = _polygon_mask(ann, size).copy()
    for other in later:
        mask[_polygon_mask(other, size) > 0] = 0
    return mask


def crop_box(bbox, size):
    """(left, top, right, bottom) of the square crop of a COCO ``bbox``
    inside an image of ``size`` (width, height)."""
    x, y, w, h = bbox
    side = min(max(MARGIN * max(w, h), MIN_SIDE), *size)
    left = min(max(x + w / 2 - side / 2, 0), size[0] - side)
    top = min(max(y + h / 2 - side / 2, 0), size[1] - side)
    return tuple(int(round(v)) for v in (left, top, left + side, top + side))


@DATASETS.register_module(name='ShapeCropsDataset')
def build_shape_crops_dataset(dataset, shapes_root, num_train=200, num_val=50,
                              image_size=192, seed=0):
    """Generate the shapes data into ``shapes_root`` and its crops into
    ``<shapes_root>/crops`` (once), then build ``dataset``: the config type
    ``res2net_mm.ShapeCropsDataset``, for mmpretrain's ``CustomDataset``.

    Args:
        dataset (dict): Config of the dataset to return; its ``data_root``
            must be ``<shapes_root>/crops``.
        shapes_root (str): Folder of the shapes data.
        num_train, num_val, image_size, seed: The shapes data's parameters
            (``generate_shapes``).

    Example:
        >>> train_dataset = dict(
        ...     type='res2net_mm.ShapeCropsDataset', shapes_root='data/shapes/',
        ...     dataset=dict(type='CustomDataset', data_root='data/shapes/crops/',
        ...                  data_prefix='train', with_label=True))
    """
    crops_root = Path(shapes_root).resolve() / 'crops'
    require_data_root('ShapeCropsDataset', dataset, crops_root,
                      f'{crops_root} (the crops of shapes_root)')
    prepare_shapes(shapes_root, derive=generate_shape_crops, num_train=num_train,
                   num_val=num_val, image_size=image_size, seed=seed)
    return DATASETS.build(dataset)
