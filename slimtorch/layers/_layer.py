"""What every slim layer with variables shares: its module base class and
how a builder finds (apply) or creates (build) its module.

A builder such as ``slim.conv2d`` runs in two modes (see ``scopes.py``):

* **apply** (a built ``slim.Model``): :func:`find_layer` computes the same
  scope name TensorFlow would and returns the module with one dict lookup;
* **build**: :class:`layer_scope` opens the layer's variable scope, creates the
  module in the tree, and lets the builder create its variables inside it
  (through ``slim.model_variable``, so arg-scoped ``device=`` applies).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..scopes import AUTO_REUSE, Frame, Scope, check_scope_name, current_frame
from ..utils import collect_named_outputs
from ..variables import model_variable, not_built_error
from ._activation import activate

__all__ = ["Layer", "call_layer", "create_weights_and_biases", "find_layer", "layer_scope",
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

    ``new_layer(ls)`` makes the module for a :class:`layer_scope` ``ls`` (with
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
        return collect_named_outputs(outputs_collections, layer.scope_name, outputs)
    with layer_scope(frame, scope, default_name, reuse, inputs) as ls:
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


def _resolve_name(frame: Frame, scope: Optional[str], default_name: str, reuse) -> str:
    if scope is None:
        if reuse is True:
            raise ValueError(f"{default_name}: reuse=True cannot be used without a scope")
        return frame.unique_name(default_name)
    return scope


def find_layer(frame: Frame, scope: Optional[str], default_name: str) -> Layer:
    """Apply mode: the module a built model has for this layer call."""
    name = scope if scope is not None else frame.unique_name(default_name)
    top = frame.stack[-1]
    counts = top.counts
    node = top.node if top.node is not None else frame.node_of(top, create=False)
    if "/" in name:
        for part in name.split("/"):
            counts = counts.child(part)
            node = node._modules.get(part) if node is not None else None
    else:
        counts = counts.child(name)
        node = node._modules.get(name) if node is not None else None
    counts.n += 1  # opening (and leaving) the scope counts exactly as when building
    if counts.children:
        counts.children = {}
    if node is None:
        raise not_built_error(frame, top.join(name), "layer")
    return node


class layer_scope:
    """Build mode: opens a layer's variable scope; ``.layer`` is its module or None.

    When ``.layer`` is None the builder calls :meth:`create` with a new module
    and then creates the layer's variables, which land on that module.
    """

    __slots__ = ("frame", "entry", "layer", "_name")

    def __init__(self, frame: Frame, scope: Optional[str], default_name: str, reuse,
                 inputs: Optional[torch.Tensor] = None) -> None:
        if scope is not None:
            check_scope_name(scope)
        self.frame = frame
        self._name = _resolve_name(frame, scope, default_name, reuse)
        device = inputs.device if isinstance(inputs, torch.Tensor) else None
        self.entry = frame.push(self._name, reuse, device)
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
        frame, entry = self.frame, self.entry
        node = frame.node_of(entry, create=False)
        path = entry.path
        if node is None:
            if not frame.building:
                raise not_built_error(frame, path, "layer")
            if entry.reuse is True:
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
        made_earlier_in_this_build = path in frame.created or frame.persistent
        if entry.reuse is True or entry.reuse is AUTO_REUSE or not made_earlier_in_this_build:
            return node
        raise ValueError(
            f"Variable {path}/weights already exists, disallowed: layer scope '{path}' is "
            "used twice. Give each layer its own scope, or pass reuse=True to share it."
        )

    def create(self, layer: Layer) -> Layer:
        frame, entry = self.frame, self.entry
        parent = frame.node_of(entry.parent, create=True)
        for part in entry.parts[:-1]:
            child = parent._modules.get(part)
            if child is None:
                child = Scope()
                frame.add_node(parent, part, child)
            parent = child
        frame.add_node(parent, entry.parts[-1], layer)
        entry.node = layer
        frame.created.add(entry.path)
        self.layer = layer
        return layer

    def __enter__(self) -> "layer_scope":
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
    base = frame.top.join(scope or default_name)
    used = frame.op_names
    count = used.get(base)
    if count is None:
        used[base] = 1
        return base
    while f"{base}_{count}" in used:
        count += 1
    used[base] = count + 1
    name = f"{base}_{count}"
    used[name] = 1
    return name
