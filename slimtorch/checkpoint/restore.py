"""Partial restore: TF-Slim's ``assign_from_checkpoint`` / ``_fn``, eager.

One path for every checkpoint format :func:`load_checkpoint` reads. Names are
matched first (a variable's own name, or the ``{name_in_checkpoint: variable}``
renaming idiom), shapes are checked in the variable's torch layout (TF files
are converted with the variable's layout: conv HWIO -> OIHW, dense, depthwise,
transposed conv), and only when *every* pair checks out is anything assigned.

    >>> import tempfile, os
    >>> def fc(x):
    ...     return slim.fully_connected(x, 2, scope='fc')
    >>> with slim.Graph():
    ...     net = slim.Model(fc).build((1, 3))
    ...     path = os.path.join(tempfile.mkdtemp(), 'm.safetensors')
    ...     slim.checkpoint.save_checkpoint(path, {'fc/weights': torch.ones(2, 3),
    ...                                            'fc/biases': torch.zeros(2)})
    ...     init_fn = slim.assign_from_checkpoint_fn(path, slim.get_model_variables())
    ...     report = init_fn()
    >>> report.assigned, float(net.fc.weights.detach().sum())
    (['fc/weights', 'fc/biases'], 6.0)
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping, NamedTuple, Optional

import torch

from .._layouts import IDENTITY
from ..graph import get_default_graph
from ..model import slim_name_to_state_dict_key
from .errors import CheckpointError
from .readers import load_checkpoint

__all__ = ["RestoreReport", "assign_from_checkpoint", "assign_from_checkpoint_fn", "checkpoint_key",
           "model_shape"]

logger = logging.getLogger(__name__)


class RestoreReport(NamedTuple):
    """What a restore did: checkpoint names assigned, missing and skipped."""

    assigned: list
    missing: list            # names not in the checkpoint (ignore_missing_vars=True)
    skipped: list            # (name, checkpoint shape, model shape) with mismatched shapes skipped


def _pairs(var_list, caller: str = "assign_from_checkpoint") -> list:
    """``[(name in checkpoint, variable)]`` from a list or a rename dict."""
    if isinstance(var_list, Mapping):
        pairs = []
        for name, value in var_list.items():
            for var in (value if isinstance(value, (list, tuple)) else [value]):
                pairs.append((name, var))
    elif isinstance(var_list, torch.nn.Module):
        pairs = list(var_list.named_variables().items()) if hasattr(var_list, "named_variables") \
            else list(var_list.state_dict(keep_vars=True).items())
    else:
        pairs = []
        for var in var_list or ():
            name = getattr(var, "name", None)
            if not isinstance(name, str):
                raise TypeError("assign_from_checkpoint: var_list items must be slim variables "
                                "(with .name); use a {name_in_checkpoint: tensor} dict for others")
            pairs.append((name, var))
    if not pairs:
        unbuilt = isinstance(var_list, torch.nn.Module) and getattr(var_list, "built", True) is False
        if unbuilt or not get_default_graph().records():
            # the usual cause: TF-Slim code that lists the variables before the first call
            raise ValueError(f"{caller}: no variables yet: build the model first (call it once, "
                             "or `Model.build(shape)`)")
        raise ValueError(f"{caller}: var_list is empty; nothing to restore")
    return pairs


def _layout_of(var, model_layouts: Mapping):
    """The TF <-> torch layout of ``var``: from the model being restored
    (whatever graph built it), else from the default graph's record."""
    if id(var) in model_layouts:
        return model_layouts[id(var)]
    name = getattr(var, "name", None)
    record = get_default_graph().record(name) if isinstance(name, str) else None
    return record.layout if record is not None and record.tensor is var else IDENTITY


def _model_layouts(var_list) -> dict:
    """``{id(tensor): layout}`` of a ``slim.Model``'s variables (its records
    outlive the graph it was built in); empty for anything else."""
    records = getattr(var_list, "records", None)
    if not isinstance(var_list, torch.nn.Module) or not callable(records):
        return {}
    return {id(record.tensor): record.layout for record in records()}


def checkpoint_key(reader, name: str) -> Optional[str]:
    """The key under which ``reader`` holds the variable named ``name``, or
    None: ``name`` itself, or for PyTorch files its state-dict key, with or
    without DDP's ``module.`` prefix. Restore matches names this way, and so
    does :func:`slimtorch.tools.compare_checkpoint`.

        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), 'm.pt')
        >>> torch.save({'module.fc.weights': torch.zeros(2, 3)}, path)
        >>> with load_checkpoint(path) as reader:
        ...     checkpoint_key(reader, 'fc/weights'), checkpoint_key(reader, 'fc/biases')
        ('module.fc.weights', None)
    """
    candidates = [name]
    if reader.layout == "torch" and "/" in name:
        key = slim_name_to_state_dict_key(name)
        candidates += [key, "module." + key]
    candidates.append("module." + name)
    return next((c for c in candidates if reader.has_tensor(c)), None)


