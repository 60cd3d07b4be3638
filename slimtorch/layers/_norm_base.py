"""What the normalization layers share: argument checks, ``beta``/``gamma``
creation, TF's ``nn.batch_normalization`` formula and the module base class."""

from __future__ import annotations

from typing import Optional

import torch

from ..initializers import ones_initializer, zeros_initializer
from ..variables import model_variable
from ._layer import Layer, variables_collections_for

__all__: list = []


# -- checks -------------------------------------------------------------------
def _check_data_format(data_format, scope: str) -> None:
    if data_format not in (None, "NCHW", "NHWC"):
        raise ValueError(f"{scope}: data_format must be 'NCHW' or 'NHWC' (or None for the "
                         f"feature dimension), got {data_format!r}")


def _channels_first(data_format, rank: int) -> bool:
    """Whether the channels are dim 1 rather than the last dim (rank 2: both)."""
    if data_format is None:
        return rank >= 4
    return data_format == "NCHW" and rank > 2


def _check_input(inputs, scope: str, what: str, min_rank: int) -> None:
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < min_rank:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{scope}: {what} expects an input of rank >= {min_rank}, got {shape}")


def _check_keys(scope: str, what: str, given, allowed) -> dict:
    # TF-Slim silently ignored misspelt keys ('gama'); a typo here is a bug.
    given = dict(given or {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{scope}: unknown {what} keys {unknown}; expected some of {list(allowed)}")
    return given


def _create_beta_gamma(shape, dtype, center: bool, scale: bool, initializers: dict,
                       regularizers: dict, variables_collections, trainable: bool,
                       gamma_first: bool = False) -> None:
    """``beta`` (zeros) if ``center`` and ``gamma`` (ones) if ``scale``, in the
    layer's scope; ``gamma_first`` reproduces TF's creation order where TF-Slim
    builds a Keras-style layer (so variable lists line up with TF-Slim's)."""
    pair = [("beta", center, zeros_initializer()), ("gamma", scale, ones_initializer())]
    for name, wanted, default in (pair[::-1] if gamma_first else pair):
        if wanted:
            model_variable(name, shape=list(shape), dtype=dtype,
                           initializer=initializers.get(name, default),
                           regularizer=regularizers.get(name), trainable=trainable,
                           collections=variables_collections_for(variables_collections, name))


def _normalize(x, mean, variance, beta, gamma, epsilon):
    """TF's ``nn.batch_normalization``, formula for formula (all arguments
    broadcast against ``x``; ``beta``/``gamma`` may be None)."""
    inv = torch.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    return x * inv + (-mean * inv if beta is None else beta - mean * inv)


class _Normalization(Layer):
    """Base of the normalization modules: optional ``beta``/``gamma``, then activation."""

    def __init__(self, scope_name: str, epsilon, activation_fn) -> None:
        super().__init__(scope_name)
        self.epsilon = epsilon
        self.activation_fn = activation_fn

    def _variable(self, name: str) -> Optional[torch.Tensor]:
        # A parameter, or a buffer when created with trainable=False.
        found = self._parameters.get(name)
        return found if found is not None else self._buffers.get(name)


