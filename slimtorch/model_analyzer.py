"""``slim.model_analyzer``: what a model's variables and operations cost.

:func:`analyze_vars` is TF-Slim's, line for line:

    >>> with slim.Graph():
    ...     net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='conv1'))
    ...     _ = net(torch.zeros(1, 3, 8, 8))
    ...     analyze_vars(slim.get_model_variables(), print_info=True)
    ---------
    Variables: name (type shape) [size]
    ---------
    conv1/weights (float32 8x3x3x3) [216, bytes: 864]
    conv1/biases (float32 8) [8, bytes: 32]
    Total size of variables: 224
    Total bytes of variables: 896
    (224, 896)

TF's ``analyze_ops(graph)`` walks a graph; eagerly there is no graph until
the model runs, so :func:`analyze_ops` and :func:`analyze_layers` take the
model and example inputs, run one build pass (no state changes: batch norm
keeps its statistics, dropout is off) and record every operation with the
variable scope it ran in, its output shape and its FLOPs (counted by
``torch.utils.flop_counter``):

    >>> with slim.Graph():
    ...     net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='conv1'))
    ...     layers = analyze_layers(net, torch.zeros(1, 3, 8, 8))
    >>> [(l.name, l.output_shape, l.parameters, l.flops) for l in layers]
    [('conv1', (1, 8, 8, 8), 224, 27648)]

Differences from TF-Slim: names have no ``:0`` suffix, shapes are torch's
(weights ``[out, in, kh, kw]``, activations NCHW), and operations are
PyTorch's (``conv1/convolution``, ``conv1/relu``), not TF's op types.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, List, NamedTuple, Tuple

import torch
# TorchDispatchMode is how torch documents intercepting operations (FlopCounterMode is one).
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from .graph import Graph
from .model import Model
from .scopes import current_frame

__all__ = ["LayerStats", "OpStats", "analyze_layers", "analyze_ops", "analyze_vars",
           "tensor_description"]


def tensor_description(var: torch.Tensor) -> str:
    """A compact string with the dtype and shape: ``(float32 1x8x8x1024)``.

        >>> tensor_description(torch.zeros(1, 8, 8, 1024))
        '(float32 1x8x8x1024)'
    """
    dtype = str(var.dtype).replace("torch.", "")
    return f"({dtype} {'x'.join(str(size) for size in var.shape)})"


def analyze_vars(variables, print_info: bool = False) -> Tuple[int, int]:
    """The number of values and bytes in ``variables``; with ``print_info``
    one line per variable and the totals, in TF-Slim's format.

    Args:
        variables: slim variables (``slim.get_model_variables()``), or any
            tensors (``model.parameters()``).
        print_info: print each variable and the totals.

    Returns:
        ``(total size, total bytes)``.
    """
    if print_info:
        print("---------")
        print("Variables: name (type shape) [size]")
        print("---------")
    total_size = total_bytes = 0
    for var in variables:
        size = var.numel()
        size_bytes = size * var.element_size()
        total_size += size
        total_bytes += size_bytes
        if print_info:
            print(getattr(var, "name", None) or "<unnamed>", tensor_description(var),
                  f"[{size}, bytes: {size_bytes}]")
    if print_info:
        print(f"Total size of variables: {total_size}")
        print(f"Total bytes of variables: {total_bytes}")
    return total_size, total_bytes


class OpStats(NamedTuple):
    """One operation of the pass: ``name`` is ``<scope>/<aten op>`` (made
    unique with ``_1``, ``_2`` as TF names ops)."""

    name: str
    scope: str
    outputs: Tuple[str, ...]   # tensor_description of each output
    size: int                  # values in its outputs
    flops: int


class LayerStats(NamedTuple):
    """A variable scope's share of the pass: the last output made in it, its
    own variables' values, and the FLOPs of the operations run in it."""

    name: str
    output_shape: Tuple[int, ...]
    parameters: int
    flops: int


