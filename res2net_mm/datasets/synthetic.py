"""Deterministic synthetic "shapes" data: the project's built-in demo dataset.

Detection, instance segmentation, keypoints and semantic segmentation made
from a seed alone, so configs train and evaluate on CPU in minutes with no
download. Same parameters, same bytes (same machine and library versions).

Layout under ``root``::

    manifest.json                           generator version and parameters
    images/{train,val}/<stem>.jpg           RGB, JPEG quality 95, 4:4:4
    annotations/instances_{train,val}.json  COCO boxes + polygons, category
                                            ids 1..K in SHAPE_CLASSES order
    annotations/keypoints_{train,val}.json  COCO keypoints of KEYPOINT_CLASS
    segmentation/{train,val}/<stem>.png     uint8 label maps (mode 'L'), 0 is
                                            background, i is SHAPE_CLASSES[i-1]
    splits/{train,val}.txt                  image stems, one per line

Conventions: objects lie fully inside the image; annotation ids follow the
painting order (a later object of an image is drawn over earlier ones);
polygons, ``area`` and ``bbox`` are amodal (the whole shape), and boxes
overlap little (an intersection is at most 30% of the smaller box); pixel
(row i, column j) spans [j, j+1) x [i, i+1). The keypoint files hold one
category with id 1, since mmpose's CocoMetric writes ``category_id=1``, and
reuse the image and annotation ids of the instance files; a tip covered by a
later object has visibility 1, otherwise 2.

Configs wrap a dataset of any library in ``type='res2net_mm.ShapesDataset'``
(``build_shapes_dataset``), which generates the data on first use; the
drawing itself is in ``_draw.py``.
"""
import json
import numbers
import os
import shutil
from pathlib import Path

import numpy as np
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log
from PIL import Image

from ..registry import DATASETS
from .render import SHAPES, STAR_TIPS, render
from .shapes_keypoint_metainfo import dataset_info as _POSE_INFO

GENERATOR_VERSION = 1
SHAPE_CLASSES = SHAPES  # category id / label i + 1 is SHAPE_CLASSES[i]
KEYPOINT_CLASS = 'star'
# mmpose metainfo of KEYPOINT_CLASS: ``metainfo=dict(from_file=...)``.
KEYPOINT_METAINFO_FILE = str(Path(__file__).with_name(
    'shapes_keypoint_metainfo.py'))
KEYPOINT_NAMES = tuple(
    kp['name'] for _, kp in sorted(_POSE_INFO['keypoint_info'].items()))
# Pairs of indices into KEYPOINT_NAMES (0-based; the COCO files are 1-based).
SKELETON = tuple(
    tuple(KEYPOINT_NAMES.index(name) for name in limb['link'])
    for _, limb in sorted(_POSE_INFO['skeleton_info'].items()))
SEG_CLASSES = ('background', ) + SHAPE_CLASSES
SEG_PALETTE = ((0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25),
               (0, 130, 200), (245, 130, 48))

_SPLITS = ('train', 'val')
_LAYOUT = dict(images='images/{}', segmentation='segmentation/{}',
               instances='annotations/instances_{}.json',
               keypoints='annotations/keypoints_{}.json',
               split='splits/{}.txt')
_JPEG = dict(quality=95, subsampling=0)
_TIP_ORDER = [STAR_TIPS.index(name) for name in KEYPOINT_NAMES]


def generate_shapes(root, num_train=200, num_val=50, image_size=192, seed=0):
    """Generate the shapes dataset into ``root`` once; return its paths.

    Idempotent: with the same parameters a matching ``manifest.json`` makes
    it return without touching any file. Other parameters regenerate ``root``
    from scratch; a non-empty ``root`` without a manifest raises
    ``FileExistsError``. Files are staged in a sibling folder and moved into
    place at the end. Distributed jobs should call it from one process.

    Args:
        root (str | Path): Output folder.
        num_train (int): Training images, >= 1. Default: 200.
        num_val (int): Validation images, >= 1. Default: 50.
        image_size (int): Side of the square images in px, 64 to 2048.
            Default: 192.
        seed (int): Seed >= 0; image i of a split depends only on
            (seed, split, i). Default: 0.

    Returns:
        dict[str, str]: Absolute paths of ``root``, ``manifest`` and of each
        ``<kind>_<split>``: images, segmentation (folders), split (stem
        list), instances, keypoints (COCO json) of train and val.
    """
    params = dict(num_train=_checked('num_train', num_train, 1, 10**7),
                  num_val=_checked('num_val', num_val, 1, 10**7),
                  image_size=_checked('image_size', image_size, 64, 2048),
                  seed=_checked('seed', seed, 0, 2**63 - 1))
    manifest = dict(version=GENERATOR_VERSION, params=params)
    root = Path(root).resolve()
    paths = _layout(root)
    if _is_generated(paths, manifest):
        return paths

    def write(folder):
        staged = _layout(folder)
        for split in _SPLITS:
            coco = _write_split(staged, split, params[f'num_{split}'],
                                params['image_size'], params['seed'])
            _write_coco(staged, split, *coco)

    _replace(root, manifest, write, foreign_ok=False)
    return paths


