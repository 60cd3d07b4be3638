"""``slimtorch predict``: the top-k classes of image files, with a checkpoint.

    slimtorch predict --model_name=inception_v3 --checkpoint_path=DIR \\
        --labels_file=labels.txt --top_k=5 photo.jpg photos/ --output_file=top5.csv

Each image goes through the net's evaluation preprocessing (research/slim's
``preprocessing_factory`` with ``is_training=False``, as ``slimtorch eval``)
and the softmax of the logits gives the probabilities. Directories are walked
recursively for .jpg/.jpeg/.png/.bmp/.gif files (sorted); a file that cannot be
read or decoded is reported on stderr and skipped. The exit status is 0 when
at least one image was classified.

research/slim has no such script; the flags are its eval script's where they
mean the same: ``--dataset_name`` (or ``--num_classes``, standing in for the
dataset's class count) and ``--labels_offset`` make a net of ``classes -
labels_offset`` outputs, as research/slim's ``export_inference_graph.py``.
Without either the count is read from the checkpoint. Video nets (i3d, s3dg)
classify each image as a clip of ``--num_frames`` copies of it (the
"boring video" ``slimtorch train``/``eval`` make of still images).

``--precision=bf16`` or ``int8`` runs the net at that precision
(:func:`slimtorch.precision.inference_model`); int8 is calibrated on the
first ``--calibration_batches`` batches of the given images.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from types import SimpleNamespace

import torch

from ..data.preprocessing import preprocessing_fn_map
from ..data.research_slim import LABELS_FILENAME, RESEARCH_SLIM_DATASETS, read_label_file
from ..tools import predict as predicting
from .flags import _add_precision_flags, _non_negative_int, _positive_int
from .pipeline import check_names

__all__ = ["add_flags", "main"]

logger = logging.getLogger(__name__)


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds ``slimtorch predict``'s flags and its IMAGES_OR_DIRS to ``parser``."""
    parser.add_argument("images", nargs="+", metavar="IMAGES_OR_DIRS",
                        help="image files, and directories searched recursively for "
                             f"{', '.join(predicting.IMAGE_EXTENSIONS)} files")
    model = parser.add_argument_group("model")
    model.add_argument("--model_name", default="lenet",
                       help="the zoo net of the checkpoint (default: %(default)s)")
    model.add_argument("--checkpoint_path", default="/tmp/tfmodel/",
                       help="a checkpoint file, or a directory: its latest checkpoint "
                            "(default: %(default)s)")
    model.add_argument("--num_classes", type=_positive_int, default=None,
                       help="the dataset's class count, background included (the net has "
                            "num_classes - labels_offset outputs) (default: --dataset_name's, "
                            "else read from the checkpoint)")
    model.add_argument("--dataset_name", default=None,
                       help="the dataset the checkpoint was trained on, for its class count "
                            "(imagenet: 1001, flowers: 5, ...)")
    model.add_argument("--dataset_dir", default=None,
                       help="a directory holding the dataset's labels.txt (class names when "
                            "--labels_file is not given)")
    model.add_argument("--labels_offset", type=_non_negative_int, default=0,
                       help="the net's output i is the labels' class i + labels_offset: 1 for a "
                            "1000-class net with research/slim's 1001 ImageNet labels "
                            "(default: %(default)s)")
    model.add_argument("--labels_file", default=None,
                       help="research/slim's labels.txt (id:name lines), or a directory "
                            "holding one: names for the class ids")
    model.add_argument("--image_size", type=_positive_int, default=None,
                       help="input size (default: the net's default_image_size)")
    model.add_argument("--preprocessing_name", default=None,
                       help="preprocessing to use (default: the model's)")
    model.add_argument("--use_grayscale", action="store_true",
                       help="convert images to grayscale during preprocessing")
    model.add_argument("--num_frames", type=_positive_int, default=None,
                       help="video nets (i3d, s3dg): frames of the clip each image is repeated "
                            "into (default: 16)")
    out = parser.add_argument_group("output")
    out.add_argument("--top_k", type=_positive_int, default=5,
                     help="classes printed per image (default: %(default)s)")
    out.add_argument("--output_file", default=None,
                     help="also write the predictions here: .csv (image, rank, class_id, "
                          "class_name, probability) or .json")
    run = parser.add_argument_group("slimtorch")
    run.add_argument("--batch_size", type=_positive_int, default=32,
                     help="images per forward pass (default: %(default)s)")
    run.add_argument("--device", default="auto",
                     help="auto (CUDA when available), cpu, cuda, cuda:1, ... (default: %(default)s)")
    run.add_argument("--num_threads", type=_positive_int, default=None,
                     help="CPU threads of each operation (torch.set_num_threads)")
    run.add_argument("--num_preprocessing_threads", type=_non_negative_int, default=None,
                     help="DataLoader worker processes decoding the images (default: none for "
                          "one batch of images, else up to 4)")
    _add_precision_flags(parser)
    return parser


