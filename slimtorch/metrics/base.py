"""The eager form of TF-Slim's ``(value_op, update_op)`` contract.

In TF-Slim a streaming metric is a pair of graph ops over local variables:
``update_op`` folds the current batch into the state and returns the
running value; ``value_op`` reads the value without changing anything.
Eagerly, a metric is an object holding that state; unpacking it gives the
same pair, as two callables:

    >>> mae_value, mae_update = slim.metrics.streaming_mean_absolute_error()
    >>> mae_update(torch.tensor([2., 4.]), torch.tensor([1., 3.])).item()
    1.0
    >>> mae_update(torch.tensor([6., 8.]), torch.tensor([2., 3.])).item()
    2.75
    >>> mae_value().item()            # idempotent: reading changes nothing
    2.75

So the guide's code changes in one place: the metric is made once, before
the batches, and its update takes the batch's tensors (in TF the tensors
were wired in when the op was made). ``metric.reset()`` zeroes the state
(TF's ``local_variables_initializer``). Passing tensors when making a metric
folds them in at once, for a metric over one batch:

    >>> acc, _ = slim.metrics.streaming_accuracy(torch.tensor([1, 2, 3, 4]),
    ...                                           torch.tensor([1, 2, 0, 4]))
    >>> acc().item()
    0.75

State lives on the device of the first batch's predictions (CUDA
included), in float64 for sums (TF's float32 totals lose counts past 2^24).
Under ``torchrun`` (an initialized process group of several ranks),
``value()`` reduces over the ranks: sums are all-reduced and concatenations
gathered, so it is a collective that **every rank must call** (each may have
seen a different number of batches, or none); ``update`` returns this
rank's running value without communicating.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch

from ..graph import get_default_graph

__all__ = ["METRICS_KEY", "StreamingMetric", "div_no_nan", "reset_metrics", "start"]

_NAMES_KEY = "_metric_names"   # graph collection: names taken, for mean, mean_1, ...
#: Graph collection of every metric made in the graph: ``slim.evaluation``
#: resets them all before each evaluation (TF's ``local_variables_initializer``).
METRICS_KEY = "streaming_metrics"


@dataclass
class _State:
    reduce: str                    # 'sum', 'max', 'min' or 'cat' (rows along dim 0)
    default: Optional[torch.Tensor]  # None: shape set by the first update (or a list for 'cat')


class StreamingMetric:
    """Base class: subclasses declare states with :meth:`add_state`, fold a
    batch in with :meth:`_update` (through :meth:`_accumulate`,
    :meth:`_append`, :meth:`_set`) and compute the value from a dict of
    states in :meth:`_compute`, which must not modify them. A state's key is
    TF's local-variable name below the metric's scope, so
    :meth:`local_variables` lists the state as TF lists the metric's
    variables (``precision/true_positives/count``, ...).

    Attributes: ``name`` (the variable scope TF-Slim would use; unique in the
    default graph, like ``mean``, ``mean_1``), ``update_count``.
    """

    default_name = "metric"
    api_name = "metric"   # the TF-Slim function, for error messages

    @property
    def label(self) -> str:
        """How errors name the metric: ``streaming_accuracy 'accuracy_1'``."""
        return f"{self.api_name} {self.name!r}"

    def __init__(self, name: Optional[str] = None, metrics_collections=None,
                 updates_collections=None, sync: bool = True) -> None:
        self.name = _unique_name(name or self.default_name)
        self.sync = sync
        self.update_count = 0
        self._specs: Dict[str, _State] = {}
        self._values: Dict[str, Any] = {}
        get_default_graph().add_to_collection(METRICS_KEY, self)
        for key in metrics_collections or ():
            get_default_graph().add_to_collection(key, self.value)
        for key in updates_collections or ():
            get_default_graph().add_to_collection(key, self.update)

    # -- the contract ---------------------------------------------------------

    def update(self, *args, **kwargs) -> torch.Tensor:
        """Folds a batch into the state; returns the running value (this
        rank's, under torchrun). Inside ``slim.model.dry_run`` (models being
        built) nothing is folded in."""
        from ..scopes import current_frame

        if not current_frame().dry_run:
            with torch.no_grad():
                self._update(*args, **kwargs)
            self.update_count += 1
        return self._compute(self._local_states())

    def value(self) -> torch.Tensor:
        """The current value over all batches (and all ranks under torchrun);
        changes nothing."""
        return self._compute(self._synced_states())

    def reset(self) -> None:
        """Back to the state before any batch."""
        self.update_count = 0
        for key, spec in self._specs.items():
            self._values[key] = _fresh(spec)

    def __iter__(self):
        """``value, update = metric``: TF-Slim's ``(value_op, update_op)``."""
        return iter((self.value, self.update))

    def __getitem__(self, index):
        """``metric[0]`` is ``value`` and ``metric[1]`` is ``update``, as in
        TF-Slim's tuple (code such as ``accuracy[1]`` works unchanged).

            >>> metric = slim.metrics.streaming_mean()
            >>> metric[1](torch.tensor([2.0, 4.0])).item(), metric[0]().item(), len(metric)
            (3.0, 3.0, 2)
        """
        return (self.value, self.update)[index]

    def __len__(self) -> int:
        return 2

    def local_variables(self) -> OrderedDict[str, Optional[torch.Tensor]]:
        """This rank's state under TF's local-variable names, in the order the
        states were declared (TF's creation order): ``{name}/{key}`` for each
        :meth:`add_state` key, or just ``name`` for the empty key (TF's
        unscoped ``metric_variable``). A state whose shape the first batch
        sets is ``None`` until then; ``'cat'`` states are concatenated.

            >>> metric = slim.metrics.streaming_precision(name='precision')
            >>> list(metric.local_variables())
            ['precision/true_positives/count', 'precision/false_positives/count']
        """
        return OrderedDict((f"{self.name}/{key}" if key else self.name, value)
                           for key, value in self._local_states().items())

    def variables(self) -> Dict[str, torch.Tensor]:
        """:meth:`local_variables` without the states not yet set."""
        return {name: value for name, value in self.local_variables().items()
                if value is not None}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, updates={self.update_count})"

    # -- for subclasses -------------------------------------------------------

    def add_state(self, key: str, default: Optional[torch.Tensor] = None,
                  reduce: str = "sum") -> None:
        """Declares a state. ``key`` is TF's local-variable name below the
        metric's scope (``total``, ``true_positives/count``; ``''`` for a
        variable named like the metric itself), so :meth:`local_variables`
        gives TF's names. ``default`` is its value before any batch (None:
        zeros shaped like the first increment); ``reduce`` says how ranks
        combine it: ``'sum'``, ``'max'``, ``'min'``, or ``'cat'`` (a list of
        tensors, concatenated along dim 0, gathered from every rank)."""
        if reduce not in ("sum", "max", "min", "cat"):
            raise ValueError(f"{type(self).__name__}: unknown reduce {reduce!r}")
        if key in self._specs:
            raise ValueError(f"{type(self).__name__}: state {key!r} is declared twice")
        spec = _State(reduce, None if default is None else torch.as_tensor(default))
        self._specs[key] = spec
        self._values[key] = _fresh(spec)

    def _update(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def _compute(self, states: Dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError

    def _accumulate(self, key: str, increment: torch.Tensor) -> None:
        """``state += increment`` (or max/min for those reductions), in float64
        for floating and boolean increments; the state moves to the
        increment's device on the first batch."""
        spec = self._specs[key]
        increment = _as_state_dtype(torch.as_tensor(increment))
        current = self._values[key]
        if current is None:
            current = torch.zeros_like(increment) if spec.reduce == "sum" else increment.clone()
            if spec.reduce != "sum":
                self._values[key] = current
                return
        current = current.to(device=increment.device, dtype=increment.dtype)
        if current.shape != increment.shape and current.numel() != 1 and \
                torch.broadcast_shapes(current.shape, increment.shape) != current.shape:
            raise ValueError(f"{self.name}: a batch of shape {list(increment.shape)} cannot be "
                             f"added to state {key!r} of shape {list(current.shape)}")
        if spec.reduce == "sum":
            current = current + increment
        elif spec.reduce == "max":
            current = torch.maximum(current, increment)
        else:
            current = torch.minimum(current, increment)
        self._values[key] = current

    def _append(self, key: str, rows: torch.Tensor) -> None:
        """Adds rows (dim 0) to a ``'cat'`` state; kept as given (no copy of
        what came before), concatenated when the value is read."""
        self._values[key].append(rows.detach())

    def _set(self, key: str, value: torch.Tensor) -> None:
        """Replaces a state (for updates that are not plain accumulations)."""
        self._values[key] = value

    def _local_states(self) -> Dict[str, Any]:
        states = {}
        for key, spec in self._specs.items():
            value = self._values[key]
            if spec.reduce == "cat":
                value = torch.cat(value, 0) if value else None
            states[key] = value
        return states

    def _synced_states(self) -> Dict[str, Any]:
        states = self._local_states()
        if not (self.sync and _world_size() > 1):
            return states
        from ._sync import reduce_states
        return reduce_states(self.name, states, {k: s.reduce for k, s in self._specs.items()})


def reset_metrics(graph=None) -> int:
    """Resets every metric made in ``graph`` (default: the default graph);
    returns how many. TF's ``sess.run(tf.local_variables_initializer())``.

        >>> value, update = slim.metrics.streaming_mean([1.0, 3.0])
        >>> slim.metrics.reset_metrics(), value().item()
        (1, 0.0)
    """
    metrics = (graph or get_default_graph()).get_collection_ref(METRICS_KEY)
    for metric in metrics:
        metric.reset()
    return len(metrics)


def start(metric: StreamingMetric, first, *args, **kwargs) -> StreamingMetric:
    """Returns ``metric`` after folding in ``(first, *args)`` when the caller
    passed tensors (TF-Slim style ``streaming_x(predictions, labels)``)."""
    if first is not None:
        metric.update(first, *args, **kwargs)
    return metric


def div_no_nan(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """TF's ``div_no_nan``: 0 where the denominator is 0."""
    numerator = torch.as_tensor(numerator)
    denominator = torch.as_tensor(denominator, device=numerator.device)
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator == 0, torch.zeros_like(numerator / safe), numerator / safe)


def _fresh(spec: _State):
    if spec.reduce == "cat":
        return []
    if spec.default is None:
        return None
    return _as_state_dtype(spec.default.clone())


def _as_state_dtype(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.dtype == torch.float64 or not (tensor.is_floating_point() or
                                             tensor.dtype == torch.bool):
        return tensor if tensor.dtype != torch.bool else tensor.to(torch.float64)
    if tensor.device.type == "mps":   # no float64 there
        return tensor.to(torch.float32)
    return tensor.to(torch.float64)


def _world_size() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def _unique_name(name: str) -> str:
    taken = get_default_graph().get_collection_ref(_NAMES_KEY)
    unique, i = name, 0
    while unique in taken:
        i += 1
        unique = f"{name}_{i}"
    taken.append(unique)
    return unique

