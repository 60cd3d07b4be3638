"""slimtorch.optimization: research/slim's learning-rate schedules and optimizers,
checked against TF 1's formulas written out in NumPy (training_ops.cc kernels,
learning_rate_decay.py, moving_averages.py)."""

import math

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch.optimization import (ExponentialMovingAverage, TFAdam, TFRMSprop, exponential_decay,
                                    get_learning_rate, learning_rate_schedule, make_optimizer,
                                    polynomial_decay, set_learning_rate)


# -- schedules -------------------------------------------------------------------
def test_exponential_staircase_hand_values():
    lr = learning_rate_schedule("exponential", 0.01, decay_steps=100)  # research/slim defaults
    assert lr(0) == 0.01 and lr(99) == 0.01
    assert lr(100) == pytest.approx(0.0094, rel=1e-15)
    assert lr(250) == pytest.approx(0.01 * 0.94 ** 2, rel=1e-15)
    smooth = learning_rate_schedule("exponential", 0.01, decay_steps=100, staircase=False)
    assert smooth(50) == pytest.approx(0.01 * 0.94 ** 0.5, rel=1e-15)
    assert exponential_decay(1.0, 3, 2, 0.5) == pytest.approx(0.5 ** 1.5)


def test_decay_steps_from_epochs_like_research_slim():
    # ImageNet: int(1281167 / 32 * 2.0) = int(80072.9375)
    lr = learning_rate_schedule(num_samples=1281167, batch_size=32)
    assert lr.params["decay_steps"] == 80072
    assert lr(80071) == 0.01 and lr(80072) == pytest.approx(0.0094)
    assert "decay_steps=80072" in repr(lr)


def test_polynomial_hand_values():
    lr = learning_rate_schedule("polynomial", 0.1, decay_steps=100, end_learning_rate=0.001)
    assert lr(0) == pytest.approx(0.1)
    assert lr(25) == pytest.approx((0.1 - 0.001) * 0.75 + 0.001)
    assert lr(100) == pytest.approx(0.001) and lr(1000) == pytest.approx(0.001)
    squared = learning_rate_schedule("polynomial", 0.1, decay_steps=100, end_learning_rate=0.0,
                                     power=2.0)
    assert squared(50) == pytest.approx(0.1 * 0.25)


def test_polynomial_cycle():
    # TF: multiplier = 1 at step 0, else ceil(step / decay_steps).
    assert polynomial_decay(0.1, 0, 10, 0.0, cycle=True) == pytest.approx(0.1)
    assert polynomial_decay(0.1, 10, 10, 0.0, cycle=True) == pytest.approx(0.0)
    assert polynomial_decay(0.1, 11, 10, 0.0, cycle=True) == pytest.approx(0.1 * (1 - 11 / 20))
    assert polynomial_decay(0.1, 25, 10, 0.0, cycle=True) == pytest.approx(0.1 * (1 - 25 / 30))


def test_fixed_and_errors():
    assert learning_rate_schedule("fixed", 0.3)(10 ** 6) == 0.3
    with pytest.raises(ValueError, match="was not recognized"):
        learning_rate_schedule("cosine")
    with pytest.raises(ValueError, match="needs decay_steps"):
        learning_rate_schedule("exponential")
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        learning_rate_schedule("polynomial", num_samples=10, batch_size=32, num_epochs_per_decay=1)


def test_set_learning_rate_changes_the_step():
    w = torch.nn.Parameter(torch.zeros(2))
    opt = make_optimizer("sgd", [w], 0.1)
    lr = learning_rate_schedule("exponential", 1.0, decay_steps=1, learning_rate_decay_factor=0.5)
    for step in range(3):
        set_learning_rate(opt, lr(step))
        w.grad = torch.ones(2)
        opt.step()
    assert torch.allclose(w, torch.full((2,), -(1.0 + 0.5 + 0.25)))
    assert get_learning_rate(opt) == 0.25
    tensor_lr = torch.optim.SGD([w], lr=torch.tensor(0.1))
    set_learning_rate(tensor_lr, 0.2)
    assert isinstance(tensor_lr.param_groups[0]["lr"], torch.Tensor)
    assert get_learning_rate(tensor_lr) == pytest.approx(0.2)


# -- optimizers against TF's kernels ------------------------------------------------------
def tf_sgd(var, g, s, lr, **_):
    return var - lr * g


def tf_momentum(var, g, s, lr, momentum=0.9):
    s["accum"] = s.get("accum", np.zeros_like(var)) * momentum + g
    return var - lr * s["accum"]