def _checked(name, value, low, high):
    """Return ``value`` as an int in [low, high] or raise ValueError."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not low <= value <= high):
        raise ValueError(f'{name} must be an int in [{low}, {high}], got '
                         f'{value!r}')
    return int(value)


def _layout(root):
    """Absolute paths of the dataset under ``root``, as documented above."""
    paths = dict(root=root, manifest=root / 'manifest.json')
    paths.update({f'{kind}_{split}': root / pattern.format(split)
                  for kind, pattern in _LAYOUT.items() for split in _SPLITS})
    return {key: str(path) for key, path in paths.items()}


def _is_generated(paths, manifest):
    """Whether ``paths`` hold a complete dataset made with ``manifest``."""
    return (_read_manifest(Path(paths['root'])) == manifest
            and all(map(os.path.exists, paths.values())))


def _write_split(paths, split, num_images, size, seed):
    """Render a split's images, label maps and stem list into ``paths``;
    return its COCO images, instance annotations and keypoint annotations."""
    image_dir, map_dir, stem_file, coco_file = (
        Path(paths[f'{kind}_{split}'])
        for kind in ('images', 'segmentation', 'split', 'instances'))
    for folder in (image_dir, map_dir, stem_file.parent, coco_file.parent):
        folder.mkdir(parents=True, exist_ok=True)
    images, instances, keypoints = [], [], []
    for index in range(num_images):
        rng = np.random.default_rng([seed, _SPLITS.index(split), index])
        rgb, label_map, objects = render(rng, size, SHAPE_CLASSES)
        stem = f'{index + 1:06d}'
        Image.fromarray(rgb).save(image_dir / f'{stem}.jpg', **_JPEG)
        Image.fromarray(label_map).save(map_dir / f'{stem}.png')
        images.append(dict(id=index + 1, file_name=f'{stem}.jpg', width=size,
                           height=size))
        for k, obj in enumerate(objects):
            ann, kp_ann = _annotations(obj, objects[k + 1:],
                                       len(instances) + 1, index + 1)
            instances.append(ann)
            keypoints += [kp_ann] if kp_ann else []
    stem_file.write_text(''.join(image['file_name'][:-4] + '\n'
                                 for image in images))
    return images, instances, keypoints


def _write_coco(paths, split, images, instances, keypoints):
    """Write a split's instances_<split>.json and keypoints_<split>.json."""
    categories = [dict(id=i + 1, name=name, supercategory='shape')
                  for i, name in enumerate(SHAPE_CLASSES)]
    kp_category = dict(id=1, name=KEYPOINT_CLASS, supercategory='shape',
                       keypoints=list(KEYPOINT_NAMES),
                       skeleton=[[a + 1, b + 1] for a, b in SKELETON])
    info = dict(description='res2net_mm synthetic shapes',
                version=str(GENERATOR_VERSION))
    for kind, anns, cats in (('instances', instances, categories),
                             ('keypoints', keypoints, [kp_category])):
        coco = dict(info=info, licenses=[], images=images, annotations=anns,
                    categories=cats)
        Path(paths[f'{kind}_{split}']).write_text(json.dumps(coco))


def _annotations(obj, occluders, ann_id, image_id):
    """COCO instance annotation of ``obj`` and its keypoint one (or None)."""
    polygon = np.round(obj['polygon'], 2)
    (x0, y0), (x1, y1) = polygon.min(0), polygon.max(0)
    x, y = polygon.T
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    bbox = np.round([x0, y0, x1 - x0, y1 - y0], 2).tolist()
    ann = dict(id=ann_id, image_id=image_id, category_id=obj['label'],
               bbox=bbox, area=round(float(area), 2),
               segmentation=[polygon.ravel().tolist()], iscrowd=0)
    if obj['keypoints'] is None:
        return ann, None
    flat = []
    for kx, ky in np.round(obj['keypoints'][_TIP_ORDER], 2).tolist():
        hidden = any(o['alpha'][int(ky), int(kx)] >= 0.5 for o in occluders)
        flat += [kx, ky, 1 if hidden else 2]
    return ann, dict(ann, category_id=1, keypoints=flat,
                     num_keypoints=len(KEYPOINT_NAMES))


