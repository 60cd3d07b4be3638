"""The registry of model variables and collections: TF's "graph", for PyTorch.

A :class:`Graph` maps full Slim names (``vgg_16/conv1/conv1_1/weights``) to
records of the variables that carry them, and holds TF-style collections.
There is a default graph, so top-level snippets work as written, and
``with slim.Graph():`` opens a fresh one for the block:

    >>> with slim.Graph():
    ...     w = slim.variable('w', shape=[2])
    ...     [v.name for v in slim.get_variables()]
    ['w']
"""

from __future__ import annotations

import re
import threading
from typing import Any, Optional

import torch
from torch import nn

__all__ = ["Graph", "GraphKeys", "Variable", "VariableRecord", "get_default_graph",
           "reset_default_graph", "stamp_variable"]


class GraphKeys:
    """Standard collection names (the values TensorFlow uses)."""

    GLOBAL_VARIABLES = "variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    UPDATE_OPS = "update_ops"
    GLOBAL_STEP = "global_step"
    SUMMARIES = "summaries"
    WEIGHTS = "weights"           # filled by users (TF-Slim's layers leave it empty too)
    BIASES = "biases"
    ACTIVATIONS = "activations"
    TRAIN_OP = "train_op"

    #: Collections that hold variables; the rest hold arbitrary values.
    VARIABLE_COLLECTIONS = frozenset(
        {GLOBAL_VARIABLES, MODEL_VARIABLES, TRAINABLE_VARIABLES, LOCAL_VARIABLES, GLOBAL_STEP}
    )


