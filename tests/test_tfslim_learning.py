"""tf_slim/learning_test.py (and tf_slim/training/training_test.py), translated:
``slim.learning``'s gradient helpers, ``create_train_op``, ``train``,
``train_step`` / ``train_step_fn`` and ``add_gradients_summaries``.

Graph-mode losses become loss functions of the batch; TF's constant inputs
become ``data=[(inputs, labels)]`` (epochs repeat until ``number_of_steps``);
``sess.run(train_op)`` becomes ``train_op(batch)``; TF-Slim's
``init_fn(sess)`` becomes ``init_fn()``.

learning_test.py:

=======================  ==========  =======  ======================  ===============
tf_slim class            translated  passing  documented difference   untranslatable
=======================  ==========  =======  ======================  ===============
ClipGradientNormsTest    2           2        0                       1
MultiplyGradientsTest    6           6        0                       1
TrainBNClassifierTest    1           1        0                       0
CreateTrainOpTest        5           5        1                       0
TrainTest                13          13       1                       4
=======================  ==========  =======  ======================  ===============

training/training_test.py (``tf_slim.training``: ``create_train_op`` with
``transform_grads_fn``, ``train`` with session hooks):

=============================  ==========  =======  ======================  ===============
tf_slim class                  translated  passing  documented difference   untranslatable
=============================  ==========  =======  ======================  ===============
ClipGradsTest                  2           2        0                       0
CreateTrainOpTest              5           5        1                       0
TrainBatchNormClassifierTest   0           0        0                       1
TrainTest                      0           0        0                       7
=============================  ==========  =======  ======================  ===============

Documented differences:

* testEmptyUpdateOps (both files): ``update_ops=[]`` does not freeze batch
  norm's moving averages: slimtorch's batch norm updates them in the forward
  pass (there are no update ops to leave out).
* testTrainWithEpochLimit: the final checkpoint is ``model.ckpt-300.safetensors``
  (slimtorch's format), not TF's ``.index`` / ``.data-00000-of-00001`` pair.

Untranslatable:

* testIndexedSlicesGradIsClippedCorrectly, testIndexedSlicesGradIsMultiplied —
  ``IndexedSlices`` is TF's sparse-gradient type; slimtorch variables get dense
  gradients.
* testTrainWithSessionConfig — ``tf.ConfigProto``: there is no session.
* testTrainWithNoneAsLogdirWhenUsingSummariesRaisesError,
  testTrainWithNoneAsLogdirWhenUsingSaverRaisesError — ``train`` has no
  ``summary_op`` / ``saver`` arguments (it writes the recorded summaries and
  saves with its own checkpoint manager).
* testTrainWithNoneAsInitWhenUsingVarsRaisesError — ``init_op=None`` leaving
  variables uninitialized: eager variables are initialized when created.
* training_test TrainBatchNormClassifierTest and TrainTest (testCanAchieveZeroLoss,
  testTrainWithLocalVariable, testResumeTrainAchievesRoughlyTheSameLoss,
  testTrainWithInitFromCheckpoint, testTrainAllVarsHasLowerLossThanTrainSubsetOfVars,
  testTrainingSubsetsOfVariablesOnlyUpdatesThoseVariables,
  testTrainWithAlteredGradients) — ``tf_slim.training.train`` is a
  ``MonitoredTrainingSession`` driven by session hooks (``StopAtStepHook``,
  scaffolds), which slimtorch does not provide; each scenario is the same
  model and assertion as its learning_test counterpart translated here
  through ``slim.learning.train``.
"""

import logging
import os

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch import learning
from slimtorch.training import clip_gradient_norms_fn, create_train_op

# -- ClipGradientNormsTest -------------------------------------------------------------------
_MAX_NORM = 1.0
_GRAD_VEC = np.array([1., 2., 3.])


def _clip_values(arr):
    norm = np.sqrt(np.sum(arr**2))
    return _MAX_NORM * arr / norm if norm > _MAX_NORM else arr


def test_ordinary_grad_is_clipped_correctly():
    gradient = torch.tensor(_GRAD_VEC, dtype=torch.float32)
    variable = slim.variable("v", initializer=torch.zeros(3))
    [gradients_to_variables] = learning.clip_gradient_norms([(gradient, variable)], _MAX_NORM)
    assert gradients_to_variables[1] is variable
    np.testing.assert_almost_equal(gradients_to_variables[0].numpy(), _clip_values(_GRAD_VEC))


