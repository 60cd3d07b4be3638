"""What every convolution family shares: data formats, argument checks, and
the channels-first module base that checks inputs and handles channels-last
tensors around ``linear``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence

import torch

from ._activation import activate
from ._fused import fused_normalize
from ._layer import Layer
from .padding import check_padding, static_padding

__all__ = ["ALL_FORMATS", "ChannelsFirstLayer", "ConvPlan", "DATA_FORMATS", "SPATIAL_NAMES", "as_tuple",
           "channels_last_format", "check_input", "check_num_outputs",
           "conv_geometry", "input_channels"]

#: Channels-last and channels-first names per number of spatial dimensions.
DATA_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}
ALL_FORMATS = (None, "NCW", "NWC", "NCHW", "NHWC", "NCDHW", "NDHWC")
SPATIAL_NAMES = {1: "W", 2: "H, W", 3: "D, H, W"}


# -- shared N-D helpers ------------------------------------------------------------
def channels_last_format(data_format, scope: str, dims: Optional[int] = None) -> bool:
    """True for a channels-last ``data_format``; raises on an unknown one.

    With ``dims`` only that dimensionality's two names (and None) are valid;
    without, any of TF-Slim's seven values, as ``slim.convolution`` takes them.
    """
    valid = DATA_FORMATS[dims][::-1] if dims else ALL_FORMATS[1:]
    if data_format is not None and data_format not in valid:
        names = " or ".join(map(repr, valid)) if dims else "one of " + ", ".join(map(repr, valid))
        raise ValueError(f"{scope}: data_format must be {names} (or None for channels-first), "
                         f"got {data_format!r}")
    return data_format is not None and not data_format.startswith("NC")


def as_tuple(value, n: int, what: str, scope: str, minimum: int = 1) -> tuple[int, ...]:
    """``3`` -> ``(3,) * n``; a sequence of ``n`` ints -> a tuple; checks ``>= minimum``.

    A size read off a tensor's shape counts as an int: ``torch.jit.trace``
    records ``x.shape[2]`` as a 0-d integer tensor, and TF-Slim nets size
    kernels from shapes (``min(H, 7)``, ``net.get_shape()[1:3]``).

        >>> as_tuple([torch.tensor(2), 3], 2, 'kernel_size', 'pool')
        (2, 3)
    """
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, Sequence) and len(value) == n and all(_is_int(v) for v in value):
        values = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{scope}: {what} must be an int or a sequence of {n} ints, "
                         f"got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{scope}: {what} must be >= {minimum}, got {value!r}")
    return values


def _is_int(value) -> bool:
    if isinstance(value, torch.Tensor):   # a traced size: 0-d and integral
        return value.dim() == 0 and not value.is_floating_point() and value.dtype != torch.bool
    return isinstance(value, int) and not isinstance(value, bool)


def check_num_outputs(num_outputs, scope: str) -> int:
    # A traced size counts (research/slim's inception_resnet_v2 reads a depth
    # off a shape), as in as_tuple.
    if not _is_int(num_outputs) or num_outputs <= 0:
        raise ValueError(f"{scope}: num_outputs must be a positive int, got {num_outputs!r}")
    return int(num_outputs)


def check_input(inputs, rank: int, scope: str, what: str) -> None:
    """Builder-time check that ``inputs`` is a tensor of ``rank``."""
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != rank:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{scope}: {what} expects a {rank}-D input, got {shape}")


class ConvPlan(NamedTuple):
    """The per-call settings of a (depthwise) convolution, validated."""
    stride: tuple
    padding: str
    rate: tuple
    static_padding: Optional[tuple]   # torch padding for every input size, or None
    channels_last: bool
    activation_fn: Optional[Callable]


def conv_geometry(path: str, kernel: tuple, stride, padding, rate, channels_last: bool,
                  activation_fn) -> ConvPlan:
    """Checks a convolution call's ``stride``/``padding``/``rate`` (naming
    ``path``) and makes its plan for the (checked) ``kernel``."""
    dims = len(kernel)
    strides = as_tuple(stride, dims, "stride", path)
    rates = as_tuple(rate, dims, "rate", path)
    if max(rates) > 1 and max(strides) > 1:
        raise ValueError(f"{path}: rate > 1 cannot be combined with stride > 1")
    padding = check_padding(padding, path)
    return ConvPlan(strides, padding, rates, static_padding(padding, kernel, strides, rates),
                    channels_last, activation_fn)


def input_channels(inputs: torch.Tensor, channels_last: bool) -> int:
    return int(inputs.shape[-1] if channels_last else inputs.shape[1])


class ChannelsFirstLayer(Layer):
    """Base of the N-D convolution modules: checks the input, moves a
    channels-last input's channels to axis 1 around ``linear``, activates.

    Subclasses set ``dims`` and ``in_channels``, make plans with
    ``channels_last`` and ``activation_fn`` fields (:class:`Layer`) and
    implement ``linear(inputs, plan)`` on channels-first tensors.
    """

    dims: int
    in_channels: int
    num_outputs: int
    kernel_size: tuple

    def check_variables_match(self, num_outputs: int, kernel_size, with_biases: bool) -> tuple:
        """A later call must ask for the depth, kernel and biases the
        variables were made with; returns its kernel size as a tuple."""
        check_num_outputs(num_outputs, self.scope_name)
        kernel = as_tuple(kernel_size, self.dims, "kernel_size", self.scope_name)
        if num_outputs != self.num_outputs:
            raise self.mismatch_error("num_outputs", num_outputs, self.num_outputs)
        if kernel != self.kernel_size:
            raise self.mismatch_error("kernel_size", kernel, self.kernel_size)
        self.check_biases(with_biases)
        return kernel

    def expected_shape(self, channels_last: bool) -> str:
        spatial = SPATIAL_NAMES[self.dims]
        if channels_last:
            return f"[N, {spatial}, {self.in_channels}] ({DATA_FORMATS[self.dims][0]})"
        return f"[N, {self.in_channels}, {spatial}] ({DATA_FORMATS[self.dims][1]})"

    def _channels_first(self, inputs: torch.Tensor, channels_last: bool) -> torch.Tensor:
        if inputs.dim() != self.dims + 2 or input_channels(inputs, channels_last) != \
                self.in_channels:
            raise self.shape_error(inputs, self.expected_shape(channels_last))
        return inputs.movedim(-1, 1) if channels_last else inputs

    @staticmethod
    def _restore(outputs: torch.Tensor, channels_last: bool) -> torch.Tensor:
        return outputs.movedim(1, -1) if channels_last else outputs

    def forward(self, inputs: torch.Tensor, plan=None) -> torch.Tensor:
        if plan is None:
            plan = self.default_plan
        channels_last = plan.channels_last
        outputs = self.activated_linear(self._channels_first(inputs, channels_last), plan,
                                        plan.activation_fn)
        return self._restore(outputs, channels_last)

    def activated_linear(self, inputs: torch.Tensor, plan, activation_fn) -> torch.Tensor:
        """``activation_fn(self.linear(inputs, plan))``; subclasses fuse the two
        in inference where they can."""
        return activate(self.linear(inputs, plan), activation_fn)

    def normalize(self, inputs, plan, normalizer_fn, normalizer_params, activation_fn):
        # The normalizer sees channels-first tensors, as after slim.conv2d. In
        # inference a batch norm is folded into the layer (layers/_fused.py).
        channels_last = plan.channels_last
        inputs = self._channels_first(inputs, channels_last)
        outputs = fused_normalize(self, inputs, plan, normalizer_fn, normalizer_params,
                                  activation_fn)
        if outputs is None:
            outputs = super().normalize(inputs, plan, normalizer_fn, normalizer_params,
                                        activation_fn)
        return self._restore(outputs, channels_last)
