# mmpose dataset metainfo for the keypoint class ('star') of the synthetic
# shapes data (res2net_mm/datasets/synthetic.py), in the format of mmpose's
# configs/_base_/datasets/coco.py. Use it from an mmpose config with
#   metainfo=dict(from_file='res2net_mm/datasets/shapes_keypoint_metainfo.py')
# This file is also the single source of truth for the keypoint names and the
# skeleton: synthetic.py reads them from here. Keep it plain data (no imports):
# mmengine parses it as a config.
#
# The star is drawn upright (rotated by at most 15 degrees), so its five tips
# have fixed identities. 'left' and 'right' are image left and right, so a
# horizontal flip swaps them.
dataset_info = dict(
    dataset_name='shapes_star',
    paper_info=dict(
        author='res2net_mm',
        title='Synthetic shapes: the built-in demo data of res2net_mm',
        container='res2net_mm/datasets/synthetic.py',
        year='2025',
        homepage='',
    ),
    keypoint_info={
        0: dict(name='top', id=0, color=[255, 128, 0], type='upper', swap=''),
        1: dict(
            name='left', id=1, color=[0, 255, 0], type='upper', swap='right'),
        2: dict(
            name='right', id=2, color=[255, 0, 0], type='upper', swap='left'),
        3: dict(
            name='bottom_left',
            id=3,
            color=[0, 255, 255],
            type='lower',
            swap='bottom_right'),
        4: dict(
            name='bottom_right',
            id=4,
            color=[255, 0, 255],
            type='lower',
            swap='bottom_left'),
    },
    # The strokes of the pentagram, tip to tip.
    skeleton_info={
        0: dict(link=('top', 'bottom_left'), id=0, color=[255, 128, 0]),
        1: dict(link=('bottom_left', 'right'), id=1, color=[0, 255, 255]),
        2: dict(link=('right', 'left'), id=2, color=[255, 0, 0]),
        3: dict(link=('left', 'bottom_right'), id=3, color=[0, 255, 0]),
        4: dict(link=('bottom_right', 'top'), id=4, color=[255, 0, 255]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0],
    # Tips are sharp, well-localised points: COCO's wrist sigma for all.
    sigmas=[0.062, 0.062, 0.062, 0.062, 0.062],
)
