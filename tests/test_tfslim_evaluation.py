"""tf_slim/evaluation_test.py and tf_slim/training/evaluation_test.py,
translated: ``slim.evaluation``'s ``evaluate_once``, ``evaluation_loop``,
``evaluate_repeatedly``, ``checkpoints_iterator``, ``wait_for_new_checkpoint``
and the hooks.

TF's graph inputs become ``data=[batch]``; metric ``(value_op, update_op)``
pairs become slimtorch metrics (``value, update = slim.metrics.streaming_accuracy()``);
``eval_op`` / ``final_op`` are functions; fed values come through closures.
``tf_slim.training.evaluate_once(checkpoint_path, eval_ops=, final_ops=,
hooks=)`` maps onto ``slim.evaluation.evaluate_once(..., eval_op=, final_op=,
hooks=)``.

evaluation_test.py:

=====================  ==========  =======  ======================  ===============
tf_slim class          translated  passing  documented difference   untranslatable
=====================  ==========  =======  ======================  ===============
EvaluationTest         5           5        0                       0
SingleEvaluationTest   2           2        0                       1
=====================  ==========  =======  ======================  ===============

training/evaluation_test.py:

========================  ==========  =======  ======================  ===============
tf_slim class             translated  passing  documented difference   untranslatable
========================  ==========  =======  ======================  ===============
CheckpointIteratorTest    3           3        0                       1
WaitForNewCheckpointTest  1           1        0                       0
EvaluateOnceTest          3           3        0                       0
EvaluateRepeatedlyTest    5           5        1                       1
========================  ==========  =======  ======================  ===============

Documented differences:

* testSummariesAreFlushedToDisk: the values are checked; there is no GraphDef
  event (no graph) to find beside them.

Untranslatable:

* testAdditionalHooks — checks tfdbg's ``DumpingDebugHook`` dump of the session.
* testReturnsSingleCheckpointIfOneShardedCheckpoint — TF's sharded saver
  across two CPU devices; slimtorch writes one file per checkpoint.
* testSummaryAtEndHookWithoutSummaries — drives the hook with a session and
  checks the GraphDef event it writes.
"""

import glob
import os
import time

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch import evaluation
from slimtorch.checkpoint import CheckpointError, CheckpointManager


# -- evaluation_test.py ------------------------------------------------------------------------
def _generate_test_data(num_classes, batch_size):
    inputs = np.random.rand(batch_size, num_classes)
    np.random.seed(0)
    labels = np.random.randint(low=0, high=num_classes, size=batch_size)
    return inputs, labels


class _Model:
    """TF's TestModel: ``argmax(inputs * scale)`` with a non-trainable ``scale``."""

    def __init__(self):
        num_classes, batch_size = 8, 16
        inputs, labels = _generate_test_data(num_classes, batch_size)
        self.expected_accuracy = float(np.sum(np.argmax(inputs, 1) == labels)) / batch_size
        self.global_step = slim.get_or_create_global_step()
        self.scale = slim.variable("Variable", initializer=1.0, trainable=False)
        self.data = [(torch.tensor(inputs, dtype=torch.float32), torch.tensor(labels))]

    def predictions(self, inputs):
        return torch.argmax(inputs * self.scale, 1)

    def save(self, directory):
        manager = CheckpointManager(str(directory))
        return manager.save({"Variable": self.scale, "global_step": self.global_step}, 0)

    def accuracy(self):
        value, update = slim.metrics.streaming_accuracy()

        def eval_op(batch):
            inputs, labels = batch
            update(self.predictions(inputs), labels)
        return value, eval_op


def test_final_ops_on_evaluation_loop(tmp_path):
    model = _Model()
    value_op, update_op = model.accuracy()
    chkpt_dir, logdir = tmp_path / "chkpt", str(tmp_path / "logs")
    model.save(chkpt_dir)

    class CustomHook:
        def __init__(self):
            self.hook_was_run = False

        def end(self):
            self.hook_was_run = True
    hook = CustomHook()
    accuracy_value = evaluation.evaluation_loop(
        "", str(chkpt_dir), logdir, data=model.data, eval_op=update_op, final_op=value_op,
        hooks=[hook], max_number_of_evaluations=1)
    assert accuracy_value == pytest.approx(model.expected_accuracy)
    assert hook.hook_was_run


