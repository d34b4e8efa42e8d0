"""The errors of checkpoint reading, conversion and download."""


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, recognised or converted without loss."""


class DownloadError(CheckpointError):
    """No mirror of a zoo file gave a complete file with the published sha256."""


class BareBackboneError(CheckpointError):
    """A backbone's own state dict (keys without the ``backbone.`` prefix)
    given to a whole model, which would load none of it."""


class CacheNotWritableError(DownloadError):
    """The zoo cache folder cannot be written; no mirror is at fault."""
