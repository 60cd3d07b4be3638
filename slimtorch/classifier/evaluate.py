"""``slimtorch eval``: research/slim's ``eval_image_classifier.py``.

Accuracy and recall@5 of ``--model_name`` on a dataset split, restored from
``--checkpoint_path`` (a file, or a directory's latest checkpoint), printed
as ``eval/Accuracy: ...`` and written as summaries into ``--eval_dir`` at
the checkpoint's global step. With ``--eval_interval_secs`` it keeps
evaluating each new checkpoint of the directory while training runs.

Each evaluated checkpoint also gets a report (:mod:`.report`): the
confusion matrix and per-class precision / recall / support, printed for
at most 20 classes and always written into ``--eval_dir`` as
``confusion_matrix-<step>.csv`` and ``per_class-<step>.csv`` (named by the
global step, so the reports of a ``--eval_interval_secs`` run sit side by
side), the matrix as the image summary ``eval/ConfusionMatrix/image``, and
with ``--predictions_file`` each image's label, prediction and
probabilities (replaced by each evaluation, unless the path contains
``{global_step}``).

``--precision=bf16`` evaluates under bfloat16 autocast and
``--precision=int8`` a copy quantized to int8 after each restore,
calibrated on the first ``--calibration_batches`` batches of the split
(:func:`slimtorch.precision.inference_model`).
"""

from __future__ import annotations

import itertools
import math
import os

import torch

from .. import evaluation, metrics
from ..checkpoint import CheckpointError, latest_checkpoint
from ..optimization import ExponentialMovingAverage
from ..variables import get_model_variables
from .pipeline import make_loader
from .report import EvalReport, class_names

__all__ = ["main"]


def main(flags) -> dict:
    """Evaluates; returns ``{'eval/Accuracy': ..., 'eval/Recall_5': ...}``."""
    if flags.num_threads:
        torch.set_num_threads(flags.num_threads)
    _check_precision(flags)
    dataset, loader, network_fn = make_loader(flags, False, flags.eval_image_size)
    num_classes = dataset.num_classes - flags.labels_offset
    names_to_values, names_to_updates = metrics.aggregate_metric_map({
        "eval/Accuracy": metrics.streaming_accuracy(),
        "eval/Recall_5": metrics.streaming_recall_at_k(k=min(5, num_classes)),
    })

    _check_predictions_file(flags.predictions_file)
    report = EvalReport(num_classes, _class_names(dataset, num_classes, flags),
                        flags.eval_dir, flags.predictions_file)

    model = _AtPrecision(network_fn, getattr(flags, "precision", "fp32"), loader,
                         getattr(flags, "calibration_batches", 10))

    def eval_op(batch):
        images, labels = batch
        logits, _ = model(images)
        predictions = logits.argmax(1)
        names_to_updates["eval/Accuracy"](predictions, labels)
        names_to_updates["eval/Recall_5"](logits, labels)
        report.update(logits, predictions, labels)

    num_batches = flags.max_num_batches or math.ceil(len(dataset) / flags.batch_size)
    variables_to_restore = None
    if flags.moving_average_decay:
        # research/slim's eval: the averages of every model variable, batch
        # norm's moving statistics included (train keeps the same set).
        variables_to_restore = lambda: ExponentialMovingAverage(   # noqa: E731
            _floating(get_model_variables()), flags.moving_average_decay).variables_to_restore()
    common = dict(num_evals=num_batches, eval_op=eval_op, metrics=names_to_values,
                  variables_to_restore=variables_to_restore, device=flags.device,
                  hooks=[model, *report.hooks()])
    try:
        if flags.eval_interval_secs is not None:
            if not os.path.isdir(flags.checkpoint_path):
                raise ValueError(f"--eval_interval_secs needs --checkpoint_path to be a "
                                 f"directory; {flags.checkpoint_path} is not")
            return evaluation.evaluation_loop(flags.checkpoint_path, flags.eval_dir, loader,
                                              eval_interval_secs=flags.eval_interval_secs,
                                              timeout=flags.eval_timeout_secs, **common)
        path = flags.checkpoint_path
        if os.path.isdir(path):
            path = latest_checkpoint(path)
            if path is None:
                raise CheckpointError(f"no checkpoint in {flags.checkpoint_path} (train writes "
                                      "one there; or pass a checkpoint file)")
        return evaluation.evaluate_once(path, flags.eval_dir, loader, **common)
    finally:
        report.close()


def _class_names(dataset, num_classes: int, flags) -> list:
    """The report's class names: the dataset's; for ImageNet (or the model
    zoo's weights, ``--checkpoint_path=pretrained:NAME``) without a
    labels.txt, the ImageNet names shipped with slimtorch."""
    names = class_names(dataset, num_classes, flags.labels_offset)
    imagenet = getattr(flags, "pretrained", None) or flags.dataset_name == "imagenet"
    if imagenet and dataset.num_classes in (1000, 1001) and \
            names == [str(i) for i in range(num_classes)]:
        from ..data.imagenet_labels import labels_for
        labels = labels_for(dataset.num_classes)
        names = [labels[i + flags.labels_offset] for i in range(num_classes)]
    return names


def _check_precision(flags) -> None:
    """--precision's hardware (and torchao) check, before any data or weights load."""
    if getattr(flags, "precision", "fp32") == "fp32":   # flags made by hand may lack it
        return
    from ..precision import check_precision
    device = flags.device
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        check_precision(flags.precision, device)
    except ImportError as error:   # torchao for int8: the CLI's one-line error
        raise ValueError(str(error)) from None


class _AtPrecision:
    """``network_fn`` at ``--precision``: a hook whose ``begin`` (after each
    restore) makes the inference model from the restored weights; before
    the first (the build's dry run) the plain net runs."""

    def __init__(self, network_fn, precision: str, loader, calibration_batches: int) -> None:
        self.network_fn, self.precision = network_fn, precision
        self.loader, self.calibration_batches = loader, calibration_batches
        self.model = network_fn

    def begin(self) -> None:
        if self.precision == "fp32":
            return
        from ..precision import inference_model
        was_training = self.network_fn.training
        calibration = None
        if self.precision == "int8":
            device = next(self.network_fn.parameters()).device
            calibration = [images.to(device) for images, _ in
                           itertools.islice(self.loader, self.calibration_batches)]
        try:
            self.model = inference_model(self.network_fn, self.precision, calibration)
        finally:
            self.network_fn.train(was_training)

    def end(self) -> None:   # a hook with begin() and end(): not called as a function
        pass

    def __call__(self, images):
        return self.model(images)


def _check_predictions_file(path) -> None:
    """Fails before evaluating when ``--predictions_file`` cannot be written."""
    if path is None:
        return
    if os.path.isdir(path):
        raise ValueError(f"--predictions_file {path} is a directory; give a file path, such "
                         f"as {os.path.join(path, 'predictions.csv')}")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)   # an OSError names the directory
    if not os.access(parent, os.W_OK):
        raise ValueError(f"--predictions_file {path}: directory {parent} is not writable; "
                         "choose another path")


def _floating(variables) -> list:
    return [var for var in variables if var.is_floating_point()]