@DATASETS.register_module(name='ShapesDataset')
def build_shapes_dataset(dataset, num_train=200, num_val=50, image_size=192,
                         seed=0):
    """Generate the shapes data under ``dataset['data_root']`` (once), then
    build ``dataset``: the config type ``res2net_mm.ShapesDataset``.

    It wraps a dataset config of any OpenMMLab library, so that a config
    trains on the shapes data on a fresh machine with nothing prepared. The
    inner ``type`` resolves in the current default scope (``CocoDataset`` is
    mmdet's in an mmdet config, mmpose's in an mmpose one). In a distributed
    job the main process generates, the others wait.

    Args:
        dataset (dict): Config of the dataset to return, with ``data_root``.
        num_train (int): Training images. Default: 200.
        num_val (int): Validation images. Default: 50.
        image_size (int): Side of the square images in px. Default: 192.
        seed (int): Seed of the data. Default: 0.

    Returns:
        The dataset built from ``dataset``.

    Example:
        >>> train_dataset = dict(
        ...     type='res2net_mm.ShapesDataset', num_train=200,
        ...     dataset=dict(type='CocoDataset', data_root='data/shapes/',
        ...                  ann_file='annotations/instances_train.json',
        ...                  data_prefix=dict(img='images/train/')))
    """
    if 'data_root' not in dataset:
        raise KeyError('res2net_mm.ShapesDataset needs dataset.data_root, '
                       'the folder to generate the shapes data into')
    prepare_shapes(dataset['data_root'], num_train=num_train, num_val=num_val,
                   image_size=image_size, seed=seed)
    return DATASETS.build(dataset)


def prepare_shapes(root, derive=None, **params):
    """``generate_shapes(root, **params)`` in the main process (logged when
    it generates), then ``derive(paths)`` there if given; the other
    processes of a distributed job wait. Returns the paths on every rank."""
    paths = _layout(Path(root).resolve())
    if is_main_process():
        if not _is_generated(paths, dict(version=GENERATOR_VERSION, params=params)):
            print_log(f'generating the shapes data {params} into {root} '
                      '(once)', logger='current')
        generate_shapes(root, **params)
        if derive is not None:
            derive(paths)
    barrier()
    return paths


def write_derived(root, manifest, write):
    """Write a folder made from the shapes data once (crops, CAM scenes).

    Idempotent: where ``root/manifest.json`` equals ``manifest`` it returns
    at once; else ``write(folder)`` fills a staging folder beside ``root``,
    the manifest is added, and the folder replaces ``root``.

    Args:
        root (Path): The folder.
        manifest (dict): What it is made from (JSON-serialisable).
        write (callable): Writes the content into the folder it is given.
    """
    if _read_manifest(root) != manifest:
        _replace(root, manifest, write, foreign_ok=True)


def _replace(root, manifest, write, foreign_ok):
    """Make ``root`` anew: ``write(folder)`` fills a staging folder beside it
    (named with the process id, so that processes never share one), the
    manifest is added, and the folder replaces ``root`` at the end, so that
    a crash leaves the old folder or none. Where another process has made
    ``root`` with the same manifest meanwhile, its folder stays and the
    staging folder is removed.

    Raises:
        FileExistsError: If ``foreign_ok`` is False and ``root`` is a
            non-empty folder without a manifest.json (not ours to delete).
    """
    if (not foreign_ok and root.is_dir() and any(root.iterdir())
            and not root.joinpath('manifest.json').is_file()):
        raise FileExistsError(
            f'{root} is not empty and has no manifest.json of the shapes '
            'generator: refusing to overwrite it; pass a new or empty folder')
    staging = root.with_name(f'.{root.name}.partial-{os.getpid()}')
    shutil.rmtree(staging, ignore_errors=True)
    write(staging)
    (staging / 'manifest.json').write_text(json.dumps(manifest))
    if _read_manifest(root) == manifest:
        # Another process (a second demo started at the same time) finished
        # the same folder meanwhile and may be reading it: keep that one.
        shutil.rmtree(staging)
        return
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)


def require_data_root(type_name, dataset, expected, described):
    """Check that the wrapped ``dataset`` config of a generating dataset
    type reads from ``expected`` (a resolved Path), the folder it writes.

    Raises:
        ValueError: Naming ``type_name``, the expected folder
            (``described``) and the value found.
    """
    if Path(dataset.get('data_root', '')).resolve() != expected:
        raise ValueError(f'res2net_mm.{type_name}: dataset.data_root must be {described}, '
                         f'got {dataset.get("data_root")!r}')


def _read_manifest(root):
    """``root/manifest.json`` as a dict, or None where it cannot be read."""
    try:
        return json.loads((root / 'manifest.json').read_text())
    except (OSError, ValueError):
        return None
