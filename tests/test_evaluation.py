"""slim.evaluation: evaluate_once, evaluation_loop, checkpoints_iterator and
wait_for_new_checkpoint with TF-Slim's semantics (evaluation_test.py)."""

import logging
import os
import threading
import time

import pytest
import torch
from test_summaries import read_events, scalars

import slimtorch as slim
from slimtorch import summaries

needs_tensorboard = pytest.mark.skipif(not summaries.tensorboard_available(),
                                       reason="needs the tensorboard package")


def _linear_net():
    return slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc"))


def _save(directory, net, step, weight):
    """A checkpoint whose net computes ``weight * x.sum(1)``; kept in the
    directory's ``checkpoint`` state file like train's."""
    with torch.no_grad():
        net.fc.weights.fill_(weight)
        net.fc.biases.zero_()
        slim.get_or_create_global_step().fill_(step)
    manager = slim.checkpoint.CheckpointManager(str(directory), max_to_keep=100)
    return manager.save({**net.named_variables(), "global_step": slim.get_global_step()},
                        global_step=step)


def _built(net, width=2):
    with slim.model.dry_run():
        net(torch.zeros(1, width))
    return net


def _mean_prediction_eval(net):
    """``eval/mean``: the mean prediction (weight * width for ones)."""
    metric = slim.metrics.streaming_mean()

    def eval_op(batch):
        metric.update(net(batch))
    return metric, eval_op


def test_evaluate_once_restores_runs_num_evals_batches_and_returns_values(tmp_path):
    net = _built(_linear_net())
    path = _save(tmp_path / "train", net, step=5, weight=0.5)
    with torch.no_grad():
        net.fc.weights.fill_(-9.0)   # the restore must overwrite this
    metric, eval_op = _mean_prediction_eval(net)
    seen = []
    data = [torch.full((3, 2), float(i)) for i in range(10)]   # batch i predicts i

    def counting_eval_op(batch):
        seen.append(batch)
        eval_op(batch)
    values = slim.evaluation.evaluate_once(path, None, data, num_evals=4,
                                           eval_op=counting_eval_op,
                                           metrics={"eval/mean": metric}, quiet=True)
    assert len(seen) == 4
    assert values == {"eval/mean": pytest.approx((0 + 1 + 2 + 3) / 4)}
    assert float(net.fc.weights.detach()[0, 0]) == 0.5


def test_metrics_reset_at_each_evaluation_and_final_op(tmp_path):
    net = _built(_linear_net())
    path = _save(tmp_path, net, step=1, weight=1.0)
    metric, eval_op = _mean_prediction_eval(net)
    data = [torch.ones(2, 2)]
    for _ in range(2):   # the second run starts from zero again: still 2.0
        out = slim.evaluation.evaluate_once(path, None, data, eval_op=eval_op,
                                            final_op={"m": metric.value}, quiet=True)
        assert out == {"m": 2.0}
    assert slim.evaluation.evaluate_once(path, None, data, eval_op=eval_op,
                                         final_op=lambda: "done", quiet=True) == "done"


def test_builds_unbuilt_models_on_the_first_batch(tmp_path):
    net = _built(_linear_net())
    path = _save(tmp_path, net, step=3, weight=2.0)
    slim.reset_default_graph()
    fresh = _linear_net()   # a new program: nothing built yet
    metric, eval_op = _mean_prediction_eval(fresh)
    out = slim.evaluation.evaluate_once(path, None, [torch.ones(4, 2)], eval_op=eval_op,
                                        metrics={"mean": metric}, quiet=True)
    assert out == {"mean": 4.0}


def test_builds_unbuilt_models_when_other_variables_exist(tmp_path):
    """The guide's ``slim.get_or_create_global_step()`` before an evaluation
    made a variable exist: the models must still be built and restored (they
    were left random, silently, when any variable existed)."""
    net = _built(_linear_net())
    path = _save(tmp_path, net, step=3, weight=2.0)
    slim.reset_default_graph()
    fresh = _linear_net()
    slim.get_or_create_global_step()
    metric, eval_op = _mean_prediction_eval(fresh)
    out = slim.evaluation.evaluate_once(path, None, [torch.ones(4, 2)], eval_op=eval_op,
                                        metrics={"mean": metric}, quiet=True)
    assert out == {"mean": 4.0}


