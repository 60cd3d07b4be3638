"""Every mistake on the ``slimtorch`` command line is one line on stderr,
``slimtorch <command>: error: <what>; <fix>``, and exit status 1; and the
run-time cases the command handles itself (threads, summaries, a locked or
interrupted run)."""

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import slimtorch as slim
from slimtorch import cli, learning
from slimtorch.classifier.pipeline import check_names
from slimtorch.training import Interrupted

FAST = ["--log_every_n_steps=0", "--num_preprocessing_threads=0", "--device=cpu"]


def _one_line(capsys, argv) -> str:
    """Runs the command; checks status 1, nothing on stdout, one stderr line."""
    assert cli.main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, (out, err)
    return err.rstrip("\n")


@pytest.mark.parametrize("argv, line", [
    (["train", "--max_number_of_steps=-5"],
     "slimtorch train: error: --max_number_of_steps must be a whole number above 0, not '-5'; "
     "e.g. --max_number_of_steps=1000"),
    (["train", "--batch_size=0"],
     "slimtorch train: error: --batch_size must be a whole number above 0, not '0'; "
     "e.g. --batch_size=32"),
    (["eval", "--batch_size=x"],
     "slimtorch eval: error: --batch_size must be a whole number above 0, not 'x'; "
     "e.g. --batch_size=100"),
    (["train", "--learning_rate=fast"],
     "slimtorch train: error: --learning_rate must be a number, 0 or more, not 'fast'; "
     "e.g. --learning_rate=0.01"),
    (["train", "--num_threads=0"],
     "slimtorch train: error: --num_threads must be a whole number above 0, not '0'; "
     "see `slimtorch train --help`"),
    (["train", "--optimizer=adamw"],
     "slimtorch train: error: --optimizer=adamw is not one of adadelta, adagrad, adam, ftrl, "
     "momentum, sgd, rmsprop; did you mean --optimizer=adam?"),
    (["train", "--model_name"],
     "slimtorch train: error: --model_name needs a value; write --model_name=VALUE"),
    (["train", "--use_grayscale=yes"],
     "slimtorch train: error: --use_grayscale must be true or false, not 'yes'; write "
     "--use_grayscale, --nouse_grayscale or --use_grayscale=false"),
    (["train", "--save_summaries_steps=-10"],
     "slimtorch train: error: --save_summaries_steps must be a whole number, 0 or more, not "
     "'-10'; e.g. --save_summaries_steps=50"),
    (["train", "--max_steps=5"],
     "slimtorch train: error: unknown flag --max_steps; did you mean --max_number_of_steps?"),
    (["eval", "--train-dir=/tmp/x"],
     "slimtorch eval: error: unknown flag --train-dir; `slimtorch eval --help` lists the flags"),
    (["train", "--num_clones=2"],
     "slimtorch train: error: --num_clones=2 asks for 2 clones per machine, but this run has 1 "
     "process here; slimtorch runs one process per clone: launch `torchrun --nproc-per-node=2 "
     "-m slimtorch train ...` (same flags)"),
    (["train", "--max_number=5"],   # no abbreviations, as with research/slim's absl flags
     "slimtorch train: error: unknown flag --max_number; did you mean --max_number_of_steps?"),
    (["train", "lenet"],
     "slimtorch train: error: unexpected argument 'lenet'; flags are written --name=value "
     "(`slimtorch train --help` lists them)"),
    (["inspect"], "slimtorch inspect: error: missing PATH; usage: slimtorch inspect [-h] path"),
    (["inspect", "a", "b"],
     "slimtorch inspect: error: unexpected argument 'b'; usage: slimtorch inspect [-h] path"),
    (["convert", "a", "b", "--num-classes=ten"],
     "slimtorch convert: error: --num-classes must be a whole number, not 'ten'; "
     "see `slimtorch convert --help`"),
    ([], "slimtorch: error: no command given; the commands are train, eval, export, predict, "
         "convert-data, download, inspect, convert, check (`slimtorch --help` describes them)"),
    (["trian"], "slimtorch: error: unknown command 'trian'; did you mean train?"),
])
def test_flag_mistakes(argv, line, capsys):
    assert _one_line(capsys, argv) == line


