"""One trainer per training directory: ``slim.learning.train`` locks its
logdir; a second trainer fails with a one-line TrainDirLockedError naming
the holder, a lock left by a dead process is taken over with a warning, and
the lock goes away on every exit path."""

import json
import logging
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import latest_checkpoint
from slimtorch.learning import TrainDirLockedError
from slimtorch.training import LOCK_FILENAME, TrainDirLock

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def _train(logdir, steps=3, data=None, fail_at=None):
    with slim.Graph():
        model = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc"))
        calls = [-1]

        def total_loss(batch):
            calls[0] += 1
            if calls[0] == fail_at:
                raise ValueError("the loss function failed")
            slim.losses.mean_squared_error(model(batch[0]), batch[1])
        train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.1))
        data = data if data is not None else [(torch.ones(2, 3), torch.zeros(2, 1))]
        return slim.learning.train(train_op, logdir, data, number_of_steps=steps,
                                   log_every_n_steps=0)


def _write_lock(directory, **holder):
    os.makedirs(directory, exist_ok=True)
    content = {"host": socket.gethostname(), "since": "2026-01-01 00:00:00 +0000",
               "command": "train.py --train_dir x", "token": "theirs", **holder}
    (pathlib.Path(directory) / LOCK_FILENAME).write_text(json.dumps(content))


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_second_lock_on_the_directory_fails_with_one_line_naming_the_holder(tmp_path):
    with TrainDirLock(str(tmp_path)) as lock:
        holder = lock.holder()
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        errors = []
        thread = threading.Thread(target=lambda: errors.append(_raises(TrainDirLock(str(tmp_path)))))
        thread.start()
        thread.join()
        message = str(errors[0])
        assert isinstance(errors[0], TrainDirLockedError) and isinstance(errors[0], RuntimeError)
        assert "\n" not in message
        assert f"{tmp_path} is in use by another trainer (host {socket.gethostname()}, " \
               f"pid {os.getpid()}, since {holder['since']}" in message
        assert f"delete {lock.path}" in message and "another logdir/--train_dir" in message
    assert not os.path.exists(lock.path)
    TrainDirLock(str(tmp_path)).acquire().release()   # free again


def _raises(lock):
    try:
        lock.acquire()
    except TrainDirLockedError as error:
        return error
    lock.release()
    return None


def test_train_refuses_a_directory_a_live_trainer_holds(tmp_path):
    _write_lock(tmp_path, pid=os.getppid())   # alive, and not this process
    with pytest.raises(TrainDirLockedError, match=f"pid {os.getppid()}, since 2026-01-01") as error:
        _train(str(tmp_path))
    assert "\n" not in str(error.value)
    assert latest_checkpoint(str(tmp_path)) is None    # nothing written
    assert json.loads((tmp_path / LOCK_FILENAME).read_text())["token"] == "theirs"   # untouched


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    _write_lock(tmp_path, host="elsewhere.example", pid=_dead_pid())
    with pytest.raises(TrainDirLockedError, match="host elsewhere.example"):
        _train(str(tmp_path))


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_warning(tmp_path, caplog):
    pid = _dead_pid()
    _write_lock(tmp_path, pid=pid)
    with caplog.at_level(logging.WARNING, logger="slimtorch"):
        _train(str(tmp_path))
    warnings = [r.getMessage() for r in caplog.records if "taking over the lock" in r.getMessage()]
    assert len(warnings) == 1 and f"pid {pid} no longer runs" in warnings[0]
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-3.safetensors")
    assert not os.path.exists(tmp_path / LOCK_FILENAME)   # released at the end


def test_a_lock_whose_pid_was_reused_is_stale(tmp_path):
    """The pid runs, but a process started later than the lock's holder has it."""
    _write_lock(tmp_path, pid=os.getppid(), process_start="1")
    _train(str(tmp_path))
    assert latest_checkpoint(str(tmp_path)) is not None


def test_the_lock_is_released_when_training_fails(tmp_path):
    with pytest.raises(ValueError, match="the loss function failed"):
        _train(str(tmp_path), fail_at=2)
    assert not os.path.exists(tmp_path / LOCK_FILENAME)
    _train(str(tmp_path))   # the directory is free again


def test_a_second_train_in_another_thread_fails_while_the_first_runs(tmp_path):
    started, finish = threading.Event(), threading.Event()

    class Blocking:   # the first trainer waits in its data until the second one tried
        def __iter__(self):
            started.set()
            assert finish.wait(60)
            yield torch.ones(2, 3), torch.zeros(2, 1)
    results = []
    first = threading.Thread(target=lambda: results.append(_train(str(tmp_path), data=Blocking())))
    first.start()
    try:
        assert started.wait(60)
        with pytest.raises(TrainDirLockedError, match=f"pid {os.getpid()}"):
            _train(str(tmp_path))
    finally:
        finish.set()
        first.join()
    assert results and results[0] is not None
    assert not os.path.exists(tmp_path / LOCK_FILENAME)


def test_a_directory_that_takes_no_lock_file_trains_as_before(tmp_path, monkeypatch, caplog):
    """A read-only logdir (simulated: tests may run as root) fails on its
    first checkpoint, as it always did, not on the lock."""
    import errno

    from slimtorch.training import _train_dir_lock

    def denied(path, mode="wb"):
        raise PermissionError(errno.EACCES, "Permission denied", path)
    monkeypatch.setattr(_train_dir_lock, "atomic_write", denied)
    with caplog.at_level(logging.WARNING, logger="slimtorch"):
        _train(str(tmp_path))
    assert any("training without a lock (Permission denied)" in r.getMessage()
               for r in caplog.records)
    assert latest_checkpoint(str(tmp_path)) is not None


def test_no_logdir_takes_no_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _train(None)
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_a_second_training_process_on_the_directory_fails(tmp_path):
    """Two processes, as two users would start them: the second exits with
    the one-line error while the first trains on, undisturbed (until it is
    stopped with Ctrl-C, which releases the lock too)."""
    sys.path.insert(0, str(SCRIPTS))
    import kill_test

    run, log = str(tmp_path / "run"), str(tmp_path / "first.log")
    first = subprocess.Popen(kill_test.job_command(run, 2000, log, step_delay=0.05,
                                                   log_every_n_steps=1, save_interval_steps=5))
    try:
        deadline = time.monotonic() + 120
        while "global step 1:" not in (open(log).read() if os.path.exists(log) else ""):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        second = subprocess.run(kill_test.job_command(run, 2000, os.devnull), capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 1, second.stderr
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith("slimtorch.training._train_dir_lock.TrainDirLockedError: train: "), \
            second.stderr
        assert f"is in use by another trainer (host {socket.gethostname()}, pid {first.pid}" in last
        assert first.poll() is None   # still training
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=120) == 130
    finally:
        if first.poll() is None:
            first.kill()
    assert latest_checkpoint(run) is not None
    assert not os.path.exists(os.path.join(run, LOCK_FILENAME))