def tf_rmsprop(var, g, s, lr, decay=0.9, momentum=0.9, epsilon=1.0, centered=False):
    ms = s.setdefault("ms", np.ones_like(var))          # TF 1: the rms slot starts at one
    mom = s.setdefault("mom", np.zeros_like(var))
    ms += (g * g - ms) * (1 - decay)
    denom = ms + epsilon
    if centered:
        mg = s.setdefault("mg", np.zeros_like(var))
        mg += (g - mg) * (1 - decay)
        denom = ms - mg * mg + epsilon
    s["mom"] = mom * momentum + g * lr / np.sqrt(denom)
    return var - s["mom"]


def tf_adam(var, g, s, lr, beta1=0.9, beta2=0.999, epsilon=1.0):
    t = s["t"] = s.get("t", 0) + 1
    m = s.setdefault("m", np.zeros_like(var))
    v = s.setdefault("v", np.zeros_like(var))
    alpha = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    m += (g - m) * (1 - beta1)
    v += (g * g - v) * (1 - beta2)
    return var - m * alpha / (np.sqrt(v) + epsilon)


def tf_adagrad(var, g, s, lr, initial_accumulator_value=0.1):
    accum = s.setdefault("accum", np.full_like(var, initial_accumulator_value))
    accum += g * g
    return var - lr * g / np.sqrt(accum)


def tf_adadelta(var, g, s, lr, rho=0.95, epsilon=1.0):
    accum = s.setdefault("accum", np.zeros_like(var))
    accum_update = s.setdefault("accum_update", np.zeros_like(var))
    accum[...] = accum * rho + g * g * (1 - rho)
    update = np.sqrt(accum_update + epsilon) / np.sqrt(accum + epsilon) * g
    accum_update[...] = accum_update * rho + update * update * (1 - rho)
    return var - update * lr


def tf_ftrl(var, g, s, lr, learning_rate_power=-0.5, initial_accumulator_value=0.1, l1=0.0, l2=0.0):
    accum = s.setdefault("accum", np.full_like(var, initial_accumulator_value))
    linear = s.setdefault("linear", np.zeros_like(var))
    p = -learning_rate_power
    new_accum = accum + g * g
    linear += g - (new_accum ** p - accum ** p) / lr * var
    quadratic = new_accum ** p / lr + 2 * l2
    s["accum"] = new_accum
    return np.where(np.abs(linear) > l1, (np.sign(linear) * l1 - linear) / quadratic, 0.0)


REFERENCES = {"sgd": tf_sgd, "momentum": tf_momentum, "rmsprop": tf_rmsprop, "adam": tf_adam,
              "adagrad": tf_adagrad, "adadelta": tf_adadelta, "ftrl": tf_ftrl}
CASES = [(name, {}) for name in REFERENCES] + [
    ("rmsprop", {"centered": True, "momentum": 0.5, "epsilon": 1e-3}),
    ("adam", {"beta1": 0.5, "beta2": 0.9, "epsilon": 1e-8}),
    ("ftrl", {"l1": 0.05, "l2": 0.1, "learning_rate_power": -0.7}),
    ("momentum", {"momentum": 0.5}),
]


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_optimizer_steps_match_tf_formulas(name, options):
    rng = np.random.default_rng(0)
    init = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    params = [torch.nn.Parameter(torch.tensor(x)) for x in init]   # float64: tight comparison
    opt = make_optimizer(name, params, 0.1, **options)
    ref_vars, ref_state = [x.copy() for x in init], [{}, {}]
    for step, lr in enumerate([0.1, 0.05, 0.2, 0.2]):
        set_learning_rate(opt, lr)
        grads = [rng.normal(size=x.shape) for x in init]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        if step == 2:
            params[1].grad = None       # no gradient: TF would not touch it either
        opt.step()
        for i, g in enumerate(grads):
            if not (step == 2 and i == 1):
                ref_vars[i] = REFERENCES[name](ref_vars[i], g, ref_state[i], lr, **options)
        for p, ref in zip(params, ref_vars):
            np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-12, atol=1e-14)


def test_research_slim_defaults():
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert make_optimizer("momentum", p, 0.1).defaults["momentum"] == 0.9
    rms = make_optimizer("rmsprop", p, 0.1).defaults
    assert (rms["decay"], rms["momentum"], rms["epsilon"]) == (0.9, 0.9, 1.0)
    assert rms["centered"] is False
    adam = make_optimizer("adam", p, 0.1).defaults
    assert (adam["beta1"], adam["beta2"], adam["epsilon"]) == (0.9, 0.999, 1.0)
    assert make_optimizer("adagrad", p, 0.1).defaults["initial_accumulator_value"] == 0.1
    adadelta = make_optimizer("adadelta", p, 0.1).defaults
    assert (adadelta["rho"], adadelta["eps"]) == (0.95, 1.0)
    ftrl = make_optimizer("ftrl", p, 0.1).defaults
    assert (ftrl["learning_rate_power"], ftrl["initial_accumulator_value"]) == (-0.5, 0.1)
    with pytest.raises(ValueError, match=r"Optimizer \[lamb\] was not recognized"):
        make_optimizer("lamb", p, 0.1)
    with pytest.raises(TypeError, match="takes no option 'beta1'"):
        make_optimizer("rmsprop", p, 0.1, beta1=0.9)


