"""research/slim's command lines run on ``slimtorch train`` / ``eval``: every
flag of ``train_image_classifier.py`` and ``eval_image_classifier.py`` parses
(absl's syntax included), the TensorFlow deployment flags print what replaces
them or fail on what cannot be honoured, and ``--warmup_epochs`` is
research/slim's linear warm-up."""

import argparse

import pytest
import torch

from slimtorch import cli, learning, reset_default_graph
from slimtorch.checkpoint import latest_checkpoint, load_checkpoint
from slimtorch.classifier.flags import apply_research_slim_flags
from slimtorch.optimization import learning_rate_schedule

FAST = ["--log_every_n_steps=0", "--num_preprocessing_threads=0", "--device=cpu"]

# research/slim's flag definitions (tensorflow/models research/slim, the
# version with --warmup_epochs): name -> (absl type, research/slim's default,
# a value as a command line writes it, the value slimtorch parses it to).
# A default of None has nothing to write, so the value is an example.
TRAIN_FLAGS = {
    "master": ("string", "", "", ""),
    "train_dir": ("string", "/tmp/tfmodel/", "/tmp/tfmodel/", "/tmp/tfmodel/"),
    "warmup_epochs": ("float", 0, "0", 0.0),
    "num_clones": ("integer", 1, "1", 1),
    "clone_on_cpu": ("boolean", False, "false", False),
    "worker_replicas": ("integer", 1, "1", 1),
    "num_ps_tasks": ("integer", 0, "0", 0),
    "num_readers": ("integer", 4, "4", 4),
    "num_preprocessing_threads": ("integer", 4, "4", 4),
    "log_every_n_steps": ("integer", 10, "10", 10),
    "save_summaries_secs": ("integer", 600, "600", 600.0),   # slimtorch: any seconds
    "save_interval_secs": ("integer", 600, "600", 600.0),
    "task": ("integer", 0, "0", 0),
    "weight_decay": ("float", 0.00004, "0.00004", 0.00004),
    "optimizer": ("string", "rmsprop", "rmsprop", "rmsprop"),
    "adadelta_rho": ("float", 0.95, "0.95", 0.95),
    "adagrad_initial_accumulator_value": ("float", 0.1, "0.1", 0.1),
    "adam_beta1": ("float", 0.9, "0.9", 0.9),
    "adam_beta2": ("float", 0.999, "0.999", 0.999),
    "opt_epsilon": ("float", 1.0, "1.0", 1.0),
    "ftrl_learning_rate_power": ("float", -0.5, "-0.5", -0.5),
    "ftrl_initial_accumulator_value": ("float", 0.1, "0.1", 0.1),
    "ftrl_l1": ("float", 0.0, "0.0", 0.0),
    "ftrl_l2": ("float", 0.0, "0.0", 0.0),
    "momentum": ("float", 0.9, "0.9", 0.9),
    "rmsprop_momentum": ("float", 0.9, "0.9", 0.9),
    "rmsprop_decay": ("float", 0.9, "0.9", 0.9),
    "quantize_delay": ("integer", -1, "-1", -1),
    "learning_rate_decay_type": ("string", "exponential", "exponential", "exponential"),
    "learning_rate": ("float", 0.01, "0.01", 0.01),
    "end_learning_rate": ("float", 0.0001, "0.0001", 0.0001),
    "label_smoothing": ("float", 0.0, "0.0", 0.0),
    "learning_rate_decay_factor": ("float", 0.94, "0.94", 0.94),
    "num_epochs_per_decay": ("float", 2.0, "2.0", 2.0),
    "sync_replicas": ("boolean", False, "false", False),
    "replicas_to_aggregate": ("integer", 1, "1", 1),
    "moving_average_decay": ("float", None, "0.9999", 0.9999),
    "dataset_name": ("string", "imagenet", "imagenet", "imagenet"),
    "dataset_split_name": ("string", "train", "train", "train"),
    "dataset_dir": ("string", None, "/data/imagenet", "/data/imagenet"),
    "labels_offset": ("integer", 0, "0", 0),
    "model_name": ("string", "inception_v3", "inception_v3", "inception_v3"),
    "preprocessing_name": ("string", None, "inception", "inception"),
    "batch_size": ("integer", 32, "32", 32),
    "train_image_size": ("integer", None, "299", 299),
    "max_number_of_steps": ("integer", None, "1000", 1000),
    "use_grayscale": ("boolean", False, "false", False),
    "checkpoint_path": ("string", None, "/ckpt/inception_v3.ckpt", "/ckpt/inception_v3.ckpt"),
    "checkpoint_exclude_scopes": ("string", None, "InceptionV3/Logits,InceptionV3/AuxLogits",
                                  ["InceptionV3/Logits", "InceptionV3/AuxLogits"]),
    "trainable_scopes": ("string", None, "InceptionV3/Logits, InceptionV3/AuxLogits",
                         ["InceptionV3/Logits", "InceptionV3/AuxLogits"]),
    "ignore_missing_vars": ("boolean", False, "false", False),
}
EVAL_FLAGS = {
    "batch_size": ("integer", 100, "100", 100),
    "max_num_batches": ("integer", None, "10", 10),
    "master": ("string", "", "", ""),
    "checkpoint_path": ("string", "/tmp/tfmodel/", "/tmp/tfmodel/", "/tmp/tfmodel/"),
    "eval_dir": ("string", "/tmp/tfmodel/", "/tmp/tfmodel/", "/tmp/tfmodel/"),
    "num_preprocessing_threads": ("integer", 4, "4", 4),
    "dataset_name": ("string", "imagenet", "imagenet", "imagenet"),
    "dataset_split_name": ("string", "test", "test", "test"),
    "dataset_dir": ("string", None, "/data/imagenet", "/data/imagenet"),
    "labels_offset": ("integer", 0, "0", 0),
    "model_name": ("string", "inception_v3", "inception_v3", "inception_v3"),
    "preprocessing_name": ("string", None, "inception", "inception"),
    "moving_average_decay": ("float", None, "0.9999", 0.9999),
    "eval_image_size": ("integer", None, "299", 299),
    "quantize": ("boolean", False, "false", False),
    "use_grayscale": ("boolean", False, "false", False),
}
SCRIPTS = {"train": TRAIN_FLAGS, "eval": EVAL_FLAGS}
TABLE = [(command, name, *row) for command, flags in SCRIPTS.items()
         for name, row in flags.items()]
