"""Helpers for tests and parity scripts: deterministic random weights, by
variable name, in TF layout; fixed random inputs; relative errors.

Nothing in the library uses this module; the tests, ``scripts/`` and the TF
fixture generators do (``tests/golden`` was made with these values).

Parity checks need TF-Slim and slimtorch to run with the same weights. Instead
of shipping a checkpoint, both sides draw each variable from a generator seeded
by its name: numpy's legacy ``RandomState`` is frozen by numpy's stability
policy, so the values are the same on every machine and version. Weights are
He-scaled (activations stay O(1) through deep nets without batch norm) and
batch-norm statistics are non-trivial (so a wrong epsilon or a missing gamma
shows up in the outputs).

    >>> a = random_value('vgg_16/conv1/conv1_1/weights', [3, 3, 3, 64])
    >>> a.shape, a.dtype.name
    ((3, 3, 3, 64), 'float32')
    >>> bool((a == random_value('vgg_16/conv1/conv1_1/weights', [3, 3, 3, 64])).all())
    True
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np
import torch

__all__ = ["assign_random_weights", "random_images", "random_value", "random_values",
           "relative_error"]


def _rng(name: str, seed: int) -> np.random.RandomState:
    return np.random.RandomState((zlib.crc32(name.encode()) + 7919 * seed) % 2**32)


def random_value(name: str, tf_shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """The value of variable ``name`` (TF layout ``tf_shape``) for ``seed``."""
    shape = tuple(int(d) for d in tf_shape)
    rng = _rng(name, seed)
    leaf = name.rsplit("/", 1)[-1]
    if leaf in ("moving_variance", "gamma"):
        value = rng.uniform(0.5, 1.5, shape)
    elif leaf in ("biases", "beta", "moving_mean") or len(shape) <= 1:
        value = rng.standard_normal(shape) * 0.1
    else:
        value = rng.standard_normal(shape) * np.sqrt(2.0 / _fan_in(leaf, shape))
    return np.asarray(value, dtype=np.float32)   # an array for 0-d shapes too (a local_step)


def _fan_in(leaf: str, shape) -> int:
    if leaf == "depthwise_weights":  # [kh, kw, in, multiplier]: each output sees kh*kw inputs
        return max(1, int(np.prod(shape[:-2])))
    return max(1, int(np.prod(shape[:-1])))


def random_values(names_and_shapes, seed: int = 0) -> dict:
    """``{name: random_value(name, shape, seed)}`` for ``(name, tf_shape)`` pairs."""
    return {name: random_value(name, shape, seed) for name, shape in names_and_shapes}


def assign_random_weights(model, seed: int = 0) -> dict:
    """Fills every variable of a built ``slim.Model`` with :func:`random_value`
    (converted from TF layout); returns ``{name: tf_value}`` for the TF side.

        >>> def fc(x):
        ...     return slim.fully_connected(x, 3, scope='fc')
        >>> with slim.Graph():
        ...     net = slim.Model(fc).build((1, 4))
        ...     values = assign_random_weights(net)
        >>> sorted((k, v.shape) for k, v in values.items())
        [('fc/biases', (3,)), ('fc/weights', (4, 3))]
        >>> bool((net.fc.weights == torch.from_numpy(values['fc/weights']).T).all())
        True
    """
    values = {}
    with torch.no_grad():
        for record in model.records():
            tensor = record.tensor
            tf_shape = record.layout.tf_shape(tensor.shape)
            value = random_value(record.name, tf_shape, seed)
            values[record.name] = value
            tensor.copy_(record.layout.to_torch(torch.from_numpy(value)))
    return values


def random_images(batch: int, channels: int, size: int, seed: int = 0) -> np.ndarray:
    """A fixed NCHW float32 input: standard normal from ``RandomState(seed)``.

        >>> random_images(2, 3, 4).shape
        (2, 3, 4, 4)
    """
    return np.random.RandomState(seed).standard_normal((batch, channels, size, size)).astype(np.float32)


def relative_error(actual, expected) -> float:
    """``|actual - expected| / |expected|`` (Frobenius norms, float64); inf on a
    shape mismatch.

        >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
        0.0
        >>> relative_error(np.ones(3), np.ones(2))
        inf
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1e-30))
