"""Creating model variables and finding them by TF-Slim's rules.

Variables are created inside the current variable scope (named and shared by
the rules in ``scopes.py``) and registered in the current graph, on the module
of their scope (so a ``slim.Model`` owns them):

    >>> with slim.Graph():
    ...     with slim.variable_scope('nested'):
    ...         v2 = slim.model_variable('v2', shape=[2, 3])
    ...     [v.op.name for v in slim.get_model_variables()]
    ['nested/v2']

Queries use TF-Slim's matching: ``scope`` is a regular expression matched at
the *start* of the name (``re.match``), so ``'net/conv1'`` also matches
``'net/conv10/...'``. Names carry no ``:0`` suffix, but patterns are matched
against ``name + ':0'`` so TF-Slim suffix patterns (``'weights:'``) behave
as before.
"""

from __future__ import annotations

import functools
import numbers
import re
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np
import torch

from ._by_name import assign_from_values, assign_from_values_fn, filter_variables
from ._global_step import (assert_global_step, assert_or_get_global_step, create_global_step,
                           get_global_step, get_or_create_global_step)
from ._layouts import IDENTITY, get_layout
from .arg_scope import add_arg_scope
from .graph import GraphKeys, Variable, VariableRecord, stamp_variable
from .initializers import run_initializer, xavier_initializer, zeros_initializer
from .scopes import Frame, VariableScope, check_scope_name, current_frame

__all__ = [
    "NotBuiltError",
    "not_built_error",
    "add_model_variable",
    "add_to_collection",
    "assert_global_step",
    "assert_or_get_global_step",
    "assign_from_values",
    "assign_from_values_fn",
    "create_global_step",
    "filter_variables",
    "get_collection",
    "get_global_step",
    "get_local_variables",
    "get_model_variables",
    "get_or_create_global_step",
    "get_trainable_variables",
    "get_unique_variable",
    "get_variable_full_name",
    "get_variables",
    "get_variables_by_name",
    "get_variables_by_suffix",
    "get_variables_to_restore",
    "global_variable",
    "local_variable",
    "model_variable",
    "variable",
]


class NotBuiltError(ValueError):
    """A layer or variable was requested after its model was built without it."""


# -- devices ------------------------------------------------------------------
_TF_DEVICE = re.compile(r"^(?:device:)?(cpu|gpu|xla_gpu)(?::(\d+))?$")


def _parse_device(device, name: str = "") -> torch.device:
    """A torch device from a TF string (``'/CPU:0'``, ``'/job:ps/device:GPU:1'``),
    a torch string (``'cuda:0'``), a ``torch.device``, or a callable of the
    variable's full name."""
    if callable(device) and not isinstance(device, (str, torch.device)):
        device = device(name)
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"variable {name!r}: device must be a string, torch.device or callable, "
                        f"got {device!r}")
    if device.startswith("/"):
        for part in device.lower().split("/"):
            match = _TF_DEVICE.match(part)
            if match:
                kind, index = match.group(1), int(match.group(2) or 0)
                return torch.device("cpu") if kind == "cpu" else torch.device("cuda", index)
        return torch.get_default_device()  # '/job:ps/task:0' and the like: no device part
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"variable {name!r}: cannot understand device {device!r}; use "
                         "'/CPU:0', '/GPU:0', 'cpu' or 'cuda:0'") from None


def _creation_device(frame: Frame, device, name: str) -> torch.device:
    # A meta build never allocates, whatever the variable asks for.
    if frame.build_device is not None and torch.device(frame.build_device).type == "meta":
        return torch.device("meta")
    if device is not None:
        return _parse_device(device, name)
    if frame.build_device is not None:
        return torch.device(frame.build_device)
    if frame.top.device is not None:
        return frame.top.device
    return torch.get_default_device()


# -- creation -----------------------------------------------------------------
def _is_value(initializer) -> bool:
    return isinstance(initializer, (torch.Tensor, np.ndarray, numbers.Number, list, tuple))


def _lookup(node, leaf):
    if node is None:
        return None
    found = node._parameters.get(leaf)
    return found if found is not None else node._buffers.get(leaf)