BOOLEANS = [(command, name) for command, name, kind, *_ in TABLE if kind == "boolean"]
DEPLOYMENT = {"train": ["master", "num_clones", "clone_on_cpu", "worker_replicas", "num_ps_tasks",
                        "num_readers", "task", "quantize_delay", "sync_replicas",
                        "replicas_to_aggregate"],
              "eval": ["master", "quantize"]}


def _parse(argv):
    return cli.build_parser().parse_args(argv)


def _one_line(capsys, argv) -> str:
    """Runs the command; checks status 1, nothing on stdout, one stderr line."""
    assert cli.main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, (out, err)
    return err.rstrip("\n")


@pytest.mark.parametrize("command, name, kind, default, text, value", TABLE)
def test_every_research_slim_flag_parses(command, name, kind, default, text, value):
    # (--flag VALUE for a boolean is slimtorch's reading: absl sets True and
    # leaves VALUE as a stray argument.)
    for argv in ([f"--{name}={text}"], [f"--{name}", text], [f"-{name}={text}"]):
        parsed = getattr(_parse([command, *argv]), name)
        assert parsed == value and type(parsed) is type(value), (argv, parsed)


def test_empty_scope_lists_are_research_slims():
    """research/slim: ``--trainable_scopes=`` trains every variable and
    ``--checkpoint_exclude_scopes=`` excludes none."""
    args = _parse(["train", "--trainable_scopes=", "--checkpoint_exclude_scopes="])
    assert args.trainable_scopes is None and args.checkpoint_exclude_scopes == []


def test_the_table_is_every_flag_of_both_scripts():
    """The tables hold research/slim's 51 + 16 flags, and nothing about the
    research/slim flags is left unknown to slimtorch's parsers."""
    assert (len(TRAIN_FLAGS), len(EVAL_FLAGS)) == (51, 16)
    for command, flags in SCRIPTS.items():
        known = set(vars(_parse([command])))
        assert set(flags) <= known, set(flags) - known


@pytest.mark.parametrize("command, name", BOOLEANS)
def test_absl_boolean_syntax(command, name):
    def value(*argv):
        return getattr(_parse([command, *argv]), name)
    for word in ("true", "True", "TRUE", "t", "T", "1"):
        assert value(f"--{name}={word}") is True, word
    for word in ("false", "False", "FALSE", "f", "F", "0"):
        assert value(f"--{name}={word}") is False, word
    assert value(f"--{name}") is True and value(f"-{name}") is True
    assert value(f"--no{name}") is False and value(f"-no{name}") is False
    assert value(f"--{name}", f"--no{name}") is False   # the last one wins, as in absl
    assert value(f"--{name}", "--batch_size=2") is True


