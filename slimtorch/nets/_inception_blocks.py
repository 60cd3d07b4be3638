"""Building blocks shared by Inception v1, v2 and v3.

research/slim writes every Inception module out by hand: a ``Mixed_*``
variable scope with ``Branch_0..k`` sub-scopes whose outputs are concatenated
on channels, each stage recorded in ``end_points`` with an early return at
``final_endpoint``. Here a net lists its stages as :class:`Layer` and
:class:`Mixed` steps and :func:`run_stages` does the bookkeeping, so each net
file holds only its own layout. The classification head (pooling, dropout,
1x1 logits, squeeze, predictions) is shared the same way.

    >>> with slim.Graph():
    ...     block = Mixed('Mixed_0', conv('Conv2d_0a_1x1', 4, [1, 1]),
    ...                   [max_pool('MaxPool_0a_3x3', [3, 3], stride=1, padding='SAME'),
    ...                    conv('Conv2d_0b_1x1', 2, [1, 1])])
    ...     y = block(torch.randn(1, 3, 5, 5))
    ...     y.shape, [v.name for v in slim.get_model_variables()]
    (torch.Size([1, 6, 5, 5]), ['Mixed_0/Branch_0/Conv2d_0a_1x1/weights',
     'Mixed_0/Branch_0/Conv2d_0a_1x1/biases', 'Mixed_0/Branch_1/Conv2d_0b_1x1/weights',
     'Mixed_0/Branch_1/Conv2d_0b_1x1/biases'])
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch

from ..initializers import truncated_normal_initializer
from ..layers import avg_pool2d, conv2d, dropout, max_pool2d
from ..scopes import variable_scope
from ._utils import CHANNELS, reduced_kernel_size_for_small_input, spatial_mean, squeeze_spatial

__all__ = ["Fork", "Layer", "Mixed", "avg_pool", "check_final_endpoint", "conv", "depth_fn",
           "fixed_avg_pool", "logits_head", "max_pool", "run_stages", "trunc_normal"]


def trunc_normal(stddev: float):
    """research/slim's ``trunc_normal``: a truncated normal with mean 0."""
    return truncated_normal_initializer(0.0, stddev)


def depth_fn(depth_multiplier: float, min_depth: int) -> Callable[[int], int]:
    """research/slim's ``depth``: ``d -> max(int(d * depth_multiplier), min_depth)``.

        >>> depth_fn(0.25, 16)(96), depth_fn(0.25, 16)(32)
        (24, 16)
        >>> depth_fn(0, 16)
        Traceback (most recent call last):
        ...
        ValueError: depth_multiplier is not greater than zero.
    """
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    return lambda d: max(int(d * depth_multiplier), min_depth)


class Layer:
    """A deferred layer call ``fn(net, *args, scope=name, **kwargs)``; ``name``
    is also the stage's end-point key when it is one."""

    __slots__ = ("name", "fn", "args", "kwargs")

    def __init__(self, name: str, fn: Callable, *args, **kwargs) -> None:
        self.name = name
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def __call__(self, net: torch.Tensor) -> torch.Tensor:
        return self.fn(net, *self.args, scope=self.name, **self.kwargs)


def conv(name: str, depth: int, kernel_size, **kwargs) -> Layer:
    """``slim.conv2d(net, depth, kernel_size, scope=name, **kwargs)``, deferred."""
    return Layer(name, conv2d, depth, kernel_size, **kwargs)


def max_pool(name: str, kernel_size, **kwargs) -> Layer:
    """``slim.max_pool2d(net, kernel_size, scope=name, **kwargs)``, deferred."""
    return Layer(name, max_pool2d, kernel_size, **kwargs)


def avg_pool(name: str, kernel_size, **kwargs) -> Layer:
    """``slim.avg_pool2d(net, kernel_size, scope=name, **kwargs)``, deferred."""
    return Layer(name, avg_pool2d, kernel_size, **kwargs)


Step = Callable[[torch.Tensor], torch.Tensor]
Branch = Union[Step, Sequence[Step]]


