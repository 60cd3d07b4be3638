"""slim.learning: create_train_op and train, with TF-Slim's semantics."""

import logging
import os

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import latest_checkpoint
from slimtorch.nets import nets_factory


def logistic_data():
    """TF-Slim's learning_test data: 16 binary labels, each input one-hot in
    one of the two slots its label owns (so the classes are separable)."""
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 2, size=(16, 1)).astype(np.float32)
    inputs = np.zeros((16, 4), np.float32)
    for i in range(16):
        inputs[i, int(2 * labels[i, 0] + rng.randint(0, 2))] = 1
    return [(torch.from_numpy(inputs), torch.from_numpy(labels))]


def logistic_train_op(lr=1.0, **kwargs):
    model = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=torch.sigmoid,
                                                      scope="fc"))

    def total_loss(batch):
        inputs, labels = batch
        slim.losses.log_loss(model(inputs), labels)
        return slim.losses.get_total_loss()
    return model, slim.learning.create_train_op(
        total_loss, lambda params: torch.optim.SGD(params, lr=lr), **kwargs)


def test_logistic_regression_reaches_tf_slims_loss(tmp_path):
    """TF-Slim's testTrainWithNoInitAssignCanAchieveZeroLoss: < 0.015 in 300 steps."""
    torch.manual_seed(0)
    _, train_op = logistic_train_op()
    loss = slim.learning.train(train_op, str(tmp_path), logistic_data(), number_of_steps=300,
                               log_every_n_steps=0)
    assert loss < 0.015
    assert int(slim.get_global_step()) == 300
    assert latest_checkpoint(str(tmp_path)).endswith("model.ckpt-300.safetensors")


def test_training_twice_with_the_same_seed_is_bit_identical(tmp_path):
    weights = []
    for run in range(2):
        with slim.Graph():
            torch.manual_seed(7)
            model, train_op = logistic_train_op()
            slim.learning.train(train_op, str(tmp_path / str(run)), logistic_data(),
                                number_of_steps=20, log_every_n_steps=0)
            weights.append(model.fc.weights.detach().clone())
    assert torch.equal(weights[0], weights[1])


def adam_run(logdir, steps, data, init_fn=None, seed=3):
    torch.manual_seed(seed)
    model = slim.Model(lambda x: slim.fully_connected(
        slim.dropout(slim.fully_connected(x, 8, scope="h"), 0.7), 1, activation_fn=None,
        scope="out"))

    def total_loss(batch):
        x, y = batch
        slim.losses.mean_squared_error(model(x), y)
        return None   # means slim.losses.get_total_loss()
    train_op = slim.learning.create_train_op(total_loss,
                                             lambda p: torch.optim.Adam(p, lr=0.01))
    slim.learning.train(train_op, logdir, data, number_of_steps=steps, init_fn=init_fn,
                        save_interval_steps=5, log_every_n_steps=0)
    return model


def regression_data(n_batches=4):
    g = torch.Generator().manual_seed(11)
    return [(torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g))
            for _ in range(n_batches)]


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    """Optimizer state, global step, RNG (dropout) and data position are
    restored: 10 + 10 resumed steps equal 20 uninterrupted ones."""
    data = regression_data()
    with slim.Graph():
        straight = adam_run(str(tmp_path / "a"), 20, data)
        expected = {k: v.detach().clone() for k, v in straight.named_variables().items()}
    calls = []
    with slim.Graph():
        adam_run(str(tmp_path / "b"), 10, data, init_fn=lambda: calls.append("init"))
    with slim.Graph():
        resumed = adam_run(str(tmp_path / "b"), 20, data, init_fn=lambda: calls.append("init"),
                           seed=99)   # a different seed: the RNG state comes from the checkpoint
        assert int(slim.get_global_step()) == 20
    assert calls == ["init"]          # init_fn only on the fresh start, as in TF-Slim
    for name, value in resumed.named_variables().items():
        assert torch.equal(value, expected[name]), name


def test_variables_to_train_restricts_updates(tmp_path):
    model = slim.Model(lambda x: slim.fully_connected(slim.fully_connected(x, 4, scope="a"), 1,
                                                      scope="b"))
    model.build((1, 3))
    frozen = model.a.weights.detach().clone()

    def total_loss(batch):
        return (model(batch) ** 2).mean()
    train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.1),
                                             variables_to_train=slim.get_variables("b"))
    slim.learning.train(train_op, None, [torch.randn(4, 3)], number_of_steps=5,
                        log_every_n_steps=0)
    assert torch.equal(model.a.weights, frozen)
    assert [v.name for v in train_op.variables_to_train] == ["b/weights", "b/biases"]


