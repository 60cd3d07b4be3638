"""TF-Slim's ``parallel_reader``: read records from many files, optionally shuffled.

TF builds a filename queue, ``num_readers`` reader ops and a common
(FIFO or shuffling) queue filled by threads; each ``sess.run`` dequeues one
record. Eagerly, "a tensor that gives the next record on each run" is a
Python iterator, so here:

* :func:`parallel_read` returns a ``torch.utils.data.IterableDataset`` of
  ``(key, value)`` records: ``for key, value in parallel_read(...)`` replaces
  ``key, value = parallel_read(...)`` + ``sess.run``. The end of
  ``num_epochs`` ends the iteration (TF's ``OutOfRangeError``).
* the ``num_readers`` readers read different files, interleaved record by
  record (a deterministic schedule of TF's reader threads);
* ``shuffle=True`` shuffles the file order each epoch (TF's
  ``string_input_producer``) and draws records through a buffer of
  ``capacity`` (TF's ``RandomShuffleQueue``); ``seed`` makes both repeatable;
* under a ``DataLoader`` with ``num_workers=k``, worker ``i`` reads the
  files ``i, i + k, ...`` (file-level shards, as TF-Slim's readers split
  files), each with its own seed.

A key is TF's ``TFRecordReader`` key: ``b"<file>:<byte offset>"``.

    >>> import os, tempfile
    >>> from slimtorch.data import write_tfrecord
    >>> d = tempfile.mkdtemp()
    >>> for shard in range(2):
    ...     _ = write_tfrecord(os.path.join(d, f"data-{shard}"), [b"%d%d" % (shard, i) for i in range(3)])
    >>> records = parallel_read(os.path.join(d, "data-*"), TFRecordReader, num_epochs=1,
    ...                         num_readers=2, shuffle=False)
    >>> [value for _, value in records]
    [b'00', b'10', b'01', b'11', b'02', b'12']
"""

from __future__ import annotations

import random
from typing import Iterable, Iterator

import torch.utils.data

from slimtorch.data.shards import expand_file_pattern
from slimtorch.data.tfrecord import _iter_with_offsets

__all__ = ["FIFOQueue", "ParallelReader", "RandomShuffleQueue", "TFRecordReader",
           "get_data_files", "parallel_read", "single_pass_read"]


class TFRecordReader:
    """``tf.TFRecordReader``: reads ``(key, record)`` pairs from TFRecord files.

    Args:
      name: ignored (TF's op name).
      options: TF's ``TFRecordOptions``, or its ``compression_type`` string.
      compression_type: ``""``, ``"GZIP"`` or ``"ZLIB"`` (wins over ``options``).

        >>> import os, tempfile
        >>> from slimtorch.data import write_tfrecord
        >>> path = os.path.join(tempfile.mkdtemp(), "r")
        >>> _ = write_tfrecord(path, [b"a", b"b"])
        >>> [(key.decode().split(":")[1], value) for key, value in TFRecordReader().records(path)]
        [('0', b'a'), ('17', b'b')]
    """

    def __init__(self, name=None, options=None, compression_type: str | None = None):
        if compression_type is None:
            compression_type = getattr(options, "compression_type", options) or ""
        self.compression_type = compression_type

    def records(self, path: str) -> Iterator[tuple[bytes, bytes]]:
        """Every record of ``path`` with its key ``b"path:offset"``."""
        for offset, data in _iter_with_offsets(path, self.compression_type):
            yield f"{path}:{offset}".encode("utf-8"), data


class FIFOQueue:
    """The common queue of a non-shuffling read: records leave in the order read.

    Only ``capacity`` and ``dtypes`` (two strings: key and value) matter
    eagerly; the other arguments are accepted for TF's signature.
    """

    def __init__(self, capacity: int = 256, dtypes=None, shapes=None, names=None,
                 shared_name=None, name=None):
        self.capacity = int(capacity)
        self.dtypes = list(dtypes) if dtypes is not None else ["string", "string"]

    def _drain(self, records: Iterator, rng: random.Random) -> Iterator:
        return records


