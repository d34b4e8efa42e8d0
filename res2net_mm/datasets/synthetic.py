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
"""
import colorsys
import json
import numbers
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .shapes_keypoint_metainfo import dataset_info as _POSE_INFO

GENERATOR_VERSION = 1
SHAPE_CLASSES = ('circle', 'square', 'triangle', 'star', 'cross')
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
_RADIUS_RANGE = (0.06, 0.4)  # of the image size: 23 to 154 px wide at 192
_MAX_OBJECTS = 4
_MAX_OVERLAP = 0.3
_MARGIN = 2.0  # px between a shape and the image border
_MIN_CONTRAST = 80.0  # RGB distance between an object and what is under it
_SUPERSAMPLE = 4  # anti-aliasing of the drawn shapes
_JPEG = dict(quality=95, subsampling=0)
# Tips of the star in drawing order (clockwise from the top, y pointing down).
_STAR_TIPS = ('top', 'right', 'bottom_right', 'bottom_left', 'left')


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
    if (root.is_dir() and any(root.iterdir())
            and not root.joinpath('manifest.json').is_file()):
        raise FileExistsError(
            f'{root} is not empty and has no manifest.json of the shapes '
            'generator: refusing to overwrite it; pass a new or empty folder')
    staging = root.with_name(f'.{root.name}.partial-{os.getpid()}')
    shutil.rmtree(staging, ignore_errors=True)
    staged = _layout(staging)
    for split in _SPLITS:
        coco = _write_split(staged, split, params[f'num_{split}'],
                            params['image_size'], params['seed'])
        _write_coco(staged, split, *coco)
    Path(staged['manifest']).write_text(json.dumps(manifest))
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
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
    try:
        found = json.loads(Path(paths['manifest']).read_text())
    except (OSError, ValueError):
        return False
    return found == manifest and all(map(os.path.exists, paths.values()))


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
        rgb, label_map, objects = _render(rng, size)
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
    for kx, ky in np.round(obj['keypoints'], 2).tolist():
        hidden = any(o['alpha'][int(ky), int(kx)] >= 0.5 for o in occluders)
        flat += [kx, ky, 1 if hidden else 2]
    return ann, dict(ann, category_id=1, keypoints=flat,
                     num_keypoints=len(KEYPOINT_NAMES))


def _render(rng, size):
    """Draw one image: RGB uint8 (H, W, 3), label map (H, W), objects."""
    image = _background(rng, size)
    label_map = np.zeros((size, size), np.uint8)
    objects = []
    for _ in range(rng.integers(1, _MAX_OBJECTS + 1)):
        label = int(rng.integers(len(SHAPE_CLASSES))) + 1
        placed = _place(rng, SHAPE_CLASSES[label - 1], size,
                        [obj['box'] for obj in objects])
        if placed is None:  # no room left; the first object always fits
            continue
        polygon, keypoints, box = placed
        alpha = _coverage(polygon, size)
        colour = _object_colour(rng, image, box)
        shading = 1 + rng.uniform(0, 0.4) * _ramp(rng, size, box)
        image += alpha[..., None] * (colour * shading[..., None] - image)
        label_map[alpha >= 0.5] = label
        objects.append(dict(label=label, polygon=polygon, box=box,
                            keypoints=keypoints, alpha=alpha))
    image += rng.normal(0, rng.uniform(2, 8), image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8), label_map, objects


def _background(rng, size):
    """Low-saturation gradient, blotchy texture and thin lines, float RGB."""
    start, end = (255 * np.array(colorsys.hsv_to_rgb(*hsv))
                  for hsv in rng.uniform([0, 0, 0.3], [1, 0.25, 0.85], (2, 3)))
    t = _ramp(rng, size, np.array([0, 0, size, size]))[..., None] + 0.5
    blotches = Image.fromarray(rng.integers(0, 256, (8, 8, 3), np.uint8))
    blotches = np.asarray(blotches.resize((size, size), Image.BICUBIC))
    image = start + (end - start) * t + rng.uniform(0.1, 0.3) * (
        blotches - 127.5)
    canvas = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    for _ in range(rng.integers(0, 4)):
        ends = [tuple(p) for p in rng.uniform(0, size, (2, 2)).tolist()]
        ImageDraw.Draw(canvas).line(
            ends, fill=tuple(rng.integers(0, 256, 3).tolist()))
    return np.array(canvas, np.float64)


def _ramp(rng, size, box):
    """Linear ramp over the image in a random direction, from about -0.5 to
    0.5 across ``box`` (x0, y0, x1, y1)."""
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    centre, extent = (box[:2] + box[2:]) / 2, np.hypot(*(box[2:] - box[:2]))
    return ((xs - centre[0]) * np.cos(angle) +
            (ys - centre[1]) * np.sin(angle)) / extent


def _object_colour(rng, image, box):
    """A saturated RGB colour that stands out from the image under ``box``:
    the first of 20 candidates far enough from it, else the farthest."""
    x0, y0, x1, y1 = box.astype(int)
    under = image[y0:y1 + 1, x0:x1 + 1].reshape(-1, 3).mean(0)
    hsv = rng.uniform([0, 0.45, 0.35], 1, (20, 3))
    candidates = 255 * np.array([colorsys.hsv_to_rgb(*c) for c in hsv])
    distance = np.linalg.norm(candidates - under, axis=1)
    far = distance >= _MIN_CONTRAST
    return candidates[far.argmax() if far.any() else distance.argmax()]


def _place(rng, name, size, boxes):
    """Sample a shape inside the image overlapping ``boxes`` little: its
    polygon, keypoints (or None) and box, or None if 30 tries found no room."""
    low, high = np.log(_RADIUS_RANGE)
    for _ in range(30):
        radius = size * np.exp(rng.uniform(low, high))
        polygon, keypoints = _shape(rng, name, radius)
        lo, hi = polygon.min(0), polygon.max(0)
        shift = rng.uniform(_MARGIN - lo, size - _MARGIN - hi)
        box = np.concatenate([lo + shift, hi + shift])
        if all(_overlap(box, other) <= _MAX_OVERLAP for other in boxes):
            if keypoints is not None:
                keypoints = keypoints + shift
            return polygon + shift, keypoints, box
    return None


def _overlap(a, b):
    """Intersection of boxes ``a`` and ``b`` over the smaller one's area."""
    wh = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)
    return wh.prod() / min(np.prod(a[2:] - a[:2]), np.prod(b[2:] - b[:2]))


