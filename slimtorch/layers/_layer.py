"""What every slim layer with variables shares: its module base class and
how a builder finds (apply) or creates (build) its module.

A builder such as ``slim.conv2d`` runs in two modes (see ``scopes.py``, which
also holds the naming and reuse rules these follow):

* **apply** (a built ``slim.Model``): :func:`find_layer` computes the same
  scope name TensorFlow would and returns the module with one dict lookup;
* **build**: :class:`LayerScope` opens the layer's variable scope, creates the
  module in the tree, and lets the builder create its variables inside it
  (through ``slim.model_variable``, so arg-scoped ``device=`` applies).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..scopes import Frame, current_frame
from ..utils import collect_named_outputs
from ..variables import model_variable, not_built_error
from ._activation import activate

__all__ = ["Layer", "call_layer", "create_weights_and_biases", "find_layer", "LayerScope",
           "op_name", "resolve_is_training", "variables_collections_for"]


class Layer(nn.Module):
    """Base of slim layer modules: knows its full scope and checks its inputs."""

    def __init__(self, scope_name: str) -> None:
        super().__init__()
        self.scope_name = scope_name
        self.config: Optional[tuple] = None   # set by call_layer when built

    def shape_error(self, inputs: torch.Tensor, expected: str) -> ValueError:
        return ValueError(
            f"{self.scope_name}: expected input of shape {expected}, got {list(inputs.shape)}"
        )

    def extra_repr(self) -> str:
        return f"scope={self.scope_name!r}"

    def normalize(self, inputs: torch.Tensor, normalizer_fn, normalizer_params,
                  activation_fn) -> torch.Tensor:
        """``linear`` -> ``normalizer_fn`` (run inside this layer's scope, so its
        variables are ``<layer>/BatchNorm/...``) -> ``activation_fn``."""
        outputs = normalizer_fn(self.linear(inputs), **(normalizer_params or {}))
        if getattr(normalizer_fn, "returns_fresh_outputs", False):
            return activate(outputs, activation_fn)
        return activation_fn(outputs) if activation_fn is not None else outputs


def call_layer(inputs: torch.Tensor, scope: Optional[str], default_name: str, reuse,
               new_layer, normalizer_fn=None, normalizer_params=None, activation_fn=None,
               outputs_collections=None, layer_kwargs: Optional[dict] = None,
               config: Optional[tuple] = None) -> torch.Tensor:
    """Finds or builds a layer and applies it: the body of every layer builder.

    ``new_layer(ls)`` makes the module for a :class:`LayerScope` ``ls`` (with
    ``ls.create``) and its variables; it runs only when building.
    ``layer_kwargs`` are passed to the module's ``forward`` on every call: the
    arguments that may change between calls of a built model (``training``).
    With a ``normalizer_fn`` the module's ``normalize`` runs instead.
    ``config`` (the arguments that shape the layer: stride, rate, ...) is
    recorded when the layer is built; a later call or ``reuse`` with other
    values raises instead of silently running the first call's settings.
    """
    frame = current_frame()
    if not frame.building and normalizer_fn is None:  # the fast path of a built model
        layer = find_layer(frame, scope, default_name)
        if config is not None and layer.config != config:
            raise _config_error(layer, config)
        outputs = layer(inputs, **layer_kwargs) if layer_kwargs else layer(inputs)
        if not outputs_collections:  # the usual case: spare the fast path a call
            return outputs
        return collect_named_outputs(outputs_collections, layer.scope_name, outputs)
    with LayerScope(frame, scope, default_name, reuse, inputs) as ls:
        if ls.layer is None:
            layer = new_layer(ls)
            layer.config = config
        else:
            layer = ls.layer
            if config is not None and layer.config != config:
                raise _config_error(layer, config)
        if normalizer_fn is None:
            outputs = layer(inputs, **layer_kwargs) if layer_kwargs else layer(inputs)
        else:
            outputs = layer.normalize(inputs, normalizer_fn, normalizer_params, activation_fn)
        return collect_named_outputs(outputs_collections, ls.path, outputs)


def _config_error(layer, config) -> ValueError:
    return ValueError(
        f"{layer.scope_name}: this layer was built with {layer.config} and is now called with "
        f"{config} (num_outputs, kernel_size, stride, padding, rate); a built layer keeps its "
        "structure, so build a new slim.Model (or use another scope) for other settings")


def create_weights_and_biases(weights_shape, layout: str, num_outputs: int, dtype,
                              with_biases: bool, weights_initializer, weights_regularizer,
                              biases_initializer, biases_regularizer, variables_collections,
                              trainable: bool) -> None:
    """Creates ``weights`` (TF-layout ``weights_shape``) and, when asked and
    ``biases_initializer`` is not None, ``biases [num_outputs]`` in the
    current (layer) scope."""
    model_variable("weights", shape=weights_shape, dtype=dtype, initializer=weights_initializer,
                   regularizer=weights_regularizer, trainable=trainable,
                   collections=variables_collections_for(variables_collections, "weights"),
                   layout=layout)
    if with_biases and biases_initializer is not None:
        model_variable("biases", shape=[num_outputs], dtype=dtype, initializer=biases_initializer,
                       regularizer=biases_regularizer, trainable=trainable,
                       collections=variables_collections_for(variables_collections, "biases"))


def find_layer(frame: Frame, scope: Optional[str], default_name: str) -> Layer:
    """Apply mode: the module a built model has for this layer call.

    The name needs no checks: the build call checked the same names."""
    name = scope if scope is not None else frame.unique_name(default_name)
    layer = frame.visit(name)
    if layer is None:
        raise not_built_error(frame, frame.top.join(name), "layer")
    return layer


class LayerScope:
    """Build mode: opens a layer's variable scope; ``.layer`` is its module or None.

    When ``.layer`` is None the builder calls :meth:`create` with a new module
    and then creates the layer's variables, which land on that module.
    """

    __slots__ = ("frame", "entry", "layer")

    def __init__(self, frame: Frame, scope: Optional[str], default_name: str, reuse,
                 inputs: Optional[torch.Tensor] = None) -> None:
        self.frame = frame
        name = frame.resolve_name(scope, default_name, reuse, arg="scope", who=default_name)
        device = inputs.device if isinstance(inputs, torch.Tensor) else None
        self.entry = frame.push(name, reuse, device)
        self.layer = None
        try:
            self.layer = self._existing()
        except BaseException:
            frame.pop()
            raise

    @property
    def path(self) -> str:
        return self.entry.path

    def _existing(self) -> Optional[Layer]:
        """The layer already at this scope, or None; raises by TF's reuse rule."""
        frame, entry = self.frame, self.entry
        node = frame.node_of(entry, create=False)
        path = entry.path
        if node is None:
            if not frame.building:
                raise not_built_error(frame, path, "layer")
            if not frame.reuse_allows(path, entry.reuse, exists=False):
                raise ValueError(
                    f"Variable {path}/weights does not exist: layer '{path}' was not created "
                    "before. Did you mean to set reuse=None or reuse=slim.AUTO_REUSE?"
                )
            return None
        if not isinstance(node, Layer):
            raise ValueError(
                f"scope '{path}' already holds variables or scopes that are not a layer; "
                "give the layer a scope of its own"
            )
        if not frame.reuse_allows(path, entry.reuse, exists=True):
            raise ValueError(
                f"Variable {path}/weights already exists, disallowed: layer scope '{path}' is "
                "used twice. Give each layer its own scope, or pass reuse=True to share it."
            )
        return node

    def create(self, layer: Layer) -> Layer:
        self.frame.attach(self.entry, layer)
        self.layer = layer
        return layer

    def __enter__(self) -> "LayerScope":
        return self

    def __exit__(self, *exc) -> None:
        self.frame.pop()


