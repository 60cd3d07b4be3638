"""The scalar random draws preprocessing makes, from torch's generator.

Every random preprocessing function takes ``generator=None``: ``None`` draws
from torch's global generator, which ``torch.manual_seed`` fixes and which
``DataLoader`` seeds differently in every worker (so workers do not repeat
each other's crops). Pass a ``torch.Generator`` for a private stream.

The draws follow TF-Slim's distributions, not TF's random streams: the same
seed does not give TF's numbers.
"""

from __future__ import annotations

import torch

__all__ = ["randint", "uniform"]


def uniform(low: float, high: float, generator: torch.Generator | None = None) -> float:
    """One float from [low, high), as ``tf.random_uniform([], low, high)``.

        >>> 0.5 <= uniform(0.5, 1.5) < 1.5
        True
    """
    return low + (high - low) * torch.rand((), generator=generator).item()


def randint(low: int, high: int, generator: torch.Generator | None = None) -> int:
    """One integer from [low, high) (``high`` excluded), as
    ``tf.random_uniform([], low, high, dtype=tf.int32)``.

        >>> randint(3, 4)
        3
    """
    if high <= low:
        raise ValueError(f"randint: empty range [{low}, {high})")
    return int(torch.randint(low, high, (), generator=generator).item())