@pytest.mark.parametrize("argv, line", [
    (["train", "--use_grayscale=yes"],
     "slimtorch train: error: --use_grayscale must be true or false, not 'yes'; write "
     "--use_grayscale, --nouse_grayscale or --use_grayscale=false"),
    (["train", "--ignore_missing_vars="],
     "slimtorch train: error: --ignore_missing_vars must be true or false, not ''; write "
     "--ignore_missing_vars, --noignore_missing_vars or --ignore_missing_vars=false"),
    (["eval", "--noquantize=true"],
     "slimtorch eval: error: --noquantize is a switch and takes no value; write just "
     "--noquantize"),
    (["train", "--quantize_delay=soon"],
     "slimtorch train: error: --quantize_delay must be a whole number, not 'soon'; see "
     "`slimtorch train --help`"),
    (["train", "--num_clones=0"],
     "slimtorch train: error: --num_clones must be a whole number above 0, not '0'; see "
     "`slimtorch train --help`"),
    (["eval", "--num_clones=1"],
     "slimtorch eval: error: --num_clones is a flag of research/slim's "
     "train_image_classifier.py (`slimtorch train`), not of eval; drop it"),
    (["eval", "--warmup_epochs=1"],
     "slimtorch eval: error: unknown flag --warmup_epochs; `slimtorch eval --help` lists the "
     "flags"),
    (["train", "--quantize"],
     "slimtorch train: error: --quantize is a flag of research/slim's eval_image_classifier.py "
     "(`slimtorch eval`), not of train; drop it"),
    (["train", "--noquantize"],
     "slimtorch train: error: --noquantize is a flag of research/slim's "
     "eval_image_classifier.py (`slimtorch eval`), not of train; drop it"),
])
def test_bad_values_are_one_line(argv, line, capsys):
    assert _one_line(capsys, argv) == line


# -- the deployment flags: what replaces them, what cannot be honoured ------------------

class _FakeTrain:
    """Stands in for slim.learning.train: keeps the train op, trains nothing."""

    def __init__(self):
        self.train_op = None

    def __call__(self, train_op, logdir, data, **kwargs):
        self.train_op = train_op
        return 0.25