def main(args) -> int:
    """Classifies ``args.images``; returns 0 (at least one image classified).

    Raises:
        ValueError, OSError, CheckpointError: a mistake in the flags or paths,
            a checkpoint that does not fit, or no image classified.
    """
    # --dataset_name is optional here: check_names checks it only when given.
    check_names(SimpleNamespace(model_name=args.model_name, preprocessing_name=args.preprocessing_name,
                                dataset_name=args.dataset_name or "digits", dataset_dir=None))
    if args.preprocessing_name is None and args.model_name not in preprocessing_fn_map:
        raise ValueError(f"--model_name {args.model_name} has no preprocessing of its own (as in "
                         "research/slim): pass --preprocessing_name, e.g. vgg or inception for "
                         "colour images, lenet for grey ones")
    if args.output_file:
        _check_output_file(args.output_file)
    images = predicting.find_images(args.images)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    device = _device(args.device)
    _check_precision(args.precision, device)

    num_classes = _num_classes(args)
    labels = _labels(args, num_classes)
    network_fn = predicting.load_network(args.model_name, args.checkpoint_path, num_classes,
                                         args.image_size, args.num_frames, device)
    workers = args.num_preprocessing_threads
    if workers is None:   # worker processes pay off only beyond one batch
        workers = 0 if len(images) <= args.batch_size else min(4, os.cpu_count() or 1)
    common = dict(labels_offset=args.labels_offset, preprocessing=args.preprocessing_name,
                  image_size=args.image_size, num_frames=args.num_frames,
                  use_grayscale=args.use_grayscale, batch_size=args.batch_size, device=device,
                  num_workers=workers)
    model = _at_precision(args, network_fn, images, common)

    from tqdm.auto import tqdm
    results = []
    for prediction in predicting.iter_predictions(model, images, args.top_k, labels,
                                                  progress=None, **common):
        results.append(prediction)
        if prediction.error is not None:
            tqdm.write(f"slimtorch predict: skipped {prediction.image}: {prediction.error}",
                       file=sys.stderr)
        else:
            tqdm.write(_format(prediction), file=sys.stdout)
    classified = sum(p.error is None for p in results)
    if not classified:
        what = f"none of the {len(results)} images could" if len(results) > 1 else \
            "the image could not"
        raise ValueError(f"{what} be classified (reported above); pass image files that "
                         "decode (JPEG, PNG, GIF, WebP, BMP)")
    skipped = len(results) - classified
    print(f"classified {classified} image{'s' * (classified != 1)}"
          + (f", skipped {skipped} (reported on stderr)" if skipped else ""))
    if args.output_file:
        predicting.write_predictions(results, args.output_file, model_name=args.model_name,
                                     checkpoint_path=args.checkpoint_path,
                                     labels_offset=args.labels_offset, top_k=args.top_k)
        print(f"wrote {args.output_file}")
    return 0


def _check_precision(precision: str, device) -> None:
    if precision != "fp32":
        from ..precision import check_precision
        try:
            check_precision(precision, device)
        except ImportError as error:   # torchao for int8: the CLI's one-line error
            raise ValueError(str(error)) from None


def _at_precision(args, network_fn, images: list, common: dict):
    """``network_fn`` at ``--precision``; int8 is calibrated on the
    preprocessed batches of the first images (recorded by a forward
    pre-hook while the float net classifies them)."""
    from ..precision import inference_model
    if args.precision != "int8":
        return inference_model(network_fn, args.precision)
    batches = []
    hook = network_fn.register_forward_pre_hook(lambda module, inputs: batches.append(inputs[0]))
    try:
        for _ in predicting.iter_predictions(
                network_fn, images[:args.calibration_batches * args.batch_size], 1, None,
                progress=False, **common):
            pass
    finally:
        hook.remove()
    if not batches:
        raise ValueError("--precision=int8: none of the images decoded, so there is nothing to "
                         "calibrate on; pass image files that decode")
    return inference_model(network_fn, "int8", batches)


def _format(prediction) -> str:
    """The image's path, then one line per class: probability, id, name."""
    width = max(len(str(c.class_id)) for c in prediction.top_k)
    lines = [prediction.image] + [
        f"  {c.probability:.4f}  {c.class_id:>{width}}" + (f"  {c.name}" if c.name else "")
        for c in prediction.top_k]
    return "\n".join(lines)


