"""The fast path: the reference Res2Net computed in fewer, cheaper ops.

``dispatch`` runs a ``Res2Net`` with ``impl='fast'`` (or 'auto' on the CPU) (per-call BN folding,
channels-last, joined-input convs); ``lean`` holds the memory-lean training
ops with hand-written backward passes; ``torch_ops`` the private torch API
they use, version-gated in one place; ``deploy`` the explicit deploy step
(``fuse_conv_bn``). Nothing here adds parameters, buffers or state-dict
keys; ``impl='reference'`` switches all of it off. This ``__init__``
imports nothing, so the backbones can import ``dispatch`` without a circle.
"""
