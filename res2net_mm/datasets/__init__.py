"""Data for res2net_mm: the built-in synthetic shapes dataset, its
per-object classification crops and its CAM scenes."""
from .cam_scenes import generate_cam_scenes
from .crops import CROP_SIZE, generate_shape_crops
from .synthetic import (KEYPOINT_CLASS, KEYPOINT_METAINFO_FILE, KEYPOINT_NAMES,
                        SEG_CLASSES, SEG_PALETTE, SHAPE_CLASSES, SKELETON,
                        generate_shapes)

__all__ = [
    'generate_shapes', 'generate_shape_crops', 'generate_cam_scenes', 'CROP_SIZE', 'SHAPE_CLASSES', 'KEYPOINT_CLASS', 'KEYPOINT_NAMES',
    'KEYPOINT_METAINFO_FILE', 'SKELETON', 'SEG_CLASSES', 'SEG_PALETTE'
]