def test_models_run_in_eval_mode_without_gradients(tmp_path):
    """Batch norm normalizes with the restored moving averages, not the
    batch, and the models' mode is restored afterwards."""
    net = slim.Model(lambda x: slim.batch_norm(x, scope="bn"))
    _built(net, width=3)
    with torch.no_grad():
        net.bn.moving_mean.fill_(1.0)
        net.bn.moving_variance.fill_(4.0)
    path = slim.checkpoint.CheckpointManager(str(tmp_path)).save(net.named_variables(),
                                                                 global_step=0)
    metric = slim.metrics.streaming_mean()
    grads = []

    def eval_op(x):
        y = net(x)
        grads.append(y.requires_grad)
        metric.update(y)
    net.train()
    x = torch.full((4, 3), 5.0)
    out = slim.evaluation.evaluate_once(path, None, [x], eval_op=eval_op,
                                        metrics={"m": metric}, quiet=True)
    expected = (5.0 - 1.0) / (4.0 + 0.001) ** 0.5
    assert out["m"] == pytest.approx(expected, rel=1e-6)
    assert grads == [False] and net.training


def test_prints_values_and_writes_summaries_at_the_checkpoint_step(tmp_path, capsys):
    net = _built(_linear_net())
    path = _save(tmp_path / "train", net, step=42, weight=1.0)
    metric, eval_op = _mean_prediction_eval(net)

    def eval_op_with_summary(batch):
        eval_op(batch)
        slim.summaries.scalar("eval/batch_size", batch.shape[0])
    slim.evaluation.evaluate_once(path, str(tmp_path / "eval"), [torch.ones(2, 2)] * 2,
                                  eval_op=eval_op_with_summary, metrics={"eval/mean": metric})
    assert "eval/mean: 2.0" in capsys.readouterr().out
    if summaries.tensorboard_available():
        events = read_events(tmp_path / "eval")
        assert scalars(events, "eval/mean") == [(42, 2.0)]
        assert scalars(events, "eval/batch_size") == [(42, 2.0)]


def test_missing_checkpoint_raises_naming_it(tmp_path):
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    with pytest.raises(slim.checkpoint.CheckpointError, match="no_such"):
        slim.evaluation.evaluate_once(str(tmp_path / "no_such.safetensors"), None,
                                      [torch.ones(1, 2)], eval_op=eval_op, quiet=True)


def test_bad_arguments():
    with pytest.raises(TypeError, match="eval_op must be a function of the batch"):
        slim.evaluation.evaluate_once("x", None, [], eval_op=None)
    with pytest.raises(TypeError, match="eval_op must be a function of the batch"):
        slim.evaluation.evaluation_loop("x", None, [], eval_op=[])


def test_wait_for_new_checkpoint_times_out_and_sees_new_ones(tmp_path):
    start = time.monotonic()
    assert slim.evaluation.wait_for_new_checkpoint(str(tmp_path), seconds_to_sleep=0.05,
                                                   timeout=0.3) is None
    assert 0.2 <= time.monotonic() - start < 2
    net = _built(_linear_net())
    first = _save(tmp_path, net, 1, 1.0)
    assert slim.evaluation.wait_for_new_checkpoint(str(tmp_path), timeout=0) == first
    assert slim.evaluation.wait_for_new_checkpoint(str(tmp_path), first, seconds_to_sleep=0.05,
                                                   timeout=0.2) is None