def test_tf_rules_differ_from_torch_builtins():
    """Why TFRMSprop/TFAdam exist: torch's versions give other numbers with
    research/slim's epsilon=1.0."""
    def one_step(make):
        w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
        opt = make([w])
        w.grad = torch.tensor([2.0], dtype=torch.float64)
        opt.step()
        return w.item()
    tf_rms = one_step(lambda p: TFRMSprop(p, lr=0.1, decay=0.9, momentum=0.9, epsilon=1.0))
    torch_rms = one_step(lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.9, momentum=0.9, eps=1.0))
    assert tf_rms == pytest.approx(1 - 0.1 * 2 / math.sqrt(1.3 + 1.0))
    assert abs(tf_rms - torch_rms) > 5e-3
    tf_adam = one_step(lambda p: TFAdam(p, lr=0.1, epsilon=1.0))
    torch_adam = one_step(lambda p: torch.optim.Adam(p, lr=0.1, eps=1.0))
    assert abs(tf_adam - torch_adam) > 1e-2


def test_tf_optimizers_state_dict_round_trip():
    w = torch.nn.Parameter(torch.randn(4))
    opt = TFAdam([w], lr=0.01)
    w.grad = torch.randn(4)
    opt.step()
    state = opt.state_dict()["state"][0]
    assert sorted(state) == ["m", "step", "v"] and state["step"].dtype == torch.int64
    fresh = TFAdam([w], lr=0.01)
    fresh.load_state_dict(opt.state_dict())
    assert torch.equal(fresh.state[w]["m"], opt.state[w]["m"]) and int(fresh.state[w]["step"]) == 1
    with pytest.raises(RuntimeError, match="sparse"):
        w.grad = torch.randn(4).to_sparse()
        opt.step()


# -- moving averages ----------------------------------------------------------------
def test_ema_matches_tf_float32_formula_bit_for_bit():
    w = slim.variable("net/w", initializer=torch.zeros(3))
    ema = ExponentialMovingAverage([w], decay=0.9999)
    shadow = np.zeros(3, np.float32)
    rng = np.random.default_rng(1)
    for step in range(5):
        value = rng.normal(size=3).astype(np.float32)
        with torch.no_grad():
            w.copy_(torch.from_numpy(value))
        used = ema.update(num_updates=step)
        # TF, in float32: decay = min(decay, (1 + n) / (10 + n));
        # shadow -= (shadow - var) * (1 - decay)
        n = np.float32(step)
        decay = min(np.float32(0.9999), (np.float32(1) + n) / (np.float32(10) + n))
        assert used == float(decay)
        shadow = shadow - (shadow - value) * (np.float32(1) - decay)
        assert np.array_equal(ema.average(w).numpy(), shadow)
    assert ema.effective_decay(None) == float(np.float32(0.9999))
    assert ema.effective_decay(10 ** 6) == float(np.float32(0.9999))


def test_ema_names_save_restore_and_eval_map():
    w = slim.variable("net/w", initializer=torch.ones(2))
    b = slim.variable("net/b", initializer=torch.zeros(1))
    step = slim.get_or_create_global_step()
    ema = ExponentialMovingAverage([w], decay=0.5)
    assert ema.average_name(w) == "net/w/ExponentialMovingAverage"
    with torch.no_grad():
        w.fill_(3.0)
    ema.update()
    saved = {k: v.clone() for k, v in ema.shadow_tensors().items()}
    assert list(saved) == ["net/w/ExponentialMovingAverage"]
    assert torch.equal(saved["net/w/ExponentialMovingAverage"], torch.full((2,), 2.0))

    other = ExponentialMovingAverage({"net/w": torch.zeros(2)}, decay=0.5)
    assert other.load_shadow_tensors(saved) == []
    assert torch.equal(other.average("net/w"), torch.full((2,), 2.0))
    with pytest.raises(KeyError, match="missing from the checkpoint"):
        other.load_shadow_tensors({})

    restore = ema.variables_to_restore()
    assert restore["net/w/ExponentialMovingAverage"] is w
    assert restore["net/b"] is b and restore["global_step"] is step and "net/w" not in restore
    ema.copy_to()
    assert torch.equal(w.detach(), torch.full((2,), 2.0))


def test_ema_rejects_unnamed_and_integer_variables():
    with pytest.raises(TypeError, match="needs named variables"):
        ExponentialMovingAverage([torch.zeros(2)], 0.9)
    with pytest.raises(TypeError, match="not floating point"):
        ExponentialMovingAverage({"count": torch.zeros(2, dtype=torch.int64)}, 0.9)
