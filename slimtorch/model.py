"""``slim.Model``: a Slim-style function becomes an ordinary ``nn.Module``.

    >>> def mlp(x, num_classes=10):
    ...     x = slim.stack(x, slim.fully_connected, [32, 32], scope='fc')
    ...     return slim.fully_connected(x, num_classes, activation_fn=None, scope='logits')
    >>> with slim.Graph():
    ...     net = slim.Model(mlp, num_classes=3)
    ...     y = net(torch.randn(4, 8))          # first call builds the layers
    >>> y.shape, sorted(net.state_dict())[:2]
    (torch.Size([4, 3]), ['fc.fc_1.biases', 'fc.fc_1.weights'])

The first call (or :meth:`Model.build`) runs the function in *build* mode:
layer builders create their modules in a tree that mirrors the scope path,
so ``state_dict`` keys are the Slim names with dots. Every later call runs the
function in *apply* mode, where each builder finds its module with a
dictionary lookup; creating anything new then raises
:class:`~slimtorch.variables.NotBuiltError`. After build the model is a
plain module: ``parameters()``, ``state_dict()``, ``.to()``, ``train()``/
``eval()`` (which is what ``is_training=None`` follows), ``deepcopy``,
``torch.compile`` and DDP all work.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import nn

from .arg_scope import arg_scope, current_arg_scope
from .graph import Variable
from .initializers import run_initializer
from .scopes import APPLY, BUILD, Frame, current_frame, frame_scope

__all__ = ["Model", "dry_run", "slim_name_to_state_dict_key", "state_dict_key_to_slim_name"]


def slim_name_to_state_dict_key(name: str) -> str:
    """``'vgg_16/conv1/conv1_1/weights'`` -> ``'vgg_16.conv1.conv1_1.weights'``.

    Both directions are exact because scope names may not contain '.'.
    """
    return name.replace("/", ".")


def state_dict_key_to_slim_name(key: str) -> str:
    """``'vgg_16.conv1.conv1_1.weights'`` -> ``'vgg_16/conv1/conv1_1/weights'``."""
    return key.replace(".", "/")


ShapeOrExample = Union[torch.Tensor, Sequence[int], torch.Size]


class Model(nn.Module):
    """Wraps ``fn(inputs, **kwargs)`` written with slim layers as an ``nn.Module``.

    Args:
        fn: the model function; it is re-run on every call, so plain Python
            control flow works, but the *layers* it reaches are fixed by the
            build call.
        **fn_kwargs: keyword arguments bound to ``fn`` (e.g. ``num_classes``).
            Keywords given at call time override them.

    The scope that is open when the model is built (e.g. an enclosing
    ``slim.variable_scope('vgg16')``) becomes part of every name; it is
    remembered, so later calls need not re-open it.

    Attribute ``memory_format``: None (default) leaves tensors as they come;
    ``torch.channels_last`` stores the 4-D variables channels-last and
    makes 4-D inputs channels-last on each call, so every convolution runs
    NHWC in memory (shapes stay NCHW): the fast layout for oneDNN on CPUs and
    for tensor cores. The zoo's ``get_network_fn`` sets it by default.

        >>> net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='c'))
        >>> net.memory_format = torch.channels_last
        >>> y = net(torch.ones(1, 3, 8, 8))
        >>> net.c.weights.is_contiguous(memory_format=torch.channels_last), tuple(y.shape)
        (True, (1, 8, 8, 8))
    """

    memory_format: Optional[torch.memory_format] = None

    def __init__(self, fn: Callable, **fn_kwargs: Any) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"slim.Model expects a function, got {type(fn).__name__}")
        self.fn = fn
        self.fn_kwargs = fn_kwargs
        self.fn_name = getattr(fn, "__name__", type(fn).__name__)
        self._prefix: Optional[str] = None
        self._arg_scope: dict = {}
        self._merged_scope: Optional[tuple] = None
        self._records: list = []

    @property
    def built(self) -> bool:
        """Whether the layers exist (after the first call or :meth:`build`)."""
        return self._prefix is not None

    @property
    def scope_name(self) -> Optional[str]:
        """The scope the model was built under ('' for none); None before build."""
        return self._prefix

    # -- running --------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(APPLY if self.built else BUILD, args, kwargs)

    def build(self, *examples: ShapeOrExample, device=None, dtype: Optional[torch.dtype] = None,
              **call_kwargs: Any) -> "Model":
        """Builds every layer the call with these inputs reaches; returns ``self``.

        Args:
            *examples: example input tensors, or shapes (``(1, 3, 224, 224)``).
            device: where to create the variables; ``'meta'`` builds without
                allocating any memory (then call :meth:`materialize`).
            dtype: dtype of inputs made from shapes (default: the default dtype).
            **call_kwargs: keyword arguments for ``fn`` for this build, e.g. to
                reach a branch the first build did not take.

        Calling ``build`` on a built model adds what the new call reaches and
        keeps everything built before. The build pass changes no state: batch
        norm does not update its moving averages and dropout is off, whatever
        ``is_training`` says (so a ``(1, C, H, W)`` shape builds fine).

        Example:
            >>> def fc(x):
            ...     return slim.fully_connected(x, 4, scope='fc')
            >>> with slim.Graph():
            ...     net = slim.Model(fc).build((1, 8), device='meta')
            ...     net.fc.weights.device.type, net.materialize('cpu').fc.weights.device.type
            ('meta', 'cpu')
        """
        inputs = [_example(e, device, dtype) for e in examples]
        with torch.no_grad():
            self._run(BUILD, inputs, call_kwargs, build_device=device, dry_run=True)
        return self

    def _run(self, mode: str, args, kwargs, build_device=None, dry_run: bool = False) -> Any:
        if self.memory_format is not None:
            args = tuple(a.contiguous(memory_format=self.memory_format)
                         if isinstance(a, torch.Tensor) and a.dim() == 4 else a for a in args)
        outer = current_frame()
        dry_run = dry_run or outer.dry_run
        prefix = self._prefix if self.built else outer.top.path
        frame = Frame(outer.graph, self, mode, owner=self, training=self.training,
                      build_device=build_device, dry_run=dry_run)
        if prefix:
            frame.push(prefix, None)
        call_kwargs = {**self.fn_kwargs, **kwargs} if kwargs else self.fn_kwargs
        if not self.built:
            self._arg_scope = current_arg_scope()  # never mutated once its block exits
        scope = self._call_scope()
        try:
            with frame_scope(frame), (nullcontext() if scope is None else arg_scope(scope)):
                outputs = self.fn(*args, **call_kwargs)
        except BaseException:
            if mode == BUILD:
                self._roll_back(frame)
            raise
        if mode == BUILD:
            self._records.extend(frame.records)
            self._prefix = prefix
            self._adopt_memory_format()
        for key, values in frame.collections.items():
            if key not in frame.output_keys:
                outer.collections.setdefault(key, []).extend(values)
        return outputs

    def _apply(self, fn, recurse: bool = True):
        # .to(), .cuda(), to_empty(), ... make new tensors: give them the format.
        result = super()._apply(fn, recurse)
        self._adopt_memory_format()
        return result

    def _adopt_memory_format(self) -> None:
        """Stores 4-D parameters in ``memory_format`` (same tensors: optimizers,
        checkpoints and the graph keep their references)."""
        fmt = self.memory_format
        if fmt is None:
            return
        with torch.no_grad():
            for param in self.parameters():
                if param.dim() == 4 and not param.is_contiguous(memory_format=fmt):
                    param.data = param.data.contiguous(memory_format=fmt)

    def _call_scope(self) -> Optional[dict]:
        """The arg_scope a call runs under: the one the model was built under,
        with the caller's scope layered on top (so ``arg_scope([slim.dropout],
        is_training=False)`` around a call still works). Like a TF graph, a
        model called outside its build scope keeps its scoped normalizers and
        activations. None: the current scope already is that."""
        built, current = self._arg_scope, current_arg_scope()
        if current is built or not built:
            return None
        if not current:
            return built
        cached = self._merged_scope
        if cached is not None and cached[0] is current and cached[1] is built:
            return cached[2]
        merged = {key: {**built.get(key, {}), **current.get(key, {})}
                  for key in {**built, **current}}
        self._merged_scope = (current, built, merged)
        return merged

    def _roll_back(self, frame: Frame) -> None:
        """Undoes a failed build so the model can be built again."""
        for record in frame.records:
            store = record.module._buffers if record.is_buffer else record.module._parameters
            store.pop(record.attr, None)
            frame.graph.remove_record(record)
        for parent, name in reversed(frame.new_nodes):
            parent._modules.pop(name, None)

    # -- variables ------------------------------------------------------------
    def variables(self) -> list[Variable]:
        """This model's variables in creation order (parameters and buffers)."""
        return [r.tensor for r in self._records]

    def named_variables(self) -> "OrderedDict[str, Variable]":
        """``{slim name: variable}`` in creation order."""
        return OrderedDict((r.name, r.tensor) for r in self._records)

    def records(self) -> list:
        """This model's variable records (name, tensor, layout, collections,
        initializer, regularizer), in creation order."""
        return list(self._records)

    def tf_shapes(self) -> "OrderedDict[str, list]":
        """``{slim name: shape in TF layout}`` (``[kh, kw, in, out]`` for conv
        kernels): what TF-Slim's ``get_variable_to_shape_map`` would list.

            >>> with slim.Graph():
            ...     net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='c'))
            ...     dict(net.build((1, 4, 5, 5), device='meta').tf_shapes())
            {'c/weights': [3, 3, 4, 8], 'c/biases': [8]}
        """
        return OrderedDict((r.name, r.layout.tf_shape(r.tensor.shape)) for r in self._records)

    def regularization_losses(self) -> list[torch.Tensor]:
        """Penalties of this model's regularized variables, on current weights."""
        penalties = (r.regularizer(r.tensor) for r in self._records if r.regularizer is not None)
        return [p for p in penalties if p is not None]

    def reset_parameters(self) -> "Model":
        """Re-runs every variable's initializer (TF's ``global_variables_initializer``)."""
        for record in self._records:
            if record.initializer is not None:
                run_initializer(record.initializer, record.tensor, record.layout)
        return self

    def materialize(self, device=None) -> "Model":
        """Allocates a ``meta``-built model on ``device`` and initializes it.

        Each variable is initialized in place, one at a time, so peak memory
        stays at the size of the weights.
        """
        self.to_empty(device=device if device is not None else torch.get_default_device())
        return self.reset_parameters()

    def state_dict_key(self, name: str) -> str:
        """The ``state_dict`` key of Slim variable ``name``."""
        return slim_name_to_state_dict_key(name)

    def slim_name(self, key: str) -> str:
        """The Slim name of ``state_dict`` key ``key``."""
        return state_dict_key_to_slim_name(key)

    def extra_repr(self) -> str:
        state = f"scope={self._prefix!r}" if self.built else "not built"
        return f"fn={self.fn_name}, {state}"


@contextmanager
def dry_run():
    """Within this block every model runs as ``Model.build`` does: unbuilt
    models get built, and nothing changes state (no batch-norm updates, no
    dropout). ``slim.learning.train`` uses it to build the models a loss
    function reaches before it creates the optimizer or restores a checkpoint.

        >>> net = slim.Model(lambda x: slim.dropout(x, 0.5))
        >>> with slim.model.dry_run():
        ...     bool((net(torch.ones(100)) == 1).all())
        True
    """
    frame = current_frame()
    previous, frame.dry_run = frame.dry_run, True
    try:
        yield
    finally:
        frame.dry_run = previous


def _example(example: ShapeOrExample, device, dtype) -> torch.Tensor:
    if isinstance(example, torch.Tensor):
        return example if device is None else example.to(device)
    if isinstance(example, (tuple, list, torch.Size)) and all(isinstance(d, int) for d in example):
        device = torch.device(device) if device is not None else torch.get_default_device()
        dtype = dtype or torch.get_default_dtype()
        if device.type == "meta":
            return torch.empty(tuple(example), dtype=dtype, device=device)
        return torch.zeros(tuple(example), dtype=dtype, device=device)
    raise TypeError(f"build() expects example tensors or shapes, got {example!r}")
