"""A research/slim-style image dataset over TFRecord shards of ``tf.train.Example``.

:class:`TFRecordImageDataset` plays the part of TF-Slim's ``slim.dataset.Dataset``
+ ``TFExampleDecoder`` + ``DatasetDataProvider`` for image classification:
it reads the keys research/slim's converters write
(``datasets/dataset_utils.image_to_tfexample``)::

    image/encoded      bytes   PNG or JPEG (or raw with image_shape)
    image/format       bytes   b'png', b'jpg', ... (only 'raw' changes decoding)
    image/class/label  int64   the class id
    image/height, image/width  int64 (informative; not needed to decode)

and yields ``(image, label)``: ``image`` a uint8 CHW tensor (after
``transform``), ``label`` the int ``image/class/label - labels_offset``
(train_image_classifier's ``--labels_offset``).

It is a *map-style* dataset, so ``DataLoader(shuffle=True)``, worker
processes and ``DistributedSampler`` work as usual; TF-Slim's queues, reader
threads and ``num_epochs`` become the DataLoader's job. Random access needs
each record's byte offset: the index is built lazily, on the first ``len()``
or item, by reading only the 12-byte record headers of every shard (a few
seconds for ImageNet's 1.28M records on a local disk), or eagerly with
:meth:`~TFRecordImageDataset.build_index`. The DataLoader asks ``len()`` in
the main process, so worker processes inherit the index rather than each
scanning again. GZIP/ZLIB shards work but each item inflates its shard from
the start; for training, keep shards uncompressed (research/slim's
converters write them so).

    >>> import os, tempfile, torch
    >>> from torchvision.io import encode_png
    >>> from slimtorch.data import encode_example, write_tfrecord
    >>> d = tempfile.mkdtemp()
    >>> png = encode_png(torch.zeros(3, 2, 2, dtype=torch.uint8)).numpy().tobytes()
    >>> for shard in range(2):
    ...     _ = write_tfrecord(os.path.join(d, f"train-{shard:05d}-of-00002"),
    ...                        [encode_example({"image/encoded": png, "image/format": b"png",
    ...                                         "image/class/label": 10 * shard + i})
    ...                         for i in range(3)])
    >>> data = TFRecordImageDataset(os.path.join(d, "train@2"), labels_offset=1)
    >>> len(data), data[4][1], data[4][0].shape
    (6, 10, torch.Size([3, 2, 2]))
"""

from __future__ import annotations

import bisect
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch.utils.data

from slimtorch.data._compression import normalize_compression_type
from slimtorch.data.errors import TFRecordError
from slimtorch.data.example import decode_example
from slimtorch.data.image_decoding import decode_image_bytes
from slimtorch.data.shards import expand_file_pattern
from slimtorch.data.tfrecord import read_record_at, scan_record_offsets

__all__ = ["TFRecordImageDataset"]

_INDEX_THREADS = 8  # header reads wait on the disk, not the GIL


