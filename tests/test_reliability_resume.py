"""Resuming from *any* checkpoint ``train`` wrote continues exactly as the
uninterrupted run: the same batches (a shuffling ``DataLoader`` too, and
across epoch boundaries), the same random numbers, gradient accumulation
included. Regression tests for resumes that used to diverge."""

import os
import shutil

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import slimtorch as slim
from slimtorch.checkpoint import update_checkpoint_state
from slimtorch.training import ResumableBatches, TrainerState

STEPS = 8


def _loader(shuffle):
    """20 examples in batches of 4: an epoch is 5 steps (so runs cross one)."""
    g = torch.Generator().manual_seed(1)
    return DataLoader(TensorDataset(torch.randn(20, 3, generator=g),
                                    torch.randn(20, 1, generator=g)), batch_size=4,
                      shuffle=shuffle)


def _train(logdir, steps, data, accumulation=1):
    with slim.Graph():
        torch.manual_seed(3)
        model = slim.Model(lambda x: slim.fully_connected(
            slim.dropout(slim.fully_connected(x, 8, scope="h"), 0.7), 1, activation_fn=None,
            scope="o"))

        def total_loss(batch):
            slim.losses.mean_squared_error(model(batch[0]), batch[1])
        train_op = slim.learning.create_train_op(
            total_loss, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
            gradient_accumulation_steps=accumulation)
        slim.learning.train(train_op, logdir, data, number_of_steps=steps, log_every_n_steps=0,
                            save_interval_steps=1, save_summaries_secs=0, max_to_keep=0,
                            device=None)
        return {k: v.detach().clone() for k, v in model.named_variables().items()}


def _crash_copy(reference, destination, step):
    """``reference`` as a run killed right after it saved ``step`` would have
    left it: later checkpoints gone, the state file naming ``step``."""
    shutil.copytree(reference, destination)
    for name in os.listdir(destination):
        if name.startswith("model.ckpt-") and int(name.split("-")[1].split(".")[0]) > step:
            os.remove(os.path.join(destination, name))
    update_checkpoint_state(destination, f"model.ckpt-{step}.safetensors",
                            [f"model.ckpt-{step}.safetensors"])


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
def test_resuming_a_dataloader_from_any_checkpoint_equals_the_uninterrupted_run(tmp_path,
                                                                               shuffle):
    """Resuming used to replay the epochs with a fresh generator: a shuffled
    epoch came in another order, and at an epoch boundary (step 5) even an
    in-order loader left dropout with other random numbers."""
    reference = str(tmp_path / "straight")
    expected = _train(reference, STEPS, _loader(shuffle))
    for step in (2, 5, 6):   # inside the first epoch, at its end, inside the second
        resumed_dir = str(tmp_path / f"from{step}")
        _crash_copy(reference, resumed_dir, step)
        resumed = _train(resumed_dir, STEPS, _loader(shuffle))
        assert all(torch.equal(resumed[k], expected[k]) for k in expected), step


def test_checkpoints_are_taken_only_between_updates_with_gradient_accumulation(tmp_path):
    """With two micro-batches per update, the checkpoint of step k used to be
    rewritten after the next micro-batch, recording a position whose
    gradients it did not hold: resuming from it diverged."""
    reference = str(tmp_path / "straight")
    data = [(x, y) for x, y in _loader(False)]   # a list: 5 micro-batches per epoch
    expected = _train(reference, 4, data, accumulation=2)
    for step in (1, 2, 3):
        state = TrainerState.load(os.path.join(reference, f"model.ckpt-{step}.safetensors"))
        assert state.extra["data_position"] == 2 * step
        resumed_dir = str(tmp_path / f"from{step}")
        _crash_copy(reference, resumed_dir, step)
        resumed = _train(resumed_dir, 4, data, accumulation=2)
        assert all(torch.equal(resumed[k], expected[k]) for k in expected), step


def _one_ahead(batches):
    """What ``train`` does on a GPU: the next batch is fetched before the
    current one is trained on (``slimtorch.training.prefetch_to_device``)."""
    ahead = None
    for item in batches:
        if ahead is not None:
            yield ahead
        ahead = item
    yield ahead