@pytest.fixture
def fake_train(monkeypatch):
    fake = _FakeTrain()
    monkeypatch.setattr(learning, "train", fake)
    for name in ("WORLD_SIZE", "LOCAL_WORLD_SIZE", "RANK", "GROUP_RANK", "GROUP_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_research_slim_defaults_print_one_note_each_and_run(tmp_path, capsys, fake_train):
    """A research/slim command line with every deployment flag at its
    default: one note per flag on stderr, in the flags' order, and the run
    goes on."""
    flags = [f"--{name}={TRAIN_FLAGS[name][2]}" for name in DEPLOYMENT["train"]]
    assert cli.main(["train", f"--train_dir={tmp_path}", *FAST, *flags]) == 0
    out, err = capsys.readouterr()
    assert out == f"trained to global step 1000 in {tmp_path} (last loss 0.2500)\n"
    assert err.splitlines() == [
        "slimtorch train: note: --master='' is ignored: there is no TensorFlow server "
        "(torchrun --master-addr joins machines)",
        "slimtorch train: note: --num_clones=1 is ignored: one process trains one clone (for N "
        "GPUs: torchrun --nproc-per-node=N -m slimtorch train ...)",
        "slimtorch train: note: --clone_on_cpu=false is ignored: --device chooses where to "
        "train (--device=cpu)",
        "slimtorch train: note: --worker_replicas=1 is ignored: one machine (for M machines: "
        "torchrun --nnodes=M ... on each)",
        "slimtorch train: note: --num_ps_tasks=0 is ignored: slimtorch has no parameter servers "
        "(every process holds the variables; DDP averages the gradients)",
        "slimtorch train: note: --num_readers=4 is ignored: --num_preprocessing_threads sets the "
        "DataLoader's worker processes, which read and preprocess",
        "slimtorch train: note: --task=0 is ignored: torchrun numbers the machines (--node-rank)",
        "slimtorch train: note: --quantize_delay=-1 is ignored: quantization-aware training is "
        "off, as slimtorch trains in float",
        "slimtorch train: note: --sync_replicas=false is ignored: replicas are always "
        "synchronous in slimtorch (DDP averages every process's gradients at each step)",
        "slimtorch train: note: --replicas_to_aggregate=1 is ignored: research/slim uses it only "
        "with --sync_replicas",
    ]


def test_eval_notes(tmp_path, capsys):
    # eval stops at its missing checkpoint, after the notes.
    assert cli.main(["eval", "--master=", "--noquantize", "--max_num_batches=1",
                     f"--checkpoint_path={tmp_path / 'none'}", *FAST[1:]]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "slimtorch eval: note: --master='' is ignored: there is no TensorFlow server (torchrun "
        "--master-addr joins machines)",
        "slimtorch eval: note: --quantize=false is ignored: slimtorch evaluates the float model"]
    assert err[2].startswith("slimtorch eval: error: ") and len(err) == 3


def test_no_deployment_flag_no_note(tmp_path, capsys, fake_train):
    assert cli.main(["train", f"--train_dir={tmp_path}", *FAST]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv, line", [
    (["train", "--num_clones=4"],
     "slimtorch train: error: --num_clones=4 asks for 4 clones per machine, but this run has 1 "
     "process here; slimtorch runs one process per clone: launch `torchrun --nproc-per-node=4 "
     "-m slimtorch train ...` (same flags)"),
    (["train", "--worker_replicas=2"],
     "slimtorch train: error: --worker_replicas=2 asks for 2 machines, but this run has 1; "
     "launch `torchrun --nnodes=2 --node-rank=I --master-addr=HOST -m slimtorch train ...` on "
     "machine I (same flags)"),
    (["train", "--num_ps_tasks=2"],
     "slimtorch train: error: --num_ps_tasks=2 asks for parameter servers, which slimtorch does "
     "not have; drop it: under torchrun every process holds the variables and DDP averages the "
     "gradients"),
    (["train", "--task=1"],
     "slimtorch train: error: --task=1 makes this replica 1, but this process is on machine 0; "
     "drop --task: torchrun numbers the machines (`torchrun --node-rank=1 ...` on machine 1)"),
    (["train", "--master=grpc://ps0:2222"],
     "slimtorch train: error: --master=grpc://ps0:2222 names a TensorFlow server, which "
     "slimtorch does not use; drop it (torchrun --master-addr=HOST --master-port=PORT joins "
     "machines)"),
    (["eval", "--master=local"],
     "slimtorch eval: error: --master=local names a TensorFlow server, which slimtorch does not "
     "use; drop it (slimtorch eval runs in this process)"),
    (["train", "--quantize_delay=0"],
     "slimtorch train: error: --quantize_delay=0 asks for quantization-aware training "
     "(tf.contrib.quantize), which slimtorch does not do; drop it (or --quantize_delay=-1) to "
     "train in float"),
    (["train", "--quantize_delay", "2000"],
     "slimtorch train: error: --quantize_delay=2000 asks for quantization-aware training "
     "(tf.contrib.quantize), which slimtorch does not do; drop it (or --quantize_delay=-1) to "
     "train in float"),
    (["eval", "--quantize"],
     "slimtorch eval: error: --quantize asks for tf.contrib.quantize's quantized evaluation "
     "graph, which slimtorch does not build; use --precision=int8 (post-training int8, "
     "calibrated on the eval data) or drop it for the float model"),
    (["eval", "--quantize=True"],
     "slimtorch eval: error: --quantize asks for tf.contrib.quantize's quantized evaluation "
     "graph, which slimtorch does not build; use --precision=int8 (post-training int8, "
     "calibrated on the eval data) or drop it for the float model"),
    (["train", "--sync_replicas", "--replicas_to_aggregate=2"],
     "slimtorch train: error: --replicas_to_aggregate=2 with --sync_replicas averages 2 "
     "replicas' gradients per step, but this run has 1 machine; launch `torchrun --nnodes=2 "
     "...` on each, or drop --sync_replicas"),
    (["train", "--clone_on_cpu", "--device=cuda"],
     "slimtorch train: error: --clone_on_cpu asks for the CPU but --device=cuda for another "
     "device; keep one of them (slimtorch's is --device=cpu)"),
])
def test_what_cannot_be_honoured_is_one_line_before_anything_is_written(
        argv, line, tmp_path, capsys, fake_train):
    run = tmp_path / "run"
    where = [f"--train_dir={run}"] if argv[0] == "train" else [f"--eval_dir={run}"]
    extra = [] if "--device=cuda" in argv else ["--device=cpu"]
    assert _one_line(capsys, [*argv, *where, *extra, "--num_preprocessing_threads=0"]) == line
    assert not run.exists() and fake_train.train_op is None


