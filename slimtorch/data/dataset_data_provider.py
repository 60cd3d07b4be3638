"""TF-Slim's ``DatasetDataProvider``: decoded samples of a :class:`~slimtorch.data.dataset.Dataset`.

research/slim's training and evaluation scripts read data as::

    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, num_readers=4, common_queue_capacity=20 * batch_size,
        common_queue_min=10 * batch_size, shuffle=True)
    [image, label] = provider.get(['image', 'label'])

Here the provider is eager and is a ``torch.utils.data.IterableDataset``:

* ``provider.get(items)`` reads the **next** record and returns its items, as
  one ``sess.run`` of TF's tensors does. Ask for every item you need in one
  ``get``: two ``get`` calls read two records (in TF, two tensors from
  ``get`` share a record only when run together).
* iterating the provider yields one ``{item: value}`` dict per record (every
  item, plus ``record_key``), so it feeds a ``DataLoader``; with
  ``num_workers=k`` each worker reads its own shard of the files
  (:mod:`~slimtorch.data.parallel_reader`).
* ``num_epochs=None`` cycles forever, as in TF; after ``num_epochs`` passes,
  ``get`` raises :class:`~slimtorch.data.errors.OutOfRangeError` and the
  iteration stops.

Images are channels-first ``[C, H, W]`` (see
:class:`~slimtorch.data.tfexample_decoder.Image`).

    >>> import os, tempfile
    >>> from slimtorch.data import encode_example, write_tfrecord
    >>> from slimtorch.data.dataset import Dataset
    >>> from slimtorch.data.parallel_reader import TFRecordReader
    >>> from slimtorch.data.parsing import FixedLenFeature, int64
    >>> from slimtorch.data.tfexample_decoder import TFExampleDecoder, Tensor
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.tfrecord")
    >>> _ = write_tfrecord(path, [encode_example({"label": i}) for i in range(3)])
    >>> decoder = TFExampleDecoder({"label": FixedLenFeature([], int64)}, {"label": Tensor("label")})
    >>> provider = DatasetDataProvider(Dataset(path, TFRecordReader, decoder, 3, {}),
    ...                                shuffle=False, num_epochs=1)
    >>> [provider.get(["label"])[0].item() for _ in range(3)]
    [0, 1, 2]
    >>> provider.list_items()
    ['label', 'record_key']
"""

from __future__ import annotations

from typing import Iterator

import torch.utils.data

from slimtorch.data.data_provider import DataProvider
from slimtorch.data.errors import OutOfRangeError
from slimtorch.data.parallel_reader import parallel_read

__all__ = ["DatasetDataProvider"]


class DatasetDataProvider(DataProvider, torch.utils.data.IterableDataset):
    """Reads, shuffles and decodes the records of a ``Dataset``.

    Args:
      dataset: a :class:`~slimtorch.data.dataset.Dataset`.
      num_readers: files read at once (interleaved).
      reader_kwargs: keyword arguments for ``dataset.reader``.
      shuffle: shuffle the files each epoch and the records through a buffer
        of ``common_queue_capacity``.
      num_epochs: passes over the data; ``None`` cycles forever.
      common_queue_capacity, common_queue_min: the shuffle buffer's size and
        TF's ``min_after_dequeue``.
      record_key: the item name of each record's key (``b"file:offset"``).
      seed: makes the shuffles repeatable.
      scope: accepted for TF's signature.

    Raises:
      ValueError: if ``record_key`` is also one of the dataset's items.
    """

    def __init__(self, dataset, num_readers=1, reader_kwargs=None, shuffle=True,
                 num_epochs=None, common_queue_capacity=256, common_queue_min=128,
                 record_key="record_key", seed=None, scope=None):
        items = list(dataset.decoder.list_items())
        if record_key in items:
            raise ValueError("The item name used for `record_key` cannot also be used for a "
                             f"dataset item: {record_key}")
        self._records = parallel_read(
            dataset.data_sources, reader_class=dataset.reader, num_epochs=num_epochs,
            num_readers=num_readers, reader_kwargs=reader_kwargs, shuffle=shuffle,
            capacity=common_queue_capacity, min_after_dequeue=common_queue_min, seed=seed,
            scope=scope)
        self._decoder = dataset.decoder
        self._items = items
        self._record_key = record_key
        self._iterator: Iterator | None = None
        super().__init__(items_to_tensors={}, num_samples=dataset.num_samples)

    def list_items(self):
        """The dataset's items and ``record_key``."""
        return self._items + [self._record_key]

    def __iter__(self) -> Iterator[dict]:
        for key, value in self._records:
            decoded = dict(zip(self._items, self._decoder.decode(value, self._items)))
            decoded[self._record_key] = key
            yield decoded

    def __getstate__(self) -> dict:
        # A DataLoader worker gets its own stream; the main process's open one stays behind.
        return dict(self.__dict__, _iterator=None)

    def _values(self) -> dict:
        if self._iterator is None:
            self._iterator = iter(self)
        try:
            return next(self._iterator)
        except StopIteration:
            raise OutOfRangeError("DatasetDataProvider: the data is exhausted (num_epochs "
                                  "passes were read)") from None
