"""Applying an ``activation_fn`` to a layer's own fresh output."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# ReLU of a tensor the layer just produced may run in place: nothing else
# holds it, and ReLU's backward needs only its result. Saves a pass over memory.
_RELUS = (F.relu, torch.relu)


def activate(outputs: torch.Tensor, activation_fn) -> torch.Tensor:
    if activation_fn is None:
        return outputs
    if activation_fn in _RELUS:
        return torch.relu_(outputs)
    return activation_fn(outputs)
