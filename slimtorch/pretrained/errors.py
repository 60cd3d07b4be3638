"""The one exception pretrained-weights problems raise.

A download that fails, an archive that is corrupt or lacks its checkpoint, a
checksum that does not match, an offline machine without the file: each is a
:class:`PretrainedError` whose message names the weights, the URL or file,
and what to do (``slimtorch`` prints it as its one-line error).

    >>> isinstance(PretrainedError('x'), OSError)
    True
"""

from __future__ import annotations

__all__ = ["PretrainedError"]


class PretrainedError(OSError):
    """Pretrained weights could not be downloaded, checked or unpacked."""
