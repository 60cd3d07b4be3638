"""The one exception type a malformed TensorFlow checkpoint raises.

Every problem with a checkpoint's bytes (bad magic, truncation, a bad crc,
offsets past the end of a file, absurd shapes, unknown dtypes, protobuf that
does not decode) surfaces as :class:`CheckpointError`, whose message starts
with the file's path, so callers need a single ``except`` clause and users see
which file is broken:

    >>> from slimtorch.checkpoint.errors import CheckpointError
    >>> str(CheckpointError("bad magic number", path="/ckpt/model.ckpt.index"))
    '/ckpt/model.ckpt.index: bad magic number'
    >>> isinstance(CheckpointError("x"), ValueError)
    True

A name that is not in the checkpoint raises :class:`CheckpointKeyError`, both a
``KeyError`` (what ``dict``-like code expects) and a ``CheckpointError``.
"""

from __future__ import annotations

__all__ = ["CheckpointError", "CheckpointKeyError"]


class CheckpointError(ValueError):
    """A checkpoint file is malformed, truncated, corrupt or unsupported.

    ``path`` (the offending file) is kept as an attribute and prefixed to the
    message; ``reason`` is the message without it.
    """

    def __init__(self, reason: str, path: str | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        super().__init__(reason if self.path is None else f"{self.path}: {reason}")

    def __str__(self) -> str:
        # KeyError (a base of CheckpointKeyError) would repr() the message.
        return self.args[0] if self.args else ""


class CheckpointKeyError(CheckpointError, KeyError):
    """A tensor name that the checkpoint does not hold.

        >>> err = CheckpointKeyError("tensor 'w' not found", path="m.ckpt")
        >>> isinstance(err, KeyError), str(err)
        (True, "m.ckpt: tensor 'w' not found")
    """