def model_shape(file_shape, layout) -> list:
    """The torch shape a checkpoint shape becomes under ``layout`` (the file's
    own shape if the layout does not apply to it)."""
    try:
        return list(layout.torch_shape(file_shape))
    except ValueError:
        return list(file_shape)


def _read(reader, key: str) -> torch.Tensor:
    if hasattr(reader, "get_torch_tensor"):
        return reader.get_torch_tensor(key)
    return torch.from_numpy(reader.get_tensor(key))


def assign_from_checkpoint(model_path, var_list, ignore_missing_vars: bool = False,
                           reshape_variables: bool = False,
                           skip_mismatched_shapes: bool = False) -> RestoreReport:
    """Assigns checkpoint values to ``var_list`` in place, now.

    Args:
        model_path: a checkpoint file, a TF checkpoint prefix, or a directory
            (its latest checkpoint): slimtorch safetensors, TF V1/V2, or a
            PyTorch state dict.
        var_list: a list of slim variables (checkpoint name = variable name),
            a dict ``{name_in_checkpoint: variable}`` (or list of variables),
            or a ``slim.Model``.
        ignore_missing_vars: skip (and report) names absent from the checkpoint.
        reshape_variables: allow a shape difference when the element counts match.
        skip_mismatched_shapes: skip (and report) shape mismatches instead of failing.

    Returns:
        a :class:`RestoreReport`.

    Raises:
        CheckpointError: listing every missing name and every shape mismatch
            (name, checkpoint shape, model shape); nothing is assigned then.
        ValueError: ``var_list`` is empty, or no model is built yet.
    """
    pairs = _pairs(var_list)
    model_layouts = _model_layouts(var_list)
    reader = load_checkpoint(model_path)
    try:
        shapes = reader.get_variable_to_shape_map()
        plan, missing, mismatched = [], [], []
        for name, var in pairs:
            key = checkpoint_key(reader, name)
            if key is None:
                missing.append(name)
                continue
            layout = _layout_of(var, model_layouts) if reader.layout == "tf" else IDENTITY
            file_shape = list(shapes[key])
            if model_shape(file_shape, layout) == list(var.shape):
                plan.append((name, key, var, layout, False))
            elif reshape_variables and _numel(file_shape) == var.numel():
                plan.append((name, key, var, layout, True))
            else:
                mismatched.append((name, file_shape, list(var.shape)))
        problems = []
        if missing and not ignore_missing_vars:
            problems += [f"  {n}: not found in the checkpoint" for n in missing]
        if mismatched and not skip_mismatched_shapes:
            problems += [f"  {n}: checkpoint shape {c} ({reader.layout} layout), model shape {m}"
                         for n, c, m in mismatched]
        if problems:
            raise CheckpointError(
                f"cannot restore from {getattr(reader, 'path', model_path)} "
                f"({len(problems)} problem{'s' * (len(problems) > 1)}; nothing was assigned):\n"
                + "\n".join(problems)
                + "\n(ignore_missing_vars=True skips missing names; skip_mismatched_shapes=True "
                  "skips mismatched shapes; exclude scopes with get_variables_to_restore(exclude=...))")
        with torch.no_grad():
            for _name, key, var, layout, reshape in plan:
                value = layout.to_torch(_read(reader, key))
                var.copy_(value.reshape(var.shape) if reshape else value)
    finally:
        reader.close()
    for name in missing:
        logger.warning("assign_from_checkpoint: %s not in %s; skipped", name, model_path)
    for name, file_shape, shape in mismatched:
        logger.warning("assign_from_checkpoint: %s has shape %s in %s, model %s; skipped",
                       name, file_shape, model_path, shape)
    return RestoreReport([p[0] for p in plan], missing, mismatched)


def _numel(shape) -> int:
    count = 1
    for d in shape:
        count *= int(d)
    return count


def assign_from_checkpoint_fn(model_path, var_list, ignore_missing_vars: bool = False,
                              reshape_variables: bool = False,
                              skip_mismatched_shapes: bool = False) -> Callable[..., RestoreReport]:
    """TF-Slim's ``assign_from_checkpoint_fn``: returns ``init_fn()`` that runs
    :func:`assign_from_checkpoint` with these arguments when called (the file
    is read then, not now). ``init_fn`` accepts and ignores one positional
    argument, so TF-Slim's ``init_fn(sess)`` call style works too.

    Raises:
        ValueError: ``var_list`` is empty (checked now, as TF-Slim does), or
            no model is built yet.

            >>> with slim.Graph():
            ...     net = slim.Model(lambda x: slim.fully_connected(x, 2, scope='fc'))
            ...     slim.assign_from_checkpoint_fn('model.ckpt', net)
            Traceback (most recent call last):
            ...
            ValueError: assign_from_checkpoint_fn: no variables yet: build the model first (call
            it once, or `Model.build(shape)`)
    """
    _pairs(var_list, "assign_from_checkpoint_fn")

    def init_fn(_session=None) -> RestoreReport:
        return assign_from_checkpoint(model_path, var_list, ignore_missing_vars,
                                      reshape_variables, skip_mismatched_shapes)
    return init_fn
