"""Argument resolution and validation for every backbone here (``Res2Net``,
``Res2NetDLA``, ``BigLittleRes2Net``): every value is checked at construction
and an invalid one names itself and what is allowed. ``resolve_named_arch``
is the one resolver of named architectures for all three families."""
import torch

from ...variants import ARCH_KEYS, ARCHS, STAGE_BLOCKS, STEMS

STAGE_POOLS = ('always', 'strided', 'paddle')
STYLES = ('pytorch', 'caffe')
MEMORY_FORMATS = dict(channels_last=torch.channels_last, contiguous=torch.contiguous_format)
IMPLS = ('auto', 'fast', 'reference')
PLUGIN_POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')
PLUGIN_KEYS = ('cfg', 'position', 'postfix', 'stages')


def check(ok, message):
    if not ok:
        raise ValueError(message)


def _is_sequence(value):
    return isinstance(value, (list, tuple))


def check_bool(name, value):
    check(isinstance(value, bool), f'{name} must be a bool (True or False), got {value!r}')


def _per_stage(name, values, num_stages):
    check(_is_sequence(values) and len(values) == num_stages,
          f'{name} needs one value per stage (exactly num_stages={num_stages}), '
          f'got {values!r}')


def check_positive_int(name, value):
    check(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
          f'{name} must be an int >= 1, got {value!r}')


def resolve_named_arch(arch, table, keys, default, optional=None):
    """A validated copy of ``arch``: a name of ``table`` or a dict of ``keys``.

    The one resolver of named architectures, for ``Res2Net`` (``ARCHS``),
    ``Res2NetDLA`` (``DLA_ARCHS``) and ``BigLittleRes2Net`` (``BL_ARCHS``).

    Args:
        arch (str | dict | None): The architecture; None means ``default``.
        table (dict): Named architectures (a table of ``variants.py``).
        keys (tuple[str]): The keys an arch dict may have.
        default (str): The name None stands for.
        optional (dict | None): Keys a dict may omit, with their values.
            Defaults to None (every key is required).
    """
    optional = optional or {}
    arch = default if arch is None else arch
    if isinstance(arch, str):
        check(arch in table, f'unknown arch {arch!r}; valid names: {sorted(table)}')
        return dict(table[arch])
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a str, a dict or None, got {type(arch).__name__}')
    unknown, missing = set(arch) - set(keys), set(keys) - set(arch) - set(optional)
    check(not unknown, f'unknown arch keys {sorted(unknown)}; valid keys: {keys}')
    check(not missing, f'arch dict misses keys {sorted(missing)}')
    return dict(optional, **arch)


def resolve_arch(arch, depth=None, scales=None, base_width=None, deep_stem=None,
                 avg_down=None):
    """Return the validated architecture dict for ``Res2Net``.

    ``arch`` is a name of ``ARCHS`` or a dict of ``ARCH_KEYS``; the mmdet-style
    ``depth/scales/base_width`` are used only without ``arch`` (mmdet's
    defaults: 26w x 4s, v1b). ``deep_stem``/``avg_down`` override the stem.
    """
    mmdet_style = dict(depth=depth, scales=scales, base_width=base_width)
    if arch is not None:
        given = [k for k, v in mmdet_style.items() if v is not None]
        check(not given, f'give either arch or {given}, not both (arch={arch!r})')
    if arch is None and depth is not None:
        arch = dict(depth=depth, scales=4 if scales is None else scales,
                    base_width=26 if base_width is None else base_width,
                    cardinality=1, stem='v1b', se=False)
    arch = resolve_named_arch(arch, ARCHS, ARCH_KEYS, default='res2net50_26w_4s',
                              optional=dict(cardinality=1, stem='v1', se=False))

    check(arch['depth'] in STAGE_BLOCKS,
          f'depth must be one of {sorted(STAGE_BLOCKS)}, got {arch["depth"]!r}')
    for key in ('base_width', 'scales', 'cardinality'):
        check_positive_int(key, arch[key])
    check(arch['stem'] in STEMS, f'stem must be one of {STEMS}, got {arch["stem"]!r}')
    check(isinstance(arch['se'], bool), f'se must be a bool, got {arch["se"]!r}')
    v1b = arch['stem'] == 'v1b'
    check(arch['stem'] != 'cifar' or not (deep_stem or avg_down),
          f'the cifar stem has no deep stem or avg-pool shortcut, got '
          f'deep_stem={deep_stem!r}, avg_down={avg_down!r}')
    return dict(arch, stage_blocks=STAGE_BLOCKS[arch['depth']],
                deep_stem=v1b if deep_stem is None else bool(deep_stem),
                avg_down=v1b if avg_down is None else bool(avg_down))