def test_checkpoints_iterator_timeout_fn_keeps_waiting_until_true(tmp_path):
    net = _built(_linear_net())
    first = _save(tmp_path, net, 1, 1.0)
    calls = []

    def timeout_fn():   # False once (keep waiting; a new checkpoint comes), then True
        calls.append(1)
        if len(calls) == 1:
            _save(tmp_path, net, 2, 1.0)
            return False
        return True
    seen = list(slim.evaluation.checkpoints_iterator(str(tmp_path), timeout=0.1,
                                                     timeout_fn=timeout_fn,
                                                     seconds_to_sleep=0.02))
    assert [os.path.basename(p) for p in seen] == [os.path.basename(first),
                                                    "model.ckpt-2.safetensors"]
    assert len(calls) == 2


def test_checkpoints_iterator_skips_intermediate_and_honours_min_interval(tmp_path):
    net = _built(_linear_net())
    _save(tmp_path, net, 1, 1.0)
    it = slim.evaluation.checkpoints_iterator(str(tmp_path), min_interval_secs=0.3, timeout=0.2,
                                              seconds_to_sleep=0.02)
    assert next(it).endswith("model.ckpt-1.safetensors")
    first_yielded = time.monotonic()
    _save(tmp_path, net, 2, 1.0)
    _save(tmp_path, net, 3, 1.0)   # written while "evaluating": 2 is never seen
    assert next(it).endswith("model.ckpt-3.safetensors")
    # The next checkpoint came no sooner than min_interval_secs after the last
    # (measured from the yield, so however long the saves took).
    assert time.monotonic() - first_yielded >= 0.3 - 0.01
    assert list(it) == []


def test_evaluation_loop_max_evaluations_and_skips_an_unreadable_checkpoint(tmp_path, caplog):
    """Step 2 is named by the state file but unreadable (half-written by some
    other tool): a warning, and the loop goes on to step 3."""
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    _save(tmp_path, net, 1, 1.0)
    evaluated = []

    def eval_op_recording(batch):
        eval_op(batch)
        evaluated.append(float(net.fc.weights.detach()[0, 0]))
        if len(evaluated) == 1:   # while step 1 is evaluated, a bad step 2 appears
            path2 = _save(tmp_path, net, 2, 3.0)
            with open(path2, "r+b") as f:
                f.truncate(20)
            threading.Timer(0.5, _save, (tmp_path, net, 3, 2.0)).start()
    with caplog.at_level(logging.WARNING, logger="slimtorch.evaluation"):
        out = slim.evaluation.evaluation_loop(
            str(tmp_path), None, [torch.ones(1, 2)], eval_op=eval_op_recording,
            metrics={"m": metric}, eval_interval_secs=0, timeout=5,
            max_number_of_evaluations=2, quiet=True)
    assert out == {"m": 4.0}   # the last evaluation was step 3 (weight 2)
    assert evaluated == [1.0, 2.0]
    assert any("skipping" in r.message and "model.ckpt-2" in r.message for r in caplog.records)


def test_tf_slim_signature_with_master_first(tmp_path, monkeypatch, caplog):
    """TF-Slim's ``evaluation_loop(master, checkpoint_dir, logdir, ...)`` and
    ``evaluate_once(master, checkpoint_path, logdir, ...)``: master is ignored,
    with one note in the log, and the data comes as ``data=``."""
    from slimtorch import evaluation

    monkeypatch.setattr(evaluation, "_noted_master", [])
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    path = _save(tmp_path / "train", net, step=3, weight=1.5)
    data = [torch.ones(2, 2)]
    with caplog.at_level(logging.INFO, logger="slimtorch.evaluation"):
        looped = slim.evaluation.evaluation_loop(
            "local", str(tmp_path / "train"), str(tmp_path / "eval"), data=data, eval_op=eval_op,
            metrics={"m": metric}, max_number_of_evaluations=1, quiet=True, device=None)
        once = slim.evaluation.evaluate_once("", path, None, data=data, num_evals=1,
                                             eval_op=eval_op, metrics={"m": metric}, quiet=True)
        grpc = slim.evaluation.evaluate_once("grpc://localhost:2222", checkpoint_path=path,
                                             logdir=None, data=data, eval_op=eval_op,
                                             metrics={"m": metric}, quiet=True)
    assert looped == once == grpc == {"m": 3.0}
    notes = [r.getMessage() for r in caplog.records if "master" in r.getMessage()]
    assert notes == ["evaluation_loop: ignoring TF-Slim's master='local' (slimtorch evaluates "
                     "in this process)"]
    with pytest.raises(TypeError, match="pass num_evals by keyword"):
        slim.evaluation.evaluate_once("local", path, None, 5, eval_op=eval_op)


