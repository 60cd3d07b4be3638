"""Translation of tf_slim/data/prefetch_queue_test.py (tf_slim 1.1).

TF's graph (``count_up_to`` counter + ``tf.train.batch`` + queue runners)
becomes an eager source of batches: a ``DataLoader`` over the 50 (or 40)
counted examples. ``prefetch_queue(...).dequeue()`` and the final
``OutOfRangeError`` are checked as in TF.

=================  ==========  =======  ====================  ===============
tf_slim test class translated  passing  documented difference untranslatable
=================  ==========  =======  ====================  ===============
PrefetchQueueTest  5           5        3                     1
=================  ==========  =======  ====================  ===============

Documented differences: testOneThread, testMultiThread, testMultipleDequeue —
images are channels-first, ``(batch, 3, 32, 32)`` (TF: ``(batch, 32, 32, 3)``).
In testMultiThread the 4 threads are prefetch_queue's own (TF's test has 4
``tf.train.batch`` threads and one prefetch thread); the check is the same:
every example arrives exactly once.

Untranslatable: testDynamicPad_failure — it checks that a placeholder of
unknown shape ``[None, 3]`` is refused; eager tensors always have a full
shape, so there is nothing to refuse.
"""

import numpy as np
import pytest
import torch

from slimtorch.data import OutOfRangeError
from slimtorch.data.prefetch_queue import prefetch_queue

_IMAGE_SIZE = 32


class _Counted(torch.utils.data.Dataset):
    """Example i: (counter i, a random image, a random label), like TF's graph."""

    def __init__(self, num_examples):
        self.num_examples = num_examples

    def __len__(self):
        return self.num_examples

    def __getitem__(self, index):
        image = torch.randn(3, _IMAGE_SIZE, _IMAGE_SIZE)
        label = torch.randint(0, 10, (1,), dtype=torch.int32)
        return torch.tensor(index, dtype=torch.int64), image, label


def _batches(num_batches, batch_size):
    return torch.utils.data.DataLoader(_Counted(num_batches * batch_size), batch_size=batch_size)


def test_one_thread():
    batch_size, num_batches = 10, 5
    batcher = prefetch_queue(_batches(num_batches, batch_size))
    for i in range(num_batches):
        results = batcher.dequeue()
        np.testing.assert_array_equal(results[0].numpy(), np.arange(i * batch_size, (i + 1) * batch_size))
        assert results[1].shape == (batch_size, 3, _IMAGE_SIZE, _IMAGE_SIZE)  # Difference: NCHW
        assert results[2].shape == (batch_size, 1)
    # Reached the limit.
    with pytest.raises(OutOfRangeError):
        batcher.dequeue()


def test_multi_thread():
    batch_size, num_batches = 10, 5
    batcher = prefetch_queue(_batches(num_batches, batch_size), num_threads=4)
    value_counter = []
    for _ in range(num_batches):
        results = batcher.dequeue()
        value_counter.append(results[0].numpy())
        assert results[1].shape == (batch_size, 3, _IMAGE_SIZE, _IMAGE_SIZE)  # Difference: NCHW
        assert results[2].shape == (batch_size, 1)
    np.testing.assert_array_equal(np.sort(np.concatenate(value_counter)),
                                  np.arange(0, num_batches * batch_size))
    # Reached the limit.
    with pytest.raises(OutOfRangeError):
        batcher.dequeue()


def test_multiple_dequeue():
    batch_size, num_batches = 10, 4
    batcher = prefetch_queue(_batches(num_batches, batch_size), num_threads=2)
    batches_list = [batcher.dequeue for _ in range(2)]  # two dequeue "ops" on one queue
    value_counter = []
    for _ in range(num_batches // 2):
        for dequeue in batches_list:
            results = dequeue()
            value_counter.append(results[0].numpy())
            assert results[1].shape == (batch_size, 3, _IMAGE_SIZE, _IMAGE_SIZE)  # Difference: NCHW
            assert results[2].shape == (batch_size, 1)
    np.testing.assert_array_equal(np.sort(np.concatenate(value_counter)),
                                  np.arange(0, num_batches * batch_size))
    # Reached the limit.
    with pytest.raises(OutOfRangeError):
        batcher.dequeue()


def test_dynamic_pad():
    # Create 3 tensors of variable but compatible shapes.
    p1 = torch.tensor([[1, 2], [3, 4]], dtype=torch.int32)
    p2 = torch.tensor([[5, 6], [7, 8], [9, 10]], dtype=torch.int32)
    p3 = torch.tensor([[11, 12]], dtype=torch.int32)
    batch = [p1, p2, p3]
    batch_size = len(batch)

    def padding_batch(elements):  # tf.train.batch(dynamic_pad=True)
        padded = torch.nn.utils.rnn.pad_sequence(elements, batch_first=True)
        return [padded, torch.arange(len(elements))]

    batches = [padding_batch(batch)]
    assert batches[0][0].shape == (batch_size, 3, 2)  # TF: [batch_size, None, 2]
    batcher = prefetch_queue(iter(batches), dynamic_pad=True)
    values, _ = batcher.dequeue()
    # We enqueued 3 tensors of [None, 2] shapes, so using dynamic_pad
    # they should be padded to the fixed size [3, 3, 2], where 3
    # is the maximum length of the batch.
    assert np.array_equal(np.array([[[1, 2], [3, 4], [0, 0]],
                                    [[5, 6], [7, 8], [9, 10]],
                                    [[11, 12], [0, 0], [0, 0]]]), values.numpy())
    with pytest.raises(OutOfRangeError):
        batcher.dequeue()


def test_dict_construction():
    batches = {"first": torch.tensor([1], dtype=torch.int32), "second": torch.tensor([2.0, 2.1])}
    prefetcher = prefetch_queue(batches)
    dequeued = prefetcher.dequeue()
    assert isinstance(dequeued, dict)
    assert len(dequeued) == 2
    assert dequeued["first"].dtype == torch.int32
    assert dequeued["second"].dtype == torch.float32


# ---------------------------------------------------- slimtorch's own checks


def test_source_errors_reach_the_caller_and_bad_arguments_are_named():
    def broken():
        yield [torch.zeros(1)]
        raise RuntimeError("disk on fire")

    batcher = prefetch_queue(broken())
    assert batcher.dequeue()[0].shape == (1,)
    with pytest.raises(RuntimeError, match="disk on fire"):
        batcher.dequeue()
    with pytest.raises(ValueError, match="capacity and num_threads must be >= 1"):
        prefetch_queue([torch.zeros(1)], capacity=0)
    with pytest.raises(TypeError, match="iterable of batches"):
        prefetch_queue(3)


def test_iterating_drains_the_queue():
    batcher = prefetch_queue(iter([[torch.tensor(i)] for i in range(5)]), capacity=2)
    assert [int(element[0]) for element in batcher] == [0, 1, 2, 3, 4]


def test_close_stops_an_endless_source():
    batcher = prefetch_queue([torch.zeros(2)], capacity=2)  # TF: the same tensors, forever
    assert batcher.dequeue()[0].shape == (2,)
    batcher.close()
    drained = list(batcher)  # what was prefetched, then the end
    assert len(drained) <= 2
    with pytest.raises(OutOfRangeError):
        batcher.dequeue()