def variables_collections_for(variables_collections, name: str) -> Optional[list]:
    """TF-Slim's ``utils.get_variable_collections``: a list for all variables,
    or a dict keyed by variable name."""
    if isinstance(variables_collections, dict):
        found = variables_collections.get(name)
        if found is None:
            return None
        return [found] if isinstance(found, str) else list(found)
    if isinstance(variables_collections, str):
        return [variables_collections]
    return list(variables_collections) if variables_collections else None


def resolve_is_training(is_training) -> bool:
    """``is_training`` as a bool: ``None`` (slimtorch's default) follows the
    model's ``train()``/``eval()`` state, and is True outside a model (TF-Slim's
    default). An explicit value, from the call or an ``arg_scope``, wins.
    During ``slim.Model.build`` it is always False: building must not
    change state (moving averages) or depend on random draws."""
    frame = current_frame()
    if frame.dry_run:
        return False
    return frame.training if is_training is None else bool(is_training)


def op_name(scope: Optional[str], default_name: str) -> str:
    """The full name of a variable-free op (pool, dropout, ...), made unique
    the way TF names name scopes: ``MaxPool2D``, ``MaxPool2D_1``, ... within a
    call. It is the op's ``end_points`` key and the prefix of its errors."""
    frame = current_frame()
    return frame.unique_op_name(frame.top.join(scope or default_name))