class _OpName:
    """Stands in for TF's ``var.op`` so ``var.op.name`` works."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<op {self.name!r}>"


class Variable(nn.Parameter):
    """A model variable: a real ``torch.nn.Parameter`` that knows its Slim name.

    Trainable variables are registered as parameters of their module;
    non-trainable ones (moving statistics, the global step) as buffers, with
    ``requires_grad=False``. Operations on a ``Variable`` return plain tensors.

    ``var.name`` and ``var.op.name`` are both the full Slim name without
    TensorFlow's ``:0`` suffix, so the guide's ``name_in_checkpoint(var)``
    idiom works unchanged.
    """

    @property
    def name(self) -> Optional[str]:  # shadows the read-only TensorBase.name
        return self.__dict__.get("_slim_name")

    @property
    def op(self) -> _OpName:
        return _OpName(self.name)

    def __repr__(self) -> str:
        kind = "trainable" if self.requires_grad else "non-trainable"
        return f"<slim.Variable {self.name!r} shape={list(self.shape)} {kind}>\n{self.data!r}"

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy.__dict__["_slim_name"] = self.name
        return copy

    def __reduce_ex__(self, proto):
        # Pickle as a plain Parameter; slimtorch itself never pickles.
        return nn.Parameter(self.data, self.requires_grad).__reduce_ex__(proto)


def stamp_variable(tensor: torch.Tensor, name: str) -> Variable:
    """Makes ``tensor`` (in place, keeping its identity) a named :class:`Variable`.

    ``Module.to()`` and ``load_state_dict(assign=True)`` may replace a
    module's tensors with plain ones; re-stamping on every lookup keeps
    ``var.name`` working without holding stale references.
    """
    if type(tensor) is not Variable:
        tensor.__class__ = Variable
    if tensor.__dict__.get("_slim_name") != name:
        tensor.__dict__["_slim_name"] = name
    return tensor


class VariableRecord:
    """Where a variable lives and what TF-Slim knows about it.

    The tensor is looked up on its owning module at each access, so the record
    follows ``.to()``, ``to_empty()`` and ``load_state_dict(assign=True)``.
    """

    __slots__ = (
        "name", "module", "attr", "is_buffer", "trainable", "collections",
        "initializer", "regularizer", "layout", "owner",
    )

    def __init__(self, name, module, attr, *, is_buffer, trainable, collections,
                 initializer, regularizer, layout, owner):
        self.name = name
        self.module = module
        self.attr = attr
        self.is_buffer = is_buffer
        self.trainable = trainable
        self.collections = collections
        self.initializer = initializer
        self.regularizer = regularizer
        self.layout = layout
        self.owner = owner  # the Model that built it, or None

    @property
    def tensor(self) -> Variable:
        store = self.module._buffers if self.is_buffer else self.module._parameters
        return stamp_variable(store[self.attr], self.name)

    def __repr__(self) -> str:
        return f"VariableRecord({self.name!r}, collections={sorted(self.collections)})"


class Graph:
    """A registry of variables and collections, like a TensorFlow graph.

    Use it as a context manager to make it the default within a block
    (thread-local, nestable):

        >>> with slim.Graph() as g:
        ...     _ = slim.model_variable('w', shape=[3])
        >>> [r.name for r in g.records()]
        ['w']
    """

    def __init__(self) -> None:
        self._records: dict[str, VariableRecord] = {}
        self._collections: dict[str, list] = {}
        # Variables and layers created outside any slim.Model live under here.
        self.root = nn.Module()
        self.thread = threading.local()  # per-thread scope stacks (see scopes.py)

    # -- variables -------------------------------------------------------
    def records(self) -> list[VariableRecord]:
        return list(self._records.values())

    def record(self, name: str) -> Optional[VariableRecord]:
        return self._records.get(name)

    def find(self, collection: str, scope: Optional[str] = None) -> list[VariableRecord]:
        """The records of ``collection`` whose names match the regular
        expression ``scope`` at their start (TF's ``get_collection(key,
        scope)``), matched against ``name + ':0'`` as TF's names read.

            >>> with slim.Graph() as g:
            ...     for name in ('conv1/weights', 'conv10/weights', 'fc/weights'):
            ...         _ = slim.variable(name, shape=[1])
            ...     [r.name for r in g.find(slim.GraphKeys.GLOBAL_VARIABLES, 'conv1')]
            ['conv1/weights', 'conv10/weights']
        """
        records = [r for r in self._records.values() if collection in r.collections]
        if scope:
            pattern = re.compile(scope)
            records = [r for r in records if pattern.match(r.name + ":0")]
        return records

    def add_record(self, record: VariableRecord) -> None:
        """Registers ``record``; a newer Model supersedes an older one's names."""
        old = self._records.get(record.name)
        if old is not None and old.owner is not record.owner and old.owner is not None:
            self.forget_model(old.owner)
        self._records[record.name] = record

    def remove_record(self, record: VariableRecord) -> None:
        """Drops ``record`` if it is still the one registered under its name."""
        if self._records.get(record.name) is record:
            del self._records[record.name]

    def forget_model(self, model: Any) -> None:
        """Drops every record built by ``model`` (it keeps working on its own)."""
        self._records = {n: r for n, r in self._records.items() if r.owner is not model}

    def modules(self, with_models: bool = False) -> list[nn.Module]:
        """The modules holding this graph's variables, each once, in the
        order their variables were created: what must move to a device or
        switch to eval mode together. ``with_models=True`` adds the
        ``slim.Model`` that built each variable, just before its module
        (a model's layers follow its mode).

            >>> with slim.Graph() as g:
            ...     net = slim.Model(lambda x: slim.fully_connected(x, 2, scope='fc'))
            ...     _ = net(torch.ones(1, 3))
            ...     _ = slim.variable('free', shape=[1])
            >>> [type(m).__name__ for m in g.modules()]
            ['FullyConnected', 'Module']
            >>> [type(m).__name__ for m in g.modules(with_models=True)]
            ['Model', 'FullyConnected', 'Module']
        """
        found: dict[int, nn.Module] = {}
        for record in self._records.values():
            for module in ((record.owner, record.module) if with_models else (record.module,)):
                if module is not None:
                    found.setdefault(id(module), module)
        return list(found.values())

    # -- collections -----------------------------------------------------
    def add_to_collection(self, key: str, value: Any) -> None:
        self._collections.setdefault(key, []).append(value)

    def get_collection_ref(self, key: str) -> list:
        return self._collections.setdefault(key, [])

    def clear_collection(self, key: str) -> None:
        self._collections.pop(key, None)

    def pop_collection(self, key: str) -> list:
        """Removes collection ``key`` and returns what it held (``[]`` if
        nothing): how values that belong to one step, such as its losses,
        are taken out before the next step adds its own.

            >>> g = slim.Graph()
            >>> g.add_to_collection('losses', 1.0)
            >>> g.pop_collection('losses'), g.pop_collection('losses'), g.collection_keys()
            ([1.0], [], [])
        """
        return self._collections.pop(key, [])

    def collection_keys(self) -> list[str]:
        return list(self._collections)

    # -- default-graph handling ----------------------------------------
    def as_default(self) -> "Graph":
        return self

    def __enter__(self) -> "Graph":
        _DEFAULT.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _DEFAULT.stack.pop()


class _DefaultGraphStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[Graph] = []


_DEFAULT = _DefaultGraphStack()
_GLOBAL_DEFAULT = [Graph()]


def get_default_graph() -> Graph:
    """The innermost ``with slim.Graph()`` graph of this thread, else the global one."""
    stack = _DEFAULT.stack
    return stack[-1] if stack else _GLOBAL_DEFAULT[0]


def reset_default_graph() -> Graph:
    """Replaces the global default graph with a fresh one and returns it."""
    if _DEFAULT.stack:
        raise RuntimeError("reset_default_graph() cannot be called inside `with slim.Graph()`")
    _GLOBAL_DEFAULT[0] = Graph()
    return _GLOBAL_DEFAULT[0]
