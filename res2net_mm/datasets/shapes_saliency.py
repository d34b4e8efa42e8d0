"""Saliency masks for the synthetic shapes: the largest shape is salient.

``make_shapes_saliency`` adds, beside the files of ``generate_shapes``::

    saliency/{train,val}/<stem>.png   uint8 mask (mode 'L'): 255 where the
                                      largest shape of the image shows, else 0
    saliency/splits/{train,val}.txt   the stems of the images with one salient
                                      object (below)
    saliency/manifest.json            {"shapes": the shapes manifest they
                                      were made from, "dominance": DOMINANCE}

"Largest" is by the (amodal) polygon area of the COCO annotations; the
mask is where the label map shows that shape: pixels whose centre lies in
its polygon and whose label is its class (so a later shape drawn over it
is not salient). ``type='res2net_mm.ShapesSaliencyDataset'`` makes the
shapes and the masks on first use, then builds the wrapped dataset.

An image has **one salient object** when its largest shape shows at least
``DOMINANCE`` times the pixels of every other shape. Where a second shape is
nearly as large, "the largest is salient" is a coin toss that no model can
learn. MSRA-B, the DSS training set, was chosen the same way: the images
whose labellers agreed on one salient object (Liu et al., "Learning to
Detect a Salient Object", CVPR 2007). The list files hold those images
(about two thirds at 2x); the demo trains and scores on them.
"""
import json
from pathlib import Path

import numpy as np
from matplotlib.path import Path as PolygonPath
from mmengine.dist import barrier, is_main_process
from PIL import Image

from ..registry import DATASETS
from .synthetic import build_shapes_dataset, generate_shapes, write_derived

SPLITS = ('train', 'val')
DOMINANCE = 2.0


def polygon_mask(polygons, height, width):
    """Boolean (height, width) mask of the pixels whose centre lies inside
    any of the COCO polygons (flat [x0, y0, x1, y1, ...] lists)."""
    ys, xs = np.mgrid[:height, :width]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    inside = np.zeros(height * width, bool)
    for polygon in polygons:
        inside |= PolygonPath(np.reshape(polygon, (-1, 2))).contains_points(centres)
    return inside.reshape(height, width)


def visible_mask(annotation, label_map):
    """The mask (bool) of the pixels where the label map shows one
    annotation's shape: centre in its polygon, label its class."""
    inside = polygon_mask(annotation['segmentation'], *label_map.shape)
    return inside & (label_map == annotation['category_id'])


def salient_mask(annotations, label_map):
    """The mask (bool) of the largest of one image's annotations where the
    label map shows it; all False when the image has none."""
    if not annotations:
        return np.zeros(label_map.shape, bool)
    return visible_mask(max(annotations, key=lambda ann: ann['area']), label_map)


def has_one_salient_object(annotations, label_map, dominance=DOMINANCE):
    """Whether the salient mask of an image (its largest shape's visible
    pixels) is not empty and holds at least ``dominance`` times the visible
    pixels of each other shape."""
    counts = [int(visible_mask(ann, label_map).sum()) for ann in annotations]
    if not counts:
        return False
    salient = counts.pop(max(range(len(counts)), key=lambda i: annotations[i]['area']))
    return salient > 0 and all(salient >= dominance * count for count in counts)


def make_shapes_saliency(shapes):
    """Write the saliency masks of a shapes dataset once (see the module
    docstring); return the mask folders.

    Args:
        shapes (dict): Paths returned by ``generate_shapes``.

    Returns:
        dict[str, str]: ``saliency_train`` and ``saliency_val`` folders.
    """
    out = Path(shapes['root']) / 'saliency'
    folders = {f'saliency_{split}': str(out / split) for split in SPLITS}
    manifest = dict(shapes=json.loads(Path(shapes['manifest']).read_text()),
                    dominance=DOMINANCE)

    def write(folder):
        (folder / 'splits').mkdir(parents=True)
        for split in SPLITS:
            _write_split(shapes, split, folder / split, folder / 'splits' / f'{split}.txt')

    write_derived(out, manifest, write)
    return folders


def _write_split(shapes, split, folder, list_file):
    """Write the saliency masks of one split into ``folder``, and the stems
    of its images with one salient object into ``list_file``."""
    coco = json.loads(Path(shapes[f'instances_{split}']).read_text())
    per_image = {image['id']: [] for image in coco['images']}
    for ann in coco['annotations']:
        per_image[ann['image_id']].append(ann)
    folder.mkdir(parents=True)
    one_object = []
    for image in coco['images']:
        stem = Path(image['file_name']).stem
        label_map = np.asarray(Image.open(Path(shapes[f'segmentation_{split}']) / f'{stem}.png'))
        mask = salient_mask(per_image[image['id']], label_map)
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f'{stem}.png')
        if has_one_salient_object(per_image[image['id']], label_map):
            one_object.append(stem)
    list_file.write_text(''.join(f'{stem}\n' for stem in one_object))


@DATASETS.register_module(name='ShapesSaliencyDataset')
def build_shapes_saliency_dataset(dataset, num_train=200, num_val=50, image_size=192, seed=0):
    """Generate the shapes data and their saliency masks under
    ``dataset['data_root']`` (once), then build ``dataset``: the config type
    ``res2net_mm.ShapesSaliencyDataset``. In a distributed job the main
    process generates, the others wait.

    Args:
        dataset (dict): Config of the dataset to return, with ``data_root``
            (masks in ``saliency/<split>``, images in ``images/<split>``,
            stems in ``splits/<split>.txt``, those of the images with one
            salient object in ``saliency/splits/<split>.txt``).
        num_train (int): Training images. Default: 200.
        num_val (int): Validation images. Default: 50.
        image_size (int): Side of the square images in px. Default: 192.
        seed (int): Seed of the data. Default: 0.
    """
    if 'data_root' not in dataset:
        raise KeyError('res2net_mm.ShapesSaliencyDataset needs dataset.data_root, '
                       'the folder to generate the shapes data into')
    params = dict(num_train=num_train, num_val=num_val, image_size=image_size, seed=seed)
    if is_main_process():
        make_shapes_saliency(generate_shapes(dataset['data_root'], **params))
    barrier()
    return build_shapes_dataset(dataset, **params)
