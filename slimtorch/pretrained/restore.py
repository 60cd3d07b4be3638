"""Restoring registry weights into a net: strict, except where fine-tuning
needs otherwise.

:func:`load_pretrained` assigns every variable of the net from the converted
checkpoint (:func:`slimtorch.pretrained.pretrained_checkpoint`). A name the
checkpoint lacks, or a shape that differs for another reason than the class
count, fails the whole restore (nothing is assigned), so a wrong net or a
wrong registry entry can not pass unnoticed. Two differences are expected
and handled explicitly:

* **Another class count** (fine-tuning on flowers' 5 classes): the variables
  whose first (torch-layout) dimension is the class count — the logits, and
  Inception's auxiliary logits — are left out and reported; they keep their
  fresh initialization. research/slim's command line says the same with
  ``--checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits``.
* **The background class**: research/slim's Google-trained checkpoints have
  1001 outputs, output 0 being "background" (its ImageNet TFRecords label
  classes 1..1000). A net made with 1000 classes gets outputs 1..1000, so
  its output ``i`` is ImageNet class ``i`` of the 1000-class labelling
  (torchvision's). That is research/slim's ``--labels_offset=1``, done to the
  weights instead of the labels. (The other way, 1000 → 1001, is not a slice:
  those logits are left out like any other class count.)

Example, with a file standing in for a download (the registry's entries are
fetched the same way, by name):

    >>> import os, tempfile
    >>> from slimtorch.nets import nets_factory
    >>> with slim.Graph():
    ...     source = nets_factory.get_network_fn('lenet', 11).build((1, 1, 28, 28))
    ...     path = os.path.join(tempfile.mkdtemp(), 'lenet.safetensors')
    ...     slim.checkpoint.save_checkpoint(path, dict(source.named_variables()))
    ...     net = nets_factory.get_network_fn('lenet', 10).build((1, 1, 28, 28))
    ...     report = restore_from_file(net, path, checkpoint_classes=11, background=True)
    >>> report.offset, len(report.assigned)
    (True, 8)
    >>> torch.equal(net.LeNet.fc4.weights, source.LeNet.fc4.weights[1:])
    True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple, Optional, Sequence

import torch

from ..checkpoint.errors import CheckpointError
from ..checkpoint.readers import load_checkpoint
from .fetch import pretrained_checkpoint
from .registry import default_pretrained, get_pretrained

__all__ = ["PretrainedReport", "load_pretrained", "restore_from_file"]

logger = logging.getLogger(__name__)


class PretrainedReport(NamedTuple):
    """What :func:`load_pretrained` did."""

    name: Optional[str]   # the registry weights (None for restore_from_file)
    path: str             # the converted checkpoint
    assigned: list        # variable names assigned
    left_out: list        # (name, checkpoint shape, model shape): another class count
    offset: bool          # True when the background class (output 0) was dropped

    def __str__(self) -> str:
        text = f"restored {len(self.assigned)} variables from {self.name or self.path}"
        if self.offset:
            text += " (background class dropped: 1001 -> 1000 outputs)"
        if self.left_out:
            names = ", ".join(name for name, _, _ in self.left_out)
            text += f"; left out for the new class count: {names}"
        return text


def load_pretrained(model, name: Optional[str] = None, *, exclude_scopes: Sequence[str] = (),
                    progress: bool = True) -> PretrainedReport:
    """Restores registry weights ``name`` into ``model`` (see the module
    docstring for what is left out and why).

    Args:
        model: a zoo net from ``get_network_fn`` (built or not: an unbuilt
            one is built now at the weights' image size), or a list of its
            variables, or ``{name: variable}``.
        name: registry weights (default: the net's own,
            :func:`slimtorch.pretrained.default_pretrained`).
        exclude_scopes: variable-name prefixes not to restore
            (research/slim's ``--checkpoint_exclude_scopes``).
        progress: show a progress bar if a download is needed.

    Returns:
        a :class:`PretrainedReport` (also logged).

    Raises:
        ValueError: no weights for this net, or ``name`` is another net's.
        PretrainedError: download / archive problems (see
            :func:`pretrained_checkpoint`).
        CheckpointError: the weights do not fit ``model`` (every missing or
            mis-shaped name is listed; nothing is assigned).
    """
    net = getattr(model, "name", None) if isinstance(model, torch.nn.Module) else None
    if name is None:
        name = default_pretrained(net) if net else None
        if name is None:
            raise ValueError(f"no pretrained weights for {net or 'this model'}: pass name= "
                             "(slimtorch.pretrained.pretrained_names() lists them)")
    weights = get_pretrained(name)
    if net is not None and net != weights.net:
        raise ValueError(f"pretrained weights {name} are for {weights.net}, not {net}; "
                         f"use get_network_fn({weights.net!r}, ...) or other weights")
    if isinstance(model, torch.nn.Module) and not model.named_variables():
        model.build(model.input_shape(1, weights.image_size))
    path = pretrained_checkpoint(name, progress=progress)
    report = restore_from_file(model, path, weights.num_classes, weights.has_background,
                               exclude_scopes)
    report = report._replace(name=name)
    logger.info("%s", report)
    return report


def restore_from_file(model, path: str, checkpoint_classes: int, background: bool,
                      exclude_scopes: Sequence[str] = ()) -> PretrainedReport:
    """:func:`load_pretrained`'s restore, from a converted (torch-layout)
    checkpoint file ``path`` whose logits have ``checkpoint_classes``
    outputs, output 0 being a background class when ``background``."""
    pairs = [(n, v) for n, v in _named(model) if not any(n.startswith(s) for s in exclude_scopes)]
    if not pairs:
        raise ValueError("nothing to restore: the model has no variables yet (build it "
                         "first) or exclude_scopes leaves none")
    plan, left_out, problems, offset = [], [], [], False
    with load_checkpoint(path) as reader:
        shapes = reader.get_variable_to_shape_map()
        for name, var in pairs:
            if name not in shapes:
                problems.append(f"  {name}: not in the checkpoint")
                continue
            file_shape, shape = list(shapes[name]), list(var.shape)
            if file_shape == shape:
                plan.append((name, var, None))
            elif _class_axis(file_shape, shape, checkpoint_classes):
                if background and file_shape[0] == shape[0] + 1:
                    plan.append((name, var, slice(1, None)))
                    offset = True
                else:
                    left_out.append((name, file_shape, shape))
            else:
                problems.append(f"  {name}: checkpoint shape {file_shape}, model shape {shape}")
        if problems:
            raise CheckpointError(
                f"{path} does not fit the model ({len(problems)} problem"
                f"{'s' * (len(problems) > 1)}; nothing was assigned): is it another net's "
                f"weights?\n" + "\n".join(problems))
        with torch.no_grad():
            for name, var, rows in plan:
                value = reader.get_torch_tensor(name)
                var.copy_(value if rows is None else value[rows])
    return PretrainedReport(None, path, [name for name, _, _ in plan], left_out, offset)


def _class_axis(file_shape: list, shape: list, checkpoint_classes: int) -> bool:
    """Whether the shapes differ only in dim 0 (the output axis of logits
    weights and biases in torch layouts), the checkpoint's being its class count."""
    return (len(file_shape) == len(shape) and file_shape[1:] == shape[1:]
            and file_shape[0] == checkpoint_classes)


def _named(model) -> list:
    if hasattr(model, "named_variables"):
        return list(model.named_variables().items())
    if isinstance(model, Mapping):
        return list(model.items())
    return [(var.name, var) for var in model]
