"""``slimtorch export``: research/slim's ``export_inference_graph.py``, with
``freeze_graph``'s step (the checkpoint's weights baked in) and a choice of
format; :func:`slimtorch.tools.export.export` does the work.

    slimtorch export --model_name=inception_v3 --checkpoint_path=inception_v3.ckpt \\
        --output_file=inception_v3.pt2 --labels_file=imagenet/labels.txt

The flags are research/slim's (``--model_name``, ``--is_training``,
``--image_size``, ``--batch_size``, ``--dataset_name``, ``--labels_offset``,
``--output_file``, ``--dataset_dir``, ``--is_video_model``, ``--num_frames``)
with its defaults (inception_v3 on the 1001-class imagenet), plus
``--checkpoint_path``, ``--format``, ``--labels_file``, ``--num_classes`` and
``--precision``: bf16 writes bfloat16 weights (pt2, torchscript), int8 a
PT2E-quantized program (pt2) calibrated on the first
``--calibration_batches`` batches of ``--dataset_name``'s train split.
"""

from __future__ import annotations

import argparse
import logging
import os

from .flags import _add_precision_flags, _non_negative_int, _positive_int

__all__ = ["add_flags", "main"]

logger = logging.getLogger(__name__)


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds ``slimtorch export``'s flags to ``parser``."""
    from ..tools.export import FORMATS
    parser.add_argument("--model_name", default="inception_v3",
                        help="the zoo net to export (default: %(default)s)")
    parser.add_argument("--is_training", action="store_true",
                        help="export the training-mode net (batch statistics, dropout on)")
    parser.add_argument("--image_size", type=_positive_int, default=None,
                        help="input height and width (default: the net's default_image_size)")
    parser.add_argument("--batch_size", type=_positive_int, default=None,
                        help="a fixed batch size (default: any batch size)")
    parser.add_argument("--dataset_name", default="imagenet",
                        help="the dataset whose classes the net has: imagenet (1001), flowers, "
                             "cifar10, mnist, digits, folder, ... (default: %(default)s)")
    parser.add_argument("--num_classes", type=_positive_int, default=None,
                        help="the dataset's number of classes, instead of --dataset_name's")
    parser.add_argument("--labels_offset", type=_non_negative_int, default=0,
                        help="the net has num_classes - labels_offset outputs: 1 for a "
                             "1000-class net such as vgg_16 (default: %(default)s)")
    parser.add_argument("--output_file", default="",
                        help="where to write the export (.pt2, .onnx, .pt)")
    parser.add_argument("--dataset_dir", default="",
                        help="the dataset's directory: its labels.txt is embedded, and "
                             "--dataset_name=folder counts its classes there")
    parser.add_argument("--is_video_model", action="store_true",
                        help="research/slim's switch for 5-D clip inputs; i3d and s3dg take "
                             "clips anyway")
    parser.add_argument("--num_frames", type=_positive_int, default=None,
                        help="clip length of a video net (default: its own, 64)")
    parser.add_argument("--checkpoint_path", default=None,
                        help="the weights to bake in: a checkpoint file, TF prefix or directory "
                             "(TF, slimtorch or PyTorch; default: none, random weights)")
    parser.add_argument("--format", choices=list(FORMATS), default=None,
                        help="pt2 (torch.export), onnx or torchscript (default: from "
                             "--output_file's ending, else pt2)")
    parser.add_argument("--labels_file", default=None,
                        help="research/slim's labels.txt (id:name lines) to embed (default: "
                             "<dataset_dir>/labels.txt when there is one)")
    _add_precision_flags(parser)
    return parser


def main(args) -> int:
    """Exports as the flags say; prints what was written. Returns 0."""
    from ..nets import nets_factory
    from ..tools.export import export
    from .pipeline import _suggest
    if not args.output_file:
        raise ValueError("You must supply the path to save to with --output_file; e.g. "
                         f"--output_file={args.model_name}.pt2")
    if args.model_name not in nets_factory.network_names():
        raise ValueError(f"Name of network unknown {args.model_name}; "
                         + _suggest(args.model_name, nets_factory.network_names(), "--model_name"))
    video = nets_factory.get_network_fn(args.model_name, 1).input_spec.video
    if args.is_video_model and not video:
        raise ValueError(f"--is_video_model: {args.model_name} takes images, not clips; leave "
                         "the flag out (the video nets are i3d and s3dg)")
    if args.num_frames and not video:
        raise ValueError(f"--num_frames is for the video nets (i3d, s3dg); {args.model_name} "
                         "takes images, so leave it out")
    weights = _pretrained(args)
    classes = (weights.num_classes if weights and not args.num_classes else
               _dataset_classes(args)) - args.labels_offset
    if classes < 1:
        raise ValueError(f"--labels_offset={args.labels_offset} leaves no classes of the "
                         f"{classes + args.labels_offset}; lower it")
    try:
        info = export(args.model_name, args.output_file, args.format, num_classes=classes,
                      checkpoint_path=args.checkpoint_path, image_size=args.image_size,
                      batch_size=args.batch_size, num_frames=args.num_frames,
                      labels=_labels_file(args) or _imagenet_labels(weights),
                      labels_offset=args.labels_offset,
                      is_training=args.is_training, precision=args.precision,
                      calibration_batches=_calibration(args))
    except ImportError as error:   # ONNX's optional packages: the CLI's one-line error
        raise ValueError(str(error)) from None
    shape = ", ".join("N" if d is None else str(d) for d in info.input_shape)
    print(f"wrote {info.path} ({info.format}): input {info.input_name} [{shape}], outputs "
          + ", ".join(info.output_names)
          + (f", {len(info.labels)} labels" if info.labels else "")
          + (f", {info.precision}" if info.precision != "fp32" else "")
          + (f"; matches eager within {info.max_difference:.1e}"
             if info.max_difference is not None else ""))
    return 0


