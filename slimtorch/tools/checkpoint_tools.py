"""What ``slimtorch inspect``, ``convert`` and ``check`` do, as functions.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'c.safetensors')
    >>> save_checkpoint(path, {'fc/weights': torch.zeros(4, 3)}, global_step=5)
    >>> print(inspect_checkpoint(path))
    fc/weights  [4, 3]  float32
    1 tensors, 12 values, format slimtorch safetensors (torch layout), global step 5
"""

from __future__ import annotations

import numpy as np
import torch

from ..checkpoint.errors import CheckpointError
from ..checkpoint.readers import load_checkpoint
from ..checkpoint.safetensors_store import SafetensorsReader, save_checkpoint
from ..checkpoint.torch_file import TorchFileReader
from ..nets import nets_factory
from .compat import CompatibilityReport, compare_with_reader
from .torchvision_names import from_torchvision, torchvision_num_classes

__all__ = ["build_zoo_net", "check_checkpoint", "convert_checkpoint", "inspect_checkpoint"]


def _format_name(reader) -> str:
    if isinstance(reader, SafetensorsReader):
        kind = "slimtorch safetensors" if reader.metadata.get("format") == "slimtorch" else "safetensors"
    elif isinstance(reader, TorchFileReader):
        kind = "PyTorch state dict"
    else:
        kind = type(reader).__name__
    return f"{kind} ({reader.layout} layout)"


def _dtype_name(dtype) -> str:
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


def inspect_checkpoint(path) -> str:
    """One line per tensor (name, shape, dtype), then a summary line."""
    with load_checkpoint(path) as reader:
        shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
        width = max((len(n) for n in shapes), default=0)
        lines = [f"{name:{width}s}  {list(shape)}  {_dtype_name(dtypes[name])}"
                 for name, shape in sorted(shapes.items())]
        values = sum(int(np.prod(s, dtype=np.int64)) for s in shapes.values())
        summary = f"{len(shapes)} tensors, {values:,} values, format {_format_name(reader)}"
        step = getattr(reader, "global_step", None)
        if step is not None:
            summary += f", global step {step}"
    return "\n".join(lines + [summary])


def build_zoo_net(net: str, num_classes=None, reference=None):
    """Zoo net ``net`` built on the meta device. With ``num_classes=None`` the
    class count is read from ``reference`` ({name: shape}) if it holds the
    net's final logits biases, else 1000."""

    def build(classes):
        network_fn = nets_factory.get_network_fn(net, classes)
        size = network_fn.default_image_size
        return network_fn.build((1, network_fn.input_channels, size, size), device="meta")

    model = build(num_classes or 1000)
    if num_classes is None and reference:
        last = model.records()[-1].name   # every zoo net creates its logits biases last
        shape = reference.get(last)
        if shape is not None and len(shape) == 1 and shape[0] != 1000:
            model = build(int(shape[0]))
    return model


def convert_checkpoint(src, dst: str, net=None, num_classes=None, torchvision: bool = False,
                       moving_averages: bool = False, metadata=None) -> str:
    """Converts any supported checkpoint to a slimtorch safetensors file.

    Without ``net`` names and values are copied as they are (a TF file keeps
    TF layouts, tagged ``layout: tf``; restore converts them). With ``net`` the
    tensors are checked against that zoo net and stored in torch layouts;
    ``torchvision=True`` first maps torchvision's names onto the net's.
    ``moving_averages=True`` stores each variable's
    ``<name>/ExponentialMovingAverage`` shadow in its place where the file has
    one (what research/slim's eval restores with ``--moving_average_decay``,
    and what its reported accuracies of MobileNet and NASNet use).
    ``metadata`` adds string entries to the file's header.
    Returns the compatibility summary.

    Raises:
        CheckpointError: with ``net``, when the checkpoint does not fit it.
    """
    with load_checkpoint(src) as reader:
        tensors = {name: _torch(reader, name) for name in reader.get_variable_to_shape_map()}
        layout, step = reader.layout, getattr(reader, "global_step", None)
    if moving_averages:
        suffix = "/ExponentialMovingAverage"
        shadows = {name[:-len(suffix)]: name for name in tensors if name.endswith(suffix)}
        tensors = {name: tensors[shadows.get(name, name)] for name in tensors
                   if not name.endswith(suffix)}
    if net is None:
        if torchvision:
            raise CheckpointError("--torchvision needs --net (the zoo net to map names onto)")
        save_checkpoint(dst, tensors, step, {"layout": layout, **(metadata or {})})
        return f"{len(tensors)} tensors copied ({layout} layout)"
    if torchvision:
        model = build_zoo_net(net, num_classes or torchvision_num_classes(tensors))
        tensors = from_torchvision(tensors, net, list(model.named_variables()))
        layout = "torch"
    else:
        model = build_zoo_net(net, num_classes, {k: list(v.shape) for k, v in tensors.items()})
    records = {r.name: r for r in model.records()}
    converted = {}
    for name, tensor in tensors.items():
        record = records.get(name)
        converted[name] = record.layout.to_torch(tensor) if record and layout == "tf" else tensor
    report = compare_with_reader({n: r.tensor for n, r in records.items()}, _InMemory(converted))
    if report.missing or report.mismatched:
        # The first line says it all (the command prints only that on stderr);
        # the report below it lists the names.
        raise CheckpointError(f"{src} does not fit {net}: {len(report.missing)} missing, "
                              f"{len(report.mismatched)} mis-shaped; check --net and "
                              "--num-classes (and --torchvision for a torchvision file)\n"
                              f"{report.format()}")
    save_checkpoint(dst, {n: converted[n] for n in records}, step, {"net": net, **(metadata or {})})
    return report.format()


def check_checkpoint(net: str, path, num_classes=None) -> CompatibilityReport:
    """The compatibility report of checkpoint ``path`` against zoo net ``net``
    (``.format()`` it to print; it fits when ``missing`` and ``mismatched``
    are empty)."""
    with load_checkpoint(path) as reader:
        model = build_zoo_net(net, num_classes, reader.get_variable_to_shape_map())
        return compare_with_reader(model, reader)


def _torch(reader, name: str) -> torch.Tensor:
    if hasattr(reader, "get_torch_tensor"):
        return reader.get_torch_tensor(name)
    return torch.from_numpy(np.ascontiguousarray(reader.get_tensor(name)))


class _InMemory:
    """A reader over a dict, for checking converted tensors before writing."""

    layout = "torch"

    def __init__(self, tensors: dict) -> None:
        self._tensors = tensors
        self.path = "<converted>"

    def get_variable_to_shape_map(self) -> dict:
        return {k: list(v.shape) for k, v in self._tensors.items()}

    def has_tensor(self, name: str) -> bool:
        return name in self._tensors