def _notes(argv, env, command="train"):
    parser = cli.build_parser()
    return apply_research_slim_flags(parser.parse_args([command, *argv]), command, env=env)


TORCHRUN_2x4 = {"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "RANK": "5", "GROUP_RANK": "1",
                "GROUP_WORLD_SIZE": "2"}


def test_under_torchrun_the_layout_that_matches_is_honoured():
    """2 machines x 4 processes: research/slim's --worker_replicas=2
    --num_clones=4 --task=1 on the second machine is the same layout."""
    assert _notes(["--num_clones=4", "--worker_replicas=2", "--task=1", "--sync_replicas",
                   "--replicas_to_aggregate=2"], TORCHRUN_2x4) == [
        "--num_clones=4 is ignored: each of torchrun's 4 processes on this machine trains one "
        "clone",
        "--worker_replicas=2 is ignored: torchrun's 2 machines are the replicas",
        "--task=1 is ignored: torchrun numbers the machines (--node-rank)",
        "--sync_replicas is ignored: replicas are always synchronous in slimtorch (DDP averages "
        "every process's gradients at each step)",
        "--replicas_to_aggregate=2 is ignored: replicas are always synchronous in slimtorch (DDP "
        "averages every process's gradients at each step); the learning-rate schedule counts 2 "
        "replicas' samples per step, as research/slim's"]
    # A copied --num_clones=1 / --worker_replicas=1 stays fine under any torchrun.
    assert _notes(["--num_clones=1", "--worker_replicas=1"], TORCHRUN_2x4) == [
        "--num_clones=1 is ignored: each of torchrun's 4 processes on this machine trains one "
        "clone",
        "--worker_replicas=1 is ignored: torchrun's 2 machines are the replicas"]


@pytest.mark.parametrize("argv, start", [
    (["--num_clones=2"], "--num_clones=2 asks for 2 clones per machine, but this run has 4 "
                         "processes here;"),
    (["--worker_replicas=4"], "--worker_replicas=4 asks for 4 machines, but this run has 2;"),
    (["--task=0"], "--task=0 makes this replica 0, but this process is on machine 1;"),
    (["--sync_replicas", "--replicas_to_aggregate=8"],
     "--replicas_to_aggregate=8 with --sync_replicas averages 8 replicas' gradients per step, "
     "but this run has 2 machines;"),
])
def test_under_torchrun_another_layout_is_an_error(argv, start):
    with pytest.raises(ValueError) as info:
        _notes(argv, TORCHRUN_2x4)
    assert str(info.value).startswith(start), str(info.value)


def test_only_torchruns_first_process_prints_the_notes(monkeypatch, capsys):
    args = argparse.Namespace(command="train", num_readers=4)
    monkeypatch.setenv("RANK", "1")
    cli._research_slim_flags(args)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    cli._research_slim_flags(args)
    assert capsys.readouterr().err.startswith("slimtorch train: note: --num_readers=4 is ignored")


@pytest.mark.parametrize("device, note", [
    ("auto", "--clone_on_cpu: training on the CPU, as --device=cpu does"),
    ("cpu", "--clone_on_cpu is ignored: --device=cpu trains on the CPU already"),
])
def test_clone_on_cpu_is_device_cpu(device, note):
    args = cli.build_parser().parse_args(["train", "--clone_on_cpu=True", f"--device={device}"])
    assert apply_research_slim_flags(args, "train", env={}) == [note]
    assert args.device == "cpu"


# -- --warmup_epochs: research/slim's linear warm-up --------------------------------------
# research/slim: steps_per_epoch = num_samples / batch_size (a float; divided by
# --replicas_to_aggregate under --sync_replicas); the rate at global step s (the
# step before the update) is min(learning_rate * s / (steps_per_epoch *
# warmup_epochs), the configured decay at s). The values below are worked out
# by hand from that formula.

