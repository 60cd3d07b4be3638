"""research/slim's ``train_image_classifier.py`` / ``eval_image_classifier.py``
flags, as argparse options with the same names.

Defaults follow research/slim, except where it has no useful one for a
first run: the model is ``lenet`` on the embedded ``digits`` dataset, and
training stops after 1,000 steps (research/slim trains forever), so
``slimtorch train`` with no flags trains a digit classifier in seconds.

Every flag of both research/slim scripts parses, in absl's spellings
(``-flag`` as ``--flag``; booleans as ``--flag``, ``--noflag``,
``--flag=true|false|1|0|t|f`` in any case). The TensorFlow deployment flags
(:data:`DEPLOYMENT_FLAGS`: clones, replicas, parameter servers, a TF server,
quantization) are accepted: :func:`apply_research_slim_flags` says what
replaces each one and fails on a value this run cannot honour.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["DEPLOYMENT_FLAGS", "add_boolean_flag", "add_convert_data_flags", "add_eval_flags",
           "add_export_flags", "add_predict_flags", "add_train_flags",
           "apply_research_slim_flags", "comma_list"]


def comma_list(text: str) -> list:
    """``'a, b,'`` -> ``['a', 'b']`` (research/slim's comma-separated scopes)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _scopes_or_all(text: str):
    """``--trainable_scopes``: None (every variable) when empty, as research/slim
    trains everything for ``--trainable_scopes=``.

        >>> _scopes_or_all('InceptionV3/Logits, InceptionV3/AuxLogits'), _scopes_or_all('')
        (['InceptionV3/Logits', 'InceptionV3/AuxLogits'], None)
    """
    return comma_list(text) or None


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


def _boolean(text: str) -> bool:
    """absl's boolean values, in any case: true, t, 1 / false, f, 0.

        >>> _boolean('True'), _boolean('f'), _boolean('1')
        (True, False, True)
        >>> _boolean('yes')
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be true or false, not 'yes'
    """
    value = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}.get(
        text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"must be true or false, not {text!r}")
    return value


def add_boolean_flag(parser, name: str, help: str, default=False) -> None:
    """Adds an absl boolean flag, spelled as research/slim's command lines
    spell it: ``--name``, ``--noname``, ``--name=true`` / ``=False`` / ``=1``
    / ``=f`` ... ``parser`` is a parser or an argument group.

        >>> parser = argparse.ArgumentParser()
        >>> add_boolean_flag(parser, 'use_grayscale', 'convert images to grayscale')
        >>> [parser.parse_args(argv).use_grayscale for argv in
        ...  ([], ['--use_grayscale'], ['--use_grayscale=False'], ['--nouse_grayscale'])]
        [False, True, False, False]

    One difference from absl: ``--name false`` (a separate word) is False
    here, where absl sets True and leaves ``false`` as a stray argument. A
    command with positional arguments should ask for ``--name=VALUE``.
    """
    parser.add_argument(f"--{name}", nargs="?", const=True, default=default, type=_boolean,
                        metavar="true|false", help=f"{help} (--no{name}: off)")
    parser.add_argument(f"--no{name}", dest=name, action="store_false", help=argparse.SUPPRESS)


def _nets_without_preprocessing() -> list:
    """Zoo nets that research/slim's preprocessing factory does not name."""
    from ..data.preprocessing import preprocessing_fn_map
    from ..nets import nets_factory
    return [name for name in nets_factory.networks_map if name not in preprocessing_fn_map]


def _add_data_flags(parser: argparse.ArgumentParser, split: str, batch_size: int) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument("--dataset_name", default="digits",
                       help="digits (embedded), mnist, cifar10, flowers, imagenet, folder, "
                            "tfrecord (research/slim-style shards and labels.txt, as "
                            "convert-data writes), synthetic (default: %(default)s)")
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
    add_boolean_flag(group, "use_grayscale", "convert images to grayscale during preprocessing")
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


# -- research/slim's TensorFlow deployment flags ---------------------------------------
# The scripts lay a run out with these: model_deploy's clones, worker replicas
# and parameter servers, a TF server, tf.contrib.quantize. slimtorch takes
# them so that copied command lines run; apply_research_slim_flags says what
# replaces each one (torchrun, --device, DataLoader workers) and fails on a
# value this run cannot honour, before anything is written.