def test_a_checkpoint_directory_named_local_still_works(tmp_path, monkeypatch):
    """slimtorch's own signature wins when the call fits it: 'local' is then
    the checkpoint directory (the third argument is the data, not a path)."""
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    _save(tmp_path / "local", net, step=1, weight=2.0)
    monkeypatch.chdir(tmp_path)
    for call in (lambda: slim.evaluation.evaluation_loop("local", None, [torch.ones(1, 2)],
                                                         eval_op=eval_op, metrics={"m": metric},
                                                         max_number_of_evaluations=1,
                                                         quiet=True, device=None),
                 lambda: slim.evaluation.evaluate_once("local", str(tmp_path / "eval"),
                                                       data=[torch.ones(1, 2)], eval_op=eval_op,
                                                       metrics={"m": metric}, quiet=True)):
        assert call() == {"m": 4.0}


TRAIN_AND_EVAL_SCRIPT = """
import os, sys, time, json, torch, slimtorch as slim
role, train_dir, eval_dir = sys.argv[1:4]
torch.manual_seed(0)
net = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc"))
g = torch.Generator().manual_seed(1)
x = torch.randn(32, 3, generator=g)
y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
if role == "train":
    class Slow:   # a data source slow enough for the evaluator to keep up
        def __iter__(self):
            for i in range(4):
                time.sleep(0.25)
                yield x[8 * i:8 * i + 8], y[8 * i:8 * i + 8]
    def total_loss(batch):
        slim.losses.mean_squared_error(net(batch[0]), batch[1])
    train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.1))
    slim.learning.train(train_op, train_dir, Slow(), number_of_steps=16, save_interval_steps=4,
                        log_every_n_steps=0, device=None)
    open(os.path.join(train_dir, "done"), "w").close()
else:
    mse = slim.metrics.streaming_mean()
    steps = []
    def eval_op(batch):
        mse.update((net(batch[0]) - batch[1]) ** 2)
        steps.append(int(slim.get_or_create_global_step()))
    slim.evaluation.evaluation_loop(
        train_dir, eval_dir, [(x, y)], eval_op=eval_op, metrics={"eval/mse": mse},
        eval_interval_secs=0, timeout=0.5, device=None,
        timeout_fn=lambda: os.path.exists(os.path.join(train_dir, "done")))
"""


@pytest.mark.slow
def test_train_and_evaluation_loop_run_side_by_side(tmp_path):
    """A second process evaluates the checkpoints train writes while it
    trains: increasing steps, the final one included, summaries at each."""
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text(TRAIN_AND_EVAL_SCRIPT)
    train_dir, eval_dir = tmp_path / "train", tmp_path / "eval"
    train_dir.mkdir()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, str(script), role, str(train_dir), str(eval_dir)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for role in ("eval", "train")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    printed = [line for line in outputs[0].splitlines() if line.startswith("eval/mse: ")]
    written = sorted(int(name.split("-")[1].split(".")[0]) for name in os.listdir(train_dir)
                     if name.startswith("model.ckpt-") and "trainer" not in name)
    assert written == [4, 8, 12, 16]
    if not summaries.tensorboard_available():
        pytest.skip("needs tensorboard to read the evaluation summaries")
    evaluated = scalars(read_events(eval_dir), "eval/mse")
    steps = [step for step, _ in evaluated]
    assert len(printed) == len(evaluated) >= 2, outputs[0]
    assert steps == sorted(set(steps)) and set(steps) <= set(written) and steps[-1] == 16
    losses = [value for _, value in evaluated]
    assert losses == sorted(losses, reverse=True)   # training helps, step after step
