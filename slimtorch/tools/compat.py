"""Does a checkpoint fit a model? Matched, missing, unexpected and mis-shaped names.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'c.safetensors')
    >>> slim.checkpoint.save_checkpoint(path, {'fc/weights': torch.zeros(4, 3), 'old/w': torch.zeros(1)})
    >>> def fc(x):
    ...     return slim.fully_connected(x, 2, scope='fc')
    >>> with slim.Graph():
    ...     report = compare_checkpoint(slim.Model(fc).build((1, 3)), path)
    >>> print(report.format())
    matched     0
    missing     1  fc/biases [2]
    unexpected  1  old/w [1]
    mis-shaped  1  fc/weights: checkpoint [4, 3] (torch layout), model [2, 3]
"""

from __future__ import annotations

from typing import NamedTuple

from .._layouts import IDENTITY
from ..checkpoint.readers import load_checkpoint
from ..checkpoint.restore import checkpoint_key, model_shape

__all__ = ["CompatibilityReport", "compare_checkpoint", "compare_with_reader"]


class CompatibilityReport(NamedTuple):
    matched: list       # model names found with the right shape
    missing: list       # (model name, model shape) not in the checkpoint
    unexpected: list    # (checkpoint name, shape) no model variable uses
    mismatched: list    # (name, checkpoint shape, model shape)
    layout: str

    def format(self, limit: int = 20) -> str:
        """A readable summary (at most ``limit`` names per group)."""
        lines = [f"matched     {len(self.matched)}"]
        groups = (("missing", [f"{n} {s}" for n, s in self.missing]),
                  ("unexpected", [f"{n} {s}" for n, s in self.unexpected]),
                  ("mis-shaped", [f"{n}: checkpoint {c} ({self.layout} layout), model {m}"
                                  for n, c, m in self.mismatched]))
        for title, items in groups:
            shown = items[:limit] + ([f"... {len(items) - limit} more"] if len(items) > limit else [])
            lines.append(f"{title:11s} {len(items)}" + ("  " + shown[0] if shown else ""))
            lines += [" " * 15 + item for item in shown[1:]]
        return "\n".join(lines)


def compare_checkpoint(model, path) -> CompatibilityReport:
    """Compares a built ``slim.Model`` (or ``{name: variable}``) with checkpoint ``path``."""
    with load_checkpoint(path) as reader:
        return compare_with_reader(model, reader)


def compare_with_reader(model, reader) -> CompatibilityReport:
    """:func:`compare_checkpoint` with an open reader (anything with
    ``get_variable_to_shape_map``, ``has_tensor`` and ``layout``)."""
    if hasattr(model, "records"):
        entries = [(r.name, r.tensor, r.layout) for r in model.records()]
    else:
        entries = [(name, var, IDENTITY) for name, var in dict(model).items()]
    shapes = reader.get_variable_to_shape_map()
    matched, missing, mismatched, used = [], [], [], set()
    for name, var, layout in entries:
        key = checkpoint_key(reader, name)
        if key is None:
            missing.append((name, list(var.shape)))
            continue
        used.add(key)
        file_shape = list(shapes[key])
        if model_shape(file_shape, layout if reader.layout == "tf" else IDENTITY) == list(var.shape):
            matched.append(name)
        else:
            mismatched.append((name, file_shape, list(var.shape)))
    unexpected = [(k, list(s)) for k, s in shapes.items() if k not in used]
    return CompatibilityReport(matched, missing, unexpected, mismatched, reader.layout)
