"""TensorFlow's variable-scope naming rules, in one place.

Every name slimtorch gives a variable, a layer or an ``end_points`` entry is
made by the rules of TF's ``variable_scope``, implemented once here (on
:class:`Frame`) and called by ``variables.py`` and ``layers/_layer.py``:

**1. A full name is the open scopes joined by '/'.** A scope or variable name
is relative to the innermost open scope and may itself contain '/'. The root
scope is ''. (``state_dict`` keys are the same names with '.' for '/', which
is why no name part may contain '.'.)

    >>> with slim.Graph():
    ...     with slim.variable_scope('net'):
    ...         with slim.variable_scope('block/conv'):
    ...             slim.variable('w', shape=[1]).name
    'net/block/conv/w'

**2. A default name is made unique by counting openings.** A layer called
without ``scope=`` (or ``variable_scope(None, default_name='Conv')``) opens
``Conv`` if no scope of that name was opened yet in the enclosing scope, else
the first of ``Conv_1``, ``Conv_2``, ... not opened yet. Explicit names count
too, and leaving a scope forgets the counts inside it, so every scope starts
again at ``Conv``:

    >>> with slim.Graph():
    ...     opened = []
    ...     for name in [None, None, 'Conv_2', None]:
    ...         with slim.variable_scope(name, default_name='Conv'):
    ...             with slim.variable_scope(None, default_name='Conv') as inner:
    ...                 opened.append(inner.name)
    ...     opened
    ['Conv/Conv', 'Conv_1/Conv', 'Conv_2/Conv', 'Conv_3/Conv']

**3. Every ``slim.Model`` call starts with fresh counts**, so each call makes
the same names, and a built model finds each layer by its name with one dict
lookup (:meth:`Frame.visit`):

    >>> def two_layers(x):
    ...     return slim.fully_connected(slim.fully_connected(x, 2), 2)
    >>> net = slim.Model(two_layers)
    >>> _ = net(torch.ones(1, 2)); _ = net(torch.ones(1, 2))
    >>> [name for name, _ in net.named_children()]
    ['fully_connected', 'fully_connected_1']

**4. Reuse is inherited.** ``reuse=None`` (or False) takes the enclosing
scope's flag; ``True`` (only share), once set, holds in every sub-scope;
:data:`AUTO_REUSE` shares what exists and creates what does not
(:func:`inherit_reuse`).

**5. When creating is an error.** Building name N in a scope with flag
``reuse`` (:meth:`Frame.reuse_allows`):

* N exists: with ``True`` or ``AUTO_REUSE`` it is shared; without, it is an
  error ("already exists, disallowed"), unless an *earlier* build call of the
  same model made N (``Model.build`` with new arguments adds a branch and
  finds the rest). Outside a model every existing name counts as made by
  this build, as in a TF graph.
* N is missing: with ``True`` it is an error ("does not exist"); else N is
  created. ``reuse=True`` without a name is an error too.

    >>> with slim.Graph():
    ...     with slim.variable_scope('net'):
    ...         w = slim.variable('w', shape=[1])
    ...     with slim.variable_scope('net', reuse=True):
    ...         with slim.variable_scope('inner', reuse=None) as inner:
    ...             pass
    ...         shared = slim.variable('w')
    ...     shared is w, inner.reuse
    (True, True)
    >>> with slim.Graph():
    ...     with slim.variable_scope('net'):
    ...         _ = slim.variable('w', shape=[1])
    ...         _ = slim.variable('w', shape=[1])
    Traceback (most recent call last):
    ValueError: Variable net/w already exists, disallowed. Did you mean ...

**6. Ops without variables open no scope.** Pooling, dropout, ... are named
like TF's name scopes (:meth:`Frame.unique_op_name`): ``MaxPool2D``,
``MaxPool2D_1``, ... unique within a model call. The name only labels the
op's output in ``end_points`` and its errors. Variables made with
``slim.local_variable`` / ``slim.global_variable`` (TF's ``tf.Variable``) are
named the same way: ``Variable``, ``Variable_1``, ...

**7. Custom getters compose.** A scope opened with ``custom_getter=g`` gets
every variable through ``g(getter, name, **kwargs)``; inside another scope
with a getter, ``g`` runs first and its ``getter`` runs the outer one
(:func:`_compose_getters`). Sub-scopes inherit the getter.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any, Callable, Iterator, Optional, Union

from torch import nn

from .graph import Graph, get_default_graph

__all__ = [
    # TF's API
    "AUTO_REUSE",
    "VariableScope",
    "get_variable_scope",
    "variable_scope",
    # the frame, for code that builds layers or variables (layers/, variables.py, model.py)
    "APPLY",
    "BUILD",
    "Frame",
    "Scope",
    "ScopeEntry",
    "check_scope_name",
    "current_frame",
    "frame_scope",
    "inherit_reuse",
]


class _AutoReuse:
    def __repr__(self) -> str:
        return "slim.AUTO_REUSE"


#: ``reuse=AUTO_REUSE``: create variables that do not exist, return those that do.
AUTO_REUSE = _AutoReuse()

BUILD, APPLY = "build", "apply"


def inherit_reuse(outer, reuse):
    """Rule 4: the reuse flag of a scope opened with ``reuse`` inside a scope
    whose flag is ``outer``.

    >>> inherit_reuse(AUTO_REUSE, None), inherit_reuse(True, AUTO_REUSE), inherit_reuse(None, True)
    (slim.AUTO_REUSE, True, True)
    """
    if reuse is None or reuse is False:
        return outer
    if outer is True:
        return True  # reuse=True cannot be switched off below
    return reuse


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


class Scope(nn.Module):
    """A container node of the module tree for a variable scope with no layer."""

    def forward(self, *args, **kwargs):
        raise RuntimeError(
            "a slim scope container is not callable; call the slim.Model that owns it"
        )


def _add_child(parent: nn.Module, name: str, child: nn.Module) -> None:
    # Written to _modules directly so scope names such as 'train' or 'type'
    # that shadow nn.Module attributes still work; state_dict keys use _modules.
    parent._modules[name] = child


class _Counts:
    """TF's ``variable_scopes_count`` (rule 2) as a tree: how often this scope
    was opened (``n``), and the counts inside it per child name."""

    __slots__ = ("n", "children")

    def __init__(self) -> None:
        self.n = 0
        self.children: dict[str, _Counts] = {}

    def count(self, name: str) -> int:
        node = self.children.get(name)
        return node.n if node is not None else 0

    def close(self) -> None:
        """Leaving a scope forgets the names opened inside it (TF)."""
        if self.children:
            self.children = {}

    def snapshot(self) -> "_Counts":
        """A deep copy (written out: ``torch.compile`` cannot trace
        ``copy.deepcopy`` of a slotted object)."""
        copy_ = _Counts()
        copy_.n = self.n
        copy_.children = {name: child.snapshot() for name, child in self.children.items()}
        return copy_


class ScopeEntry:
    """One open variable scope: its full name, tree node, reuse flag and
    custom getter."""

    __slots__ = ("path", "parent", "parts", "node", "counts", "reuse", "device", "getter")

    def __init__(self, path, parent, parts, node, counts, reuse, device=None, getter=None):
        self.path = path  # full Slim name of the scope ('' at the root)
        self.parent = parent
        self.parts = parts  # name components relative to the parent entry
        self.node = node  # nn.Module for this scope, or None until needed
        self.counts = counts  # _Counts node of this scope
        self.reuse = reuse
        self.device = device  # device hint (a layer's input device)
        self.getter = getter  # the composed custom getter (rule 7), or None

    def enter(self, parts) -> tuple[_Counts, Optional[nn.Module]]:
        """Counts one more opening of sub-scope ``parts`` (rule 2) and finds its
        module if it exists; returns both. Only the full name counts: opening
        'a/b' leaves 'a' unopened (TF). One loop: the apply path runs it for
        every layer call."""
        counts, node = self.counts, self.node
        for part in parts:
            child = counts.children.get(part)
            if child is None:
                child = counts.children[part] = _Counts()
            counts = child
            if node is not None:
                node = node._modules.get(part)
        counts.n += 1
        return counts, node

    def join(self, name: str) -> str:
        """Rule 1: the full name of ``name`` opened in this scope."""
        return f"{self.path}/{name}" if self.path else name


class Frame:
    """One build or apply pass, and the naming rules of the module docstring.

    A thread-local stack of frames holds what a layer builder needs: the
    active :class:`~slimtorch.graph.Graph`, the module at the root of the tree
    being built, the stack of open variable scopes with their name counts,
    and whether we are *building* (create layers) or *applying* (look them
    up). Every ``slim.Model`` call pushes a fresh frame (rule 3). Code outside
    any model runs in a per-thread base frame of the default graph that
    always builds, like TF's graph mode.
    """

    def __init__(self, graph: Graph, root: nn.Module, mode: str, *, owner=None,
                 training: bool = True, build_device=None, persistent: bool = False,
                 dry_run: bool = False):
        self.graph = graph
        self.root = root
        self.mode = mode
        self.building = mode == BUILD  # an attribute: read on every layer call
        self.owner = owner  # the slim.Model being built/applied, or None
        self.training = training
        # An explicit build runs the function only to create the layers:
        # layers then behave as in eval mode (no moving-average updates, no
        # dropout), whatever is_training says.
        self.dry_run = dry_run
        self.build_device = build_device
        self.root_counts = _Counts()
        self.stack: list[ScopeEntry] = [ScopeEntry("", None, (), root, self.root_counts, None)]
        # Full names created during this build call (rule 5). The base frame
        # keeps them forever, like a TF graph.
        self.created: set[str] = set()
        self.persistent = persistent
        self.records: list = []  # VariableRecords created in this frame
        self.new_nodes: list = []  # (parent, name) of modules added in this frame
        # Collections of values (losses, layer outputs). The base frame shares
        # the graph's; a model call has its own, handed up when it returns,
        # except the per-call output collections named in `output_keys`.
        self.collections: dict[str, list] = graph._collections if persistent else {}
        self.output_keys: set[str] = set()
        self.op_names: dict[str, int] = {}  # name-scope counts of variable-free ops (rule 6)

    @property
    def top(self) -> ScopeEntry:
        return self.stack[-1]

    # -- names (rules 1, 2 and 6) ------------------------------------------------
    def resolve_name(self, name: Optional[str], default_name: Optional[str], reuse, *,
                     arg: str = "name_or_scope", who: Optional[str] = None) -> str:
        """The relative name a new scope opens with: ``name`` as given, or
        ``default_name`` made unique (rule 2). ``reuse=True`` needs a given name
        (rule 5); its error names the caller's argument ``arg`` and ``who``."""
        if name is not None:
            check_scope_name(name)
            return name
        if default_name is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if reuse is True:
            prefix = f"{who}: " if who else ""
            raise ValueError(f"{prefix}reuse=True cannot be used without a {arg}")
        check_scope_name(default_name)
        return self.unique_name(default_name)

    def unique_name(self, prefix: str) -> str:
        """Rule 2, TF's ``_get_unique_variable_scope``: ``prefix``, ``prefix_1``, ..."""
        counts = self.stack[-1].counts
        if counts.count(prefix) == 0:
            return prefix
        idx = 1
        while counts.count(f"{prefix}_{idx}") > 0:
            idx += 1
        return f"{prefix}_{idx}"

    def unique_op_name(self, base: str) -> str:
        """Rule 6, TF's ``Graph.unique_name``: the full name ``base``, or
        ``base_1``, ``base_2``, ... if taken in this call."""
        used = self.op_names
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

    # -- opening and leaving scopes (rules 2-4) ------------------------------------
    def push(self, name: str, reuse, device=None, custom_getter=None) -> ScopeEntry:
        """Opens the relative scope ``name`` (may contain '/')."""
        parent = self.stack[-1]
        parts = tuple(name.split("/")) if "/" in name else (name,)  # most have no '/'
        counts, node = parent.enter(parts)
        entry = ScopeEntry(parent.join(name), parent, parts, node, counts,
                           inherit_reuse(parent.reuse, reuse),
                           device if device is not None else parent.device,
                           _compose_getters(custom_getter, parent.getter))
        self.stack.append(entry)
        return entry

    def pop(self) -> None:
        self.stack.pop().counts.close()

    def visit(self, name: str) -> Optional[nn.Module]:
        """``push(name)`` and ``pop()`` at once, returning the scope's module
        (None if there is none). The apply path of a built model: a layer call
        must count its scope as opened (rule 2) and needs only its module, so
        no :class:`ScopeEntry` is made."""
        top = self.stack[-1]
        if top.node is None:
            self.node_of(top, create=False)
        counts, node = top.enter(name.split("/") if "/" in name else (name,))
        counts.close()
        return node

    # -- rule 5 ----------------------------------------------------------------
    def reuse_allows(self, path: str, reuse, exists: bool) -> bool:
        """Whether building full name ``path`` in a scope whose flag is ``reuse``
        may share it (``exists``) or create it (not ``exists``). On False the
        caller raises its 'already exists' / 'does not exist' error."""
        if not exists:
            return reuse is not True
        if reuse is True or reuse is AUTO_REUSE:
            return True
        # Without reuse only what an earlier build call of this model made is
        # found (Model.build adding a branch). The base frame is one build
        # that never ends, like a TF graph: it has no earlier call.
        return not self.persistent and path not in self.created

    # -- the module tree: scopes are modules, variables their attributes ---------------
    def add_node(self, parent: nn.Module, name: str, child: nn.Module) -> None:
        _add_child(parent, name, child)
        self.new_nodes.append((parent, name))  # for Model's roll-back of a failed build

    def walk(self, node: Optional[nn.Module], parts, create: bool) -> Optional[nn.Module]:
        """The module at ``parts`` below ``node``. A missing one is None, or,
        with ``create``, a new :class:`Scope` container."""
        for part in parts:
            if node is None:
                return None
            child = node._modules.get(part)
            if child is None and create:
                child = Scope()
                self.add_node(node, part, child)
            node = child
        return node

    def node_of(self, entry: ScopeEntry, create: bool) -> Optional[nn.Module]:
        """The module of open scope ``entry`` (see :meth:`walk`)."""
        if entry.node is None:
            entry.node = self.walk(self.node_of(entry.parent, create), entry.parts, create)
        return entry.node

    def locate(self, name: str, create: bool) -> tuple[Optional[nn.Module], str]:
        """Where variable ``name`` (relative, may contain '/') lives: the module
        of its scope (see :meth:`walk`) and its last name component."""
        *scope_parts, leaf = name.split("/")
        return self.walk(self.node_of(self.top, create), scope_parts, create), leaf

    def attach(self, entry: ScopeEntry, layer: nn.Module) -> None:
        """Puts the new module ``layer`` at the place of open scope ``entry``;
        it counts as created by this build call (rule 5). A :class:`Scope`
        container already there is taken over (:meth:`adoptable`)."""
        parent = self.walk(self.node_of(entry.parent, create=True), entry.parts[:-1],
                           create=True)
        name = entry.parts[-1]
        old = parent._modules.get(name)
        if old is not None:
            self._hand_over(old, layer)
        self.add_node(parent, name, layer)
        entry.node = layer
        self.created.add(entry.path)

    @staticmethod
    def adoptable(node: nn.Module) -> bool:
        """Whether a layer may open its scope on ``node``: a plain scope
        container, holding variables made by hand (``slim.variable(
        'Conv/weights', ...)``) or sub-scopes. In TF a layer's variables are
        just names in its scope, so the layer finds (``reuse=True``) or
        rejects (no reuse: "already exists") those by the rules of
        ``slim.variable``; here the layer's module takes the container's
        place and its variables, under the same names."""
        return type(node) is Scope

    def _hand_over(self, scope: nn.Module, layer: nn.Module) -> None:
        """Moves the variables and sub-modules of container ``scope`` to
        ``layer`` (same tensors, same names) and re-points their records."""
        if not self.adoptable(scope):
            raise ValueError(f"{type(layer).__name__} cannot take the place of "
                             f"{type(scope).__name__}: not a slim scope container")
        layer._parameters.update(scope._parameters)
        layer._buffers.update(scope._buffers)
        layer._non_persistent_buffers_set |= scope._non_persistent_buffers_set
        layer._modules.update(scope._modules)
        for record in self.graph.records():
            if record.module is scope:
                record.module = layer