def _dataset_classes(args) -> int:
    """The dataset's class count: --num_classes, research/slim's constant
    for its datasets (no files needed, as in research/slim), else the
    dataset's own count (digits, synthetic, folder, ...)."""
    if args.num_classes:
        return args.num_classes
    from ..data.factory import DATASET_NAMES, get_dataset
    from ..data.research_slim import RESEARCH_SLIM_DATASETS
    from .pipeline import _suggest
    if args.dataset_name in RESEARCH_SLIM_DATASETS:
        return RESEARCH_SLIM_DATASETS[args.dataset_name].num_classes
    if args.dataset_name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {args.dataset_name!r}; "
                         + _suggest(args.dataset_name, DATASET_NAMES, "--dataset_name")
                         + " (or give --num_classes)")
    return get_dataset(args.dataset_name, "train", args.dataset_dir or None).num_classes


def _calibration(args):
    """Checks --precision against the format and this machine; for int8,
    the calibration batches: the first --calibration_batches of
    --dataset_name's train split, preprocessed for evaluation."""
    if args.precision == "fp32":
        return None
    from ..precision import check_precision
    from ..tools.export import FORMATS, PRECISION_FORMATS
    ending = os.path.splitext(args.output_file)[1].lower()
    format = args.format or next((name for name, endings in FORMATS.items() if ending in endings),
                                 "pt2")
    formats = PRECISION_FORMATS[args.precision]
    if format not in formats:
        raise ValueError(f"--precision={args.precision} is written as {' or '.join(formats)} "
                         f"only, not {format}; pass --format={formats[0]} (a .{formats[0]} "
                         "--output_file), or --precision=fp32")
    if args.is_training:
        raise ValueError(f"--precision={args.precision} is for inference; drop --is_training")
    try:
        check_precision(args.precision, "cpu")
    except ImportError as error:   # torchao for int8: the CLI's one-line error
        raise ValueError(str(error)) from None
    if args.precision != "int8":
        return None
    import itertools
    from types import SimpleNamespace

    from .pipeline import make_loader
    flags = SimpleNamespace(
        dataset_name=args.dataset_name, dataset_split_name="train",
        dataset_dir=args.dataset_dir or None, labels_offset=args.labels_offset,
        model_name=args.model_name, preprocessing_name=None, batch_size=args.batch_size or 32,
        use_grayscale=False, num_preprocessing_threads=None, seed=0, num_frames=args.num_frames)
    try:
        _, loader, _ = make_loader(flags, False, args.image_size)
        return [images for images, _ in itertools.islice(loader, args.calibration_batches)]
    except (ValueError, OSError) as error:
        raise ValueError(f"--precision=int8 calibrates on --dataset_name={args.dataset_name}'s "
                         f"train split, which cannot be read ({error}); pass its --dataset_dir") \
            from None


def _pretrained(args):
    """The registry entry of ``--checkpoint_path=pretrained:NAME``, else None:
    its class count is the net's (research/slim's --dataset_name=imagenet
    default says 1001, VGG's weights have 1000)."""
    if not getattr(args, "pretrained", None):
        return None
    from ..pretrained import get_pretrained
    return get_pretrained(args.pretrained)


def _imagenet_labels(weights):
    """ImageNet's class names for the model zoo's weights (shipped with slimtorch)."""
    if weights is None or weights.num_classes not in (1000, 1001):
        return None
    from ..data.imagenet_labels import labels_for
    return labels_for(weights.num_classes)


def _labels_file(args):
    if args.labels_file:
        if not os.path.isfile(args.labels_file):
            raise FileNotFoundError(f"--labels_file {args.labels_file} does not exist; pass "
                                    "research/slim's labels.txt (id:name lines)")
        return args.labels_file
    found = os.path.join(args.dataset_dir, "labels.txt") if args.dataset_dir else None
    if found and os.path.isfile(found):
        logger.info("embedding the labels of %s", found)
        return found
    return None