def test_none_grad_passes_through_correctly():
    variable = slim.variable("v", initializer=torch.zeros(3))
    [gradients_to_variables] = learning.clip_gradient_norms([(None, variable)], _MAX_NORM)
    assert gradients_to_variables[0] is None
    assert gradients_to_variables[1] is variable


# -- MultiplyGradientsTest ---------------------------------------------------------------------
_MULTIPLIER = 3.7


def _grad_and_var():
    gradient = torch.tensor(_GRAD_VEC, dtype=torch.float32)
    return gradient, slim.variable("v", initializer=torch.zeros_like(gradient))


def test_non_list_grads_raises_error():
    gradient, variable = _grad_and_var()
    with pytest.raises(ValueError):
        learning.multiply_gradients((gradient, variable), {variable: _MULTIPLIER})


def test_empty_multiples_raises_error():
    gradient, variable = _grad_and_var()
    with pytest.raises(ValueError):
        learning.multiply_gradients([(gradient, variable)], {})


def test_non_dict_multiplier_raises_error():
    gradient, variable = _grad_and_var()
    with pytest.raises(ValueError):
        learning.multiply_gradients([(gradient, variable)], 3)


def test_multiple_of_none_grad_raises_error():
    _, variable = _grad_and_var()
    with pytest.raises(ValueError):
        learning.multiply_gradients((None, variable), {variable: _MULTIPLIER})
    # and in a list, the reason TF names: a None gradient cannot be multiplied
    with pytest.raises(ValueError, match="None"):
        learning.multiply_gradients([(None, variable)], {variable: _MULTIPLIER})


def test_multiple_gradients_with_variables():
    gradient, variable = _grad_and_var()
    [grad_to_var] = learning.multiply_gradients([(gradient, variable)], {variable: _MULTIPLIER})
    assert grad_to_var[1] is variable
    np.testing.assert_almost_equal(grad_to_var[0].numpy(), _GRAD_VEC * _MULTIPLIER, 5)


def test_tensor_multiplier_of_gradient():
    gradient, variable = _grad_and_var()
    multiplier_flag = torch.tensor(True)

    class TensorMultiplier:   # tf.where(flag, multiplier, 1.0), read at each use
        def __init__(self):
            self.value = torch.tensor(_MULTIPLIER)

        def current(self):
            return torch.where(multiplier_flag, self.value, torch.tensor(1.0))
    multiplier = TensorMultiplier()
    gradient_true_flag = learning.multiply_gradients(
        [(gradient, variable)], {variable: multiplier.current()})[0][0]
    multiplier_flag.fill_(False)
    gradient_false_flag = learning.multiply_gradients(
        [(gradient, variable)], {variable: multiplier.current()})[0][0]
    np.testing.assert_almost_equal(gradient_true_flag.numpy(), _GRAD_VEC * _MULTIPLIER, 5)
    np.testing.assert_almost_equal(gradient_false_flag.numpy(), _GRAD_VEC, 5)


# -- the models and data -----------------------------------------------------------------------
def _separable_data():
    """TrainTest's data: each input one-hot in one of the two slots its label owns."""
    rng = np.random.RandomState(0)
    inputs = np.zeros((16, 4), np.float32)
    labels = rng.randint(0, 2, size=(16, 1)).astype(np.float32)
    for i in range(16):
        inputs[i, int(2 * labels[i, 0] + rng.randint(0, 2))] = 1
    return [(torch.from_numpy(inputs), torch.from_numpy(labels))]


def _random_data():
    """CreateTrainOpTest's data."""
    rng = np.random.RandomState(0)
    inputs = rng.rand(16, 4).astype(np.float32)
    labels = rng.randint(0, 2, size=(16, 1)).astype(np.float32)
    return [(torch.from_numpy(inputs), torch.from_numpy(labels))]


def logistic_classifier(inputs):
    return slim.fully_connected(inputs, 1, activation_fn=torch.sigmoid)