class _OpRecorder(TorchDispatchMode):
    """Records each operation's scope, outputs and FLOPs; views are skipped
    (they create nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: List[Tuple[str, str, list, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func.is_view:
            return out
        results = [t for t in (out if isinstance(out, (tuple, list)) else (out,))
                   if isinstance(t, torch.Tensor)]
        if results:
            counter = flop_registry.get(func._overloadpacket)
            flops = int(counter(*args, **kwargs, out_val=out)) if counter is not None else 0
            # relu_ and relu are one operation to a reader (and to TF)
            name = func._overloadpacket.__name__.rstrip("_")
            self.ops.append((current_frame().top.path, name, results, flops))
        return out


def _trace(model, inputs) -> Tuple[list, "OrderedDict[str, int]"]:
    """Runs a build pass of ``model`` on ``inputs`` under the recorder;
    returns the ops and ``{variable name: size}``."""
    if isinstance(model, Model):
        if not model.built:   # so the recorded pass creates (and initializes) nothing
            model.build(*inputs)
        recorder = _OpRecorder()
        with recorder:
            model.build(*inputs)
        variables = model.named_parameters(), model.named_buffers()
        names = OrderedDict()
        for group in variables:
            for _, tensor in group:
                if isinstance(getattr(tensor, "name", None), str):
                    names[tensor.name] = tensor.numel()
        return recorder.ops, names
    if isinstance(model, torch.nn.Module) or not callable(model):
        raise TypeError(f"analyze_ops: expected a slim.Model or a model function, got "
                        f"{type(model).__name__}; wrap a function with slim.Model(fn)")
    with Graph():
        built = Model(model)
        return _trace(built, inputs)


def _op_stats(ops) -> List[OpStats]:
    seen: dict = {}
    stats = []
    for scope, op, results, flops in ops:
        base = f"{scope}/{op}" if scope else op
        count = seen.get(base, 0)
        seen[base] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        stats.append(OpStats(name, scope, tuple(tensor_description(t) for t in results),
                             sum(t.numel() for t in results), flops))
    return stats


def analyze_ops(model, *inputs: Any, print_info: bool = False) -> int:
    """The values every operation of one pass outputs, in total (TF-Slim's
    ``analyze_ops``); with ``print_info`` one line per operation, as TF
    prints them, with its FLOPs.

    Args:
        model: a :class:`slimtorch.Model` (built or not) or a model function.
        *inputs: example inputs for the pass.
        print_info: print ``name -> (dtype shape) [size, flops: n]`` per op.

    Returns:
        The total size of the operations' outputs.

    Example:
        >>> with slim.Graph():
        ...     analyze_ops(lambda x: slim.fully_connected(x, 4, scope='fc'),
        ...                 torch.zeros(2, 3), print_info=True)
        ---------
        Operations: name -> (type shapes) [size]
        ---------
        fc/addmm 	-> (float32 2x4) [8, flops: 48]
        fc/relu 	-> (float32 2x4) [8, flops: 0]
        16
    """
    ops, _ = _trace(model, inputs)
    stats = _op_stats(ops)
    if print_info:
        print("---------")
        print("Operations: name -> (type shapes) [size]")
        print("---------")
        for op in stats:
            print(op.name, "\t->", ", ".join(op.outputs), f"[{op.size}, flops: {op.flops}]")
    return sum(op.size for op in stats)


def analyze_layers(model, *inputs: Any, print_info: bool = False) -> List[LayerStats]:
    """One :class:`LayerStats` per variable scope an operation ran in, in
    order: output shape, parameters and FLOPs per layer (the summary that
    ``analyze_ops`` gives as far as it has meaning eagerly).

    Args:
        model, inputs: as :func:`analyze_ops`.
        print_info: print a table and the totals.

    Example:
        >>> def net(x):
        ...     x = slim.conv2d(x, 4, [3, 3], normalizer_fn=slim.batch_norm, scope='conv1')
        ...     return slim.fully_connected(slim.flatten(x), 2, scope='fc')
        >>> with slim.Graph():
        ...     rows = analyze_layers(net, torch.zeros(1, 3, 4, 4), print_info=True)
        name             output    parameters   flops
        conv1            1x4x4x4          108    3456
        conv1/BatchNorm  1x4x4x4           12       0
        <root>           1x64               0       0
        fc               1x2              130     256
        total                             250    3712

    Operations outside any variable scope (``flatten``, pools without
    variables) are counted under ``<root>`` or the enclosing scope.
    """
    ops, sizes = _trace(model, inputs)
    rows: "OrderedDict[str, list]" = OrderedDict()
    for scope, _, results, flops in ops:
        row = rows.setdefault(scope, [(), 0])
        row[0] = tuple(results[0].shape)
        row[1] += flops
    layers = []
    for scope, (shape, flops) in rows.items():
        own = sum(size for name, size in sizes.items() if name.rsplit("/", 1)[0] == scope)
        layers.append(LayerStats(scope or "<root>", shape, own, flops))
    if print_info:
        _print_layers(layers)
    return layers


def _print_layers(layers: List[LayerStats]) -> None:
    shapes = ["x".join(str(size) for size in layer.output_shape) for layer in layers]
    width = max([len("total")] + [len(layer.name) for layer in layers]) + 2
    shape_width = max([len("output")] + [len(shape) for shape in shapes]) + 2
    print(f"{'name':<{width}} {'output':<{shape_width}}{'parameters':>10} {'flops':>7}")
    for layer, shape in zip(layers, shapes):
        print(f"{layer.name:<{width}} {shape:<{shape_width}}{layer.parameters:>10} {layer.flops:>7}")
    print(f"{'total':<{width}} {'':<{shape_width}}{sum(x.parameters for x in layers):>10} "
          f"{sum(x.flops for x in layers):>7}")
