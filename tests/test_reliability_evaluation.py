"""``evaluation_loop`` racing a trainer: a checkpoint that disappears between
being listed and being read (retention deleted it), or that is truncated,
is skipped with a warning and the loop goes on to the next one. And SIGINT /
SIGTERM end an evaluation cleanly: one line, ``Interrupted``, no traceback."""

import logging
import os
import signal
import threading
import time

import pytest
import torch
from test_evaluation import _built, _linear_net, _mean_prediction_eval, _save

import slimtorch as slim
from slimtorch import evaluation
from slimtorch.training import Interrupted


def _loop_with(tmp_path, monkeypatch, caplog, on_first_read):
    """Evaluates ``tmp_path``, holding step 1 (weight 1), once ``on_first_read(path)``
    has run when step 1 is about to be read (it also writes step 2, weight 2);
    returns the loop's values and the warnings."""
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    first = _save(tmp_path, net, 1, 1.0)
    real = evaluation.assign_from_checkpoint
    seen = []

    def racing_restore(path, variables, *args, **kwargs):
        seen.append(os.path.basename(path))
        if path == first:
            _save(tmp_path, net, 2, 2.0)   # the trainer goes on meanwhile
            return on_first_read(path, lambda: real(path, variables, *args, **kwargs))
        return real(path, variables, *args, **kwargs)
    monkeypatch.setattr(evaluation, "assign_from_checkpoint", racing_restore)
    with caplog.at_level(logging.WARNING, logger="slimtorch.evaluation"):
        values = slim.evaluation.evaluation_loop(
            str(tmp_path), None, [torch.ones(1, 2)], eval_op=eval_op, metrics={"m": metric},
            eval_interval_secs=0, timeout=2, max_number_of_evaluations=1, quiet=True,
            device=None)
    assert seen == ["model.ckpt-1.safetensors", "model.ckpt-2.safetensors"]
    return values, [r.getMessage() for r in caplog.records]


def _deleted_before_reading(path, read):
    os.remove(path)   # retention, between listing and reading
    return read()


def _deleted_after_restoring(path, read):
    result = read()
    os.remove(path)   # before its global step is read
    return result


def _truncated(path, read):
    with open(path, "r+b") as f:   # the header is intact, the data is cut short
        f.truncate(os.path.getsize(path) - 4)
    return read()


@pytest.mark.parametrize("race", [_deleted_before_reading, _deleted_after_restoring,
                                  _truncated], ids=["deleted-before-reading",
                                                    "deleted-after-restoring", "truncated"])
def test_a_checkpoint_that_vanishes_or_is_truncated_is_skipped(tmp_path, monkeypatch, caplog,
                                                              race):
    values, warnings = _loop_with(tmp_path, monkeypatch, caplog, race)
    assert values == {"m": 4.0}   # step 2 was evaluated: weight 2 times a width of 2
    skipped = [w for w in warnings if w.startswith("evaluation_loop: skipping")]
    assert len(skipped) == 1 and "model.ckpt-1.safetensors" in skipped[0]


# -- SIGINT / SIGTERM ----------------------------------------------------------

def _kill_self(signum):
    os.kill(os.getpid(), signum)


def test_sigint_between_batches_stops_evaluate_once(tmp_path, capsys):
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    path = _save(tmp_path / "train", net, 1, 1.0)
    seen = []

    def interrupting_eval_op(batch):
        seen.append(batch)
        eval_op(batch)
        if len(seen) == 2:
            _kill_self(signal.SIGINT)
    with pytest.raises(Interrupted) as info:
        slim.evaluation.evaluate_once(path, str(tmp_path / "eval"), [torch.ones(1, 2)] * 5,
                                      eval_op=interrupting_eval_op, metrics={"m": metric})
    assert len(seen) == 2 and info.value.code == 130
    message = f"evaluation interrupted at {path}; 0 checkpoints evaluated"
    assert str(info.value) == message
    out, err = capsys.readouterr()
    assert err == message + "\n" and out == ""   # no metric values printed
    assert not (tmp_path / "eval").exists()        # and no summaries written
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # handlers restored


def test_sigterm_while_waiting_stops_evaluation_loop_promptly(tmp_path, capsys):
    """After one evaluation the loop sleeps for eval_interval_secs (60 s);
    SIGTERM half a second in ends it at once."""
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    _save(tmp_path, net, 1, 1.0)
    timer = threading.Timer(0.5, _kill_self, (signal.SIGTERM,))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(Interrupted) as info:
            slim.evaluation.evaluation_loop(str(tmp_path), None, [torch.ones(1, 2)],
                                            eval_op=eval_op, metrics={"m": metric},
                                            eval_interval_secs=60, device=None)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 5
    message = "evaluation interrupted while waiting for a checkpoint; 1 checkpoint evaluated"
    assert info.value.code == 143 and str(info.value) == message
    out, err = capsys.readouterr()
    assert out == "m: 2.0\n" and err == message + "\n"


def test_sigint_during_an_evaluation_of_the_loop(tmp_path, capsys):
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    first = _save(tmp_path, net, 1, 1.0)
    calls = []

    def eval_op_interrupting_the_second_checkpoint(batch):
        calls.append(1)
        eval_op(batch)
        if len(calls) == 1:
            _save(tmp_path, net, 2, 2.0)
        elif len(calls) == 2:
            _kill_self(signal.SIGINT)
    with pytest.raises(Interrupted) as info:
        slim.evaluation.evaluation_loop(str(tmp_path), None, [torch.ones(1, 2)] * 3,
                                        num_evals=1, eval_op=eval_op_interrupting_the_second_checkpoint,
                                        metrics={"m": metric}, eval_interval_secs=0, quiet=True,
                                        device=None)
    second = first.replace("ckpt-1", "ckpt-2")
    assert str(info.value) == f"evaluation interrupted at {second}; 1 checkpoint evaluated"
    assert capsys.readouterr().err == str(info.value) + "\n"


INTERRUPTED_EVAL_SCRIPT = """
import sys, torch, slimtorch as slim
net = slim.Model(lambda x: slim.fully_connected(x, 1, scope="fc"))
with slim.model.dry_run():
    net(torch.ones(1, 2))
slim.checkpoint.CheckpointManager(sys.argv[1]).save(net.named_variables(), global_step=1)
metric = slim.metrics.streaming_mean()
slim.evaluation.evaluation_loop("local", sys.argv[1], None, data=[torch.ones(1, 2)],
                                eval_op=lambda batch: metric.update(net(batch)),
                                metrics={"m": metric}, eval_interval_secs=600, device=None)
"""


@pytest.mark.slow
def test_ctrl_c_ends_an_evaluation_script_without_a_traceback(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "eval.py"
    script.write_text(INTERRUPTED_EVAL_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "train")],
                            env=dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()   # "m: ...": one evaluation done, now waiting
        assert first.startswith("m: "), proc.stderr.read() if proc.poll() is not None else first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "evaluation interrupted while waiting for a checkpoint; 1 checkpoint evaluated")
