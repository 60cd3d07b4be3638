"""``slim.metrics.streaming_confusion_matrix`` and ``per_class_precision_recall``
against hand counts (``tf.math.confusion_matrix``'s layout: rows labels,
columns predictions), and the report pieces of ``slimtorch eval`` built on
them: tables, CSV files, heat-map image, class names with ``labels_offset``."""

import csv

import pytest
import torch

import slimtorch as slim
from slimtorch._io.atomic import is_temp_file
from slimtorch.classifier import report

M = slim.metrics

# Four classes; class 3 is never predicted, class 2 appears only as a prediction.
LABELS = [0, 0, 1, 1, 1, 3, 3, 0]
PREDICTIONS = [0, 1, 1, 1, 2, 1, 0, 0]
HAND = [[2, 1, 0, 0],     # label 0: twice right, once called 1
        [0, 2, 1, 0],     # label 1: twice right, once called 2
        [0, 0, 0, 0],     # label 2: never seen
        [1, 1, 0, 0]]     # label 3: never right, never predicted


def _loop_count(labels, predictions, num_classes, weights=None):
    """An independent count: one increment per example."""
    counts = [[0.0] * num_classes for _ in range(num_classes)]
    for i, (y, p) in enumerate(zip(labels, predictions)):
        counts[y][p] += 1.0 if weights is None else weights[i]
    return counts


def test_the_matrix_is_the_hand_count_over_batches():
    value, update = M.streaming_confusion_matrix(num_classes=4)
    assert value().tolist() == [[0.0] * 4] * 4        # before any batch
    running = update(torch.tensor(PREDICTIONS[:3]), torch.tensor(LABELS[:3]))
    assert running.tolist() == _loop_count(LABELS[:3], PREDICTIONS[:3], 4)
    update(torch.tensor(PREDICTIONS[3:]), torch.tensor(LABELS[3:]))
    assert value().tolist() == HAND
    assert value().dtype == torch.float64
    assert value().tolist() == HAND                    # reading changes nothing


def test_weights_2d_inputs_and_the_state_names():
    metric = M.streaming_confusion_matrix(num_classes=4, name="cm")
    weights = [0.5, 1, 2, 0, 1, 3, 1, 1]
    # [2, 4] ids are flattened, as TF flattens them; int32 predictions cast to int64.
    metric.update(torch.tensor(PREDICTIONS, dtype=torch.int32).view(2, 4),
                  torch.tensor(LABELS).view(2, 4), weights=torch.tensor(weights).view(2, 4))
    assert metric.value().tolist() == _loop_count(LABELS, PREDICTIONS, 4, weights)
    assert list(metric.local_variables()) == ["cm/total_confusion_matrix"]
    slim.metrics.reset_metrics()
    assert metric.value().sum().item() == 0


def test_random_stream_matches_the_loop_count():
    g = torch.Generator().manual_seed(3)
    labels, predictions = torch.randint(0, 7, (500,), generator=g), \
        torch.randint(0, 7, (500,), generator=g)
    metric = M.streaming_confusion_matrix(num_classes=7)
    for chunk in range(0, 500, 64):
        metric.update(predictions[chunk:chunk + 64], labels[chunk:chunk + 64])
    assert metric.value().tolist() == _loop_count(labels.tolist(), predictions.tolist(), 7)


@pytest.mark.parametrize("predictions, labels, message", [
    ([0, 4], [0, 1], r"predictions must be class ids in \[0, 4\).*from 0 to 4"),
    ([0, 1], [-1, 1], r"labels must be class ids in \[0, 4\).*from -1 to 1"),
])
def test_ids_outside_the_classes_are_refused(predictions, labels, message):
    metric = M.streaming_confusion_matrix(num_classes=4)
    with pytest.raises(ValueError, match=message):
        metric.update(torch.tensor(predictions), torch.tensor(labels))


@pytest.mark.parametrize("num_classes", [0, 2.0, True, None])
def test_num_classes_must_be_a_positive_int(num_classes):
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        M.streaming_confusion_matrix(num_classes=num_classes)


def test_per_class_precision_recall_support_by_hand():
    precision, recall, support = M.per_class_precision_recall(torch.tensor(HAND))
    # Precision: diagonal over column sums 3, 4, 1, 0; recall: over row sums 3, 3, 0, 2.
    assert precision.tolist() == pytest.approx([2 / 3, 2 / 4, 0 / 1, 0.0])
    assert recall.tolist() == pytest.approx([2 / 3, 2 / 3, 0.0, 0 / 2])
    assert support.tolist() == [3, 3, 0, 2]
    # The zero divisions are 0, not NaN: class 2 has no examples (recall 0,
    # support 0), class 3 is never predicted (precision 0).
    assert not torch.isnan(precision).any() and not torch.isnan(recall).any()


def test_per_class_needs_a_square_matrix():
    with pytest.raises(ValueError, match=r"square .* got shape \[2, 3\]"):
        M.per_class_precision_recall(torch.zeros(2, 3))


# -- the report's pieces ----------------------------------------------------------------------

