"""What ``slimtorch eval`` reports besides accuracy: the confusion matrix,
per-class precision / recall / support, and each image's prediction.

:class:`EvalReport` collects them batch by batch (streaming metrics, so
they are summed or gathered over ``torchrun`` ranks) and, at the end of
each evaluated checkpoint, prints the tables (for at most
:data:`MAX_PRINTED_CLASSES` classes), writes them as CSV into the eval
directory, named by the checkpoint's global step
(``confusion_matrix-<step>.csv``, ``per_class-<step>.csv``), writes the
matrix as a TensorBoard image (``eval/ConfusionMatrix/image``) at that step,
and, when asked, the predictions file. The functions below render one part
each:

    >>> names = ['cat', 'dog', 'fox']
    >>> matrix = torch.tensor([[2., 1., 0.], [0., 3., 0.], [1., 0., 0.]])
    >>> print(format_confusion_matrix(matrix, names))
    confusion matrix (rows: labels, columns: predictions)
           0  1  2
    0 cat  2  1  0
    1 dog  0  3  0
    2 fox  1  0  0
    >>> print(format_per_class(slim.metrics.per_class_precision_recall(matrix), names))
    class  precision  recall  support
    0 cat     0.6667  0.6667        3
    1 dog     0.7500  1.0000        3
    2 fox     0.0000  0.0000        1
"""

from __future__ import annotations

import csv
import os
from typing import List, Optional, Sequence

import torch

from .. import distributed, metrics
from .._io.atomic import atomic_write
from ..metrics.base import div_no_nan
from ..metrics.confusion_matrix import PerClass
from ..summaries import SummaryWriter
from ..training import SummaryAtEndHook

__all__ = ["IMAGE_TAG", "MAX_PRINTED_CLASSES", "STEP_PLACEHOLDER", "EvalReport", "class_names",
           "confusion_matrix_image", "format_confusion_matrix", "format_per_class",
           "write_confusion_matrix_csv", "write_per_class_csv", "write_predictions_csv"]

#: More classes than this and the tables are only written, not printed.
MAX_PRINTED_CLASSES = 20
#: The image summary's tag (TensorBoard shows ``eval/ConfusionMatrix/image``).
IMAGE_TAG = "eval/ConfusionMatrix"
#: ``--predictions_file`` may contain this; it becomes the checkpoint's global step.
STEP_PLACEHOLDER = "{global_step}"


def class_names(dataset, num_classes: int, labels_offset: int = 0) -> List[str]:
    """The name of each of the net's ``num_classes`` classes: from the
    dataset's ``labels_to_names`` (research/slim's ``labels.txt``, keyed by
    the dataset's labels, so class ``i`` is label ``i + labels_offset``) or
    its ``classes`` (an image folder's sub-directories); the class id where
    neither names it.

        >>> import types
        >>> data = types.SimpleNamespace(labels_to_names={0: 'background', 1: 'cat', 2: 'dog'})
        >>> class_names(data, 2, labels_offset=1), class_names(object(), 2)
        (['cat', 'dog'], ['0', '1'])
    """
    mapping = getattr(dataset, "labels_to_names", None)
    if mapping:
        return [str(mapping.get(i + labels_offset, i)) for i in range(num_classes)]
    listed = getattr(dataset, "classes", None)
    if isinstance(listed, (list, tuple)) and len(listed) == num_classes:
        return [str(name) for name in listed]
    return [str(i) for i in range(num_classes)]