def test_latest_checkpoint_returns_none_after_timeout():
    start = time.time()
    ret = evaluation.wait_for_new_checkpoint("/non-existent-dir", "foo", timeout=1.0,
                                             seconds_to_sleep=0.5)
    end = time.time()
    assert ret is None
    assert end > start + 0.5    # waited once
    assert end < start + 1.1    # then the timeout kicked in


def test_timeout_fn_on_evaluation_loop():
    timeout_fn_calls = [0]

    def timeout_fn():
        timeout_fn_calls[0] += 1
        return timeout_fn_calls[0] >= 3
    # No evaluation: timeout_fn is called repeatedly.
    evaluation.evaluation_loop("", "", "", timeout=0, timeout_fn=timeout_fn)
    assert timeout_fn_calls[0] == 3


def test_monitor_checkpoints_loop_timeout():
    assert list(evaluation.checkpoints_iterator("/non-existent-dir", timeout=0)) == []


def test_with_epoch_limit(tmp_path):
    model = _Model()
    value_op, update_op = model.accuracy()
    model.save(tmp_path / "chkpt")
    # limit_epochs(num_epochs=1): the data is one batch; num_evals=10000 stops there.
    accuracy_value = evaluation.evaluation_loop(
        "", str(tmp_path / "chkpt"), str(tmp_path / "logs"), data=model.data, eval_op=update_op,
        final_op=value_op, max_number_of_evaluations=1, num_evals=10000)
    assert accuracy_value == pytest.approx(model.expected_accuracy)


def test_error_raised_if_checkpoint_doesnt_exist(tmp_path):
    _Model()
    checkpoint_path = os.path.join(str(tmp_path), "this_file_doesnt_exist")
    with pytest.raises(ValueError, match="this_file_doesnt_exist"):   # a CheckpointError
        evaluation.evaluate_once("", checkpoint_path, str(tmp_path / "error_raised"))
    with pytest.raises(CheckpointError):
        evaluation.evaluate_once("", checkpoint_path, str(tmp_path / "error_raised"))


def test_restored_model_performance(tmp_path):
    model = _Model()
    checkpoint_path = model.save(tmp_path)
    value_op, update_op = model.accuracy()
    accuracy_value = evaluation.evaluate_once("", checkpoint_path, str(tmp_path / "log_dir1"),
                                              data=model.data, eval_op=update_op,
                                              final_op=value_op)
    assert accuracy_value == pytest.approx(model.expected_accuracy)


# -- training/evaluation_test.py ---------------------------------------------------------------
def test_checkpoints_iterator_returns_empty_if_no_checkpoints_found(tmp_path):
    assert sum(1 for _ in evaluation.checkpoints_iterator(str(tmp_path), timeout=0)) == 0


def test_checkpoints_iterator_returns_single_checkpoint_if_one_checkpoint_found(tmp_path):
    global_step = slim.get_or_create_global_step()
    CheckpointManager(str(tmp_path)).save({"global_step": global_step}, int(global_step))
    assert sum(1 for _ in evaluation.checkpoints_iterator(str(tmp_path), timeout=0)) == 1


def test_checkpoints_iterator_timeout_fn():
    timeout_fn_calls = [0]

    def timeout_fn():
        timeout_fn_calls[0] += 1
        return timeout_fn_calls[0] > 3
    results = list(evaluation.checkpoints_iterator("/non-existent-dir", timeout=0.1,
                                                   timeout_fn=timeout_fn))
    assert results == []
    assert timeout_fn_calls[0] == 4


def _separable_data():
    rng = np.random.RandomState(0)
    inputs = np.zeros((16, 4), np.float32)
    labels = rng.randint(0, 2, size=(16, 1)).astype(np.float32)
    for i in range(16):
        inputs[i, int(2 * labels[i, 0] + rng.randint(0, 2))] = 1
    return [(torch.from_numpy(inputs), torch.from_numpy(labels))]


def logistic_classifier(inputs):
    return slim.fully_connected(inputs, 1, activation_fn=torch.sigmoid)


