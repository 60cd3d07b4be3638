"""The fused inference path: what a convolution layer runs in eval mode.

TF's oneDNN graph rewrites fuse every ``conv -> batch norm -> bias -> ReLU``
of a TF-Slim model into one convolution; PyTorch eager runs them as separate
passes over memory. In inference (``is_training`` False for the batch norm,
no gradient wanted), slimtorch does the same rewrite per call, with no
compile step and no warm-up:

* **batch norm folded**: ``bn(conv(x, W) + b) = conv(x, W·s) + (b·s + t)``
  with ``s, t`` the batch norm's eval-mode scale and shift
  (:meth:`BatchNorm.eval_affine`). The folded weights are computed once and
  cached on the layer, keyed by the version counters and storages of every
  tensor they come from, so a restore, an optimizer step, ``.to(device)`` or
  any in-place change recomputes them on the next call;
* **activation fused, weights prepacked**: on the CPU (float32, or
  bfloat16 also under bfloat16 autocast, oneDNN built in) the convolution,
  its bias and ReLU / ReLU6 run as one oneDNN kernel
  (``torch.ops.mkldnn._convolution_pointwise``, the op inductor's freezing
  pass emits) on weights reordered once into oneDNN's blocked layout for
  the input's shape, where eager ``F.conv2d`` reorders (and autocast casts)
  them on every call; elsewhere ``F.conv2d`` and the activation in place.
  This also applies to convolutions without a batch norm (VGG). The
  prepacked copies live as long as their weights, for the last few input
  shapes: inference holds about one more copy of the convolution weights
  (two with batch norms).

Everything else takes the plain path, unchanged: training, a batch norm
called with arguments the fold cannot honour (``batch_weights``, renorm,
its own ``outputs_collections``, settings other than the layer's), autograd
through the weights or inputs, tracing/exporting/compiling (graphs keep
standard ops) and dispatch modes such as the FLOP counter. Results equal
the plain path up to float rounding (a relative 1e-6 for the zoo's nets).

    >>> net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='conv',
    ...                                        normalizer_fn=slim.batch_norm)).eval()
    >>> x = torch.randn(2, 3, 8, 8)
    >>> with torch.no_grad():
    ...     fused = net(x)
    ...     with plain_inference():
    ...         plain = net(x)
    >>> torch.allclose(fused, plain, atol=1e-6)
    True
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch.utils.weak import WeakIdKeyDictionary

from ..arg_scope import arg_scope_func_key, current_arg_scope
from ..scopes import current_frame
from ._activation import activate
from ._batch_norm import BatchNorm, batch_norm, call_settings
from ._layer import resolve_is_training
from ._norm_base import _channels_first

__all__ = ["conv2d_activated", "fused_normalize", "plain_inference"]

# activation_fn -> oneDNN's post-op (name, scalars); others are applied after.
_ONEDNN_POST_OPS = {None: ("none", []), F.relu: ("relu", []), torch.relu: ("relu", []),
                    F.relu6: ("hardtanh", [0.0, 6.0])}
_ENABLED = [True]


@contextlib.contextmanager
def plain_inference() -> Iterator[None]:
    """Runs eval-mode layers unfused (the reference the fused path is tested
    and benchmarked against)."""
    _ENABLED.append(False)
    try:
        yield
    finally:
        _ENABLED.pop()


def _graph_wanted() -> bool:
    """Whether the ops run are being recorded (tracing, exporting, compiling,
    a dispatch mode such as the FLOP counter): those see standard ops and
    fake tensors, never caches of real storage."""
    return (torch.jit.is_tracing() or torch.compiler.is_compiling()
            or torch._C._get_dispatch_mode(torch._C._TorchDispatchModeKey.PROXY) is not None
            or torch.utils._python_dispatch._get_current_dispatch_mode() is not None)


def _onednn_dtype(inputs: torch.Tensor, weights: torch.Tensor, biases) -> Optional[torch.dtype]:
    """The dtype the oneDNN fused kernel would run ``F.conv2d`` in, or None
    where it cannot stand in: CPU tensors, float32 (or bfloat16, also under
    bfloat16 autocast, where the CPU supports it), no autograd, tracing,
    compiling or dispatch mode that expects standard ops."""
    if not (_ENABLED[-1] and inputs.device.type == "cpu" and type(inputs) is torch.Tensor):
        return None
    if torch.is_grad_enabled() and (inputs.requires_grad or weights.requires_grad
                                    or (biases is not None and biases.requires_grad)):
        return None
    if _graph_wanted():
        return None
    if not torch.backends.mkldnn.is_available() or not (
            inputs.is_contiguous() or inputs.is_contiguous(memory_format=torch.channels_last)):
        return None
    if torch.is_autocast_enabled("cpu"):   # autocast runs convolutions in its dtype
        dtype = torch.get_autocast_dtype("cpu")
        return dtype if dtype == torch.bfloat16 and _bf16_supported() else None
    if inputs.dtype != weights.dtype or inputs.dtype not in (torch.float32, torch.bfloat16):
        return None
    return inputs.dtype if inputs.dtype == torch.float32 or _bf16_supported() else None


@functools.lru_cache(maxsize=None)
def _bf16_supported() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def conv2d_activated(inputs: torch.Tensor, weights: torch.Tensor, biases: Optional[torch.Tensor],
                     stride, padding, dilation, groups: int, activation_fn) -> torch.Tensor:
    """``activation_fn(F.conv2d(inputs, weights, biases, ...))`` as one oneDNN
    kernel where it can be (see :func:`_onednn_dtype`); ``padding`` is
    torch's symmetric padding.

        >>> x, w, b = torch.randn(1, 3, 6, 6), torch.randn(4, 3, 3, 3), torch.randn(4)
        >>> with torch.no_grad():
        ...     y = conv2d_activated(x, w, b, (1, 1), (1, 1), (1, 1), 1, F.relu6)
        >>> torch.allclose(y, F.relu6(F.conv2d(x, w, b, 1, 1)), atol=1e-5)
        True
    """
    post_op = _ONEDNN_POST_OPS.get(activation_fn)
    dtype = _onednn_dtype(inputs, weights, biases) if post_op is not None else None
    if dtype is not None:
        name, scalars = post_op
        padding, stride, dilation = list(padding), list(stride), list(dilation)
        packed = _prepacked(weights, dtype, padding, stride, dilation, groups,
                            list(inputs.shape))
        return torch.ops.mkldnn._convolution_pointwise(
            inputs.to(dtype), packed, None if biases is None else biases.to(dtype), padding,
            stride, dilation, groups, name, scalars, "")
    return activate(F.conv2d(inputs, weights, biases, stride, padding, dilation, groups),
                    activation_fn)


# weights -> {(version, storage, input shape, geometry): oneDNN-blocked copy}
_PREPACKED = WeakIdKeyDictionary()
_SHAPES_PER_WEIGHTS = 4


def _prepacked(weights: torch.Tensor, dtype: torch.dtype, padding: list, stride: list,
               dilation: list, groups: int, input_shape: list) -> torch.Tensor:
    """``weights`` in ``dtype``, reordered into the layout oneDNN's
    convolution wants for this input shape, made once and kept while
    ``weights`` lives unchanged."""
    key = (weights._version, weights.data_ptr(), dtype, *input_shape, *padding, *stride,
           *dilation, groups)
    entries = _PREPACKED.get(weights)
    if entries is None:
        entries = _PREPACKED[weights] = {}
    packed = entries.get(key)
    if packed is None:
        if len(entries) >= _SHAPES_PER_WEIGHTS:   # stale versions, or many input sizes
            entries.clear()
        with torch.no_grad():
            packed = entries[key] = torch._C._nn.mkldnn_reorder_conv2d_weight(
                weights.detach().to(dtype).contiguous().to_mkldnn(), padding, stride, dilation,
                groups,
                input_shape)
    return packed


# batch_norm's arg_scope key and its defaults: what a normalizer call gets.
_BATCH_NORM_KEY = arg_scope_func_key(batch_norm)
_BATCH_NORM_DEFAULTS = {name: p.default for name, p in
                        inspect.signature(inspect.unwrap(batch_norm)).parameters.items()
                        if p.default is not inspect.Parameter.empty}


def _inference_call(layer, normalizer_fn, normalizer_params, rank: int):
    """The layer's ``BatchNorm`` when this ``normalizer_fn(**normalizer_params)``
    call (with the arg_scope's ``batch_norm`` arguments) is a plain inference
    call the fold reproduces exactly; else None."""
    bn = layer._modules.get("BatchNorm")
    if not isinstance(bn, BatchNorm) or bn.folded or arg_scope_func_key(normalizer_fn) is not \
            _BATCH_NORM_KEY or current_frame().building:
        return None
    defaults = _BATCH_NORM_DEFAULTS
    kwargs = {**current_arg_scope().get(_BATCH_NORM_KEY, {}), **(normalizer_params or {})}
    if not kwargs.keys() <= defaults.keys():
        return None   # the plain path raises batch_norm's TypeError
    args = {**defaults, **kwargs}
    if resolve_is_training(args["is_training"]) or args["batch_weights"] is not None \
            or args["adjustment"] is not None or args["renorm"] or args["outputs_collections"] \
            or args["scope"] not in (None, "BatchNorm") or args["fused"] not in (None, True, False) \
            or bool(args["zero_debias_moving_mean"]) != (bn.zero_debias is not None):
        return None
    settings = call_settings(args["decay"], args["epsilon"], args["activation_fn"],
                             args["data_format"], args["fused"], args["renorm"],
                             args["renorm_clipping"], args["renorm_decay"])
    if settings != bn.default_settings or not _channels_first(settings.data_format, rank):
        return None
    return bn


def _folded(layer, bn, rank: int) -> tuple:
    """The layer's weights with ``bn`` folded in (``layer.fold``), cached
    until any tensor they come from changes."""
    sources = [*layer.fold_sources(), *(t for t in (bn._variable("gamma"), bn._variable("beta"))
                                        if t is not None),
               bn._buffers["moving_mean"], bn._buffers["moving_variance"]]
    key = tuple((t._version, t.data_ptr(), t.dtype, t.device) for t in sources)
    cached = layer.__dict__.get("_folded_cache")
    if cached is not None and cached[0] == key:
        return cached[1]
    with torch.no_grad():
        scale, shift = bn.eval_affine(rank=rank)
        folded = layer.fold(scale, shift)
    layer.__dict__["_folded_cache"] = (key, folded)   # not a buffer: never saved
    return folded


def fused_normalize(layer, inputs: torch.Tensor, plan, normalizer_fn, normalizer_params,
                    activation_fn) -> Optional[torch.Tensor]:
    """``activation_fn(normalizer_fn(layer.linear(inputs, plan)))`` computed
    with the batch norm folded into ``layer`` and the activation fused, for
    channels-first ``inputs``; None where the plain path must run."""
    if not _ENABLED[-1] or not hasattr(layer, "fold") or _graph_wanted():
        return None
    rank = layer.dims + 2
    bn = _inference_call(layer, normalizer_fn, normalizer_params, rank)
    if bn is None:
        return None
    if torch.is_grad_enabled() and (inputs.requires_grad
                                    or any(p.requires_grad for p in layer.parameters())):
        return None   # gradients flow through the unfolded variables
    fused_fn, after_fn = activation_fn, None
    own_fn = bn.default_settings.activation_fn   # batch_norm's own, applied first
    if own_fn is not None:
        fused_fn, after_fn = own_fn, activation_fn
    outputs = layer.folded_linear(inputs, plan, _folded(layer, bn, rank), fused_fn)
    return activate(outputs, after_fn)
