"""A NaN/Inf loss: ``check_numerics`` stops with the global step number, or
(``on_nonfinite_loss='skip'``) drops that step's update and goes on."""

import logging
import math

import pytest
import torch

import slimtorch as slim

GOOD = [(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0]])),
        (torch.tensor([[0.5, -1.0]]), torch.tensor([[2.0]])),
        (torch.tensor([[-1.0, 1.0]]), torch.tensor([[0.0]])),
        (torch.tensor([[2.0, 0.0]]), torch.tensor([[-1.0]]))]
BAD = (torch.tensor([[float("nan"), 1.0]]), torch.tensor([[1.0]]))


def _regression(**options):
    """A linear model fitted by momentum SGD (its state shows any update)."""
    model = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc",
                                                      weights_initializer=slim.ones_initializer()))

    def total_loss(batch):
        slim.losses.mean_squared_error(model(batch[0]), batch[1])
    train_op = slim.learning.create_train_op(
        total_loss, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), **options)
    return model, train_op


def _state(model, train_op):
    weights = {k: v.detach().clone() for k, v in model.named_variables().items()}
    momentum = [train_op.optimizer.state[p].get("momentum_buffer") for p in
                train_op.variables_to_train]
    return weights, [m.clone() if m is not None else None for m in momentum], \
        int(slim.get_global_step())


def _equal(a, b):
    weights_a, momentum_a, step_a = a
    weights_b, momentum_b, step_b = b
    return step_a == step_b and all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a) \
        and all((x is None and y is None) or torch.equal(x, y)
                for x, y in zip(momentum_a, momentum_b))


def test_raise_names_the_global_step_and_train_stops(tmp_path):
    model, train_op = _regression()
    with pytest.raises(FloatingPointError, match=r"LossTensor is inf or nan: loss = nan at "
                                                 r"global step 2 \(check_numerics=True\)"):
        slim.learning.train(train_op, str(tmp_path), GOOD[:2] + [BAD] + GOOD[2:],
                            number_of_steps=5, log_every_n_steps=0, device=None)
    assert int(slim.get_global_step()) == 2   # the bad batch applied nothing


def test_skip_leaves_weights_optimizer_and_step_unchanged_and_training_goes_on(caplog):
    model, train_op = _regression(on_nonfinite_loss="skip")
    for batch in GOOD[:2]:
        train_op(batch)
    before = _state(model, train_op)
    with caplog.at_level(logging.WARNING, logger="slimtorch.learning"):
        loss = train_op(BAD)
    assert torch.isnan(loss)
    assert _equal(_state(model, train_op), before)
    assert all(v.grad is None for v in train_op.variables_to_train)   # gradients dropped
    assert train_op.skipped_steps == 1
    assert [r.getMessage() for r in caplog.records] == [
        "create_train_op: loss = nan at global step 2: update skipped "
        "(on_nonfinite_loss='skip'; 1 skipped so far)"]
    for batch in GOOD[2:]:
        train_op(batch)
    assert int(slim.get_global_step()) == 4
    after = _state(model, train_op)

    # The same as a run that never saw the bad batch.
    with slim.Graph():
        clean_model, clean_op = _regression()
        for batch in GOOD:
            clean_op(batch)
        assert _equal(_state(clean_model, clean_op), after)


def test_skip_drops_the_gradients_accumulated_for_that_update():
    """Accumulating two batches per update: a bad second batch discards the
    first one's gradients too; the next two batches make the first update."""
    model, train_op = _regression(on_nonfinite_loss="skip", gradient_accumulation_steps=2)
    for batch in [GOOD[0], BAD, GOOD[1], GOOD[2]]:
        train_op(batch)
    assert int(slim.get_global_step()) == 1 and train_op.skipped_steps == 1
    with slim.Graph():
        clean_model, clean_op = _regression(gradient_accumulation_steps=2)
        for batch in GOOD[1:3]:
            clean_op(batch)
        assert _equal(_state(clean_model, clean_op), _state(model, train_op))


def test_skip_inside_train_counts_and_the_count_survives_a_resume(tmp_path):
    data = GOOD[:2] + [BAD] + GOOD[2:]   # 5 batches per epoch, one bad
    with slim.Graph():
        _, train_op = _regression(on_nonfinite_loss="skip")
        loss = slim.learning.train(train_op, str(tmp_path), data, number_of_steps=4,
                                   log_every_n_steps=0, device=None)
        assert train_op.skipped_steps == 1 and math.isfinite(loss)   # the last batch was good
    with slim.Graph():
        _, train_op = _regression(on_nonfinite_loss="skip")
        slim.learning.train(train_op, str(tmp_path), data, number_of_steps=8,
                            log_every_n_steps=0, device=None)
        # The second epoch met the bad batch again: 1 restored + 1.
        assert int(slim.get_global_step()) == 8 and train_op.skipped_steps == 2


def test_bad_policies():
    with pytest.raises(ValueError, match="on_nonfinite_loss must be 'raise' or 'skip', "
                                         "got 'ignore'"):
        _regression(on_nonfinite_loss="ignore")
    with pytest.raises(ValueError, match="on_nonfinite_loss='skip' needs check_numerics=True"):
        _regression(on_nonfinite_loss="skip", check_numerics=False)
