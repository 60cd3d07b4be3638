"""The frame: where builders learn their scope, registry and mode.

A thread-local stack of :class:`Frame` objects holds what a layer builder
needs: the active :class:`~slimtorch.graph.Graph`, the module that is the root
of the module tree being built, the stack of open variable scopes, the
default-name counters, and whether we are *building* (create layers) or
*applying* (look them up). Every ``slim.Model`` call pushes a fresh frame, so
default names (``Conv``, ``Conv_1``) come out the same on every call. Code
outside any model runs in a per-thread base frame of the default graph that
always builds, like TF's graph-mode.

Scope names follow TensorFlow exactly, including its counters:
``_get_unique_variable_scope`` counts how often each full scope name has been
opened, and leaving a named scope resets the counts below it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Optional, Union

from torch import nn

from .graph import Graph, get_default_graph

__all__ = [
    "AUTO_REUSE",
    "VariableScope",
    "current_frame",
    "get_variable_scope",
    "variable_scope",
]


class _AutoReuse:
    def __repr__(self) -> str:
        return "slim.AUTO_REUSE"


#: ``reuse=AUTO_REUSE``: create variables that do not exist, return those that do.
AUTO_REUSE = _AutoReuse()

BUILD, APPLY = "build", "apply"


class Scope(nn.Module):
    """A container node of the module tree for a variable scope with no layer."""

    def forward(self, *args, **kwargs):
        raise RuntimeError(
            "a slim scope container is not callable; call the slim.Model that owns it"
        )


def check_scope_name(name: str, what: str = "scope") -> None:
    """Rejects names that cannot be module names (torch forbids '.')."""
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a string, got {type(name).__name__}")
    for part in name.split("/"):
        if not part or "." in part:
            raise ValueError(
                f"invalid {what} name {name!r}: each '/'-separated part must be non-empty "
                "and may not contain '.' (it becomes a torch module or parameter name)"
            )


def add_child(parent: nn.Module, name: str, child: nn.Module) -> None:
    # Written to _modules directly so scope names such as 'train' or 'type'
    # that shadow nn.Module attributes still work; state_dict keys use _modules.
    parent._modules[name] = child


class _Counts:
    """TF's ``variable_scopes_count`` as a tree: ``n`` times opened, per child."""

    __slots__ = ("n", "children")

    def __init__(self) -> None:
        self.n = 0
        self.children: dict[str, _Counts] = {}

    def child(self, name: str) -> "_Counts":
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = _Counts()
        return node

    def count(self, name: str) -> int:
        node = self.children.get(name)
        return node.n if node is not None else 0

    def snapshot(self) -> "_Counts":
        """A deep copy (written out: ``torch.compile`` cannot trace
        ``copy.deepcopy`` of a slotted object)."""
        copy_ = _Counts()
        copy_.n = self.n
        copy_.children = {name: child.snapshot() for name, child in self.children.items()}
        return copy_


