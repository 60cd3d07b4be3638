"""``slimtorch train``: research/slim's ``train_image_classifier.py``.

The same steps, in the same order: dataset and preprocessing, the network
from ``nets_factory``, softmax cross entropy (plus 0.4 × the auxiliary
head's, for Inception), research/slim's learning-rate schedule and
optimizer, fine-tuning from ``--checkpoint_path`` minus
``--checkpoint_exclude_scopes`` on the first run only, and
``slim.learning.train`` into ``--train_dir`` (resumed if it holds a
checkpoint).
"""

from __future__ import annotations

import logging

import torch

from .. import learning, losses, optimization
from ..checkpoint import assign_from_checkpoint, latest_checkpoint
from ..variables import get_model_variables
from .pipeline import make_loader

__all__ = ["get_init_fn", "main", "optimizer_options"]

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
        report = assign_from_checkpoint(flags.checkpoint_path, variables,
                                        ignore_missing_vars=flags.ignore_missing_vars)
        logger.info("%s", report)
    return init_fn


def main(flags) -> float:
    """Trains; returns the last loss."""
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
        end_learning_rate=flags.end_learning_rate)
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
        save_interval_secs=flags.save_interval_secs, max_to_keep=flags.max_to_keep,
        device=flags.device, seed=flags.seed)