DEPLOYMENT_FLAGS = {
    "train": ("master", "num_clones", "clone_on_cpu", "worker_replicas", "num_ps_tasks",
              "num_readers", "task", "quantize_delay", "sync_replicas", "replicas_to_aggregate"),
    "eval": ("master", "quantize"),
}


def _add_deployment_flags(parser: argparse.ArgumentParser, command: str) -> None:
    group = parser.add_argument_group(
        "research/slim's TensorFlow deployment flags",
        "accepted so that research/slim's command lines run: each prints what replaces it, "
        "and a value this run cannot honour is an error")
    names = DEPLOYMENT_FLAGS[command]

    def add(name, help, **kwargs):
        if name in names:
            group.add_argument(f"--{name}", default=None, help=help, **kwargs)

    def boolean(name, help):
        if name in names:
            add_boolean_flag(group, name, help, default=None)

    add("master", "a TensorFlow server's address: only '' (torchrun joins machines)",
        metavar="ADDRESS")
    add("num_clones", "model clones per machine: one per process, as torchrun "
                      "--nproc-per-node=N starts them", type=_positive_int, metavar="N")
    boolean("clone_on_cpu", "train on the CPU (slimtorch's --device=cpu)")
    add("worker_replicas", "machines: as torchrun --nnodes=M starts them",
        type=_positive_int, metavar="M")
    add("num_ps_tasks", "parameter servers: only 0 (DDP averages gradients)",
        type=_non_negative_int, metavar="K")
    add("num_readers", "parallel readers: --num_preprocessing_threads sets the DataLoader's",
        type=_non_negative_int, metavar="N")
    add("task", "this machine's index: torchrun --node-rank sets it", type=_non_negative_int,
        metavar="I")
    add("quantize_delay", "quantization-aware training: only off (a negative value)", type=int,
        metavar="STEPS")
    boolean("sync_replicas", "synchronous replicas: always, with DDP")
    add("replicas_to_aggregate", "with --sync_replicas: the machines' gradients averaged per "
                                 "step (DDP averages all)", type=_positive_int, metavar="R")
    boolean("quantize", "quantized evaluation graph: not built, the float model is evaluated")


