"""Salient object detection data for mmseg: images with binary masks.

``SaliencyDataset`` reads the layout of the saliency benchmarks (MSRA-B,
ECSSD, PASCAL-S, HKU-IS, DUT-OMRON): an image folder and a mask folder
(``data_prefix.img_path`` / ``seg_map_path``; they may be the same, as in
MSRA-B's release), masks named like their images with ``seg_map_suffix``.
The images are all those of the image folder, or those of a list file
(``ann_file``), one image a line: an image name with or without its
suffix (MSRA-B's ``train_cvpr2013.txt``) or an image path and a mask path
(DSS's ``train.lst``). Masks mean 0 background and 255 salient; they are
read by that meaning whatever their mode (16-bit, alpha, palette:
``masks.py``). ``LoadSaliencyMask`` in the pipeline loads them as 0/1 (at
128, so grey, soft annotations such as PASCAL-S's count as salient where
at least half grey); ``BinarizeMask`` does the same after mmseg's
``LoadAnnotations``. ``NamedConcatDataset`` joins test sets and names them,
so that ``res2net_mm.PerDatasetEvaluator`` reports each one.
"""
import os.path as osp

import mmengine
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import ConcatDataset
from mmseg.datasets import BaseSegDataset

from PIL import Image

from ..registry import DATASETS, TRANSFORMS
from .masks import MaskReadError, check_mask_fits, mask_meaning, read_mask


class EmptyDatasetError(ValueError):
    """A saliency dataset whose folder or list file names no image."""


class MissingMaskError(FileNotFoundError):
    """An image of a saliency dataset without its mask file."""