def not_built_error(frame: Frame, full_name: str, what: str = "variable") -> NotBuiltError:
    owner = frame.owner
    model = f"{type(owner).__name__}({getattr(owner, 'fn_name', '?')})" if owner is not None else "model"
    return NotBuiltError(
        f"{what} '{full_name}' does not exist: {model} was built without it (the build call "
        "did not take this code path). Call `model.build(example, **kwargs)` with arguments "
        "that reach it before creating the optimizer; a built model cannot grow afterwards."
    )


def _locate(frame: Frame, full: str, create: bool):
    """The module that holds variable ``full`` (a full name) and its leaf
    name; names under the current scope are found from its module."""
    path = frame.top.path
    if not path:
        return frame.locate(full, create)
    if full.startswith(path) and full[len(path):len(path) + 1] == "/":
        return frame.locate(full[len(path) + 1:], create)
    *scope_parts, leaf = full.split("/")  # a custom getter renamed it elsewhere
    return frame.walk(frame.node_of(frame.stack[0], create), scope_parts, create), leaf


def _get_or_create(full: str, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable: bool = True, collections: Iterable[str] = (), device=None,
                   layout=None, persistent: bool = True, reuse=None) -> Variable:
    """Returns variable ``full`` (a full name), creating it when building,
    by the reuse flag ``reuse`` (rule 5 of ``scopes.py``).

    This is the one place variables are made; see :func:`variable`.
    """
    check_scope_name(full, "variable")
    frame = current_frame()
    if not frame.building:
        found = _lookup(*_locate(frame, full, create=False))
        if found is None:
            raise not_built_error(frame, full)
        return stamp_variable(found, full)

    node, leaf = _locate(frame, full, create=True)
    found = _lookup(node, leaf)
    exists = found is not None
    if not frame.reuse_allows(full, reuse, exists):
        if exists:
            raise ValueError(
                f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                "reuse=slim.AUTO_REUSE in variable_scope?"
            )
        raise ValueError(
            f"Variable {full} does not exist, or was not created with slim.variable(). "
            "Did you mean to set reuse=slim.AUTO_REUSE in variable_scope?"
        )
    if exists:
        return _share(frame, full, found, shape, _as_dtype(dtype), get_layout(layout))
    return _create(frame, node, leaf, full, shape, dtype, initializer, regularizer,
                   trainable, collections, device, get_layout(layout), persistent)


def _as_dtype(dtype):
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def _share(frame: Frame, full: str, found: torch.Tensor, shape, dtype, layout) -> Variable:
    """Checks that existing variable ``full`` is what this request asks for.

    A variable made by hand is stored as given, in TF layout; a layer that
    takes it over (``slim.conv2d(..., scope='Conv', reuse=True)`` after
    ``slim.variable('Conv/weights', ...)``) stores its kernels in another
    layout, so the variable is rearranged into it in place (same tensor
    object; its TF shape, and so its checkpoint entry, are unchanged).
    """
    record = frame.graph.record(full)
    if shape is not None and record is not None and record.layout is IDENTITY and \
            layout is not IDENTITY and list(found.shape) == [int(d) for d in shape]:
        with torch.no_grad():
            found.data = layout.to_torch(found.data)
        record.layout = layout
    if shape is not None:
        found_shape = (record.layout if record is not None else layout).tf_shape(found.shape)
        if found_shape != [int(d) for d in shape]:
            raise ValueError(f"Trying to share variable {full}, but specified shape "
                             f"{list(shape)} and found shape {found_shape}.")
    if dtype is not None and found.dtype != dtype:
        raise ValueError(f"Trying to share variable {full}, but specified dtype {dtype} and "
                         f"found dtype {found.dtype}.")
    return stamp_variable(found, full)


