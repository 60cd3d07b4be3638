"""`arg_scope`: default keyword arguments for a set of ops, TF-Slim style.

    >>> import slimtorch as slim
    >>> with slim.arg_scope([slim.conv2d], padding='VALID', stride=2):
    ...     slim.current_arg_scope()[slim.arg_scope_func_key(slim.conv2d)]
    {'padding': 'VALID', 'stride': 2}

Semantics follow TF-Slim (scopes keyed by function object; nested scopes
merge and the inner value wins; explicit call arguments win; a scope object
returned by ``with arg_scope(...) as sc`` can be re-entered and then
*replaces* the current scope). Three TF-Slim traps are fixed:

* an op that is not decorated with :func:`add_arg_scope` raises a
  ``ValueError`` naming it (TF-Slim's message was never formatted);
* a keyword the op does not accept raises when the scope is entered, naming
  the op and the keyword (TF-Slim only failed later, at call time);
* a positional argument overrides the scoped value of the same parameter
  (TF-Slim raised ``TypeError: got multiple values``).

The stack is thread-local: two threads building two models never see each
other's scopes.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
import threading
from typing import Any, Callable, Iterator

__all__ = [
    "ScopedArgumentError",
    "add_arg_scope",
    "arg_scope",
    "arg_scope_func_key",
    "arg_scoped_arguments",
    "current_arg_scope",
    "has_arg_scope",
]


class ScopedArgumentError(TypeError, ValueError):
    """A scoped keyword the op does not accept (both a TypeError, as Python
    raises for unknown keywords, and a ValueError, as for other bad scopes)."""


class _ArgStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[dict] = [{}]


_ARG_STACK = _ArgStack()

# key -> _OpInfo for every decorated op.
_DECORATED_OPS: dict[Any, "_OpInfo"] = {}


class _OpInfo:
    """What the decorator learns once from an op's signature."""

    __slots__ = ("name", "accepted", "accepts_any", "positional", "defaulted")

    def __init__(self, func: Callable) -> None:
        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        self.name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
        self.accepts_any = any(p.kind is p.VAR_KEYWORD for p in params)
        self.accepted = frozenset(
            p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
        # name -> index, for parameters that a positional argument can fill.
        self.positional = {
            p.name: i
            for i, p in enumerate(params)
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        }
        self.defaulted = tuple(
            p.name
            for p in params
            if p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )


def arg_scope_func_key(op: Callable) -> Any:
    """The key under which ``op``'s scoped arguments are stored."""
    return getattr(op, "_key_op", op)


def _op_name(op: Callable) -> str:
    return getattr(op, "__qualname__", getattr(op, "__name__", repr(op)))


def add_arg_scope(func: Callable) -> Callable:
    """Decorates ``func`` so that :func:`arg_scope` can supply its keyword arguments.

    Example:
        >>> @slim.add_arg_scope
        ... def scale(x, factor=1.0):
        ...     return x * factor
        >>> with slim.arg_scope([scale], factor=3.0):
        ...     scale(2.0)
        6.0
    """
    info = _OpInfo(func)
    key = func
    positional = info.positional

    @functools.wraps(func)
    def func_with_args(*args, **kwargs):
        scoped = _ARG_STACK.stack[-1].get(key)
        if scoped:
            n_args = len(args)
            merged = {
                name: value
                for name, value in scoped.items()
                if positional.get(name, n_args) >= n_args  # a positional argument wins
            }
            merged.update(kwargs)
            kwargs = merged
        return func(*args, **kwargs)

    func_with_args._key_op = key
    _DECORATED_OPS[key] = info
    return func_with_args


def has_arg_scope(func: Callable) -> bool:
    """Whether ``func`` was decorated with :func:`add_arg_scope`."""
    return arg_scope_func_key(func) in _DECORATED_OPS


def arg_scoped_arguments(func: Callable) -> tuple[str, ...]:
    """The keyword arguments of ``func`` that have defaults, in signature order.

    Unlike TF-Slim (which sliced ``co_varnames`` and returned ``()`` for
    ``batch_norm``), this reads the signature.
    """
    info = _DECORATED_OPS.get(arg_scope_func_key(func))
    if info is None:
        raise ValueError(f"{_op_name(func)} is not decorated with @add_arg_scope")
    return info.defaulted


def current_arg_scope() -> dict:
    """The active scope: ``{op_key: {kwarg: value}}`` (the live dict)."""
    return _ARG_STACK.stack[-1]


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs) -> Iterator[dict]:
    """Sets default keyword arguments for the listed ops within the block.

    Args:
        list_ops_or_scope: a list or tuple of decorated ops, or a scope dict
            previously yielded by ``arg_scope`` (re-entering it replaces the
            current scope instead of merging with it).
        **kwargs: keyword arguments every listed op receives by default.

    Yields:
        The new scope (a dict), which can be re-entered later.

    Raises:
        ValueError: an op is not decorated with ``@add_arg_scope``, or
            keyword arguments were given together with a scope dict.
        ScopedArgumentError: an op does not accept one of ``kwargs``.
        TypeError: ``list_ops_or_scope`` is neither a list/tuple nor a dict.

    Example:
        >>> with slim.arg_scope([slim.conv2d, slim.fully_connected],
        ...                     activation_fn=torch.relu) as sc:
        ...     pass
        >>> with slim.arg_scope(sc):  # same defaults again, elsewhere
        ...     pass
    """
    stack = _ARG_STACK.stack
    if isinstance(list_ops_or_scope, dict):
        if kwargs:
            raise ValueError(
                "When attempting to re-use a scope by supplying a dictionary, "
                "kwargs must be empty."
            )
        new_scope = {key: dict(args) for key, args in list_ops_or_scope.items()}
    elif isinstance(list_ops_or_scope, (list, tuple)):
        new_scope = {key: dict(args) for key, args in stack[-1].items()}
        for op in list_ops_or_scope:
            key = arg_scope_func_key(op)
            info = _DECORATED_OPS.get(key)
            if info is None:
                raise ValueError(
                    f"{_op_name(op)} is not decorated with @add_arg_scope, so it cannot be "
                    "used in arg_scope; decorate it with @slim.add_arg_scope"
                )
            if not info.accepts_any:
                for name in kwargs:
                    if name not in info.accepted:
                        close = difflib.get_close_matches(name, sorted(info.accepted), n=1)
                        hint = f" (did you mean '{close[0]}'?)" if close else ""
                        raise ScopedArgumentError(
                            f"arg_scope: {info.name}() does not accept the keyword "
                            f"argument '{name}'{hint}"
                        )
            new_scope.setdefault(key, {}).update(kwargs)
    else:
        raise TypeError(
            "list_ops_or_scope must either be a list/tuple or reused scope (i.e. dict)"
        )
    stack.append(new_scope)
    try:
        yield new_scope
    finally:
        stack.pop()