def validate_runtime_args(*, num_stages, strides, dilations, out_indices, frozen_stages,
                          stage_pool, style, multi_grid, stage_with_dcn, dcn,
                          memory_format, stage_blocks, with_cp, norm_eval,
                          zero_init_residual, impl):
    """Check the per-stage arguments against ``num_stages`` and their ranges.

    ``stage_blocks`` is the resolved arch's blocks per stage: ``multi_grid``
    gives one dilation per block of the last built stage. ``memory_format``
    None means the default of ``impl``.
    """
    check(isinstance(num_stages, int) and not isinstance(num_stages, bool)
          and 1 <= num_stages <= len(stage_blocks),
          f'num_stages must be 1..{len(stage_blocks)} (the stages of the arch), '
          f'got {num_stages!r}')
    for name, values in (('strides', strides), ('dilations', dilations)):
        _per_stage(name, values, num_stages)
        for v in values:
            check_positive_int(name, v)
    check_out_indices(out_indices, num_stages)
    check(isinstance(frozen_stages, int) and not isinstance(frozen_stages, bool)
          and -1 <= frozen_stages <= num_stages,
          f'frozen_stages must be in [-1, {num_stages}], got {frozen_stages!r}')
    check(stage_pool in STAGE_POOLS, f'stage_pool must be one of {STAGE_POOLS}, got {stage_pool!r}')
    check(style in STYLES, f'style must be one of {STYLES}, got {style!r}')
    _check_multi_grid(multi_grid, stage_blocks[num_stages - 1], num_stages)
    _check_dcn(dcn, stage_with_dcn, num_stages)
    check(memory_format is None or memory_format in MEMORY_FORMATS,
          f'memory_format must be one of {tuple(MEMORY_FORMATS)} or None (the default of '
          f'impl), got {memory_format!r}')
    check(impl in IMPLS, f'impl must be one of {IMPLS}, got {impl!r}')
    for name, value in (('with_cp', with_cp), ('norm_eval', norm_eval),
                        ('zero_init_residual', zero_init_residual)):
        check_bool(name, value)


def check_out_indices(out_indices, num_stages):
    check(_is_sequence(out_indices),
          f'out_indices must be a list or tuple of stage indices, got {out_indices!r}')
    check(len(out_indices) > 0 and all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_stages
        for i in out_indices),
           f'out_indices must be in [0, {num_stages}), got {tuple(out_indices)}')
    check(len(set(out_indices)) == len(out_indices),
          f'out_indices must not repeat a stage, got {tuple(out_indices)}')


def _check_multi_grid(multi_grid, last_stage_blocks, num_stages):
    if multi_grid is None:
        return
    check(_is_sequence(multi_grid) and len(multi_grid) == last_stage_blocks,
          f'multi_grid needs one dilation per block of the last stage (stage '
          f'{num_stages} has {last_stage_blocks} blocks), got {multi_grid!r}')
    for v in multi_grid:
        check_positive_int('multi_grid', v)


def _check_dcn(dcn, stage_with_dcn, num_stages):
    _per_stage('stage_with_dcn', stage_with_dcn, num_stages)
    for v in stage_with_dcn:
        check_bool('stage_with_dcn entries', v)
    check(dcn is None or isinstance(dcn, dict), f'dcn must be a dict or None, got {dcn!r}')
    if dcn is None:
        check(not any(stage_with_dcn),
              f'stage_with_dcn={tuple(stage_with_dcn)} needs a dcn config')
    else:
        check(any(stage_with_dcn),
              f'dcn={dcn!r} is used by no stage: stage_with_dcn='
              f'{tuple(stage_with_dcn)} has no True')


def stage_plugins(plugins, stage_idx, num_stages):
    """The plugins of one stage, mmdet's format: a list of
    ``dict(cfg, position, stages=None, postfix='')``, ``position`` one of
    ``PLUGIN_POSITIONS``, ``stages`` one bool per stage (None: all)."""
    if plugins is None:
        return []
    check(_is_sequence(plugins),
          f'plugins must be a list of dict(cfg, position, stages), got {plugins!r}')
    selected = []
    for plugin in plugins:
        _check_plugin(plugin, num_stages)
        plugin = dict(plugin)
        stages = plugin.pop('stages', None)
        if stages is None or stages[stage_idx]:
            selected.append(plugin)
    return selected


def _check_plugin(plugin, num_stages):
    check(isinstance(plugin, dict),
          f'each plugin must be a dict(cfg, position, stages), got {plugin!r}')
    unknown = set(plugin) - set(PLUGIN_KEYS)
    check(not unknown, f'unknown plugin keys {sorted(unknown)} in {plugin!r}; valid: {PLUGIN_KEYS}')
    for key in ('cfg', 'position'):
        check(key in plugin, f'plugin {plugin!r} has no {key!r}')
    check(isinstance(plugin['cfg'], dict), f'plugin cfg must be a dict, got {plugin["cfg"]!r}')
    check(plugin['position'] in PLUGIN_POSITIONS,
          f'plugin position {plugin["position"]!r} is not one of {PLUGIN_POSITIONS}')
    stages = plugin.get('stages')
    if stages is not None:
        _per_stage('plugin stages', stages, num_stages)
        for v in stages:
            check_bool('plugin stages entries', v)