class RandomShuffleQueue(FIFOQueue):
    """The common queue of a shuffling read: a buffer of ``capacity`` records
    from which each dequeue takes one at random (``min_after_dequeue`` is kept
    for TF's signature; a full buffer always holds at least that many)."""

    def __init__(self, capacity: int = 256, min_after_dequeue: int = 128, dtypes=None,
                 shapes=None, names=None, seed=None, shared_name=None, name=None):
        super().__init__(capacity, dtypes)
        if not 0 <= int(min_after_dequeue) < self.capacity:
            raise ValueError(f"RandomShuffleQueue: min_after_dequeue must be in [0, capacity="
                             f"{self.capacity}), got {min_after_dequeue}")
        self.min_after_dequeue = int(min_after_dequeue)
        self.seed = seed

    def _drain(self, records: Iterator, rng: random.Random) -> Iterator:
        buffer: list = []
        for record in records:
            buffer.append(record)
            if len(buffer) >= self.capacity:
                index = rng.randrange(len(buffer))
                buffer[index], buffer[-1] = buffer[-1], buffer[index]
                yield buffer.pop()
        rng.shuffle(buffer)
        yield from buffer


def _check_queue(common_queue) -> None:
    dtypes = getattr(common_queue, "dtypes", None)
    if not isinstance(common_queue, FIFOQueue) or len(dtypes) != 2 or any(
            d not in ("string", bytes, str) for d in dtypes):
        raise TypeError("ParallelReader: common_queue must be a FIFOQueue or RandomShuffleQueue "
                        f"with dtypes [string, string], got {common_queue!r}")


class ParallelReader:
    """``num_readers`` readers of ``reader_class`` reading different files at once.

    Args:
      reader_class: a reader class such as :class:`TFRecordReader` (anything
        made by ``reader_class(**reader_kwargs)`` with a ``records(path)``
        method yielding ``(key, value)``).
      common_queue: a :class:`FIFOQueue` or :class:`RandomShuffleQueue`.
      num_readers: how many files are read at once, interleaved.
      reader_kwargs: keyword arguments for ``reader_class``.
      seed: the seed of a shuffling queue's draws (default: the queue's).

        >>> import os, tempfile
        >>> from slimtorch.data import write_tfrecord
        >>> d = tempfile.mkdtemp()
        >>> paths = [os.path.join(d, name) for name in "ab"]
        >>> for path in paths:
        ...     _ = write_tfrecord(path, [path[-1].encode()] * 2)
        >>> reader = ParallelReader(TFRecordReader, FIFOQueue(), num_readers=2)
        >>> [values for _, values in reader.read_up_to(paths, 3)]
        [[b'a', b'b', b'a'], [b'b']]
        >>> reader.num_records_produced(), reader.num_work_units_completed()
        (4, 2)
    """

    def __init__(self, reader_class, common_queue, num_readers: int = 4, reader_kwargs=None,
                 seed=None):
        _check_queue(common_queue)
        if int(num_readers) < 1:
            raise ValueError(f"ParallelReader: num_readers must be >= 1, got {num_readers}")
        reader_kwargs = reader_kwargs or {}
        self._readers = [reader_class(**reader_kwargs) for _ in range(int(num_readers))]
        self._common_queue = common_queue
        self._seed = getattr(common_queue, "seed", None) if seed is None else seed
        self._records_produced = 0
        self._work_units_completed = 0

    @property
    def num_readers(self) -> int:
        return len(self._readers)

    @property
    def common_queue(self):
        return self._common_queue

    def _interleave(self, queue: Iterable[str]) -> Iterator[tuple[bytes, bytes]]:
        files = iter(queue)
        active: list = []
        for reader in self._readers:
            path = next(files, None)
            if path is None:
                break
            active.append((reader, reader.records(path)))
        while active:
            still = []
            for reader, records in active:
                record = next(records, None)
                if record is None:
                    self._work_units_completed += 1
                    path = next(files, None)
                    if path is not None:
                        still.append((reader, reader.records(path)))
                    continue
                self._records_produced += 1
                yield record
                still.append((reader, records))
            active = still

    def read(self, queue: Iterable[str], name=None) -> Iterator[tuple[bytes, bytes]]:
        """The records of the files ``queue`` yields, through the common queue.

        ``queue`` is TF's filename queue: any iterable of file names (a list
        for one pass, ``itertools.cycle`` for TF's endless default).
        """
        rng = random.Random(self._seed)
        return self._common_queue._drain(self._interleave(queue), rng)

    def read_up_to(self, queue: Iterable[str], num_records: int, name=None):
        """Like :meth:`read`, in ``(keys, values)`` lists of at most ``num_records``."""
        keys, values = [], []
        for key, value in self.read(queue):
            keys.append(key)
            values.append(value)
            if len(keys) == num_records:
                yield keys, values
                keys, values = [], []
        if keys:
            yield keys, values

    def num_records_produced(self, name=None) -> int:
        """How many records the readers have produced so far."""
        return self._records_produced

    def num_work_units_completed(self, name=None) -> int:
        """How many files the readers have finished."""
        return self._work_units_completed


