"""Translation of tf_slim/data/parallel_reader_test.py (tf_slim 1.1).

Eagerly, TF's "``key, value`` tensors + ``sess.run`` under queue runners"
becomes "iterate what ``read`` / ``parallel_read`` return"; TF's filename
queue (``string_input_producer``) becomes an iterable of file names.

==================  ==========  =======  ====================  ===============
tf_slim test class  translated  passing  documented difference untranslatable
==================  ==========  =======  ====================  ===============
ParallelReaderTest  4           4        0                     0
ParallelReadTest    1           1        0                     0
SinglePassReadTest  2           2        1                     0
==================  ==========  =======  ====================  ===============

Documented difference: testOutOfRangeError — the end of the data ends the
Python iteration (``StopIteration`` from ``next``) where TF raises
``OutOfRangeError`` from ``sess.run``.

The queue-runner threads, ``Supervisor`` and local-variable initialisation
of these tests are graph scaffolding with no eager counterpart; what they
check (every file read, every record exactly once per epoch, the ``read_up_to``
batch sizes) is kept.
"""

import itertools
import os
import random

import pytest
import torch

from slimtorch.data import parallel_reader, write_tfrecord
from slimtorch.data import test_utils
from slimtorch.data.parallel_reader import FIFOQueue, RandomShuffleQueue, TFRecordReader


def _string_input_producer(files, num_epochs=None, seed=0):
    """TF's string_input_producer: the files, shuffled every epoch."""
    rng = random.Random(seed)
    for _ in itertools.count() if num_epochs is None else range(num_epochs):
        order = list(files)
        rng.shuffle(order)
        yield from order


def _verify_all_data_sources_read(tmp_path, shared_queue):
    tfrecord_paths = test_utils.create_tfrecord_files(str(tmp_path), num_files=3)
    num_readers = len(tfrecord_paths)
    p_reader = parallel_reader.ParallelReader(TFRecordReader, shared_queue, num_readers=num_readers,
                                              seed=0)
    data_files = parallel_reader.get_data_files(tfrecord_paths)
    records = p_reader.read(_string_input_producer(data_files))
    count0 = count1 = count2 = 0
    num_reads = 50
    for current_key, _ in itertools.islice(records, num_reads):
        count0 += "0-of-3" in str(current_key)
        count1 += "1-of-3" in str(current_key)
        count2 += "2-of-3" in str(current_key)
    assert count0 > 0
    assert count1 > 0
    assert count2 > 0
    assert count0 + count1 + count2 == num_reads


def _verify_read_up_to_out(tmp_path, shared_queue):
    num_files, num_records_per_file = 3, 7
    tfrecord_paths = test_utils.create_tfrecord_files(
        str(tmp_path), num_files=num_files, num_records_per_file=num_records_per_file)
    p_reader = parallel_reader.ParallelReader(TFRecordReader, shared_queue, num_readers=5)
    data_files = parallel_reader.get_data_files(tfrecord_paths)
    count0 = count1 = count2 = all_keys_count = all_values_count = 0
    for current_keys, current_values in p_reader.read_up_to(
            _string_input_producer(data_files, num_epochs=1), 4):
        assert len(current_keys) == len(current_values)
        assert len(current_keys) <= 4
        all_keys_count += len(current_keys)
        all_values_count += len(current_values)
        for current_key in current_keys:
            count0 += "0-of-3" in str(current_key)
            count1 += "1-of-3" in str(current_key)
            count2 += "2-of-3" in str(current_key)
    assert count0 == num_records_per_file
    assert count1 == num_records_per_file
    assert count2 == num_records_per_file
    assert all_keys_count == num_files * num_records_per_file
    assert all_values_count == all_keys_count
    assert count0 + count1 + count2 == all_keys_count


def test_random_shuffle_queue(tmp_path):
    shared_queue = RandomShuffleQueue(capacity=256, min_after_dequeue=128, dtypes=["string", "string"])
    _verify_all_data_sources_read(tmp_path, shared_queue)


def test_fifo_shared_queue(tmp_path):
    shared_queue = FIFOQueue(capacity=256, dtypes=["string", "string"])
    _verify_all_data_sources_read(tmp_path, shared_queue)


def test_read_up_to_from_random_shuffle_queue(tmp_path):
    shared_queue = RandomShuffleQueue(capacity=55, min_after_dequeue=28, dtypes=["string", "string"],
                                      shapes=[[], []])
    _verify_read_up_to_out(tmp_path, shared_queue)


