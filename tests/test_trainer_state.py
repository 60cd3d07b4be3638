"""slimtorch.training's trainer state: optimizer/RNG/scaler state through a
safetensors companion file, resumed bit-exactly by variable name."""

import json
import os
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.checkpoint import CheckpointManager, load_checkpoint, trainer_state_path
from slimtorch.optimization import make_optimizer
from slimtorch.training import TrainerState, flatten_trainer_state, restore_trainer_state


def net(x):
    x = slim.fully_connected(x, 8, scope="fc1")
    x = slim.dropout(x, 0.5, scope="dropout")          # consumes the torch generator
    return slim.fully_connected(x, 2, activation_fn=None, scope="fc2")


def build(seed):
    torch.manual_seed(seed)
    with slim.Graph():
        model = slim.Model(net)
        model.build((4, 3))
    model.train()
    return model


def run_steps(model, optimizer, steps):
    for _ in range(steps):
        # Data drawn from all three generators, as augmentation code does.
        x = torch.randn(4, 3) * float(np.random.uniform(0.5, 1.5)) + random.random()
        y = torch.randint(0, 2, (4,))
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


OPTIMIZERS = {
    "torch_adam": lambda params: torch.optim.Adam(params, lr=0.01),
    "tf_adam": lambda params: make_optimizer("adam", params, 0.01),
    "tf_rmsprop": lambda params: make_optimizer("rmsprop", params, 0.01),
    "momentum": lambda params: make_optimizer("momentum", params, 0.01),
    "adagrad": lambda params: make_optimizer("adagrad", params, 0.01),
}


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_resume_from_companion_file_is_bit_exact(tmp_path, kind):
    model = build(seed=1)
    named = model.named_variables()
    optimizer = OPTIMIZERS[kind](list(named.values()))
    run_steps(model, optimizer, 3)

    tensors, meta = flatten_trainer_state(
        optimizer, named, {"global_step": 3, "data": {"epoch": 0, "batch": 3}})
    path = CheckpointManager(str(tmp_path)).save(
        {name: v for name, v in named.items()}, 3, trainer_state=tensors, trainer_metadata=meta)

    run_steps(model, optimizer, 3)
    expected = {name: v.detach().clone() for name, v in model.named_variables().items()}

    # Another process, in effect: other seeds, another initialization, and the
    # optimizer lists the parameters in reverse order.
    torch.manual_seed(99), np.random.seed(99), random.seed(99)
    fresh = build(seed=2)
    fresh_named = fresh.named_variables()
    weights = load_checkpoint(path)
    with torch.no_grad():
        for name, var in fresh_named.items():
            var.copy_(weights.get_torch_tensor(name))
    fresh_optimizer = OPTIMIZERS[kind](list(fresh_named.values())[::-1])
    extra = restore_trainer_state(fresh_optimizer, fresh_named,
                                  load_checkpoint(trainer_state_path(path)))
    assert extra == {"global_step": 3, "data": {"epoch": 0, "batch": 3}}

    run_steps(fresh, fresh_optimizer, 3)
    for name, var in fresh.named_variables().items():
        assert torch.equal(var, expected[name]), name


def test_names_and_metadata_are_plain():
    model = build(seed=0)
    named = model.named_variables()
    optimizer = torch.optim.Adam(list(named.values()), lr=0.01)
    run_steps(model, optimizer, 1)
    tensors, meta = flatten_trainer_state(optimizer, named, {"global_step": 1})
    assert "optimizer/fc1/weights/exp_avg" in tensors and "optimizer/fc2/biases/step" in tensors
    assert {"rng/torch", "rng/numpy", "rng/python"} <= set(tensors)
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    assert all(k.startswith("trainer_state/") for k in meta)   # no clash with the file header
    groups = json.loads(meta["trainer_state/optimizer"])["param_groups"]
    assert groups[0]["params"] == list(named) and groups[0]["betas"] == [0.9, 0.999]
    fresh = torch.optim.Adam(list(named.values()), lr=0.5)
    restore_trainer_state(fresh, named, tensors, meta, rng=False)
    assert fresh.param_groups[0]["betas"] == (0.9, 0.999) and fresh.param_groups[0]["lr"] == 0.01
    weights = named["fc1/weights"]
    assert fresh.state[weights]["exp_avg"] is not optimizer.state[weights]["exp_avg"]


