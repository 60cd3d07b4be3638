"""research/slim's ``train_image_classifier.py`` / ``eval_image_classifier.py``
flags, as argparse options with the same names.

Defaults follow research/slim, except where it has no useful one for a
first run: the model is ``lenet`` on the embedded ``digits`` dataset, and
training stops after 1,000 steps (research/slim trains forever), so
``slimtorch train`` with no flags trains a digit classifier in seconds.
"""

from __future__ import annotations

import argparse

__all__ = ["add_eval_flags", "add_train_flags", "comma_list"]


def comma_list(text: str) -> list:
    """``'a, b,'`` -> ``['a', 'b']`` (research/slim's comma-separated scopes)."""
    return [part.strip() for part in text.split(",") if part.strip()]


# The ``type=`` of the numeric flags. Each raises ArgumentTypeError with a
# message that reads after the flag's name ("--batch_size must be ..."), so
# a bad value is one clear line instead of argparse's "invalid int value".

def _whole(text: str, minimum: int, description: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"must be {description}, not {text!r}")
    return value


def _real(text: str, minimum, description: str, strict: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or value != value or (minimum is not None and (
            value < minimum or (strict and value == minimum))):
        raise argparse.ArgumentTypeError(f"must be {description}, not {text!r}")
    return value


def _positive_int(text: str) -> int:
    """A count of at least 1 (steps, batch size, threads).

        >>> _positive_int('32')
        32
        >>> _positive_int('-5')
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be a whole number above 0, not '-5'
    """
    return _whole(text, 1, "a whole number above 0")


def _non_negative_int(text: str) -> int:
    """A count where 0 means "none" or "never" (``--log_every_n_steps=0``).

        >>> _non_negative_int('0')
        0
    """
    return _whole(text, 0, "a whole number, 0 or more")


def _number(text: str) -> float:
    """Any finite or infinite number (not NaN).

        >>> _number('-0.5')
        -0.5
        >>> _number('fast')
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be a number, not 'fast'
    """
    return _real(text, None, "a number")


def _positive_float(text: str) -> float:
    """A number above 0 (``--num_epochs_per_decay``).

        >>> _positive_float('2')
        2.0
    """
    return _real(text, 0.0, "a number above 0", strict=True)


def _non_negative_float(text: str) -> float:
    """A number, 0 or more (rates, seconds; 0 often means "off").

        >>> _non_negative_float('0')
        0.0
    """
    return _real(text, 0.0, "a number, 0 or more")


def _nets_without_preprocessing() -> list:
    """Zoo nets that research/slim's preprocessing factory does not name."""
    from ..data.preprocessing import preprocessing_fn_map
    from ..nets import nets_factory
    return [name for name in nets_factory.networks_map if name not in preprocessing_fn_map]


def _add_data_flags(parser: argparse.ArgumentParser, split: str, batch_size: int) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument("--dataset_name", default="digits",
                       help="digits (embedded), mnist, cifar10, flowers, imagenet, folder, "
                            "synthetic (default: %(default)s)")
    group.add_argument("--dataset_split_name", default=split,
                       help="the split to use (default: %(default)s)")
    group.add_argument("--dataset_dir", default=None,
                       help="the directory with the dataset's files (not needed for digits "
                            "and synthetic)")
    group.add_argument("--labels_offset", type=_non_negative_int, default=0,
                       help="subtracted from every label: 1 for a 1000-class net on "
                            "research/slim's 1001-class ImageNet (default: %(default)s)")
    group.add_argument("--model_name", default="lenet",
                       help="the zoo net to use (default: %(default)s)")
    group.add_argument("--preprocessing_name", default=None,
                       help="preprocessing to use (default: the model's; required for "
                            f"{', '.join(_nets_without_preprocessing())}, which have none "
                            "of their own)")
    group.add_argument("--batch_size", type=_positive_int, default=batch_size,
                       help="images per batch (default: %(default)s)")
    group.add_argument("--num_frames", type=_positive_int, default=None,
                       help="video nets (i3d, s3dg): frames of the clip each still image is "
                            "repeated into (default: 16)")
    group.add_argument("--use_grayscale", action="store_true",
                       help="convert images to grayscale during preprocessing")
    group.add_argument("--num_preprocessing_threads", type=_non_negative_int, default=None,
                       help="DataLoader worker processes (default: none for in-memory "
                            "datasets such as digits, else up to 4)")


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("slimtorch")
    group.add_argument("--device", default="auto",
                       help="auto (CUDA when available), cpu, cuda, cuda:1, ... "
                            "(default: %(default)s)")
    group.add_argument("--seed", type=_non_negative_int, default=0,
                       help="seeds a fresh training run and the data order (default: %(default)s)")
    group.add_argument("--num_threads", type=_positive_int, default=None,
                       help="CPU threads of each operation (torch.set_num_threads; default: "
                            "torch's, one per core); 1 is often faster on a busy machine")


def add_train_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds every training flag to ``parser``."""
    general = parser.add_argument_group("general")
    general.add_argument("--train_dir", default="/tmp/tfmodel/",
                         help="checkpoints and summaries are written here; an existing "
                              "checkpoint is resumed (default: %(default)s)")
    general.add_argument("--log_every_n_steps", type=_non_negative_int, default=10,
                         help="log the loss every N steps (default: %(default)s)")
    general.add_argument("--save_summaries_secs", type=_non_negative_float, default=600,
                         help="TensorBoard summaries at least this often; 0: no time "
                              "cadence (default: %(default)s)")
    general.add_argument("--save_summaries_steps", type=_non_negative_int, default=50,
                         help="and every N global steps, so that a short run has a curve; "
                              "0: no step cadence (both 0: no summaries) (default: %(default)s)")
    general.add_argument("--save_interval_secs", type=_non_negative_float, default=600,
                         help="seconds between checkpoints (default: %(default)s)")
    general.add_argument("--max_number_of_steps", type=_positive_int, default=1000,
                         help="stop at this global step (default: %(default)s)")
    general.add_argument("--max_to_keep", type=_positive_int, default=5,
                         help="checkpoints kept in train_dir (default: %(default)s)")

    opt = parser.add_argument_group("optimization")
    opt.add_argument("--weight_decay", type=_non_negative_float, default=0.00004,
                     help="L2 weight decay of the net's weights (default: %(default)s)")
    opt.add_argument("--optimizer", default="rmsprop",
                     choices=["adadelta", "adagrad", "adam", "ftrl", "momentum", "sgd",
                              "rmsprop"], help="(default: %(default)s)")
    opt.add_argument("--adadelta_rho", type=_number, default=0.95)
    opt.add_argument("--adagrad_initial_accumulator_value", type=_number, default=0.1)
    opt.add_argument("--adam_beta1", type=_number, default=0.9)
    opt.add_argument("--adam_beta2", type=_number, default=0.999)
    opt.add_argument("--opt_epsilon", type=_number, default=1.0,
                     help="epsilon of adam, adadelta and rmsprop (default: %(default)s)")
    opt.add_argument("--ftrl_learning_rate_power", type=_number, default=-0.5)
    opt.add_argument("--ftrl_initial_accumulator_value", type=_number, default=0.1)
    opt.add_argument("--ftrl_l1", type=_number, default=0.0)
    opt.add_argument("--ftrl_l2", type=_number, default=0.0)
    opt.add_argument("--momentum", type=_number, default=0.9,
                     help="momentum of the momentum optimizer (default: %(default)s)")
    opt.add_argument("--rmsprop_momentum", type=_number, default=0.9)
    opt.add_argument("--rmsprop_decay", type=_number, default=0.9)
    opt.add_argument("--mixed_precision", choices=["bf16", "fp16"], default=None,
                     help="autocast the forward pass (fp16 with gradient scaling)")

    lr = parser.add_argument_group("learning rate")
    lr.add_argument("--learning_rate_decay_type", default="exponential",
                    choices=["fixed", "exponential", "polynomial"],
                    help="(default: %(default)s)")
    lr.add_argument("--learning_rate", type=_non_negative_float, default=0.01,
                    help="initial learning rate (default: %(default)s)")
    lr.add_argument("--end_learning_rate", type=_non_negative_float, default=0.0001,
                    help="final learning rate of polynomial decay (default: %(default)s)")
    lr.add_argument("--label_smoothing", type=_non_negative_float, default=0.0,
                    help="label smoothing of the cross entropy (default: %(default)s)")
    lr.add_argument("--learning_rate_decay_factor", type=_positive_float, default=0.94)
    lr.add_argument("--num_epochs_per_decay", type=_positive_float, default=2.0,
                    help="epochs after which the learning rate decays (default: %(default)s)")
    lr.add_argument("--moving_average_decay", type=_non_negative_float, default=None,
                    help="keep an exponential moving average of the weights with this decay")

    tune = parser.add_argument_group("fine-tuning")
    tune.add_argument("--checkpoint_path", default=None,
                      help="initialize from this checkpoint (file or directory; TF, "
                           "slimtorch or PyTorch) when train_dir has none yet")
    tune.add_argument("--checkpoint_exclude_scopes", type=comma_list, default=[],
                      help="comma-separated scopes not restored from checkpoint_path "
                           "(e.g. vgg_16/fc8)")
    tune.add_argument("--trainable_scopes", type=comma_list, default=None,
                      help="comma-separated scopes to train (default: all)")
    tune.add_argument("--ignore_missing_vars", action="store_true",
                      help="skip variables checkpoint_path lacks instead of failing")

    parser.add_argument("--train_image_size", type=_positive_int, default=None,
                        help="input size (default: the net's default_image_size)")
    _add_data_flags(parser, "train", 32)
    _add_run_flags(parser)
    return parser


def add_eval_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds every evaluation flag to ``parser``."""
    parser.add_argument("--checkpoint_path", default="/tmp/tfmodel/",
                        help="a checkpoint file, or a directory: its latest checkpoint, or "
                             "every new one with --eval_interval_secs (default: %(default)s)")
    parser.add_argument("--eval_dir", default="/tmp/tfmodel/eval",
                        help="evaluation summaries go here (default: %(default)s)")
    parser.add_argument("--max_num_batches", type=_positive_int, default=None,
                        help="batches to evaluate (default: the whole split)")
    parser.add_argument("--moving_average_decay", type=_non_negative_float, default=None,
                        help="evaluate the moving-average weights saved by training")
    parser.add_argument("--eval_image_size", type=_positive_int, default=None,
                        help="input size (default: the net's default_image_size)")
    parser.add_argument("--eval_interval_secs", type=_non_negative_float, default=None,
                        help="keep evaluating each new checkpoint of the checkpoint_path "
                             "directory, at most this often (default: evaluate once)")
    parser.add_argument("--eval_timeout_secs", type=_non_negative_float, default=None,
                        help="with --eval_interval_secs: stop after this long without a new "
                             "checkpoint (default: wait forever)")
    _add_data_flags(parser, "test", 100)
    _add_run_flags(parser)
    return parser