def batch_norm_classifier(inputs, fused=True):
    inputs = slim.batch_norm(inputs, decay=0.1, fused=fused)
    return slim.fully_connected(inputs, 1, activation_fn=torch.sigmoid)


def _model_loss(classifier, data, multiplier=None):
    """The model, built, and TF's ``log_loss`` + ``get_total_loss`` as a loss function."""
    net = slim.Model(classifier)
    with torch.no_grad(), slim.model.dry_run():
        net(data[0][0])

    def total_loss(batch):
        inputs, labels = batch
        predictions = net(inputs)
        if multiplier is not None:
            predictions = predictions * multiplier
        slim.losses.log_loss(predictions, labels)
        return slim.losses.get_total_loss()
    return net, total_loss


def _sgd(lr=1.0):
    return lambda params: torch.optim.SGD(params, lr=lr)


def _train_op(learning_rate=1.0, gradient_multiplier=1.0, data=None):
    """TrainTest.create_train_op."""
    _, total_loss = _model_loss(logistic_classifier, data or _separable_data())
    multipliers = None
    if gradient_multiplier != 1.0:
        multipliers = {var: gradient_multiplier for var in slim.get_trainable_variables()}
    return learning.create_train_op(total_loss, _sgd(learning_rate),
                                    gradient_multipliers=multipliers)


# -- TrainBNClassifierTest -----------------------------------------------------------------------
def test_train_bn_classifier_with_no_init_assign_can_achieve_zero_loss(tmp_path):
    data = _separable_data()
    _, total_loss = _model_loss(batch_norm_classifier, data)
    train_op = learning.create_train_op(total_loss, _sgd())
    loss = learning.train(train_op, str(tmp_path), data, number_of_steps=300, log_every_n_steps=10)
    assert loss < .1