def _count(value: float) -> str:
    """A count as an integer (weighted counts keep two decimals)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _row_labels(names: Sequence[str]) -> List[str]:
    """``'3 tulips'``, or ``'3'`` where the name is the id itself."""
    return [str(i) if name == str(i) else f"{i} {name}" for i, name in enumerate(names)]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, the others right-aligned."""
    columns = list(zip(header, *rows))
    widths = [max(len(cell) for cell in column) for column in columns]
    lines = []
    for row in (header, *rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_confusion_matrix(matrix: torch.Tensor, names: Sequence[str]) -> str:
    """The matrix as a text table: one row per label (id and name), one
    column per predicted class id (see the module's example)."""
    rows = [[label, *(_count(v) for v in row)]
            for label, row in zip(_row_labels(names), matrix.tolist())]
    header = ["", *(str(i) for i in range(len(names)))]
    return "confusion matrix (rows: labels, columns: predictions)\n" + _table(header, rows)


def format_per_class(per_class: PerClass, names: Sequence[str]) -> str:
    """Precision, recall and support per class as a text table."""
    rows = [[label, f"{p:.4f}", f"{r:.4f}", _count(s)]
            for label, p, r, s in zip(_row_labels(names), per_class.precision.tolist(),
                                      per_class.recall.tolist(), per_class.support.tolist())]
    return _table(["class", "precision", "recall", "support"], rows)


def confusion_matrix_image(matrix: torch.Tensor, size: int = 256) -> torch.Tensor:
    """The matrix as a grey heat map, a ``[1, H, W]`` uint8 image: each row
    divided by its sum (the fraction of the label's examples given each
    prediction, so rare classes show as clearly as common ones; a row
    without examples stays black), 255 for all of them. Each entry becomes
    a square of ``size // num_classes`` pixels (at least 1), so small
    matrices are readable in TensorBoard.

        >>> confusion_matrix_image(torch.tensor([[3., 1.], [0., 0.]]), size=4).tolist()
        [[[191, 191, 64, 64], [191, 191, 64, 64], [0, 0, 0, 0], [0, 0, 0, 0]]]
    """
    matrix = torch.as_tensor(matrix).to(torch.float64).cpu()
    fractions = div_no_nan(matrix, matrix.sum(1, keepdim=True))
    pixels = (fractions * 255).round().to(torch.uint8)
    cell = max(1, size // matrix.shape[0])
    return pixels.repeat_interleave(cell, 0).repeat_interleave(cell, 1).unsqueeze(0)


def _csv_number(value: float) -> str:
    return _count(value) if float(value).is_integer() else repr(float(value))


def write_confusion_matrix_csv(path: str, matrix: torch.Tensor, names: Sequence[str]) -> None:
    """Writes the matrix as CSV, atomically: header ``label,name,0,1,...``
    (the columns are predicted class ids), one row per label.

        >>> import tempfile
        >>> path = tempfile.mkdtemp() + '/cm.csv'
        >>> write_confusion_matrix_csv(path, torch.tensor([[2., 0.], [1., 1.]]), ['a', 'b'])
        >>> print(open(path).read(), end='')
        label,name,0,1
        0,a,2,0
        1,b,1,1
    """
    rows = [[i, name, *(_csv_number(v) for v in row)]
            for i, (name, row) in enumerate(zip(names, matrix.tolist()))]
    _write_csv(path, ["label", "name", *range(len(names))], rows)


def write_per_class_csv(path: str, per_class: PerClass, names: Sequence[str]) -> None:
    """Writes ``class,name,precision,recall,support`` rows as CSV, atomically
    (full float precision)."""
    rows = [[i, name, repr(p), repr(r), _csv_number(s)]
            for i, (name, p, r, s) in enumerate(zip(names, per_class.precision.tolist(),
                                                    per_class.recall.tolist(),
                                                    per_class.support.tolist()))]
    _write_csv(path, ["class", "name", "precision", "recall", "support"], rows)


def write_predictions_csv(path: str, index: torch.Tensor, labels: torch.Tensor,
                          predictions: torch.Tensor, probabilities: torch.Tensor,
                          names: Sequence[str]) -> None:
    """Writes one row per image, atomically: ``index`` (its position in the
    split), ``label``, ``label_name``, ``prediction``, ``prediction_name``
    and ``prob_<class id>`` for every class (softmax of the logits, 6
    significant digits), in index order.

        >>> import tempfile
        >>> path = tempfile.mkdtemp() + '/predictions.csv'
        >>> write_predictions_csv(path, torch.tensor([1, 0]), torch.tensor([0, 1]),
        ...                       torch.tensor([1, 1]), torch.tensor([[.25, .75], [.1, .9]]),
        ...                       ['cat', 'dog'])
        >>> print(open(path).read(), end='')
        index,label,label_name,prediction,prediction_name,prob_0,prob_1
        0,1,dog,1,dog,0.1,0.9
        1,0,cat,1,dog,0.25,0.75
    """
    order = torch.argsort(index)
    index, labels, predictions = (t[order].tolist() for t in (index, labels, predictions))
    probabilities = probabilities[order].tolist()
    header = ["index", "label", "label_name", "prediction", "prediction_name",
              *(f"prob_{i}" for i in range(len(names)))]
    rows = ([i, y, names[y], p, names[p], *(f"{q:.6g}" for q in probs)]
            for i, y, p, probs in zip(index, labels, predictions, probabilities))
    _write_csv(path, header, rows)


def _write_csv(path: str, header, rows) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with atomic_write(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


class EvalReport:
    """Collects and reports one evaluation at a time; an evaluation hook.

    Call :meth:`update` from ``eval_op`` with each batch's logits, predicted
    classes and labels, and pass :meth:`hooks` to ``slim.evaluation``'s
    ``evaluate_once`` / ``evaluation_loop``: after each checkpoint's batches
    it prints and writes the report (see the module docstring).

    Args:
        num_classes: the net's classes (the matrix is ``num_classes`` square).
        names: each class's name (:func:`class_names`).
        eval_dir: where the CSV files and the image summary go.
        predictions_file: where to write each image's prediction (CSV), or
            None; a ``{global_step}`` in it becomes the checkpoint's step
            (otherwise each evaluation replaces the file).
    """

    def __init__(self, num_classes: int, names: Sequence[str], eval_dir: str,
                 predictions_file: Optional[str] = None) -> None:
        self.names, self.eval_dir, self.predictions_file = list(names), eval_dir, predictions_file
        self.matrix = metrics.streaming_confusion_matrix(num_classes=num_classes,
                                                         name="eval/confusion_matrix")
        self._rows = self._probabilities = None
        if predictions_file is not None:
            # Streaming concatenations: gathered over the ranks under torchrun.
            self._rows = metrics.streaming_concat(name="eval/prediction_rows")
            self._probabilities = metrics.streaming_concat(name="eval/probabilities")
        self._seen = 0          # this rank's images so far in this evaluation
        self._step = None       # the evaluated checkpoint's global step (on the chief)
        self._writer = None

    # -- per batch -----------------------------------------------------------

    def update(self, logits: torch.Tensor, predictions: torch.Tensor,
               labels: torch.Tensor) -> None:
        """Folds a batch in (``logits`` ``[N, num_classes]``, ``predictions``
        and ``labels`` ``[N]`` class ids)."""
        num_classes = self.matrix.num_classes
        low, high = (int(v) for v in torch.aminmax(labels)) if labels.numel() else (0, 0)
        if low < 0 or high >= num_classes:
            raise ValueError(f"eval: labels from {low} to {high} do not fit the net's "
                             f"{num_classes} classes (the dataset's classes less "
                             "--labels_offset); check --labels_offset and --dataset_name")
        self.matrix.update(predictions, labels)
        if self._rows is None:
            return
        # The image's position in the split: under torchrun, DistributedSampler
        # (shuffle off, as eval's loader) gives rank r the images r, r + world, ...
        rank, world = _rank_and_world()
        index = torch.arange(self._seen, self._seen + len(labels)) * world + rank
        self._seen += len(labels)
        self._rows.update(torch.stack([index, labels.cpu().to(torch.int64),
                                       predictions.cpu().to(torch.int64)], 1))
        self._probabilities.update(logits.float().softmax(1).cpu())

    # -- the evaluation hook -------------------------------------------------

    def hooks(self) -> list:
        """``[self, SummaryAtEndHook]`` for ``hooks=``. The evaluation calls a
        ``SummaryAtEndHook``'s ``summary_op(writer, global_step)`` on the
        chief after each checkpoint's batches: that is how the report learns
        the checkpoint's step (its writer writes nothing; the image goes
        through this report's own writer, once the matrix is summed)."""
        return [self, SummaryAtEndHook(summary_writer=SummaryWriter(None),
                                       summary_op=self._note_step)]

    def _note_step(self, writer, global_step: int) -> None:
        del writer
        self._step = int(global_step)

    def begin(self) -> None:
        """Before each checkpoint's batches (the metrics are reset by the evaluation)."""
        self._seen, self._step = 0, None

    def end(self) -> None:
        """After each checkpoint's batches, on every rank: reads the summed
        matrix and gathered predictions (collectives under torchrun), then
        the chief prints and writes them."""
        matrix = self.matrix.value()
        rows = self._rows.value() if self._rows is not None else None
        probabilities = self._probabilities.value() if self._rows is not None else None
        if not distributed.is_chief():
            return
        self.report(matrix, self._step or 0, rows, probabilities)

    def report(self, matrix: torch.Tensor, step: int, rows=None, probabilities=None) -> None:
        """Prints and writes one evaluation's report (chief only)."""
        matrix = matrix.cpu()
        per_class = metrics.per_class_precision_recall(matrix)
        os.makedirs(self.eval_dir, exist_ok=True)
        written = [os.path.join(self.eval_dir, f"confusion_matrix-{step}.csv"),
                   os.path.join(self.eval_dir, f"per_class-{step}.csv")]
        write_confusion_matrix_csv(written[0], matrix, self.names)
        write_per_class_csv(written[1], per_class, self.names)
        if rows is not None:
            written.append(self.predictions_file.replace(STEP_PLACEHOLDER, str(step)))
            rows = rows.reshape(-1, 3).to(torch.int64)   # before any batch: an empty value
            write_predictions_csv(written[-1], rows[:, 0], rows[:, 1], rows[:, 2],
                                  probabilities.reshape(len(rows), len(self.names)), self.names)
        if self._writer is None:
            self._writer = SummaryWriter(self.eval_dir)
        self._writer.images(IMAGE_TAG, confusion_matrix_image(matrix).unsqueeze(0), step,
                            max_outputs=1)
        self._writer.flush()
        if len(self.names) <= MAX_PRINTED_CLASSES:
            print(format_confusion_matrix(matrix, self.names))
            print(format_per_class(per_class, self.names))
        else:
            print(f"confusion matrix and per-class precision / recall of {len(self.names)} "
                  f"classes: not printed (more than {MAX_PRINTED_CLASSES}), see the CSV files")
        print(f"eval report at global step {step}: {', '.join(written)}", flush=True)

    def close(self) -> None:
        """Closes the summary writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _rank_and_world():
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
