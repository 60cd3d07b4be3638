"""Checkpoint load speed: slimtorch restore vs ``torch.load(mmap=True)``.

A VGG16-size model (138M float32, the zoo's ``vgg_16``) is saved once as a
slimtorch safetensors file and once with ``torch.save``. Then, alternating,
median of repeats (warm page cache):

* full restore: ``slim.assign_from_checkpoint(file, model)`` vs
  ``model.load_state_dict(torch.load(file, mmap=True, weights_only=True))``;
* partial restore of the convolutions only (``exclude=['vgg_16/fc']``).

Each run starts with both files evicted from the page cache
(``posix_fadvise(DONTNEED)``), so times include the disk and "MB read" is what
the process read from storage (``/proc/self/io``): the partial restore reads
only the restored tensors. ``--warm`` skips the eviction.

    python scripts/bench_checkpoint.py [--repeats 5] [--dir /tmp] [--warm]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time

import torch

import slimtorch as slim
from slimtorch.checkpoint import save_checkpoint
from slimtorch.nets import nets_factory


def storage_read_bytes() -> int:
    """Bytes this process has read from storage (Linux ``/proc/self/io``)."""
    try:
        with open("/proc/self/io") as f:
            fields = dict(line.split(": ") for line in f.read().splitlines())
        return int(fields["read_bytes"])
    except (OSError, KeyError, ValueError):
        return -1


def evict(*paths: str) -> None:
    """Drops the files' pages from the page cache (clean pages, no root needed)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def timed(fn, files, warm: bool):
    gc.collect()
    if not warm:
        evict(*files)
    before = storage_read_bytes()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return elapsed, storage_read_bytes() - before


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to write the two files")
    parser.add_argument("--warm", action="store_true", help="keep the files in the page cache")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))

    network_fn = nets_factory.get_network_fn("vgg_16", 1000)
    network_fn.build((1, 3, 224, 224), device="meta").materialize("cpu")
    variables = network_fn.named_variables()
    total_bytes = sum(v.numel() * v.element_size() for v in variables.values())
    convs = slim.get_variables_to_restore(exclude=["vgg_16/fc"])
    conv_bytes = sum(v.numel() * v.element_size() for v in convs)

    directory = tempfile.mkdtemp(dir=args.dir)
    st_path = os.path.join(directory, "vgg_16.safetensors")
    pt_path = os.path.join(directory, "vgg_16.pt")
    save_checkpoint(st_path, variables)
    torch.save(network_fn.state_dict(), pt_path)

    def slim_full():
        slim.assign_from_checkpoint(st_path, network_fn)

    def torch_full():
        network_fn.load_state_dict(torch.load(pt_path, mmap=True, weights_only=True))

    def slim_partial():
        slim.assign_from_checkpoint(st_path, convs)

    runs = {"slimtorch full": [], "torch.load(mmap) full": [], "slimtorch convs only": []}
    paged = {name: [] for name in runs}
    fns = {"slimtorch full": slim_full, "torch.load(mmap) full": torch_full,
           "slimtorch convs only": slim_partial}
    for fn in fns.values():   # warm the page cache and the code paths
        fn()
    for _ in range(args.repeats):
        for name, fn in fns.items():
            seconds, pages = timed(fn, (st_path, pt_path), args.warm)
            runs[name].append(seconds)
            paged[name].append(pages)

    base = statistics.median(runs["torch.load(mmap) full"])
    print(f"VGG16: {total_bytes / 1e6:.0f} MB of float32 ({len(variables)} tensors); "
          f"convolutions {conv_bytes / 1e6:.0f} MB ({conv_bytes / total_bytes:.1%}); "
          f"median of {args.repeats}, {'warm' if args.warm else 'cold'} page cache")
    print(f"{'load':24s} {'seconds':>8s} {'ratio':>6s} {'MB read':>8s}")
    for name in runs:
        median = statistics.median(runs[name])
        pages = statistics.median(paged[name])
        print(f"{name:24s} {median:8.3f} {median / base:6.2f} {pages / 1e6:8.0f}")
    for path in (st_path, pt_path):
        os.remove(path)
    os.rmdir(directory)


if __name__ == "__main__":
    main()
