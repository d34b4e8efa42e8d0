"""Fuzz test of the saliency readers (SaliencyDataset, LoadSaliencyMask,
BinarizeMask after mmseg's LoadAnnotations): random mask modes, sizes (1x1
included), bit depths, thresholds, mismatched image/mask sizes, missing and
extra files, truncated and corrupt files, written here from a fixed seed.

Every case ends in exactly one of two outcomes: the mask's meaning,
computed here independently of res2net_mm/datasets/masks.py and
binarized, or a named error (MaskReadError, MissingMaskError,
EmptyDatasetError) whose message names the file or folder. Truncated files
may still decode (PIL needs no trailer): then the result must be right."""
import io

import numpy as np
import pytest
from mmengine.registry import DATASETS, TRANSFORMS, init_default_scope
from PIL import Image

from res2net_mm.datasets.masks import MaskReadError
from res2net_mm.datasets.saliency import EmptyDatasetError, MissingMaskError

pytest.importorskip('mmseg')
SEED = 25
MODES = ('L', '1', 'RGB', 'RGBA', 'RGBA-cutout', 'LA', 'P', 'I;16', 'I', 'I-overflow', 'F', 'CMYK')
HAS_NO_MEANING = ('I-overflow', 'F', 'CMYK')


def encode(rng, mode, meaning):
    """An image whose mask meaning is ``meaning`` (uint8 H x W) in ``mode``,
    with the meaning the reader must give (None: none, an error)."""
    h, w = meaning.shape
    if mode == 'L':
        return Image.fromarray(meaning, 'L'), meaning
    if mode == '1':
        binary = meaning >= 128
        return Image.fromarray(binary).convert('1'), binary.astype(np.uint8) * 255
    if mode in ('RGB', 'RGBA', 'LA'):  # the meaning in one channel, the others not above it
        channels = 1 if mode == 'LA' else 3
        colour = (rng.random((h, w, channels)) * (meaning[..., None] + 1)).astype(np.uint8)
        colour[np.arange(h)[:, None], np.arange(w), rng.integers(0, channels, (h, w))] = meaning
        if mode == 'RGB':
            return Image.fromarray(colour, 'RGB'), meaning
        alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
        alpha_rules = meaning.min() == meaning.max() and alpha.min() != alpha.max()
        return (Image.fromarray(np.dstack([colour, alpha]), mode),
                alpha if alpha_rules else meaning)
    if mode == 'RGBA-cutout':  # constant colour, the meaning in alpha
        colour = np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (h, w, 3))
        alpha_rules = meaning.min() != meaning.max()
        return (Image.fromarray(np.dstack([colour, meaning]), 'RGBA'),
                meaning if alpha_rules else np.full((h, w), colour[0, 0].max(), np.uint8))
    if mode == 'P':
        palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
        index = rng.integers(0, 256, (h, w), dtype=np.uint8)
        image = Image.fromarray(index, 'P')
        image.putpalette(palette.ravel().tolist())
        return image, palette[index].max(axis=2)
    if mode in ('I;16', 'I'):
        values = rng.integers(0, 65536, (h, w))
        scaled = np.floor(values * 255 / 65535 + 0.5).astype(np.uint8)
        if mode == 'I;16':
            return Image.fromarray(values.astype(np.uint16)), scaled
        return Image.fromarray(values.astype(np.int32), 'I'), scaled
    if mode == 'I-overflow':
        values = rng.integers(0, 65536, (h, w)).astype(np.int32)
        values.flat[rng.integers(values.size)] = 70000
        return Image.fromarray(values, 'I'), None
    if mode == 'F':
        return Image.fromarray(meaning.astype(np.float32) / 255, 'F'), None
    return Image.new('CMYK', (w, h), (0, 0, 0, int(meaning.flat[0]))), None


def file_bytes(image):
    """PNG where the mode allows it, else TIFF (read by content, not name)."""
    out = io.BytesIO()
    image.save(out, format='PNG' if image.mode in ('L', '1', 'RGB', 'RGBA', 'LA', 'P', 'I;16')
               else 'TIFF')
    return out.getvalue()


