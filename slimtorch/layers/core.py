"""``fully_connected``, ``dropout``, ``flatten`` and ``softmax``.

The *feature dimension* of a tensor is its last dimension for 2-D and 3-D
inputs and its channel dimension (1) for NCHW-style inputs of rank 4 and
more. That is what TF-Slim's "last dimension" means once images are NCHW:

    >>> with slim.Graph():
    ...     slim.fully_connected(torch.randn(2, 512, 7, 7), 10).shape
    torch.Size([2, 10, 7, 7])
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..initializers import xavier_initializer, zeros_initializer
from ..utils import collect_named_outputs
from ._activation import activate
from ._layer import Layer, call_layer, create_weights_and_biases, op_name, resolve_is_training

__all__ = ["FullyConnected", "dropout", "flatten", "fully_connected", "softmax"]


def _feature_dim(inputs: torch.Tensor) -> int:
    """Index of the feature dimension (see the module docstring)."""
    return 1 if inputs.dim() >= 4 else inputs.dim() - 1


class _DensePlan(NamedTuple):
    activation_fn: Optional[Callable]


class FullyConnected(Layer):
    """The module behind one ``slim.fully_connected`` scope; ``activation_fn``
    comes with each call.

    ``weights`` are stored ``[out, in]`` (``torch.nn.Linear``'s layout; TF's
    is ``[in, out]``).
    """

    def __init__(self, scope_name: str, in_features: int, num_outputs: int) -> None:
        super().__init__(scope_name)
        self.in_features = in_features
        self.num_outputs = num_outputs

    def make_plan(self, settings: tuple) -> _DensePlan:
        num_outputs, activation_fn, with_biases = settings
        _check_num_outputs(self.scope_name, num_outputs)
        if num_outputs != self.num_outputs:
            raise self.mismatch_error("num_outputs", num_outputs, self.num_outputs)
        self.check_biases(with_biases)
        return _DensePlan(activation_fn)

    def linear(self, inputs: torch.Tensor, plan: Optional[_DensePlan] = None) -> torch.Tensor:
        biases = self.optional_variable("biases")
        rank = inputs.dim()
        if rank in (2, 3):
            if inputs.shape[-1] != self.in_features:
                raise self.shape_error(inputs, f"[..., {self.in_features}]")
            return F.linear(inputs, self.weights, biases)
        if rank < 2 or inputs.shape[1] != self.in_features:
            raise self.shape_error(inputs, f"[N, {self.in_features}] or [N, {self.in_features}, ...]")
        if rank == 4:  # a 1x1 convolution: no transposes on the way in or out
            return F.conv2d(inputs, self.weights[:, :, None, None], biases)
        return F.linear(inputs.movedim(1, -1), self.weights, biases).movedim(-1, 1)

    def forward(self, inputs: torch.Tensor, plan: Optional[_DensePlan] = None) -> torch.Tensor:
        if plan is None:
            plan = self.default_plan
        return activate(self.linear(inputs), plan.activation_fn)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.num_outputs}, scope={self.scope_name!r}"


@add_arg_scope
def fully_connected(inputs: torch.Tensor, num_outputs: int, activation_fn=F.relu,
                    normalizer_fn=None, normalizer_params=None,
                    weights_initializer=xavier_initializer(), weights_regularizer=None,
                    biases_initializer=zeros_initializer(), biases_regularizer=None, reuse=None,
                    variables_collections=None, outputs_collections=None, trainable: bool = True,
                    scope: Optional[str] = None) -> torch.Tensor:
    """A dense layer over the feature dimension, then biases or
    ``normalizer_fn``, then ``activation_fn``.

    Arguments are TF-Slim's (see ``slim.conv2d``); the default scope is
    ``fully_connected``. ``[N, in] -> [N, out]``, ``[N, T, in] -> [N, T, out]``
    and ``[N, in, H, W] -> [N, out, H, W]``.

    Example (the guide's verbose stack):
        >>> with slim.Graph():
        ...     x = slim.fully_connected(torch.randn(2, 5), 32, scope='fc/fc_1')
        ...     slim.get_model_variables()[0].name
        'fc/fc_1/weights'
    """
    with_biases = normalizer_fn is None and biases_initializer is not None

    def new_layer(ls):
        layer = ls.create(_new_fully_connected(ls.path, inputs, num_outputs))
        create_weights_and_biases([layer.in_features, num_outputs], "dense", num_outputs,
                                  inputs.dtype, with_biases, weights_initializer,
                                  weights_regularizer, biases_initializer, biases_regularizer,
                                  variables_collections, trainable)
        return layer

    settings = (num_outputs, activation_fn if normalizer_fn is None else None, with_biases)
    return call_layer(inputs, scope, "fully_connected", reuse, new_layer, normalizer_fn,
                      normalizer_params, activation_fn, outputs_collections, settings=settings)


def _check_num_outputs(path, num_outputs) -> None:
    if isinstance(num_outputs, bool) or not isinstance(num_outputs, int):
        raise ValueError(f"{path}: num_outputs should be int or long, got {num_outputs!r}")


def _new_fully_connected(path, inputs, num_outputs) -> FullyConnected:
    _check_num_outputs(path, num_outputs)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 2:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{path}: fully_connected expects an input of rank >= 2, got {shape}")
    return FullyConnected(path, inputs.shape[_feature_dim(inputs)], num_outputs)


@add_arg_scope
def dropout(inputs: torch.Tensor, keep_prob: float = 0.5, noise_shape=None, is_training=None,
            outputs_collections=None, scope: Optional[str] = None, seed=None) -> torch.Tensor:
    """Keeps each element with probability ``keep_prob`` and scales by ``1/keep_prob``.

    Note the *keep* probability (TF-Slim), not torch's drop rate.
    ``is_training=None`` follows ``model.train()``/``model.eval()``; an
    explicit value (from the call or an ``arg_scope``) wins. ``noise_shape``
    is in the input's own layout (NCHW for images).
    """
    name = op_name(scope, "Dropout")
    if not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"{name}: keep_prob must be in (0, 1], got {keep_prob}")
    if resolve_is_training(is_training) and keep_prob < 1.0:
        if noise_shape is None and seed is None:
            outputs = F.dropout(inputs, 1.0 - keep_prob, True)
        else:
            generator = None if seed is None else torch.Generator(inputs.device).manual_seed(seed)
            shape = inputs.shape if noise_shape is None else tuple(noise_shape)
            keep = torch.empty(shape, dtype=inputs.dtype, device=inputs.device)
            keep.bernoulli_(keep_prob, generator=generator)
            outputs = inputs * keep / keep_prob
    else:
        outputs = inputs
    if outputs_collections:
        collect_named_outputs(outputs_collections, name, outputs)
    return outputs


@add_arg_scope
def flatten(inputs: torch.Tensor, outputs_collections=None, scope: Optional[str] = None) -> torch.Tensor:
    """``[N, ...] -> [N, k]`` in TF-Slim's feature order; ``[N] -> [N, 1]``.

    NCHW inputs (rank >= 4) are flattened channels-last, as TF-Slim flattens
    NHWC, so a ``fully_connected`` after ``flatten`` has the same weights as
    in a TF-Slim checkpoint.

    Example:
        >>> slim.flatten(torch.zeros(5, 3, 2, 2)).shape, slim.flatten(torch.zeros(5)).shape
        (torch.Size([5, 12]), torch.Size([5, 1]))
    """
    name = op_name(scope, "Flatten")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{name}: flatten expects an input of rank >= 1 [N, ...], got {shape}")
    if inputs.dim() >= 4:
        inputs = inputs.movedim(1, -1)
    outputs = inputs.reshape(inputs.shape[0], -1)
    if outputs_collections:
        collect_named_outputs(outputs_collections, name, outputs)
    return outputs


@add_arg_scope
def softmax(logits: torch.Tensor, scope: Optional[str] = None) -> torch.Tensor:
    """Softmax over the feature dimension (the last one, or channels for NCHW)."""
    if logits.dim() < 2:
        raise ValueError(f"{op_name(scope, 'softmax')}: softmax expects rank >= 2, "
                         f"got {list(logits.shape)}")
    return torch.softmax(logits, dim=_feature_dim(logits))