class _FrameStack(threading.local):
    def __init__(self) -> None:
        self.frames: list[Frame] = []


_FRAMES = _FrameStack()


def current_frame() -> Frame:
    """The innermost frame of this thread (a model call, or the graph's base frame)."""
    frames = _FRAMES.frames
    if frames:
        return frames[-1]
    return _base_frame(get_default_graph())


def _base_frame(graph: Graph) -> Frame:
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
        custom_getter: the scope's custom getter (composed with those of the
            enclosing scopes), or None.
    """

    __slots__ = ("name", "reuse", "custom_getter")

    def __init__(self, name: str, reuse, custom_getter: Optional[Callable] = None) -> None:
        self.name = name
        self.reuse = reuse
        self.custom_getter = custom_getter

    @property
    def original_name_scope(self) -> str:
        return self.name + "/" if self.name else ""

    def __repr__(self) -> str:
        return f"VariableScope({self.name!r}, reuse={self.reuse!r})"


def _scope_of(entry: ScopeEntry) -> VariableScope:
    return VariableScope(entry.path, entry.reuse, entry.getter)


def _compose_getters(custom_getter: Optional[Callable], outer: Optional[Callable]) -> Optional[Callable]:
    """Rule 7: the getter of a scope opened with ``custom_getter`` inside a
    scope whose getter is ``outer``. The inner getter runs first; the
    ``getter`` it receives runs ``outer`` (TF's ``_maybe_wrap_custom_getter``).

    >>> calls = []
    >>> def tag(label):
    ...     def getter(getter, name, *args, **kwargs):
    ...         calls.append(label)
    ...         return getter(name, *args, **kwargs)
    ...     return getter
    >>> both = _compose_getters(tag('inner'), tag('outer'))
    >>> both(lambda name, **kwargs: name, 'v'), calls
    ('v', ['inner', 'outer'])
    """
    if custom_getter is None:
        return outer
    if not callable(custom_getter):
        raise ValueError(f"variable_scope: custom_getter must be callable "
                         f"getter(getter, name, *args, **kwargs), got {custom_getter!r}")
    if outer is None:
        return custom_getter

    def wrapped_custom_getter(getter, *args, **kwargs):
        return custom_getter(functools.partial(outer, getter), *args, **kwargs)
    return wrapped_custom_getter


def get_variable_scope() -> VariableScope:
    """The innermost open variable scope of this thread.

    >>> with slim.Graph():
    ...     with slim.variable_scope('net', reuse=True):
    ...         slim.get_variable_scope()
    VariableScope('net', reuse=True)
    """
    return _scope_of(current_frame().top)


@contextlib.contextmanager
def variable_scope(name_or_scope: Union[str, VariableScope, None], default_name: Optional[str] = None,
                   values: Any = None, reuse=None, *,
                   custom_getter: Optional[Callable] = None) -> Iterator[VariableScope]:
    """Opens a variable scope: names created inside are prefixed ``name/``.

    Args:
        name_or_scope: a name (relative, may contain '/'), or a
            :class:`VariableScope` to re-enter by its absolute name (also the
            root scope: ``variable_scope(get_variable_scope(), reuse=True)``).
        default_name: used when ``name_or_scope`` is None, made unique
            (``Conv``, ``Conv_1``, ...) as TensorFlow does.
        values: ignored (TF graph bookkeeping), accepted for compatibility.
        reuse: ``True`` to share existing variables (inherited by sub-scopes),
            :data:`AUTO_REUSE` to create or share, ``None`` to inherit.
        custom_getter: TF's custom getter, ``getter(getter, name, *args,
            **kwargs)``: every variable made or found in the scope
            (``slim.variable``, ``slim.model_variable`` and so every layer's
            variables) is got by calling it with the full name and TF's
            ``get_variable`` keywords (``shape``, ``dtype``, ``initializer``,
            ``regularizer``, ``reuse``, ``trainable``, ``collections``, ...);
            it calls ``getter`` to get the variable, and may change the
            arguments or the result. Getters of nested scopes compose, the
            innermost first. A layer computes with the variable it holds, so a
            getter that *returns* something else (a cast, an average) changes
            what ``slim.variable`` returns, not what the layer computes.

    Example:
        >>> with slim.Graph():
        ...     with slim.variable_scope('a'):
        ...         with slim.variable_scope('b'):
        ...             slim.variable('w', shape=[1]).name
        'a/b/w'
        >>> def frozen(getter, name, *args, **kwargs):
        ...     kwargs['trainable'] = False
        ...     return getter(name, *args, **kwargs)
        >>> with slim.Graph():
        ...     with slim.variable_scope('net', custom_getter=frozen):
        ...         y = slim.fully_connected(torch.ones(1, 3), 2, scope='fc')
        ...     [v.name for v in slim.get_variables()], slim.get_trainable_variables()
        (['net/fc/weights', 'net/fc/biases'], [])
    """
    frame = current_frame()
    if isinstance(name_or_scope, VariableScope):
        yield from _reenter(frame, name_or_scope, reuse, custom_getter)
        return
    entry = frame.push(frame.resolve_name(name_or_scope, default_name, reuse), reuse,
                       custom_getter=custom_getter)
    try:
        yield _scope_of(entry)
    finally:
        frame.pop()


def _reenter(frame: Frame, scope: VariableScope, reuse, custom_getter):
    """Re-opens ``scope`` by its absolute name, with its reuse flag unless
    ``reuse`` is given and its getter (wrapped by ``custom_getter``); counts
    are restored on exit (TF)."""
    saved_stack = frame.stack
    saved_counts = frame.root_counts.snapshot()
    root = saved_stack[0]
    reuse = reuse if reuse else scope.reuse
    getter = _compose_getters(custom_getter, scope.custom_getter)
    # The root scope opens as a copy of the root entry, so its flag and getter
    # hold only inside this block.
    frame.stack = [ScopeEntry("", None, (), root.node, root.counts,
                              None if scope.name else reuse, root.device,
                              None if scope.name else getter)]
    try:
        entry = frame.stack[0]
        if scope.name:
            entry = frame.push(scope.name, reuse)
            entry.getter = getter
        yield _scope_of(entry)
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