def test_gradient_multipliers_apply_before_clipping():
    v = slim.variable("v", initializer=[0.0, 0.0])
    w = slim.variable("w", initializer=[0.0])

    def total_loss(_):
        return (v * torch.tensor([3.0, 4.0])).sum() + 2 * w.sum()
    train_op = slim.learning.create_train_op(
        total_loss, torch.optim.SGD([v, w], lr=1.0), global_step=None,
        gradient_multipliers={"v": 10.0, w: 0.5}, clip_gradient_norm=5.0)
    train_op(None)
    # v's gradient [3, 4] * 10 = [30, 40] (norm 50) clipped to norm 5: [3, 4]; w's 2 * 0.5 = 1.
    assert v.tolist() == pytest.approx([-3.0, -4.0])
    assert w.tolist() == pytest.approx([-1.0])
    assert slim.get_global_step() is None   # global_step=None: no step variable touched


def test_check_numerics_names_the_step_and_applies_nothing():
    v = slim.variable("v", initializer=[1.0])
    train_op = slim.learning.create_train_op(lambda _: v.sum() * float("nan"),
                                             torch.optim.SGD([v], lr=1.0))
    with pytest.raises(FloatingPointError, match=r"LossTensor is inf or nan: loss = nan at global "
                                                 r"step 0"):
        train_op(None)
    assert v.tolist() == [1.0]


def test_losses_do_not_accumulate_across_steps():
    v = slim.variable("v", initializer=[1.0])

    def total_loss(_):
        slim.losses.add_loss((v ** 2).sum())
        return slim.losses.get_total_loss()
    train_op = slim.learning.create_train_op(total_loss, torch.optim.SGD([v], lr=0.0))
    losses = [float(train_op(None)) for _ in range(3)]
    assert losses == [1.0, 1.0, 1.0]


def test_fine_tune_from_pretrained_then_resume(tmp_path):
    """The guide's flow: a pretrained file -> init_fn restoring all but the
    logits -> train -> resume (init_fn skipped, training continues)."""
    def net(x, num_classes):
        x = slim.fully_connected(x, 6, scope="net/hidden")
        return slim.fully_connected(x, num_classes, activation_fn=None, scope="net/logits")
    pretrained = str(tmp_path / "pretrained.safetensors")
    with slim.Graph():
        source = slim.Model(net, num_classes=5).build((1, 4))
        slim.checkpoint.save_checkpoint(pretrained, source.named_variables())
        hidden = source.net.hidden.weights.detach().clone()

    data = [(torch.randn(8, 4), torch.randint(0, 3, (8,)))]

    def run(steps):
        model = slim.Model(net, num_classes=3)

        def total_loss(batch):
            x, labels = batch
            slim.losses.sparse_softmax_cross_entropy(model(x), labels)
            return slim.losses.get_total_loss()
        train_op = slim.learning.create_train_op(total_loss,
                                                 lambda p: torch.optim.SGD(p, lr=0.0))
        restored = []

        def init_fn():
            variables = slim.get_variables_to_restore(exclude=["net/logits", "global_step"])
            restored.append(slim.assign_from_checkpoint_fn(pretrained, variables)())
        slim.learning.train(train_op, str(tmp_path / "run"), data, number_of_steps=steps,
                            init_fn=init_fn, log_every_n_steps=0)
        return model, restored
    with slim.Graph():
        model, restored = run(3)
        assert [r.assigned for r in restored] == [["net/hidden/weights", "net/hidden/biases"]]
        assert torch.equal(model.net.hidden.weights, hidden)   # lr 0: still the pretrained value
    with slim.Graph():
        model, restored = run(6)
        assert restored == [] and int(slim.get_global_step()) == 6
        assert torch.equal(model.net.hidden.weights, hidden)


def test_train_logs_progress(tmp_path, caplog):
    _, train_op = logistic_train_op()
    with caplog.at_level(logging.INFO, logger="slimtorch.learning"):
        slim.learning.train(train_op, None, logistic_data(), number_of_steps=4,
                            log_every_n_steps=2)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("global step")]
    assert [line.split(":")[0] for line in lines] == ["global step 2", "global step 4"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="must be a function of the batch"):
        slim.learning.create_train_op(torch.tensor(1.0), None)
    _, train_op = logistic_train_op()
    with pytest.raises(ValueError, match="number_of_steps must be None or > 0"):
        slim.learning.train(train_op, None, logistic_data(), number_of_steps=0)
    with pytest.raises(ValueError, match="data yielded no batches"):
        slim.learning.train(train_op, None, [], number_of_steps=3)
    assert not os.path.exists("model.ckpt-0.safetensors")


def test_train_writes_tensorboard_summaries(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, train_op = logistic_train_op(summarize_gradients=True)
    slim.learning.train(train_op, str(tmp_path), logistic_data(), number_of_steps=6,
                        save_summaries_steps=2, log_every_n_steps=0)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"total_loss", "losses/log_loss", "learning_rate", "global_step/sec",
            "fc/weights/gradient_norm"} <= scalars
    # The first step too, so that even a short run has both ends of its curve.
    assert [e.step for e in events.Scalars("total_loss")] == [1, 2, 4, 6]
    assert events.Scalars("learning_rate")[0].value == 1.0
    assert "fc/weights/gradient" in events.Tags()["histograms"]


