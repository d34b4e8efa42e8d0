"""Heads for the paper's experiments that no OpenMMLab library has:
``DSSHead`` (``dss_head.py``, an mmseg decode head for salient object
detection). They import their library at module top, so this package does
not import them: the registry's ``locations`` do, when mmseg builds one."""
