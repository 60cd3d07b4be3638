"""Reduced precision for inference, one switch: :func:`inference_model`.

A built net (a zoo net from ``nets_factory.get_network_fn`` or any
``slim.Model``) runs in float32; ``inference_model(net, 'bf16')`` runs the
same net under ``torch.autocast`` in bfloat16 (CPUs with AVX-512 BF16 or AMX,
and CUDA), and ``inference_model(net, 'int8', calibration_batches)``
quantizes it after training with PyTorch's current flow (PT2E, in the
``torchao`` package: ``torch.export``, ``X86InductorQuantizer``,
calibration, ``convert_pt2e``, lowered to oneDNN's int8 kernels). TF-Slim has
no such switch; research/slim's ``--quantize`` rewrote the graph for
quantization-aware training instead.

    >>> with slim.Graph():
    ...     net = slim.nets.nets_factory.get_network_fn('lenet', 10).build((2, 1, 28, 28))
    >>> x = torch.randn(2, 1, 28, 28)
    >>> inference_model(net) is net, net.training
    (True, False)
    >>> if cpu_bf16_supported():                       # AVX-512 BF16 or AMX
    ...     with torch.no_grad():
    ...         logits, end_points = inference_model(net, 'bf16')(x)
    ...     assert logits.dtype == torch.float32 and 'Predictions' in end_points
    >>> inference_model(net, 'fp16')
    Traceback (most recent call last):
    ValueError: precision 'fp16' is not one of fp32, bf16, int8

What each precision returns:

* ``'fp32'``: ``model`` itself, put in eval mode.
* ``'bf16'``: a module whose forward runs ``model`` under
  ``torch.autocast(device, torch.bfloat16)``; it returns what ``model``
  returns (``(logits, end_points)`` for a zoo net), every floating tensor
  cast back to float32. Weights stay float32 (autocast casts them per op),
  so a restore into ``model`` is seen at once.
* ``'int8'``: a module returning ``(logits, {key: predictions})`` for a net
  returning ``(logits, end_points)``, ``key`` being the net's own
  (``'Predictions'``, or ``'predictions'`` for the resnets) and the
  predictions the net's softmax; or the one tensor of a net returning one.
  The other end points are not kept: returning them from the quantized
  program would make every one of them a float32 copy of an int8
  activation. The module holds a quantized copy of the weights taken when
  it was made (later changes to ``model`` are not seen) and runs on the CPU
  only. Each new input shape (e.g. the smaller last batch of an eval) is
  lowered to oneDNN's kernels once, in a second or so.

The returned modules forward the net's attributes (``name``,
``default_image_size``, ``input_spec``, ...), so they stand in for the net
in ``slimtorch.tools.predict`` and in eval loops.
"""

from __future__ import annotations

from typing import Iterable, Optional

import torch
from torch import nn
from torch.utils import _pytree

__all__ = ["PRECISIONS", "UnsupportedPrecisionError", "check_precision", "cpu_bf16_supported",
           "cpu_int8_supported", "inference_model"]

#: The precisions :func:`inference_model` (and ``--precision``) take.
PRECISIONS = ("fp32", "bf16", "int8")
INT8_EXTRA = "pip install 'slimtorch[int8]'"


class UnsupportedPrecisionError(ValueError):
    """This machine (or device) cannot run the asked precision; the message
    says what is missing and the fix."""


def inference_model(model: nn.Module, precision: str = "fp32",
                    calibration_batches: Optional[Iterable] = None) -> nn.Module:
    """``model`` for inference at ``precision`` (see the module docstring).

    Args:
        model: a built net, on the device to run on (int8: the CPU); it is
            put in eval mode.
        precision: ``'fp32'``, ``'bf16'`` or ``'int8'``.
        calibration_batches: int8 only, required: an iterable of image
            batches (tensors, or ``(images, labels)`` pairs as a
            ``DataLoader`` of a slimtorch dataset yields) like those the
            model will see; the quantizer's observers record their ranges.
            A few batches (10 of a typical eval) are enough.

    Returns:
        a ``torch.nn.Module`` in eval mode; run it under ``torch.no_grad()``.

    Raises:
        ValueError: an unknown precision, or int8 without calibration batches.
        UnsupportedPrecisionError: hardware without support (the message
            names what is missing; fall back to ``'fp32'``).
        ImportError: int8 without the ``torchao`` package.
    """
    _check_name(precision)
    if not isinstance(model, nn.Module):
        raise TypeError(f"inference_model: model must be a torch.nn.Module (a built net), "
                        f"not {type(model).__name__}")
    model.eval()
    if precision == "fp32":
        return model
    device = _device_of(model)
    if precision == "bf16":
        _check_bf16(device)
        return _Autocast(model, device.type).eval()
    _check_int8(device)
    from ._quantize import quantize   # needs torchao: imported only for int8
    return quantize(model, _calibration_images(calibration_batches))