def _create(frame, node, leaf, full, shape, dtype, initializer, regularizer, trainable,
            collections, device, layout, persistent) -> Variable:
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    dtype = dtype or torch.get_default_dtype()
    value = None
    if _is_value(initializer):
        value = torch.as_tensor(np.asarray(initializer) if isinstance(initializer, (list, tuple))
                                else initializer, dtype=dtype)
        if shape is None:
            shape = list(value.shape)
        initializer = None
    if shape is None:
        raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead "
                         "was None; pass shape= or an initial value as initializer=")
    shape = [int(d) for d in shape]
    if any(d < 0 for d in shape):
        raise ValueError(f"variable {full}: negative dimension in shape {shape}")
    floating = dtype.is_floating_point or dtype.is_complex
    if initializer is None and value is None:
        initializer = xavier_initializer() if floating else zeros_initializer()
    torch_device = _creation_device(frame, device, full)
    data = torch.empty(layout.torch_shape(shape), dtype=dtype, device=torch_device)
    if value is not None:
        from .initializers import constant_initializer
        initializer = constant_initializer(value)
    run_initializer(initializer, data, layout)

    is_buffer = not (trainable and floating)
    var = Variable(data, requires_grad=not is_buffer)
    stamp_variable(var, full)
    if is_buffer:
        node._buffers[leaf] = var
        if not persistent:
            node._non_persistent_buffers_set.add(leaf)
    else:
        node._parameters[leaf] = var

    names = {GraphKeys.GLOBAL_VARIABLES} if not collections else set(collections)
    if trainable and not is_buffer and GraphKeys.LOCAL_VARIABLES not in names:
        names.add(GraphKeys.TRAINABLE_VARIABLES)
    record = VariableRecord(full, node, leaf, is_buffer=is_buffer, trainable=not is_buffer,
                            collections=names, initializer=initializer, regularizer=regularizer,
                            layout=layout, owner=frame.owner)
    frame.graph.add_record(record)
    frame.records.append(record)
    frame.created.add(full)  # for the reuse rule (Frame.reuse_allows)
    return var


def _collections_list(collections) -> list[str]:
    if collections is None:
        return []
    if isinstance(collections, str):
        return [collections]
    return list(collections)


def _get_variable(name: str, shape, dtype, initializer, regularizer, trainable, collections,
                  device, layout, custom_getter) -> Variable:
    """TF's ``get_variable`` in the current scope, through its custom getters.

    ``custom_getter`` (TF-Slim's argument of ``slim.variable``) replaces the
    whole lookup: it is called as ``custom_getter(name, reuse=..., shape=...,
    ...)`` with the relative name. The getters of the open scopes (rule 7 of
    ``scopes.py``) are called as ``getter(getter=..., name=<full name>,
    **kwargs)`` with TF's keywords; the innermost ``getter`` makes or finds the
    variable. slimtorch's own arguments (``device``, ``layout``) travel bound
    to that innermost getter, so a getter written for TF passes them on.
    """
    check_scope_name(name, "variable")
    entry = current_frame().top
    collections = list(dict.fromkeys(collections))
    if custom_getter is not None:
        return custom_getter(name, reuse=entry.reuse, shape=shape, dtype=dtype,
                             initializer=initializer, regularizer=regularizer,
                             trainable=trainable, collections=collections)
    full = entry.join(name)
    if entry.getter is None:
        return _get_or_create(full, shape, dtype, initializer, regularizer, trainable,
                              dict.fromkeys(collections), device, layout, reuse=entry.reuse)
    getter = functools.partial(_true_getter, device=device, layout=layout)
    kwargs = dict(shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                  reuse=entry.reuse, trainable=trainable, collections=collections,
                  caching_device=None, partitioner=None, validate_shape=True,
                  use_resource=None, synchronization=None, aggregation=None)
    return entry.getter(getter=getter, name=full, **kwargs)


def _true_getter(name: str, shape=None, dtype=None, initializer=None, regularizer=None,
                 reuse=None, trainable=None, collections=None, caching_device=None,
                 partitioner=None, validate_shape=True, use_resource=None, constraint=None,
                 synchronization=None, aggregation=None, *, device=None, layout=None) -> Variable:
    """The ``getter`` custom getters receive: TF's ``_true_getter`` (full
    ``name``; ``caching_device``, ``validate_shape``, ``use_resource``,
    ``synchronization`` and ``aggregation`` have no meaning eagerly)."""
    for what, value in (("partitioner", partitioner), ("constraint", constraint)):
        if value is not None:
            raise ValueError(f"variable {name}: {what}= is not supported by slimtorch (a "
                             "variable is one tensor); leave it None in the custom getter")
    collections = _collections_list(collections) or [GraphKeys.GLOBAL_VARIABLES]
    return _get_or_create(name, shape, dtype, initializer, regularizer,
                          True if trainable is None else trainable, dict.fromkeys(collections),
                          device, layout, reuse=reuse)


