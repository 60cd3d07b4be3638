"""Prints the docs' table of pretrained weights, made from the registry
(``slimtorch.pretrained.registry.registry_table``), or checks / rewrites a
page's copies: the full table between ``<!-- pretrained-table:start -->``
and ``<!-- pretrained-table:end -->`` (docs/checkpoints.md), the compact one
(``registry_summary``) between ``<!-- pretrained-summary:start -->`` and
``<!-- pretrained-summary:end -->`` (README.md).

    python scripts/pretrained_table.py                                # the markdown table
    python scripts/pretrained_table.py --check docs/checkpoints.md    # exit 1 when its copy is stale
    python scripts/pretrained_table.py --write docs/checkpoints.md    # replace its copy

Nothing is downloaded: sizes come from the nets built on the meta device.
"""

from __future__ import annotations

import argparse
import sys

from slimtorch._io.atomic import atomic_write
from slimtorch.pretrained.registry import registry_summary, registry_table

START = "<!-- pretrained-table:start -->"
END = "<!-- pretrained-table:end -->"
SUMMARY_START = "<!-- pretrained-summary:start -->"
SUMMARY_END = "<!-- pretrained-summary:end -->"


def readme_block(text: str, path: str = "README.md", start: str = START, end: str = END) -> tuple:
    """``(before, block, after)``: ``text`` split around the markers' block.

    Raises:
        ValueError: when the markers are missing, repeated or out of order.
    """
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"{path} needs one '{start}' line and, after it, one '{end}' line "
                         f"around the pretrained-weights table")
    head, rest = text.split(start, 1)
    block, tail = rest.split(end, 1)
    return head + start, block, end + tail


def _tables(text: str) -> list:
    """``[(start, end, make_table)]`` for the blocks ``text`` has (the full
    table's markers are required when it has neither)."""
    kinds = [(START, END, lambda: registry_table()),
             (SUMMARY_START, SUMMARY_END, lambda: registry_summary())]
    present = [kind for kind in kinds if kind[0] in text or kind[1] in text]
    return present or kinds[:1]


def check(path: str, table=None) -> bool:
    """True when each of ``path``'s blocks holds its table (blank lines aside)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for start, end, make in _tables(text):
        _, block, _ = readme_block(text, path, start, end)
        if block.strip() != (table if table is not None and start == START else make()).strip():
            return False
    return True


def write(path: str, table=None) -> None:
    """Replaces each of ``path``'s blocks with its table (atomically)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for start, end, make in _tables(text):
        head, _, tail = readme_block(text, path, start, end)
        text = f"{head}\n{table if table is not None and start == START else make()}\n{tail}"
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="PAGE", help="exit 1 when the page's tables differ")
    group.add_argument("--write", metavar="PAGE", help="replace the page's tables")
    args = parser.parse_args(argv)
    try:
        if args.check:
            if not check(args.check, registry_table()):
                print(f"{args.check}: the pretrained-weights table is stale; regenerate it with "
                      f"python scripts/pretrained_table.py --write {args.check}", file=sys.stderr)
                return 1
            print(f"{args.check}: the pretrained-weights table is up to date")
        elif args.write:
            write(args.write, registry_table())
            print(f"{args.write}: pretrained-weights table written")
        else:
            print(registry_table())
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
