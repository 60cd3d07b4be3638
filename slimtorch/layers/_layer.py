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

__all__ = ["Layer", "call_layer", "create_weights_and_biases", "find_layer", "frozen",
           "LayerScope", "op_name", "resolve_is_training", "variables_collections_for"]


class Layer(nn.Module):
    """Base of slim layer modules: holds a layer's variables and state, knows
    its full scope and checks its inputs.

    The settings of a call that do not shape the variables (stride, padding,
    rate, data_format, activation_fn, ...) are not part of the module: each
    call brings its own, as a hashable ``settings`` tuple that
    :meth:`make_plan` validates against the variables and turns into a
    *plan* (what ``forward`` needs, e.g. torch's padding). Plans are cached
    per settings, so a built model's fast path pays one dict lookup, and a
    shared layer (``reuse=True``) may run other settings on the same
    variables, as in TF-Slim. Called directly, a module runs the settings of
    its first call.
    """

    def __init__(self, scope_name: str) -> None:
        super().__init__()
        self.scope_name = scope_name
        self.plans: dict = {}
        self.default_plan = None

    def make_plan(self, settings: tuple):
        """The plan for ``settings``; raises if they do not fit the variables.
        Layers whose settings need no derived form use them as they are."""
        return settings

    def plan_for(self, settings: tuple):
        """The cached plan for ``settings`` (made on first use)."""
        try:
            plan = self.plans.get(settings)
        except TypeError:  # an unhashable setting (a list in a list): no caching
            return self.make_plan(settings)
        if plan is None:
            plan = self.plans[settings] = self.make_plan(settings)
            if self.default_plan is None:
                self.default_plan = plan
        return plan

    def optional_variable(self, name: str) -> Optional[torch.Tensor]:
        """The variable ``name`` of this layer or None; a trainable one is a
        parameter, a non-trainable one a buffer."""
        found = self._parameters.get(name)
        return found if found is not None else self._buffers.get(name)

    def check_biases(self, with_biases: bool) -> None:
        """A shared layer called without ``normalizer_fn`` needs the ``biases``
        its first call (with a ``normalizer_fn``) did not make: TF's reuse error."""
        if with_biases and self.optional_variable("biases") is None:
            raise ValueError(
                f"Variable {self.scope_name}/biases does not exist: the layer was made without "
                "biases (normalizer_fn or biases_initializer=None); pass the same normalizer_fn "
                "or biases_initializer=None when reusing it")

    def shape_error(self, inputs: torch.Tensor, expected: str) -> ValueError:
        return ValueError(
            f"{self.scope_name}: expected input of shape {expected}, got {list(inputs.shape)}"
        )

    def mismatch_error(self, what: str, called, built) -> ValueError:
        """A shared layer called with a ``what`` its variables cannot serve."""
        return ValueError(
            f"{self.scope_name}: called with {what}={called!r} but its variables were made for "
            f"{what}={built!r}; a shared layer (reuse=True) may change its stride, padding, "
            f"rate, data_format and activation_fn per call, not {what} (use another scope)")

    def extra_repr(self) -> str:
        return f"scope={self.scope_name!r}"

    def normalize(self, inputs: torch.Tensor, plan, normalizer_fn, normalizer_params,
                  activation_fn) -> torch.Tensor:
        """``linear`` -> ``normalizer_fn`` (run inside this layer's scope, so its
        variables are ``<layer>/BatchNorm/...``) -> ``activation_fn``."""
        outputs = normalizer_fn(self.linear(inputs, plan), **(normalizer_params or {}))
        if getattr(normalizer_fn, "returns_fresh_outputs", False) and not _collected(outputs):
            return activate(outputs, activation_fn)
        return activation_fn(outputs) if activation_fn is not None else outputs


def _collected(outputs: torch.Tensor) -> bool:
    """Whether ``outputs`` was just put in an outputs collection (the
    normalizer's ``outputs_collections``): then an in-place activation would
    change the collected end point too."""
    frame = current_frame()
    for key in frame.output_keys:
        items = frame.collections.get(key)
        if items and items[-1].outputs is outputs:
            return True
    return False


def frozen(value):
    """``value`` made hashable for a settings tuple: a list becomes a tuple."""
    return tuple(value) if isinstance(value, list) else value


def call_layer(inputs: torch.Tensor, scope: Optional[str], default_name: str, reuse,
               new_layer, normalizer_fn=None, normalizer_params=None, activation_fn=None,
               outputs_collections=None, layer_kwargs: Optional[dict] = None,
               settings: Optional[tuple] = None) -> torch.Tensor:
    """Finds or builds a layer and applies it: the body of every layer builder.

    ``new_layer(ls)`` makes the module for a :class:`LayerScope` ``ls`` (with
    ``ls.create``) and its variables; it runs only when building.
    ``settings`` (a hashable tuple) are this call's arguments that do not
    shape the variables; the module turns them into a plan (cached, see
    :class:`Layer`) that its ``forward`` gets with the inputs, so calls that
    share the layer may differ in them. Layers without settings get
    ``layer_kwargs`` instead (arguments such as ``training``).
    With a ``normalizer_fn`` the module's ``normalize`` runs instead.
    """
    frame = current_frame()
    if not frame.building and normalizer_fn is None:  # the fast path of a built model
        layer = find_layer(frame, scope, default_name)
        if settings is not None:
            try:   # inlined plan_for: a dict hit after the first call
                plan = layer.plans[settings]
            except (KeyError, TypeError):
                plan = layer.plan_for(settings)
            outputs = layer(inputs, plan)
        else:
            outputs = layer(inputs, **layer_kwargs) if layer_kwargs else layer(inputs)
        if not outputs_collections:  # the usual case: spare the fast path a call
            return outputs
        return collect_named_outputs(outputs_collections, layer.scope_name, outputs)
    with LayerScope(frame, scope, default_name, reuse, inputs) as ls:
        layer = new_layer(ls) if ls.layer is None else ls.layer
        if settings is None:
            outputs = layer(inputs, **layer_kwargs) if layer_kwargs else layer(inputs)
        elif normalizer_fn is None:
            outputs = layer(inputs, layer.plan_for(settings))
        else:
            outputs = layer.normalize(inputs, layer.plan_for(settings), normalizer_fn,
                                      normalizer_params, activation_fn)
        return collect_named_outputs(outputs_collections, ls.path, outputs)


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
    and then creates the layer's variables, which land on that module. A
    scope that holds only variables made by hand (or sub-scopes) is taken
    over by the new module, which then finds those variables as TF does:

        >>> with slim.Graph():
        ...     w = slim.variable('Conv/weights', shape=[3, 3, 2, 4])
        ...     b = slim.variable('Conv/biases', shape=[4])
        ...     y = slim.conv2d(torch.ones(1, 2, 5, 5), 4, [3, 3], scope='Conv', reuse=True)
        ...     len(slim.get_variables()), w.shape  # stored as conv kernels now
        (2, torch.Size([4, 2, 3, 3]))
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
            if not frame.adoptable(node):
                raise ValueError(f"scope '{path}' holds a {type(node).__name__} module, not a "
                                 "slim layer; give the layer a scope of its own")
            if not frame.building:
                raise not_built_error(frame, path, "layer")
            # Plain variables made by hand (TF shares them by name, reuse
            # rules applied per variable): the new layer takes them over.
            return None
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
