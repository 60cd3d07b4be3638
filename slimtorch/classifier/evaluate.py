"""``slimtorch eval``: research/slim's ``eval_image_classifier.py``.

Accuracy and recall@5 of ``--model_name`` on a dataset split, restored from
``--checkpoint_path`` (a file, or a directory's latest checkpoint), printed
as ``eval/Accuracy: ...`` and written as summaries into ``--eval_dir`` at
the checkpoint's global step. With ``--eval_interval_secs`` it keeps
evaluating each new checkpoint of the directory while training runs.
"""

from __future__ import annotations

import math
import os

import torch

from .. import evaluation, metrics
from ..checkpoint import CheckpointError, latest_checkpoint
from ..optimization import ExponentialMovingAverage
from ..variables import get_model_variables
from .pipeline import make_loader

__all__ = ["main"]


def main(flags) -> dict:
    """Evaluates; returns ``{'eval/Accuracy': ..., 'eval/Recall_5': ...}``."""
    if flags.num_threads:
        torch.set_num_threads(flags.num_threads)
    dataset, loader, network_fn = make_loader(flags, False, flags.eval_image_size)
    num_classes = dataset.num_classes - flags.labels_offset
    names_to_values, names_to_updates = metrics.aggregate_metric_map({
        "eval/Accuracy": metrics.streaming_accuracy(),
        "eval/Recall_5": metrics.streaming_recall_at_k(k=min(5, num_classes)),
    })

    def eval_op(batch):
        images, labels = batch
        logits, _ = network_fn(images)
        names_to_updates["eval/Accuracy"](logits.argmax(1), labels)
        names_to_updates["eval/Recall_5"](logits, labels)

    num_batches = flags.max_num_batches or math.ceil(len(dataset) / flags.batch_size)
    variables_to_restore = None
    if flags.moving_average_decay:
        # research/slim's eval: the averages of every model variable, batch
        # norm's moving statistics included (train keeps the same set).
        variables_to_restore = lambda: ExponentialMovingAverage(   # noqa: E731
            _floating(get_model_variables()), flags.moving_average_decay).variables_to_restore()
    common = dict(num_evals=num_batches, eval_op=eval_op, metrics=names_to_values,
                  variables_to_restore=variables_to_restore, device=flags.device)
    if flags.eval_interval_secs is not None:
        if not os.path.isdir(flags.checkpoint_path):
            raise ValueError(f"--eval_interval_secs needs --checkpoint_path to be a directory; "
                             f"{flags.checkpoint_path} is not")
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


def _floating(variables) -> list:
    return [var for var in variables if var.is_floating_point()]
