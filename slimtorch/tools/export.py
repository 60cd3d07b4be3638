"""Export a net for deployment: research/slim's ``export_inference_graph.py``
and ``freeze_graph`` in one step, as a ``torch.export`` program (``pt2``), an
ONNX model or TorchScript.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'lenet.pt2')
    >>> info = export('lenet', path, num_classes=10, labels=['zero', 'one', 'two', 'three',
    ...               'four', 'five', 'six', 'seven', 'eight', 'nine'])
    >>> info.input_name, info.output_names, info.input_shape
    ('input', ('LeNet/fc4/BiasAdd', 'Predictions/Reshape_1'), (None, 1, 28, 28))
    >>> program = torch.export.load(path).module()
    >>> outputs = program(torch.zeros(3, 1, 28, 28))     # any batch size
    >>> outputs['Predictions/Reshape_1'].shape, load_labels(path)[2]
    (torch.Size([3, 10]), 'two')

**Names.** The input is ``input`` (research/slim's placeholder). The outputs
are the logits and the predictions (softmax), named after the op that
research/slim's graph gives each, the names its users pass to
``freeze_graph --output_node_names`` and ``label_image --output_layer``
(:func:`graph_names`): ``InceptionV3/Logits/SpatialSqueeze`` and
``InceptionV3/Predictions/Reshape_1``, ``vgg_16/fc8/squeezed``,
``resnet_v1_50/predictions/Reshape_1``, ``MobilenetV2/Logits/output``,
``final_layer/predictions`` (NASNet, PNASNet)... TF-Slim's ``slim.softmax``
makes ``<scope>/Reshape_1`` and ``tf.nn.softmax(name=...)`` the name itself,
so each net keeps its own spelling (``InceptionV4/Logits/Predictions``).
research/slim's alexnet_v2, overfeat and VGG end at their logits; slimtorch
adds their predictions as ``<net>/Predictions/Reshape_1``, the name
``slim.softmax(logits, scope='Predictions')`` would give. A pt2 or
TorchScript program returns ``{name: tensor}``; an ONNX model has outputs of
those names. Other ``slim.Model`` s get ``logits`` and ``predictions`` (or
``output`` for a model that returns one tensor) unless ``output_names``
says otherwise.

**Labels.** With ``labels`` the file carries the class names (by output
index: ``labels_offset`` is applied) as research/slim's ``labels.txt``
(``id:name`` lines): pt2 and TorchScript hold it as the extra file
``labels.txt``, ONNX as the ``labels.txt`` entry of ``metadata_props``.
:func:`load_labels` reads it back from any of the three without running the
model; :func:`export_info` reads everything the exporter recorded.

ONNX needs the optional packages onnx, onnxscript and onnxruntime
(``pip install "slimtorch[onnx]"``); onnxruntime checks the exported model.

**Precision** (:data:`PRECISION_FORMATS`). ``precision='bf16'`` writes the
net with bfloat16 weights (half the file) that takes and returns float32:
the input is cast to bfloat16 inside, every op runs in bfloat16, the
outputs are cast back (pt2, TorchScript; onnxruntime has no bfloat16
convolutions on the CPU). ``precision='int8'`` writes the PT2E-quantized
program (pt2 only): int8 weights, ``quantize`` / ``dequantize`` ops around
float ones, calibrated on ``calibration_batches`` (see
:mod:`slimtorch.precision`); it runs as it is (in float, with int8
rounding), and ``torch.compile`` with inductor's freezing or torchao's
``lower_pt2e_quantized_to_x86`` turn it into int8 kernels. Its ``quantize``
/ ``dequantize`` ops are registered by ``import torchao`` (or ``import
torch.ao.quantization.fx._decomposed``): do that before
``torch.export.load``. Either precision is checked against the same model
run eagerly.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import logging
import os
import warnings
import zipfile
from typing import Optional, Sequence, Union

import torch
from torch import nn

from .._io.atomic import atomic_path, atomic_write
from ..checkpoint import assign_from_checkpoint
from ..graph import Graph
from ..model import Model
from ..nets import nets_factory

__all__ = ["FORMATS", "PRECISION_FORMATS", "ExportInfo", "export", "export_info", "graph_names",
           "load_labels", "named_outputs"]

logger = logging.getLogger(__name__)

#: The formats :func:`export` writes, and the file endings that pick each.
FORMATS = {"pt2": (".pt2",), "onnx": (".onnx",), "torchscript": (".pt", ".ts", ".torchscript", ".jit")}
ONNX_EXTRA = 'pip install "slimtorch[onnx]"'
#: The formats each precision is written in.
PRECISION_FORMATS = {"fp32": tuple(FORMATS), "bf16": ("pt2", "torchscript"), "int8": ("pt2",)}
_LABELS, _INFO = "labels.txt", "slimtorch_export.json"
# How far an export may be from eager, relative to the largest eager output
# (at least 1). pt2 and TorchScript run torch's own kernels. onnxruntime's
# round differently: on deep nets their float32 results differ from eager's
# by about 1e-5 though both are as close to a float64 run (6e-6 on
# mobilenet_v2_140), so its check allows 1e-4 (tests/test_export_zoo.py
# holds it to eager's own float32 error).
_TOLERANCE = {"pt2": 1e-5, "torchscript": 1e-5, "onnx": 1e-4}

# research/slim's graph names of each net's logits and predictions (see the
# module docstring); '{}' is the net's scope. Its nets read:
# alexnet/overfeat/vgg: tf.squeeze(name='fc8/squeezed') (no predictions);
# cifarnet, lenet: fully_connected 'logits' / 'fc4', then slim.softmax(scope=
# 'Predictions'), LeNet's outside its variable scope; inception_v1 and the
# video nets (built in 'InceptionV1') put 'Predictions' inside 'Logits',
# inception_v2/v3 and mobilenet_v1 beside it; inception_v4 and
# inception_resnet_v2 use tf.nn.softmax(name='Predictions') inside 'Logits';
# resnets tf.squeeze(name='SpatialSqueeze') and slim.softmax('predictions');
# mobilenet v2/v3 tf.identity(name='output') in 'Logits'; (p)nasnet
# fully_connected (scope FC) and tf.nn.softmax(name='predictions') in 'final_layer'.
_SQUEEZED = ("{}/fc8/squeezed", "{}/Predictions/Reshape_1")
_INCEPTION_IN_LOGITS = ("{}/Logits/SpatialSqueeze", "{}/Logits/Predictions/Reshape_1")
_SQUEEZE_BESIDE = ("{}/Logits/SpatialSqueeze", "{}/Predictions/Reshape_1")
_NASNET = ("final_layer/FC/BiasAdd", "final_layer/predictions")
_FAMILIES = {
    "alexnet_v2": ("alexnet_v2", _SQUEEZED), "overfeat": ("overfeat", _SQUEEZED),
    "vgg_a": ("vgg_a", _SQUEEZED), "vgg_16": ("vgg_16", _SQUEEZED), "vgg_19": ("vgg_19", _SQUEEZED),
    "cifarnet": ("CifarNet", ("{}/logits/BiasAdd", "{}/Predictions/Reshape_1")),
    "lenet": ("LeNet", ("{}/fc4/BiasAdd", "Predictions/Reshape_1")),
    "inception_v1": ("InceptionV1", _INCEPTION_IN_LOGITS),
    "i3d": ("InceptionV1", _INCEPTION_IN_LOGITS), "s3dg": ("InceptionV1", _INCEPTION_IN_LOGITS),
    "inception_v2": ("InceptionV2", _SQUEEZE_BESIDE), "inception_v3": ("InceptionV3", _SQUEEZE_BESIDE),
    "inception_v4": ("InceptionV4", ("{}/Logits/Logits/BiasAdd", "{}/Logits/Predictions")),
    "inception_resnet_v2": ("InceptionResnetV2", ("{}/Logits/Logits/BiasAdd", "{}/Logits/Predictions")),
    **{f"resnet_v{v}_{d}": (f"resnet_v{v}_{d}", ("{}/SpatialSqueeze", "{}/predictions/Reshape_1"))
       for v in (1, 2) for d in (50, 101, 152, 200)},
    **{name: ("MobilenetV1", _SQUEEZE_BESIDE) for name in (
        "mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025")},
    **{name: ("MobilenetV2", ("{}/Logits/output", "{}/Predictions/Reshape_1")) for name in (
        "mobilenet_v2", "mobilenet_v2_140", "mobilenet_v2_035")},
    **{name: ("MobilenetV3", ("{}/Logits/output", "{}/Predictions/Reshape_1")) for name in (
        "mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v3_small_minimalistic",
        "mobilenet_v3_large_minimalistic")},
    **{name: ("MobilenetEdgeTPU", ("{}/Logits/output", "{}/Predictions/Reshape_1")) for name in (
        "mobilenet_edgetpu", "mobilenet_edgetpu_075")},
    **{name: ("", _NASNET) for name in (
        "nasnet_cifar", "nasnet_mobile", "nasnet_large", "pnasnet_mobile", "pnasnet_large")},
}


def graph_names(model_name: str) -> tuple:
    """``(logits name, predictions name)`` of zoo net ``model_name``: the ops
    research/slim's graph computes them in (see the module docstring).

        >>> graph_names('inception_v3')
        ('InceptionV3/Logits/SpatialSqueeze', 'InceptionV3/Predictions/Reshape_1')
        >>> graph_names('vgg_16')[0], graph_names('nasnet_mobile')[1]
        ('vgg_16/fc8/squeezed', 'final_layer/predictions')
    """
    if model_name not in _FAMILIES:
        nets_factory.input_channels(model_name)   # the factory's error for an unknown name
    scope, names = _FAMILIES[model_name]
    return tuple(name.format(scope) for name in names)


@dataclasses.dataclass(frozen=True)
class ExportInfo:
    """What :func:`export` wrote (and :func:`export_info` reads back).

    Attributes:
        path: the file.
        format: ``'pt2'``, ``'onnx'`` or ``'torchscript'``.
        input_name: ``'input'``.
        input_shape: ``(N, C, H, W)`` (``(N, C, T, H, W)`` for a video net),
            N None for a dynamic batch.
        output_names: the outputs, in order (logits first).
        model_name: the zoo net's name ('' for another model).
        labels: ``{output index: class name}``, or None.
        max_difference: the largest difference of the exported program's
            outputs from eager's on the example batch, relative to the largest
            eager output (None: not checked, e.g. ONNX without onnxruntime).
        precision: ``'fp32'``, ``'bf16'`` or ``'int8'``.
    """

    path: str
    format: str
    input_name: str
    input_shape: tuple
    output_names: tuple
    model_name: str = ""
    labels: Optional[dict] = None
    max_difference: Optional[float] = None
    precision: str = "fp32"


def export(model: Union[str, nn.Module], output_file: str, format: Optional[str] = None, *,
           num_classes: Optional[int] = None, checkpoint_path: Optional[str] = None,
           image_size: Optional[int] = None, batch_size: Optional[int] = None,
           num_frames: Optional[int] = None, input_shape: Optional[Sequence[int]] = None,
           labels=None, labels_offset: int = 0, output_names: Optional[Sequence[str]] = None,
           is_training: bool = False, check: bool = True, precision: str = "fp32",
           calibration_batches=None) -> ExportInfo:
    """Writes ``model`` with its weights baked in to ``output_file``.

    Args:
        model: a zoo net's name (``'inception_v3'``; then ``num_classes`` is
            needed), a :class:`~slimtorch.nets.nets_factory.NetworkFn`, or any
            ``slim.Model`` / ``nn.Module`` taking one image batch.
        output_file: where to write (atomically).
        format: ``'pt2'`` (``torch.export``; load with ``torch.export.load``),
            ``'onnx'`` (``torch.onnx``'s dynamo exporter) or ``'torchscript'``
            (``torch.jit.trace``; load with ``torch.jit.load``). Default: from
            ``output_file``'s ending (:data:`FORMATS`), else pt2.
        num_classes: the logits width of a zoo net given by name.
        checkpoint_path: weights to restore first (a file, a TF prefix or a
            directory's latest checkpoint: anything
            ``slim.assign_from_checkpoint`` reads, TF's included).
        image_size: height and width (default: the net's ``default_image_size``).
        batch_size: a fixed batch size; None (default) exports a dynamic one.
        num_frames: clip length of a video net (i3d, s3dg; default: its own).
        input_shape: the full input shape of a model that is not a zoo net
            (its batch size is the example's; ``batch_size`` still decides
            whether the export's is fixed).
        labels: class names: a ``labels.txt`` path, ``{label id: name}`` (ids
            shifted by ``labels_offset``) or a list by output index.
        labels_offset: research/slim's: output ``i`` is label ``i + labels_offset``.
        output_names: overrides the output names (see the module docstring).
        is_training: export the training-mode net (batch statistics,
            dropout), as research/slim's ``--is_training``; not checked
            against eager then.
        check: run the export on an example batch and compare it with eager
            (at most 1e-5 of the largest output apart, 1e-4 for onnxruntime,
            whose kernels round differently; else ``ValueError``).
        precision: ``'fp32'``, ``'bf16'`` or ``'int8'`` (see the module
            docstring; :data:`PRECISION_FORMATS` lists the formats of each).
        calibration_batches: int8: image batches to calibrate on (required).

    Returns:
        an :class:`ExportInfo`.

    Raises:
        ValueError: a bad argument, labels that do not fit the classes, or an
            export whose outputs differ from eager's.
        ImportError: ONNX without its packages (the message names the extra).
    """
    format = _format(format, output_file)
    _check_precision(precision, format, is_training)
    if format == "onnx":
        _require_onnx()
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"export: batch_size must be at least 1 (or None for a dynamic batch), "
                         f"not {batch_size}")
    # A net built here from its name leaves the caller's default graph alone.
    with Graph() if isinstance(model, str) else contextlib.nullcontext():
        net, shape, name = _prepare(model, num_classes, image_size, num_frames, input_shape,
                                    batch_size)
        if checkpoint_path is not None:
            report = assign_from_checkpoint(checkpoint_path, net)
            logger.info("restored %d variables from %s", len(report.assigned), checkpoint_path)
        elif isinstance(model, str):
            logger.warning("export: no checkpoint_path: %s keeps its initial (random) weights",
                           name)
    if net is model and (is_training or _off_cpu(net)):
        # The caller's model stays as it was: exports run on the CPU, and a
        # training-mode trace would update its batch-norm statistics.
        net = copy.deepcopy(net).cpu()
    was_training = net.training
    try:
        net.eval()
        wrapper = _Outputs(net, _output_names(net, name, output_names, shape))
        example = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        wrapper = _at_precision(wrapper, precision, calibration_batches)
        with torch.no_grad():
            expected = wrapper(example)
        names_by_index = _labels(labels, labels_offset, expected)
        info = ExportInfo(os.fspath(output_file), format, "input",
                          (batch_size,) + tuple(shape[1:]), tuple(expected), name, names_by_index,
                          precision=precision)
        extra = {_INFO: json.dumps(_describe(info, labels_offset), indent=1)}
        if names_by_index is not None:
            extra[_LABELS] = "".join(f"{i}:{label}\n" for i, label in names_by_index.items())
        dynamic = batch_size is None
        _WRITERS[format](wrapper.train(is_training), example, info.path, extra, dynamic)
    finally:
        net.train(was_training)
    difference = None
    if check and not is_training:
        difference = _compare(info, expected, example, dynamic)
    logger.info("exported %s to %s (%s)", name or type(model).__name__, info.path, format)
    return dataclasses.replace(info, max_difference=difference)


def load_labels(path: str) -> Optional[dict]:
    """``{output index: class name}`` from a file :func:`export` wrote with
    labels, or None; the model is not loaded or run. (ONNX files need the
    ``onnx`` package.)"""
    text = _read_extra(path, _LABELS)
    if text is None:
        return None
    return {int(key): name for key, _, name in (line.partition(":") for line in text.splitlines()
                                                  if line)}


def export_info(path: str) -> ExportInfo:
    """What :func:`export` recorded in ``path``: an :class:`ExportInfo`
    (``max_difference`` None).

    Raises:
        ValueError: ``path`` was not written by :func:`export`.
    """
    text = _read_extra(path, _INFO)
    if text is None:
        raise ValueError(f"{path} was not written by slimtorch's export (it has no {_INFO}); "
                         "export it with `slimtorch export`")
    data = json.loads(text)
    return ExportInfo(os.fspath(path), data["format"], data["input_name"],
                      tuple(data["input_shape"]), tuple(data["output_names"]), data["model_name"],
                      load_labels(path), precision=data.get("precision", "fp32"))


# -- building -----------------------------------------------------------------------------------
def _format(format: Optional[str], output_file) -> str:
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"export: format {format!r} is not one of {', '.join(FORMATS)}")
        return format
    ending = os.path.splitext(os.fspath(output_file))[1].lower()
    for name, endings in FORMATS.items():
        if ending in endings:
            return name
    return "pt2"


def _prepare(model, num_classes, image_size, num_frames, input_shape, batch_size):
    """``(built module, example shape, zoo name or '')``."""
    example_batch = batch_size or 2   # 2: torch.export treats a size-1 dim as a constant
    if isinstance(model, str):
        if not num_classes:
            raise ValueError(f"export: {model} needs num_classes (the logits width), e.g. "
                             "num_classes=1001 for research/slim's ImageNet checkpoints")
        model = nets_factory.get_network_fn(model, num_classes)
    if isinstance(model, nets_factory.NetworkFn):
        if not model.num_classes:
            raise ValueError(f"export: {model.name} was made with num_classes={model.num_classes}; "
                             "export a classifier (num_classes > 0)")
        if input_shape is not None:
            raise ValueError("export: input_shape is for models that are not zoo nets; for "
                             f"{model.name} use image_size (and num_frames for video nets)")
        shape = model.input_shape(example_batch, image_size, num_frames)
        name = model.name
    else:
        if input_shape is None:
            raise ValueError("export: pass input_shape (e.g. (1, 3, 224, 224)) for a model that "
                             "is not a zoo net")
        shape = (example_batch,) + tuple(input_shape[1:])
        name = ""
    if isinstance(model, Model) and not model.built:
        model.build(shape)
    return model, tuple(shape), name


def _check_precision(precision: str, format: str, is_training: bool) -> None:
    if precision not in PRECISION_FORMATS:
        raise ValueError(f"export: precision {precision!r} is not one of "
                         f"{', '.join(PRECISION_FORMATS)}")
    formats = PRECISION_FORMATS[precision]
    if format not in formats:
        raise ValueError(f"export: a {precision} model is written as {' or '.join(formats)} only, "
                         f"not {format}; pass format={formats[0]!r} (a .{formats[0]} file), or "
                         "precision='fp32'")
    if precision != "fp32" and is_training:
        raise ValueError(f"export: precision {precision!r} is for inference; leave is_training "
                         "out (or export it in fp32)")


def _at_precision(wrapper: "_Outputs", precision: str, calibration_batches) -> nn.Module:
    """``wrapper`` (the net's named outputs) at ``precision``: the module
    exported (see the module docstring)."""
    if precision == "bf16":
        return _Outputs(_Bfloat16(copy.deepcopy(wrapper.net).to(torch.bfloat16)), wrapper.names)
    if precision == "int8":
        from .. import precision as precisions
        from .._quantize import quantize_reference
        precisions._check_int8(torch.device("cpu"))
        images = [images.cpu() for images in precisions._calibration_images(calibration_batches)]
        return _Quantized(quantize_reference(wrapper.net, images, wrapper.names)[0])
    return wrapper


class _Quantized(nn.Module):
    """The converted int8 program as a module whose ``train()`` returns it
    (the program's own, patched by torchao, returns None)."""

    def __init__(self, program: nn.Module) -> None:
        super().__init__()
        self.program = program

    def forward(self, input: torch.Tensor) -> dict:
        return self.program(input)


class _Bfloat16(nn.Module):
    """A bfloat16 net taking and returning float32 (see the module docstring)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, input: torch.Tensor):
        result = self.net(input.to(torch.bfloat16))
        return torch.utils._pytree.tree_map(
            lambda t: t.float() if isinstance(t, torch.Tensor) and t.is_floating_point() else t,
            result)


def _off_cpu(net: nn.Module) -> bool:
    return any(t.device.type != "cpu" for t in [*net.parameters(), *net.buffers()])


def _output_names(net, name: str, given, shape) -> list:
    if given is not None:
        return list(given)
    if name:
        return list(graph_names(name))
    with torch.no_grad():
        single = isinstance(net(torch.zeros(shape)), torch.Tensor)
    return ["output"] if single else ["logits", "predictions"]


def named_outputs(net: nn.Module, names: Sequence[str]) -> nn.Module:
    """``net`` as the module :func:`export` writes: ``input -> {name:
    tensor}``, the logits and predictions (or the one tensor) under
    ``names`` (e.g. :func:`graph_names`); ``slimtorch.precision`` quantizes
    this same module."""
    return _Outputs(net, list(names))


class _Outputs(nn.Module):
    """``{name: tensor}`` from a net returning logits (and end points): the
    logits and the predictions (``end_points['Predictions']`` or
    ``['predictions']``, else the logits' softmax), or its one tensor."""

    def __init__(self, net: nn.Module, names: list) -> None:
        super().__init__()
        self.net, self.names = net, names

    def forward(self, input: torch.Tensor) -> dict:   # `input`: the exported input's name
        result = self.net(input)
        if isinstance(result, torch.Tensor):
            outputs = [result]
        else:
            logits, end_points = result[0], (result[1] if len(result) > 1 else {})
            predictions = end_points.get("Predictions", end_points.get("predictions"))
            outputs = [logits, predictions if predictions is not None else torch.softmax(logits, -1)]
        if len(outputs) != len(self.names):
            raise ValueError(f"export: the model has {len(outputs)} outputs but output_names "
                             f"names {len(self.names)}: {self.names}")
        return dict(zip(self.names, outputs))


def _labels(labels, offset: int, outputs: dict) -> Optional[dict]:
    """``{output index: name}`` for the last output's classes, or None."""
    if labels is None:
        return None
    classes = int(list(outputs.values())[-1].shape[-1])
    if isinstance(labels, (str, os.PathLike)):
        from ..data.dataset_utils import read_label_file
        source = os.fspath(labels)
        labels = read_label_file(os.path.dirname(source) or ".", os.path.basename(source))
    elif isinstance(labels, dict):
        source = "labels"
    else:
        source, labels, offset = "labels", dict(enumerate(labels)), 0
    wanted = range(offset, offset + classes)
    missing = [i for i in wanted if i not in labels]
    extra = sorted(i for i in labels if i >= offset + classes)   # those below: the offset's
    if missing or extra:
        detail = f"ids {missing[:3]}... missing" if missing else f"ids {extra[:3]}... beyond them"
        raise ValueError(f"{source}: {len(labels)} names do not fit the net's {classes} classes "
                         f"with labels_offset {offset} ({detail}); pass the labels.txt of the "
                         "dataset the net was trained on, and its --labels_offset")
    return {i - offset: str(labels[i]) for i in wanted}


def _describe(info: ExportInfo, labels_offset: int) -> dict:
    return {"format": info.format, "input_name": info.input_name,
            "input_shape": list(info.input_shape), "output_names": list(info.output_names),
            "model_name": info.model_name, "labels_offset": labels_offset,
            "precision": info.precision,
            "slimtorch_version": _version()}


def _version() -> str:
    from .._version import __version__
    return __version__


# -- writing -------------------------------------------------------------------------------------
def _batch_dim():
    return torch.export.Dim("batch", min=1)


def _write_pt2(wrapper, example, path: str, extra: dict, dynamic: bool) -> None:
    dynamic_shapes = ({0: _batch_dim()},) if dynamic else None
    program = torch.export.export(wrapper, (example,), dynamic_shapes=dynamic_shapes)
    with atomic_write(path) as f, warnings.catch_warnings():
        # Said of channels-last weights (zoo nets' default), which load fine on CPU and GPU.
        warnings.filterwarnings("ignore", message="No complete tensor found", category=UserWarning)
        torch.export.save(program, f, extra_files=extra)


def _write_torchscript(wrapper, example, path: str, extra: dict, dynamic: bool) -> None:
    with _torchscript_warnings():
        # Sizes the net reads off shapes (padding, shrunk kernels) become
        # constants: right, as H and W are fixed; the batch stays symbolic.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(wrapper, example, strict=False, check_trace=False)
        with atomic_write(path) as f:
            torch.jit.save(traced, f, _extra_files=extra)


@contextlib.contextmanager
def _torchscript_warnings():
    """Without torch's deprecation notice (torch >= 2.10) on every call: the
    caller asked for TorchScript."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit", category=FutureWarning)
        yield


def _write_onnx(wrapper, example, path: str, extra: dict, dynamic: bool) -> None:
    names = list(wrapper.names)
    dynamic_shapes = ({0: _batch_dim()},) if dynamic else None
    with _quiet_onnx():
        program = torch.onnx.export(wrapper, (example,), input_names=["input"], output_names=names,
                                    dynamic_shapes=dynamic_shapes, dynamo=True, verbose=False)
    _fold_weight_pads(program.model.graph)
    program.model.metadata_props.update(extra)
    with atomic_path(path) as tmp:
        program.save(tmp)


def _fold_weight_pads(graph) -> int:
    """Replaces each ``Pad`` of a constant (a kernel given a zero tap for TF's
    'SAME' padding, see ``layers.padding.same_pad_in_kernel``) by the padded
    constant; returns how many.

    onnxruntime (1.32) fuses a ``Pad`` into the ``Conv`` it feeds even when it
    pads the kernel rather than the image, and then refuses the model
    ("Node input 'pad_20' is not a graph input..."): NASNet, PNASNet.
    """
    import numpy as np
    import onnx_ir as ir

    folded = 0
    for node in list(graph):
        if node.op_type != "Pad" or node.domain not in ("", "ai.onnx"):
            continue
        data, pads, *rest = [*node.inputs, None, None][:4]
        mode = node.attributes.get("mode")
        constants = [ir.convenience.get_const_tensor(v) if v is not None else None
                     for v in (data, pads, rest[0])]
        if constants[0] is None or constants[1] is None or rest[1] is not None or \
                (mode is not None and mode.as_string() != "constant") or \
                (rest[0] is not None and constants[2] is None):
            continue
        array, widths = constants[0].numpy(), constants[1].numpy().astype(int)
        if (widths < 0).any():
            continue
        fill = constants[2].numpy().item() if constants[2] is not None else 0
        half = len(widths) // 2
        padded = np.pad(array, list(zip(widths[:half], widths[half:])), constant_values=fill)
        if node.outputs[0].is_graph_output():
            continue   # an output of the model itself: left as it is
        value = ir.Value(name=node.outputs[0].name, const_value=ir.tensor(padded))
        ir.convenience.replace_all_uses_with(node.outputs[0], value)
        graph.remove(node, safe=True)
        graph.register_initializer(value)
        for used in (data, pads, rest[0]):   # the unpadded kernel, now unused
            if used is not None and used.is_initializer() and not used.uses() and \
                    not used.is_graph_input():
                graph.initializers.pop(used.name, None)
        folded += 1
    return folded


@contextlib.contextmanager
def _quiet_onnx():
    """The dynamo exporter prints its steps and onnxscript logs each rewrite
    at INFO; ``slimtorch export`` logs at INFO, so both would flood it."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for each, level in zip(loggers, levels):
            each.setLevel(level)


_WRITERS = {"pt2": _write_pt2, "torchscript": _write_torchscript, "onnx": _write_onnx}


def _require_onnx() -> None:
    import importlib.util
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"ONNX export needs {' and '.join(missing)} (not installed); "
                          f"install them with {ONNX_EXTRA}")


# -- checking and reading ------------------------------------------------------------------------
def _compare(info: ExportInfo, expected: dict, example: torch.Tensor, dynamic: bool):
    """The export's largest difference from eager (relative to the largest
    eager output, at least 1), on the example batch and, with a dynamic
    batch, on its first image alone."""
    runs = [(example, expected)]
    if dynamic:
        runs.append((example[:1], {k: v[:1] for k, v in expected.items()}))
    run = _runner(info)
    if run is None:
        return None
    worst = 0.0
    for inputs, wanted in runs:
        got = run(inputs)
        for name, want in wanted.items():
            have = torch.as_tensor(got[name]).reshape(want.shape)
            scale = max(1.0, float(want.abs().max()))
            worst = max(worst, float((have - want).abs().max()) / scale)
    if worst > _TOLERANCE[info.format]:
        raise ValueError(f"export: the {info.format} program's outputs differ from eager's by "
                         f"{worst:.2e} (relative; at most {_TOLERANCE[info.format]:.0e} allowed); "
                         "please report this with the model and format")
    return worst


def _runner(info: ExportInfo):
    """``run(batch) -> {name: output}`` for the written file; None where it
    cannot run here (ONNX without onnxruntime)."""
    if info.format == "pt2":
        module = torch.export.load(info.path).module()
        return lambda x: _no_grad(module, x)
    if info.format == "torchscript":
        with _torchscript_warnings():
            module = torch.jit.load(info.path)
        return lambda x: _no_grad(module, x)
    try:
        import onnxruntime
    except ImportError:
        logger.warning("export: onnxruntime is not installed, so %s is not checked against "
                       "eager; %s installs it", info.path, ONNX_EXTRA)
        return None
    session = onnxruntime.InferenceSession(info.path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return lambda x: dict(zip(names, map(torch.from_numpy, session.run(None, {"input": x.numpy()}))))


def _no_grad(module, x):
    with torch.no_grad():
        return module(x)


def _read_extra(path: str, name: str) -> Optional[str]:
    """The text ``export`` stored as ``name`` in ``path``, or None."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such exported model: {path}")
    if zipfile.is_zipfile(path):   # pt2 and TorchScript: <archive>/extra/<name>
        with zipfile.ZipFile(path) as archive:
            for entry in archive.namelist():
                parts = entry.split("/")
                if parts[-2:] == ["extra", name] and len(parts) == 3:
                    return archive.read(entry).decode("utf-8")
        return None
    try:
        import onnx
    except ImportError:
        raise ImportError(f"reading {path} (ONNX) needs the onnx package; install it with "
                          f"{ONNX_EXTRA}") from None
    try:
        proto = onnx.load(path, load_external_data=False)
    except Exception as error:   # protobuf's DecodeError and friends
        raise ValueError(f"{path} is neither a pt2 / TorchScript archive nor an ONNX model "
                         f"({error})") from None
    return {p.key: p.value for p in proto.metadata_props}.get(name)
