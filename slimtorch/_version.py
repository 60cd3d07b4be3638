"""The installed slimtorch version, read once from the package metadata.

``pyproject.toml`` is the one place the version is written; a source tree that
was never installed (no metadata) reports ``0+unknown``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("slimtorch")
except PackageNotFoundError:  # pragma: no cover - only in an uninstalled checkout
    __version__ = "0+unknown"
