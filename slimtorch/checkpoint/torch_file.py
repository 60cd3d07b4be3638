"""PyTorch state-dict files (``.pt``/``.pth``/``.bin``), read without unpickling code.

``torch.load(weights_only=True)`` only rebuilds tensors and plain containers,
so a malicious file cannot run code. Nested dicts (``{'state_dict': ...}``,
``{'model': ...}``) are flattened with dots; DDP's ``module.`` prefix is kept
as written (restore looks names up with and without it).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'w.pt')
    >>> torch.save({'state_dict': {'fc.weight': torch.ones(2, 3)}, 'epoch': 3}, path)
    >>> TorchFileReader(path).get_variable_to_shape_map()
    {'state_dict.fc.weight': [2, 3]}
"""

from __future__ import annotations

import zipfile
from typing import Mapping

import torch

from .errors import CheckpointError, CheckpointKeyError
from .reader_base import CheckpointReader

__all__ = ["TorchFileReader", "is_torch_file"]

_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def is_torch_file(path: str) -> bool:
    """Whether ``path`` looks like a ``torch.save`` file (zip, or legacy pickle)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:2] in _PICKLE_PROTOCOLS


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, torch.Tensor):
        out[prefix] = value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)


class TorchFileReader(CheckpointReader):
    """TF's ``CheckpointReader`` interface over a PyTorch state-dict file."""

    layout = "torch"

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            mmap = zipfile.is_zipfile(path)  # mmap needs the zip format
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except Exception as error:
            # weights_only=True runs no code from the file, so any failure is a
            # bad file, whatever torch (or, for a *.safetensors name, the
            # safetensors library it hands over to) raises: KeyError,
            # IndexError, SafetensorError... as well as UnpicklingError.
            raise CheckpointError(f"{path}: not a readable PyTorch weights file "
                                  f"(only tensors and plain containers load; nothing is unpickled "
                                  f"beyond that): {error}") from error
        self._tensors: dict = {}
        _flatten("", state, self._tensors)
        if not self._tensors:
            raise CheckpointError(f"{path}: holds no tensors")

    def get_variable_to_shape_map(self) -> dict:
        return {k: list(v.shape) for k, v in self._tensors.items()}

    def get_variable_to_dtype_map(self) -> dict:
        return {k: v.dtype for k, v in self._tensors.items()}

    def has_tensor(self, name: str) -> bool:
        return name in self._tensors

    def get_torch_tensor(self, name: str) -> torch.Tensor:
        try:
            return self._tensors[name]
        except KeyError:
            raise CheckpointKeyError(f"no tensor named {name!r}", path=self.path) from None


    def close(self) -> None:
        self._tensors = {}


