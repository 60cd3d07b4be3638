"""slimtorch.summaries: TF-Slim's summary helpers, recorded per step and written
as TensorBoard events, read back with TensorBoard's own EventAccumulator."""

import sys
import warnings

import pytest
import torch

import slimtorch as slim
from slimtorch import summaries
from slimtorch.summaries import SummaryWriter


def read_events(logdir):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    acc = event_accumulator.EventAccumulator(
        str(logdir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


needs_tensorboard = pytest.mark.skipif(not summaries.tensorboard_available(),
                                       reason="needs the tensorboard package")


@needs_tensorboard
def test_direct_scalars_and_histograms(tmp_path):
    with SummaryWriter(str(tmp_path)) as writer:
        for step in range(3):
            writer.scalar("loss", torch.tensor(1.0 / (step + 1)), step)
        writer.scalar("total loss", 2.5, 7)                 # TF's tag cleaning
        writer.histogram("weights", torch.arange(10.0), 2)
        writer.histogram("with_nan", torch.tensor([1.0, float("nan"), 3.0]), 2)
        writer.histogram("all_nan", torch.tensor([float("nan")]), 2)   # nothing written
    acc = read_events(tmp_path)
    assert sorted(acc.Tags()["scalars"]) == ["loss", "total_loss"]
    assert scalars(acc, "loss") == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert scalars(acc, "total_loss") == [(7, 2.5)]
    assert sorted(acc.Tags()["histograms"]) == ["weights", "with_nan"]
    histo = acc.Histograms("weights")[0]
    assert histo.step == 2
    assert (histo.histogram_value.min, histo.histogram_value.max) == (0.0, 9.0)
    assert (histo.histogram_value.num, histo.histogram_value.sum) == (10, 45.0)
    assert acc.Histograms("with_nan")[0].histogram_value.num == 2


@needs_tensorboard
def test_recorded_summaries_are_written_at_summary_time(tmp_path):
    def model_fn(x):
        net = slim.fully_connected(x, 4, scope="fc1")
        summaries.add_zero_fraction_summary(net, name="fc1", prefix="sparsity")
        summaries.histogram("activations/fc1", net)
        return slim.fully_connected(net, 1, activation_fn=None, scope="fc2")

    model = slim.Model(model_fn)
    model(torch.randn(2, 3))
    variables = slim.get_model_variables()
    summaries.add_histogram_summaries(variables)           # once, like research/slim
    writer = SummaryWriter(str(tmp_path))
    optimizer = torch.optim.SGD(variables, lr=0.1)
    losses = []
    for step in range(4):
        with summaries.record_if(step % 2 == 0):           # the trainer's summary steps
            loss = model(torch.randn(8, 3)).pow(2).mean()
            summaries.scalar("total_loss", loss)
            summaries.scalar("learning_rate", lambda: optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 2 == 0:
            written = writer.write_summaries(step)
            assert "total_loss" in written and "fc1/weights" in written
    writer.close()

    acc = read_events(tmp_path)
    assert scalars(acc, "total_loss") == [(0, pytest.approx(losses[0])),
                                          (2, pytest.approx(losses[2]))]
    assert [s for s, _ in scalars(acc, "learning_rate")] == [0, 2]
    assert [s for s, _ in scalars(acc, "sparsity/fc1/Fraction_of_Zero_Values")] == [0, 2]
    assert 0.0 <= scalars(acc, "sparsity/fc1/Fraction_of_Zero_Values")[0][1] <= 1.0
    assert {"fc1/weights", "fc2/biases", "activations/fc1"} <= set(acc.Tags()["histograms"])
    # Variables are live (written every time); one-step values were consumed.
    assert [h.step for h in acc.Histograms("fc1/weights")] == [0, 2]
    assert "total_loss" not in summaries.get_summaries()
    assert "fc1/weights" in summaries.get_summaries()


def test_recording_replaces_and_does_not_keep_graphs():
    x = torch.ones(3, requires_grad=True)
    for value in (1.0, 2.0, 3.0):
        summaries.scalar("loss", (x * value).sum())
    assert summaries.get_summaries() == ["loss"]
    entry = summaries._store()["loss"]
    assert entry.value.grad_fn is None and entry.value.item() == 9.0
    with pytest.raises(ValueError, match="needs one value"):
        summaries.scalar("bad", torch.ones(2))
    with pytest.raises(ValueError, match="needs name="):
        summaries.add_scalar_summary(torch.tensor(1.0))
    summaries.clear_summaries()
    assert summaries.get_summaries() == []


def test_tf_slim_summary_names():
    w = slim.variable("conv1/weights", shape=[3, 3, 1, 2])
    scale = slim.variable("scale", initializer=torch.tensor(2.0))
    assert summaries.add_scalar_summaries([scale], prefix="x") == ["x/scale"]
    assert summaries.add_histogram_summary(w) == "conv1/weights"
    assert summaries.add_histogram_summaries([w], prefix="weights") == ["weights/conv1/weights"]
    assert summaries.add_zero_fraction_summaries([w]) == ["conv1/weights/Fraction_of_Zero_Values"]
    assert summaries.add_scalar_summary(torch.tensor(1.0), "Total Loss") == "Total_Loss"
    assert summaries.scalar("/leading", 1.0) == "leading"
    with slim.Graph():                                  # each graph has its own summaries
        assert summaries.get_summaries() == []


def test_disabled_writer_drains_without_writing(tmp_path):
    writer = SummaryWriter(str(tmp_path), enabled=False)
    summaries.scalar("loss", torch.tensor(1.0))
    assert writer.write_summaries(1) == [] and summaries.get_summaries() == []
    writer.scalar("loss", 1.0, 1)
    writer.histogram("h", torch.ones(2), 1)
    writer.flush()
    writer.close()
    assert list(tmp_path.iterdir()) == []
    assert not SummaryWriter(None).enabled


def test_missing_tensorboard_warns_once_and_disables(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)   # import now fails
    monkeypatch.setattr(summaries, "_warned_missing", [False])
    assert not summaries.tensorboard_available()
    with pytest.warns(UserWarning, match="TensorBoard summaries are disabled"):
        writer = SummaryWriter(str(tmp_path))
    assert not writer.enabled
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # the second one is silent
        second = SummaryWriter(str(tmp_path))
        second.scalar("loss", 1.0, 0)
        second.close()
    assert list(tmp_path.iterdir()) == []


@needs_tensorboard
def test_write_error_disables_instead_of_crashing(tmp_path):
    writer = SummaryWriter(str(tmp_path))

    def fail(*args):
        raise OSError("No space left on device")
    writer._writer.add_scalar = fail
    with pytest.warns(UserWarning, match="No space left on device"):
        writer.scalar("loss", 1.0, 0)
    assert not writer.enabled
    writer.scalar("loss", 1.0, 1)


@needs_tensorboard
def test_purge_step_hides_orphaned_events(tmp_path):
    with SummaryWriter(str(tmp_path)) as first:
        for step in range(10):
            first.scalar("loss", float(step), step)
    with SummaryWriter(str(tmp_path), purge_step=5) as resumed:   # resumed from step 5
        for step in range(5, 7):
            resumed.scalar("loss", 100.0 + step, step)
    steps = scalars(read_events(tmp_path), "loss")
    assert steps == [(s, float(s)) for s in range(5)] + [(5, 105.0), (6, 106.0)]