def _run_branch(net: torch.Tensor, branch: Branch) -> torch.Tensor:
    for step in (branch if isinstance(branch, (list, tuple)) else [branch]):
        net = step(net)
    return net


class Fork:
    """Steps applied to the same input, concatenated on channels, in the
    enclosing scope (Inception v3's split 1x3 / 3x1 convolutions)."""

    def __init__(self, *steps: Step, axis: int = CHANNELS) -> None:
        self.steps = steps
        self.axis = axis

    def __call__(self, net: torch.Tensor) -> torch.Tensor:
        return torch.cat([step(net) for step in self.steps], self.axis)


class Mixed:
    """An Inception module: scope ``name``, branch ``k`` (a step or a list of
    steps, run in order) under ``Branch_k``, outputs concatenated on
    channels (``axis`` 1; 3 for NHWC activations)."""

    def __init__(self, name: str, *branches: Branch, axis: int = CHANNELS) -> None:
        self.name = name
        self.branches = branches
        self.axis = axis

    def __call__(self, net: torch.Tensor) -> torch.Tensor:
        outputs = []
        with variable_scope(self.name):
            for index, branch in enumerate(self.branches):
                with variable_scope(f"Branch_{index}"):
                    outputs.append(_run_branch(net, branch))
        return torch.cat(outputs, self.axis)


def check_final_endpoint(final_endpoint: str, stages: Sequence) -> None:
    """Raises research/slim's ``ValueError`` if no stage is named ``final_endpoint``.

    research/slim raises after building every stage; checking first gives the
    same error without building anything.
    """
    if final_endpoint not in [stage.name for stage in stages]:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")


def run_stages(net: torch.Tensor, stages: Sequence, final_endpoint: str,
               end_points: dict) -> tuple:
    """Runs ``stages`` in order, recording each output as ``end_points[stage.name]``.

    Returns:
        ``(net, reached)``: the last output, and whether ``final_endpoint``
        was among the stages (the caller stops there).
    """
    for stage in stages:
        net = stage(net)
        end_points[stage.name] = net
        if stage.name == final_endpoint:
            return net, True
    return net, False


def fixed_avg_pool(kernel_size: Sequence[int]) -> Callable:
    """research/slim's v2/v3 pre-logits pool: a VALID average pool of
    ``kernel_size`` shrunk to the input, scope ``AvgPool_1a_{h}x{w}``, end
    point ``AvgPool_1a``."""
    def pool(net: torch.Tensor):
        kernel = reduced_kernel_size_for_small_input(net, kernel_size)
        net = avg_pool2d(net, kernel, padding="VALID", scope="AvgPool_1a_{}x{}".format(*kernel))
        return net, "AvgPool_1a"
    return pool


def logits_head(net: torch.Tensor, end_points: dict, *, num_classes: Optional[int],
                dropout_keep_prob: float, prediction_fn: Callable, spatial_squeeze: bool,
                global_pool: bool, fixed_pool: Callable, dropout_scope: str, logits_scope: str,
                pre_logits: bool = False):
    """The Inception classification head, in variable scope ``Logits``.

    Pools (the global mean, end point ``global_pool``, or ``fixed_pool(net) ->
    (net, end_point)``); returns the pooled features if ``num_classes`` is 0 or
    None; else dropout (recorded as ``PreLogits`` if ``pre_logits``), a 1x1
    conv to ``num_classes`` without activation or normalizer, the spatial
    squeeze, and end points ``Logits`` and ``Predictions``.

    Returns:
        ``(logits or pooled features, end_points)``.
    """
    with variable_scope("Logits"):
        if global_pool:
            net = spatial_mean(net)
            end_points["global_pool"] = net
        else:
            net, key = fixed_pool(net)
            end_points[key] = net
        if not num_classes:
            return net, end_points
        net = dropout(net, dropout_keep_prob, scope=dropout_scope)
        if pre_logits:
            end_points["PreLogits"] = net
        logits = conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                        scope=logits_scope)
        if spatial_squeeze:
            logits = squeeze_spatial(logits, "Logits/SpatialSqueeze")
    end_points["Logits"] = logits
    end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points
