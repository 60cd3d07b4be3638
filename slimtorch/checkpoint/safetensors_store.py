"""slimtorch's own checkpoints: one safetensors file keyed by full Slim names.

Tensors are stored in torch layouts (conv ``[out, in, kh, kw]``), so any
safetensors tool reads them; the metadata says so (``layout: torch``) and
records the global step and the slimtorch version. Nothing is pickled.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'model.safetensors')
    >>> save_checkpoint(path, {'fc/weights': torch.ones(2, 3)}, global_step=7)
    >>> with SafetensorsReader(path) as reader:
    ...     reader.get_variable_to_shape_map(), reader.global_step
    ({'fc/weights': [2, 3]}, 7)
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from slimtorch._io.atomic import atomic_path
from slimtorch._version import __version__

from .errors import CheckpointError, CheckpointKeyError
from .reader_base import CheckpointReader

__all__ = ["FORMAT_TAG", "SafetensorsReader", "is_safetensors_file", "save_checkpoint"]

FORMAT_TAG = "slimtorch"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
           "U8": torch.uint8, "BOOL": torch.bool, "U16": torch.uint16, "U32": torch.uint32,
           "U64": torch.uint64, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2}
_STEP = re.compile(r"-?[0-9]+")  # ASCII only: int() also takes '٣', ' 7', '1_0'


def is_safetensors_file(path: str) -> bool:
    """Whether ``path`` starts like a safetensors file (u64 size, then ``{``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    if len(head) < 9:
        return False
    size = int.from_bytes(head[:8], "little")
    return 0 < size <= _MAX_HEADER and head[8:9] == b"{"


def save_checkpoint(path: str, tensors: Mapping[str, torch.Tensor], global_step: Optional[int] = None,
                    metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes ``{slim name: tensor}`` to ``path`` atomically (temp file, fsync,
    rename): a crash leaves the previous file intact.

    Args:
        path: the target file (``.safetensors``).
        tensors: names to tensors (any device; copied to CPU, contiguous).
        global_step: recorded in the metadata.
        metadata: extra string-to-string metadata.
    """
    header = {"format": FORMAT_TAG, "layout": "torch", "slimtorch_version": __version__}
    if global_step is not None:
        header["global_step"] = str(int(global_step))
    header.update({str(k): str(v) for k, v in (metadata or {}).items()})
    cpu = {name: _to_cpu(name, tensor) for name, tensor in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(cpu, tmp, metadata=header)


def _to_cpu(name: str, tensor) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"save_checkpoint: {name!r} is a {type(tensor).__name__}, expected a tensor")
    if tensor.device.type == "meta":
        raise ValueError(f"save_checkpoint: {name!r} is on the meta device (call materialize first)")
    # clone() breaks storage shared between variables, which safetensors refuses.
    return tensor.detach().to("cpu").contiguous().clone()


class SafetensorsReader(CheckpointReader):
    """Reads a safetensors checkpoint lazily (memory-mapped), tensor by tensor.

    Follows TF's ``CheckpointReader`` interface; ``get_tensor`` returns NumPy
    (bfloat16 as float32), ``get_torch_tensor`` the stored torch tensor.
    """

    layout = "torch"

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._file = safe_open(path, framework="pt", device="cpu")
            self._keys = list(self._file.keys())
            self.metadata = dict(self._file.metadata() or {})
        except Exception as error:  # safetensors raises its own error types
            raise CheckpointError(f"{path}: not a readable safetensors file: {error}") from error
        self._layout_tag = self.metadata.get("layout", "torch")
        if self._layout_tag not in ("torch", "tf"):
            raise CheckpointError(f"{path}: unknown layout tag {self._layout_tag!r}")
        self.layout = self._layout_tag

    @property
    def global_step(self) -> Optional[int]:
        step = self.metadata.get("global_step")
        return int(step) if isinstance(step, str) and _STEP.fullmatch(step) else None

    def get_variable_to_shape_map(self) -> dict:
        return {k: list(self._file.get_slice(k).get_shape()) for k in self._keys}

    def get_variable_to_dtype_map(self) -> dict:
        """``{name: torch.dtype}``."""
        return {k: _DTYPES.get(self._file.get_slice(k).get_dtype(), torch.uint8) for k in self._keys}

    def has_tensor(self, name: str) -> bool:
        return name in self._keys

    def get_torch_tensor(self, name: str) -> torch.Tensor:
        if name not in self._keys:
            raise CheckpointKeyError(f"no tensor named {name!r}", path=self.path)
        try:
            return self._file.get_tensor(name)
        except Exception as error:
            raise CheckpointError(f"{self.path}: cannot read {name!r}: {error}") from error


    def close(self) -> None:
        self._file = None



    def __repr__(self) -> str:
        return f"SafetensorsReader({self.path!r}, {len(self._keys)} tensors)"