def write_case(rng, root):
    """One dataset folder; returns {stem: (expected 0/1 mask | None, what
    may happen: 'right', 'error', 'either', 'missing')}."""
    (root / 'imgs').mkdir(parents=True)
    (root / 'gt').mkdir()
    if rng.random() < 0.3:  # extra files the reader must ignore
        Image.new('L', (3, 3)).save(root / 'gt' / 'orphan.png')
        (root / 'imgs' / 'notes.txt').write_text('not an image')
    cases = {}
    for k in range(int(rng.integers(0, 4))):
        h, w = (1, 1) if rng.random() < 0.15 else tuple(int(v) for v in rng.integers(1, 13, 2))
        Image.new('RGB', (w, h), (k, 0, 0)).save(root / 'imgs' / f'{k}.jpg')
        mode = MODES[rng.integers(len(MODES))]
        meaning = rng.integers(0, 256, (h, w), dtype=np.uint8)
        if rng.random() < 0.3:
            meaning = np.where(rng.random((h, w)) < 0.5, 0, 255).astype(np.uint8)
        if rng.random() < 0.1:  # another size than the image
            meaning = rng.integers(0, 256, (h + 1, w), dtype=np.uint8)
        image, expected = encode(rng, mode, meaning)
        data, outcome = file_bytes(image), 'right' if expected is not None else 'error'
        if meaning.shape != (h, w):
            outcome = 'error'
        fault = rng.random()
        if fault < 0.08:
            data, outcome = data[:int(rng.integers(0, len(data)))], 'either'
        elif fault < 0.12:
            data, outcome = bytes(rng.integers(0, 256, 40, dtype=np.uint8)), 'error'
        elif fault < 0.16:
            outcome = 'missing'
        if outcome != 'missing':
            (root / 'gt' / f'{k}.png').write_bytes(data)
        cases[str(k)] = (expected, outcome, mode)
    return cases


def outcome_of(pipeline, info):
    """(mask, None) or (None, error) of one image through ``pipeline``."""
    results = dict(info, seg_fields=[])
    try:
        for transform in pipeline:
            results = transform(results)
    except MaskReadError as error:
        return None, error
    return results['gt_seg_map'], None


def check(info, expected, outcome, threshold, pipelines):
    """Assert one of the two outcomes; return whether it was an error."""
    for name, pipeline in pipelines.items():
        mask, error = outcome_of(pipeline, info)
        if error is not None:
            assert outcome in ('error', 'either'), (name, info['seg_map_path'], error)
            assert info['seg_map_path'] in str(error), (name, error)
        else:
            assert outcome in ('right', 'either'), (name, info['seg_map_path'], 'read')
            right = (expected >= threshold).astype(np.uint8)
            assert np.array_equal(mask, right), (name, info['seg_map_path'])
    return error is not None


# The default suite's sample and the whole sweep (-m slow); the same seed, so
# the sample is the sweep's first datasets.
@pytest.mark.parametrize('num_datasets', [40, pytest.param(150, marks=pytest.mark.slow)])
def test_saliency_readers_fuzz(tmp_path, num_datasets):
    init_default_scope('mmseg')
    rng = np.random.default_rng(SEED)
    counts = dict(datasets=0, masks=0, right=0, named_errors=0)
    for case in range(num_datasets):
        root = tmp_path / str(case)
        cases = write_case(rng, root)
        threshold = int(rng.choice([1, 64, 128, 200, 255]))
        load = [TRANSFORMS.build(dict(type='LoadImageFromFile'))]
        pipelines = {'LoadSaliencyMask': load + [TRANSFORMS.build(dict(
            type='res2net_mm.LoadSaliencyMask', threshold=threshold))]}
        cfg = dict(type='res2net_mm.SaliencyDataset', data_root=str(root),
                   data_prefix=dict(img_path='imgs', seg_map_path='gt'))
        counts['datasets'] += 1
        missing = [s for s, c in cases.items() if c[1] == 'missing']
        try:
            dataset = DATASETS.build(cfg)
        except EmptyDatasetError as error:
            assert not cases and str(root / 'imgs') in str(error)
            counts['named_errors'] += 1
            continue
        except MissingMaskError as error:
            assert str(root / 'gt' / f'{missing[0]}.png') in str(error)
            counts['named_errors'] += 1
            continue
        assert cases and not missing
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            expected, outcome, mode = cases[info['img_path'].rsplit('/', 1)[-1][:-4]]
            failed = check(info, expected, outcome, threshold, pipelines)
            if outcome == 'right':  # mmseg's loader, then BinarizeMask re-reading by meaning
                check(info, expected, outcome, threshold, {'LoadAnnotations+BinarizeMask': load + [
                    TRANSFORMS.build(dict(type='LoadAnnotations')),
                    TRANSFORMS.build(dict(type='res2net_mm.BinarizeMask', threshold=threshold))]})
            counts['masks'] += 1
            counts['named_errors' if failed else 'right'] += 1
    print(f'saliency reader fuzz: {counts}')
    assert counts['datasets'] == num_datasets and counts['masks'] > num_datasets
