"""Data for res2net_mm: the built-in synthetic shapes dataset."""
from .synthetic import (KEYPOINT_CLASS, KEYPOINT_METAINFO_FILE, KEYPOINT_NAMES,
                        SEG_CLASSES, SEG_PALETTE, SHAPE_CLASSES, SKELETON,
                        generate_shapes)

__all__ = [
    'generate_shapes', 'SHAPE_CLASSES', 'KEYPOINT_CLASS', 'KEYPOINT_NAMES',
    'KEYPOINT_METAINFO_FILE', 'SKELETON', 'SEG_CLASSES', 'SEG_PALETTE'
]