def test_read_up_to_from_fifo_queue(tmp_path):
    shared_queue = FIFOQueue(capacity=99, dtypes=["string", "string"], shapes=[[], []])
    _verify_read_up_to_out(tmp_path, shared_queue)


def test_parallel_read_tfrecord_reader(tmp_path):
    tfrecord_paths = test_utils.create_tfrecord_files(str(tmp_path), num_files=3)
    records = parallel_reader.parallel_read(tfrecord_paths, reader_class=TFRecordReader,
                                            num_readers=3)
    flowers = 0
    num_reads = 100
    for current_key, _ in itertools.islice(records, num_reads):
        flowers += "flowers" in str(current_key)
    assert flowers > 0
    assert flowers == num_reads


def test_single_pass_read_out_of_range_error(tmp_path):
    [tfrecord_path] = test_utils.create_tfrecord_files(str(tmp_path), num_files=1)
    records = iter(parallel_reader.single_pass_read(tfrecord_path, reader_class=TFRecordReader))
    num_reads = 11
    # Difference: the end of the data ends the iteration (TF: OutOfRangeError).
    with pytest.raises(StopIteration):
        for _ in range(num_reads):
            next(records)


def test_single_pass_read_tfrecord_reader(tmp_path):
    [tfrecord_path] = test_utils.create_tfrecord_files(str(tmp_path), num_files=1)
    records = parallel_reader.single_pass_read(tfrecord_path, reader_class=TFRecordReader)
    flowers = 0
    num_reads = 9
    for current_key, _ in itertools.islice(records, num_reads):
        flowers += "flowers" in str(current_key)
    assert flowers > 0
    assert flowers == num_reads


# ---------------------------------------------------- slimtorch's own checks


def _numbered_files(tmp_path, num_files=4, per_file=5):
    paths = []
    for shard in range(num_files):
        path = os.path.join(tmp_path, f"data-{shard:05d}-of-{num_files:05d}")
        write_tfrecord(path, [b"%d:%d" % (shard, i) for i in range(per_file)])
        paths.append(path)
    return paths


def test_fifo_one_reader_keeps_file_and_record_order(tmp_path):
    paths = _numbered_files(tmp_path, 2, 3)
    values = [v for _, v in parallel_reader.parallel_read(
        os.path.join(tmp_path, "data@2"), TFRecordReader, num_epochs=2, num_readers=1, shuffle=False)]
    assert values == [b"0:0", b"0:1", b"0:2", b"1:0", b"1:1", b"1:2"] * 2
    keys = [k for k, _ in parallel_reader.single_pass_read(paths[0], TFRecordReader)]
    assert keys == [f"{paths[0]}:{offset}".encode() for offset in (0, 19, 38)]  # byte offsets


def test_shuffle_is_a_seeded_permutation_per_epoch(tmp_path):
    _numbered_files(tmp_path)
    pattern = os.path.join(tmp_path, "data-*")

    def read(seed):
        return [v for _, v in parallel_reader.parallel_read(
            pattern, TFRecordReader, num_epochs=1, capacity=8, min_after_dequeue=4, seed=seed)]

    first = read(seed=3)
    assert sorted(first) == sorted(b"%d:%d" % (s, i) for s in range(4) for i in range(5))
    assert first == read(seed=3)
    assert first != read(seed=4)


def test_dataloader_workers_read_disjoint_file_shards(tmp_path):
    _numbered_files(tmp_path)
    records = parallel_reader.parallel_read(os.path.join(tmp_path, "data-*"), TFRecordReader,
                                            num_epochs=1, shuffle=False, num_readers=2)
    loader = torch.utils.data.DataLoader(records, batch_size=None, num_workers=2)
    values = [value for _, value in loader]
    assert sorted(values) == sorted(b"%d:%d" % (s, i) for s in range(4) for i in range(5))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="No data files found in"):
        parallel_reader.get_data_files(os.path.join(tmp_path, "nothing-*"))
    with pytest.raises(TypeError, match=r"dtypes \[string, string\]"):
        parallel_reader.ParallelReader(TFRecordReader, FIFOQueue(dtypes=["string"]))
    with pytest.raises(ValueError, match="min_after_dequeue must be in"):
        RandomShuffleQueue(capacity=4, min_after_dequeue=4)
