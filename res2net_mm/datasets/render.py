"""Drawing of the synthetic shapes images (see ``synthetic.py``).

``render`` paints one image from a random generator: a textured background,
then up to four anti-aliased, shaded, little-overlapping shapes, then noise.
Every random draw happens in a fixed order, so the same generator state gives
the same image.
"""
import colorsys

import numpy as np
from PIL import Image, ImageDraw

_RADIUS_RANGE = (0.06, 0.4)  # of the image size: 23 to 154 px wide at 192
_MAX_OBJECTS = 4
_MAX_OVERLAP = 0.3
_MARGIN = 2.0  # px between a shape and the image border
_MIN_CONTRAST = 80.0  # RGB distance between an object and what is under it
_SUPERSAMPLE = 4  # anti-aliasing of the drawn shapes
# Tips of the star in drawing order (clockwise from the top, y pointing down).
STAR_TIPS = ('top', 'right', 'bottom_right', 'bottom_left', 'left')
SHAPES = ('circle', 'square', 'triangle', 'star', 'cross')


def render(rng, size, classes):
    """Draw one image with shapes of ``classes`` (names out of ``SHAPES``).

    Args:
        rng (numpy.random.Generator): The only source of randomness.
        size (int): Side of the square image in px.
        classes (Sequence[str]): Label i + 1 is ``classes[i]``.

    Returns:
        tuple: RGB uint8 (size, size, 3), uint8 label map (size, size) with
        0 for the background, and the objects in painting order, dicts of
        ``label``, ``polygon`` (N, 2), ``box`` (x0, y0, x1, y1), ``keypoints``
        (star tips (5, 2) in ``STAR_TIPS`` order, else None) and ``alpha``
        (the anti-aliased coverage, (size, size) in [0, 1]).
    """
    image = _background(rng, size)
    label_map = np.zeros((size, size), np.uint8)
    objects = []
    for _ in range(rng.integers(1, _MAX_OBJECTS + 1)):
        label = int(rng.integers(len(classes))) + 1
        placed = _place(rng, classes[label - 1], size,
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
    (K, 2) in STAR_TIPS order, or None for shapes without keypoints."""
    if name == 'star':  # kept upright, so that its tips keep their names
        radii = np.tile([1, rng.uniform(0.4, 0.5)], 5) * radius
        points = _ring(10, -np.pi / 2) * radii[:, None]
        points = _rotate(points * [rng.uniform(0.85, 1.15), 1],
                         np.radians(rng.uniform(-15, 15)))
        return points, points[0::2]
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
        raise ValueError(f'unknown shape {name!r}; valid: {SHAPES}')
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
