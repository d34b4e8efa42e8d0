"""The errors of checkpoint reading, conversion and download."""


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, recognised or converted without loss."""


class DownloadError(CheckpointError):
    """No mirror of a zoo file gave a complete file with the published sha256."""