class ScopeEntry:
    """One open variable scope: its full name, tree node and reuse flag."""

    __slots__ = ("path", "parent", "parts", "node", "counts", "reuse", "device")

    def __init__(self, path, parent, parts, node, counts, reuse, device=None):
        self.path = path  # full Slim name of the scope ('' at the root)
        self.parent = parent
        self.parts = parts  # name components relative to the parent entry
        self.node = node  # nn.Module for this scope, or None until needed
        self.counts = counts  # _Counts node of this scope
        self.reuse = reuse
        self.device = device  # device hint (a layer's input device)

    def join(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path else name


class Frame:
    """What a builder needs to know; see the module docstring."""

    def __init__(self, graph: Graph, root: nn.Module, mode: str, *, owner=None,
                 training: bool = True, build_device=None, persistent: bool = False,
                 dry_run: bool = False):
        self.graph = graph
        self.root = root
        self.mode = mode
        self.owner = owner  # the slim.Model being built/applied, or None
        self.training = training
        # An explicit build runs the function only to create the layers:
        # layers then behave as in eval mode (no moving-average updates, no
        # dropout), whatever is_training says.
        self.dry_run = dry_run
        self.build_device = build_device
        self.root_counts = _Counts()
        self.stack: list[ScopeEntry] = [ScopeEntry("", None, (), root, self.root_counts, None)]
        # Full names created during this build call (duplicate detection).
        # The base frame keeps them forever, like a TF graph.
        self.created: set[str] = set()
        self.persistent = persistent
        self.records: list = []  # VariableRecords created in this frame
        self.new_nodes: list = []  # (parent, name) of modules added in this frame
        # Collections of values (losses, layer outputs). The base frame shares
        # the graph's; a model call has its own, handed up when it returns,
        # except the per-call output collections named in `output_keys`.
        self.collections: dict[str, list] = graph._collections if persistent else {}
        self.output_keys: set[str] = set()
        self.op_names: dict[str, int] = {}  # name-scope counts of variable-free ops

    @property
    def building(self) -> bool:
        return self.mode == BUILD

    @property
    def top(self) -> ScopeEntry:
        return self.stack[-1]

    # -- the module tree ---------------------------------------------------
    def add_node(self, parent: nn.Module, name: str, child: nn.Module) -> None:
        add_child(parent, name, child)
        self.new_nodes.append((parent, name))

    def node_of(self, entry: ScopeEntry, create: bool) -> Optional[nn.Module]:
        """The module for ``entry``; creates missing containers when ``create``."""
        if entry.node is not None:
            return entry.node
        parent = self.node_of(entry.parent, create)
        if parent is None:
            return None
        node = parent
        for part in entry.parts:
            child = node._modules.get(part)
            if child is None:
                if not create:
                    return None
                child = Scope()
                self.add_node(node, part, child)
            node = child
        entry.node = node
        return node

    # -- scopes ------------------------------------------------------------
    def unique_name(self, prefix: str) -> str:
        """TF's ``_get_unique_variable_scope``: ``prefix``, ``prefix_1``, ..."""
        counts = self.stack[-1].counts
        if counts.count(prefix) == 0:
            return prefix
        idx = 1
        while counts.count(f"{prefix}_{idx}") > 0:
            idx += 1
        return f"{prefix}_{idx}"

    def push(self, name: str, reuse, device=None) -> ScopeEntry:
        """Opens the relative scope ``name`` (may contain '/')."""
        parent = self.stack[-1]
        parts = tuple(name.split("/")) if "/" in name else (name,)
        counts = parent.counts
        for part in parts:
            counts = counts.child(part)
        counts.n += 1
        if reuse is None or reuse is False:
            reuse = parent.reuse
        elif parent.reuse is True:
            reuse = True  # reuse is inherited and cannot be switched off below
        node = None
        if parent.node is not None:
            node = parent.node
            for part in parts:
                node = node._modules.get(part)
                if node is None:
                    break
        entry = ScopeEntry(parent.join(name), parent, parts, node, counts, reuse,
                           device if device is not None else parent.device)
        self.stack.append(entry)
        return entry

    def pop(self) -> None:
        entry = self.stack.pop()
        # Leaving a named scope resets the counts of its sub-scopes (TF).
        if entry.counts.children:
            entry.counts.children = {}


class _FrameStack(threading.local):
    def __init__(self) -> None:
        self.frames: list[Frame] = []


_FRAMES = _FrameStack()


def current_frame() -> Frame:
    """The innermost frame of this thread (a model call, or the graph's base frame)."""
    frames = _FRAMES.frames
    if frames:
        return frames[-1]
    return base_frame(get_default_graph())


def base_frame(graph: Graph) -> Frame:
    """The always-building frame for code that runs outside any ``slim.Model``."""
    frame = getattr(graph.thread, "frame", None)
    if frame is None:
        frame = Frame(graph, graph.root, BUILD, persistent=True)
        graph.thread.frame = frame
    return frame


@contextlib.contextmanager
def frame_scope(frame: Frame) -> Iterator[Frame]:
    frames = _FRAMES.frames
    frames.append(frame)
    try:
        yield frame
    finally:
        frames.pop()


class VariableScope:
    """What ``with slim.variable_scope(...) as sc`` yields.

    Attributes:
        name: the full scope name, e.g. ``'vgg_16/conv1'``.
        original_name_scope: ``name + '/'`` (research/slim uses it to name
            ``end_points`` collections).
        reuse: the effective reuse flag.
    """

    __slots__ = ("name", "reuse")

    def __init__(self, name: str, reuse) -> None:
        self.name = name
        self.reuse = reuse

    @property
    def original_name_scope(self) -> str:
        return self.name + "/" if self.name else ""

    def __repr__(self) -> str:
        return f"VariableScope({self.name!r}, reuse={self.reuse!r})"


def get_variable_scope() -> VariableScope:
    """The innermost open variable scope of this thread."""
    top = current_frame().top
    return VariableScope(top.path, top.reuse)


@contextlib.contextmanager
def variable_scope(name_or_scope: Union[str, VariableScope, None], default_name: Optional[str] = None,
                   values: Any = None, reuse=None) -> Iterator[VariableScope]:
    """Opens a variable scope: names created inside are prefixed ``name/``.

    Args:
        name_or_scope: a name (relative, may contain '/'), or a
            :class:`VariableScope` to re-enter by its absolute name.
        default_name: used when ``name_or_scope`` is None, made unique
            (``Conv``, ``Conv_1``, ...) as TensorFlow does.
        values: ignored (TF graph bookkeeping), accepted for compatibility.
        reuse: ``True`` to share existing variables (inherited by sub-scopes),
            :data:`AUTO_REUSE` to create or share, ``None`` to inherit.

    Example:
        >>> with slim.Graph():
        ...     with slim.variable_scope('a'):
        ...         with slim.variable_scope('b'):
        ...             slim.variable('w', shape=[1]).name
        'a/b/w'
    """
    frame = current_frame()
    if isinstance(name_or_scope, VariableScope):
        yield from _reenter(frame, name_or_scope, reuse)
        return
    if name_or_scope is None:
        if default_name is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if reuse is True:
            raise ValueError("reuse=True cannot be used without a name_or_scope")
        check_scope_name(default_name)
        name = frame.unique_name(default_name)
    else:
        check_scope_name(name_or_scope)
        name = name_or_scope
    entry = frame.push(name, reuse)
    try:
        yield VariableScope(entry.path, entry.reuse)
    finally:
        frame.pop()


def _reenter(frame: Frame, scope: VariableScope, reuse):
    """Re-opens ``scope`` by its absolute name; counts are restored on exit (TF)."""
    saved_stack = frame.stack
    saved_counts = frame.root_counts.snapshot()
    frame.stack = saved_stack[:1]
    try:
        entry = frame.push(scope.name, reuse if reuse is not None else scope.reuse) if scope.name \
            else frame.stack[0]
        yield VariableScope(entry.path, entry.reuse)
    finally:
        frame.stack = saved_stack
        _restore_counts(frame.root_counts, saved_counts)


def _restore_counts(target, saved) -> None:
    # In place, so open ScopeEntry objects keep pointing at live nodes.
    target.n = saved.n
    children = {}
    for name, saved_child in saved.children.items():
        child = target.children.get(name) or _Counts()
        _restore_counts(child, saved_child)
        children[name] = child
    target.children = children