@add_arg_scope
def variable(name: str, shape: Optional[Sequence[int]] = None, dtype=None, initializer=None,
             regularizer=None, trainable: bool = True, collections=None, device=None,
             layout=None, custom_getter=None) -> Variable:
    """Gets or creates a variable in the current scope (TF-Slim's ``slim.variable``).

    Args:
        name: name relative to the current variable scope.
        shape: TF-layout shape. May be omitted when ``initializer`` is a value.
        dtype: a torch dtype (default: ``torch.get_default_dtype()``).
        initializer: a slimtorch initializer, a ``torch.nn.init``-style
            callable, or an initial value. Default: Xavier (TF's default).
        regularizer: ``weights -> penalty``; evaluated by
            ``slim.losses.get_regularization_losses()`` on current weights.
        trainable: trainable variables are parameters; others are buffers.
        collections: collection names (default ``[GLOBAL_VARIABLES]``).
        device: ``'/CPU:0'``, ``'/GPU:1'``, ``'cuda'``, a ``torch.device`` or
            a callable of the full name. Default: the layer input's device.
        layout: how the TF-layout ``shape`` is stored (``'conv'``,
            ``'dense'``; default: as given).
        custom_getter: TF-Slim's: a function with ``get_variable``'s
            signature called *instead* of it, as ``custom_getter(name,
            reuse=..., shape=..., dtype=..., initializer=..., regularizer=...,
            trainable=..., collections=...)``. (A scope's getter, the usual
            way, is ``slim.variable_scope(custom_getter=...)``.)

    Example:
        >>> with slim.Graph():
        ...     w = slim.variable('weights', shape=[10, 10, 3, 3],
        ...                       initializer=slim.truncated_normal_initializer(stddev=0.1),
        ...                       regularizer=slim.l2_regularizer(0.05), device='/CPU:0')
        ...     w.name, tuple(w.shape)
        ('weights', (10, 10, 3, 3))
    """
    collections = _collections_list(collections) or [GraphKeys.GLOBAL_VARIABLES]
    return _get_variable(name, shape, dtype, initializer, regularizer, trainable, collections,
                         device, layout, custom_getter)


@add_arg_scope
def model_variable(name: str, shape: Optional[Sequence[int]] = None, dtype=None, initializer=None,
                   regularizer=None, trainable: bool = True, collections=None, device=None,
                   layout=None, custom_getter=None) -> Variable:
    """Like :func:`variable`, and also in the ``MODEL_VARIABLES`` collection.

    Every slim layer creates its variables through this function, so an
    ``arg_scope([slim.model_variable], device=...)`` places them all, and
    the scope's custom getters see them all.

        >>> with slim.Graph():
        ...     with slim.variable_scope('A'):
        ...         a = slim.model_variable('a', [5], initializer=slim.ones_initializer())
        ...     a.name, a.tolist(), [v.name for v in slim.get_model_variables('A')]
        ('A/a', [1.0, 1.0, 1.0, 1.0, 1.0], ['A/a'])
    """
    collections = _collections_list(collections) + [GraphKeys.GLOBAL_VARIABLES,
                                                    GraphKeys.MODEL_VARIABLES]
    return _get_variable(name, shape, dtype, initializer, regularizer, trainable, collections,
                         device, layout, custom_getter)


def _tf_variable_name(frame: Frame, name: str) -> str:
    """The full name ``tf.Variable(name=name)`` gets: ``name``, else
    ``name_1``, ``name_2``, ... unique like TF's name scopes (rule 6 of
    ``scopes.py``), skipping names this build already made."""
    check_scope_name(name, "variable")
    base = frame.top.join(name)
    while True:
        full = frame.unique_op_name(base)
        if not frame.building:
            return full
        exists = _lookup(*_locate(frame, full, create=False)) is not None
        if frame.reuse_allows(full, None, exists):
            return full


