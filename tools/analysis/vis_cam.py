"""Class activation maps of one or more models on the same images, as a grid
in the style of the paper's Fig. 4, and how much of each map falls on the
object.

    python tools/analysis/vis_cam.py IMAGE_OR_FOLDER [...] \
        --model CONFIG CHECKPOINT [--model CONFIG CHECKPOINT ...] \
        [--masks MASK_FOLDER] [--methods gradcam gradcam++] \
        [--target-layer backbone.layer4] [--target-class CLASS] \
        [--box X1 Y1 X2 Y2] [--out cam.png] [--grid-images 8]

Each image goes through each model's own test pipeline and data
preprocessor; the maps come from the ``grad-cam`` package (Grad-CAM,
Grad-CAM++) at a target layer named as in the model (default: the backbone's
last stage; any stage works with every backbone implementation). Models:
classifiers (default target: the predicted class), two-stage detectors (the
class logit of a box: ``--box`` in image pixels, else each mask's box) and
segmentors (a class's mean pixel logit); the last two need
``--target-class``: an index, a name, or 'folder' (each image's parent
folder names its class, as in an ImageNet-style class folder). CHECKPOINT
'none' keeps the random initial weights. It prints the size of the target
layer's maps, the resolution the CAMs have before upsampling.

With ``--masks`` (a folder mirroring the images' paths, ``.png``, object >
127), each map is scored: the share of its energy (sum) inside the object
and the pointing game (its maximum inside the object), averaged over the
images, per model and method; the same images for every model; beside
them their ratio to chance (a constant map's scores: the mean mask area).
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path

import numpy as np
from mmengine.config import DictAction

from res2net_mm.analysis.cam import (METHODS, LayerError, Scores, compute_cam, energy_inside,
                                     find_layer, map_sizes, model_kind, pointing_hit,
                                     stage_taps)
from res2net_mm.analysis.grid import save_grid
from res2net_mm.analysis.inputs import (inference_pipeline, list_images, load_model, mask_box,
                                        prepare, read_image)
from res2net_mm.checkpoint import CheckpointError
from res2net_mm.cli.options import UnusableCheckpointError

FOLDER = 'folder'  # --target-class: each image's class is its parent folder's name


def parse_args(argv=None):
    """Command-line arguments.

    Args:
        argv (list[str] | None): Arguments; None reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('images', nargs='+', help='image files or folders (recursive)')
    parser.add_argument('--model', nargs=2, action='append', required=True,
                        metavar=('CONFIG', 'CHECKPOINT'), help='repeat for each model')
    parser.add_argument('--names', nargs='+', help='model names (default: config names)')
    parser.add_argument('--masks', help='folder of object masks mirroring the images')
    parser.add_argument('--methods', nargs='+', default=['gradcam'], choices=list(METHODS))
    parser.add_argument('--target-layer', help='module name, e.g. backbone.layer3 '
                        '(default: the backbone\'s last stage)')
    parser.add_argument('--target-class', help=f'class index or name, or {FOLDER!r}: each '
                        'image\'s parent folder name (default: the predicted class)')
    parser.add_argument('--box', nargs=4, type=float, metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='detectors: the box to score, in image pixels')
    parser.add_argument('--out', default='work_dirs/vis_cam/cam.png', help='grid PNG')
    parser.add_argument('--grid-images', type=int, default=8,
                        help='rows of the grid, evenly spread over the images')
    parser.add_argument('--metrics-out', help='also write the scores to this JSON file')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='key=value overrides for every model\'s config')
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.model):
        parser.error(f'--names: {len(args.names)} names for {len(args.model)} models')
    if args.grid_images < 0:
        parser.error(f'--grid-images must be >= 0, got {args.grid_images}')
    return args


def load_images(paths, masks):
    """Readable images (and their masks where ``masks`` is a folder): each
    image that cannot be read, or has no mask, is named and skipped."""
    images = []
    for path, name in list_images(paths):
        img = read_image(path)
        if img is None:
            print(f'skipping {path}: not a readable image', file=sys.stderr)
            continue
        mask = None
        if masks:
            mask_file = Path(masks) / name.with_suffix('.png')
            mask = read_image(mask_file)
            if mask is None or mask.shape[:2] != img.shape[:2]:
                print(f'skipping {path}: no readable mask of its size at {mask_file}',
                      file=sys.stderr)
                continue
            mask = mask[..., 0] > 127
        images.append(dict(path=str(path), img=img, mask=mask))
    if not images:
        raise ValueError(f'no readable images in {paths}')
    return images


def image_targets(target, images, classes, kind, config):
    """The class index of each image: ``--target-class`` (see
    ``target_index``), or for 'folder' the class its parent folder names;
    an error naming a folder that is no class of the model."""
    if target != FOLDER:
        return [target_index(target, classes, kind, config)] * len(images)
    if not classes:
        raise ValueError(f'--target-class {FOLDER}: {config} and its checkpoint name no classes')
    targets = []
    for image in images:
        name = Path(image['path']).parent.name
        if name not in classes:
            raise ValueError(f'--target-class {FOLDER}: the folder {name!r} of {image["path"]} '
                             f'is not a class of {config}: {list(classes)}')
        targets.append(list(classes).index(name))
    return targets