def _train_model(checkpoint_dir, num_steps):
    """Trains the logistic classifier (memorized after ~300 steps) into checkpoint_dir."""
    with slim.Graph():
        torch.manual_seed(0)
        net = slim.Model(logistic_classifier)

        def loss(batch):
            return slim.losses.log_loss(net(batch[0]), batch[1])
        train_op = slim.learning.create_train_op(loss, lambda p: torch.optim.SGD(p, lr=1.0))
        loss = slim.learning.train(train_op, str(checkpoint_dir), _separable_data(),
                                   number_of_steps=num_steps, log_every_n_steps=0)
        if num_steps >= 300:
            assert loss < .015


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A checkpoint directory after 300 steps (shared: the tests only read it)."""
    directory = tmp_path_factory.mktemp("trained_300")
    _train_model(directory, 300)
    return str(directory)


@pytest.fixture(scope="module")
def one_step_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("trained_1")
    _train_model(directory, 1)
    return str(directory)


def _accuracy_of_model():
    net = slim.Model(logistic_classifier)
    inputs, labels = _separable_data()[0]
    net(inputs)   # built: something to restore
    accuracy, update_op = slim.metrics.streaming_accuracy()
    return accuracy, lambda batch: update_op(torch.round(net(batch[0])), batch[1])


def test_wait_for_new_checkpoint_returns_none_after_timeout():
    start = time.time()
    ret = evaluation.wait_for_new_checkpoint("/non-existent-dir", "foo", timeout=1.0,
                                             seconds_to_sleep=0.5)
    end = time.time()
    assert ret is None
    assert end > start + 0.5
    assert end < start + 1.1


def test_evaluate_once_perfect_model(trained_dir):
    accuracy, update_op = _accuracy_of_model()
    checkpoint_path = evaluation.wait_for_new_checkpoint(trained_dir)
    final_ops_values = evaluation.evaluate_once(
        checkpoint_path, None, _separable_data(), eval_op=update_op,
        final_op={"accuracy": accuracy}, hooks=[evaluation.StopAfterNEvalsHook(1)], quiet=True)
    assert final_ops_values["accuracy"] > .99


def _my_var_model():
    """Builds the classifier (something to restore) and TF's local ``MyVar``."""
    slim.Model(logistic_classifier)(_separable_data()[0][0])
    return slim.local_variable(0.0, name="MyVar")


def test_evaluate_once_eval_op_and_final_op(one_step_dir):
    checkpoint_path = evaluation.wait_for_new_checkpoint(one_step_dir)
    my_var = _my_var_model()
    num_evals, final_increment = 5, 9.0
    final_ops_values = evaluation.evaluate_once(
        checkpoint_path, None, _separable_data() * num_evals,
        eval_op=lambda batch: my_var.add_(1.0), final_op={"value": lambda: my_var + final_increment},
        hooks=[evaluation.StopAfterNEvalsHook(num_evals)], quiet=True)
    assert final_ops_values["value"] == num_evals + final_increment


def test_evaluate_once_only_final_op(one_step_dir):
    checkpoint_path = evaluation.wait_for_new_checkpoint(one_step_dir)
    my_var = _my_var_model()
    final_increment = 9.0
    final_ops_values = evaluation.evaluate_once(
        checkpoint_path, None, final_op={"value": lambda: my_var + final_increment})
    assert final_ops_values["value"] == final_increment


def test_evaluate_repeatedly_perfect_model(trained_dir):
    accuracy, update_op = _accuracy_of_model()
    final_values = evaluation.evaluate_repeatedly(
        checkpoint_dir=trained_dir, eval_ops=update_op, final_ops={"accuracy": accuracy},
        hooks=[evaluation.StopAfterNEvalsHook(1)], max_number_of_evaluations=1,
        data=_separable_data())
    assert final_values["accuracy"] > .99


