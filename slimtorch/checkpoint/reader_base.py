"""What every checkpoint reader shares: TF's ``CheckpointReader`` interface.

Subclasses implement ``get_variable_to_shape_map``, ``get_variable_to_dtype_map``,
``has_tensor``, ``get_tensor`` and/or ``get_torch_tensor``, and ``close``; they
set ``layout`` to ``'tf'`` (TF kernels, HWIO) or ``'torch'`` (OIHW).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from .errors import CheckpointError

__all__ = ["CheckpointReader"]

_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


class CheckpointReader:
    """Base class: a context manager that closes itself, with NumPy and torch
    views of each tensor."""

    layout = "torch"

    @property
    def global_step(self) -> Optional[int]:
        """The global step the file records, if any."""
        return None

    def get_torch_tensor(self, name: str) -> torch.Tensor:
        """The tensor as torch (bfloat16 stays bfloat16 where the format has it)."""
        return torch.from_numpy(np.ascontiguousarray(self.get_tensor(name)))

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor as NumPy, in the file's own layout; float types NumPy
        lacks (bfloat16, float8) as float32, which holds them exactly.

        Raises:
            CheckpointError: a dtype NumPy cannot hold (complex32).
        """
        tensor = self.get_torch_tensor(name)
        if tensor.is_floating_point() and tensor.dtype not in _NUMPY_FLOATS:
            tensor = tensor.float()
        try:
            return tensor.numpy()
        except TypeError:
            raise CheckpointError(f"tensor {name!r} has dtype {tensor.dtype}, which NumPy "
                                  "lacks (use get_torch_tensor)",
                                  path=getattr(self, "path", None)) from None

    def close(self) -> None:
        """Releases the file; the reader cannot read afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass
