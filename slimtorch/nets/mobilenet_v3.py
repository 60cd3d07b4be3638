"""MobileNet v3 (Howard et al., 2019, https://arxiv.org/abs/1905.02244) and
MobileNet EdgeTPU.

Follows research/slim's ``nets/mobilenet/mobilenet_v3.py``: op tables
(:data:`V3_LARGE`, :data:`V3_SMALL`, their ``_MINIMALISTIC`` variants without
squeeze-excite, hard-swish or 5x5 kernels, and :data:`V3_EDGETPU` with fused
full-conv expansions in its early blocks) run by
:mod:`slimtorch.nets.mobilenet_blocks`, with TF's scopes (``MobilenetV3``,
``MobilenetEdgeTPU``), variable names (``Conv/weights``,
``expanded_conv_3/squeeze_excite/Conv/weights``, ``Conv_2/biases`` ...,
``Logits/Conv2d_1c_1x1/...``), ``end_points`` keys (``layer_1`` ... then
``layer_i/expansion_output``, ``layer_i/depthwise_output``,
``layer_i/output``, then ``global_pool``, ``Logits``, ``Predictions``),
options and defaults. The v3 tables end with a 1x1 average pool over the
whole (square) map (``reduce_to_1x1``) and a 1x1 conv with biases (1280 or
1024 channels) before the logits.

slimtorch differences: tensors are NCHW. Without :func:`training_scope`
TF built an inference net; here ``is_training=None`` (the default) makes
batch norm and dropout follow the module's ``train()``/``eval()`` mode, and
an explicit ``is_training`` (to the net or through :func:`training_scope`)
wins.

    >>> net = slim.Model(small, num_classes=10).build((1, 3, 224, 224), device='meta')
    >>> slim.get_variables()[-1].name
    'MobilenetV3/Logits/Conv2d_1c_1x1/biases'
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..layers import avg_pool2d, batch_norm, conv2d, fully_connected, group_norm, separable_conv2d
from . import mobilenet_blocks as lib
from .mobilenet_blocks import expand_input_by_factor as expand_input
from .mobilenet_blocks import expanded_conv, op, squeeze_excite, training_scope, wrapped_partial

__all__ = ["DEFAULTS", "DEFAULTS_GROUP_NORM", "V3_EDGETPU", "V3_LARGE", "V3_LARGE_DETECTION",
           "V3_LARGE_MINIMALISTIC", "V3_SMALL", "V3_SMALL_DETECTION", "V3_SMALL_MINIMALISTIC",
           "edge_tpu", "edge_tpu_075", "hard_sigmoid", "hard_swish", "large",
           "large_minimalistic", "mbv3_fused", "mbv3_op", "mbv3_op_se", "mobilenet",
           "mobilenet_base", "reduce_to_1x1", "small", "small_minimalistic", "training_scope"]


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    """``x * relu6(x + 3) / 6``, as TF's ``hard_swish`` computes it.

        >>> hard_swish(torch.tensor([-4.0, 0.0, 1.0, 4.0]))
        tensor([-0.0000, 0.0000, 0.6667, 4.0000])
    """
    # Python scalars enter float32 math as float32, like TF's np.float32 constants.
    return x * F.relu6(x + 3.0) * (1.0 / 6.0)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """The squeeze-excite gate: ``relu6(x + 3) * 0.16667`` (TF's constant,
    not exactly 1/6).

        >>> hard_sigmoid(torch.tensor([-4.0, 0.0, 4.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    return F.relu6(x + 3) * 0.16667


def _se4(expansion_tensor: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
    """v3's squeeze-excite as an ``expansion_transform``: squeeze factor 4,
    ReLU inside, :func:`hard_sigmoid` gate."""
    return squeeze_excite(expansion_tensor, squeeze_factor=4, inner_activation_fn=F.relu,
                          gating_fn=hard_sigmoid)


def reduce_to_1x1(input_tensor: torch.Tensor, default_size: int = 7, **kwargs) -> torch.Tensor:
    """``avg_pool2d`` over the whole map when it is square, else over
    ``default_size`` x ``default_size``; ``kwargs`` go to ``avg_pool2d``.

        >>> reduce_to_1x1(torch.ones(1, 8, 5, 5), stride=1, padding='VALID').shape
        torch.Size([1, 8, 1, 1])
    """
    h, w = input_tensor.shape[2:4]
    k = [h, h] if w == h else [default_size, default_size]
    return avg_pool2d(input_tensor, kernel_size=k, **kwargs)


def mbv3_op(ef, n, k, s=1, act=F.relu, se=None, **kwargs) -> lib.Op:
    """One v3 block: an :func:`expanded_conv` row expanding its input ``ef``
    times, ``n`` outputs, a ``k`` x ``k`` depthwise of stride ``s``, inner
    activation ``act`` and ``expansion_transform=se``; ``kwargs`` go to
    ``expanded_conv``.

        >>> mbv3_op(ef=3, n=40, k=5, s=2).params['kernel_size']
        (5, 5)
    """
    return op(expanded_conv, expansion_size=expand_input(ef), kernel_size=(k, k), stride=s,
              num_outputs=n, inner_activation_fn=act, expansion_transform=se, **kwargs)


def mbv3_fused(ef, n, k, s=1, **kwargs) -> lib.Op:
    """A fused v3 block (EdgeTPU): a full ``k`` x ``k`` conv of stride ``s``
    as the expansion, no depthwise, then the 1x1 projection.

        >>> mbv3_fused(ef=8, n=32, k=3, s=2).params['depthwise_location'] is None
        True
    """
    expansion_fn = functools.partial(conv2d, kernel_size=k, stride=s)
    return mbv3_op(ef, n, k=1, s=s, depthwise_location=None, expansion_fn=expansion_fn,
                   **kwargs)


mbv3_op_se = functools.partial(mbv3_op, se=_se4)
""":func:`mbv3_op` with squeeze-excite."""

DEFAULTS = {
    (expanded_conv,): {"normalizer_fn": batch_norm, "residual": True},
    (conv2d, fully_connected, separable_conv2d): {
        "normalizer_fn": batch_norm, "activation_fn": F.relu,
    },
    (batch_norm,): {"center": True, "scale": True},
}
"""v3's arg_scope defaults: batch norm with gamma and ReLU everywhere."""

DEFAULTS_GROUP_NORM = {
    (expanded_conv,): {"normalizer_fn": group_norm, "residual": True},
    (conv2d, fully_connected, separable_conv2d): {
        "normalizer_fn": group_norm, "activation_fn": F.relu,
    },
    (group_norm,): {"groups": 8},
}
"""The same with group norm (8 groups), for ``use_groupnorm=True``."""

V3_LARGE = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(conv2d, stride=2, num_outputs=16, kernel_size=(3, 3), activation_fn=hard_swish),
        mbv3_op(ef=1, n=16, k=3),
        mbv3_op(ef=4, n=24, k=3, s=2),
        mbv3_op(ef=3, n=24, k=3, s=1),
        mbv3_op_se(ef=3, n=40, k=5, s=2),
        mbv3_op_se(ef=3, n=40, k=5, s=1),
        mbv3_op_se(ef=3, n=40, k=5, s=1),
        mbv3_op(ef=6, n=80, k=3, s=2, act=hard_swish),
        mbv3_op(ef=2.5, n=80, k=3, s=1, act=hard_swish),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1, act=hard_swish),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=112, k=3, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=112, k=3, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=160, k=5, s=2, act=hard_swish),
        mbv3_op_se(ef=6, n=160, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=160, k=5, s=1, act=hard_swish),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=960, activation_fn=hard_swish),
        op(reduce_to_1x1, default_size=7, stride=1, padding="VALID"),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280, normalizer_fn=None,
           activation_fn=hard_swish),
    ],
)
"""MobileNet v3 large (the paper's Table 1)."""

V3_LARGE_MINIMALISTIC = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(conv2d, stride=2, num_outputs=16, kernel_size=(3, 3)),
        mbv3_op(ef=1, n=16, k=3),
        mbv3_op(ef=4, n=24, k=3, s=2),
        mbv3_op(ef=3, n=24, k=3, s=1),
        mbv3_op(ef=3, n=40, k=3, s=2),
        mbv3_op(ef=3, n=40, k=3, s=1),
        mbv3_op(ef=3, n=40, k=3, s=1),
        mbv3_op(ef=6, n=80, k=3, s=2),
        mbv3_op(ef=2.5, n=80, k=3, s=1),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1),
        mbv3_op(ef=184 / 80., n=80, k=3, s=1),
        mbv3_op(ef=6, n=112, k=3, s=1),
        mbv3_op(ef=6, n=112, k=3, s=1),
        mbv3_op(ef=6, n=160, k=3, s=2),
        mbv3_op(ef=6, n=160, k=3, s=1),
        mbv3_op(ef=6, n=160, k=3, s=1),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=960),
        op(reduce_to_1x1, default_size=7, stride=1, padding="VALID"),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280, normalizer_fn=None),
    ],
)
"""v3 large without squeeze-excite, hard-swish or 5x5 kernels."""

V3_SMALL = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(conv2d, stride=2, num_outputs=16, kernel_size=(3, 3), activation_fn=hard_swish),
        mbv3_op_se(ef=1, n=16, k=3, s=2),
        mbv3_op(ef=72. / 16, n=24, k=3, s=2),
        mbv3_op(ef=88. / 24, n=24, k=3, s=1),
        mbv3_op_se(ef=4, n=40, k=5, s=2, act=hard_swish),
        mbv3_op_se(ef=6, n=40, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=40, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=3, n=48, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=3, n=48, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=96, k=5, s=2, act=hard_swish),
        mbv3_op_se(ef=6, n=96, k=5, s=1, act=hard_swish),
        mbv3_op_se(ef=6, n=96, k=5, s=1, act=hard_swish),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=576, activation_fn=hard_swish),
        op(reduce_to_1x1, default_size=7, stride=1, padding="VALID"),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=1024, normalizer_fn=None,
           activation_fn=hard_swish),
    ],
)
"""MobileNet v3 small (the paper's Table 2)."""

V3_SMALL_MINIMALISTIC = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(conv2d, stride=2, num_outputs=16, kernel_size=(3, 3)),
        mbv3_op(ef=1, n=16, k=3, s=2),
        mbv3_op(ef=72. / 16, n=24, k=3, s=2),
        mbv3_op(ef=88. / 24, n=24, k=3, s=1),
        mbv3_op(ef=4, n=40, k=3, s=2),
        mbv3_op(ef=6, n=40, k=3, s=1),
        mbv3_op(ef=6, n=40, k=3, s=1),
        mbv3_op(ef=3, n=48, k=3, s=1),
        mbv3_op(ef=3, n=48, k=3, s=1),
        mbv3_op(ef=6, n=96, k=3, s=2),
        mbv3_op(ef=6, n=96, k=3, s=1),
        mbv3_op(ef=6, n=96, k=3, s=1),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=576),
        op(reduce_to_1x1, default_size=7, stride=1, padding="VALID"),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=1024, normalizer_fn=None),
    ],
)
"""v3 small without squeeze-excite, hard-swish or 5x5 kernels."""

V3_EDGETPU = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(conv2d, stride=2, num_outputs=32, kernel_size=(3, 3)),
        mbv3_fused(k=3, s=1, ef=1, n=16),
        mbv3_fused(k=3, s=2, ef=8, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=2, ef=8, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_op(k=3, s=2, ef=8, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=8, n=96, residual=False),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=5, s=2, ef=8, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=3, s=1, ef=8, n=192),
        op(conv2d, stride=1, num_outputs=1280, kernel_size=(1, 1)),
    ],
)
"""MobileNet EdgeTPU: fused convolutions instead of depthwise ones early on."""


def _keep_depth(params, multiplier):
    """A ``multiplier_func`` that leaves the layer's depth alone."""
    return params


@add_arg_scope
def mobilenet(input_tensor: torch.Tensor, num_classes=1001, depth_multiplier: float = 1.0,
              scope: str = "MobilenetV3", conv_defs=None,
              finegrain_classification_mode: bool = False, use_groupnorm: bool = False,
              **kwargs):
    """MobileNet v3 for classification (:data:`V3_LARGE` by default).

    Args:
        input_tensor: ``[N, 3, H, W]`` (224x224 for the released checkpoints).
        num_classes: number of classes; 0 or None returns the pooled
            features ``[N, C, 1, 1]``.
        depth_multiplier: scales every layer's channels (rounded to
            multiples of 8).
        scope: variable scope.
        conv_defs: the op table (``V3_LARGE``, ``V3_SMALL``, ``V3_EDGETPU``,
            ...); None means :data:`V3_LARGE`.
        finegrain_classification_mode: the last layer keeps its depth
            whatever the multiplier (ignored if ``final_endpoint`` stops
            earlier).
        use_groupnorm: group norm instead of batch norm (``groups=``, default
            8, may come with the other ``kwargs``).
        **kwargs: to :func:`slimtorch.nets.mobilenet_blocks.mobilenet`:
            ``prediction_fn``, ``reuse``, ``base_only``, ``final_endpoint``,
            ``output_stride``, ``use_explicit_padding``, ``is_training``,
            ``use_reduce_mean_for_pooling``.

    Returns:
        ``(logits, end_points)``.

    Raises:
        ValueError: ``multiplier`` is given (use ``depth_multiplier``), or as
            ``mobilenet_blocks.mobilenet``.

    Example:
        >>> logits, end_points = mobilenet(torch.zeros(1, 3, 64, 64), num_classes=4,
        ...                                conv_defs=V3_SMALL)
        >>> logits.shape, end_points['layer_15'].shape
        (torch.Size([1, 4]), torch.Size([1, 1024, 1, 1]))
    """
    if conv_defs is None:
        conv_defs = V3_LARGE
    if "multiplier" in kwargs:
        raise ValueError("mobilenetv2 doesn't support generic multiplier parameter use "
                         "\"depth_multiplier\" instead.")
    if use_groupnorm:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["defaults"] = dict(DEFAULTS_GROUP_NORM)
        conv_defs["defaults"][(group_norm,)] = {"groups": kwargs.pop("groups", 8)}
    if finegrain_classification_mode:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["spec"][-1] = conv_defs["spec"][-1]._replace(multiplier_func=_keep_depth)
    return lib.mobilenet(input_tensor, num_classes=num_classes, conv_defs=conv_defs, scope=scope,
                         multiplier=depth_multiplier, **kwargs)


mobilenet.default_image_size = 224
mobilenet.input_channels = 3
mobilenet.min_image_size = 1   # SAME everywhere; the pools cover square maps whole


@add_arg_scope
def mobilenet_base(input_tensor: torch.Tensor, depth_multiplier: float = 1.0, **kwargs):
    """MobileNet v3 without pooling and logits: ``(net, end_points)``.
    ``kwargs`` as :func:`mobilenet`.

    Example:
        >>> net, end_points = mobilenet_base(torch.zeros(2, 3, 32, 32), conv_defs=V3_SMALL)
        >>> net.shape
        torch.Size([2, 1024, 1, 1])
    """
    return mobilenet(input_tensor, depth_multiplier=depth_multiplier, base_only=True, **kwargs)


def _variant(table: dict, table_name: str, **kwargs):
    """``mobilenet`` with ``conv_defs=table`` and ``kwargs`` as new defaults
    (a call may still override any of them, ``scope`` included), its
    docstring naming the table rather than printing it."""
    fn = wrapped_partial(mobilenet, conv_defs=table, **kwargs)
    settings = ", ".join([f"conv_defs={table_name}"] + [f"{k}={v!r}" for k, v in kwargs.items()])
    fn.__doc__ = f"``mobilenet`` with {settings}; see :func:`mobilenet`."
    return fn


large = _variant(V3_LARGE, "V3_LARGE")
small = _variant(V3_SMALL, "V3_SMALL")
edge_tpu = _variant(V3_EDGETPU, "V3_EDGETPU", scope="MobilenetEdgeTPU")
edge_tpu_075 = _variant(V3_EDGETPU, "V3_EDGETPU", scope="MobilenetEdgeTPU", depth_multiplier=0.75,
                        finegrain_classification_mode=True)
large_minimalistic = _variant(V3_LARGE_MINIMALISTIC, "V3_LARGE_MINIMALISTIC")
small_minimalistic = _variant(V3_SMALL_MINIMALISTIC, "V3_SMALL_MINIMALISTIC")


def _reduce_consecutive_layers(conv_defs: dict, start_id: int, end_id: int,
                               multiplier: float = 0.5) -> dict:
    """A copy of ``conv_defs`` whose layers ``start_id..end_id`` (0-based,
    inclusive) have ``num_outputs`` scaled by ``multiplier`` and rounded.

    Raises:
        KeyError: a layer in the range has no ``num_outputs``.
    """
    defs = copy.deepcopy(conv_defs)
    for d in defs["spec"][start_id:end_id + 1]:
        d.params.update({"num_outputs": int(np.round(d.params["num_outputs"] * multiplier))})
    return defs


V3_LARGE_DETECTION = _reduce_consecutive_layers(V3_LARGE, 13, 16)
"""V3_LARGE with layers 14-17 halved, for detection backbones."""
V3_SMALL_DETECTION = _reduce_consecutive_layers(V3_SMALL, 9, 12)
"""V3_SMALL with layers 10-13 halved, for detection backbones."""