@pytest.mark.slow
def test_evaluation_loop_timeout(tmp_path):
    slim.get_or_create_global_step()

    def cant_run_op(batch):
        raise AssertionError("no checkpoint: nothing may be evaluated")
    start = time.time()
    final_values = evaluation.evaluate_repeatedly(
        checkpoint_dir=str(tmp_path), eval_ops=cant_run_op,
        hooks=[evaluation.StopAfterNEvalsHook(10)], timeout=6, data=_separable_data())
    end = time.time()
    assert not final_values
    assert end - start > 5.0   # waited for the timeout (minus the sleep time)
    assert end - start < 7     # then the timeout stopped the loop


def test_evaluation_loop_timeout_with_timeout_fn(trained_dir):
    accuracy, update_op = _accuracy_of_model()
    timeout_fn_calls = [0]

    def timeout_fn():
        timeout_fn_calls[0] += 1
        return timeout_fn_calls[0] > 3
    final_values = evaluation.evaluate_repeatedly(
        checkpoint_dir=trained_dir, eval_ops=update_op, final_ops={"accuracy": accuracy},
        hooks=[evaluation.StopAfterNEvalsHook(1)], eval_interval_secs=1,
        max_number_of_evaluations=2, timeout=0.1, timeout_fn=timeout_fn, data=_separable_data())
    assert final_values["accuracy"] > .99   # evaluated once
    assert timeout_fn_calls[0] == 4


def test_evaluate_with_eval_feed_dict(one_step_dir):
    slim.Model(logistic_classifier)(_separable_data()[0][0])
    my_var = slim.local_variable(0.0, name="my_var")
    increment_value, num_evals = 3, 5   # TF fed {increment: 3}; here a closure's value
    final_values = evaluation.evaluate_repeatedly(
        checkpoint_dir=one_step_dir, eval_ops=lambda batch: my_var.add_(increment_value),
        final_ops={"my_var": lambda: my_var.clone()},
        hooks=[evaluation.StopAfterNEvalsHook(num_evals)], max_number_of_evaluations=1,
        data=_separable_data() * 10)
    assert final_values["my_var"] == increment_value * num_evals


def test_summaries_are_flushed_to_disk(trained_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    logdir = str(tmp_path / "summaries_are_flushed_eval")
    slim.Model(logistic_classifier)(_separable_data()[0][0])
    names_to_values = {"bread": 3.4, "cheese": 4.5, "tomato": 2.0}
    for name, value in names_to_values.items():
        slim.summaries.scalar(name, lambda value=value: value)   # live: written at the end
    evaluation.evaluate_repeatedly(checkpoint_dir=trained_dir,
                                   hooks=[evaluation.SummaryAtEndHook(log_dir=logdir)],
                                   max_number_of_evaluations=1)
    assert len(glob.glob(os.path.join(logdir, "*"))) == 1
    events = EventAccumulator(logdir)
    events.Reload()
    for name, value in names_to_values.items():
        [scalar] = events.Scalars(name)
        assert scalar.value == pytest.approx(value, abs=1e-5)
        assert scalar.step == 300   # at the checkpoint's global step
    # Difference: no GraphDef event (there is no graph).


# -- slimtorch's eager forms -------------------------------------------------------------------
def test_evaluate_repeatedly_rejects_tf_only_arguments(tmp_path):
    with pytest.raises(TypeError, match="feed_dict"):
        evaluation.evaluate_repeatedly(str(tmp_path), feed_dict={"x": 1})
    with pytest.raises(TypeError, match="hooks must be functions"):
        evaluation.evaluate_repeatedly(str(tmp_path), hooks=[3], timeout=0)
    with pytest.raises(ValueError, match="log_dir or summary_writer"):
        evaluation.SummaryAtEndHook()


def test_hooks_begin_end_and_plain_functions(one_step_dir):
    slim.Model(logistic_classifier)(_separable_data()[0][0])
    calls = []

    class Hook:
        def begin(self):
            calls.append("begin")

        def end(self):
            calls.append("end")
    evaluation.evaluate_repeatedly(one_step_dir, eval_ops=[lambda b: calls.append("op")],
                                   hooks=[Hook(), lambda: calls.append("fn"),
                                          evaluation.StopAfterNEvalsHook(2)],
                                   max_number_of_evaluations=1, data=_separable_data() * 3)
    assert calls == ["begin", "op", "op", "end", "fn"]
