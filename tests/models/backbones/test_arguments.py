"""Every constructor argument takes effect or raises: invalid values fail with
a ValueError whose message names the value (and what is allowed).

``validate_runtime_args`` and ``stage_plugins`` are checked directly, then the
same mistakes through ``Res2Net(...)``, where they reach the user.
"""
import pytest

from res2net_mm.models import Res2Net
from res2net_mm.models.backbones.arch import IMPLS, PLUGIN_POSITIONS, stage_plugins, validate_runtime_args
from res2net_mm.variants import STAGE_BLOCKS

VALID = dict(num_stages=4, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1),
             out_indices=(0, 1, 2, 3), frozen_stages=-1, stage_pool='always',
             style='pytorch', multi_grid=None, stage_with_dcn=(False, ) * 4, dcn=None,
             memory_format=None, stage_blocks=STAGE_BLOCKS[50], with_cp=False,
             norm_eval=False, zero_init_residual=True, impl='fast')
DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
PLUGIN = dict(cfg=dict(type='ContextBlock', ratio=1. / 4), position='after_conv3')

# (overridden arguments, fragments the message must contain)
INVALID_RUNTIME = {
    'multi_grid too short': (dict(multi_grid=(1, 2)), ['(1, 2)', '3 blocks']),
    'multi_grid too long': (dict(multi_grid=(1, 2, 4, 8)), ['(1, 2, 4, 8)', '3 blocks']),
    'multi_grid of a shorter net': (dict(num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                                         stage_with_dcn=(False, ) * 3, out_indices=(0, 1, 2),
                                         multi_grid=(1, 2, 4)), ['(1, 2, 4)', '6 blocks']),
    'multi_grid not a sequence': (dict(multi_grid=2), ['multi_grid', '2']),
    'dcn in no stage': (dict(dcn=DCN), ["'DCN'", 'stage_with_dcn=(False, False, False, False)']),
    'dcn in no built stage': (dict(dcn=DCN, num_stages=3, strides=(1, 2, 2),
                                   dilations=(1, 1, 1), out_indices=(0, 1, 2),
                                   stage_with_dcn=(False, False, False, True)),
                              ['(False, False, False, True)', 'num_stages=3']),
    'stage_with_dcn without dcn': (dict(stage_with_dcn=(False, True, True, True)),
                                   ['(False, True, True, True)']),
    'strides: one more': (dict(strides=(1, 2, 2, 2, 2)), ['(1, 2, 2, 2, 2)', 'num_stages=4']),
    'strides: one fewer': (dict(strides=(1, 2, 2)), ['(1, 2, 2)', 'num_stages=4']),
    'dilations: one more': (dict(dilations=(1, 1, 1, 1, 2)), ['(1, 1, 1, 1, 2)']),
    'stage_with_dcn: one more': (dict(stage_with_dcn=(False, ) * 5), ['(False, False, False, False, False)']),
    'extra stride entries of a 2-stage net': (dict(num_stages=2, out_indices=(0, 1)),
                                              ['strides', '(1, 2, 2, 2)', 'num_stages=2']),
    'with_cp not a bool': (dict(with_cp=1), ['with_cp', '1']),
    'norm_eval not a bool': (dict(norm_eval='yes'), ['norm_eval', "'yes'"]),
    'zero_init_residual not a bool': (dict(zero_init_residual=None), ['zero_init_residual', 'None']),
    'out_indices an int': (dict(out_indices=3), ['out_indices', '3', 'list or tuple']),
    'out_indices repeated': (dict(out_indices=(0, 3, 3)), ['(0, 3, 3)', 'repeat']),
    'out_indices out of range': (dict(out_indices=(0, 4)), ['(0, 4)']),
    'impl unknown': (dict(impl='plain'), ["'plain'", str(IMPLS)]),
    'memory_format unknown': (dict(memory_format='nhwc'), ["'nhwc'", 'channels_last']),
    'frozen_stages a bool': (dict(frozen_stages=True), ['frozen_stages', 'True']),
}


@pytest.mark.parametrize('override,fragments', INVALID_RUNTIME.values(), ids=INVALID_RUNTIME)
def test_validate_runtime_args_names_the_invalid_value(override, fragments):
    with pytest.raises(ValueError) as exc:
        validate_runtime_args(**dict(VALID, **override))
    for fragment in fragments:
        assert fragment in str(exc.value)


@pytest.mark.parametrize('override', [
    dict(), dict(impl='reference'), dict(memory_format='contiguous'),
    dict(memory_format='channels_last'), dict(multi_grid=(1, 2, 4)),
    dict(dcn=DCN, stage_with_dcn=(False, True, True, True)), dict(out_indices=[3]),
    dict(num_stages=1, strides=(1, ), dilations=(1, ), out_indices=(0, ),
         stage_with_dcn=(False, ), multi_grid=(1, 2, 3)),  # layer1 has 3 blocks
], ids=str)
def test_validate_runtime_args_accepts_valid_values(override):
    validate_runtime_args(**dict(VALID, **override))


