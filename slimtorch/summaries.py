"""TensorBoard summaries, TF-Slim style, written eagerly.

Two halves, as in TF-Slim:

* **Recording.** :func:`scalar`, :func:`histogram` and TF-Slim's helpers
  (:func:`add_scalar_summary`, :func:`add_histogram_summary`,
  :func:`add_zero_fraction_summary` and their plurals) record a summary in
  the default graph, TF's ``SUMMARIES`` collection idea, from anywhere: model
  code, a loss function, the training loop. A tag recorded again replaces its
  value, so a step records each tag once however often the code runs.
* **Writing.** :class:`SummaryWriter` (``torch.utils.tensorboard``) writes
  them all with :meth:`SummaryWriter.write_summaries` (the trainer's
  ``summary_op`` every ``save_summaries_secs``), or one value directly.

What a recorded value means at write time:

* a ``Parameter`` or slim variable is live: it is read when written, every
  time (register ``add_histogram_summaries(slim.get_model_variables())`` once);
* a callable is called when written, every time;
* any other tensor or number is the value of one step: written once, then
  dropped, so stale values are not written again and tensors are not kept.

Recording is cheap (a dict entry; zero fractions and histograms are computed
at write time), and :func:`record_if` switches it off for the steps whose
summaries will not be written (TF2's ``tf.summary.record_if``).

    >>> with slim.Graph():
    ...     loss = torch.tensor(0.25)
    ...     add_scalar_summary(loss, 'losses/total loss')   # TF cleans the tag
    ...     scalar('learning_rate', 0.01)
    ...     get_summaries()
    'losses/total_loss'
    'learning_rate'
    ['losses/total_loss', 'learning_rate']

Without the ``tensorboard`` package (``pip install slimtorch[tensorboard]``)
the writer warns once and is disabled; training goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import warnings
import weakref
from collections import OrderedDict
from typing import Callable, Iterable, Optional

import torch

from .scopes import current_frame

__all__ = [
    "SummaryWriter", "add_histogram_summaries", "add_histogram_summary", "add_image_summaries",
    "add_image_summary", "add_scalar_summaries", "add_scalar_summary",
    "add_zero_fraction_summaries", "add_zero_fraction_summary", "clear_summaries", "get_summaries",
    "histogram", "image", "image_to_uint8", "is_recording", "record_if", "scalar",
    "tensorboard_available", "zero_fraction",
]

logger = logging.getLogger(__name__)

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")  # TF's summary._clean_tag
_STORES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # graph -> {tag: _Entry}
_recording = [True]
_warned_missing = [False]


# -- recording -------------------------------------------------------------------------
class _Entry:
    __slots__ = ("kind", "value", "transform", "print_summary", "max_outputs")

    def __init__(self, kind, value, transform, print_summary, max_outputs=None):
        self.kind, self.value = kind, value
        self.transform, self.print_summary = transform, print_summary
        self.max_outputs = max_outputs

    @property
    def live(self) -> bool:
        return callable(self.value) or isinstance(self.value, torch.nn.Parameter)


def _store(graph=None) -> "OrderedDict[str, _Entry]":
    graph = graph if graph is not None else current_frame().graph
    store = _STORES.get(graph)
    if store is None:
        store = _STORES[graph] = OrderedDict()
    return store


def _clean_tag(name: str) -> str:
    tag = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
    if tag != name:
        logger.info("Summary name %s is illegal; using %s instead.", name, tag)
    return tag


def _summary_name(tensor, name=None, prefix=None, postfix=None) -> str:
    """TF-Slim's ``_get_summary_name``: ``name`` or the variable's name, with
    ``prefix/`` and ``/postfix``."""
    if not name:
        name = getattr(tensor, "name", None)
        if not isinstance(name, str):
            raise ValueError("a summary of an unnamed tensor needs name= (only slim variables "
                             "carry a name eagerly)")
    if prefix:
        name = f"{prefix}/{name}"
    if postfix:
        name = f"{name}/{postfix}"
    return name


def _record(kind: str, name: str, value, transform=None, print_summary=False,
            max_outputs=None) -> str:
    tag = _clean_tag(name)
    if not _recording[0]:
        return tag
    if kind == "scalar" and transform is None and isinstance(value, torch.Tensor) \
            and value.numel() != 1:
        # Fail where the summary is made, as TF does when building the graph.
        raise ValueError(f"scalar summary {tag!r} needs one value, got shape {list(value.shape)}")
    if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter):
        value = value.detach()  # keep the value, not the autograd graph
    store = _store()
    store.pop(tag, None)  # re-recording moves the tag to the end: the order of this step
    store[tag] = _Entry(kind, value, transform, print_summary, max_outputs)
    return tag


@contextlib.contextmanager
def record_if(condition: bool):
    """Records summaries inside the block only if ``condition`` (nestable).

        >>> with slim.Graph():
        ...     with record_if(False):
        ...         _ = scalar('loss', 1.0)
        ...     get_summaries()
        []
    """
    previous = _recording[0]
    _recording[0] = bool(condition)
    try:
        yield
    finally:
        _recording[0] = previous


def is_recording() -> bool:
    """Whether summaries recorded now are kept (False inside ``record_if(False)``):
    code that must compute a value just for a summary checks it first.

        >>> with record_if(False):
        ...     is_recording()
        False
        >>> is_recording()
        True
    """
    return _recording[0]


def scalar(name: str, value, print_summary: bool = False,
           transform: Optional[Callable] = None) -> str:
    """Records a scalar summary (``tf.summary.scalar``); returns its tag.

    Args:
        name: the tag (characters TF rejects become ``_``).
        value: a one-element tensor, a number, or a callable returning one.
        print_summary: also log the value when it is written.
        transform: a function of ``value`` giving the scalar, called only
            when the summary is written (a reduction worth skipping on the
            steps whose summaries are not written).
    """
    return _record("scalar", name, value, transform=transform, print_summary=print_summary)


def histogram(name: str, value, transform: Optional[Callable] = None) -> str:
    """Records a histogram summary (``tf.summary.histogram``); returns its tag.
    Non-finite values are left out of the histogram (TF would fail).
    ``transform``: as for :func:`scalar`."""
    return _record("histogram", name, value, transform=transform)


def image(name: str, value, max_outputs: int = 3, data_format: str = "NCHW") -> str:
    """Records an image summary (``tf.summary.image``) of a batch; returns its tag.

    The first ``max_outputs`` images are written as ``<name>/image/0``,
    ``<name>/image/1``, ... (``<name>/image`` when ``max_outputs`` is 1), with
    TF's scaling: uint8 as is; floats per image to ``[0, 255]`` (all
    non-negative: the maximum becomes 255; else 0 becomes 128 and the largest
    magnitude 127 away; the result truncated), non-finite pixels red.

    Args:
        name: the tag's base.
        value: ``[N, C, H, W]`` with C = 1 (grey), 3 (RGB) or 4 (RGBA);
            ``[N, H, W, C]`` with ``data_format='NHWC'`` (TF's layout).
        max_outputs: how many images of the batch to write.

        >>> with slim.Graph():
        ...     image('inputs', torch.rand(8, 3, 32, 32))
        'inputs'
    """
    value = torch.as_tensor(value)
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError(f"image summary {name!r}: data_format must be 'NCHW' or 'NHWC', "
                         f"got {data_format!r}")
    if value.dim() == 4 and data_format == "NHWC":
        value = value.permute(0, 3, 1, 2)
    if value.dim() != 4 or value.shape[1] not in (1, 3, 4):
        raise ValueError(f"image summary {name!r}: expected [N, C, H, W] images with C = 1, 3 "
                         f"or 4 ({data_format}), got shape {list(value.shape)}")
    if max_outputs < 1:
        raise ValueError(f"image summary {name!r}: max_outputs must be >= 1, got {max_outputs}")
    return _record("image", name, value[:max_outputs], max_outputs=max_outputs)


def image_to_uint8(image: torch.Tensor) -> torch.Tensor:
    """TF's image-summary scaling of one ``[C, H, W]`` image to uint8.

        >>> image_to_uint8(torch.tensor([[[0.0, 0.5, 2.0]]])).tolist()
        [[[0, 63, 255]]]
        >>> image_to_uint8(torch.tensor([[[-2.0, 0.0, 1.0, float('nan')]]])).tolist()
        [[[1, 128, 191, 255]]]
    """
    if image.dtype == torch.uint8:
        return image
    values = image.detach().double().cpu()
    finite = torch.isfinite(values).all(dim=0)          # a pixel counts if all channels are
    seen = values[:, finite]
    low = float(seen.min()) if seen.numel() else 0.0
    high = float(seen.max()) if seen.numel() else 0.0
    if low < 0:
        largest = max(abs(low), abs(high))
        scale, offset = (0.0 if largest < 1e-6 else 127.0 / largest), 128.0
    else:
        scale, offset = (0.0 if high < 1e-6 else 255.0 / high), 0.0
    # TF casts to uint8, truncating; non-finite pixels get bad_color, opaque red.
    out = torch.floor(torch.nan_to_num(values) * scale + offset).clamp(0, 255).to(torch.uint8)
    red = torch.tensor([255, 0, 0, 255], dtype=torch.uint8)[:out.shape[0], None]
    out[:, ~finite] = red.expand(-1, int((~finite).sum()))
    return out


def zero_fraction(tensor: torch.Tensor) -> torch.Tensor:
    """``tf.nn.zero_fraction``: the fraction of exact zeros, as a float32 scalar.

        >>> zero_fraction(torch.tensor([0.0, 1.0, 0.0, 2.0]))
        tensor(0.5000)
    """
    return (tensor == 0).float().mean()


def add_scalar_summary(tensor, name: Optional[str] = None, prefix: Optional[str] = None,
                       print_summary: bool = False) -> str:
    """TF-Slim's ``add_scalar_summary``: tag ``name`` (default: the variable's
    name) under ``prefix``; returns the tag."""
    return scalar(_summary_name(tensor, name, prefix), tensor, print_summary)


def add_histogram_summary(tensor, name: Optional[str] = None, prefix: Optional[str] = None) -> str:
    """TF-Slim's ``add_histogram_summary``; returns the tag.

        >>> with slim.Graph():
        ...     w = slim.variable('fc/weights', shape=[3, 2])
        ...     add_histogram_summary(w, prefix='weights')
        'weights/fc/weights'
    """
    return histogram(_summary_name(tensor, name, prefix), tensor)


def add_zero_fraction_summary(tensor, name: Optional[str] = None, prefix: Optional[str] = None,
                              print_summary: bool = False) -> str:
    """TF-Slim's ``add_zero_fraction_summary``: tag ``<name>/Fraction_of_Zero_Values``,
    computed when written; returns the tag."""
    return _record("scalar", _summary_name(tensor, name, prefix, "Fraction_of_Zero_Values"),
                   tensor, transform=zero_fraction, print_summary=print_summary)


def add_image_summary(tensor, name: Optional[str] = None, prefix: Optional[str] = None,
                      print_summary: bool = False) -> str:
    """TF-Slim's ``add_image_summary``: up to 3 images of an ``[N, C, H, W]``
    batch, tag ``prefix/name`` (see :func:`image`); returns the tag.

        >>> with slim.Graph():
        ...     add_image_summary(torch.rand(2, 1, 28, 28), 'digits', prefix='inputs')
        'inputs/digits'
    """
    tag = image(_summary_name(tensor, name, prefix), tensor)
    if print_summary:
        logger.info("%s: images of shape %s", tag, list(torch.as_tensor(tensor).shape))
    return tag


def add_image_summaries(tensors: Iterable, prefix: Optional[str] = None) -> list:
    """:func:`add_image_summary` for each (named) tensor; returns the tags."""
    return [add_image_summary(t, prefix=prefix) for t in tensors]


def add_scalar_summaries(tensors: Iterable, prefix: Optional[str] = None,
                         print_summary: bool = False) -> list:
    """:func:`add_scalar_summary` for each (named) tensor; returns the tags."""
    return [add_scalar_summary(t, prefix=prefix, print_summary=print_summary) for t in tensors]


def add_histogram_summaries(tensors: Iterable, prefix: Optional[str] = None) -> list:
    """:func:`add_histogram_summary` for each (named) tensor; returns the tags."""
    return [add_histogram_summary(t, prefix=prefix) for t in tensors]


def add_zero_fraction_summaries(tensors: Iterable, prefix: Optional[str] = None) -> list:
    """:func:`add_zero_fraction_summary` for each (named) tensor; returns the tags."""
    return [add_zero_fraction_summary(t, prefix=prefix) for t in tensors]


def get_summaries(graph=None) -> list:
    """The tags recorded (and not yet written) in ``graph`` (default: the current one)."""
    return list(_store(graph))


def clear_summaries(graph=None) -> None:
    """Forgets every recorded summary, live ones included."""
    _store(graph).clear()


# -- writing -----------------------------------------------------------------------------
def tensorboard_available() -> bool:
    """Whether ``torch.utils.tensorboard`` can be used (the ``tensorboard`` package)."""
    try:
        importlib.import_module("torch.utils.tensorboard")
    except ImportError:
        return False
    return True


def _scalar_value(value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"a scalar summary needs one value, got shape {list(value.shape)}")
        return float(value.detach().float().item())
    return float(value)


class SummaryWriter:
    """Writes TensorBoard event files into ``logdir`` (TF's ``FileWriter``).

    Args:
        logdir: the directory (TF-Slim's ``logdir``); None disables writing.
        enabled: False for a writer that does nothing (non-chief workers).
        flush_secs: flush pending events at least this often.
        max_queue: events buffered before a flush.
        purge_step: on resume, the step restarted from: TensorBoard then hides
            the events of the previous run at and after it, as TF's Supervisor
            does with its ``SessionLog.START``.

    Without the ``tensorboard`` package the writer warns once and is
    disabled. An ``OSError`` while writing (a full disk) also warns once and
    disables it: summaries never stop training.

        >>> import tempfile
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.scalar('loss', torch.tensor(0.5), step=1)
        ...     writer.histogram('weights', torch.randn(100), step=1)
    """

    def __init__(self, logdir: Optional[str], enabled: bool = True, *, flush_secs: int = 120,
                 max_queue: int = 10, purge_step: Optional[int] = None) -> None:
        self.logdir = logdir
        self._writer = None
        if not enabled or logdir is None:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter as _TorchWriter
        except ImportError as error:
            if not _warned_missing[0]:
                _warned_missing[0] = True
                warnings.warn(f"TensorBoard summaries are disabled: {error}. Install them "
                              "with `pip install tensorboard` (or slimtorch[tensorboard]).",
                              stacklevel=2)
            return
        self._writer = _TorchWriter(log_dir=logdir, purge_step=purge_step, max_queue=max_queue,
                                    flush_secs=flush_secs)

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    def _guard(self, write, *args) -> None:
        if self._writer is None:
            return
        try:
            write(*args)
        except OSError as error:
            warnings.warn(f"TensorBoard summaries to {self.logdir} are disabled after a write "
                          f"error: {error}", stacklevel=3)
            self._writer = None

    def scalar(self, tag: str, value, step: int) -> None:
        """Writes one scalar now (a one-element tensor or a number)."""
        if self._writer is not None:
            self._guard(self._writer.add_scalar, _clean_tag(tag), _scalar_value(value), int(step))

    def histogram(self, tag: str, values, step: int) -> None:
        """Writes a histogram of ``values`` now, in TF's bucket layout; non-finite
        values are left out, and an empty histogram is not written."""
        if self._writer is None:
            return
        values = torch.as_tensor(values).detach().reshape(-1)
        if not values.is_floating_point() or values.dtype in (torch.float16, torch.bfloat16):
            values = values.float()
        values = values[torch.isfinite(values)].cpu()
        if values.numel():
            self._guard(self._writer.add_histogram, _clean_tag(tag), values, int(step))

    def images(self, tag: str, images, step: int, max_outputs: int = 3) -> list:
        """Writes up to ``max_outputs`` ``[N, C, H, W]`` images now, with TF's
        tags and scaling (see :func:`image`); returns the tags."""
        images = torch.as_tensor(images)[:max_outputs]
        tags = ([f"{tag}/image"] if max_outputs == 1 else
                [f"{tag}/image/{i}" for i in range(images.shape[0])])
        if self._writer is not None:
            for one_tag, one in zip(tags, images):
                self._guard(self._writer.add_image, _clean_tag(one_tag), image_to_uint8(one),
                            int(step), None, "CHW")
        return tags

    def write_summaries(self, step: int, graph=None) -> list:
        """Writes every recorded summary of ``graph`` (default: the current one)
        at ``step`` and returns the tags written. One-step values are dropped
        afterwards, even when the writer is disabled, so nothing accumulates."""
        store = _store(graph)
        written = []
        for tag, entry in list(store.items()):
            if not entry.live:
                del store[tag]
            if self._writer is None:
                continue
            value = entry.value() if callable(entry.value) else entry.value
            if entry.transform is not None:
                value = entry.transform(value)
            if entry.kind == "scalar":
                number = _scalar_value(value)
                self.scalar(tag, number, step)
                if entry.print_summary:
                    logger.info("%s: %s", tag, number)
            elif entry.kind == "image":
                written.extend(self.images(tag, value, step, entry.max_outputs))
                continue
            else:
                self.histogram(tag, value, step)
            written.append(tag)
        return written

    def flush(self) -> None:
        """Writes buffered events to disk (do it before a checkpoint, so an
        evaluation process sees summaries up to it)."""
        self._guard(lambda: self._writer.flush())

    def close(self) -> None:
        if self._writer is not None:
            self._guard(lambda: self._writer.close())
            self._writer = None

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter({self.logdir!r}, enabled={self.enabled})"

