"""The picture of the CAM tool, in the style of the paper's Fig. 4: one row
per image, the image (object mask outlined) and then one CAM per model and
method, the scored class above each."""
import io

import matplotlib

matplotlib.use('Agg')  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from pytorch_grad_cam.utils.image import show_cam_on_image  # noqa: E402


def overlay(image, cam):
    """``cam`` (H x W in [0, 1]) as a jet heat map over ``image`` (RGB
    uint8 H x W), half and half: ``grad-cam``'s own rendering."""
    return show_cam_on_image(np.float32(image) / 255, cam, use_rgb=True)


def save_grid(rows, columns, out_file, title=''):
    """Write the grid.

    Args:
        rows (list[dict]): Per image: ``image`` (RGB uint8), ``mask`` (bool
            or None), ``cells`` (one per column: dict of ``image`` (the
            model's input, RGB), ``cam`` (same size) and ``label`` (text
            above it)).
        columns (list[str]): Column headers after the image column.
        out_file (str): PNG path (written in 256 adaptive colours,
            dithered); another suffix: matplotlib's format of that name.
        title (str): Figure title. Defaults to ''.
    """
    cols = 1 + len(columns)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.9 * cols, 2.1 * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        axes[r, 0].imshow(row['image'])
        if row['mask'] is not None:
            axes[r, 0].contour(row['mask'], levels=[0.5], colors='white', linewidths=0.8)
        axes[r, 0].set_title('image' if r == 0 else '', fontsize=8)
        for c, cell in enumerate(row['cells'], start=1):
            axes[r, c].imshow(overlay(cell['image'], cell['cam']))
            header = columns[c - 1] + '\n' if r == 0 else ''
            axes[r, c].set_title(header + cell['label'], fontsize=8)
    for ax in axes.flat:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))  # room for the title
    if not str(out_file).lower().endswith('.png'):
        fig.savefig(out_file, dpi=100)
    else:  # in 256 colours: a full-colour PNG of noisy photos runs to megabytes
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png', dpi=100)
        Image.open(buffer).convert('RGB').quantize(
            256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG).save(
                out_file, optimize=True)
    plt.close(fig)
