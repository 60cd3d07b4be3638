"""A griffe extension for the API reference: fences slimtorch's doctests.

slimtorch's docstrings show runnable examples as doctests (``>>>`` lines,
run by the test suite) indented inside paragraphs. Markdown reads ``>>>``
as nested block quotes, so the reference pages would show them as quoted
prose; this wraps each doctest run in a ```pycon fence instead. Loaded by
mkdocs.yml (``extensions:`` of the mkdocstrings python handler).
"""

from __future__ import annotations

import re

import griffe

_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")


def fence_doctests(text: str) -> str:
    """``text`` with every run of doctest lines (a ``>>>`` line and what
    follows it up to a blank or less indented line) in a ```pycon fence.

        >>> print(fence_doctests('Adds.\\n\\n    >>> 1 + 1\\n    2\\n'))
        Adds.
        <BLANKLINE>
        ```pycon
        >>> 1 + 1
        2
        ```
        <BLANKLINE>
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not stripped.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(stripped)
        block = []
        while i < len(lines) and lines[i].strip() and \
                len(lines[i]) - len(lines[i].lstrip()) >= indent:
            block.append(lines[i][indent:])
            i += 1
        fence = " " * _fence_indent(out, indent)
        out += [fence + "```pycon", *(fence + b for b in block), fence + "```"]
    return "\n".join(out)


def _fence_indent(before: list, indent: int) -> int:
    """Inside a Google section (``Example:``), the doctest's own indent
    keeps it in the section; in a paragraph, the paragraph's indent."""
    previous = next((line for line in reversed(before) if line.strip()), "")
    if _SECTION.match(previous):
        return indent
    return min(indent, len(previous) - len(previous.lstrip()))


class FenceDoctests(griffe.Extension):
    """Applies :func:`fence_doctests` to every docstring griffe loads."""

    def on_instance(self, **kwargs) -> None:
        obj = kwargs.get("obj")
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and ">>>" in docstring.value:
            docstring.value = fence_doctests(docstring.value)
