"""A checkpoint that cannot be written (disk full, logdir not writable): the
error names the file, the previous checkpoint stays the latest and intact,
nothing half-written is left, and ``train`` stops cleanly, or goes on with
``on_save_error='warn'``."""

import errno
import logging
import os

import pytest
import torch
from safetensors import SafetensorError

import slimtorch as slim
from slimtorch import learning, training
from slimtorch._io import atomic
from slimtorch.checkpoint import CheckpointManager, latest_checkpoint, load_checkpoint, safetensors_store
from slimtorch.checkpoint import manager as manager_module
from slimtorch.checkpoint.state_file import STATE_FILENAME


def _data():
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)) for _ in range(3)]


def _train(logdir, steps, **options):
    """A small momentum-SGD regression; returns its weights after training."""
    with slim.Graph():
        torch.manual_seed(0)
        model = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc"))

        def total_loss(batch):
            slim.losses.mean_squared_error(model(batch[0]), batch[1])
        train_op = slim.learning.create_train_op(
            total_loss, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))
        slim.learning.train(train_op, logdir, _data(), number_of_steps=steps,
                            save_interval_steps=1, log_every_n_steps=0, save_summaries_secs=0,
                            device=None, **options)
        return {k: v.detach().clone() for k, v in model.named_variables().items()}


def _disk_full_at_step(monkeypatch, step, times=1):
    """safetensors' writer fails (after writing part of the file) for the
    files of ``step``, the first ``times`` times."""
    real, failures = safetensors_store.save_file, []

    def save_file(tensors, filename, metadata=None):
        if f"model.ckpt-{step}." in os.path.basename(filename) and len(failures) < times:
            failures.append(filename)
            with open(filename, "wb") as f:
                f.write(b"\0" * 16)   # a partial write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(tensors, filename, metadata=metadata)
    monkeypatch.setattr(safetensors_store, "save_file", save_file)
    return failures


def _files(directory):
    return sorted(os.listdir(directory))


def _checkpoint_files(*steps):
    return sorted([STATE_FILENAME] + [f"model.ckpt-{s}{suffix}" for s in steps
                                      for suffix in (".safetensors", ".trainer.safetensors")])


class _Recorder:
    """Stands in for the progress bar and records that it was closed."""

    closed = False

    def update(self, n):
        pass

    def set_postfix(self, **kwargs):
        pass

    def close(self):
        self.closed = True


def test_disk_full_stops_training_cleanly_and_keeps_the_previous_checkpoint(tmp_path,
                                                                           monkeypatch):
    logdir = str(tmp_path / "run")
    _disk_full_at_step(monkeypatch, 3)
    bar, writers = _Recorder(), []

    class RecordingWriter(slim.summaries.SummaryWriter):
        def close(self):
            writers.append("closed")
            super().close()
    monkeypatch.setattr(training, "progress_bar", lambda *args, **kwargs: bar)
    monkeypatch.setattr(learning, "SummaryWriter", RecordingWriter)
    with pytest.raises(OSError) as raised:
        _train(logdir, 5)
    message = str(raised.value)
    assert raised.value.errno == errno.ENOSPC
    # The file being written (the trainer state goes first), the step, the
    # reason, and what is still there:
    assert os.path.join(logdir, "model.ckpt-3.trainer.safetensors") in message
    assert "global step 3" in message and "No space left on device" in message
    assert f"the previous checkpoint ({os.path.join(logdir, 'model.ckpt-2.safetensors')}) " \
           "is intact" in message
    assert bar.closed and writers == ["closed"]
    assert _files(logdir) == _checkpoint_files(1, 2)   # no partial file, no staging directory
    assert latest_checkpoint(logdir) == os.path.join(logdir, "model.ckpt-2.safetensors")

    # The previous checkpoint is intact: resuming from it (disk freed) ends
    # exactly where an uninterrupted run does.
    monkeypatch.undo()
    resumed = _train(logdir, 5)
    straight = _train(str(tmp_path / "straight"), 5)
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_on_save_error_warn_names_the_file_and_keeps_training(tmp_path, monkeypatch, caplog):
    logdir = str(tmp_path / "run")
    failures = _disk_full_at_step(monkeypatch, 3)
    with caplog.at_level(logging.WARNING, logger="slimtorch.learning"):
        weights = _train(logdir, 5, on_save_error="warn")
    assert len(failures) == 1
    warnings = [r.getMessage() for r in caplog.records if "could not save" in r.getMessage()]
    assert len(warnings) == 1
    assert os.path.join(logdir, "model.ckpt-3.trainer.safetensors") in warnings[0]
    assert "global step 3" in warnings[0] and "training goes on" in warnings[0]
    assert _files(logdir) == _checkpoint_files(1, 2, 4, 5)   # the next saves worked
    monkeypatch.undo()
    straight = _train(str(tmp_path / "straight"), 5)
    assert all(torch.equal(weights[k], straight[k]) for k in straight)   # training went on
    with load_checkpoint(logdir) as reader:
        assert reader.global_step == 5


def test_bad_on_save_error():
    with pytest.raises(ValueError, match="on_save_error must be 'raise' or 'warn', got 'ignore'"):
        slim.learning.train(lambda batch: torch.zeros(()), None, [], on_save_error="ignore")


