"""What ``slimtorch predict`` does, as functions: the top-k classes of image files.

* :func:`find_images`: files and directories (walked recursively, sorted)
  to the list of image files.
* :func:`load_network`: a zoo net with a checkpoint's weights, its class
  count read from the checkpoint unless given.
* :func:`predict` / :func:`iter_predictions`: decode, the net's evaluation
  preprocessing, batched forward passes, softmax, top-k with names. An image
  that cannot be read, decoded or preprocessed becomes a :class:`Prediction`
  with ``error`` set; it never stops the run.
* :func:`write_predictions`: CSV or JSON (by extension), written atomically.

Class ids are the labels file's (research/slim's ``labels.txt``): the net's
output ``i`` is class ``i + labels_offset``. research/slim's 1001-class
ImageNet nets (Inception, MobileNet) have class 0 "background" and need no
offset; its 1000-class nets (VGG, ResNet v1) take ``labels_offset=1`` so that
their output 0 is the file's class 1.

    >>> import os, tempfile
    >>> from torchvision.io import encode_png
    >>> folder = tempfile.mkdtemp()
    >>> red = torch.zeros(3, 8, 8, dtype=torch.uint8); red[0] = 255
    >>> with open(os.path.join(folder, 'red.png'), 'wb') as f:
    ...     _ = f.write(encode_png(red).numpy().tobytes())
    >>> def by_colour(images):   # a "net": logits are the channels' mean values
    ...     return images.mean(dim=(2, 3)) * 10, {}
    >>> [p] = predict(by_colour, [folder], top_k=2, labels={0: 'red', 1: 'green', 2: 'blue'},
    ...               preprocessing='inception', image_size=8)
    >>> p.image == os.path.join(folder, 'red.png'), p.top_k[0].name, round(p.top_k[0].probability, 4)
    (True, 'red', 1.0)

Decoding is the datasets' (:func:`~slimtorch.data.image_decoding.decode_image_bytes`,
so pixels equal what ``slimtorch eval`` feeds the net); BMP, which
torchvision does not decode, goes through Pillow (a torchvision dependency).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional, Union

import torch

from .._io.atomic import atomic_write
from ..checkpoint import CheckpointError, assign_from_checkpoint, resolve_checkpoint_path
from ..checkpoint.readers import load_checkpoint
from ..data.errors import TFRecordError
from ..data.image_decoding import decode_image_bytes
from ..data.preprocessing import get_preprocessing, preprocessing_fn_map
from ..data.preprocessing.video import DEFAULT_NUM_FRAMES
from ..graph import Graph
from ..nets import nets_factory
from .checkpoint_tools import build_zoo_net

__all__ = ["IMAGE_EXTENSIONS", "ClassProbability", "Prediction", "find_images",
           "iter_predictions", "load_network", "num_classes_in_checkpoint", "output_format", "predict",
           "top_k_classes", "write_predictions"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
"""The files :func:`find_images` takes from a directory (any case)."""

Labels = Union[Mapping[int, str], Sequence[str], None]


class ClassProbability(NamedTuple):
    """One of an image's top-k classes: its id (in the labels file's
    numbering), name (None without labels) and softmax probability."""
    class_id: int
    name: Optional[str]
    probability: float


@dataclass(frozen=True)
class Prediction:
    """An image's top-k classes, most probable first; or, for an image that
    could not be read, decoded or preprocessed, ``error`` saying why."""
    image: str
    top_k: tuple = ()
    error: Optional[str] = None


# -- finding the images ------------------------------------------------------

def find_images(paths: Iterable) -> list:
    """Image files named by ``paths``: a file is taken as it is (whatever its
    extension), a directory is walked recursively for :data:`IMAGE_EXTENSIONS`
    (hidden files and directories, such as macOS's ``._photo.jpg``, are
    skipped), its files sorted by path. The order is the arguments'; a file
    named twice is listed once.

        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> for name in ['b.JPG', 'a.png', 'sub/c.gif', 'notes.txt', '.hidden.png']:
        ...     os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
        ...     open(os.path.join(d, name), 'w').close()
        >>> [os.path.relpath(p, d) for p in find_images([d])]
        ['a.png', 'b.JPG', 'sub/c.gif']

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: no images at all.
    """
    found, seen, empty = [], set(), []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            listed = _walk(path)
            if not listed:
                empty.append(path)
        elif os.path.exists(path):
            listed = [path]
        else:
            raise FileNotFoundError(f"{path} does not exist; name image files or directories "
                                    "of images")
        for image in listed:
            key = os.path.realpath(image)
            if key not in seen:
                seen.add(key)
                found.append(image)
    if not found:
        raise ValueError(f"no images to classify in {', '.join(map(os.fspath, paths)) or '(none given)'}; "
                         f"directories are searched for {', '.join(IMAGE_EXTENSIONS)} files")
    for path in empty:
        logger.warning("no images (%s) in %s", ", ".join(IMAGE_EXTENSIONS), path)
    return found


def _walk(directory: str) -> list:
    images = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        images += [os.path.join(root, f) for f in files
                   if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)]
    # Sorted by path components, so "a/b.png" and "a.png" order the same on every system.
    return sorted(images, key=lambda p: os.path.relpath(p, directory).split(os.sep))


# -- the network -------------------------------------------------------------

def num_classes_in_checkpoint(model_name: str, checkpoint_path) -> int:
    """The class count of zoo net ``model_name``'s logits in a checkpoint
    (file or directory), read from the logits biases' shape.

        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'lenet.safetensors')
        >>> with slim.Graph():
        ...     lenet = nets_factory.get_network_fn('lenet', 7).build((1, 1, 28, 28))
        >>> slim.checkpoint.save_checkpoint(path, {r.name: r.tensor for r in lenet.records()})
        >>> num_classes_in_checkpoint('lenet', path)
        7
        >>> network_fn = load_network('lenet', path)
        >>> network_fn.num_classes, network_fn.training
        (7, False)

    Raises:
        CheckpointError: no checkpoint there, or one without ``model_name``'s
            logits (another net's checkpoint, or one saved without logits).
    """
    path = resolve_checkpoint_path(checkpoint_path)
    with load_checkpoint(path) as reader:
        shapes = reader.get_variable_to_shape_map()
    with Graph():
        model = build_zoo_net(model_name, None, shapes)
    logits = model.records()[-1].name   # every zoo net creates its logits biases last
    if logits not in shapes:
        raise CheckpointError(f"{path} has no {logits}, the logits of {model_name}: is it "
                              f"another net's checkpoint? (check --model_name; `slimtorch check "
                              f"{model_name} {path}` compares them)")
    return int(shapes[logits][0])


def load_network(model_name: str, checkpoint_path, num_classes: Optional[int] = None,
                 image_size: Optional[int] = None, num_frames: Optional[int] = None,
                 device=None) -> nets_factory.NetworkFn:
    """Zoo net ``model_name`` in eval mode with the weights of a checkpoint
    (a file, or a directory: its latest). ``num_classes`` defaults to the
    checkpoint's (:func:`num_classes_in_checkpoint`). The net is built in a
    graph of its own, at ``image_size`` (default: its own) and, for a video
    net, ``num_frames``. (Example: :func:`num_classes_in_checkpoint`.)

    Raises:
        CheckpointError: no checkpoint, or one that does not fit the net
            (the message lists the missing and mis-shaped names).
    """
    path = resolve_checkpoint_path(checkpoint_path)
    if num_classes is None:
        num_classes = num_classes_in_checkpoint(model_name, path)
    network_fn = nets_factory.get_network_fn(model_name, num_classes, is_training=False)
    video = network_fn.input_spec.video
    shape = network_fn.input_shape(1, image_size, (num_frames or DEFAULT_NUM_FRAMES) if video else None)
    with Graph():   # restore looks up TF layouts in the graph that built the net
        network_fn.build(shape, device=device)
        assign_from_checkpoint(path, network_fn)
    return network_fn.eval()


# -- classifying ---------------------------------------------------------------

def top_k_classes(logits: torch.Tensor, k: int, labels: Labels = None,
                  labels_offset: int = 0) -> list:
    """Per row of ``logits`` ``[N, classes]``, the ``k`` most probable classes
    (softmax), most probable first, as :class:`ClassProbability` tuples. Ids
    are ``column + labels_offset``; names come from ``labels`` (``{id: name}``
    as research/slim's ``read_label_file`` returns, or a list indexed by id).

        >>> top_k_classes(torch.tensor([[0.0, 2.0, 1.0]]), 2, ['cat', 'dog', 'fox'])
        [(ClassProbability(class_id=1, name='dog', probability=0.665240...),
          ClassProbability(class_id=2, name='fox', probability=0.244728...))]
    """
    if k < 1:
        raise ValueError(f"top_k must be at least 1, not {k}")
    logits = logits.reshape(logits.shape[0], -1).float()
    probabilities = torch.softmax(logits, dim=1)
    values, indices = probabilities.topk(min(k, probabilities.shape[1]), dim=1)
    names = _name_lookup(labels)
    return [tuple(ClassProbability(i + labels_offset, names(i + labels_offset), _float32(p))
                  for i, p in zip(row_indices, row_values))
            for row_indices, row_values in zip(indices.tolist(), values.tolist())]


def _name_lookup(labels: Labels) -> Callable:
    if labels is None:
        return lambda class_id: None
    if isinstance(labels, Mapping):
        return labels.get
    return lambda class_id: labels[class_id] if 0 <= class_id < len(labels) else None


def _float32(value: float) -> float:
    """A float32 value as the shortest float that reads back as it (9
    significant digits), so files say 0.6652409 and not 0.66524094343185."""
    return float(f"{value:.9g}")


def predict(network_fn, images: Iterable, top_k: int = 5, labels: Labels = None,
            **kwargs) -> list:
    """The :class:`Prediction` of every image: ``list(iter_predictions(...))``
    (see there for the arguments). Images that failed have ``error`` set."""
    return list(iter_predictions(network_fn, images, top_k, labels, **kwargs))


def iter_predictions(network_fn, images: Iterable, top_k: int = 5, labels: Labels = None, *,
                     labels_offset: int = 0, preprocessing=None, image_size: Optional[int] = None,
                     num_frames: Optional[int] = None, use_grayscale: bool = False,
                     batch_size: int = 32, device=None, num_workers: int = 0,
                     progress: Optional[bool] = False) -> Iterator:
    """Classifies image files in batches, yielding one :class:`Prediction`
    per image in order (a batch at a time).

    Args:
        network_fn: a zoo net (:func:`load_network`) or any module or function
            ``images -> logits`` or ``-> (logits, end_points)``; put into eval
            mode for the run.
        images: image files and directories (:func:`find_images`).
        top_k: classes per image.
        labels: ``{id: name}`` (``read_label_file``) or a list of names by id.
        labels_offset: added to the net's outputs to give the labels' ids.
        preprocessing: a research/slim preprocessing name, or a function
            ``fn(image, height, width, **kwargs)``; default: the net's
            (``network_fn.name``), with ``is_training=False``.
        image_size: height and width fed to the net (default: its own).
        num_frames: video nets (i3d, s3dg): each still image becomes a clip of
            this many frames (default 16), as in ``slimtorch train``/``eval``.
        use_grayscale: passed to the preprocessing.
        batch_size, num_workers: of the DataLoader that decodes and preprocesses.
        device: where to run (default: where the net's parameters are).
        progress: a tqdm bar on stderr; None: only on a terminal.

    Raises:
        FileNotFoundError, ValueError: from :func:`find_images`, or a net
            without a preprocessing or image size of its own.
    """
    paths = find_images(images)
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, not {top_k}")
    dataset = _ImageFiles(paths, *_preparation(network_fn, preprocessing, image_size,
                                               num_frames, use_grayscale))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                         num_workers=num_workers, collate_fn=_collate)
    if device is None:
        parameter = next(iter(network_fn.parameters()), None) \
            if isinstance(network_fn, torch.nn.Module) else None
        device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = getattr(network_fn, "training", None)
    if was_training is not None:
        network_fn.eval()
    from tqdm.auto import tqdm
    bar = tqdm(total=len(paths), unit="image", disable=None if progress is None else not progress,
               desc="predict")
    try:
        for indices, batch, failures in loader:
            results = {i: Prediction(paths[i], error=why) for i, why in failures}
            if batch is not None:
                with torch.no_grad():
                    outputs = network_fn(batch.to(device))
                logits = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
                for index, classes in zip(indices, top_k_classes(logits, top_k, labels,
                                                                 labels_offset)):
                    results[index] = Prediction(paths[index], classes)
            bar.update(len(results))
            yield from (results[i] for i in sorted(results))
    finally:
        bar.close()
        if was_training:
            network_fn.train()


def _preparation(network_fn, preprocessing, image_size, num_frames, use_grayscale) -> tuple:
    """``(channels, preprocess, size, kwargs)`` for :class:`_ImageFiles`."""
    name = getattr(network_fn, "name", None) or getattr(network_fn, "__name__", "the net")
    if preprocessing is None:
        if name not in preprocessing_fn_map:
            raise ValueError(f"{name} has no preprocessing of its own (as in research/slim): "
                             "pass --preprocessing_name (preprocessing=), e.g. vgg or inception "
                             "for colour images, lenet for grey ones")
        preprocessing = name
    if isinstance(preprocessing, str):
        preprocessing = get_preprocessing(preprocessing, is_training=False,
                                          use_grayscale=use_grayscale)
    size = image_size or getattr(network_fn, "default_image_size", None)
    if not size:
        raise ValueError(f"{name} has no default image size: pass --image_size (image_size=)")
    spec = getattr(network_fn, "input_spec", None)
    kwargs = {}
    if spec is not None and spec.video:
        kwargs["num_frames"] = num_frames or DEFAULT_NUM_FRAMES
    elif num_frames:
        raise ValueError(f"--num_frames (num_frames=) is for the video nets (i3d, s3dg); {name} "
                         "takes images, so leave it out")
    return getattr(network_fn, "input_channels", None) or 3, preprocessing, size, kwargs


class _ImageFiles(torch.utils.data.Dataset):
    """Item ``i``: ``(i, preprocessed image, None)`` or ``(i, None, why it failed)``."""

    def __init__(self, paths, channels, preprocess, size, kwargs) -> None:
        self.paths, self.channels, self.preprocess = paths, channels, preprocess
        self.size, self.kwargs = size, kwargs

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        path = self.paths[i]
        try:
            image = _decode_file(path, self.channels)
        except OSError as error:
            return i, None, f"cannot read it: {error.strerror or error}"
        except (TFRecordError, ValueError) as error:
            return i, None, f"cannot decode it: {_decode_reason(error)}"
        try:
            return i, self.preprocess(image, self.size, self.size, **self.kwargs), None
        except (ValueError, RuntimeError) as error:
            return i, None, f"cannot preprocess its {image.shape[2]}x{image.shape[1]} image: {error}"


def _decode_file(path: str, channels: int) -> torch.Tensor:
    """uint8 ``[channels, H, W]``: decoded as the datasets decode (1 channel:
    the decoder's grey, as research/slim's ``Image(channels=1)``)."""
    with open(path, "rb") as f:
        data = f.read()
    with _native_stderr_silenced():
        return decode_image_bytes(data, channels=channels)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """libpng writes its own "libpng error: ..." to file descriptor 2 before
    torchvision raises; the raised error is reported as one clean line instead.
    (Only the decoding thread's call is affected in practice: decoding is
    sequential in this process or runs in a DataLoader worker process.)"""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no real descriptor 2: nothing to silence
        saved = None
    if saved is None:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _decode_reason(error: Exception) -> str:
    """torchvision's decoder message without its C++ source location:
    ``decode_jpeg: Image is incomplete or truncated``."""
    reason = getattr(error, "reason", None) or str(error)
    if reason.startswith("image/encoded is empty"):
        return "the file is empty"
    if "Unsupported image file" in reason:
        return "not a JPEG, PNG, GIF, WebP or BMP image"
    located = re.search(r"(\w+)(?:\(\))?, \S+\.cpp:\d+, (.*)", reason, re.S)
    if located is None:
        return reason
    where, what = located.groups()
    return what.strip() if where == "operator" else f"{where}: {what.strip()}"


def _collate(items) -> tuple:
    """``(indices of the good images, their batch or None, [(index, why it failed)])``."""
    good = [(i, image) for i, image, _ in items if image is not None]
    failures = [(i, why) for i, image, why in items if image is None]
    batch = torch.stack([image for _, image in good]) if good else None
    return [i for i, _ in good], batch, failures


# -- output files -----------------------------------------------------------------

_CSV_COLUMNS = ("image", "rank", "class_id", "class_name", "probability")


def write_predictions(predictions: Iterable, path: str, **metadata) -> None:
    """Writes the classified images' top-k to ``path``, atomically: CSV
    (``.csv``; one row per image and rank: image, rank, class_id,
    class_name, probability) or JSON (``.json``; ``{**metadata, "images":
    [{"image", "top_k": [{"class_id", "class_name", "probability"}]}],
    "skipped": [{"image", "error"}]}``). Failed images are left out of the
    CSV.

        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'p.csv')
        >>> write_predictions([Prediction('a.png', (ClassProbability(3, 'cat', 0.75),))], path)
        >>> print(open(path).read().strip())
        image,rank,class_id,class_name,probability
        a.png,1,3,cat,0.75

    Raises:
        ValueError: ``path`` ends in neither ``.csv`` nor ``.json``.
    """
    kind = output_format(path)
    predictions = list(predictions)
    if kind == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for p in predictions:
            for rank, c in enumerate(p.top_k, 1):
                writer.writerow([p.image, rank, c.class_id, "" if c.name is None else c.name,
                                 repr(c.probability)])
        data = text.getvalue()
    else:
        data = json.dumps({
            **metadata,
            "images": [{"image": p.image, "top_k": [{"class_id": c.class_id, "class_name": c.name,
                                                     "probability": c.probability}
                                                    for c in p.top_k]}
                       for p in predictions if p.error is None],
            "skipped": [{"image": p.image, "error": p.error} for p in predictions
                        if p.error is not None],
        }, indent=1, ensure_ascii=False) + "\n"
    with atomic_write(path) as f:
        f.write(data.encode("utf-8"))


def output_format(path: str) -> str:
    """``'csv'`` or ``'json'``, by ``path``'s extension.

        >>> output_format('out/preds.JSON')
        'json'
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in (".csv", ".json"):
        raise ValueError(f"--output_file {path}: the format comes from the extension, .csv or "
                         f".json, not {extension or 'none'!r}; e.g. --output_file=predictions.csv")
    return extension[1:]