@DATASETS.register_module()
class SaliencyDataset(BaseSegDataset):
    """Images and their binary saliency masks (layout in the module
    docstring); classes 'background' and 'salient'.

    Args:
        ann_file (str): List file, relative to ``data_root`` ('': every
            image of the image folder). Defaults to ''.
        img_suffix (str): Defaults to '.jpg'.
        seg_map_suffix (str): Defaults to '.png'.
        **kwargs: The other arguments of mmseg's ``BaseSegDataset``
            (data_root, data_prefix, pipeline, test_mode, ...).
    """

    METAINFO = dict(classes=('background', 'salient'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, ann_file='', img_suffix='.jpg', seg_map_suffix='.png', **kwargs):
        super().__init__(ann_file=ann_file, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self):
        """The (image, mask) pairs; every mask must exist, and there must be
        at least one pair."""
        data_list = self._listed_pairs()
        where = self.ann_file or self.data_prefix.get('img_path', '')
        if not data_list:
            raise EmptyDatasetError(
                f'SaliencyDataset: no image in {where} (images are the files ending in '
                f'{self.img_suffix!r}); check data_root, data_prefix, ann_file and img_suffix')
        for info in data_list:
            image, mask = info['img_path'], info.get('seg_map_path')
            if '://' not in image and not osp.isfile(image):
                raise FileNotFoundError(f'SaliencyDataset: no image {image} (listed by {where})')
            if mask and '://' not in mask and not osp.isfile(mask):
                raise MissingMaskError(f'SaliencyDataset: no mask {mask} for the image {image} '
                                       f'(listed by {where})')
        return data_list

    def _listed_pairs(self):
        if not self.ann_file or osp.isdir(self.ann_file):
            return super().load_data_list()
        img_dir, mask_dir = (self.data_prefix.get(k, '') for k in ('img_path', 'seg_map_path'))
        data_list = []
        for number, line in enumerate(mmengine.list_from_file(
                self.ann_file, backend_args=self.backend_args), 1):
            fields = line.split()
            if len(fields) == 2:
                image, mask = fields
            elif len(fields) == 1:
                stem = fields[0][:-len(self.img_suffix)] if fields[0].endswith(
                    self.img_suffix) else fields[0]
                image, mask = stem + self.img_suffix, stem + self.seg_map_suffix
            elif not fields:
                continue
            else:
                raise ValueError(f'{self.ann_file}, line {number}: expected an image name '
                                 f'or an image and a mask path, got {line!r}')
            data_list.append(dict(img_path=osp.join(img_dir, image),
                                  seg_map_path=osp.join(mask_dir, mask),
                                  label_map=self.label_map, seg_fields=[],
                                  reduce_zero_label=self.reduce_zero_label))
        return data_list


def _checked_threshold(threshold):
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 255:
        raise ValueError(f'threshold must be an int in [1, 255], got {threshold!r}')
    return threshold


@TRANSFORMS.register_module()
class LoadSaliencyMask(BaseTransform):
    """Load the mask of ``seg_map_path`` by its meaning (``masks.py``: any
    bit depth, alpha, palette) as ``gt_seg_map``, 1 where it is at least
    ``threshold``, else 0. In place of mmseg's ``LoadAnnotations`` followed
    by ``BinarizeMask``; a mask not the size of the loaded image
    (``ori_shape``) is a ``MaskReadError``.

    Args:
        threshold (int): In [1, 255]. Defaults to 128.
    """

    def __init__(self, threshold=128):
        self.threshold = _checked_threshold(threshold)

    def transform(self, results):
        if 'seg_map_path' not in results:
            raise KeyError('LoadSaliencyMask needs seg_map_path: use it with SaliencyDataset')
        path = results['seg_map_path']
        mask = read_mask(path)
        check_mask_fits(mask, results, path)
        results['gt_seg_map'] = (mask >= self.threshold).astype(np.uint8)
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(threshold={self.threshold})'


@TRANSFORMS.register_module()
class BinarizeMask(BaseTransform):
    """Make a loaded saliency mask (``gt_seg_map``) binary: 1 where its
    meaning (0..255) is at least ``threshold``, else 0. A colour mask counts
    by its brightest channel, alpha as ``masks.py`` says. After mmseg's
    ``LoadAnnotations``, which reads only 8-bit grey and RGB masks by their
    meaning, a mask file of another mode (``seg_map_path``) is read again
    here by its meaning.

    Args:
        threshold (int): In [1, 255]. Defaults to 128.
    """

    def __init__(self, threshold=128):
        self.threshold = _checked_threshold(threshold)

    def transform(self, results):
        if 'gt_seg_map' not in results:
            raise KeyError('BinarizeMask needs gt_seg_map: put it after LoadAnnotations')
        mask = np.asarray(results['gt_seg_map'])
        path = results.get('seg_map_path')
        if path and '://' not in path and not _read_right_by_mmseg(mask, path):
            mask = read_mask(path)
            check_mask_fits(mask, results, path)
            if results.get('flip') or tuple(results.get('img_shape', mask.shape))[:2] != mask.shape:
                raise MaskReadError(f'{path}: BinarizeMask re-reads this mask by its meaning '
                                    'and cannot redo the transforms before it; put it right '
                                    'after LoadAnnotations, or use res2net_mm.LoadSaliencyMask '
                                    'instead of both')
        elif mask.ndim == 3:
            mode = {2: 'LA', 3: 'RGB', 4: 'RGBA'}.get(mask.shape[2], f'{mask.shape[2]} channels')
            mask = mask_meaning(mask, mode, 'gt_seg_map')
        results['gt_seg_map'] = (mask >= self.threshold).astype(np.uint8)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(threshold={self.threshold})'


def _read_right_by_mmseg(mask, path):
    """Whether ``mask``, as mmseg's LoadAnnotations loaded it from ``path``,
    holds the file's meaning: an 8-bit grey or RGB file, not squeezed (mmseg
    drops the axes of a 1-pixel side)."""
    try:
        with Image.open(path) as image:
            mode, (width, height) = image.mode, image.size
    except (OSError, SyntaxError, ValueError):
        return False
    return (mode, mask.shape) in (('L', (height, width)), ('RGB', (height, width, 3)))


@DATASETS.register_module()
class NamedConcatDataset(ConcatDataset):
    """Datasets one after the other, each with a name: the metainfo gains
    ``dataset_names`` and ``cumulative_sizes``, which
    ``res2net_mm.PerDatasetEvaluator`` reads to report each dataset.

    Args:
        datasets (Sequence[dict | BaseDataset]): The datasets.
        names (Sequence[str]): One distinct name per dataset, used as the
            prefix of its metrics.
        ignore_keys (list[str] | str | None): Metainfo keys that may differ
            between the datasets. Defaults to None.
    """

    def __init__(self, datasets, names, ignore_keys=None):
        names = list(names)
        if len(names) != len(datasets) or len(set(names)) != len(names) or not all(
                isinstance(n, str) and n and '/' not in n for n in names):
            raise ValueError(f'names needs one distinct name without "/" per dataset '
                             f'({len(datasets)}), got {names!r}')
        super().__init__(datasets, lazy_init=False, ignore_keys=ignore_keys)
        self._metainfo.update(dataset_names=names, cumulative_sizes=list(self.cumulative_sizes))
