"""Hooks of the ``res2net_mm`` scope (``type='res2net_mm.ParamDigestHook'``):
``FuseConvBNHook`` and ``DeployHook`` (the deploy steps before testing), ``ParamDigestHook``
(a digest of the weights in the log) and ``RandomStateHook`` (bit-identical
resume)."""
from .model_hooks import DeployHook, FuseConvBNHook, ParamDigestHook, param_digest
from .random_state import RandomStateHook, get_rng_states, set_rng_states

__all__ = ['DeployHook', 'FuseConvBNHook', 'ParamDigestHook', 'RandomStateHook', 'get_rng_states',
           'param_digest', 'set_rng_states']
