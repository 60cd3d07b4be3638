"""The neutral errors that malformed protobuf wire-format bytes raise.

Callers restate them as their own documented type (``CheckpointError``,
``TFRecordError``), so these never reach a user:

    >>> str(WireFormatError("truncated varint"))
    'truncated varint'
    >>> err = WireTypeError("Example.features", 0, (2,))
    >>> str(err), isinstance(err, WireFormatError), isinstance(err, ValueError)
    ('Example.features has wire type 0, expected 2', True, True)
"""

from __future__ import annotations

__all__ = ["WireFormatError", "WireTypeError"]


class WireFormatError(ValueError):
    """Bytes that do not decode as protobuf wire format (no file or offset)."""


class WireTypeError(WireFormatError):
    """A known field with a wire type its schema does not allow.

    ``what`` names the field, ``wire`` is the type found and ``allowed`` the
    tuple of types accepted, kept apart so that callers can word it.
    """

    def __init__(self, what: str, wire: int, allowed: tuple):
        self.what, self.wire, self.allowed = what, wire, tuple(allowed)
        wanted = self.allowed[0] if len(self.allowed) == 1 else f"one of {self.allowed}"
        super().__init__(f"{what} has wire type {wire}, expected {wanted}")
