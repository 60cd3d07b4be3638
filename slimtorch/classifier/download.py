"""``slimtorch download``: the TF-Slim model zoo's pretrained weights by name.

    slimtorch download --model_name=inception_v3      # download, check, convert once
    slimtorch download --list                          # every name, and what is cached

The weights land in the cache (``$SLIMTORCH_HOME``, default
``~/.cache/slimtorch``) as a slimtorch safetensors file;
``--checkpoint_path=pretrained:inception_v3`` then names them in ``train``,
``eval``, ``predict`` and ``export``. research/slim's own instructions
(``wget``, ``tar -xvf``, ``mv inception_v3.ckpt ...``) become that one line.

    >>> import argparse
    >>> flags = add_download_flags(argparse.ArgumentParser()).parse_args(['--list'])
    >>> flags.model_name, flags.list
    (None, True)
"""

from __future__ import annotations

import argparse
import os

from ..pretrained import (REGISTRY, converted_path, get_pretrained, pretrained_checkpoint,
                          pretrained_names)

__all__ = ["add_download_flags", "list_table", "main"]


def add_download_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds ``download``'s flags to ``parser``."""
    parser.add_argument("--model_name", default=None,
                        help="registry weights (a zoo net's name, e.g. inception_v3, or a "
                             "tagged entry, e.g. resnet_v1_50.torchvision); see --list")
    parser.add_argument("--list", action="store_true",
                        help="list the registry's weights and which are in the cache")
    return parser


def list_table() -> str:
    """One line per registry entry: name, net, classes, input size, top-1
    as reported by its source, and whether it is in the cache."""
    rows = [("name", "net", "classes", "input", "top-1", "source", "cached")]
    for name in pretrained_names():
        weights = REGISTRY[name]
        rows.append((name, weights.net, str(weights.num_classes), str(weights.image_size),
                     "" if weights.top1 is None else f"{weights.top1:.1f}", weights.source,
                     "yes" if os.path.isfile(converted_path(weights)) else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in rows)


def main(args) -> int:
    """Lists, or fetches ``--model_name``'s weights; returns 0.

    Raises:
        ValueError: neither flag given, or an unknown name.
        PretrainedError, CheckpointError: the download or conversion failed.
    """
    if args.list:
        print(list_table())
        return 0
    if not args.model_name:
        raise ValueError("no --model_name given; e.g. --model_name=inception_v3 (--list "
                         "shows every name)")
    weights = get_pretrained(args.model_name)
    path = pretrained_checkpoint(weights.name)
    classes = f"{weights.num_classes} classes" + (
        " (0 is background)" if weights.has_background else "")
    print(f"{weights.name}: {weights.net}, {classes}, {weights.image_size}x{weights.image_size}, "
          f"{weights.preprocessing} preprocessing, from {weights.source}\n{path}\n"
          f"use it with --model_name={weights.net} --checkpoint_path=pretrained:{weights.name}")
    return 0