class TFRecordImageDataset(torch.utils.data.Dataset):
    """Images and labels from TFRecord shards of ``tf.train.Example``.

    Args:
      file_pattern: a glob (``flowers_train_*.tfrecord``), ``path@N``, a file,
        or a list of these (see :func:`~slimtorch.data.expand_file_pattern`).
        No match raises ``FileNotFoundError`` naming the pattern, at once.
      num_samples: the documented size (research/slim's ``SPLITS_TO_SIZES``),
        kept as ``self.num_samples`` for learning-rate schedules before the
        index exists. ``len()`` is the true count; a mismatch warns once.
      items_to_descriptions: kept as an attribute, as in TF-Slim's Dataset.
      labels_offset: subtracted from every label (e.g. 1 to drop ImageNet's
        background class for a 1000-class net).
      transform: applied to the uint8 CHW image tensor.
      channels: 3 (TF-Slim's default: grayscale→RGB, alpha dropped), 1, 0
        (as stored) or 4.
      image_shape: TF-Slim's ``Image(shape=[h, w, c])``: required for ``raw``
        images, otherwise a check on every decoded image.
      compression_type: TF's ``""``, ``"GZIP"`` or ``"ZLIB"``.
      num_classes, labels_to_names: kept as attributes (TF-Slim's Dataset
        kwargs research/slim sets).
      image_key, format_key, label_key: the feature names to read.

    A record that is corrupt, or lacks a single int label, raises
    :class:`~slimtorch.data.TFRecordError` naming its file and byte offset.
    """

    def __init__(self, file_pattern, num_samples: int | None = None,
                 items_to_descriptions: dict | None = None, labels_offset: int = 0,
                 transform=None, *, channels: int = 3, image_shape=None,
                 compression_type: str | None = "", num_classes: int | None = None,
                 labels_to_names: dict | None = None, image_key: str = "image/encoded",
                 format_key: str = "image/format", label_key: str = "image/class/label"):
        self.file_pattern = file_pattern
        self.files = expand_file_pattern(file_pattern)
        self.num_samples = num_samples
        self.items_to_descriptions = dict(items_to_descriptions or {})
        self.labels_offset = int(labels_offset)
        self.transform = transform
        self.channels = channels
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.compression_type = normalize_compression_type(compression_type)
        self.num_classes = num_classes
        self.labels_to_names = labels_to_names
        self.image_key, self.format_key, self.label_key = image_key, format_key, label_key
        self._offsets: list[np.ndarray] | None = None
        self._starts: list[int] | None = None  # first global index of each shard

    # ------------------------------------------------------------ the index

    def build_index(self) -> "TFRecordImageDataset":
        """Scan every shard's record offsets now (otherwise on first use)."""
        if self._offsets is not None:
            return self
        scan = lambda path: scan_record_offsets(path, self.compression_type)  # noqa: E731
        with ThreadPoolExecutor(min(_INDEX_THREADS, len(self.files))) as pool:
            offsets = list(pool.map(scan, self.files))
        starts, total = [], 0
        for shard in offsets:
            starts.append(total)
            total += len(shard)
        if self.num_samples is not None and self.num_samples != total:
            warnings.warn(f"TFRecordImageDataset({self.file_pattern!r}): num_samples="
                          f"{self.num_samples} but the files hold {total} records; "
                          "len() reports the records", stacklevel=2)
        self._offsets, self._starts = offsets, starts
        return self

    def __len__(self) -> int:
        self.build_index()
        return self._starts[-1] + len(self._offsets[-1])

    def locate(self, index: int) -> tuple[str, int]:
        """``(file, byte offset)`` of record ``index`` (negative counts from the end).

        Raises ``IndexError`` outside ``[-len, len)``, as a sequence does.
        """
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError(f"TFRecordImageDataset index {index} out of range "
                             f"for {size} records")
        shard = bisect.bisect_right(self._starts, position) - 1
        return self.files[shard], int(self._offsets[shard][position - self._starts[shard]])

    # ------------------------------------------------------------- reading

    def example(self, index: int) -> dict[str, list]:
        """The decoded ``tf.train.Example`` of record ``index`` (every feature).

        Use it for keys this class does not interpret (bounding boxes, text).
        """
        path, offset = self.locate(index)
        record = read_record_at(path, offset, self.compression_type)
        try:
            return decode_example(record)
        except TFRecordError as error:
            raise error.located(path, offset) from None

    def _label(self, features: dict) -> int:
        values = features.get(self.label_key)
        if not values or len(values) != 1 or not isinstance(values[0], int):
            raise TFRecordError(f"expected one int64 in {self.label_key!r}, "
                                f"found {values!r}")
        return values[0] - self.labels_offset

    def __getitem__(self, index: int):
        features = self.example(index)
        try:
            encoded = features.get(self.image_key) or [b""]
            image_format = (features.get(self.format_key) or [b""])[0]
            if len(encoded) != 1 or not isinstance(encoded[0], bytes):
                raise TFRecordError(f"expected one encoded image in "
                                    f"{self.image_key!r}, found {len(encoded)}")
            image = decode_image_bytes(encoded[0], image_format, self.channels,
                                       self.image_shape)
            label = self._label(features)
        except TFRecordError as error:
            raise error.located(*self.locate(index)) from None
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    def __repr__(self) -> str:
        size = "unindexed" if self._offsets is None else f"{len(self)} records"
        return (f"TFRecordImageDataset({self.file_pattern!r}, {len(self.files)} "
                f"files, {size})")
