"""``slimtorch train``: research/slim's ``train_image_classifier.py``.

The same steps, in the same order: dataset and preprocessing, the network
from ``nets_factory``, softmax cross entropy (plus 0.4 × the auxiliary
head's, for Inception), research/slim's learning-rate schedule (with its
``--warmup_epochs`` linear warm-up) and optimizer, fine-tuning from
``--checkpoint_path`` minus ``--checkpoint_exclude_scopes`` on the first run only, and
``slim.learning.train`` into ``--train_dir`` (resumed if it holds a
checkpoint).
"""

from __future__ import annotations

import logging
import os

import torch

from .. import learning, losses, optimization
from ..checkpoint import (CheckpointError, assign_from_checkpoint, latest_checkpoint,
                          resolve_checkpoint_path)
from ..pretrained import PRETRAINED_PREFIX, load_pretrained, pretrained_checkpoint
from ..variables import get_model_variables
from .pipeline import make_loader

__all__ = ["check_checkpoint_path", "get_init_fn", "main", "optimizer_options",
           "replicas_to_aggregate"]

logger = logging.getLogger(__name__)


def optimizer_options(flags) -> dict:
    """The ``--optimizer``'s hyper-parameters from their flags."""
    return {
        "adadelta": dict(rho=flags.adadelta_rho, epsilon=flags.opt_epsilon),
        "adagrad": dict(initial_accumulator_value=flags.adagrad_initial_accumulator_value),
        "adam": dict(beta1=flags.adam_beta1, beta2=flags.adam_beta2, epsilon=flags.opt_epsilon),
        "ftrl": dict(learning_rate_power=flags.ftrl_learning_rate_power,
                     initial_accumulator_value=flags.ftrl_initial_accumulator_value,
                     l1=flags.ftrl_l1, l2=flags.ftrl_l2),
        "momentum": dict(momentum=flags.momentum),
        "rmsprop": dict(decay=flags.rmsprop_decay, momentum=flags.rmsprop_momentum,
                        epsilon=flags.opt_epsilon),
        "sgd": {},
    }[flags.optimizer]


def replicas_to_aggregate(flags) -> int:
    """research/slim divides an epoch's steps by ``--replicas_to_aggregate``
    under ``--sync_replicas`` only (each step then takes that many
    replicas' batches); 1 otherwise."""
    if getattr(flags, "sync_replicas", None) and getattr(flags, "replicas_to_aggregate", None):
        return flags.replicas_to_aggregate
    return 1


def get_init_fn(flags):
    """research/slim's ``_get_init_fn``: restores the model variables outside
    ``--checkpoint_exclude_scopes`` from ``--checkpoint_path``; None when
    there is no checkpoint path or ``--train_dir`` already has a checkpoint
    (``train`` resumes that instead)."""
    if flags.checkpoint_path is None:
        return None
    if latest_checkpoint(flags.train_dir):
        logger.info("Ignoring --checkpoint_path because a checkpoint already exists in %s",
                    flags.train_dir)
        return None

    def init_fn():
        variables = [v for v in get_model_variables()
                     if not any(v.name.startswith(scope) for scope in
                                flags.checkpoint_exclude_scopes)]
        logger.info("Fine-tuning from %s", flags.checkpoint_path)
        name = _pretrained_name(flags)
        if name is not None:
            # Registry weights know their class count: logits of another
            # count are left out (and reported) without --checkpoint_exclude_scopes.
            report = load_pretrained(variables, name)
        else:
            report = assign_from_checkpoint(flags.checkpoint_path, variables,
                                            ignore_missing_vars=flags.ignore_missing_vars)
        logger.info("%s", report)
    return init_fn


def _pretrained_name(flags):
    """NAME of ``--checkpoint_path=pretrained:NAME``, else None."""
    path = flags.checkpoint_path
    if isinstance(path, str) and path.startswith(PRETRAINED_PREFIX):
        return path[len(PRETRAINED_PREFIX):]
    return None


