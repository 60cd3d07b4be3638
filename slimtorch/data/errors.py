"""The one exception type malformed TFRecord data raises.

A record whose length or data fails its crc32c, a file that ends inside a
record, a compressed stream that does not inflate, and a ``tf.train.Example``
whose protobuf bytes do not decode all raise :class:`TFRecordError`. The
message starts with the file and the byte offset of the bad record (when
known), so one ``except`` clause catches every problem and the user sees
where it is:

    >>> from slimtorch.data import TFRecordError
    >>> err = TFRecordError("data crc32c mismatch", path="train.tfrecord", offset=120)
    >>> str(err)
    'train.tfrecord: record at byte offset 120: data crc32c mismatch'
    >>> isinstance(err, ValueError), err.path, err.offset
    (True, 'train.tfrecord', 120)
"""

from __future__ import annotations

__all__ = ["OutOfRangeError", "TFRecordError"]


class TFRecordError(ValueError):
    """A TFRecord file or a ``tf.train.Example`` in it is corrupt or malformed.

    ``path`` (the file) and ``offset`` (the byte offset where the bad record
    starts; in the *uncompressed* stream for GZIP/ZLIB files) are kept as
    attributes when known; ``reason`` is the message without them.
    """

    def __init__(self, reason: str, path: str | None = None, offset: int | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        self.offset = offset
        where = []
        if self.path is not None:
            where.append(self.path)
        if offset is not None:
            where.append(f"record at byte offset {offset}")
        super().__init__(": ".join(where + [reason]))

    def located(self, path: str, offset: int | None = None) -> "TFRecordError":
        """The same error with a file (and offset) attached, for re-raising.

            >>> str(TFRecordError("truncated varint").located("a.tfrecord", 0))
            'a.tfrecord: record at byte offset 0: truncated varint'
        """
        return TFRecordError(self.reason, path,
                             self.offset if offset is None else offset)


class OutOfRangeError(Exception):
    """TF's ``tf.errors.OutOfRangeError``: a reader or queue has nothing left.

    Raised by :meth:`DatasetDataProvider.get
    <slimtorch.data.dataset_data_provider.DatasetDataProvider.get>` after
    ``num_epochs`` passes and by a drained
    :func:`~slimtorch.data.prefetch_queue.prefetch_queue`.

        >>> raise OutOfRangeError("the queue is closed and empty")
        Traceback (most recent call last):
        ...
        slimtorch.data.errors.OutOfRangeError: the queue is closed and empty
    """