def _filename_queue(files: list, num_epochs, shuffle: bool, rng: random.Random) -> Iterator[str]:
    """TF's ``string_input_producer``: the files, reshuffled every epoch."""
    epoch = 0
    while num_epochs is None or epoch < num_epochs:
        order = list(files)
        if shuffle:
            rng.shuffle(order)
        yield from order
        epoch += 1


class _RecordStream(torch.utils.data.IterableDataset):
    """What :func:`parallel_read` returns: an iterable dataset of ``(key, value)``."""

    def __init__(self, files, reader_class, num_epochs, num_readers, reader_kwargs, shuffle,
                 common_queue, seed):
        self.files, self.reader_class, self.num_epochs = files, reader_class, num_epochs
        self.num_readers, self.reader_kwargs, self.shuffle = num_readers, reader_kwargs, shuffle
        self.common_queue, self.seed = common_queue, seed

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        files, seed = self.files, self.seed
        worker = torch.utils.data.get_worker_info()
        if worker is not None:  # file-level shards, one seed per worker
            files = files[worker.id::worker.num_workers]
            seed = worker.seed if seed is None else seed * 1000003 + worker.id
            if not files:
                return
        rng = random.Random(seed)
        names = _filename_queue(files, self.num_epochs, self.shuffle, rng)
        reader = ParallelReader(self.reader_class, self.common_queue,
                                min(self.num_readers, len(files)), self.reader_kwargs,
                                seed=rng.random() if seed is not None else None)
        yield from reader.read(names)


def parallel_read(data_sources, reader_class, num_epochs=None, num_readers: int = 4,
                  reader_kwargs=None, shuffle: bool = True, dtypes=None, capacity: int = 256,
                  min_after_dequeue: int = 128, seed=None, scope=None):
    """TF-Slim's ``parallel_read``: every record of ``data_sources``, as an iterable dataset.

    Args:
      data_sources: a glob, ``path@N``, file name or a list of them
        (:func:`get_data_files`).
      reader_class: e.g. :class:`TFRecordReader`.
      num_epochs: passes over the files; ``None`` cycles forever (TF's default).
      num_readers: files read at once, interleaved.
      reader_kwargs: keyword arguments for ``reader_class``.
      shuffle: shuffle the files each epoch and the records through a
        :class:`RandomShuffleQueue` of ``capacity``; else a :class:`FIFOQueue`.
      dtypes, scope: accepted for TF's signature.
      capacity, min_after_dequeue: the common queue's.
      seed: makes the shuffles repeatable.

    Returns:
      An iterable dataset of ``(key, value)`` pairs (see the module docstring).
    """
    files = get_data_files(data_sources)
    if shuffle:
        queue = RandomShuffleQueue(capacity, min_after_dequeue, dtypes, seed=seed)
    else:
        queue = FIFOQueue(capacity, dtypes)
    return _RecordStream(files, reader_class, num_epochs, num_readers, reader_kwargs, shuffle,
                         queue, seed)


def single_pass_read(data_sources, reader_class, reader_kwargs=None, scope=None):
    """One reader, one pass over ``data_sources`` in order: ``(key, value)`` pairs.

        >>> import os, tempfile
        >>> from slimtorch.data import write_tfrecord
        >>> path = os.path.join(tempfile.mkdtemp(), "one")
        >>> _ = write_tfrecord(path, [b"x", b"y"])
        >>> [value for _, value in single_pass_read(path, TFRecordReader)]
        [b'x', b'y']
    """
    return parallel_read(data_sources, reader_class, num_epochs=1, num_readers=1,
                         reader_kwargs=reader_kwargs, shuffle=False, capacity=1, scope=scope)


def get_data_files(data_sources) -> list[str]:
    """The files a glob, ``path@N`` spec, file name or list of them names.

    As TF-Slim's, except that a ``path@N`` spec is expanded and a missing
    file is reported at once. Nothing found raises ``ValueError`` (TF-Slim's
    type) naming the sources.

        >>> get_data_files("/no/such/dir/train-*")
        Traceback (most recent call last):
        ...
        ValueError: No data files found in /no/such/dir/train-*: no files match the pattern '/no/such/dir/train-*'
    """
    try:
        return expand_file_pattern(data_sources)
    except FileNotFoundError as error:
        raise ValueError(f"No data files found in {data_sources}: {error}") from None
