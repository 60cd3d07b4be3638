"""A first, short run already has training curves: summaries at the first
step, every ``save_summaries_steps`` and at the last step; the losses are
tagged by name (``losses/softmax_cross_entropy``, ``losses/aux_loss``,
``losses/regularization``)."""

import pytest
import torch

import slimtorch as slim

EventAccumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator").EventAccumulator


def _classifier_run(logdir, steps, **options):
    """A small classifier with an auxiliary head (the CLI's losses: a scoped
    auxiliary cross entropy, the main one, weight decay)."""
    torch.manual_seed(0)

    def net(x):
        hidden = slim.fully_connected(x, 8, weights_regularizer=slim.l2_regularizer(0.01),
                                      scope="hidden")
        aux = slim.fully_connected(hidden, 3, activation_fn=None, scope="aux")
        return slim.fully_connected(hidden, 3, activation_fn=None, scope="logits"), aux
    model = slim.Model(net)

    def total_loss(batch):
        images, labels = batch
        logits, aux = model(images)
        onehot = torch.nn.functional.one_hot(labels, 3).float()
        slim.losses.softmax_cross_entropy(aux, onehot, weights=0.4, scope="aux_loss")
        slim.losses.softmax_cross_entropy(logits, onehot)
        return slim.losses.get_total_loss()
    train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.1))
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, 5, generator=g), torch.randint(0, 3, (4,), generator=g))
            for _ in range(3)]
    options.setdefault("log_every_n_steps", 0)
    return slim.learning.train(train_op, logdir, data, number_of_steps=steps, **options)


def _events(logdir):
    events = EventAccumulator(str(logdir))
    events.Reload()
    return events


def test_a_default_run_writes_its_first_and_last_step(tmp_path):
    """save_summaries_secs=600 alone (TF-Slim's default) on a run shorter
    than that: before, the events file held nothing."""
    _classifier_run(tmp_path, 30)
    assert [e.step for e in _events(tmp_path).Scalars("total_loss")] == [1, 30]


def test_save_summaries_steps_adds_a_point_every_n_steps(tmp_path):
    _classifier_run(tmp_path, 95, save_summaries_steps=10)
    steps = [e.step for e in _events(tmp_path).Scalars("losses/softmax_cross_entropy")]
    assert steps == [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]


@pytest.mark.slow
def test_a_1000_step_run_with_save_summaries_steps_50_has_21_loss_points(tmp_path):
    """The CLI's default run (1000 steps, --save_summaries_steps 50)."""
    _classifier_run(tmp_path, 1000, save_summaries_steps=50)
    steps = [e.step for e in _events(tmp_path).Scalars("total_loss")]
    assert steps == [1] + list(range(50, 1001, 50))


def test_losses_are_tagged_by_name_and_the_total_is_their_sum(tmp_path):
    _classifier_run(tmp_path, 4, save_summaries_steps=2)
    events = _events(tmp_path)
    tags = set(events.Tags()["scalars"])
    assert {"total_loss", "losses/aux_loss", "losses/softmax_cross_entropy",
            "losses/regularization", "learning_rate", "global_step/sec"} <= tags
    assert not any(tag.startswith("losses/loss") for tag in tags)
    value = {tag: events.Scalars(tag)[-1].value for tag in tags}
    parts = value["losses/aux_loss"] + value["losses/softmax_cross_entropy"] + \
        value["losses/regularization"]
    assert parts == pytest.approx(value["total_loss"], rel=1e-5)


def test_a_name_used_twice_gets_a_suffix(tmp_path):
    model = slim.Model(lambda x: slim.fully_connected(x, 2, activation_fn=None, scope="fc"))

    def total_loss(batch):
        slim.losses.mean_squared_error(model(batch), torch.zeros(2, 2))
        slim.losses.mean_squared_error(model(batch), torch.ones(2, 2))
        slim.losses.add_loss(model(batch).abs().mean())   # no name: 'loss'
    train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.1))
    slim.learning.train(train_op, str(tmp_path), [torch.ones(2, 3)], number_of_steps=2,
                        log_every_n_steps=0)
    assert list(train_op.last_losses) == ["mean_squared_error", "mean_squared_error_1", "loss"]
    assert {"losses/mean_squared_error", "losses/mean_squared_error_1", "losses/loss"} <= \
        set(_events(tmp_path).Tags()["scalars"])


def test_no_cadence_means_no_summaries_at_all(tmp_path):
    _classifier_run(tmp_path, 5, save_summaries_secs=0)
    assert not list(tmp_path.glob("events.out.tfevents.*"))


def test_regularization_is_computed_for_a_summary_only_when_one_is_recorded():
    w = slim.variable("w", initializer=[3.0, 4.0], regularizer=slim.l2_regularizer(1.0))
    slim.losses.add_loss(w.sum())
    with slim.summaries.record_if(False):
        slim.losses.get_total_loss()
    assert slim.summaries.get_summaries() == []
    slim.losses.get_total_loss()
    assert slim.summaries.get_summaries() == ["losses/regularization"]
