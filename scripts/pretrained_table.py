"""Prints the docs' table of pretrained weights, made from the registry
(``slimtorch.pretrained.registry.registry_table``), or checks / rewrites a
page's copy (docs/checkpoints.md): the block between
``<!-- pretrained-table:start -->`` and ``<!-- pretrained-table:end -->``.

    python scripts/pretrained_table.py                                # the markdown table
    python scripts/pretrained_table.py --check docs/checkpoints.md    # exit 1 when its copy is stale
    python scripts/pretrained_table.py --write docs/checkpoints.md    # replace its copy

Nothing is downloaded: sizes come from the nets built on the meta device.
"""

from __future__ import annotations

import argparse
import sys

from slimtorch._io.atomic import atomic_write
from slimtorch.pretrained.registry import registry_table

START = "<!-- pretrained-table:start -->"
END = "<!-- pretrained-table:end -->"


def readme_block(text: str, path: str = "README.md") -> tuple:
    """``(before, block, after)``: ``text`` split around the markers' block.

    Raises:
        ValueError: when the markers are missing, repeated or out of order.
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{path} needs one '{START}' line and, after it, one '{END}' line "
                         f"around the pretrained-weights table")
    head, rest = text.split(START, 1)
    block, tail = rest.split(END, 1)
    return head + START, block, END + tail


def check(path: str, table: str) -> bool:
    """True when ``path``'s block holds ``table`` (surrounding blank lines aside)."""
    with open(path, encoding="utf-8") as f:
        _, block, _ = readme_block(f.read(), path)
    return block.strip() == table.strip()


def write(path: str, table: str) -> None:
    """Replaces ``path``'s block with ``table`` (atomically)."""
    with open(path, encoding="utf-8") as f:
        head, _, tail = readme_block(f.read(), path)
    with atomic_write(path) as f:
        f.write(f"{head}\n{table}\n{tail}".encode("utf-8"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="PAGE", help="exit 1 when the page's table differs")
    group.add_argument("--write", metavar="PAGE", help="replace the page's table")
    args = parser.parse_args(argv)
    table = registry_table()
    try:
        if args.check:
            if not check(args.check, table):
                print(f"{args.check}: the pretrained-weights table is stale; regenerate it with "
                      f"python scripts/pretrained_table.py --write {args.check}", file=sys.stderr)
                return 1
            print(f"{args.check}: the pretrained-weights table is up to date")
        elif args.write:
            write(args.write, table)
            print(f"{args.write}: pretrained-weights table written")
        else:
            print(table)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
