"""Fuzz targets: each reads one input the way a user would (every tensor of
a checkpoint, every record and Example of a TFRecord file) and checks the
issue's limits.

``run_input(fmt, sample, workdir)`` writes the input's files, reads them,
and returns an :class:`Outcome`: the documented errors met (type names),
the time and the memory. Anything else escapes: an undocumented exception
as itself, a read over ``LIMIT_SECONDS`` or an allocation over
``LIMIT_BYTES`` as :class:`LimitExceeded`. Memory is the larger of the peak
``tracemalloc`` sees (Python objects and NumPy arrays, even untouched ones)
and the growth of the process's peak resident set (everything touched, torch
and Rust included; Linux, reset per input through ``/proc/self/clear_refs``).

    >>> with Workdir() as workdir:
    ...     name, seed = load_seeds("tfrecord")[0]
    ...     run_input("tfrecord", seed, workdir).errors
    []
"""

from __future__ import annotations

import functools
import os
import pathlib
import shutil
import tempfile
import time
import tracemalloc
from typing import NamedTuple

from fuzzing.safetensors_mutators import SAFETENSORS_OPS
from fuzzing.sample import Sample
from fuzzing.tf_mutators import V1_OPS, V2_OPS
from fuzzing.tfrecord_mutators import TFRECORD_OPS
from slimtorch.checkpoint import CheckpointError, load_checkpoint
from slimtorch.checkpoint.tf_bundle import TFBundleReader
from slimtorch.checkpoint.tf_v1 import TFV1Reader
from slimtorch.data import TFRecordError, decode_example, iter_tfrecord, read_record_at, scan_record_offsets

__all__ = ["DOCUMENTED", "FORMATS", "LIMIT_BYTES", "LIMIT_SECONDS", "LimitExceeded",
           "Outcome", "STRUCTURE_OPS", "Workdir", "load_seeds", "run_input"]

FORMATS = ("tf_v2", "tf_v1", "tfrecord", "safetensors")
#: The error types each reader documents for bad bytes.
DOCUMENTED = {"tf_v2": (CheckpointError,), "tf_v1": (CheckpointError,),
              "tfrecord": (TFRecordError,), "safetensors": (CheckpointError,)}
STRUCTURE_OPS = {"tf_v2": V2_OPS, "tf_v1": V1_OPS, "tfrecord": TFRECORD_OPS,
                 "safetensors": SAFETENSORS_OPS}
LIMIT_SECONDS = 1.0
LIMIT_BYTES = 100 * 1024 * 1024

_GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden"
_TF = _GOLDEN / "tf_checkpoints"
# v2_multiblock (a 770 KB index: ~200 ms a read) is left out; the mutators
# write multi-block tables from the small seeds instead.
_V2_SEEDS = [_TF / "v2_dtypes/model.ckpt", _TF / "v2_object_graph/ckpt", _TF / "v2_partitioned/model.ckpt",
             _TF / "v2_saver/model.ckpt", _TF / "v2_sharded/model.ckpt",
             _TF / "v2_snappy_index/model.ckpt", _GOLDEN / "tf_nets/mobilenet_v1_025"]
_V1_SEEDS = [_TF / name / "model.ckpt" for name in
             ("v1_dtypes", "v1_extra_dtypes", "v1_saver", "v1_snappy")]
_TFRECORD_SEEDS = [("images.tfrecord", ""), ("images.tfrecord.gz", "GZIP"),
                   ("images.tfrecord.zlib", "ZLIB")]
_SAFETENSORS_SEEDS = [_GOLDEN / "tf_nets/mobilenet_v1_025.logits.safetensors",
                      _GOLDEN / "fixtures/lenet.safetensors",
                      _GOLDEN / "fixtures/cifarnet.safetensors"]


class Outcome(NamedTuple):
    """What reading one input gave: documented errors (type names), the time
    it took and the most memory it allocated."""
    errors: list
    seconds: float
    peak_bytes: int


class LimitExceeded(AssertionError):  # noqa: N818 (reads as the finding it reports)
    """An input took longer than LIMIT_SECONDS or allocated over LIMIT_BYTES."""