def test_learning_rate_schedule_accumulation_and_moving_average(tmp_path):
    v = slim.variable("v", initializer=[0.0])
    rates = []

    def total_loss(batch):
        return (v * batch).sum()
    train_op = slim.learning.create_train_op(
        total_loss, lambda p: torch.optim.SGD(p, lr=99.0),
        variables_to_train=[v], learning_rate=lambda step: rates.append(step) or 0.1 * (step + 1),
        gradient_accumulation_steps=2, moving_average_decay=0.5)
    data = [torch.tensor([1.0]), torch.tensor([3.0])]
    slim.learning.train(train_op, str(tmp_path), data, number_of_steps=2, log_every_n_steps=0,
                        device=None)
    # Two updates of two accumulated batches each: mean gradient 2, rates 0.1 then 0.2.
    assert rates == [0, 1]
    assert v.tolist() == pytest.approx([-(0.1 * 2) - (0.2 * 2)])
    assert int(slim.get_global_step()) == 2
    reader = slim.checkpoint.load_checkpoint(str(tmp_path))
    assert reader.has_tensor("v/ExponentialMovingAverage")


def test_bf16_mixed_precision_trains_on_cpu(tmp_path):
    torch.manual_seed(0)
    _, train_op = logistic_train_op(mixed_precision="bf16")
    loss = slim.learning.train(train_op, None, logistic_data(), number_of_steps=100,
                               log_every_n_steps=0)
    assert loss < 0.2
    with pytest.raises(ValueError, match="mixed_precision must be None, 'bf16' or 'fp16'"):
        logistic_train_op(mixed_precision="fp8")


def test_seed_makes_fresh_runs_reproducible_and_progress_bar_runs(tmp_path, capsys):
    results = []
    for _run in range(2):
        with slim.Graph():
            model, train_op = logistic_train_op()
            slim.learning.train(train_op, None, logistic_data(), number_of_steps=3, seed=123,
                                progress=True)
            results.append(model.fc.weights.detach().clone())
    assert torch.equal(results[0], results[1])
    assert "3/3" in capsys.readouterr().err    # tqdm's bar went to stderr


def test_variables_to_train_from_trainable_scopes():
    slim.fully_connected(torch.ones(1, 2), 2, scope="InceptionV3/Logits")
    slim.fully_connected(torch.ones(1, 2), 2, scope="InceptionV3/AuxLogits")
    slim.fully_connected(torch.ones(1, 2), 2, scope="InceptionV3/Mixed_7c")
    names = [v.name for v in slim.learning.variables_to_train(
        "InceptionV3/Logits,InceptionV3/AuxLogits")]
    assert names == ["InceptionV3/Logits/weights", "InceptionV3/Logits/biases",
                     "InceptionV3/AuxLogits/weights", "InceptionV3/AuxLogits/biases"]


def test_train_with_an_explicit_device_moves_the_variables(tmp_path):
    """device= moves every variable (and each batch) before the optimizer is
    made; on this CPU-only suite 'cpu' exercises the same path as 'cuda'."""
    model, train_op = logistic_train_op()
    slim.learning.train(train_op, None, logistic_data(), number_of_steps=2,
                        log_every_n_steps=0, device="cpu")
    assert all(v.device.type == "cpu" for v in slim.get_variables())
    assert train_op.optimizer.param_groups[0]["params"][0] is model.fc.weights


@pytest.mark.slow
def test_channels_last_and_compile_train_the_same_function(tmp_path):
    def run(**options):
        with slim.Graph():
            torch.manual_seed(0)
            network_fn = nets_factory.get_network_fn("cifarnet", 10, is_training=False)

            def total_loss(batch):
                images, labels = batch
                logits, _ = network_fn(images)
                slim.losses.sparse_softmax_cross_entropy(logits, labels)
            train_op = slim.learning.create_train_op(total_loss,
                                                     lambda p: torch.optim.SGD(p, lr=0.01))
            g = torch.Generator().manual_seed(0)
            data = [(torch.randn(4, 3, 32, 32, generator=g), torch.randint(0, 10, (4,), generator=g))]
            slim.learning.train(train_op, None, data, number_of_steps=3, log_every_n_steps=0,
                                **options)
            weights = network_fn.CifarNet.conv1.weights
            return weights.detach().contiguous().clone(), weights.is_contiguous(
                memory_format=torch.channels_last)
    reference, _ = run()
    nhwc, is_channels_last = run(channels_last=True)
    assert is_channels_last
    torch.testing.assert_close(nhwc, reference, rtol=1e-4, atol=1e-5)
    compiled, _ = run(compile=True)
    torch.testing.assert_close(compiled, reference, rtol=1e-4, atol=1e-5)
