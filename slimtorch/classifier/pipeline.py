"""The pieces train and eval share: dataset + preprocessing + DataLoader,
and the network, chosen by research/slim's flags."""

from __future__ import annotations

import difflib
import logging
import os

import torch

from ..data.digits import DigitsDataset
from ..data.factory import DATASET_NAMES, get_dataset
from ..data.local import TensorImageDataset
from ..data.preprocessing import get_preprocessing, preprocessing_fn_map, preprocessing_names
from ..nets import nets_factory

__all__ = ["check_names", "make_loader", "make_network"]

logger = logging.getLogger(__name__)

# Datasets that live in the package (or are generated): --dataset_dir is not read.
_NO_DIR = ("digits", "synthetic")


def check_names(flags) -> None:
    """Fails on an unknown ``--model_name``, ``--dataset_name`` or
    ``--preprocessing_name``, suggesting the close match; warns that
    ``--dataset_dir`` is ignored for the embedded datasets.

        >>> import argparse
        >>> check_names(argparse.Namespace(model_name='vgg16', dataset_name='digits',
        ...                                preprocessing_name=None, dataset_dir=None))
        Traceback (most recent call last):
        ...
        ValueError: Name of network unknown vgg16; did you mean vgg_16?

    Raises:
        ValueError: a name none of the factories knows (research/slim's words).
    """
    # The factories' own messages list every name; a typo deserves its fix.
    if flags.model_name not in nets_factory.network_names():
        raise ValueError(f"Name of network unknown {flags.model_name}; "
                         + _suggest(flags.model_name, nets_factory.network_names(),
                                    "--model_name"))
    if flags.dataset_name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {flags.dataset_name!r}; "
                         + _suggest(flags.dataset_name, DATASET_NAMES, "--dataset_name"))
    name = flags.preprocessing_name
    if name is not None and name not in preprocessing_fn_map:
        raise ValueError(f"Preprocessing name [{name}] was not recognized; "
                         + _suggest(name, preprocessing_names(), "--preprocessing_name"))
    if flags.dataset_dir and flags.dataset_name in _NO_DIR:
        logger.warning("--dataset_dir=%s is ignored: the %s dataset needs no files",
                       flags.dataset_dir, flags.dataset_name)


def _suggest(name: str, known, flag: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    # Only the best match, unless others are as close (resnet50: v1 or v2?).
    score = [difflib.SequenceMatcher(None, name, match).ratio() for match in close]
    close = sorted(m for m, r in zip(close, score) if r >= score[0] - 0.02) if close else []
    if close:
        listed = f"{', '.join(close[:-1])} or {close[-1]}" if len(close) > 1 else close[0]
        return f"did you mean {listed}?"
    return f"{flag} takes one of {', '.join(sorted(known))}"


def make_network(flags, num_classes: int, is_training: bool, weight_decay: float = 0.0):
    """``nets_factory.get_network_fn`` for ``--model_name`` with
    ``num_classes - --labels_offset`` classes."""
    return nets_factory.get_network_fn(flags.model_name, num_classes=num_classes,
                                       weight_decay=weight_decay, is_training=is_training)


def make_loader(flags, is_training: bool, image_size_flag):
    """``(dataset, loader, network_fn)`` for ``--dataset_name``/``--model_name``:
    images preprocessed as ``--preprocessing_name`` (default: the model's),
    at ``image_size_flag`` or the net's default size. Checks the names
    first (:func:`check_names`)."""
    check_names(flags)
    probe = get_dataset(flags.dataset_name, flags.dataset_split_name, flags.dataset_dir,
                        labels_offset=flags.labels_offset)
    num_classes = probe.num_classes - flags.labels_offset
    network_fn = make_network(flags, num_classes, is_training,
                              getattr(flags, "weight_decay", 0.0))
    size = image_size_flag or network_fn.default_image_size
    if flags.preprocessing_name is None and flags.model_name not in preprocessing_fn_map:
        # research/slim stops with "Preprocessing name [...] was not recognized"; say what to pass.
        raise ValueError(f"--model_name {flags.model_name} has no preprocessing of its own (as "
                         "in research/slim): pass --preprocessing_name, e.g. vgg or inception "
                         "for colour images, lenet for grey ones such as the digits")
    preprocess = get_preprocessing(flags.preprocessing_name or flags.model_name,
                                   is_training=is_training, use_grayscale=flags.use_grayscale)
    dataset = get_dataset(flags.dataset_name, flags.dataset_split_name, flags.dataset_dir,
                          transform=_Preprocess(preprocess, size, **_clip_kwargs(flags, network_fn)),
                          labels_offset=flags.labels_offset)
    workers = flags.num_preprocessing_threads
    if workers is None:   # worker processes pay off only when items are decoded from files
        workers = 0 if isinstance(dataset, (DigitsDataset, TensorImageDataset)) else \
            min(4, os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=flags.batch_size, shuffle=is_training, drop_last=is_training,
        num_workers=workers, pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(flags.seed))
    return dataset, loader, network_fn


def _clip_kwargs(flags, network_fn) -> dict:
    """``{'num_frames': --num_frames}`` for a video net (its inputs are clips
    made from the dataset's still images), else nothing."""
    if network_fn.input_spec.video:
        return {"num_frames": getattr(flags, "num_frames", None) or 16}
    if getattr(flags, "num_frames", None):
        raise ValueError(f"--num_frames is for the video nets (i3d, s3dg); --model_name "
                         f"{flags.model_name} takes images, so leave it out")
    return {}


class _Preprocess:
    """``preprocess(image, size, size, **kwargs)`` as a picklable transform
    (DataLoader workers pickle the dataset)."""

    def __init__(self, preprocess, size: int, **kwargs) -> None:
        self.preprocess, self.size, self.kwargs = preprocess, size, kwargs

    def __call__(self, image):
        return self.preprocess(image, self.size, self.size, **self.kwargs)
