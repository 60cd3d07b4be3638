"""``slimtorch eval``'s report on the embedded digits with LeNet: the printed
confusion matrix and per-class table, the CSV files, the predictions file
against a direct forward pass, the TensorBoard image, and one report per
checkpoint under ``--eval_interval_secs``."""

import csv
import os
import threading
import time

import pytest
import torch

import slimtorch as slim
from slimtorch import cli
from slimtorch._io.atomic import is_temp_file
from slimtorch.checkpoint import CheckpointManager, latest_checkpoint, load_checkpoint
from slimtorch.classifier import report
from slimtorch.data.digits import DigitsDataset
from slimtorch.data.preprocessing import get_preprocessing
from slimtorch.nets import nets_factory

EventAccumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator").EventAccumulator

EVAL_FAST = ["--num_preprocessing_threads=0", "--device=cpu"]
STEPS = 10


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    slim.reset_default_graph()
    path = str(tmp_path_factory.mktemp("report") / "train")
    assert cli.main(["train", f"--train_dir={path}", f"--max_number_of_steps={STEPS}",
                     "--optimizer=sgd", "--learning_rate=0.05", "--learning_rate_decay_type=fixed",
                     "--batch_size=16", "--log_every_n_steps=0", *EVAL_FAST]) == 0
    return path


def _eval(*flags):
    slim.reset_default_graph()   # each command is its own program
    return cli.main(["eval", *flags, *EVAL_FAST])


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _matrix_csv(path):
    rows = _read_csv(path)
    assert rows[0] == ["label", "name", *map(str, range(10))]
    assert [row[:2] for row in rows[1:]] == [[str(i), str(i)] for i in range(10)]
    return torch.tensor([[float(v) for v in row[2:]] for row in rows[1:]], dtype=torch.float64)


def _forward_pass(checkpoint):
    """LeNet's softmax on every test image, without the eval command."""
    data = DigitsDataset("test")
    preprocess = get_preprocessing("lenet", is_training=False)
    images = torch.stack([preprocess(image, 28, 28) for image in data.images])
    slim.reset_default_graph()
    net = nets_factory.get_network_fn("lenet", num_classes=10, is_training=False)
    with slim.model.dry_run():
        net(images[:1])
    slim.checkpoint.assign_from_checkpoint(checkpoint, net)
    with torch.no_grad():
        logits, _ = net(images)
    return data.labels, logits.softmax(1)


