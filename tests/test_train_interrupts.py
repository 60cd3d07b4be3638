"""Ctrl-C (SIGINT) and SIGTERM stop ``slim.learning.train`` without losing
work: the update in progress finishes, its step is checkpointed, one line
says where, and the process exits with the shell's code for the signal
(130, 143) and no traceback. Resuming then ends exactly where an
uninterrupted run ends."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import CheckpointManager, latest_checkpoint
from slimtorch.checkpoint.manager import checkpoint_problem
from slimtorch.learning import Interrupted

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def _data():
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)) for _ in range(5)]


def _run(logdir, steps, signal_at=None, signum=signal.SIGINT, accumulate=1, **options):
    """Trains a small regression (dropout and Adam: random numbers and
    optimizer state to resume) in a fresh graph; the loss function sends
    ``signum`` to this process on its ``signal_at``-th call (the build's
    dry run is call 0). Returns the model's weights."""
    with slim.Graph():
        torch.manual_seed(3)
        model = slim.Model(lambda x: slim.fully_connected(
            slim.dropout(slim.fully_connected(x, 8, scope="h"), 0.7), 1, activation_fn=None,
            scope="out"))
        calls = [-1]

        def total_loss(batch):
            calls[0] += 1
            if calls[0] == signal_at:
                os.kill(os.getpid(), signum)
            x, y = batch
            slim.losses.mean_squared_error(model(x), y)
        train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.Adam(p, lr=0.01),
                                                 gradient_accumulation_steps=accumulate)
        options.setdefault("log_every_n_steps", 0)
        slim.learning.train(train_op, logdir, _data(), number_of_steps=steps, **options)
        return {k: v.detach().clone() for k, v in model.named_variables().items()}


def test_sigint_checkpoints_the_last_step_and_resuming_equals_the_uninterrupted_run(tmp_path, capsys):
    logdir, handler = str(tmp_path / "run"), signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as stopped:
        _run(logdir, 12, signal_at=4)   # during step 4: it finishes, then the run stops
    assert stopped.value.code == 130 and stopped.value.signum == signal.SIGINT
    path = os.path.join(logdir, "model.ckpt-4.safetensors")
    line = f"interrupted at global step 4; checkpoint saved to {path}; run the same command to resume"
    assert str(stopped.value) == line
    assert capsys.readouterr().err.splitlines() == [line]     # one line, nothing else
    assert latest_checkpoint(logdir) == path and checkpoint_problem(path) is None
    assert not os.path.exists(os.path.join(logdir, "train.lock"))   # released
    assert signal.getsignal(signal.SIGINT) is handler   # restored

    resumed = _run(logdir, 12)
    straight = _run(str(tmp_path / "straight"), 12)
    for name, value in straight.items():
        assert torch.equal(resumed[name], value), name


