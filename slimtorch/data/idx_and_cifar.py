"""Readers for the raw files of MNIST (IDX) and CIFAR-10, as torchvision
keeps them on disk, without downloading and **without unpickling**.

torchvision's CIFAR-10 directory (``cifar-10-batches-py``) holds Python
pickles. Unpickling can run arbitrary code, so slimtorch never does it: it
walks the pickle's opcodes with :mod:`pickletools` (which only parses) and
takes the two things a CIFAR batch holds, the ``data`` bytes and the
``labels`` integers. The official binary distribution
(``cifar-10-batches-bin``) is read too.
"""

from __future__ import annotations

import gzip
import pickletools
import struct
from typing import Tuple

import torch

__all__ = ["read_cifar_batch", "read_idx"]

_CIFAR_PIXELS = 3 * 32 * 32
_IDX_DTYPES = {0x08: torch.uint8, 0x09: torch.int8, 0x0B: torch.int16, 0x0C: torch.int32,
               0x0D: torch.float32, 0x0E: torch.float64}


def read_idx(path: str) -> torch.Tensor:
    """An IDX file (MNIST's ``train-images-idx3-ubyte``, optionally ``.gz``)
    as a tensor of its stored shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtype, rank = _IDX_DTYPES[data[2]], data[3]
    shape = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    body = data[4 + 4 * rank:]
    count = 1
    for dim in shape:
        count *= dim
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(body) != count * itemsize:
        raise ValueError(f"{path}: IDX header says shape {list(shape)} ({count * itemsize} "
                         f"bytes) but {len(body)} bytes follow")
    if not count:
        return torch.empty(shape, dtype=dtype)
    raw = torch.frombuffer(bytearray(body), dtype=torch.uint8)
    if itemsize > 1:   # IDX is big-endian: reverse each item's bytes
        raw = raw.view(-1, itemsize).flip(1).contiguous()
    return raw.view(dtype).reshape(shape)


def read_cifar_batch(path: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """A CIFAR-10 batch file as uint8 images ``[N, 3, 32, 32]`` and int64
    labels ``[N]``: a ``.bin`` file of the binary version (1 label byte then
    3,072 pixel bytes per image) or a pickle of the Python version, parsed
    without unpickling."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".bin"):
        if len(raw) % (_CIFAR_PIXELS + 1):
            raise ValueError(f"{path}: size {len(raw)} is not a multiple of "
                             f"{_CIFAR_PIXELS + 1} (label byte + 32x32x3 pixels)")
        table = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, _CIFAR_PIXELS + 1)
        return table[:, 1:].reshape(-1, 3, 32, 32).clone(), table[:, 0].long()
    data, labels = _parse_cifar_pickle(path, raw)
    images = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(-1, 3, 32, 32)
    if images.shape[0] != len(labels):
        raise ValueError(f"{path}: {images.shape[0]} images but {len(labels)} labels")
    return images.clone(), torch.tensor(labels, dtype=torch.int64)


def _parse_cifar_pickle(path: str, raw: bytes):
    """The pixel bytes and the labels of a CIFAR pickle, from its opcodes:
    the largest bytes (or Python 2 string) payload is the ``data`` array (a multiple of 3,072
    bytes); the integers pushed after the ``labels`` key are the labels.
    Nothing is imported or called."""
    data, labels, reading_labels = b"", [], False
    try:
        for opcode, arg, _ in pickletools.genops(raw):
            if isinstance(arg, (bytes, str)) and arg in (b"labels", "labels"):
                reading_labels, labels = True, []
            elif isinstance(arg, (bytes, str)) and reading_labels and labels:
                reading_labels = False   # the next key: the labels are over
            elif reading_labels and opcode.name in ("BININT1", "BININT2", "BININT", "INT"):
                labels.append(int(arg))
            if isinstance(arg, (bytes, bytearray, str)) and len(arg) > len(data):
                data = arg   # Python 2's str and protocol 2's latin-1 text hold bytes too
    except (ValueError, EOFError) as error:   # pickletools' errors on a broken stream
        raise ValueError(f"{path}: not a readable CIFAR-10 pickle ({error})") from None
    if isinstance(data, str):
        data = data.encode("latin-1")
    if not data or len(data) % _CIFAR_PIXELS or not labels:
        raise ValueError(f"{path}: expected a CIFAR-10 batch (a 'data' array of N x 3072 "
                         f"bytes and N 'labels'); found {len(data)} bytes and "
                         f"{len(labels)} labels")
    return data, labels