def check_checkpoint_path(flags) -> None:
    """Fails if ``--checkpoint_path`` names no checkpoint: a file, a TF or
    slimtorch prefix, or a directory holding one.

        >>> import argparse
        >>> check_checkpoint_path(argparse.Namespace(checkpoint_path='/no/such.ckpt'))
        Traceback (most recent call last):
        ...
        slimtorch.checkpoint.errors.CheckpointError: --checkpoint_path /no/such.ckpt: no such file, ...

    Raises:
        CheckpointError: naming the path.
    """
    path = flags.checkpoint_path
    if path is None:
        return
    name = _pretrained_name(flags)
    if name is not None:
        # Fetched now (downloaded and converted once), before --train_dir is
        # touched; not when the run resumes from its own checkpoint.
        if not latest_checkpoint(getattr(flags, "train_dir", None) or ""):
            pretrained_checkpoint(name)
        return
    if os.path.isdir(path):
        if latest_checkpoint(path) is None:
            raise CheckpointError(f"--checkpoint_path {path}: no checkpoint in this directory "
                                  "(no 'checkpoint' state file naming an existing file); pass "
                                  "the checkpoint file itself")
        return
    resolved = resolve_checkpoint_path(path)
    if not (os.path.isfile(resolved) or os.path.exists(resolved + ".index")):
        raise CheckpointError(f"--checkpoint_path {path}: no such file, TF prefix or "
                              "directory; pass the pretrained checkpoint to start from "
                              "(e.g. vgg_16.ckpt), or leave the flag out to train from scratch")


def main(flags) -> float:
    """Trains; returns the last loss."""
    # Before anything touches --train_dir: a typo in the pretrained path must
    # not leave a half-made run that the next (corrected) command resumes.
    check_checkpoint_path(flags)
    if flags.num_threads:
        torch.set_num_threads(flags.num_threads)
    dataset, loader, network_fn = make_loader(flags, True, flags.train_image_size)
    num_classes = dataset.num_classes - flags.labels_offset

    def total_loss(batch):
        images, labels = batch
        logits, end_points = network_fn(images)
        onehot = torch.nn.functional.one_hot(labels, num_classes).to(logits.dtype)
        if "AuxLogits" in end_points:
            losses.softmax_cross_entropy(end_points["AuxLogits"], onehot,
                                         label_smoothing=flags.label_smoothing, weights=0.4,
                                         scope="aux_loss")
        losses.softmax_cross_entropy(logits, onehot, label_smoothing=flags.label_smoothing)
        return losses.get_total_loss()

    schedule = optimization.learning_rate_schedule(
        flags.learning_rate_decay_type, flags.learning_rate,
        num_epochs_per_decay=flags.num_epochs_per_decay, batch_size=flags.batch_size,
        num_samples=len(dataset), learning_rate_decay_factor=flags.learning_rate_decay_factor,
        end_learning_rate=flags.end_learning_rate,
        warmup_epochs=getattr(flags, "warmup_epochs", 0.0),
        replicas_to_aggregate=replicas_to_aggregate(flags))
    options = optimizer_options(flags)
    train_op = learning.create_train_op(
        total_loss,
        lambda params: optimization.make_optimizer(flags.optimizer, params,
                                                   flags.learning_rate, **options),
        variables_to_train=lambda: learning.variables_to_train(flags.trainable_scopes),
        learning_rate=schedule, mixed_precision=flags.mixed_precision,
        moving_average_decay=flags.moving_average_decay)
    return learning.train(
        train_op, flags.train_dir, loader, number_of_steps=flags.max_number_of_steps,
        log_every_n_steps=flags.log_every_n_steps, init_fn=get_init_fn(flags),
        save_summaries_secs=flags.save_summaries_secs,
        save_summaries_steps=flags.save_summaries_steps,
        save_interval_secs=flags.save_interval_secs, max_to_keep=flags.max_to_keep,
        device=flags.device, seed=flags.seed)
