"""Saliency masks read by their meaning (res2net_mm/datasets/masks.py,
LoadSaliencyMask, BinarizeMask after mmseg's LoadAnnotations) and the
dataset's named errors, on real files written here with PIL."""
import numpy as np
import pytest
from mmengine.registry import DATASETS, TRANSFORMS, init_default_scope
from PIL import Image

from res2net_mm.datasets.masks import MaskReadError, read_mask
from res2net_mm.datasets.saliency import EmptyDatasetError, MissingMaskError

pytest.importorskip('mmseg')
SHAPE = np.zeros((6, 8), bool)
SHAPE[1:4, 2:7] = True  # the salient area: 15 of 48 pixels


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def loaded(path, pipeline):
    """gt_seg_map after LoadImageFromFile-like results and ``pipeline``."""
    results = dict(seg_map_path=str(path), img_path='img.jpg', ori_shape=(6, 8),
                   seg_fields=[], reduce_zero_label=False)
    for cfg in pipeline:
        results = TRANSFORMS.build(cfg)(results)
    return results['gt_seg_map']


PIPELINES = {'LoadSaliencyMask': [dict(type='res2net_mm.LoadSaliencyMask')],
             'LoadAnnotations+BinarizeMask': [dict(type='LoadAnnotations'),
                                              dict(type='res2net_mm.BinarizeMask')]}


def rgba_colour_mask():  # the mask in the colour, alpha opaque everywhere
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[SHAPE, :3] = (255, 255, 255)
    rgba[..., 3] = 255
    return Image.fromarray(rgba, 'RGBA')


def rgba_cutout():  # colour constant, the shape in alpha
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 3] = SHAPE * 255
    return Image.fromarray(rgba, 'RGBA')


def palette_mask():  # index 1 is white: by index it would be background
    image = Image.fromarray(SHAPE.astype(np.uint8), 'P')
    image.putpalette([0, 0, 0, 255, 255, 255])
    return image


def sixteen_bit(salient, background):
    return Image.fromarray(np.where(SHAPE, salient, background).astype(np.uint16))


MASKS = {
    'RGBA colour': rgba_colour_mask,
    'RGBA cut-out': rgba_cutout,
    'P': palette_mask,
    '1': lambda: Image.fromarray(SHAPE).convert('1'),
    'LA': lambda: Image.fromarray(np.stack([SHAPE * 255, np.full(SHAPE.shape, 255)], 2)
                                  .astype(np.uint8), 'LA'),
    # 50% grey is salient (>= 128/255), 0.3% grey background
    'I;16': lambda: sixteen_bit(32768, 200),
}


@pytest.mark.parametrize('pipeline', PIPELINES)
@pytest.mark.parametrize('kind', MASKS)
def test_masks_are_read_by_their_meaning(kind, pipeline, tmp_path):
    MASKS[kind]().save(tmp_path / 'mask.png')
    mask = loaded(tmp_path / 'mask.png', PIPELINES[pipeline])
    assert mask.dtype == np.uint8 and np.array_equal(mask, SHAPE), mask


def test_sixteen_bit_scales_to_eight_bits(tmp_path):
    values = np.array([[0, 128, 129, 32767, 32768, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / 'm.png')
    assert read_mask(tmp_path / 'm.png').tolist() == [[0, 0, 1, 127, 128, 255]]


@pytest.mark.parametrize('mode,value', [('F', 0.5), ('CMYK', 0), ('I', 70000)])
def test_modes_without_a_meaning_are_named_errors(mode, value, tmp_path):
    Image.new(mode, (8, 6), value).save(tmp_path / 'mask.tif')
    with pytest.raises(MaskReadError, match=f"mask.tif: mode '?{mode}"):
        read_mask(tmp_path / 'mask.tif')


def test_truncated_and_corrupt_files_are_named_errors(tmp_path):
    Image.fromarray(SHAPE.astype(np.uint8) * 255).save(tmp_path / 'whole.png')
    data = (tmp_path / 'whole.png').read_bytes()
    (tmp_path / 'cut.png').write_bytes(data[:len(data) // 2])
    (tmp_path / 'html.png').write_bytes(b'<html>404</html>')
    for name in ('cut.png', 'html.png'):
        with pytest.raises(MaskReadError, match=name):
            read_mask(tmp_path / name)


def test_a_mask_not_the_size_of_its_image_is_a_named_error(tmp_path):
    Image.new('L', (7, 6)).save(tmp_path / 'mask.png')
    with pytest.raises(MaskReadError, match=r'mask.png: the mask is 7x6 px, its image img.jpg 8x6'):
        loaded(tmp_path / 'mask.png', PIPELINES['LoadSaliencyMask'])


def test_empty_folder_and_missing_mask_are_named_errors(tmp_path):
    (tmp_path / 'imgs').mkdir()
    (tmp_path / 'gt').mkdir()
    cfg = dict(type='res2net_mm.SaliencyDataset', data_root=str(tmp_path),
               data_prefix=dict(img_path='imgs', seg_map_path='gt'))
    with pytest.raises(EmptyDatasetError, match=str(tmp_path / 'imgs')):
        DATASETS.build(cfg)
    Image.new('RGB', (8, 6)).save(tmp_path / 'imgs' / 'a.jpg')
    with pytest.raises(MissingMaskError, match=str(tmp_path / 'gt' / 'a.png')):
        DATASETS.build(cfg)
    (tmp_path / 'list.txt').write_text('b\n')
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'imgs' / 'b.jpg')):
        DATASETS.build(dict(cfg, ann_file='list.txt'))