@pytest.mark.parametrize("kind, options, expected", [
    # 1000 samples / 100 = 10 steps per epoch; 2 epochs of warm-up = 20 steps.
    ("fixed", {}, {0: 0.0, 1: 0.005, 5: 0.025, 19: 0.095, 20: 0.1, 21: 0.1, 500: 0.1}),
    # decay every epoch (10 steps) by 0.5: the line and the staircase cross at 15.
    ("exponential", dict(num_epochs_per_decay=1, learning_rate_decay_factor=0.5),
     {0: 0.0, 5: 0.025, 9: 0.045, 10: 0.05, 15: 0.05, 20: 0.025, 30: 0.0125}),
    # to 0 over 4 epochs (40 steps): 0.1 * (1 - s / 40) meets 0.1 * s / 20 at s = 13.33.
    ("polynomial", dict(num_epochs_per_decay=4, end_learning_rate=0.0),
     {0: 0.0, 4: 0.02, 13: 0.065, 14: 0.065, 20: 0.05, 40: 0.0, 50: 0.0}),
])
def test_warmup_learning_rates(kind, options, expected):
    lr = learning_rate_schedule(kind, 0.1, num_samples=1000, batch_size=100, warmup_epochs=2,
                                **options)
    assert {step: lr(step) for step in expected} == pytest.approx(expected, abs=1e-12)


def test_warmup_with_sync_replicas_and_fractional_epochs():
    # 1000 / 100 / 2 replicas = 5 steps per epoch: decay every 2 epochs = 10 steps,
    # warm-up over 1.5 epochs = 7.5 steps.
    lr = learning_rate_schedule("exponential", 0.1, num_samples=1000, batch_size=100,
                                learning_rate_decay_factor=0.5, warmup_epochs=1.5,
                                replicas_to_aggregate=2)
    assert lr.params["decay_steps"] == 10
    expected = {0: 0.0, 3: 0.04, 7: 0.1 * 7 / 7.5, 8: 0.1, 10: 0.05}
    assert {step: lr(step) for step in expected} == pytest.approx(expected, abs=1e-12)


def test_warmup_needs_an_epoch_length():
    with pytest.raises(ValueError, match="warm-up needs num_samples and batch_size"):
        learning_rate_schedule("fixed", 0.1, warmup_epochs=1)
    assert learning_rate_schedule("fixed", 0.1, warmup_epochs=0)(0) == 0.1   # 0: off


def test_warmup_epochs_reaches_the_trainer(tmp_path, capsys, fake_train):
    """``slimtorch train --warmup_epochs`` on the digits (1,433 training
    images, batch 32: 44.78125 steps per epoch): the train op's rates."""
    assert cli.main(["train", f"--train_dir={tmp_path}", *FAST, "--warmup_epochs=0.5",
                     "--learning_rate=0.05", "--learning_rate_decay_type=fixed"]) == 0
    rate = fake_train.train_op.learning_rate
    warmup_steps = 1433 / 32 * 0.5
    expected = {0: 0.0, 1: 0.05 / warmup_steps, 11: 0.05 * 11 / warmup_steps, 22: 0.05 * 22 /
                warmup_steps, 23: 0.05, 1000: 0.05}
    assert {step: rate(step) for step in expected} == pytest.approx(expected, rel=1e-12)
    # --sync_replicas --replicas_to_aggregate=1 divides by 1; the default schedule is unchanged.
    assert cli.main(["train", f"--train_dir={tmp_path}", *FAST, "--sync_replicas",
                     "--replicas_to_aggregate=1"]) == 0
    assert fake_train.train_op.learning_rate.params == dict(
        learning_rate=0.01, decay_steps=int(1433 / 32 * 2.0), learning_rate_decay_factor=0.94,
        staircase=True)


def test_the_first_update_of_a_warmup_changes_nothing(tmp_path):
    """TF's train op reads global_step before incrementing it, so research/slim's
    first update runs at rate 0: after one step the weights are the ones a
    --learning_rate=0 run holds (same seed)."""
    def weights(name, *flags):
        reset_default_graph()
        train_dir = str(tmp_path / name)
        assert cli.main(["train", f"--train_dir={train_dir}", *FAST, "--max_number_of_steps=1",
                         "--optimizer=sgd", "--learning_rate_decay_type=fixed", *flags]) == 0
        with load_checkpoint(latest_checkpoint(train_dir)) as reader:
            return {n: reader.get_torch_tensor(n) for n in ("LeNet/conv1/weights",
                                                            "LeNet/fc4/biases")}
    warm = weights("warm", "--warmup_epochs=1", "--learning_rate=0.1")
    still = weights("still", "--learning_rate=0")
    moved = weights("moved", "--learning_rate=0.1")
    assert all(torch.equal(warm[n], still[n]) for n in warm)
    assert not torch.equal(moved["LeNet/fc4/biases"], still["LeNet/fc4/biases"])