def _torchrun_layout(env) -> tuple:
    """``(processes on this machine, machines, this machine's index)`` from
    torchrun's variables; ``(1, 1, 0)`` for a process started by hand."""
    def number(name, default):
        try:
            return int(env.get(name, default))
        except ValueError:
            return default
    world = number("WORLD_SIZE", 1)
    local = max(1, number("LOCAL_WORLD_SIZE", world))
    return (local, number("GROUP_WORLD_SIZE", max(1, world // local)),
            number("GROUP_RANK", number("RANK", 0) // local))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}es" if word.endswith("s") \
        else f"{count} {word}s"


def _replacement(name: str, value, flags, layout: tuple, command: str) -> str:
    """The note for one research/slim deployment flag, or ValueError "<what>; <fix>"."""
    local, machines, machine = layout
    launch = f"torchrun --nproc-per-node=N -m slimtorch {command} ..."
    synchronous = ("replicas are always synchronous in slimtorch (DDP averages every "
                   "process's gradients at each step)")
    if name == "master":
        if not value:
            return "--master='' is ignored: there is no TensorFlow server (torchrun " \
                   "--master-addr joins machines)"
        fix = "torchrun --master-addr=HOST --master-port=PORT joins machines" \
            if command == "train" else "slimtorch eval runs in this process"
        raise ValueError(f"--master={value} names a TensorFlow server, which slimtorch does "
                         f"not use; drop it ({fix})")
    if name == "num_clones":
        if value == 1 and local == 1:
            return f"--num_clones=1 is ignored: one process trains one clone (for N GPUs: {launch})"
        if value == 1 or value == local:
            return (f"--num_clones={value} is ignored: each of torchrun's {local} processes on "
                    "this machine trains one clone")
        raise ValueError(f"--num_clones={value} asks for {value} clones per machine, but this run "
                         f"has {_plural(local, 'process')} here; slimtorch runs one process per "
                         f"clone: launch `{launch.replace('=N', f'={value}')}` (same flags)")
    if name == "worker_replicas":
        if value == 1 and machines == 1:
            return ("--worker_replicas=1 is ignored: one machine (for M machines: torchrun "
                    "--nnodes=M ... on each)")
        if value == 1 or value == machines:
            return f"--worker_replicas={value} is ignored: torchrun's {machines} machines are " \
                   "the replicas"
        raise ValueError(f"--worker_replicas={value} asks for {value} machines, but this run has "
                         f"{machines}; launch `torchrun --nnodes={value} --node-rank=I "
                         f"--master-addr=HOST -m slimtorch {command} ...` on machine I (same "
                         "flags)")
    if name == "num_ps_tasks":
        if value == 0:
            return ("--num_ps_tasks=0 is ignored: slimtorch has no parameter servers (every "
                    "process holds the variables; DDP averages the gradients)")
        raise ValueError(f"--num_ps_tasks={value} asks for parameter servers, which slimtorch "
                         "does not have; drop it: under torchrun every process holds the "
                         "variables and DDP averages the gradients")
    if name == "task":
        if value == machine:
            return f"--task={value} is ignored: torchrun numbers the machines (--node-rank)"
        raise ValueError(f"--task={value} makes this replica {value}, but this process is on "
                         f"machine {machine}; drop --task: torchrun numbers the machines "
                         f"(`torchrun --node-rank={value} ...` on machine {value})")
    if name == "num_readers":
        return (f"--num_readers={value} is ignored: --num_preprocessing_threads sets the "
                "DataLoader's worker processes, which read and preprocess")
    if name == "sync_replicas":
        return f"--sync_replicas{'' if value else '=false'} is ignored: {synchronous}"
    if name == "replicas_to_aggregate":
        if not getattr(flags, "sync_replicas", None):
            return (f"--replicas_to_aggregate={value} is ignored: research/slim uses it only "
                    "with --sync_replicas")
        if value == machines:
            return (f"--replicas_to_aggregate={value} is ignored: {synchronous}; the "
                    f"learning-rate schedule counts {value} replicas' samples per step, as "
                    "research/slim's")
        raise ValueError(f"--replicas_to_aggregate={value} with --sync_replicas averages "
                         f"{value} replicas' gradients per step, but this run has "
                         f"{_plural(machines, 'machine')}; launch `torchrun --nnodes={value} "
                         "...` on each, or drop --sync_replicas")
    if name == "quantize_delay":
        if value < 0:
            return (f"--quantize_delay={value} is ignored: quantization-aware training is off, "
                    "as slimtorch trains in float")
        raise ValueError(f"--quantize_delay={value} asks for quantization-aware training "
                         "(tf.contrib.quantize), which slimtorch does not do; drop it (or "
                         "--quantize_delay=-1) to train in float")
    if name == "quantize":
        if not value:
            return "--quantize=false is ignored: slimtorch evaluates the float model"
        raise ValueError("--quantize asks for tf.contrib.quantize's quantized evaluation graph, "
                         "which slimtorch does not build; use --precision=int8 (post-training "
                         "int8, calibrated on the eval data) or drop it for the float model")
    assert name == "clone_on_cpu", name
    if not value:
        return f"--clone_on_cpu=false is ignored: --device chooses where to train " \
               f"(--device={flags.device})"
    if flags.device == "auto":
        flags.device = "cpu"
        return "--clone_on_cpu: training on the CPU, as --device=cpu does"
    if str(flags.device).startswith("cpu"):
        return f"--clone_on_cpu is ignored: --device={flags.device} trains on the CPU already"
    raise ValueError(f"--clone_on_cpu asks for the CPU but --device={flags.device} for another "
                     "device; keep one of them (slimtorch's is --device=cpu)")


def apply_research_slim_flags(flags, command: str, env=None) -> list:
    """research/slim's deployment flags given to ``command`` ('train' or
    'eval'), checked against this run: the process torchrun (or the user)
    started, from ``env`` (default ``os.environ``). Returns one note per
    flag given, saying what replaces it; ``--clone_on_cpu`` also sets
    ``--device=cpu`` when the device is 'auto'.

        >>> import argparse
        >>> parser = add_train_flags(argparse.ArgumentParser())
        >>> apply_research_slim_flags(parser.parse_args(['--num_readers=8']), 'train', env={})
        ["--num_readers=8 is ignored: --num_preprocessing_threads sets the DataLoader's ..."]
        >>> apply_research_slim_flags(parser.parse_args(['--num_clones=4']), 'train', env={})
        Traceback (most recent call last):
        ...
        ValueError: --num_clones=4 asks for 4 clones per machine, ... `torchrun --nproc-per-node=4 ...
        >>> env = {'WORLD_SIZE': '4', 'LOCAL_WORLD_SIZE': '4', 'RANK': '0'}   # under torchrun
        >>> apply_research_slim_flags(parser.parse_args(['--num_clones=4']), 'train', env=env)
        ["--num_clones=4 is ignored: each of torchrun's 4 processes on this machine trains one clone"]

    Raises:
        ValueError: "<what>; <fix>" for a value this run cannot honour (more
            clones or machines than torchrun started, parameter servers, a
            TF server, quantization).
    """
    layout = _torchrun_layout(os.environ if env is None else env)
    return [_replacement(name, getattr(flags, name), flags, layout, command)
            for name in DEPLOYMENT_FLAGS[command] if getattr(flags, name, None) is not None]


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
    lr.add_argument("--warmup_epochs", type=_non_negative_float, default=0.0,
                    help="raise the learning rate linearly from 0 over this many epochs, "
                         "then follow the decay (research/slim's; 0: off) (default: %(default)s)")

    tune = parser.add_argument_group("fine-tuning")
    tune.add_argument("--checkpoint_path", default=None,
                      help="initialize from this checkpoint (file or directory; TF, "
                           "slimtorch or PyTorch) when train_dir has none yet")
    tune.add_argument("--checkpoint_exclude_scopes", type=comma_list, default=[],
                      help="comma-separated scopes not restored from checkpoint_path "
                           "(e.g. vgg_16/fc8)")
    tune.add_argument("--trainable_scopes", type=_scopes_or_all, default=None,
                      help="comma-separated scopes to train (default, or empty: all)")
    add_boolean_flag(tune, "ignore_missing_vars",
                     "skip variables checkpoint_path lacks instead of failing")

    parser.add_argument("--train_image_size", type=_positive_int, default=None,
                        help="input size (default: the net's default_image_size)")
    _add_data_flags(parser, "train", 32)
    _add_run_flags(parser)
    _add_deployment_flags(parser, "train")
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
    parser.add_argument("--predictions_file", default=None,
                        help="write each image's label, prediction and class probabilities "
                             "here (CSV)")
    _add_data_flags(parser, "test", 100)
    _add_run_flags(parser)
    _add_deployment_flags(parser, "eval")
    _add_precision_flags(parser)
    return parser


def _add_precision_flags(parser, calibration: bool = True) -> None:
    """Adds ``--precision`` (and ``--calibration_batches``) of ``slimtorch
    eval``, ``predict`` and ``export`` (see ``slimtorch.precision``)."""
    group = parser.add_argument_group("precision")
    group.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32",
                       help="fp32; bf16 (autocast; CPUs with AVX-512 BF16 or AMX, and CUDA); "
                            "int8 (post-training static quantization, PT2E; x86 CPUs with "
                            "AVX-512 VNNI or AMX; needs torchao) (default: %(default)s)")
    if calibration:
        group.add_argument("--calibration_batches", type=_positive_int, default=10,
                           help="int8: batches the quantizer's ranges are calibrated on, the "
                                "first of the data (default: %(default)s)")


def add_export_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds research/slim's ``export_inference_graph.py`` flags (and slimtorch's) to ``parser``."""
    from .export import add_flags
    return add_flags(parser)


def add_predict_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds ``slimtorch predict``'s flags to ``parser``."""
    from .predict import add_flags
    return add_flags(parser)


def add_convert_data_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds research/slim's ``download_and_convert_data.py`` flags to ``parser``."""
    from .convert_data import add_flags
    return add_flags(parser)
