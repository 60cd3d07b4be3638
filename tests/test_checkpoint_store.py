"""slimtorch checkpoints: safetensors files, the checkpoint directory, atomicity."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors import safe_open

import slimtorch as slim
from slimtorch.checkpoint import (CheckpointError, CheckpointManager, get_checkpoint_state,
                                  latest_checkpoint, load_checkpoint, save_checkpoint,
                                  trainer_state_path)


def test_save_writes_plain_safetensors_with_metadata(tmp_path):
    path = str(tmp_path / "m.safetensors")
    save_checkpoint(path, {"vgg_16/conv1/conv1_1/weights": torch.arange(6.).reshape(2, 3)},
                    global_step=12)
    with safe_open(path, "pt") as f:  # any safetensors tool reads it
        assert list(f.keys()) == ["vgg_16/conv1/conv1_1/weights"]
        meta = f.metadata()
    assert meta["global_step"] == "12" and meta["layout"] == "torch"
    assert meta["format"] == "slimtorch" and meta["slimtorch_version"] == slim.__version__
    assert os.listdir(tmp_path) == ["m.safetensors"]   # no temp file left behind


def test_round_trip_is_bit_exact(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.randn(5).to(torch.bfloat16),
               "c": torch.arange(4, dtype=torch.int64), "d": torch.randn(2, 2).double()}
    path = str(tmp_path / "x.safetensors")
    save_checkpoint(path, tensors)
    reader = load_checkpoint(path)
    for name, tensor in tensors.items():
        got = reader.get_torch_tensor(name)
        assert got.dtype == tensor.dtype and torch.equal(got, tensor)
    assert reader.get_variable_to_shape_map() == {"a": [3, 4], "b": [5], "c": [4], "d": [2, 2]}


def test_save_rejects_meta_and_non_tensors(tmp_path):
    with pytest.raises(ValueError, match="'w' is on the meta device"):
        save_checkpoint(str(tmp_path / "a.safetensors"), {"w": torch.empty(2, device="meta")})
    with pytest.raises(TypeError, match="'w' is a list"):
        save_checkpoint(str(tmp_path / "a.safetensors"), {"w": [1.0]})
    assert os.listdir(tmp_path) == []


def test_manager_keeps_newest_and_writes_tf_state_file(tmp_path):
    manager = CheckpointManager(str(tmp_path), max_to_keep=3)
    for step in range(1, 6):
        manager.save({"w": torch.full((2,), float(step))}, step,
                     trainer_state={"optimizer/step": torch.tensor(step)})
    names = sorted(os.listdir(tmp_path))
    assert names == ["checkpoint"] + [f"model.ckpt-{s}{ext}" for s in (3, 4, 5)
                                      for ext in (".safetensors", ".trainer.safetensors")]
    text = (tmp_path / "checkpoint").read_text()
    assert text.splitlines() == [
        'model_checkpoint_path: "model.ckpt-5.safetensors"',
        'all_model_checkpoint_paths: "model.ckpt-3.safetensors"',
        'all_model_checkpoint_paths: "model.ckpt-4.safetensors"',
        'all_model_checkpoint_paths: "model.ckpt-5.safetensors"']
    latest = latest_checkpoint(str(tmp_path))
    assert latest == str(tmp_path / "model.ckpt-5.safetensors")
    assert load_checkpoint(str(tmp_path)).get_tensor("w").tolist() == [5.0, 5.0]
    assert load_checkpoint(trainer_state_path(latest)).get_tensor("optimizer/step") == 5


def test_manager_continues_an_existing_directory(tmp_path):
    CheckpointManager(str(tmp_path), max_to_keep=2).save({"w": torch.zeros(1)}, 1)
    resumed = CheckpointManager(str(tmp_path), max_to_keep=2)
    resumed.save({"w": torch.zeros(1)}, 2)
    resumed.save({"w": torch.zeros(1)}, 3)
    assert [os.path.basename(p) for p in resumed.checkpoints] == [
        "model.ckpt-2.safetensors", "model.ckpt-3.safetensors"]
    assert not (tmp_path / "model.ckpt-1.safetensors").exists()


def test_state_file_reads_tensorflow_directories(tmp_path):
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-2000"\n'
        'all_model_checkpoint_paths: "model.ckpt-1000"\n'
        'all_model_checkpoint_paths: "model.ckpt-2000"\n'
        'all_model_checkpoint_timestamps: 1700000000.5\n')
    (tmp_path / "model.ckpt-2000.index").write_bytes(b"")
    state = get_checkpoint_state(str(tmp_path))
    assert state.all_model_checkpoint_paths == [str(tmp_path / "model.ckpt-1000"),
                                                str(tmp_path / "model.ckpt-2000")]
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-2000")
    (tmp_path / "checkpoint").write_text("garbage line\n")
    with pytest.raises(CheckpointError, match=r"checkpoint:1: not a checkpoint state line"):
        get_checkpoint_state(str(tmp_path))


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    manager = CheckpointManager(str(tmp_path))
    manager.save({"w": torch.ones(1)}, 1)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match=r"model.ckpt-2.safetensors.*No space left"):
        manager.save({"w": torch.ones(1) * 2}, 2)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-1.safetensors"]
    assert load_checkpoint(str(tmp_path)).get_tensor("w").tolist() == [1.0]


ENV = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
WRITER = textwrap.dedent("""
    import sys, torch
    from slimtorch.checkpoint import CheckpointManager
    manager = CheckpointManager(sys.argv[1], max_to_keep=2)
    step = int(sys.argv[2])
    while True:
        step += 1
        manager.save({"w": torch.full((1 << 20,), float(step)), "step": torch.tensor(step)}, step)
        print(step, flush=True)
""")


@pytest.mark.slow
def test_killed_writer_leaves_a_readable_latest_checkpoint(tmp_path):
    """SIGKILL a process that saves in a loop, at varied moments, several times."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    directory = tmp_path / "run"
    step = 0
    for delay in (0.0, 0.01, 0.03, 0.05, 0.08, 0.13):
        proc = subprocess.Popen([sys.executable, str(script), str(directory), str(step)],
                                stdout=subprocess.PIPE, text=True, env=ENV)
        proc.stdout.readline()       # one save committed: now kill at a varied moment
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        latest = latest_checkpoint(str(directory))
        reader = load_checkpoint(latest)
        saved = int(reader.get_tensor("step"))
        assert (reader.get_tensor("w") == saved).all()
        assert latest.endswith(f"model.ckpt-{saved}.safetensors")
        assert saved > step
        step = saved
        leftovers = [n for n in os.listdir(directory) if ".tmp-" in n]
        for name in leftovers:       # a killed write leaves only its temp file
            os.remove(directory / name)