@pytest.mark.parametrize("prefetch", [False, True], ids=["cpu", "prefetching"])
def test_resumable_batches_replay_the_order_and_the_random_numbers(prefetch):
    """The stream's protocol, with a shuffling loader and a random draw per
    step (dropout): resume after any step, take the first batch, build
    (more draws), restore the saved generator state, then the stream's
    ``rng_after_resume`` if any: every later batch and draw is the same."""
    def steps(stream, count, after_first=None):
        batches = iter(stream)
        first = next(batches)
        if after_first:
            after_first()
        for epoch, index, batch in _one_ahead_or_not(_chain(first, batches), prefetch):
            draw = torch.rand(2)   # the training step's dropout
            yield (epoch, index), batch[0], draw, stream.position((epoch, index)), \
                torch.get_rng_state()
            count -= 1
            if not count:
                return

    torch.manual_seed(0)
    straight = list(steps(ResumableBatches(_loader(True)), 12))
    for k in range(len(straight) - 1):
        _, _, _, position, saved_rng = straight[k]
        stream = ResumableBatches(_loader(True), position, saved_rng)

        def restore(saved_rng=saved_rng, stream=stream):   # bound now, called in this iteration
            torch.rand(7)   # building the model draws initial values
            torch.set_rng_state(saved_rng)
            if stream.rng_after_resume() is not None:
                torch.set_rng_state(stream.rng_after_resume())
        torch.manual_seed(99)   # a new process: another generator state
        resumed = list(steps(stream, len(straight) - k - 1, restore))
        for (where, batch, draw, _, _), (where2, batch2, draw2, _, _) in \
                zip(straight[k + 1:], resumed):
            assert where == where2 and torch.equal(batch, batch2) and torch.equal(draw, draw2), k


def _chain(first, rest):
    yield first
    yield from rest


def _one_ahead_or_not(batches, prefetch):
    return _one_ahead(batches) if prefetch else batches


@pytest.mark.parametrize("damaged", ["weights", "trainer state", "both"])
def test_a_truncated_latest_checkpoint_resumes_from_the_newest_complete_one(tmp_path, caplog,
                                                                            damaged):
    """A disk that filled up or a copy cut short leaves the latest
    checkpoint's files truncated: training warns, naming the bad file, and
    resumes from the one before, ending exactly where the uninterrupted run
    ends."""
    from slimtorch.checkpoint import latest_checkpoint, trainer_state_path

    data = _loader(shuffle=True)
    straight = _train(str(tmp_path / "straight"), STEPS, data)
    run = str(tmp_path / "run")
    _crash_copy(str(tmp_path / "straight"), run, 5)
    update_checkpoint_state(run, "model.ckpt-5.safetensors",
                            [f"model.ckpt-{step}.safetensors" for step in (3, 4, 5)])
    latest = latest_checkpoint(run)
    bad = {"weights": [latest], "trainer state": [trainer_state_path(latest)],
           "both": [latest, trainer_state_path(latest)]}[damaged]
    for path in bad:
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    with caplog.at_level("INFO", logger="slimtorch"):
        resumed = _train(run, STEPS, data)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and bad[0] in warnings[0] and "truncated or unreadable" in warnings[0]
    assert any(f"resumed from {os.path.join(run, 'model.ckpt-4.safetensors')}" in r.getMessage()
               for r in caplog.records)
    for name, value in straight.items():
        assert torch.equal(resumed[name], value), name
    assert latest_checkpoint(run).endswith(f"model.ckpt-{STEPS}.safetensors")


def test_when_no_checkpoint_reads_training_stops_and_says_why(tmp_path):
    from slimtorch.checkpoint import CheckpointError, latest_checkpoint

    _train(str(tmp_path), 1, _loader(shuffle=False))
    path = latest_checkpoint(str(tmp_path))
    with open(path, "r+b") as f:
        f.truncate(10)
    with pytest.raises(CheckpointError, match="none of the 1 checkpoints .* reads"):
        _train(str(tmp_path), 3, _loader(shuffle=False))
    assert latest_checkpoint(str(tmp_path)) == path   # nothing was overwritten
