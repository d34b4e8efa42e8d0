"""Argument resolution and validation for ``Res2Net``: every value is checked
at construction and an invalid one names itself and what is allowed."""
import torch

from .variants import ARCHS, STAGE_BLOCKS, STEMS

ARCH_KEYS = ('depth', 'base_width', 'scales', 'cardinality', 'stem', 'se')
STAGE_POOLS = ('always', 'strided')
STYLES = ('pytorch', 'caffe')
MEMORY_FORMATS = dict(channels_last=torch.channels_last, contiguous=torch.contiguous_format)


def _check(ok, message):
    if not ok:
        raise ValueError(message)


def _positive_int(name, value):
    _check(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
           f'{name} must be an int >= 1, got {value!r}')


def resolve_arch(arch, depth=None, scales=None, base_width=None, deep_stem=None,
                 avg_down=None):
    """Return the validated architecture dict for ``Res2Net``.

    ``arch`` is a name of ``ARCHS`` or a dict of ``ARCH_KEYS``; the mmdet-style
    ``depth/scales/base_width`` are used only without ``arch`` (mmdet's
    defaults: 26w x 4s, v1b). ``deep_stem``/``avg_down`` override the stem.
    """
    mmdet_style = dict(depth=depth, scales=scales, base_width=base_width)
    if arch is None and depth is None:
        arch = 'res2net50_26w_4s'
    if arch is not None:
        given = [k for k, v in mmdet_style.items() if v is not None]
        _check(not given, f'give either arch or {given}, not both (arch={arch!r})')
    if arch is None:
        arch = dict(depth=depth, scales=4 if scales is None else scales,
                    base_width=26 if base_width is None else base_width,
                    cardinality=1, stem='v1b', se=False)
    elif isinstance(arch, str):
        _check(arch in ARCHS, f'unknown arch {arch!r}; valid names: {sorted(ARCHS)}')
        arch = ARCHS[arch]
    elif isinstance(arch, dict):
        unknown = set(arch) - set(ARCH_KEYS)
        missing = set(ARCH_KEYS) - set(arch) - {'cardinality', 'se', 'stem'}
        _check(not unknown, f'unknown arch keys {sorted(unknown)}; valid keys: {ARCH_KEYS}')
        _check(not missing, f'arch dict misses keys {sorted(missing)}')
        arch = dict(dict(cardinality=1, stem='v1', se=False), **arch)
    else:
        raise TypeError(f'arch must be a str, a dict or None, got {type(arch).__name__}')

    _check(arch['depth'] in STAGE_BLOCKS,
           f'depth must be one of {sorted(STAGE_BLOCKS)}, got {arch["depth"]!r}')
    for key in ('base_width', 'scales', 'cardinality'):
        _positive_int(key, arch[key])
    _check(arch['stem'] in STEMS, f'stem must be one of {STEMS}, got {arch["stem"]!r}')
    _check(isinstance(arch['se'], bool), f'se must be a bool, got {arch["se"]!r}')
    v1b = arch['stem'] == 'v1b'
    return dict(arch, stage_blocks=STAGE_BLOCKS[arch['depth']],
                deep_stem=v1b if deep_stem is None else bool(deep_stem),
                avg_down=v1b if avg_down is None else bool(avg_down))


def validate_runtime_args(num_stages, strides, dilations, out_indices, frozen_stages,
                          stage_pool, style, multi_grid, stage_with_dcn, dcn,
                          memory_format):
    """Check the per-stage arguments against ``num_stages`` and their ranges."""
    _check(num_stages in (1, 2, 3, 4), f'num_stages must be 1..4, got {num_stages!r}')
    for name, values in (('strides', strides), ('dilations', dilations),
                         ('stage_with_dcn', stage_with_dcn)):
        _check(len(values) >= num_stages,
               f'{name} needs one value per stage ({num_stages}), got {tuple(values)}')
    for name, values in (('strides', strides), ('dilations', dilations)):
        for v in values:
            _positive_int(name, v)
    _check(len(out_indices) > 0 and all(0 <= i < num_stages for i in out_indices),
           f'out_indices must be in [0, {num_stages}), got {tuple(out_indices)}')
    _check(isinstance(frozen_stages, int) and -1 <= frozen_stages <= num_stages,
           f'frozen_stages must be in [-1, {num_stages}], got {frozen_stages!r}')
    _check(stage_pool in STAGE_POOLS, f'stage_pool must be one of {STAGE_POOLS}, got {stage_pool!r}')
    _check(style in STYLES, f'style must be one of {STYLES}, got {style!r}')
    if multi_grid is not None:
        for v in multi_grid:
            _positive_int('multi_grid', v)
    _check(memory_format in MEMORY_FORMATS,
           f'memory_format must be one of {tuple(MEMORY_FORMATS)}, got {memory_format!r}')
    _check(dcn is None or isinstance(dcn, dict), f'dcn must be a dict or None, got {dcn!r}')
    _check(dcn is not None or not any(stage_with_dcn),
           f'stage_with_dcn={tuple(stage_with_dcn)} needs a dcn config')


def stage_plugins(plugins, stage_idx):
    """The plugins of one stage, mmdet's format: dict(cfg, position, stages)."""
    selected = []
    for plugin in plugins or []:
        plugin = dict(plugin)
        stages = plugin.pop('stages', None)
        unknown = set(plugin) - {'cfg', 'position', 'postfix'}
        _check(not unknown, f'unknown plugin keys {sorted(unknown)}; valid: cfg, position, postfix, stages')
        if stages is None or stages[stage_idx]:
            selected.append(plugin)
    return selected