def _check_output_file(path: str) -> None:
    """Fails before any work when ``--output_file`` cannot be written."""
    predicting.output_format(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"--output_file {path}: directory {directory} does not exist; "
                         "create it first")
    if os.path.isdir(path):
        raise ValueError(f"--output_file {path} is a directory; name a .csv or .json file")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device={name} is not a device; e.g. --device=cpu, cuda or cuda:1") \
            from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device={name}: CUDA is not available here; use --device=cpu")
    return device


def _num_classes(args) -> int:
    """The net's output count: from the flags (research/slim's ``dataset
    classes - labels_offset``), checked against the checkpoint's, else the
    checkpoint's."""
    stored = predicting.num_classes_in_checkpoint(args.model_name, args.checkpoint_path)
    if args.num_classes is None and args.dataset_name is None:
        return stored
    if args.num_classes is not None:
        source, classes = f"--num_classes={args.num_classes}", args.num_classes
    else:
        source, classes = f"--dataset_name={args.dataset_name}", _dataset_classes(args)
    wanted = classes - args.labels_offset
    if wanted != stored:
        offset = f" with --labels_offset={args.labels_offset}" if args.labels_offset else ""
        raise ValueError(
            f"{source}{offset} makes a {wanted}-class net, but {args.checkpoint_path} holds "
            f"{stored} classes; give the dataset's class count (--num_classes="
            f"{stored + args.labels_offset}: the labels' count, background included, as "
            "research/slim's datasets) or leave --num_classes and --dataset_name out")
    return wanted


def _dataset_classes(args) -> int:
    name = args.dataset_name
    if name in RESEARCH_SLIM_DATASETS:
        return RESEARCH_SLIM_DATASETS[name].num_classes
    from ..data.factory import get_dataset
    try:
        return get_dataset(name, "train", args.dataset_dir).num_classes
    except (ValueError, OSError) as error:
        raise ValueError(f"--dataset_name={name}: cannot count its classes ({error}); pass "
                         "--num_classes, or leave both out to read it from the checkpoint") \
            from None


def _imagenet_labels(args, num_classes: int):
    """ImageNet's class names (shipped with slimtorch) for the model zoo's
    weights (``--checkpoint_path=pretrained:NAME``) and ``--dataset_name=imagenet``:
    1001 classes name 0 "background", 1000 start at "tench"."""
    if not (getattr(args, "pretrained", None) or args.dataset_name == "imagenet"):
        return None
    if num_classes + args.labels_offset not in (1000, 1001):
        return None
    from ..data.imagenet_labels import labels_for
    return labels_for(num_classes + args.labels_offset)


def _labels(args, num_classes: int):
    """``{id: name}`` from ``--labels_file`` (or ``--dataset_dir``'s labels.txt),
    checked against the net's ids ``labels_offset .. labels_offset + num_classes - 1``."""
    path = args.labels_file
    if path is None and args.dataset_dir and \
            os.path.isfile(os.path.join(args.dataset_dir, LABELS_FILENAME)):
        path = args.dataset_dir
    if path is None:
        return _imagenet_labels(args, num_classes)
    if os.path.isdir(path):
        directory, filename = path, LABELS_FILENAME
    elif os.path.isfile(path):
        directory, filename = os.path.split(path)
    else:
        raise FileNotFoundError(f"--labels_file {path} does not exist; pass research/slim's "
                                "labels.txt (id:name lines) or a directory holding one")
    labels = read_label_file(directory or ".", filename)
    where = os.path.join(directory, filename)
    offset = args.labels_offset
    ids = sorted(labels)
    if offset == 0 and ids == list(range(num_classes + 1)):
        raise ValueError(f"{where} has {num_classes + 1} classes (0..{num_classes}) for a "
                         f"{num_classes}-class net: research/slim's labels with 0 for the "
                         "background; pass --labels_offset=1 so that names line up")
    if offset and ids == list(range(num_classes)):
        raise ValueError(f"--labels_offset={offset} makes the net's {num_classes} classes ids "
                         f"{offset}..{num_classes + offset - 1}, but {where} numbers them "
                         f"0..{num_classes - 1}; leave --labels_offset out")
    unnamed = sum(i not in labels for i in range(offset, offset + num_classes))
    if unnamed:
        logger.warning("%d of the net's %d classes have no name in %s; they print as their id",
                       unnamed, num_classes, where)
    return labels