def local_variable(initial_value, validate_shape: bool = True, name: Optional[str] = None,
                   use_resource=None) -> Variable:
    """A non-trainable variable in ``LOCAL_VARIABLES`` only, never checkpointed.

    As ``tf.Variable``, the name (default ``'Variable'``) is made unique in
    its scope, and custom getters are not used.

        >>> with slim.Graph():
        ...     with slim.variable_scope('A'):
        ...         a, b = slim.local_variable(0), slim.local_variable([1, 2], name='b')
        ...         c = slim.local_variable(0)
        ...     [v.name for v in slim.get_local_variables()], b.tolist()
        (['A/Variable', 'A/b', 'A/Variable_1'], [1, 2])
    """
    frame = current_frame()
    return _get_or_create(_tf_variable_name(frame, name or "Variable"), None,
                          _value_dtype(initial_value), initial_value, None, False,
                          {GraphKeys.LOCAL_VARIABLES: None}, None, None, persistent=False)


def global_variable(initial_value, validate_shape: bool = True, name: Optional[str] = None,
                    use_resource=None) -> Variable:
    """A non-trainable variable in ``GLOBAL_VARIABLES`` only (named as
    :func:`local_variable`).

        >>> with slim.Graph():
        ...     [slim.global_variable(v).name for v in (42, 43)]
        ['Variable', 'Variable_1']
    """
    frame = current_frame()
    return _get_or_create(_tf_variable_name(frame, name or "Variable"), None,
                          _value_dtype(initial_value), initial_value, None, False,
                          {GraphKeys.GLOBAL_VARIABLES: None}, None, None)


def _value_dtype(value):
    """The dtype a variable initialised from ``value`` gets (floats: the default)."""
    if isinstance(value, torch.Tensor):
        return value.dtype
    kind = np.asarray(value).dtype.kind
    return {"b": torch.bool, "i": torch.int64, "u": torch.int64}.get(kind)


def add_model_variable(var: torch.Tensor, name: Optional[str] = None) -> None:
    """Adds ``var`` to ``MODEL_VARIABLES``.

    ``var`` is usually a slim variable. A tensor made by your own code
    (``CreateViaCustomCode()`` in the guide) is registered under ``name``
    (relative to the current scope), which is then required.
    """
    frame = current_frame()
    graph = frame.graph
    record = graph.record(getattr(var, "name", None) or "") if isinstance(var, Variable) else None
    if record is not None and record.tensor is var:
        record.collections.add(GraphKeys.MODEL_VARIABLES)
        return
    if name is None:
        raise ValueError("add_model_variable: this tensor is not a slim variable; pass name= to "
                         "register it under that name")
    full = frame.top.join(name)
    if graph.record(full) is not None:
        graph.record(full).collections.add(GraphKeys.MODEL_VARIABLES)
        return
    node, leaf = frame.locate(name, create=True)
    is_buffer = not var.requires_grad
    (node._buffers if is_buffer else node._parameters)[leaf] = var
    graph.add_record(VariableRecord(
        full, node, leaf, is_buffer=is_buffer, trainable=not is_buffer,
        collections={GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES}
        | (set() if is_buffer else {GraphKeys.TRAINABLE_VARIABLES}),
        initializer=None, regularizer=None, layout=IDENTITY, owner=frame.owner))
    stamp_variable(var, full)


# -- queries ------------------------------------------------------------------
def _records(collection: str, scope: Optional[str]) -> list[VariableRecord]:
    return current_frame().graph.find(collection, scope)


def get_variables(scope: Union[str, VariableScope, None] = None, suffix: Optional[str] = None,
                  collection: str = GraphKeys.GLOBAL_VARIABLES) -> list[Variable]:
    """Variables of ``collection`` whose names match ``scope`` (regex prefix)
    and end with ``suffix``.

    Example:
        >>> with slim.Graph():
        ...     with slim.variable_scope('net'):
        ...         for s in ('conv1', 'conv10'):
        ...             _ = slim.variable(s + '/weights', shape=[1])
        ...     [v.name for v in slim.get_variables('net/conv1')]  # a prefix match
        ['net/conv1/weights', 'net/conv10/weights']
    """
    if isinstance(scope, VariableScope):
        scope = scope.name
    if suffix is not None:
        if ":" not in suffix:
            suffix += ":"
        scope = (scope or "") + ".*" + suffix
    return [r.tensor for r in _records(collection, scope)]


