"""TF-Slim's ``prefetch_queue``: assemble the next batches in the background.

In TF, ``prefetch_queue([images, labels]).dequeue()`` gives batches that
``num_threads`` queue-runner threads evaluated ahead of time. Eagerly the
source of batches is an iterable (a ``DataLoader``, a generator): up to
``capacity`` of its elements are fetched ahead by ``num_threads`` Python
threads, and :meth:`PrefetchQueue.dequeue` takes the next one. When the
source is exhausted, ``dequeue`` raises
:class:`~slimtorch.data.errors.OutOfRangeError`, as TF does. A ``dict`` element
comes back as a dict; a list or tuple of tensors (TF's usual argument) that
is not itself a stream of batches is prefetched over and over, as TF
re-evaluates the same tensors.

With more than one thread, elements may leave in a different order than the
source gave them (as in TF).

    >>> batches = ([torch.full((2,), i), torch.zeros(2, 3)] for i in range(3))
    >>> queue = prefetch_queue(batches, capacity=2)
    >>> [queue.dequeue()[0].tolist() for _ in range(3)]
    [[0, 0], [1, 1], [2, 2]]
    >>> queue.dequeue()
    Traceback (most recent call last):
    ...
    slimtorch.data.errors.OutOfRangeError: prefetch_queue: the source of batches is exhausted
"""

from __future__ import annotations

import itertools
import queue as _queue
import threading
from typing import Iterator

import torch

from slimtorch.data.errors import OutOfRangeError

__all__ = ["PrefetchQueue", "prefetch_queue"]

_DONE = object()  # the source's end


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _is_structure(tensors) -> bool:
    """A list/tuple/dict of tensors: TF's argument, one element repeated."""
    values = tensors.values() if isinstance(tensors, dict) else tensors
    return isinstance(tensors, (list, tuple, dict)) and bool(values) and all(
        isinstance(v, torch.Tensor) for v in values)


class PrefetchQueue:
    """The queue :func:`prefetch_queue` returns; see the module docstring."""

    _POLL_S = 0.1  # how often blocked threads look at close() and at each other

    def __init__(self, source: Iterator, capacity: int, num_threads: int):
        self._source = source
        self._lock = threading.Lock()
        self._queue: _queue.Queue = _queue.Queue(maxsize=capacity)
        self._num_threads = num_threads
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    def _put(self, element) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(element, timeout=self._POLL_S)
                return True
            except _queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while not self._closed.is_set():
                with self._lock:
                    element = next(self._source, _DONE)
                if element is _DONE or not self._put(element):
                    return
        except BaseException as error:  # re-raised by dequeue, in the caller's thread
            self._put(_Failure(error))

    def _start(self) -> None:
        if not self._threads:
            for index in range(self._num_threads):
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"prefetch_queue_{index}")
                self._threads.append(thread)
                thread.start()

    def _take(self):
        while True:
            try:
                return self._queue.get(timeout=self._POLL_S)
            except _queue.Empty:
                if not any(thread.is_alive() for thread in self._threads):
                    try:  # an element put just before its thread ended
                        return self._queue.get_nowait()
                    except _queue.Empty:
                        raise OutOfRangeError("prefetch_queue: the source of batches is "
                                              "exhausted") from None

    def dequeue(self, name=None):
        """The next prefetched element; ``OutOfRangeError`` once the source is
        exhausted (or the queue closed) and every prefetched element taken."""
        self._start()
        element = self._take()
        if isinstance(element, _Failure):
            raise element.error
        return element

    def size(self, name=None) -> int:
        """How many elements are prefetched and waiting."""
        return self._queue.qsize()

    def close(self, cancel_pending_enqueues: bool = False, name=None) -> None:
        """Stop prefetching: the threads end; what is prefetched can still be dequeued."""
        self._closed.set()

    def __iter__(self):
        while True:
            try:
                yield self.dequeue()
            except OutOfRangeError:
                return


def prefetch_queue(tensors, capacity: int = 8, num_threads: int = 1, dynamic_pad: bool = False,
                   shared_name=None, name=None) -> PrefetchQueue:
    """Prefetch the elements of ``tensors`` in ``num_threads`` background threads.

    Args:
      tensors: an iterable of elements (lists, tuples or dicts of tensors),
        e.g. a ``DataLoader``; or one list/tuple/dict of tensors, repeated.
      capacity: the most elements fetched ahead.
      num_threads: threads fetching elements.
      dynamic_pad: accepted for TF's signature: eager elements always have
        full shapes, and batches are padded by whoever assembles them.
      shared_name, name: accepted for TF's signature.

    Returns:
      a :class:`PrefetchQueue`; call ``dequeue()`` or iterate it.
    """
    if int(capacity) < 1 or int(num_threads) < 1:
        raise ValueError(f"prefetch_queue: capacity and num_threads must be >= 1, got "
                         f"capacity={capacity}, num_threads={num_threads}")
    if _is_structure(tensors):
        if isinstance(tensors, dict):  # TF sorts the names so the order is the same every run
            tensors = {key: tensors[key] for key in sorted(tensors)}
        source = itertools.repeat(tensors)
    else:
        try:
            source = iter(tensors)
        except TypeError:
            raise TypeError("prefetch_queue: tensors must be an iterable of batches or a "
                            f"list/tuple/dict of tensors, got {type(tensors).__name__}") from None
    return PrefetchQueue(source, int(capacity), int(num_threads))
