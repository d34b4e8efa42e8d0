"""mmcv's layer builders, imported when a model is built: importing mmcv
imports PIL and OpenCV (``mmcv.image``), which ``import res2net_mm`` and the
checkpoint converter do not need."""


def build_conv_layer(*args, **kwargs):
    from mmcv.cnn import build_conv_layer as build
    return build(*args, **kwargs)


def build_norm_layer(*args, **kwargs):
    from mmcv.cnn import build_norm_layer as build
    return build(*args, **kwargs)


def build_plugin_layer(*args, **kwargs):
    from mmcv.cnn import build_plugin_layer as build
    return build(*args, **kwargs)
