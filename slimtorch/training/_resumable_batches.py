"""An endless stream of ``(epoch, index, batch)`` over re-iterable data that a
checkpoint can resume exactly: the same batches in the same order, and the
same random numbers afterwards, as if training had never stopped.

Why the random state is part of the position: a ``DataLoader`` draws from
torch's global generator each time an epoch starts (its workers' base seed,
and with ``shuffle=True`` the epoch's permutation). To see the same order
after a restart, the epoch must start again from the generator state it
started from; and training must then go on with the generator state the
uninterrupted run had, those draws included.

    >>> stream = ResumableBatches(['a', 'b', 'c'])
    >>> batches = iter(stream)
    >>> [next(batches)[2] for _ in range(4)]          # epochs repeat
    ['a', 'b', 'c', 'a']
    >>> position = stream.position(consumed=(1, 0))   # what a checkpoint stores
    >>> position['epoch'], position['skip']
    (1, 1)
    >>> resumed = ResumableBatches(['a', 'b', 'c'], resume=position)
    >>> [batch for _, _, batch in itertools.islice(resumed, 3)]
    ['b', 'c', 'a']
"""

from __future__ import annotations

import collections
import itertools
from typing import Iterable, Iterator, Optional

import torch

__all__ = ["ResumableBatches"]


class ResumableBatches:
    """Yields ``(epoch, index_in_epoch, batch)`` forever over ``data`` (a
    ``DataLoader``, a list: anything iterable again and again), calling
    ``data.sampler.set_epoch(epoch)`` where there is one.

    Args:
        data: re-iterable batches.
        resume: a :meth:`position` saved with a checkpoint: start epoch
            ``resume['epoch']`` from the generator state it started from
            (``resume['epoch_rng']``), skipping its first ``resume['skip']``
            batches (a skip longer than the epoch goes on into the next).
        rng_state: the torch generator state saved with that checkpoint. An
            epoch the uninterrupted run started *after* the checkpoint (the
            skip ran past the resumed epoch's end) starts from it.
        batches_before: how many batches the run had consumed before
            (``train`` keeps the count in its checkpoints).

    The stream may run ahead of training (prefetching): :meth:`position`
    takes the last batch training actually consumed.
    """

    def __init__(self, data: Iterable, resume: Optional[dict] = None,
                 rng_state: Optional[torch.Tensor] = None, batches_before: int = 0) -> None:
        self.data = data
        self.batches_before = batches_before
        resume = resume or {}
        self._start_epoch = int(resume.get("epoch", 0))
        self._skip = int(resume.get("skip", 0))
        self._start_rng = resume.get("epoch_rng")
        self._later_rng = rng_state
        self._epoch_rng: dict = {}   # epoch -> generator state before its iterator was made
        self._fetched = collections.deque(maxlen=8)   # (epoch, index) handed out, newest last
        self._rng_after_resume: Optional[torch.Tensor] = None

    def __iter__(self) -> Iterator:
        skip, first = self._skip, True
        for epoch in itertools.count(self._start_epoch):
            if first and epoch == self._start_epoch and self._start_rng is not None:
                torch.set_rng_state(self._start_rng)
            elif first and epoch > self._start_epoch and self._later_rng is not None:
                torch.set_rng_state(self._later_rng)
            self._epoch_rng[epoch] = torch.get_rng_state()
            self._epoch_rng.pop(epoch - 2, None)
            sampler = getattr(self.data, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            produced = False
            for index, batch in enumerate(self.data):
                produced = True
                if skip > 0:
                    skip -= 1
                    continue
                self._fetched.append((epoch, index))
                if first:
                    first = False
                    if epoch > self._start_epoch:   # this epoch's draws came after the checkpoint
                        self._rng_after_resume = torch.get_rng_state()
                yield epoch, index, batch
            if not produced:
                raise ValueError("train: data yielded no batches")

    def rng_after_resume(self) -> Optional[torch.Tensor]:
        """The torch generator state training must continue with after a
        resume, once the first batch was taken: None means the checkpoint's
        own (the draws made to reach the first batch were already part of
        it); otherwise the state after the draws of an epoch that began
        after the checkpoint."""
        return self._rng_after_resume

    def position(self, consumed: tuple) -> dict:
        """Where to resume once the batch ``consumed = (epoch, index)`` was
        trained on: ``{'epoch', 'skip', 'epoch_rng'}`` (``epoch_rng``: the
        generator state that epoch started from, a tensor)."""
        fetched = list(self._fetched)
        if consumed in fetched and fetched.index(consumed) + 1 < len(fetched):
            epoch, skip = fetched[fetched.index(consumed) + 1]   # already fetched ahead
        else:
            epoch, skip = consumed[0], consumed[1] + 1   # perhaps past the end: see rng_state
        position = {"epoch": epoch, "skip": skip}
        if epoch in self._epoch_rng:
            position["epoch_rng"] = self._epoch_rng[epoch]
        return position