def test_scaler_tensor_hyperparameters_scalar_state_and_extra_tensors():
    w = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([w], lr=torch.tensor(0.25), momentum=0.9)
    w.grad = torch.ones(3)
    optimizer.step()
    optimizer.state[w]["note"] = 7                       # a non-tensor state value
    scaler = torch.amp.GradScaler("cpu", init_scale=512.0)
    tensors, meta = flatten_trainer_state(optimizer, {"w": w}, {"ids": torch.arange(3), "pos": 5},
                                          scaler=scaler, rng=False)
    assert "optimizer_groups/0/lr" in tensors and "extra/ids" in tensors

    fresh = torch.optim.SGD([w], lr=torch.tensor(1.0), momentum=0.9)
    fresh_scaler = torch.amp.GradScaler("cpu")
    extra = restore_trainer_state(fresh, {"w": w}, tensors, meta, scaler=fresh_scaler)
    assert extra["pos"] == 5 and torch.equal(extra["ids"], torch.arange(3))
    assert float(fresh.param_groups[0]["lr"]) == 0.25 and fresh.state[w]["note"] == 7
    assert torch.equal(fresh.state[w]["momentum_buffer"], torch.ones(3))
    assert fresh_scaler.get_scale() == 512.0


def test_rng_round_trip():
    tensors, meta = flatten_trainer_state(None, {})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    restore_trainer_state(None, {}, tensors, meta)
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]


def test_errors():
    w, v = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adam([w, v])
    with pytest.raises(ValueError, match="1 of the optimizer's parameters are not in named_params"):
        flatten_trainer_state(optimizer, {"w": w})
    with pytest.raises(TypeError, match="extra is not JSON-serializable"):
        flatten_trainer_state(None, {}, {"bad": object()})
    tensors, meta = flatten_trainer_state(optimizer, {"w": w, "v": v}, rng=False)
    with pytest.raises(ValueError, match="Adam's, not SGD's"):
        restore_trainer_state(torch.optim.SGD([w, v], lr=0.1), {"w": w, "v": v}, tensors, meta)
    other = torch.optim.Adam([w, v])
    with pytest.raises(ValueError, match=r"saved but absent \['v'\], new \['u'\]"):
        restore_trainer_state(other, {"w": w, "u": v}, tensors, meta)
    restore_trainer_state(other, {"w": w, "u": v}, tensors, meta, strict=False)
    with pytest.raises(ValueError, match="no slimtorch trainer state"):
        restore_trainer_state(other, {"w": w, "v": v}, tensors, {})


def test_trainer_state_reads_its_file_once_and_restores_a_train_op(tmp_path):
    """What train() does: capture and save, then on resume one read of the
    companion gives the data position before the models exist, and the
    optimizer, scaler, skipped steps and generators once they are built."""
    def make_train_op():
        model = slim.Model(net)

        def loss_fn(batch):
            slim.losses.mean_squared_error(model(batch), torch.zeros(4, 2))
        return slim.learning.create_train_op(loss_fn, lambda p: torch.optim.Adam(p, lr=0.01))

    with slim.Graph():
        train_op = make_train_op()
        for _ in range(3):
            train_op(torch.randn(4, 3))
        train_op.skipped_steps = 2
        path = TrainerState.capture(train_op, {"data_position": 3}).save(
            CheckpointManager(str(tmp_path)), {"w": torch.ones(1)}, global_step=3)
        expected = (torch.rand(3), np.random.rand(3), random.random())
        moments = {v.name: train_op.optimizer.state[v]["exp_avg"].clone()
                   for v in train_op.variables_to_train}

    state = TrainerState.load(path)
    os.remove(trainer_state_path(path))   # read once: nothing below opens it again
    assert state.extra == {"data_position": 3, "skipped_steps": 2}
    assert state.torch_rng.dtype == torch.uint8
    assert TrainerState.load(str(tmp_path / "model.ckpt-9.safetensors")) is None
    with slim.Graph():
        torch.manual_seed(7)
        fresh = make_train_op().build(torch.randn(4, 3))
        assert state.restore(fresh)["data_position"] == 3
        assert fresh.skipped_steps == 2
        for v in fresh.variables_to_train:
            assert torch.equal(fresh.optimizer.state[v]["exp_avg"], moments[v.name]), v.name
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]