def test_class_names_follow_labels_offset():
    class WithLabels:   # research/slim's labels.txt: 0 is the background class
        labels_to_names = {0: "background", 1: "daisy", 2: "rose", 3: "tulip"}

    assert report.class_names(WithLabels(), 3, labels_offset=1) == ["daisy", "rose", "tulip"]
    assert report.class_names(WithLabels(), 4) == ["background", "daisy", "rose", "tulip"]

    class Folder:
        classes = ["cat", "dog"]

    assert report.class_names(Folder(), 2) == ["cat", "dog"]
    assert report.class_names(object(), 3) == ["0", "1", "2"]


def test_an_offset_dataset_reports_under_the_offset_names(tmp_path, capsys):
    # research/slim's TFRecord labels 1..3 with --labels_offset=1 arrive as 0..2.
    names = report.class_names(type("D", (), {"labels_to_names": {
        1: "daisy", 2: "rose", 3: "tulip"}})(), 3, labels_offset=1)
    raw_labels = torch.tensor([1, 1, 2, 3, 3, 3])
    predictions = torch.tensor([0, 0, 0, 2, 2, 1])
    labels = raw_labels - 1
    rep = report.EvalReport(3, names, str(tmp_path))
    rep.update(torch.zeros(6, 3), predictions, labels)
    rep.report(rep.matrix.value(), step=12)
    rows = list(csv.reader(open(tmp_path / "confusion_matrix-12.csv")))
    assert rows == [["label", "name", "0", "1", "2"], ["0", "daisy", "2", "0", "0"],
                    ["1", "rose", "1", "0", "0"], ["2", "tulip", "0", "1", "2"]]
    out = capsys.readouterr().out
    assert "0 daisy" in out and "2 tulip" in out
    rep.close()


def test_labels_outside_the_net_name_the_flag():
    rep = report.EvalReport(9, [str(i) for i in range(9)], "/unused")
    with pytest.raises(ValueError, match=r"labels from 0 to 9 do not fit the net's 9 classes"
                                         r".*--labels_offset"):
        rep.update(torch.zeros(2, 9), torch.tensor([0, 1]), torch.tensor([0, 9]))


def test_tables_are_printed_for_at_most_20_classes(tmp_path, capsys):
    for num_classes, printed in ((20, True), (21, False)):
        names = [f"c{i}" for i in range(num_classes)]
        matrix = torch.diag(torch.arange(1.0, num_classes + 1))
        rep = report.EvalReport(num_classes, names, str(tmp_path / str(num_classes)))
        rep.report(matrix, step=3)
        rep.close()
        out = capsys.readouterr().out
        assert ("confusion matrix (rows: labels, columns: predictions)" in out) == printed
        assert ("precision  recall  support" in out) == printed
        assert ("not printed (more than 20)" in out) == (not printed)
        # Always written, with the step in the names.
        lines = open(tmp_path / str(num_classes) / "confusion_matrix-3.csv").read().splitlines()
        assert len(lines) == num_classes + 1
        per_class = list(csv.DictReader(open(tmp_path / str(num_classes) / "per_class-3.csv")))
        assert [row["support"] for row in per_class] == [str(i) for i in range(1, num_classes + 1)]
        assert {row["precision"] for row in per_class} == {"1.0"}


def test_printed_tables_by_hand(capsys):
    names = ["0", "1", "2", "3"]
    print(report.format_confusion_matrix(torch.tensor(HAND, dtype=torch.float64), names))
    print(report.format_per_class(M.per_class_precision_recall(torch.tensor(HAND)), names))
    assert capsys.readouterr().out.splitlines() == [
        "confusion matrix (rows: labels, columns: predictions)",
        "   0  1  2  3",
        "0  2  1  0  0",
        "1  0  2  1  0",
        "2  0  0  0  0",
        "3  1  1  0  0",
        "class  precision  recall  support",
        "0         0.6667  0.6667        3",
        "1         0.5000  0.6667        3",
        "2         0.0000  0.0000        0",
        "3         0.0000  0.0000        2",
    ]


def test_csv_files_hold_full_precision_and_leave_no_temp_files(tmp_path):
    names = ["a", "b,c", "d"]   # a comma in a name is quoted, not a new column
    matrix = torch.tensor([[1.0, 2.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    report.write_confusion_matrix_csv(str(tmp_path / "m.csv"), matrix, names)
    report.write_per_class_csv(str(tmp_path / "p.csv"), M.per_class_precision_recall(matrix),
                               names)
    rows = list(csv.reader(open(tmp_path / "m.csv")))
    assert rows[2] == ["1", "b,c", "0", "3", "0"]
    per_class = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert float(per_class[1]["precision"]) == 3 / 5
    assert float(per_class[0]["recall"]) == 1 / 3
    assert [row["support"] for row in per_class] == ["3", "3", "0"]
    assert not any(is_temp_file(p.name) for p in tmp_path.iterdir())


def test_heat_map_rows_are_fractions_of_each_label():
    image = report.confusion_matrix_image(torch.tensor(HAND, dtype=torch.float64), size=8)
    assert image.shape == (1, 8, 8) and image.dtype == torch.uint8
    cells = image[0, ::2, ::2]   # one pixel per entry (2x2 squares)
    expected = [[round(255 * v / max(sum(row), 1)) for v in row] for row in HAND]
    assert cells.tolist() == expected
    # 30 classes at the default size: 8-pixel squares.
    assert report.confusion_matrix_image(torch.eye(30)).shape == (1, 240, 240)