def target_index(target, classes, kind, config):
    """The class index of ``--target-class`` (an index or a name), None for
    the predicted class; an error where a model has no classifier head."""
    if target is None:
        if kind != 'classifier':
            raise ValueError(f'{config}: a {kind} has no classifier head; give --target-class '
                             f'(a class index or one of {classes})')
        return None
    if target.isdigit():
        return int(target)
    if not classes or target not in classes:
        raise ValueError(f'--target-class {target!r} is not a class of {config}: {classes}')
    return classes.index(target)


def image_box(args, sample):
    """The detector box of one image, in model input pixels."""
    if args.box is not None:
        sx, sy = sample['scale_factor']
        x1, y1, x2, y2 = args.box
        return (x1 * sx, y1 * sy, x2 * sx, y2 * sy)
    box = None if sample['mask'] is None else mask_box(sample['mask'])
    if box is None:
        raise ValueError('a detector scores one box: give --box, or --masks with non-empty masks')
    return box


def run_model(args, config, checkpoint, images):
    """The maps of one model on every image: a list per image of
    dict(sample=..., <method>=(map, class)), the model's class names and the
    sizes (h, w) of the target layer's maps."""
    model, cfg, classes = load_model(config, checkpoint, args.cfg_options, args.device)
    kind = model_kind(model)
    targets = image_targets(args.target_class, images, classes, kind, config)
    pipeline, results = inference_pipeline(cfg), []
    with stage_taps(model.backbone) as taps:
        layer = find_layer(model, taps, args.target_layer or next(reversed(taps), None))
        with map_sizes(layer) as sizes:
            for image, target in zip(images, targets):
                results.append(cam_entry(args, model, pipeline, layer, image, target, kind))
    return results, classes, sorted(sizes)


def cam_entry(args, model, pipeline, layer, image, target, kind):
    """dict(sample=..., <method>=(map, class)) of one image."""
    sample = prepare(model, pipeline, image['img'], image['mask'])
    inputs = sample['inputs'].to(args.device)
    scores = Scores(model, image_box(args, sample) if kind == 'detector' else None)
    h, w = sample['image'].shape[:2]
    entry = dict(sample=sample)
    for method in args.methods:
        maps, classes_of = compute_cam(scores, layer, inputs, method, target)
        entry[method] = (maps[0, :h, :w], classes_of[0])  # without the padding
    return entry


def score(results, methods):
    """Mean energy share inside the mask and pointing-game hit rate per
    method, and the mean mask area share (a constant map's score)."""
    scores = {}
    for method in methods:
        cams = [(entry[method][0], entry['sample']['mask']) for entry in results]
        scores[method] = dict(energy=float(np.mean([energy_inside(c, m) for c, m in cams])),
                              pointing=float(np.mean([pointing_hit(c, m) for c, m in cams])))
    area = float(np.mean([entry['sample']['mask'].mean() for entry in results]))
    return scores, area


def grid_rows(all_results, methods, count):
    """Rows of ``save_grid`` for ``count`` images evenly spread over all."""
    total = len(all_results[0][0])
    picks = sorted(set(np.linspace(0, total - 1, min(count, total)).round().astype(int)))
    rows = []
    for i in picks:
        first = all_results[0][0][i]['sample']
        cells = []
        for results, classes, _ in all_results:
            entry = results[i]
            for method in methods:
                cam, cls = entry[method]
                label = classes[cls] if classes and cls < len(classes) else f'class {cls}'
                if entry['sample']['mask'] is not None:
                    label += f'  E={energy_inside(cam, entry["sample"]["mask"]):.2f}'
                cells.append(dict(image=entry['sample']['image'], cam=cam, label=label))
        rows.append(dict(image=first['image'], mask=first['mask'], cells=cells))
    return rows


def main(argv=None):
    args = parse_args(argv)
    names = args.names or [osp.splitext(osp.basename(c))[0] for c, _ in args.model]
    try:
        images = load_images(args.images, args.masks)
        all_results = [run_model(args, config, checkpoint, images)
                       for config, checkpoint in args.model]
    except (ValueError, TypeError, LayerError, CheckpointError, UnusableCheckpointError) as exc:
        sys.exit(f'error: {exc}')
    layer = args.target_layer or 'last stage'
    for name, (_, _, sizes) in zip(names, all_results):
        print(f'{name}: {layer} maps of ' + ', '.join(f'{h} x {w}' for h, w in sizes))
    columns = [f'{name} {method}' for name in names for method in args.methods]
    if args.grid_images:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        save_grid(grid_rows(all_results, args.methods, args.grid_images), columns,
                  args.out, title=f'target layer: {layer}')
        print(f'grid: {osp.abspath(args.out)}')
    if not args.masks:
        return None
    report = dict(images=len(images), target_layer=layer, models={})
    print(f'CAM scores on {len(images)} images with masks:')
    print(f'  {"model":<24} {"method":<10} {"energy inside":>13} {"pointing":>9} '
          f'{"energy/chance":>13} {"pointing/chance":>15}')
    for name, (results, _, sizes) in zip(names, all_results):
        scores, area = score(results, args.methods)
        report['models'][name] = dict(scores, mask_area=area, map_size=[list(s) for s in sizes])
        for method, value in scores.items():
            print(f'  {name:<24} {method:<10} {value["energy"]:>13.3f} {value["pointing"]:>9.3f} '
                  f'{value["energy"] / area:>13.2f} {value["pointing"] / area:>15.2f}')
    print(f'  chance (a constant map scores the mean mask area share): {area:.3f}')
    if args.metrics_out:
        Path(args.metrics_out).write_text(json.dumps(report, indent=2))
    return report


if __name__ == '__main__':
    main()
