"""The MobileNet machinery: research/slim's ``nets/mobilenet/mobilenet.py``
and ``conv_blocks.py``, as far as MobileNet v2 and v3 (and v1's padding) need.

A net is a *conv-def table*: ``{'defaults': {ops: kwargs}, 'spec': [op(...)]}``
(see ``mobilenet_v2.V2_DEF``). :func:`mobilenet_base` enters the defaults as
arg_scopes, scales each op's ``num_outputs`` with the depth multiplier
(:func:`depth_multiplier`, rounding to multiples of 8), turns strides into
dilation past ``output_stride``, and names layer outputs ``layer_1`` ...
``layer_N``. :func:`expanded_conv` is v2's inverted-residual block:
1x1 expansion -> depthwise -> linear 1x1 projection (+ residual); v3 adds
per-block activations, fused (full-conv) expansions and
:func:`squeeze_excite` as its ``expansion_transform``.

``end_points`` match TF's, which scans the graph for ops named ``*output``
in each layer's scope: a block reports those tensors (``expansion_output``,
``depthwise_output``, ``output``, split parts) and they are added as
``layer_i/<name>`` after all ``layer_i`` entries, in TF's order.

slimtorch differences:

* Tensors are NCHW.
* ``is_training`` defaults to None, which makes batch norm and dropout follow
  the module's ``train()``/``eval()`` mode (TF's default was False:
  inference). An explicit value, given to the net or through
  :func:`training_scope`, wins. :func:`mobilenet_base` always passes it to
  batch norm, None included (TF skipped None, keeping an outer scope's value).
* Not ported: quantization and ``split_separable_conv2d`` (v1-style tables).

    >>> make_divisible(1280 * 0.35, 8), make_divisible(32 * 1.4, 8)
    (448, 48)
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import namedtuple
from typing import Optional

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import add_arg_scope, arg_scope
from ..layers import batch_norm, conv2d, dropout, fully_connected, separable_conv2d, softmax
from ..scopes import variable_scope
from ._utils import spatial_mean, squeeze_spatial

__all__ = ["Op", "depth_multiplier", "expand_input_by_factor", "expanded_conv", "fixed_padding",
           "global_pool", "make_divisible", "mobilenet", "mobilenet_base", "op", "split_conv",
           "squeeze_excite", "training_scope", "wrapped_partial"]


def fixed_padding(inputs: torch.Tensor, kernel_size, rate: int = 1) -> torch.Tensor:
    """Pads ``[N, C, H, W]`` so that a ``'VALID'`` convolution gives the size
    ``'SAME'`` would, but with symmetric padding (extra on the bottom/right).

    As in TF, both dims use ``kernel_size[0]``.

        >>> fixed_padding(torch.ones(1, 1, 4, 4), [3, 3], rate=2).shape
        torch.Size([1, 1, 8, 8])
    """
    effective = kernel_size[0] + (kernel_size[0] - 1) * (rate - 1)
    pad_total = effective - 1
    pad_beg = pad_total // 2
    pad_end = pad_total - pad_beg
    return F.pad(inputs, (pad_beg, pad_end, pad_beg, pad_end))


def make_divisible(v, divisor: int, min_value: Optional[int] = None) -> int:
    """``v`` rounded to the nearest multiple of ``divisor`` (at least
    ``min_value``, default ``divisor``), but never more than 10% below ``v``.

        >>> make_divisible(24 * 0.35, 8), make_divisible(96 * 0.35, 8)
        (8, 32)
    """
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _split_divisible(num: int, num_ways: int, divisible_by: int = 8) -> list:
    """Splits ``num`` into ``num_ways`` near-equal parts, each a multiple of
    ``divisible_by``, rounding the early parts down."""
    if num % divisible_by or num / num_ways < divisible_by:
        raise ValueError(f"cannot split {num} channels {num_ways} ways in multiples of "
                         f"{divisible_by}")
    base = num // num_ways // divisible_by * divisible_by
    result, accumulated = [], 0
    for i in range(num_ways):
        r = base
        while accumulated + r < num * (i + 1) / num_ways:
            r += divisible_by
        result.append(r)
        accumulated += r
    return result


def wrapped_partial(func, **kwargs):
    """``functools.partial`` that keeps ``func``'s name and attributes such
    as ``default_image_size`` (TF's ``wrapped_partial``). Its docstring points
    to ``func``'s instead of copying it (and its examples).

        >>> def net(x, depth_multiplier=1.0):
        ...     return depth_multiplier
        >>> net.default_image_size = 224
        >>> half = wrapped_partial(net, depth_multiplier=0.5)
        >>> half(None), half.__name__, half.default_image_size, half.__doc__
        (0.5, 'net', 224, '``net`` with depth_multiplier=0.5.')
    """
    partial_func = functools.partial(func, **kwargs)
    functools.update_wrapper(partial_func, func)
    settings = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    partial_func.__doc__ = f"``{func.__name__}`` with {settings}."
    return partial_func


# -- the conv-def table -------------------------------------------------------
@add_arg_scope
def depth_multiplier(output_params: dict, multiplier: float, divisible_by: int = 8,
                     min_depth: int = 8, **unused_kwargs) -> None:
    """Scales ``output_params['num_outputs']`` (in place) by ``multiplier``,
    rounded with :func:`make_divisible`; ops without it are left alone.
    ``mobilenet_v2.mobilenet`` sets ``divisible_by``/``min_depth`` through
    an arg_scope on this function.

        >>> params = {'num_outputs': 320}
        >>> depth_multiplier(params, 1.4)
        >>> params
        {'num_outputs': 448}
    """
    if "num_outputs" not in output_params:
        return
    d = output_params["num_outputs"]
    output_params["num_outputs"] = make_divisible(d * multiplier, divisible_by, min_depth)


Op = namedtuple("Op", ["op", "params", "multiplier_func"])


def op(opfunc, multiplier_func=depth_multiplier, **params) -> Op:
    """One row of a conv-def table: ``opfunc(net, **params)``, its depth scaled
    by ``multiplier_func`` (``multiplier_transform=`` is an alias).

        >>> op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]).params
        {'stride': 2, 'num_outputs': 32, 'kernel_size': [3, 3]}
    """
    multiplier = params.pop("multiplier_transform", multiplier_func)
    return Op(opfunc, params=params, multiplier_func=multiplier)


@contextlib.contextmanager
def _set_arg_scope_defaults(defaults):
    """Enters ``arg_scope(ops, **kwargs)`` for each ``(ops, kwargs)`` item."""
    items = list(defaults.items()) if hasattr(defaults, "items") else list(defaults)
    with contextlib.ExitStack() as stack:
        for funcs, kwargs in items:
            stack.enter_context(arg_scope(funcs, **kwargs))
        yield


def _safe_arg_scope(funcs, **kwargs):
    """``arg_scope`` with the None-valued kwargs left out ("do not override")."""
    filtered = {name: value for name, value in kwargs.items() if value is not None}
    return arg_scope(funcs, **filtered) if filtered else contextlib.nullcontext()


class _LayerOutputs(threading.local):
    """A block appends its (name, tensor) outputs to the innermost sink while
    mobilenet_base builds one layer: slimtorch's stand-in for TF's scan of
    '*output' ops by scope. Thread-local rather than a ContextVar, which
    ``torch.compile`` cannot trace (a graph break per layer)."""

    def __init__(self) -> None:
        self.sinks: list = []


_LAYER_OUTPUTS = _LayerOutputs()


def _named_output(name: str, tensor: torch.Tensor) -> torch.Tensor:
    if _LAYER_OUTPUTS.sinks:
        _LAYER_OUTPUTS.sinks[-1].append((name, tensor))
    return tensor


# -- blocks -------------------------------------------------------------------
def expand_input_by_factor(n, divisible_by: int = 8):
    """An ``expansion_size`` for :func:`expanded_conv`: the input depth times
    ``n``, made divisible.

        >>> expand_input_by_factor(6)(num_inputs=24), expand_input_by_factor(1, 1)(num_inputs=16)
        (144, 16)
    """
    return lambda num_inputs, **_: make_divisible(num_inputs * n, divisible_by)


def split_conv(input_tensor: torch.Tensor, num_outputs: int, num_ways: int, scope: str,
               divisible_by: int = 8, **kwargs) -> torch.Tensor:
    """A 1x1 ``conv2d`` split ``num_ways``: input part i feeds output part i
    only (scopes ``<scope>_part_<i>``). Without splitting (``num_ways == 1``
    or parts under ``divisible_by`` channels) it is one conv named ``scope``.
    ``kwargs`` go to ``conv2d``.

        >>> y = split_conv(torch.zeros(1, 16, 4, 4), 32, 2, 'expand')
        >>> y.shape, [v.name for v in slim.get_variables()][:2]
        (torch.Size([1, 32, 4, 4]), ['expand_part_0/weights', 'expand_part_0/biases'])
    """
    channels = input_tensor.shape[1]
    if num_ways == 1 or min(channels // num_ways, num_outputs // num_ways) < divisible_by:
        return conv2d(input_tensor, num_outputs, [1, 1], scope=scope, **kwargs)
    input_splits = _split_divisible(channels, num_ways, divisible_by)
    output_splits = _split_divisible(num_outputs, num_ways, divisible_by)
    outs = []
    for i, (part, out_size) in enumerate(zip(torch.split(input_tensor, input_splits, 1),
                                             output_splits)):
        part_scope = f"{scope}_part_{i}"
        n = conv2d(part, out_size, [1, 1], scope=part_scope, **kwargs)
        outs.append(_named_output(part_scope + "_output", n))
    return torch.cat(outs, 1)


@add_arg_scope
def expanded_conv(input_tensor: torch.Tensor, num_outputs: int,
                  expansion_size=expand_input_by_factor(6), stride=1, rate=1,
                  kernel_size=(3, 3), residual=True, normalizer_fn=None,
                  split_projection: int = 1, split_expansion: int = 1,
                  split_divisible_by: int = 8, expansion_transform=None,
                  depthwise_location: Optional[str] = "expansion",
                  depthwise_channel_multiplier: int = 1, endpoints: Optional[dict] = None,
                  use_explicit_padding: bool = False, padding: str = "SAME",
                  inner_activation_fn=None, depthwise_activation_fn=None,
                  project_activation_fn=None, depthwise_fn=separable_conv2d,
                  expansion_fn=split_conv, projection_fn=split_conv,
                  scope: Optional[str] = None) -> torch.Tensor:
    """MobileNet's inverted residual: 1x1 ``expand`` -> ``depthwise`` ->
    linear 1x1 ``project`` (+ the input when shapes allow).

    Args:
        input_tensor: ``[N, C, H, W]``.
        num_outputs: channels of the projection.
        expansion_size: channels of the expansion, or a callable of
            ``num_inputs`` (default 6x). No expansion conv is built unless it
            is larger than the input depth.
        stride, rate, kernel_size: of the depthwise convolution.
        residual: add the input when stride is 1 and depths match; or a
            callable ``(input_tensor=, output_tensor=)``.
        normalizer_fn: for all three convolutions (passed explicitly, so
            None means biases, as in TF).
        split_projection, split_expansion, split_divisible_by: split the 1x1
            convs (:func:`split_conv`; only when ``expansion_fn`` /
            ``projection_fn`` are :func:`split_conv`).
        expansion_transform: optional ``(expansion_tensor=, input_tensor=)``
            applied after the depthwise step (v3: :func:`squeeze_excite`).
        depthwise_location: ``'expansion'`` (v2), ``'input'``, ``'output'`` or
            None (no depthwise: v3's fused blocks); depthwise layers at the
            input or output are linear.
        depthwise_channel_multiplier: depthwise outputs per input channel.
        endpoints: optional dict, filled with ``expansion_output``,
            ``depthwise_output`` and ``projection_output``.
        use_explicit_padding: pad by hand and use ``'VALID'`` (``padding``
            must then be ``'SAME'``).
        padding: padding of the depthwise convolution.
        inner_activation_fn: activation of the expansion and depthwise
            convolutions (None: the arg_scope's).
        depthwise_activation_fn: the depthwise one's, winning over
            ``inner_activation_fn``.
        project_activation_fn: activation of the projection (None: linear;
            TF's default ``tf.identity``).
        depthwise_fn: the depthwise convolution (``separable_conv2d`` with
            ``num_outputs=None``).
        expansion_fn, projection_fn: the 1x1 convolutions, called as
            ``fn(net, depth, scope=, normalizer_fn=[, activation_fn=])``; a
            full ``conv2d`` partial makes a fused (v3 EdgeTPU) expansion.
        scope: variable scope (default ``expanded_conv``, made unique).

    Returns:
        ``[N, num_outputs, H / stride, W / stride]``.

    Raises:
        TypeError: unknown ``depthwise_location``, or explicit padding with
            ``padding != 'SAME'``.

    Example:
        >>> y = expanded_conv(torch.zeros(1, 16, 8, 8), 16)
        >>> y.shape, [v.name for v in slim.get_variables()][::2]
        (torch.Size([1, 16, 8, 8]), ['expanded_conv/expand/weights',
         'expanded_conv/depthwise/depthwise_weights', 'expanded_conv/project/weights'])
    """
    dw_activation = (depthwise_activation_fn if depthwise_activation_fn is not None
                     else inner_activation_fn)
    with variable_scope(scope, default_name="expanded_conv"), \
            _safe_arg_scope([conv2d], activation_fn=inner_activation_fn), \
            _safe_arg_scope([separable_conv2d], activation_fn=dw_activation):
        prev_depth = input_tensor.shape[1]
        if depthwise_location not in [None, "input", "output", "expansion"]:
            raise TypeError(f"{depthwise_location!r} is unknown value for depthwise_location")
        if use_explicit_padding:
            if padding != "SAME":
                raise TypeError('`use_explicit_padding` should only be used with "SAME" '
                                'padding.')
            padding = "VALID"
        depthwise_func = functools.partial(
            depthwise_fn, num_outputs=None, kernel_size=kernel_size,
            depth_multiplier=depthwise_channel_multiplier, stride=stride, rate=rate,
            normalizer_fn=normalizer_fn, padding=padding, scope="depthwise")

        def depthwise(net, **kwargs):
            if use_explicit_padding:
                net = fixed_padding(net, kernel_size, rate)
            net = _named_output("depthwise_output", depthwise_func(net, **kwargs))
            if endpoints is not None:
                endpoints["depthwise_output"] = net
            return net

        net = input_tensor
        if depthwise_location == "input":
            net = depthwise(net, activation_fn=None)

        inner_size = (expansion_size(num_inputs=prev_depth) if callable(expansion_size)
                      else expansion_size)
        if inner_size > net.shape[1]:
            if expansion_fn is split_conv:
                expansion_fn = functools.partial(split_conv, num_ways=split_expansion,
                                                 divisible_by=split_divisible_by, stride=1)
            net = expansion_fn(net, inner_size, scope="expand", normalizer_fn=normalizer_fn)
            net = _named_output("expansion_output", net)
            if endpoints is not None:
                endpoints["expansion_output"] = net

        if depthwise_location == "expansion":
            net = depthwise(net)
        if expansion_transform:
            net = expansion_transform(expansion_tensor=net, input_tensor=input_tensor)
        # The projection always runs: it sets the output depth.
        if projection_fn is split_conv:
            projection_fn = functools.partial(split_conv, num_ways=split_projection,
                                              divisible_by=split_divisible_by, stride=1)
        net = projection_fn(net, num_outputs, scope="project", normalizer_fn=normalizer_fn,
                            activation_fn=project_activation_fn)
        if endpoints is not None:
            endpoints["projection_output"] = net
        if depthwise_location == "output":
            net = depthwise(net, activation_fn=None)

        if callable(residual):
            net = residual(input_tensor=input_tensor, output_tensor=net)
        elif residual and stride == 1 and net.shape[1] == input_tensor.shape[1]:
            net = net + input_tensor
        return _named_output("output", net)


@add_arg_scope
def squeeze_excite(input_tensor: torch.Tensor, divisible_by: int = 8, squeeze_factor=3,
                   inner_activation_fn=F.relu, gating_fn=torch.sigmoid,
                   squeeze_input_tensor: Optional[torch.Tensor] = None,
                   pool: Optional[int] = None) -> torch.Tensor:
    """MobileNet v3's squeeze-and-excite gate, scope ``squeeze_excite``:
    average pool -> 1x1 ``Conv`` (``inner_activation_fn``, channels /
    ``squeeze_factor`` made divisible) -> 1x1 ``Conv_1`` (``gating_fn``) ->
    ``input_tensor * gate``. Both convs have biases and no normalizer.

    Args:
        input_tensor: ``[N, C, H, W]``, the tensor gated.
        divisible_by: the squeezed depth is a multiple of it.
        squeeze_factor: the squeezed depth is ``C / squeeze_factor``.
        inner_activation_fn, gating_fn: activations of the two convs.
        squeeze_input_tensor: compute the gate from this tensor instead.
        pool: average-pool with this (square) window and stride instead of
            globally, then resize the gate bilinearly back to ``H, W``.

    Returns:
        ``input_tensor`` times the gate.

    Example:
        >>> y = squeeze_excite(torch.ones(1, 32, 4, 4), squeeze_factor=4)
        >>> y.shape, [v.name for v in slim.get_variables()][::2]
        (torch.Size([1, 32, 4, 4]), ['squeeze_excite/Conv/weights',
         'squeeze_excite/Conv_1/weights'])
    """
    with variable_scope("squeeze_excite"):
        if squeeze_input_tensor is None:
            squeeze_input_tensor = input_tensor
        input_size = tuple(input_tensor.shape[2:4])
        pool_height, pool_width = squeeze_input_tensor.shape[2:4]
        stride = 1
        if pool is not None and pool_height >= pool:
            pool_height, pool_width, stride = pool, pool, pool
        squeeze_channels = make_divisible(squeeze_input_tensor.shape[1] / squeeze_factor,
                                          divisible_by)
        if pool is None:
            pooled = spatial_mean(squeeze_input_tensor)
        else:
            pooled = F.avg_pool2d(squeeze_input_tensor, (pool_height, pool_width), stride)
        squeeze = conv2d(pooled, squeeze_channels, [1, 1], normalizer_fn=None,
                         activation_fn=inner_activation_fn)
        excite = conv2d(squeeze, input_tensor.shape[1], [1, 1], normalizer_fn=None,
                        activation_fn=gating_fn)
        if pool is not None:
            excite = F.interpolate(excite, size=input_size, mode="bilinear", align_corners=True)
        return input_tensor * excite


# -- the network --------------------------------------------------------------
@add_arg_scope
def mobilenet_base(inputs: torch.Tensor, conv_defs: dict, multiplier: float = 1.0,
                   final_endpoint: Optional[str] = None, output_stride=None,
                   use_explicit_padding: bool = False, scope=None, is_training=None):
    """Builds a conv-def table from the inputs to ``final_endpoint``.

    Args:
        inputs: ``[N, C, H, W]``.
        conv_defs: ``{'defaults': ..., 'overrides': ..., 'spec': [op(...)]}``.
        multiplier: depth multiplier (> 0) given to each op's
            ``multiplier_func``.
        final_endpoint: the last layer (``'layer_<i>'``); None builds all.
        output_stride: None, 1 or an even number: once the running stride
            reaches it, later ops use stride 1 and dilation instead.
        use_explicit_padding: pad by hand, then convolve ``'VALID'``.
        scope: variable scope (default ``Mobilenet``).
        is_training: batch norm's ``is_training`` for the whole base (None:
            follow ``train()``/``eval()``).

    Returns:
        ``(net, end_points)`` with ``layer_1`` ... and the blocks' named
        outputs (``layer_2/output``, ...).

    Raises:
        ValueError: ``multiplier <= 0`` or a bad ``output_stride``.

    Example (``mobilenet_v2.V2_DEF`` cut short):
        >>> from slimtorch.nets.mobilenet_v2 import V2_DEF
        >>> net, end_points = mobilenet_base(torch.zeros(1, 3, 32, 32), V2_DEF,
        ...                                  final_endpoint='layer_2')
        >>> net.shape, list(end_points)
        (torch.Size([1, 16, 16, 16]),
         ['layer_1', 'layer_2', 'layer_2/depthwise_output', 'layer_2/output'])
    """
    if multiplier <= 0:
        raise ValueError("multiplier is not greater than zero.")
    defaults = conv_defs.get("defaults", {})
    overrides = conv_defs.get("overrides", {})
    if use_explicit_padding:
        overrides = dict(overrides)
        overrides[(conv2d, separable_conv2d)] = {"padding": "VALID"}
    if output_stride is not None:
        if output_stride == 0 or (output_stride > 1 and output_stride % 2):
            raise ValueError("Output stride must be None, 1 or a multiple of 2.")

    with variable_scope(scope, default_name="Mobilenet"), \
            arg_scope([batch_norm], is_training=is_training), \
            _set_arg_scope_defaults(defaults), _set_arg_scope_defaults(overrides):
        current_stride, rate = 1, 1
        net = inputs
        end_points, layer_outputs = {}, []
        for i, opdef in enumerate(conv_defs["spec"]):
            params = dict(opdef.params)
            opdef.multiplier_func(params, multiplier)
            stride = params.get("stride", 1)
            if output_stride is not None and current_stride == output_stride:
                layer_stride, layer_rate = 1, rate
                rate *= stride
            else:
                layer_stride, layer_rate = stride, 1
                current_stride *= stride
            params["stride"] = layer_stride
            # 1x1 convolutions need no dilation; ops without kernel_size are 3x3.
            if layer_rate > 1 and tuple(params.get("kernel_size", [])) != (1, 1):
                params["rate"] = layer_rate
            if use_explicit_padding:
                if "kernel_size" in params:
                    net = fixed_padding(net, params["kernel_size"], layer_rate)
                else:
                    params["use_explicit_padding"] = True

            end_point = f"layer_{i + 1}"
            outputs = []
            _LAYER_OUTPUTS.sinks.append(outputs)
            try:
                net = opdef.op(net, **params)
            finally:
                _LAYER_OUTPUTS.sinks.pop()
            end_points[end_point] = net
            layer_outputs.append((end_point, outputs))
            if final_endpoint is not None and end_point == final_endpoint:
                break
        for end_point, outputs in layer_outputs:
            for name, tensor in outputs:
                end_points[f"{end_point}/{name}"] = tensor
        return net, end_points


def global_pool(input_tensor: torch.Tensor) -> torch.Tensor:
    """Average over the whole map: ``[N, C, H, W] -> [N, C, 1, 1]`` (TF's
    full-window ``avg_pool``).

        >>> global_pool(torch.ones(2, 8, 7, 7)).shape
        torch.Size([2, 8, 1, 1])
    """
    return spatial_mean(input_tensor)


@add_arg_scope
def mobilenet(inputs: torch.Tensor, num_classes=1001, prediction_fn=softmax, reuse=None,
              scope: str = "Mobilenet", base_only: bool = False,
              use_reduce_mean_for_pooling: bool = False, **mobilenet_args):
    """A conv-def table plus the classification head: global average pool,
    dropout, 1x1 conv logits (``Logits/Conv2d_1c_1x1``), squeeze.

    Args:
        inputs: ``[N, C, H, W]``.
        num_classes: number of classes; 0 or None returns the pooled features
            ``[N, C, 1, 1]`` (no dropout or logits).
        prediction_fn: applied to the logits for ``end_points['Predictions']``
            (None skips it).
        reuse: share the variables of an earlier call (needs ``scope``).
        scope: variable scope.
        base_only: stop after the base (no pooling, no logits).
        use_reduce_mean_for_pooling: TF's choice of ``reduce_mean`` over a
            full-window ``avg_pool`` for the global pool; the same numbers.
        **mobilenet_args: passed to :func:`mobilenet_base` (``conv_defs``,
            ``multiplier``, ``final_endpoint``, ``output_stride``,
            ``use_explicit_padding``, ``is_training``); ``is_training`` also
            drives the dropout.

    Returns:
        ``(logits, end_points)``.

    Raises:
        ValueError: the input is not 4-D.

    Example:
        >>> from slimtorch.nets.mobilenet_v2 import V2_DEF
        >>> logits, end_points = mobilenet(torch.zeros(2, 3, 32, 32), num_classes=3,
        ...                                conv_defs=V2_DEF, multiplier=0.35)
        >>> logits.shape, list(end_points)[-3:]
        (torch.Size([2, 3]), ['global_pool', 'Logits', 'Predictions'])
    """
    is_training = mobilenet_args.get("is_training")
    if inputs.dim() != 4:
        raise ValueError(f"Expected rank 4 input, was: {inputs.dim()}")

    with variable_scope(scope, "Mobilenet", reuse=reuse) as sc:
        net, end_points = mobilenet_base(inputs, scope=sc, **mobilenet_args)
        if base_only:
            return net, end_points
        with variable_scope("Logits"):
            # TF's reduce_mean and full-window avg_pool compute the same mean.
            net = global_pool(net)
            end_points["global_pool"] = net
            if not num_classes:
                return net, end_points
            net = dropout(net, scope="Dropout", is_training=is_training)
            logits = conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                            biases_initializer=initializers.zeros_initializer(),
                            scope="Conv2d_1c_1x1")
            logits = squeeze_spatial(logits, f"{sc.name}/Logits/Squeeze")
        end_points["Logits"] = logits
        if prediction_fn:
            end_points["Predictions"] = prediction_fn(logits, "Predictions")
    return logits, end_points


def training_scope(is_training=True, weight_decay: float = 0.00004, stddev: float = 0.09,
                   dropout_keep_prob: Optional[float] = 0.8, bn_decay: Optional[float] = 0.997):
    """MobileNet's training defaults: truncated-normal (``stddev < 0``:
    Xavier) weights, batch norm after every conv, L2 decay on full and 1x1
    kernels (not depthwise ones), and ``is_training`` for the nets, batch
    norm and dropout.

    Args:
        is_training: True forces training mode, False inference, None
            follows ``train()``/``eval()``. An ``is_training`` given to the
            net itself wins over this one.
        weight_decay: L2 weight decay.
        stddev: initializer standard deviation; negative means Xavier.
        dropout_keep_prob: dropout keep probability (None: not set).
        bn_decay: batch norm moving-average decay (None: not set).

    Returns:
        The scope, to re-enter with ``slim.arg_scope(...)``.

    Example:
        >>> with slim.arg_scope(training_scope(dropout_keep_prob=0.5)):
        ...     scoped = slim.current_arg_scope()
        >>> scoped[slim.arg_scope_func_key(slim.dropout)]
        {'is_training': True, 'keep_prob': 0.5}
    """
    batch_norm_params = {"decay": bn_decay, "is_training": is_training}
    if stddev < 0:
        weight_initializer = initializers.xavier_initializer()
    else:
        weight_initializer = initializers.truncated_normal_initializer(stddev=stddev)
    with arg_scope([conv2d, fully_connected, separable_conv2d],
                   weights_initializer=weight_initializer, normalizer_fn=batch_norm), \
            arg_scope([mobilenet_base, mobilenet], is_training=is_training), \
            _safe_arg_scope([batch_norm], **batch_norm_params), \
            _safe_arg_scope([dropout], is_training=is_training, keep_prob=dropout_keep_prob), \
            arg_scope([conv2d], weights_regularizer=regularizers.l2_regularizer(weight_decay)), \
            arg_scope([separable_conv2d], weights_regularizer=None) as sc:
        return sc