def get_model_variables(scope=None, suffix=None) -> list[Variable]:
    """Variables in ``MODEL_VARIABLES`` (weights, biases, moving statistics)."""
    return get_variables(scope, suffix, GraphKeys.MODEL_VARIABLES)


def get_trainable_variables(scope=None, suffix=None) -> list[Variable]:
    """Variables in ``TRAINABLE_VARIABLES``."""
    return get_variables(scope, suffix, GraphKeys.TRAINABLE_VARIABLES)


def get_local_variables(scope=None, suffix=None) -> list[Variable]:
    """Variables in ``LOCAL_VARIABLES`` (metric state)."""
    return get_variables(scope, suffix, GraphKeys.LOCAL_VARIABLES)


def get_variables_by_suffix(suffix: str, scope=None) -> list[Variable]:
    """Variables whose names end with ``suffix`` (``'weights'`` also matches ``'xweights'``)."""
    return get_variables(scope=scope, suffix=suffix)


def get_variables_by_name(given_name: str, scope=None) -> list[Variable]:
    """Variables whose last name component is exactly ``given_name``."""
    suffix = "/" + given_name + ":|^" + given_name + ":"
    return get_variables(scope=scope, suffix=suffix)


def get_unique_variable(var_op_name: str) -> Variable:
    """The variable named exactly ``var_op_name``.

    Raises:
        ValueError: no variable has that prefix, or none has exactly that name.
    """
    candidates = get_variables(scope=var_op_name)
    if not candidates:
        raise ValueError(f"Couldn't find variable {var_op_name}")
    for candidate in candidates:
        if candidate.name == var_op_name:
            return candidate
    raise ValueError(f"Variable {var_op_name} does not uniquely identify a variable")


def get_variables_to_restore(include=None, exclude=None) -> list[Variable]:
    """Global variables matching any ``include`` scope and no ``exclude`` scope.

    Both are lists of regex prefixes, so ``exclude=['vgg_16/fc8']`` also
    drops ``vgg_16/fc8_new``, exactly as in TF-Slim.

    Raises:
        ValueError: the graph has no variables at all (TF-Slim returns an
            empty list, which fails later in the restore): the models are
            built by their first call, so call them (or ``build``) first.

            >>> with slim.Graph():
            ...     slim.get_variables_to_restore()
            Traceback (most recent call last):
            ...
            ValueError: get_variables_to_restore: no variables yet: build the model first (call
            it once, or `Model.build(shape)`)
    """
    if not get_variables():
        raise ValueError("get_variables_to_restore: no variables yet: build the model first "
                         "(call it once, or `Model.build(shape)`)")
    if include is None:
        to_include = get_variables()
    else:
        if not isinstance(include, (list, tuple)):
            raise TypeError("include is provided but is not a list or a tuple.")
        to_include = [v for scope in include for v in get_variables(scope)]
    excluded: set[int] = set()
    if exclude is not None:
        if not isinstance(exclude, (list, tuple)):
            raise TypeError("exclude is provided but is not a list or a tuple.")
        excluded = {id(v) for scope in exclude for v in get_variables(scope)}
    return [v for v in to_include if id(v) not in excluded]


def get_variable_full_name(var: Variable) -> str:
    """The full Slim name of ``var``."""
    return var.name


# -- collections --------------------------------------------------------------
def add_to_collection(key: str, value: Any) -> None:
    """Appends ``value`` to collection ``key`` of the current graph.

    Inside a ``slim.Model`` call the collection belongs to that call; it is
    handed to the caller when the call returns (see ``slim.Model``).
    """
    frame = current_frame()
    frame.collections.setdefault(key, []).append(value)


def get_collection(key: str, scope: Optional[str] = None) -> list:
    """Collection ``key``: its variables (also those put in a custom
    collection through ``variables_collections``), then its other values.

    With ``scope``, only items whose ``name`` matches the regex prefix.
    """
    variables = [r.tensor for r in _records(key, scope)]
    if key in GraphKeys.VARIABLE_COLLECTIONS:
        return variables
    items = list(current_frame().collections.get(key, ()))
    if scope:
        pattern = re.compile(scope)
        items = [x for x in items if isinstance(getattr(x, "name", None), str)
                 and pattern.match(x.name)]
    return variables + items