def check_precision(precision: str, device="cpu") -> None:
    """Fails early, before any work, where :func:`inference_model` would:
    an unknown ``precision``, a ``device`` without support, int8 without
    torchao.

        >>> check_precision('fp32', 'cpu')
        >>> check_precision('int4')
        Traceback (most recent call last):
        ValueError: precision 'int4' is not one of fp32, bf16, int8
    """
    _check_name(precision)
    device = torch.device(device)
    if precision == "bf16":
        _check_bf16(device)
    elif precision == "int8":
        _check_int8(device)
        from ._quantize import _torchao
        _torchao()


def _check_name(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")


# -- hardware checks (functions of their own, so tests can stand in for other machines) ----------
def cpu_bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 natively (AVX-512 BF16 or AMX), as
    oneDNN sees it."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cpu_int8_supported() -> bool:
    """Whether this CPU runs PT2E's x86 int8 kernels fast: PyTorch's ``x86``
    quantized engine and AVX-512 VNNI (or AMX)."""
    return ("x86" in torch.backends.quantized.supported_engines
            and bool(torch.cpu._is_vnni_supported() or torch.cpu._is_amx_tile_supported()))


def _check_bf16(device: torch.device) -> None:
    """Raises :class:`UnsupportedPrecisionError` unless ``device`` runs bf16."""
    if device.type == "cuda":
        if not torch.cuda.is_bf16_supported():
            raise UnsupportedPrecisionError(
                f"bf16 needs a GPU with bfloat16 support (compute capability 8.0+, e.g. A100); "
                f"{torch.cuda.get_device_name(device)} has none: use --precision=fp32")
    elif device.type == "cpu":
        if not cpu_bf16_supported():
            raise UnsupportedPrecisionError(
                "bf16 needs a CPU with AVX-512 BF16 or AMX (this one has "
                f"{torch.backends.cpu.get_cpu_capability()} only; emulated bf16 would be slower "
                "than float32): use --precision=fp32")
    else:
        raise UnsupportedPrecisionError(f"bf16 runs on the CPU and CUDA, not {device.type}: use "
                                        "--precision=fp32")


def _check_int8(device: torch.device) -> None:
    """Raises :class:`UnsupportedPrecisionError` unless ``device`` runs int8."""
    if device.type != "cpu":
        raise UnsupportedPrecisionError(
            f"int8 runs on the CPU only (PT2E's X86InductorQuantizer makes oneDNN kernels); "
            f"the model is on {device.type}: use --precision=bf16 there, or --device=cpu")
    if not cpu_int8_supported():
        raise UnsupportedPrecisionError(
            "int8 needs an x86 CPU with AVX-512 VNNI or AMX and PyTorch's x86 quantized engine "
            f"(engines here: {', '.join(torch.backends.quantized.supported_engines)}; CPU: "
            f"{torch.backends.cpu.get_cpu_capability()}): use --precision=fp32")


# -- helpers -------------------------------------------------------------------------------------
def _device_of(model: nn.Module) -> torch.device:
    tensor = next(iter([*model.parameters(), *model.buffers()]), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _calibration_images(batches) -> list:
    """The image tensors of ``batches`` (tensors or ``(images, labels)``),
    checked: int8's calibration data."""
    if batches is None:
        raise ValueError("int8 needs calibration_batches: a few batches of the data the model "
                         "will see (e.g. 10 batches of the eval set), to set the int8 ranges")
    images = []
    for batch in batches:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if not isinstance(batch, torch.Tensor) or not batch.is_floating_point():
            raise ValueError("calibration_batches must yield float image batches (or (images, "
                             f"labels) pairs), not {type(batch).__name__}")
        images.append(batch)
    if not images:
        raise ValueError("int8: calibration_batches yielded no batches; pass a few batches of "
                         "the data the model will see")
    return images


class _Forwarding(nn.Module):
    """A wrapper that answers for the wrapped net's attributes (``name``,
    ``default_image_size``, ``input_spec``...)."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            net = self._modules.get("net") or self.__dict__.get("_net_ref")
            if net is None or name.startswith("__"):
                raise
            return getattr(net, name)


class _Autocast(_Forwarding):
    """``net`` under ``torch.autocast(device_type, torch.bfloat16)``, its
    floating outputs cast back to float32."""

    def __init__(self, net: nn.Module, device_type: str) -> None:
        super().__init__()
        self.net, self.device_type = net, device_type

    def forward(self, *args, **kwargs):
        with torch.autocast(self.device_type, torch.bfloat16):
            result = self.net(*args, **kwargs)
        return _pytree.tree_map(_float32, result)


def _float32(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    return value