# -- CreateTrainOpTest (learning_test and training_test) ---------------------------------------
@pytest.mark.parametrize("fused", [True, False], ids=["learning_test", "training_test"])
def test_use_update_ops(fused):
    data = _random_data()
    inputs = data[0][0].numpy()
    expected_mean = np.mean(inputs, axis=0)
    expected_var = np.var(inputs, axis=0)
    if fused:   # learning_test: TF's fused kernel keeps the unbiased (Bessel-corrected) variance
        expected_var *= 16 / 15
    _, total_loss = _model_loss(lambda x: batch_norm_classifier(x, fused=fused), data)
    train_op = create_train_op(total_loss, _sgd())
    moving_mean = slim.get_variables_by_name("moving_mean")[0]
    moving_variance = slim.get_variables_by_name("moving_variance")[0]
    np.testing.assert_allclose(moving_mean.detach().numpy(), [0] * 4)
    np.testing.assert_allclose(moving_variance.detach().numpy(), [1] * 4)
    for _ in range(10):
        train_op(data[0])
    # After 10 updates with decay 0.1 moving_mean == expected_mean and
    # moving_variance == expected_var.
    np.testing.assert_allclose(moving_mean.detach().numpy(), expected_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(moving_variance.detach().numpy(), expected_var, rtol=1e-5,
                               atol=1e-6)


def test_empty_update_ops():
    data = _random_data()
    _, total_loss = _model_loss(batch_norm_classifier, data)
    train_op = create_train_op(total_loss, _sgd(), update_ops=[])
    moving_mean = slim.get_variables_by_name("moving_mean")[0]
    for _ in range(10):
        train_op(data[0])
    # Difference: TF leaves the moving averages at 0 / 1 when update_ops=[];
    # slimtorch's batch norm updates them in the forward pass.
    np.testing.assert_allclose(moving_mean.detach().numpy(), np.mean(data[0][0].numpy(), 0),
                               rtol=1e-5)


def test_use_global_step():
    data = _random_data()
    _, total_loss = _model_loss(batch_norm_classifier, data)
    train_op = create_train_op(total_loss, _sgd())
    global_step = slim.get_or_create_global_step()
    for _ in range(10):
        train_op(data[0])
    assert int(global_step) == 10


def test_none_global_step():
    data = _random_data()
    _, total_loss = _model_loss(batch_norm_classifier, data)
    train_op = create_train_op(total_loss, _sgd(), global_step=None)
    global_step = slim.get_or_create_global_step()
    for _ in range(10):
        train_op(data[0])
    assert int(global_step) == 0


def test_record_train_op_in_collection():
    _, total_loss = _model_loss(logistic_classifier, _random_data())
    train_op = create_train_op(total_loss, _sgd())
    assert any(op is train_op for op in slim.get_collection("train_op"))


# -- training_test ClipGradsTest -----------------------------------------------------------------
@pytest.mark.parametrize("clip", ["clip_gradient_norms", "clip_gradient_norms_fn"])
def test_clip_grads(clip):
    xs = slim.variable("xs", initializer=0.0)
    ys = xs * 4.0
    [grad] = torch.autograd.grad(ys, [xs])
    gradients_to_variables = [(grad, xs)]
    if clip == "clip_gradient_norms":
        clipped = slim.training.clip_gradient_norms(gradients_to_variables, 3.0)
    else:
        clipped = clip_gradient_norms_fn(3.0)(gradients_to_variables)
    assert gradients_to_variables[0][0].item() == pytest.approx(4.0)
    assert clipped[0][0].item() == pytest.approx(3.0)


# -- TrainTest -------------------------------------------------------------------------------------
def test_train_with_non_default_graph(tmp_path):
    with slim.Graph():
        train_op = _train_op()
        loss = learning.train(train_op, str(tmp_path), _separable_data(), number_of_steps=300,
                              log_every_n_steps=10)
    assert loss is not None
    assert loss < .015


def test_train_with_none_as_logdir():
    loss = learning.train(_train_op(), None, _separable_data(), number_of_steps=300,
                          log_every_n_steps=10)
    assert loss is not None
    assert loss < .015


def test_train_with_trace(tmp_path):
    logdir = str(tmp_path)
    slim.summaries.scalar("total_loss", lambda: 0.0)
    loss = learning.train(_train_op(), logdir, _separable_data(), number_of_steps=300,
                          log_every_n_steps=10, trace_every_n_steps=100)
    assert loss is not None
    for trace_step in [1, 101, 201]:
        trace_paths = [os.path.join(logdir, f"tf_trace-{step}.json")
                       for step in (trace_step - 1, trace_step)]
        assert any(os.path.isfile(path) for path in trace_paths), trace_paths


def test_train_with_none_as_logdir_when_using_trace_raises_error():
    with pytest.raises(ValueError):
        learning.train(_train_op(), None, _separable_data(), number_of_steps=300,
                       trace_every_n_steps=10)


def test_train_with_no_init_assign_can_achieve_zero_loss(tmp_path):
    loss = learning.train(_train_op(), str(tmp_path), _separable_data(), number_of_steps=300,
                          log_every_n_steps=10)
    assert loss is not None
    assert loss < .015


def test_train_with_local_variable(tmp_path):
    data = _separable_data()
    local_multiplier = slim.local_variable(1.0)
    _, total_loss = _model_loss(logistic_classifier, data, multiplier=local_multiplier)
    train_op = learning.create_train_op(total_loss, _sgd())
    loss = learning.train(train_op, str(tmp_path), data, number_of_steps=300, log_every_n_steps=10)
    assert loss is not None
    assert loss < .015


def test_resume_train_achieves_roughly_the_same_loss(tmp_path):
    for i, number_of_steps in enumerate([300, 301, 305]):
        with slim.Graph():
            torch.manual_seed(i)
            loss = learning.train(_train_op(), str(tmp_path), _separable_data(),
                                  number_of_steps=number_of_steps, log_every_n_steps=10)
            assert loss is not None
            assert loss < .015


def _train_to_convergence(logdir1):
    """The first two stages of testTrainWithInitFromCheckpoint / ...FromFn."""
    with slim.Graph():
        torch.manual_seed(0)
        loss = learning.train(_train_op(), logdir1, _separable_data(), number_of_steps=1)
        assert loss > .5
    with slim.Graph():
        torch.manual_seed(1)
        loss = learning.train(_train_op(), logdir1, _separable_data(), number_of_steps=300,
                              log_every_n_steps=10)
        assert loss is not None
        assert loss < .015


def test_train_with_init_from_checkpoint(tmp_path):
    logdir1, logdir2 = str(tmp_path / "logs1"), str(tmp_path / "logs2")
    _train_to_convergence(logdir1)
    with slim.Graph():
        torch.manual_seed(2)
        train_op = _train_op()
        model_variables = slim.get_variables()
        model_path = os.path.join(logdir1, "model.ckpt-300")

        def init_assign_fn():
            slim.assign_from_checkpoint(model_path, model_variables)
        loss = learning.train(train_op, logdir2, _separable_data(), number_of_steps=1,
                              init_fn=init_assign_fn)
        assert loss is not None
        assert loss < .02


def test_train_with_init_from_fn(tmp_path):
    logdir1, logdir2 = str(tmp_path / "logs1"), str(tmp_path / "logs2")
    _train_to_convergence(logdir1)
    with slim.Graph():
        torch.manual_seed(2)
        train_op = _train_op()
        restore_fn = slim.assign_from_checkpoint_fn(os.path.join(logdir1, "model.ckpt-300"),
                                                    slim.get_variables())
        loss = learning.train(train_op, logdir2, _separable_data(), number_of_steps=1,
                              init_fn=restore_fn)
        assert loss is not None
        assert loss < .015


def test_train_all_vars_has_lower_loss_than_train_subset_of_vars(tmp_path):
    logdir1 = str(tmp_path)
    data = _separable_data()
    for seed, names, steps in [(0, "weights", 200), (1, "biases", 300), (2, None, 400)]:
        with slim.Graph():
            torch.manual_seed(seed)
            _, total_loss = _model_loss(logistic_classifier, data)
            variables = slim.get_variables_by_name(names) if names else None
            train_op = learning.create_train_op(total_loss, _sgd(), variables_to_train=variables)
            loss = learning.train(train_op, logdir1, data, number_of_steps=steps,
                                  log_every_n_steps=10)
            if names:   # only the weights, then only the biases
                assert .015 < loss < .05
            else:       # both: lower
                assert loss < .015


def test_training_subsets_of_variables_only_updates_those_variables():
    data = _separable_data()
    _, total_loss = _model_loss(logistic_classifier, data)
    weights, biases = slim.get_variables()
    optimizer = torch.optim.SGD([weights, biases], lr=1.0)
    train_op = learning.create_train_op(total_loss, optimizer)
    train_weights = learning.create_train_op(total_loss, optimizer, variables_to_train=[weights])
    train_biases = learning.create_train_op(total_loss, optimizer, variables_to_train=[biases])

    def values():
        return weights.detach().clone().numpy(), biases.detach().clone().numpy()
    weights_values, biases_values = values()
    assert np.linalg.norm(weights_values) > 0
    assert np.linalg.norm(biases_values) == pytest.approx(0)
    # weights and biases
    assert train_op(data[0]) > .5
    new_weights, new_biases = values()
    assert np.linalg.norm(weights_values - new_weights) > 0
    assert np.linalg.norm(biases_values - new_biases) > 0
    weights_values, biases_values = new_weights, new_biases
    # only the weights
    assert train_weights(data[0]) > .5
    new_weights, new_biases = values()
    assert np.linalg.norm(weights_values - new_weights) > 0
    assert np.linalg.norm(biases_values - new_biases) == pytest.approx(0)
    weights_values = new_weights
    # only the biases
    assert train_biases(data[0]) > .45
    new_weights, new_biases = values()
    assert np.linalg.norm(weights_values - new_weights) == pytest.approx(0)
    assert np.linalg.norm(biases_values - new_biases) > 0


def test_train_with_altered_gradients(tmp_path):
    """Same learning rate, gradients multiplied by 1000: the larger effective
    rate ends with the smaller loss."""
    losses = []
    for i, multiplier in enumerate([1., 1000.]):
        with slim.Graph():
            torch.manual_seed(0)
            train_op = _train_op(learning_rate=0.001, gradient_multiplier=multiplier)
            losses.append(learning.train(train_op, str(tmp_path / str(i)), _separable_data(),
                                         number_of_steps=10))
    assert losses[0] > .5
    assert losses[1] < .5
    assert losses[0] > losses[1]


def test_train_with_epoch_limit(tmp_path):
    logdir = str(tmp_path)
    # TF's limit_epochs(num_epochs=300): the data is 300 passes; no number_of_steps.
    loss = learning.train(_train_op(), logdir, _separable_data() * 300, log_every_n_steps=10)
    assert loss is not None
    assert loss < .015
    # Difference: slimtorch's checkpoint format (one safetensors file).
    assert os.path.isfile(f"{logdir}/model.ckpt-300.safetensors")


# -- train_step, train_step_fn, add_gradients_summaries (slimtorch's eager forms) ---------------
def test_train_step_fn_runs_custom_logic_and_can_stop(tmp_path):
    """TF-Slim's pattern: wrap train_step to validate every N steps; stop early."""
    seen = []

    def train_step_fn(batch, train_op, global_step, train_step_kwargs):
        total_loss, should_stop = learning.train_step(batch, train_op, global_step,
                                                      train_step_kwargs)
        if int(global_step) % 5 == 0:
            seen.append((int(global_step), float(total_loss)))
            train_step_kwargs["summary_writer"].scalar("validation/loss", total_loss,
                                                       int(global_step))
        return total_loss, should_stop or int(global_step) >= 12
    loss = learning.train(_train_op(), str(tmp_path), _separable_data(), number_of_steps=50,
                          train_step_fn=train_step_fn, log_every_n_steps=0)
    assert [s for s, _ in seen] == [5, 10]
    assert int(slim.get_global_step()) == 12    # stopped by the function
    assert loss == pytest.approx(float(loss))
    assert os.path.isfile(f"{tmp_path}/model.ckpt-12.safetensors")   # saved on the way out
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [e.step for e in events.Scalars("validation/loss")] == [5, 10]


def test_train_step_kwargs_replace_the_defaults(caplog):
    kwargs = {"should_stop": lambda: int(slim.get_global_step()) >= 3,
              "should_log": True}
    with caplog.at_level(logging.INFO, logger="slimtorch"):
        learning.train(_train_op(), None, _separable_data(), number_of_steps=100,
                       train_step_kwargs=kwargs, progress=False)
    assert int(slim.get_global_step()) == 3
    logged = [r.getMessage() for r in caplog.records if "loss =" in r.getMessage()]
    assert [m.split(":")[0] for m in logged] == ["global step 1", "global step 2",
                                                 "global step 3"]


def test_train_step_needs_logdir_to_trace():
    train_op = _train_op()
    with pytest.raises(ValueError, match="logdir"):
        learning.train_step(_separable_data()[0], train_op, slim.get_or_create_global_step(),
                            {"should_trace": True})


def test_default_train_step_kwargs_follow_tf_slim():
    step = slim.get_or_create_global_step()
    kwargs = slim.training.default_train_step_kwargs(step, 10, 5, trace_every_n_steps=4,
                                                     logdir="/tmp/x")
    assert sorted(kwargs) == ["logdir", "should_log", "should_stop", "should_trace"]
    step.fill_(10)
    assert (kwargs["should_stop"](), kwargs["should_log"](), kwargs["should_trace"]()) == \
        (True, True, False)
    assert "should_log" not in slim.training.default_train_step_kwargs(step, None, 0)


def test_add_gradients_summaries_names_and_values(caplog):
    w = slim.variable("fc/weights", initializer=[3.0, 4.0])
    b = slim.variable("fc/biases", initializer=[0.0])
    with caplog.at_level(logging.INFO, logger="slimtorch"):
        tags = learning.add_gradients_summaries([(torch.tensor([3.0, 4.0]), w), (None, b)])
    assert tags == ["fc/weights/gradient", "fc/weights/gradient_norm"]
    assert "Var fc/biases has no gradient" in caplog.text
    # create_train_op(summarize_gradients=True) records them at every recorded step
    train_op = _train_op()
    train_op.summarize_gradients = True
    slim.summaries.clear_summaries()
    train_op(_separable_data()[0])
    assert sorted(slim.summaries.get_summaries()) == [
        "fully_connected/biases/gradient", "fully_connected/biases/gradient_norm",
        "fully_connected/weights/gradient", "fully_connected/weights/gradient_norm"]


def test_train_op_none_is_an_error():
    with pytest.raises(ValueError, match="train_op cannot be None"):
        learning.train(None, None, _separable_data())