@functools.lru_cache(maxsize=None)
def load_seeds(fmt: str) -> list:
    """``[(fixture name, Sample)]``: the committed fixtures of a format."""
    if fmt == "tf_v2":
        out = []
        for prefix in _V2_SEEDS:
            files = sorted(prefix.parent.glob(prefix.name + ".*"))
            files = [f for f in files if f.name.endswith(".index") or ".data-" in f.name]
            renamed = tuple(("model.ckpt" + f.name[len(prefix.name):], f.read_bytes())
                            for f in files)
            out.append((f"{prefix.parent.name}/{prefix.name}", Sample(renamed, True)))
        return out
    if fmt == "tf_v1":
        return [(f"{p.parent.name}/{p.name}", Sample((("model.ckpt", p.read_bytes()),), True))
                for p in _V1_SEEDS]
    if fmt == "tfrecord":
        return [(name, Sample((("records.tfrecord",
                                (_GOLDEN / "tfrecords" / name).read_bytes()),), option))
                for name, option in _TFRECORD_SEEDS]
    if fmt == "safetensors":
        return [(p.name, Sample((("model.safetensors", p.read_bytes()),), None))
                for p in _SAFETENSORS_SEEDS]
    raise ValueError(f"load_seeds: unknown format {fmt!r}, expected one of {FORMATS}")


class Workdir:
    """A private folder (on tmpfs when there is one) holding the current input."""

    def __init__(self):
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.path = tempfile.mkdtemp(prefix="slimtorch-fuzz-", dir=base)

    def write(self, sample: Sample) -> None:
        names = {name for name, _ in sample.files}
        for stale in set(os.listdir(self.path)) - names:
            os.remove(os.path.join(self.path, stale))
        for name, data in sample.files:
            with open(os.path.join(self.path, name), "wb") as f:
                f.write(data)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_checkpoint(reader, errors: list, documented: tuple) -> None:
    """Everything a restore touches: the maps, every tensor, global_step."""
    reader.get_variable_to_dtype_map()
    for name in reader.get_variable_to_shape_map():
        assert reader.has_tensor(name)
        try:
            reader.get_tensor(name)
        except documented as error:  # one bad tensor: read the others anyway
            errors.append(type(error).__name__)
    try:
        _ = reader.global_step
    except documented as error:
        errors.append(type(error).__name__)
    try:
        reader.get_tensor("no/such/tensor")
    except KeyError:  # CheckpointKeyError, as documented
        pass
    repr(reader)


def _read_tf_v2(sample: Sample, folder: str, errors: list) -> None:
    with TFBundleReader(os.path.join(folder, "model.ckpt"), sample.option) as reader:
        _read_checkpoint(reader, errors, DOCUMENTED["tf_v2"])


def _read_tf_v1(sample: Sample, folder: str, errors: list) -> None:
    with TFV1Reader(os.path.join(folder, "model.ckpt"), sample.option) as reader:
        _read_checkpoint(reader, errors, DOCUMENTED["tf_v1"])


def _read_safetensors(sample: Sample, folder: str, errors: list) -> None:
    with load_checkpoint(os.path.join(folder, sample.files[0][0])) as reader:
        _read_checkpoint(reader, errors, DOCUMENTED["safetensors"])


def _read_tfrecord(sample: Sample, folder: str, errors: list) -> None:
    path = os.path.join(folder, sample.files[0][0])
    for record in iter_tfrecord(path, sample.option):
        try:
            decode_example(record)
        except TFRecordError:  # one bad Example: decode the others anyway
            errors.append("TFRecordError")
    offsets = scan_record_offsets(path, sample.option)
    for offset in offsets if not sample.option else offsets[-1:]:
        read_record_at(path, int(offset), sample.option)


_READERS = {"tf_v2": _read_tf_v2, "tf_v1": _read_tf_v1, "tfrecord": _read_tfrecord,
            "safetensors": _read_safetensors}


def _memory_status() -> dict:
    try:
        with open("/proc/self/status") as f:
            return {k: int(v.split()[0]) * 1024 for k, v in
                    (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}
    except OSError:
        return {}


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current VmRSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def run_input(fmt: str, sample: Sample, workdir: Workdir) -> Outcome:
    """Read ``sample`` as format ``fmt`` (see the module docstring)."""
    workdir.write(sample)
    errors: list = []
    rss = _memory_status().get("VmRSS", 0) if _reset_peak_rss() else None
    # Traced only while reading: tracing the caller (Hypothesis) too would
    # make a run several times slower.
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    traced_before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    try:
        _READERS[fmt](sample, workdir.path, errors)
    except DOCUMENTED[fmt] as error:
        errors.append(type(error).__name__)
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - traced_before
        if started:
            tracemalloc.stop()
    if rss is not None:
        peak = max(peak, _memory_status().get("VmHWM", rss) - rss)
    if seconds > LIMIT_SECONDS:
        raise LimitExceeded(f"{fmt}: reading took {seconds:.2f} s (limit {LIMIT_SECONDS} s)")
    if peak > LIMIT_BYTES:
        raise LimitExceeded(f"{fmt}: reading allocated {peak / 2**20:.0f} MB "
                            f"(limit {LIMIT_BYTES / 2**20:.0f} MB)")
    return Outcome(errors, seconds, peak)