def test_the_parser_alone_exits_1(capsys):
    """``build_parser().parse_args`` (what scripts and the README test use)
    exits with status 1 after the same line."""
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(["train", "--max_number_of_steps=0"])
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith("slimtorch train: error: --max_number_of_steps")


def test_help_is_not_a_mistake(capsys):
    assert cli.main(["--help"]) == 0
    assert "inspect" in capsys.readouterr().out
    assert cli.main(["inspect", "--help"]) == 0
    assert "prefix (model.ckpt-1000)" in capsys.readouterr().out


def test_missing_pretrained_checkpoint_fails_before_train_dir_exists(tmp_path, capsys):
    train_dir = tmp_path / "run"
    line = _one_line(capsys, ["train", f"--train_dir={train_dir}",
                              f"--checkpoint_path={tmp_path / 'vgg_16.ckpt'}", *FAST])
    assert line == (f"slimtorch train: error: --checkpoint_path {tmp_path / 'vgg_16.ckpt'}: no "
                    "such file, TF prefix or directory; pass the pretrained checkpoint to start "
                    "from (e.g. vgg_16.ckpt), or leave the flag out to train from scratch")
    assert not train_dir.exists()
    (tmp_path / "empty").mkdir()
    line = _one_line(capsys, ["train", f"--train_dir={train_dir}",
                              f"--checkpoint_path={tmp_path / 'empty'}", *FAST])
    assert "no checkpoint in this directory" in line
    assert not train_dir.exists()


def test_unknown_names_fail_before_train_dir_exists(tmp_path, capsys):
    train_dir = tmp_path / "run"
    assert _one_line(capsys, ["train", "--model_name=vgg16", f"--train_dir={train_dir}",
                              *FAST]) == \
        "slimtorch train: error: Name of network unknown vgg16; did you mean vgg_16?"
    assert not train_dir.exists()


def test_unknown_name_without_a_close_match_lists_the_names():
    flags = argparse.Namespace(model_name="lenet", dataset_name="pets", preprocessing_name=None,
                               dataset_dir=None)
    with pytest.raises(ValueError) as info:
        check_names(flags)
    assert str(info.value) == ("unknown dataset 'pets'; --dataset_name takes one of cifar10, "
                               "digits, flowers, folder, imagenet, mnist, synthetic, tfrecord")


def test_dataset_dir_for_the_embedded_digits_warns(tmp_path, capsys, caplog):
    with caplog.at_level(logging.WARNING):
        assert cli.main(["eval", f"--dataset_dir={tmp_path}", "--max_num_batches=1",
                         f"--checkpoint_path={tmp_path / 'none'}", *FAST[1:]]) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"--dataset_dir={tmp_path} is ignored: the digits dataset needs no files"]


class _FakeTrain:
    """Stands in for slim.learning.train: records its arguments."""

    def __init__(self, raises=None):
        self.kwargs, self.raises = None, raises

    def __call__(self, train_op, logdir, data, **kwargs):
        self.kwargs = kwargs
        if self.raises is not None:
            raise self.raises
        return 0.25


@pytest.mark.parametrize("flags, steps, secs", [
    ([], 50, 600),                                  # and at the run's first and last step
    (["--save_summaries_steps=10"], 10, 600),
    (["--save_summaries_steps=0"], 0, 600),         # research/slim's cadence alone
    (["--save_summaries_steps=0", "--save_summaries_secs=0"], 0, 0),   # no summaries
])
def test_summary_cadence_reaches_learning_train(flags, steps, secs, tmp_path, monkeypatch,
                                                capsys):
    fake = _FakeTrain()
    monkeypatch.setattr(learning, "train", fake)
    assert cli.main(["train", f"--train_dir={tmp_path}", *FAST, *flags]) == 0
    assert fake.kwargs["save_summaries_steps"] == steps
    assert fake.kwargs["save_summaries_secs"] == secs
    assert capsys.readouterr().out == (
        f"trained to global step 1000 in {tmp_path} (last loss 0.2500)\n")