def test_unwritable_logdir_simulated(tmp_path, monkeypatch):
    """As if ``logdir`` were read-only (tests may run as root, where chmod
    does not stop writes): creating the write's staging directory fails."""
    logdir = str(tmp_path / "run")
    _train(logdir, 2)

    def denied(directory):
        raise PermissionError(errno.EACCES, "Permission denied", directory)
    monkeypatch.setattr(atomic, "_staging_directory", denied)
    with pytest.raises(PermissionError, match=r"could not write .*model.ckpt-3.trainer"
                                              r".safetensors: Permission denied"):
        _train(logdir, 4)
    assert _files(logdir) == _checkpoint_files(1, 2)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_unwritable_logdir_for_real(tmp_path):
    logdir = tmp_path / "run"
    _train(str(logdir), 2)
    logdir.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"could not write .*model.ckpt-3"):
            _train(str(logdir), 4)
    finally:
        logdir.chmod(0o700)
    assert _files(logdir) == _checkpoint_files(1, 2)


def test_disk_full_while_writing_the_state_file_keeps_the_previous_one(tmp_path, monkeypatch):
    directory = str(tmp_path)
    manager = CheckpointManager(directory, max_to_keep=2)
    for step in (1, 2):
        manager.save({"w": torch.full((3,), float(step))}, step, trainer_state={"m": torch.ones(1)})
    with open(os.path.join(directory, STATE_FILENAME)) as f:
        state_before = f.read()
    real = manager_module.update_checkpoint_state

    def full(directory, latest, kept):
        with atomic.atomic_write(os.path.join(directory, STATE_FILENAME), "w") as f:
            f.write('model_checkpoint_path: "model')   # half a line, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(manager_module, "update_checkpoint_state", full)
    with pytest.raises(OSError, match=r"could not write .*checkpoint: No space left on device"):
        manager.save({"w": torch.full((3,), 3.0)}, 3, trainer_state={"m": torch.ones(1)})
    monkeypatch.setattr(manager_module, "update_checkpoint_state", real)
    with open(os.path.join(directory, STATE_FILENAME)) as f:
        assert f.read() == state_before
    assert _files(directory) == _checkpoint_files(1, 2)   # step 3's files removed again
    with load_checkpoint(directory) as reader:
        assert reader.get_tensor("w").tolist() == [2.0, 2.0, 2.0]
    assert manager.latest_checkpoint.endswith("model.ckpt-2.safetensors")
    manager.save({"w": torch.full((3,), 3.0)}, 3)   # space again: saving works, rotation too
    assert manager.latest_checkpoint.endswith("model.ckpt-3.safetensors")
    assert _files(directory) == sorted(_checkpoint_files(2) + ["model.ckpt-3.safetensors"])


def test_writer_errors_of_safetensors_become_os_errors_naming_the_file(tmp_path):
    """safetensors reports a full disk as ``SafetensorError('... (os error 28)')``."""
    path = str(tmp_path / "model.ckpt-9.safetensors")
    with pytest.raises(OSError) as raised:
        with atomic.atomic_path(path):
            raise SafetensorError("Error while serializing: I/O error: No space left on device "
                                  "(os error 28)")
    assert raised.value.errno == errno.ENOSPC
    assert str(raised.value) == f"[Errno 28] could not write {path}: No space left on device"
    assert isinstance(raised.value.__cause__, SafetensorError)
    with pytest.raises(SafetensorError):   # not an I/O error: left as it is
        with atomic.atomic_path(path):
            raise SafetensorError("invalid tensor")
    assert os.listdir(tmp_path) == []


def test_a_killed_processes_unfinished_writes_are_removed_on_the_next_start(tmp_path):
    """A dead process's temp file, and its staging directory holding what
    ``safetensors`` leaves when killed mid-write (its own ``.tmpXXXXXX``
    file), are removed when the next manager opens the directory; a live
    process's writes, another host's and other programs' are left alone."""
    host = atomic._host()
    dead_pid = 999999999
    dead = tmp_path / f"{atomic.STAGING_PREFIX}{host}-{dead_pid}-abc"
    dead.mkdir()
    (dead / ".tmpAbC123").write_bytes(b"\0" * 1000)
    (tmp_path / f"checkpoint{atomic.TMP_MARKER}{host}-{dead_pid}").write_text("model_chec")
    kept = [f"{atomic.STAGING_PREFIX}{host}-{os.getppid()}-def",   # alive
            f"{atomic.STAGING_PREFIX}elsewhere-{dead_pid}-ghi",    # another host's
            f"model.ckpt-1.safetensors{atomic.TMP_MARKER}{host}-{os.getppid()}",
            "data.tfrecord.tmp-77"]                                # not slimtorch's
    for name in kept:
        (tmp_path / name).mkdir()
    CheckpointManager(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(kept)


def test_rotation_interrupted_between_deleting_and_renaming_leaves_nothing_behind(tmp_path,
                                                                                monkeypatch):
    """Rotation deletes the old files first, then rewrites the state file: a
    crash in between leaves a name without files, which the next manager drops."""
    manager = CheckpointManager(str(tmp_path), max_to_keep=2)
    for step in (1, 2):
        manager.save({"w": torch.ones(1)}, step, trainer_state={"m": torch.ones(1)})

    def crash(*args):
        raise KeyboardInterrupt   # the process dies here
    real = manager_module.update_checkpoint_state
    calls = []
    monkeypatch.setattr(manager_module, "update_checkpoint_state",
                        lambda *a: calls.append(a) or (real(*a) if len(calls) == 1 else crash()))
    with pytest.raises(KeyboardInterrupt):
        manager.save({"w": torch.ones(1)}, 3, trainer_state={"m": torch.ones(1)})
    monkeypatch.undo()
    assert _files(tmp_path) == _checkpoint_files(2, 3)   # step 1's files are gone already
    reopened = CheckpointManager(str(tmp_path), max_to_keep=2)
    assert [os.path.basename(p) for p in reopened.checkpoints] == \
        ["model.ckpt-2.safetensors", "model.ckpt-3.safetensors"]