INVALID_PLUGINS = {
    'a dict, not a list': (PLUGIN, ['plugins must be a list', "'ContextBlock'"]),
    'no cfg': ([dict(position='after_conv3')], ["'cfg'", "'after_conv3'"]),
    'no position': ([dict(cfg=dict(type='ContextBlock'))], ["'position'", "'ContextBlock'"]),
    'unknown position': ([dict(PLUGIN, position='after_conv4')],
                         ["'after_conv4'", str(PLUGIN_POSITIONS)]),
    'stages one short': ([dict(PLUGIN, stages=(False, True, True))],
                         ['(False, True, True)', 'num_stages=4']),
    'stages one more': ([dict(PLUGIN, stages=(False, True, True, True, True))],
                        ['(False, True, True, True, True)']),
    'unknown key': ([dict(PLUGIN, stage=(True, ) * 4)], ["'stage'"]),
    'cfg not a dict': ([dict(PLUGIN, cfg='ContextBlock')], ["'ContextBlock'"]),
}


@pytest.mark.parametrize('plugins,fragments', INVALID_PLUGINS.values(), ids=INVALID_PLUGINS)
def test_stage_plugins_names_the_invalid_value(plugins, fragments):
    with pytest.raises(ValueError) as exc:
        stage_plugins(plugins, 0, 4)
    for fragment in fragments:
        assert fragment in str(exc.value)


def test_stage_plugins_selects_by_stage():
    only_last = dict(PLUGIN, stages=(False, False, False, True), postfix='_last')
    everywhere = dict(PLUGIN, position='after_conv2')
    plugins = [only_last, everywhere]
    assert stage_plugins(plugins, 0, 4) == [everywhere]
    assert stage_plugins(plugins, 3, 4) == [dict(PLUGIN, postfix='_last'), everywhere]
    assert stage_plugins(None, 2, 4) == []
    assert plugins == [only_last, everywhere]  # not changed in place


# The same mistakes through the model (arguments of Res2Net).
INVALID_MODEL = {
    'multi_grid of the wrong length': (dict(multi_grid=(1, 2)), ['(1, 2)']),
    'dcn without a stage': (dict(dcn=DCN), ["'DCN'", 'stage_with_dcn']),
    'extra strides': (dict(strides=(1, 2, 2, 2, 2)), ['(1, 2, 2, 2, 2)']),
    'extra dilations': (dict(dilations=(1, 1, 1, 2, 2)), ['(1, 1, 1, 2, 2)']),
    'extra stage_with_dcn': (dict(stage_with_dcn=(False, ) * 5), ['stage_with_dcn']),
    'with_cp not a bool': (dict(with_cp='True'), ['with_cp', "'True'"]),
    'norm_eval not a bool': (dict(norm_eval=0), ['norm_eval', '0']),
    'zero_init_residual not a bool': (dict(zero_init_residual='no'), ['zero_init_residual', "'no'"]),
    'out_indices an int': (dict(out_indices=3), ['out_indices', '3']),
    'out_indices repeated': (dict(out_indices=(1, 1)), ['(1, 1)']),
    'plugins a dict': (dict(plugins=PLUGIN), ['plugins must be a list']),
    'plugin without position': (dict(plugins=[dict(cfg=PLUGIN['cfg'])]), ["'position'"]),
    'plugin without cfg': (dict(plugins=[dict(position='after_conv2')]), ["'cfg'"]),
    'plugin position unknown': (dict(plugins=[dict(PLUGIN, position='before_conv1')]),
                                ["'before_conv1'", 'after_conv1']),
    'plugin stages of the wrong length': (dict(plugins=[dict(PLUGIN, stages=(True, True))]),
                                          ['(True, True)']),
    'impl unknown': (dict(impl='lean'), ["'lean'", 'reference']),
}


@pytest.mark.parametrize('kwargs,fragments', INVALID_MODEL.values(), ids=INVALID_MODEL)
def test_res2net_rejects_invalid_arguments(kwargs, fragments):
    with pytest.raises(ValueError) as exc:
        Res2Net('res2net50_26w_4s', **kwargs)
    for fragment in fragments:
        assert fragment in str(exc.value)


@pytest.mark.parametrize('impl', IMPLS)
def test_res2net_accepts_each_impl_with_the_default_memory_format(impl):
    model = Res2Net('res2net50_14w_8s', impl=impl, memory_format=None, multi_grid=(1, 2, 4))
    assert len(model.layer4) == 3
