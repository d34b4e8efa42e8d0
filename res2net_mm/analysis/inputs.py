"""Models and images for the CAM tool (``tools/analysis/vis_cam.py``): a
model built from a config with its checkpoint, and images (with their object
masks) prepared by the config's own test pipeline and data preprocessor."""
from pathlib import Path

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, TRANSFORMS, DefaultScope

from ..checkpoint import CheckpointError, is_bare_classifier, load_classifier
from ..cli.options import read_tool_checkpoint

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
# Steps the tool does itself (reading the image) or that need annotations.
SKIPPED_STEPS = ('LoadImageFromFile', 'LoadAnnotations')


def load_model(config, checkpoint, cfg_options=None, device='cpu'):
    """Build a config's model and load its weights.

    Args:
        config (str): Config file.
        checkpoint (str): A runner checkpoint, a bare classifier file
            (official / timm, ``load_classifier``) or 'none': the weights
            the modules are built with (random; ``init_cfg`` is not applied,
            so no pretrained file is needed).
        cfg_options (dict | None): Overrides merged into the config.
        device (str): Defaults to 'cpu'.

    Returns:
        tuple: (model in eval mode, config, class names or None).
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(cfg_options or {})
    if cfg.get('data_preprocessor') is not None:  # where the Runner takes it from, too
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    meta = {}
    if checkpoint != 'none':
        weights = read_tool_checkpoint(checkpoint)
        if is_bare_classifier(weights):
            load_classifier(model, weights, checkpoint)
        else:
            try:
                model.load_state_dict(weights.get('state_dict', weights), strict=True)
            except RuntimeError as exc:
                raise CheckpointError(f'{checkpoint} does not fit {config}: '
                                      f'{str(exc)[:600]}') from None
            meta = weights.get('meta') or {}
    classes = (meta.get('dataset_meta') or {}).get('classes') or _config_classes(cfg)
    return model.to(device).eval(), cfg, classes


def _test_dataset(cfg):
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and 'dataset' in dataset:  # wrappers
        dataset = dataset['dataset']
    return dataset


def _config_classes(cfg):
    dataset = _test_dataset(cfg)
    classes = dataset.get('classes') or dataset.get('metainfo', {}).get('classes')
    if classes is None and 'type' in dataset:  # the dataset class's own (ImageNet, COCO)
        with DATASETS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            dataset_class = registry.get(dataset['type'])
        classes = getattr(dataset_class, 'METAINFO', {}).get('classes')
    return None if classes is None else list(classes)


def inference_pipeline(cfg):
    """The config's test pipeline without its image loading and annotation
    steps: it takes ``dict(img=..., img_shape=..., ori_shape=...)``."""
    steps = [step for step in _test_dataset(cfg).get('pipeline', [])
             if not any(skip in step['type'] for skip in SKIPPED_STEPS)]
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        transforms = [TRANSFORMS.build(step) for step in steps]

    def run(img):
        results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        for transform in transforms:
            results = transform(results)
        return results
    return run


def list_images(paths):
    """(path, name) of each image: a file as given, a folder's images
    (recursively, sorted); ``name`` is the path relative to the folder (the
    file name for a file), which ``--masks`` mirrors."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
            found += [(file, file.relative_to(path)) for file in files]
        else:
            found.append((path, Path(path.name)))
    return found


def read_image(path):
    """The image at ``path`` as mmcv reads it (BGR uint8), or None if it
    cannot be read."""
    try:
        return mmcv.imread(str(path))
    except (OSError, ValueError):
        return None


def prepare(model, pipeline, img, mask=None):
    """The model input of one image, as the config's test pipeline and the
    model's data preprocessor make it.

    Args:
        model (nn.Module): The model (its ``data_preprocessor``).
        pipeline (callable): ``inference_pipeline(cfg)``.
        img (np.ndarray): BGR uint8 image.
        mask (np.ndarray | None): Its object mask (bool), transformed as
            the image is (as a grey image, thresholded at half). Defaults to
            None.

    Returns:
        dict: ``inputs`` (1 x 3 x H' x W', maybe padded), ``image`` (RGB
        uint8 H x W, what the model sees before padding), ``mask`` (H x W
        bool or None), ``scale_factor`` ((w, h) of the resizing, or (1, 1)).
    """
    packed = pipeline(img)
    data = model.data_preprocessor(
        dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]), False)
    sample = dict(inputs=data['inputs'], image=packed['inputs'].numpy()[::-1].transpose(1, 2, 0),
                  scale_factor=packed['data_samples'].metainfo.get('scale_factor', (1.0, 1.0)),
                  mask=None)
    if mask is not None:
        grey = np.repeat(mask[..., None].astype(np.uint8) * 255, 3, axis=2)
        sample['mask'] = pipeline(grey)['inputs'].numpy()[0] > 127
    return sample


def mask_box(mask):
    """(x1, y1, x2, y2) of a bool mask's pixels, or None if it is empty."""
    rows, cols = np.nonzero(mask)
    if not len(rows):
        return None
    return (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