def test_eval_prints_and_writes_the_report(train_dir, tmp_path, capsys):
    eval_dir, predictions_file = tmp_path / "eval", tmp_path / "out" / "predictions.csv"
    assert _eval(f"--checkpoint_path={train_dir}", f"--eval_dir={eval_dir}",
                 f"--predictions_file={predictions_file}") == 0
    out = capsys.readouterr().out.splitlines()

    # The existing lines are unchanged and come first.
    values = dict(line.split(": ") for line in out if line.startswith("eval/"))
    assert set(values) == {"eval/Accuracy", "eval/Recall_5"}
    assert [line.split(":")[0] for line in out[:2]] == ["eval/Accuracy", "eval/Recall_5"]

    # The confusion matrix CSV: 364 test images; its diagonal is the accuracy.
    matrix = _matrix_csv(eval_dir / f"confusion_matrix-{STEPS}.csv")
    assert matrix.sum() == 364
    assert float(values["eval/Accuracy"]) == pytest.approx(matrix.trace().item() / 364, abs=1e-6)
    assert matrix.sum(1).tolist() == torch.bincount(DigitsDataset("test").labels).tolist()

    # Printed: the same matrix, then the per-class table.
    start = out.index("confusion matrix (rows: labels, columns: predictions)")
    assert out[start + 1].split() == [str(i) for i in range(10)]
    printed = [[float(v) for v in line.split()[1:]] for line in out[start + 2:start + 12]]
    assert printed == matrix.tolist()
    assert out[start + 12].split() == ["class", "precision", "recall", "support"]
    table = [line.split() for line in out[start + 13:start + 23]]

    # Per-class CSV = the hand computation from the matrix, and the printed table rounded.
    per_class = list(csv.DictReader(open(eval_dir / f"per_class-{STEPS}.csv")))
    diagonal, predicted, support = matrix.diagonal(), matrix.sum(0), matrix.sum(1)
    for i, row in enumerate(per_class):
        assert row["class"] == row["name"] == str(i)
        precision = diagonal[i] / predicted[i] if predicted[i] else 0.0
        assert float(row["precision"]) == pytest.approx(float(precision), abs=1e-12)
        assert float(row["recall"]) == pytest.approx(float(diagonal[i] / support[i]), abs=1e-12)
        assert int(row["support"]) == support[i]
        assert table[i] == [str(i), f"{float(precision):.4f}",
                            f"{float(diagonal[i] / support[i]):.4f}", str(int(support[i]))]
    assert out[-1] == (f"eval report at global step {STEPS}: {eval_dir}/confusion_matrix-"
                       f"{STEPS}.csv, {eval_dir}/per_class-{STEPS}.csv, {predictions_file}")

    # The predictions file: one row per image in split order, as a direct forward pass.
    rows = list(csv.DictReader(open(predictions_file)))
    labels, probabilities = _forward_pass(latest_checkpoint(train_dir))
    assert [int(r["index"]) for r in rows] == list(range(364))
    assert [int(r["label"]) for r in rows] == labels.tolist()
    written = torch.tensor([[float(r[f"prob_{c}"]) for c in range(10)] for r in rows])
    torch.testing.assert_close(written, probabilities, rtol=1e-5, atol=1e-6)
    assert [int(r["prediction"]) for r in rows] == probabilities.argmax(1).tolist()
    assert all(r["prediction_name"] == r["prediction"] for r in rows)
    recount = torch.zeros(10, 10, dtype=torch.float64)
    for r in rows:
        recount[int(r["label"]), int(r["prediction"])] += 1
    assert torch.equal(recount, matrix)
    assert not any(is_temp_file(p) for p in os.listdir(eval_dir))
    assert os.listdir(predictions_file.parent) == ["predictions.csv"]

    # TensorBoard: the scalars as before, and the heat map at the checkpoint's step.
    events = EventAccumulator(str(eval_dir), size_guidance={"images": 0})
    events.Reload()
    assert {"eval/Accuracy", "eval/Recall_5"} <= set(events.Tags()["scalars"])
    [image] = events.Images("eval/ConfusionMatrix/image")
    assert image.step == STEPS and (image.width, image.height) == (250, 250)
    from torchvision.io import decode_png
    decoded = decode_png(torch.frombuffer(bytearray(image.encoded_image_string),
                                          dtype=torch.uint8))
    # A grey image (TensorBoard's writer stores it as RGB with equal channels).
    assert torch.equal(decoded, report.confusion_matrix_image(matrix).expand(3, -1, -1))


def test_each_checkpoint_of_an_interval_run_gets_its_report(train_dir, tmp_path, capsys):
    # Two checkpoints, the second written while the first is evaluated.
    watched, eval_dir = str(tmp_path / "watched"), tmp_path / "eval"
    reader = load_checkpoint(latest_checkpoint(train_dir))
    tensors = {name: reader.get_torch_tensor(name) for name in reader.get_variable_to_shape_map()}
    CheckpointManager(watched).save(tensors, 5)

    def save_the_second():
        deadline = time.monotonic() + 120
        while not (eval_dir / "confusion_matrix-5.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        CheckpointManager(watched).save(tensors, 9)

    writer = threading.Thread(target=save_the_second)
    writer.start()
    try:
        assert _eval(f"--checkpoint_path={watched}", f"--eval_dir={eval_dir}",
                     "--eval_interval_secs=0", "--eval_timeout_secs=4", "--batch_size=50",
                     "--max_num_batches=1",
                     f"--predictions_file={tmp_path / 'predictions-{global_step}.csv'}") == 0
    finally:
        writer.join()
    out = capsys.readouterr().out
    assert out.count("eval/Accuracy: ") == 2 and out.count("eval report at global step") == 2
    for step in (5, 9):
        # Each evaluation starts afresh: 50 images each, indices from 0.
        assert _matrix_csv(eval_dir / f"confusion_matrix-{step}.csv").sum() == 50
        assert len(_read_csv(eval_dir / f"per_class-{step}.csv")) == 11
        rows = list(csv.DictReader(open(tmp_path / f"predictions-{step}.csv")))
        assert [int(r["index"]) for r in rows] == list(range(50))
    events = EventAccumulator(str(eval_dir), size_guidance={"images": 0})
    events.Reload()
    assert [image.step for image in events.Images("eval/ConfusionMatrix/image")] == [5, 9]


def test_a_directory_as_predictions_file_is_one_clear_line(train_dir, tmp_path, capsys):
    code = _eval(f"--checkpoint_path={train_dir}", f"--eval_dir={tmp_path / 'eval'}",
                 f"--predictions_file={tmp_path}")
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"slimtorch eval: error: --predictions_file {tmp_path} is a directory; give a file "
        f"path, such as {tmp_path}/predictions.csv")
    assert not (tmp_path / "eval").exists()
