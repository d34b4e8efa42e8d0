"""Salient object detection data for mmseg: images with binary masks.

``SaliencyDataset`` reads the layout of the saliency benchmarks (MSRA-B,
ECSSD, PASCAL-S, HKU-IS, DUT-OMRON): an image folder and a mask folder
(``data_prefix.img_path`` / ``seg_map_path``; they may be the same, as in
MSRA-B's release), masks named like their images with ``seg_map_suffix``.
The images are all those of the image folder, or those of a list file
(``ann_file``), one image a line: an image name with or without its
suffix (MSRA-B's ``train_cvpr2013.txt``) or an image path and a mask path
(DSS's ``train.lst``). Masks are 8-bit, 0 background and 255 salient;
``BinarizeMask`` in the pipeline makes them 0/1 (at 128, so grey, soft
annotations such as PASCAL-S's count as salient where at least half
grey). ``NamedConcatDataset`` joins test sets and names them, so that
``res2net_mm.PerDatasetEvaluator`` reports each one.
"""
import os.path as osp

import mmengine
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import ConcatDataset
from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS, TRANSFORMS


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


@TRANSFORMS.register_module()
class BinarizeMask(BaseTransform):
    """Make a loaded 8-bit saliency mask (``gt_seg_map``) binary: 1 where
    it is at least ``threshold``, else 0. A colour mask counts by its
    brightest channel.

    Args:
        threshold (int): In [1, 255]. Defaults to 128.
    """

    def __init__(self, threshold=128):
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 255:
            raise ValueError(f'threshold must be an int in [1, 255], got {threshold!r}')
        self.threshold = threshold

    def transform(self, results):
        if 'gt_seg_map' not in results:
            raise KeyError('BinarizeMask needs gt_seg_map: put it after LoadAnnotations')
        mask = np.asarray(results['gt_seg_map'])
        if mask.ndim == 3:
            mask = mask.max(axis=2)
        results['gt_seg_map'] = (mask >= self.threshold).astype(np.uint8)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(threshold={self.threshold})'


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