@pytest.mark.parametrize("command", ["train", "eval"])
def test_num_threads_sets_torch_threads(command, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(learning, "train", _FakeTrain())
    # eval stops at its missing checkpoint, after setting the threads.
    where = [f"--train_dir={tmp_path}"] if command == "train" else \
        [f"--checkpoint_path={tmp_path / 'none'}", "--max_num_batches=1"]
    cli.main([command, *where, "--num_threads=1", *FAST[1:]])
    assert calls == [1]
    calls.clear()
    cli.main([command, *where, *FAST[1:]])
    assert calls == []   # torch's default unless asked


def test_a_locked_train_dir_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(learning, "train", _FakeTrain(learning.TrainDirLockedError(
        f"{tmp_path} is in use by another trainer (pid 4242 on this host); wait for it")))
    assert _one_line(capsys, ["train", f"--train_dir={tmp_path}", *FAST]) == (
        f"slimtorch train: error: {tmp_path} is in use by another trainer (pid 4242 on this "
        "host); wait for it")


def test_a_train_dir_held_by_another_trainer(tmp_path, capsys):
    with slim.training.TrainDirLock(str(tmp_path)):
        line = _one_line(capsys, ["train", f"--train_dir={tmp_path}", "--max_number_of_steps=1",
                                  *FAST])
    assert line.startswith("slimtorch train: error: ") and f"{tmp_path} is in use by another" in line
    assert slim.checkpoint.latest_checkpoint(str(tmp_path)) is None


def test_interrupted_propagates_with_its_exit_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(learning, "train", _FakeTrain(
        Interrupted(signal.SIGTERM, "interrupted at global step 7")))
    with pytest.raises(Interrupted) as info:
        cli.main(["train", f"--train_dir={tmp_path}", *FAST])
    assert info.value.code == 143
    assert capsys.readouterr().out == ""   # no "trained to ..." line


def test_ctrl_c_outside_the_loop_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(learning, "train", _FakeTrain(KeyboardInterrupt()))
    assert cli.main(["train", f"--train_dir={tmp_path}", *FAST]) == 130
    assert capsys.readouterr().err == "slimtorch train: interrupted\n"


@pytest.mark.slow
def test_console_mistake_and_sigint(tmp_path):
    """The installed command: a bad value exits 1 with one line; Ctrl-C
    (SIGINT) during training saves, exits 130 and prints no traceback."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    done = subprocess.run([sys.executable, "-m", "slimtorch", "train", "--batch_size=-1"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("slimtorch train: error: --batch_size must be")
    assert done.stderr.count("\n") == 1
    job = subprocess.Popen([sys.executable, "-m", "slimtorch", "train", f"--train_dir={tmp_path}",
                            "--max_number_of_steps=100000", "--log_every_n_steps=1",
                            "--num_threads=1", *FAST[1:]],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in job.stderr:   # wait until it trains
            if "global step 2: loss" in line:
                break
        time.sleep(0.2)
        job.send_signal(signal.SIGINT)
        out, err = job.communicate(timeout=120)
    finally:
        job.kill()
    assert job.returncode == 130, err
    assert "Traceback" not in err and "trained to" not in out
    assert slim.checkpoint.latest_checkpoint(str(tmp_path)) is not None


def test_a_diverging_run_ends_with_one_line_not_a_traceback(tmp_path, capsys):
    """A learning rate so large that the loss becomes inf/nan: TF-Slim's
    check_numerics error, said as the CLI's one line with the fix."""
    status = cli.main(["train", f"--train_dir={tmp_path / 'run'}", "--optimizer=sgd",
                       "--learning_rate=1e12", "--max_number_of_steps=30", "--batch_size=8",
                       *FAST])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("slimtorch train: error: LossTensor is inf or nan: loss = ")
    assert last.endswith("the training diverged: lower --learning_rate or try another --optimizer")
