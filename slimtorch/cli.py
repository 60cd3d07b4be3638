"""The ``slimtorch`` command.

    slimtorch train                             # LeNet on the embedded digits, 1000 steps
    slimtorch train --model_name=vgg_16 --dataset_name=flowers --dataset_dir=DIR ...
    slimtorch eval --checkpoint_path=/tmp/tfmodel/   # accuracy and recall@5
    slimtorch inspect PATH                      # names, shapes, dtypes of any checkpoint
    slimtorch convert SRC DST.safetensors       # TF / PyTorch -> slimtorch safetensors
    slimtorch convert vgg16.pth DST --net vgg_16 --torchvision
    slimtorch check vgg_16 PATH                 # matched / missing / unexpected / mis-shaped
"""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["build_parser", "main"]


def _inspect(args) -> str:
    from .tools import inspect_checkpoint
    return inspect_checkpoint(args.path)


def _convert(args) -> str:
    from .tools import convert_checkpoint
    summary = convert_checkpoint(args.src, args.dst, net=args.net, num_classes=args.num_classes,
                                 torchvision=args.torchvision)
    return f"{summary}\nwrote {args.dst}"


def _check(args) -> str:
    from .tools import check_checkpoint
    return check_checkpoint(args.net, args.path, args.num_classes)


def _train(args) -> str:
    from .classifier import train
    loss = train.main(args)
    return f"trained to global step {args.max_number_of_steps} in {args.train_dir}" + (
        f" (last loss {loss:.4f})" if loss is not None else "")


def _eval(args) -> str:
    from .classifier import evaluate
    evaluate.main(args)   # prints eval/<name>: value itself
    return ""


def build_parser() -> argparse.ArgumentParser:
    from .classifier.flags import add_eval_flags, add_train_flags

    parser = argparse.ArgumentParser(prog="slimtorch", description="TF-Slim on PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train an image classifier (research/slim's train_image_classifier)",
        description="Train a zoo net on a dataset with research/slim's flags; with no flags, "
                    "LeNet on the embedded digits for 1000 steps into /tmp/tfmodel/.")
    add_train_flags(train)
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "eval", help="evaluate checkpoints (research/slim's eval_image_classifier)",
        description="Accuracy and recall@5 of a checkpoint on a dataset split.")
    add_eval_flags(evaluate)
    evaluate.set_defaults(run=_eval)

    inspect = commands.add_parser("inspect", help="list a checkpoint's tensors")
    inspect.add_argument("path", help="checkpoint file, TF prefix or directory")
    inspect.set_defaults(run=_inspect)

    convert = commands.add_parser("convert", help="convert a checkpoint to slimtorch safetensors")
    convert.add_argument("src", help="TF V1/V2, PyTorch or safetensors checkpoint")
    convert.add_argument("dst", help="output .safetensors file")
    convert.add_argument("--net", help="zoo net to check against and convert layouts for")
    convert.add_argument("--num-classes", type=int, help="the net's classes (default: from SRC)")
    convert.add_argument("--torchvision", action="store_true",
                         help="SRC is a torchvision state dict: map its names onto --net")
    convert.set_defaults(run=_convert)

    check = commands.add_parser("check", help="compare a checkpoint with a zoo net")
    check.add_argument("net", help="zoo net name (e.g. vgg_16)")
    check.add_argument("path", help="checkpoint")
    check.add_argument("--num-classes", type=int, help="the net's classes (default: from PATH)")
    check.set_defaults(run=_check)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .checkpoint.errors import CheckpointError
    if args.command in ("train", "eval"):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = args.run(args)
        if out:
            print(out)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"slimtorch {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
