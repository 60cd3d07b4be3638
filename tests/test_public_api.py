"""The public API is a reviewed contract: a golden list of every public name.

A module is public unless a part of its dotted path starts with ``_``
(``slimtorch/_io/``, ``checkpoint/_sstable.py``). Every public module declares
``__all__``; every function and class it defines without a leading underscore
is in its ``__all__`` (so nothing is public by accident); and the union is
``tests/golden/public_api.txt``. A change to the API changes that file, so it
shows in review. After a deliberate change, rewrite it with::

    python tests/test_public_api.py
"""

import ast
import difflib
import importlib
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "slimtorch"
GOLDEN = pathlib.Path(__file__).resolve().parent / "golden" / "public_api.txt"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def public_modules() -> list[str]:
    names = (_module_name(p) for p in ROOT.rglob("*.py"))
    return sorted(n for n in names
                  if not any(part.startswith("_") for part in n.split(".")[1:]))


def api_lines() -> list[str]:
    """``module: name`` for every name in every public module's ``__all__``."""
    lines = []
    for name in public_modules():
        module = importlib.import_module(name)
        lines += [f"{name}: {item}" for item in sorted(module.__all__)]
    return lines


@pytest.mark.parametrize("name", public_modules())
def test_every_public_module_declares_all_and_it_resolves(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__: declare it or make the module private"
    missing = [item for item in module.__all__ if not hasattr(module, item)]
    assert missing == [], f"{name}.__all__ names what it does not define"
    assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ has duplicates"


@pytest.mark.parametrize("name", public_modules())
def test_every_public_definition_is_exported(name):
    """A def or class without a leading underscore is API: export it or rename it."""
    module = importlib.import_module(name)
    path = pathlib.Path(module.__file__)
    tree = ast.parse(path.read_text())
    defined = [node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               and not node.name.startswith("_")]
    assert sorted(set(defined) - set(module.__all__)) == []


def test_the_api_matches_the_golden_list():
    expected = GOLDEN.read_text().splitlines()
    actual = api_lines()
    diff = "\n".join(difflib.unified_diff(expected, actual, "golden", "now", lineterm=""))
    assert actual == expected, (
        "the public API changed; if that is deliberate, run `python tests/test_public_api.py` "
        f"and commit tests/golden/public_api.txt:\n{diff}")


if __name__ == "__main__":
    GOLDEN.write_text("\n".join(api_lines()) + "\n")
    print(f"wrote {GOLDEN} ({len(api_lines())} names)", file=sys.stderr)