def _shape(rng, name, radius):
    """Polygon (N, 2) of a shape centred on the origin, and its keypoints
    (K, 2) in KEYPOINT_NAMES order, or None for shapes without keypoints."""
    if name == 'star':  # kept upright, so that its tips keep their names
        radii = np.tile([1, rng.uniform(0.4, 0.5)], 5) * radius
        points = _ring(10, -np.pi / 2) * radii[:, None]
        points = _rotate(points * [rng.uniform(0.85, 1.15), 1],
                         np.radians(rng.uniform(-15, 15)))
        tips = points[0::2]
        return points, tips[[_STAR_TIPS.index(kp) for kp in KEYPOINT_NAMES]]
    if name == 'circle':  # a mild ellipse
        points = _ring(48, 0) * [rng.uniform(0.85, 1.15), 1]
    elif name == 'square':
        points = _ring(4, np.pi / 4)
    elif name == 'triangle':
        points = _ring(3, -np.pi / 2) + rng.uniform(-0.1, 0.1, (3, 2))
    elif name == 'cross':
        half = rng.uniform(0.3, 0.42)  # half the width of an arm
        arm = np.array([[-half, -1], [half, -1], [half, -half]])
        points = np.concatenate([_rotate(arm, k * np.pi / 2)
                                 for k in range(4)])
    else:
        raise ValueError(f'unknown shape {name!r}; valid: {SHAPE_CLASSES}')
    return _rotate(points * radius, rng.uniform(0, 2 * np.pi)), None


def _ring(n, start):
    """``n`` evenly spaced unit vectors, the first at angle ``start``."""
    angles = start + 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _rotate(points, angle):
    cos, sin = np.cos(angle), np.sin(angle)
    return points @ np.array([[cos, sin], [-sin, cos]])


def _coverage(polygon, size):
    """Fraction of each pixel inside ``polygon``: an anti-aliased mask."""
    big = Image.new('L', (size * _SUPERSAMPLE, ) * 2, 0)
    # PIL centres sub-pixel k on coordinate k, annotations on k + 0.5.
    corners = polygon * _SUPERSAMPLE - 0.5
    ImageDraw.Draw(big).polygon([tuple(p) for p in corners.tolist()],
                                fill=255)
    small = big.resize((size, size), Image.BOX)
    return np.asarray(small, np.float64) / 255
