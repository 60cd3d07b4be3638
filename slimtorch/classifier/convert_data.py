"""``slimtorch convert-data``: research/slim's ``download_and_convert_data.py``
without downloads and without TensorFlow.

research/slim's flags (``--dataset_name``, ``--dataset_dir``) plus
``--output_dir`` (default: ``--dataset_dir``, where research/slim writes),
``--validation_size``, ``--num_shards``, ``--seed`` and ``--name`` (the
shards' prefix). Datasets: ``folder`` (``<dataset_dir>/<class>/<image>``,
or already split into ``train/``, ``validation/``, ``test/``), ``flowers``
(the same under ``flower_photos/``, research/slim's 350 validation images),
``mnist`` and ``cifar10`` (torchvision's files). Train on the result with
``--dataset_name=tfrecord --dataset_dir=<output_dir>``.

    >>> import argparse
    >>> flags = add_flags(argparse.ArgumentParser()).parse_args(
    ...     ["--dataset_name=folder", "--dataset_dir=/photos"])
    >>> flags.output_dir, flags.num_shards, flags.validation_size, flags.seed
    (None, None, None, 0)
"""

from __future__ import annotations

import argparse

from ..data.convert import CONVERTERS, convert_dataset
from .flags import _non_negative_int, _positive_int

__all__ = ["add_flags", "main"]


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds ``convert-data``'s flags to ``parser``."""
    parser.add_argument("--dataset_name", default=None, choices=list(CONVERTERS),
                        help="folder (class-per-folder images), flowers (the same, "
                             "research/slim's defaults), mnist or cifar10 (torchvision's files)")
    parser.add_argument("--dataset_dir", default=None,
                        help="the images (<dir>/<class>/<image>, or <dir>/train/<class>/...), "
                             "or the MNIST / CIFAR-10 files")
    parser.add_argument("--output_dir", default=None,
                        help="where the shards, labels.txt and splits.json go "
                             "(default: --dataset_dir, as research/slim)")
    parser.add_argument("--validation_size", type=_non_negative_int, default=None,
                        help="images held out as the validation split (default: folder a "
                             "tenth, flowers 350, mnist and cifar10 0: their test split)")
    parser.add_argument("--num_shards", type=_positive_int, default=None,
                        help="files per split (default: 5, as research/slim's flowers; 1 for "
                             "mnist and cifar10: research/slim's single mnist_train.tfrecord)")
    parser.add_argument("--seed", type=_non_negative_int, default=0,
                        help="of the shuffle before the split (default: %(default)s, "
                             "research/slim's _RANDOM_SEED)")
    parser.add_argument("--name", default=None,
                        help="the shards' prefix, <name>_train_00000-of-00005.tfrecord "
                             "(default: --dataset_name)")
    return parser


def main(args) -> int:
    """Runs the conversion ``args`` describe; prints what it wrote."""
    if not args.dataset_name:
        raise ValueError("You must supply the dataset name with --dataset_name; e.g. "
                         f"--dataset_name=folder (one of {', '.join(CONVERTERS)})")
    if not args.dataset_dir:
        raise ValueError("You must supply the dataset directory with --dataset_dir; e.g. "
                         "--dataset_dir=/data/photos (class sub-directories of images)")
    result = convert_dataset(args.dataset_name, args.dataset_dir, args.output_dir, args.name,
                             args.validation_size, args.num_shards, args.seed)
    if result.already_converted:
        print(f"Dataset files already exist in {result.output_dir}. Exiting without "
              "re-creating them (delete them to convert again).")
        return 0
    sizes = ", ".join(f"{split} {count}" for split, count in result.splits.items())
    print(f"Wrote {result.name}: {sizes} images of {result.num_classes} classes, "
          f"{sum(len(f) for f in result.files.values())} files, labels.txt and splits.json "
          f"in {result.output_dir}")
    if result.skipped:
        print(f"Skipped {len(result.skipped)} image(s) that do not decode (listed above).")
    print(f"Train with: slimtorch train --dataset_name=tfrecord --dataset_dir={result.output_dir}")
    return 0