def test_sigterm_exits_143_and_the_interrupted_step_gets_a_summary(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with pytest.raises(Interrupted) as stopped:
        _run(str(tmp_path), 100, signal_at=3, signum=signal.SIGTERM, save_summaries_steps=50)
    assert stopped.value.code == 143
    assert "interrupted at global step 3; checkpoint saved to" in capsys.readouterr().err
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [e.step for e in events.Scalars("total_loss")] == [1, 3]   # first, interrupted


def test_without_a_logdir_the_line_says_nothing_was_saved(capsys):
    with pytest.raises(Interrupted) as stopped:
        _run(None, 10, signal_at=2)
    assert str(stopped.value) == "interrupted at global step 2; nothing was saved (no logdir)"
    assert capsys.readouterr().err.strip() == str(stopped.value)


def test_the_update_in_progress_finishes_before_stopping(tmp_path):
    """With gradient accumulation a signal during the first micro-batch of
    update 2 still lets update 2 complete: a checkpoint between the
    micro-batches of an update could not hold their gradients."""
    with pytest.raises(Interrupted) as stopped:
        _run(str(tmp_path), 10, signal_at=3, accumulate=2)
    assert "at global step 2;" in str(stopped.value)
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-2.safetensors")


def test_a_second_sigint_during_the_checkpoint_write_waits_for_it(tmp_path, monkeypatch):
    """The second Ctrl-C aborts (KeyboardInterrupt), but only once the
    checkpoint being written is complete and named."""
    save = CheckpointManager.save

    def save_interrupted_twice(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)   # arrives inside the write
        return save(self, *args, **kwargs)
    monkeypatch.setattr(CheckpointManager, "save", save_interrupted_twice)
    with pytest.raises(KeyboardInterrupt, match="second signal SIGINT"):
        _run(str(tmp_path), 10, signal_at=2)
    path = latest_checkpoint(str(tmp_path))
    assert path.endswith("model.ckpt-2.safetensors") and checkpoint_problem(path) is None
    assert not os.path.exists(tmp_path / "train.lock")


# -- in a process of its own, as a user runs it ------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_training_process_exits_cleanly_and_resumes_exactly(tmp_path, signum):
    """scripts/kill_test.py's job, checkpointing only at the end: the
    checkpoint comes from the interrupt. Exit code, the one line and no
    traceback; resuming to the end equals the uninterrupted run bit for bit
    (weights and trainer state)."""
    sys.path.insert(0, str(SCRIPTS))
    import kill_test

    steps, run, log = 40, str(tmp_path / "run"), str(tmp_path / "run.log")
    options = dict(save_interval_steps=1000, step_delay=0.05, log_every_n_steps=1)
    process = subprocess.Popen(kill_test.job_command(run, steps, log, **options),
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while "global step 3:" not in (open(log).read() if os.path.exists(log) else ""):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    process.send_signal(signum)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1, stderr
    stopped_at = kill_test._latest_step(run)
    assert 3 <= stopped_at < steps
    assert lines[0] == (f"interrupted at global step {stopped_at}; checkpoint saved to "
                        f"{latest_checkpoint(run)}; run the same command to resume")

    subprocess.run(kill_test.job_command(run, steps, log, save_interval_steps=1000), check=True,
                   timeout=120)
    straight = str(tmp_path / "straight")
    subprocess.run(kill_test.job_command(straight, steps, os.devnull, save_interval_steps=1000),
                   check=True, timeout=120)
    final, expected = latest_checkpoint(run), latest_checkpoint(straight)
    assert final.endswith(f"-{steps}.safetensors") and expected.endswith(f"-{steps}.safetensors")
    assert kill_test._same(kill_test._read_all(final), kill_test._read_all(expected))


TORCHRUN_JOB = """
import os, sys, time, torch, slimtorch as slim
logdir = sys.argv[1]
torch.manual_seed(0)
model = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc"))
g = torch.Generator().manual_seed(1)
data = [(torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g)) for _ in range(8)]
calls = [0]
def total_loss(batch):
    time.sleep(0.05)
    calls[0] += 1
    with open(os.path.join(os.path.dirname(logdir), "calls-" + os.environ["RANK"]), "w") as f:
        f.write(str(calls[0]))
    slim.losses.mean_squared_error(model(batch[0]), batch[1])
op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.01))
try:
    slim.learning.train(op, logdir, data, number_of_steps=400, log_every_n_steps=1,
                        save_interval_steps=1000, device=None)
finally:
    print("rank", os.environ["RANK"], "stopped at", int(slim.get_global_step()), flush=True)
"""


@pytest.mark.slow
def test_under_torchrun_a_signal_to_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from torchrun_job import free_port, rank_env

    script = tmp_path / "job.py"
    script.write_text(TORCHRUN_JOB)
    port, logdir = free_port(), str(tmp_path / "run")
    procs = [subprocess.Popen([sys.executable, str(script), logdir], env=rank_env(r, 2, port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    try:
        deadline, calls = time.monotonic() + 120, tmp_path / "calls-1"
        while not (calls.exists() and calls.read_text() and int(calls.read_text()) >= 5):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.02)   # until a few steps are done
        procs[1].send_signal(signal.SIGINT)   # rank 1 only
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [130, 130], outputs
    steps = {line.split()[-1] for out, _ in outputs for line in out.splitlines()
             if " stopped at " in line}
    assert len(steps) == 1, outputs   # the same step on both ranks
    step = int(steps.pop())
    assert latest_checkpoint(logdir).endswith(f"model.ckpt-{step}.safetensors")
    interrupted = [line for _, err in outputs for line in err.splitlines()
                   if line.startswith("interrupted at global step")]
    assert len(interrupted) == 1 and f"global step {step};" in interrupted[0], outputs   # the chief's
    assert not any("Traceback" in err for _, err in outputs), outputs
