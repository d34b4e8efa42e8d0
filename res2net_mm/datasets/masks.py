"""Saliency masks read by their meaning: 8-bit grey, 0 background, 255
salient, whatever the file's mode.

=============  ===========================================================
mode           read as
=============  ===========================================================
L              as it is
1              0 / 255
RGB            the brightest channel
LA, RGBA, PA   the grey (or brightest colour channel), alpha ignored; where
               that is the same value in every pixel and alpha is not, the
               alpha channel is the mask (a cut-out: colour constant, shape
               in alpha)
P              its palette's colours (and transparency), as RGB(A)
I;16*, I       16-bit grey, scaled to 8 bits: round(v * 255 / 65535)
=============  ===========================================================

Anything else (float 'F', CMYK, YCbCr, several frames, 'I' values outside
0..65535), and any file PIL cannot decode (truncated, not an image), is a
``MaskReadError`` naming the file and its mode. mmseg's ``LoadAnnotations``
reads masks modulo 256 and with an alpha channel counted as colour;
``LoadSaliencyMask`` reads them here.
"""
import numpy as np
from PIL import Image

SIXTEEN_BIT = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
WITH_ALPHA = ('LA', 'RGBA', 'PA')


class MaskReadError(ValueError):
    """A mask file that has no saliency meaning here (see the module
    docstring), or does not fit its image."""


def read_mask(path):
    """The mask of the image file ``path`` as a uint8 (H, W) array, 0..255
    by meaning (module docstring). Raises ``MaskReadError`` naming the file,
    ``FileNotFoundError`` where there is none."""
    path = str(path)
    try:
        with Image.open(path) as image:
            image.load()
            frames = getattr(image, 'n_frames', 1)
            if frames != 1:
                raise MaskReadError(f'{path}: a mask is one image, this file has {frames} '
                                    f'frames (mode {image.mode})')
            if image.mode == 'P':
                image = image.convert('RGBA' if 'transparency' in image.info else 'RGB')
            elif image.mode == 'PA':
                image = image.convert('RGBA')
            return mask_meaning(np.asarray(image), image.mode, path)
    except (FileNotFoundError, MaskReadError):
        raise
    except (OSError, SyntaxError, ValueError) as exc:  # PIL's "cannot decode" errors
        raise MaskReadError(f'{path}: not a readable image ({type(exc).__name__}: {exc}); '
                            're-export the mask as an 8-bit grey PNG') from exc


def mask_meaning(array, mode, name='the mask'):
    """``array`` (as PIL gives it for ``mode``) as a uint8 (H, W) mask,
    0..255 by meaning; ``name`` goes into the errors."""
    if mode in ('L', '1'):
        return array.astype(np.uint8) * (255 if mode == '1' else 1)
    if mode == 'RGB':
        return array.max(axis=2).astype(np.uint8)
    if mode in WITH_ALPHA:
        colour, alpha = array[..., :-1].max(axis=2), array[..., -1]
        if colour.min() == colour.max() and alpha.min() != alpha.max():
            return alpha.astype(np.uint8)
        return colour.astype(np.uint8)
    if mode in SIXTEEN_BIT:
        values = array.astype(np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise MaskReadError(f'{name}: mode {mode} values in [{values.min()}, '
                                f'{values.max()}] are not 16-bit grey (0..65535)')
        return ((values * 255 + 32767) // 65535).astype(np.uint8)
    raise MaskReadError(f'{name}: mode {mode!r} has no agreed saliency meaning (accepted: '
                        f'L, 1, RGB, LA, RGBA, P, PA, 16-bit grey); re-export the mask as an '
                        '8-bit grey PNG, 0 background and 255 salient')


def check_mask_fits(mask, results, path):
    """Raise ``MaskReadError`` if ``mask`` (H, W) is not the size of the
    image loaded in ``results`` (``ori_shape``), naming both files."""
    shape = results.get('ori_shape')
    if shape is not None and tuple(shape[:2]) != mask.shape:
        raise MaskReadError(f'{path}: the mask is {mask.shape[1]}x{mask.shape[0]} px, its image '
                            f'{results.get("img_path", "")} {shape[1]}x{shape[0]} px; '
                            'masks must be the size of their images')
