"""The pieces train and eval share: dataset + preprocessing + DataLoader,
and the network, chosen by research/slim's flags."""

from __future__ import annotations

import os

import torch

from ..data.digits import DigitsDataset
from ..data.factory import get_dataset
from ..data.local import TensorImageDataset
from ..data.preprocessing import get_preprocessing, preprocessing_fn_map
from ..nets import nets_factory

__all__ = ["make_loader", "make_network"]


def make_network(flags, num_classes: int, is_training: bool, weight_decay: float = 0.0):
    """``nets_factory.get_network_fn`` for ``--model_name`` with
    ``num_classes - --labels_offset`` classes."""
    return nets_factory.get_network_fn(flags.model_name, num_classes=num_classes,
                                       weight_decay=weight_decay, is_training=is_training)


def make_loader(flags, is_training: bool, image_size_flag):
    """``(dataset, loader, network_fn)`` for ``--dataset_name``/``--model_name``:
    images preprocessed as ``--preprocessing_name`` (default: the model's),
    at ``image_size_flag`` or the net's default size."""
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
                          transform=_Preprocess(preprocess, size),
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


class _Preprocess:
    """``preprocess(image, size, size)`` as a picklable transform (DataLoader
    workers pickle the dataset)."""

    def __init__(self, preprocess, size: int) -> None:
        self.preprocess, self.size = preprocess, size

    def __call__(self, image):
        return self.preprocess(image, self.size, self.size)
