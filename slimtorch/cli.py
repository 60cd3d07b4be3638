"""The ``slimtorch`` command.

    slimtorch inspect PATH                      # names, shapes, dtypes of any checkpoint
    slimtorch convert SRC DST.safetensors       # TF / PyTorch -> slimtorch safetensors
    slimtorch convert vgg16.pth DST --net vgg_16 --torchvision
    slimtorch check vgg_16 PATH                 # matched / missing / unexpected / mis-shaped
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _inspect(args) -> str:
    from .checkpoint.tools import inspect_checkpoint
    return inspect_checkpoint(args.path)


def _convert(args) -> str:
    from .checkpoint.tools import convert_checkpoint
    summary = convert_checkpoint(args.src, args.dst, net=args.net, num_classes=args.num_classes,
                                 torchvision=args.torchvision)
    return f"{summary}\nwrote {args.dst}"


def _check(args) -> str:
    from .checkpoint.tools import check_checkpoint
    return check_checkpoint(args.net, args.path, args.num_classes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slimtorch", description="TF-Slim on PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)

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
    try:
        print(args.run(args))
    except (CheckpointError, ValueError, OSError) as error:
        print(f"slimtorch {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
