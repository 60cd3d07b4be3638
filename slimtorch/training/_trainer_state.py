"""A trainer's state, saved beside each checkpoint's weights and restored on
resume: :class:`TrainerState`, and its file format, ``{name: tensor}`` plus
``{str: str}`` metadata: what a safetensors companion file can hold, so that
resuming never unpickles.

What is saved, and under which names:

* optimizer state: ``optimizer/<slim variable name>/<state key>`` (e.g.
  ``optimizer/fc1/weights/m``), keyed by the variable's *name*, not by its
  position, so a rebuilt model (other creation or parameter order) resumes
  correctly. Non-tensor state values and every ``param_groups``
  hyper-parameter go to JSON metadata (tensor hyper-parameters, such as a
  tensor ``lr``, to ``optimizer_groups/<i>/<key>``);
* random number generators: ``rng/torch``, ``rng/cuda/<i>`` (only if CUDA was
  initialized), ``rng/numpy`` and ``rng/python`` (their generator keys) with
  the rest of their state in metadata;
* a ``torch.amp.GradScaler``'s state (JSON);
* ``extra``: anything small the trainer wants back (global step, data
  position, ...): JSON values, or tensors stored as ``extra/<key>``.

The format by hand (:class:`TrainerState` does this for a train op):

    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> opt = torch.optim.Adam([w], lr=0.1)
    >>> w.grad = torch.ones(2); opt.step()
    >>> tensors, meta = flatten_trainer_state(opt, {'fc/weights': w}, {'global_step': 1}, rng=False)
    >>> sorted(tensors)
    ['optimizer/fc/weights/exp_avg', 'optimizer/fc/weights/exp_avg_sq', 'optimizer/fc/weights/step']
    >>> opt2 = torch.optim.Adam([w], lr=0.5)
    >>> restore_trainer_state(opt2, {'fc/weights': w}, tensors, meta)
    {'global_step': 1}
    >>> opt2.param_groups[0]['lr'], torch.equal(opt2.state[w]['exp_avg'], opt.state[w]['exp_avg'])
    (0.1, True)

The tensors returned are the optimizer's live state (no copy): write them
before the next step (``CheckpointManager.save`` copies them to CPU).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import warnings
from typing import Any, Mapping, Optional

import numpy as np
import torch

from ..checkpoint import load_checkpoint, trainer_state_path

__all__ = ["TRAINER_STATE_VERSION", "TrainerState", "flatten_trainer_state",
           "restore_trainer_state"]

TRAINER_STATE_VERSION = "1"
_META = "trainer_state/"  # every metadata key this module writes starts with this
_OPT, _GROUPS, _RNG, _EXTRA = "optimizer/", "optimizer_groups/", "rng/", "extra/"


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"flatten_trainer_state: {what} is not JSON-serializable ({error}); "
                        "use tensors, numbers, strings, lists or dicts") from None


def _parameter_names(optimizer, named_params: Mapping[str, torch.Tensor]) -> list:
    """Names of the optimizer's parameters, in ``state_dict()`` index order."""
    by_id = {id(p): name for name, p in named_params.items()}
    names, unnamed = [], 0
    for group in optimizer.param_groups:
        for p in group["params"]:
            name = by_id.get(id(p))
            unnamed += name is None
            names.append(name)
    if unnamed:
        raise ValueError(f"{unnamed} of the optimizer's parameters are not in named_params; "
                         "pass every parameter it updates, e.g. model.named_variables()")
    return names


def flatten_trainer_state(optimizer: Optional[torch.optim.Optimizer],
                          named_params: Mapping[str, torch.Tensor],
                          extra: Optional[Mapping[str, Any]] = None, *,
                          scaler=None, rng: bool = True) -> tuple:
    """Flattens optimizer, RNG, scaler and ``extra`` state for safetensors.

    Args:
        optimizer: any ``torch.optim.Optimizer`` (None: no optimizer state).
        named_params: ``{slim name: parameter}`` covering every parameter the
            optimizer holds (extra entries, such as buffers, are ignored).
        extra: small trainer state: JSON-serializable values or tensors.
        scaler: a ``torch.amp.GradScaler`` (its state is a few numbers).
        rng: save the torch, CUDA (if initialized), NumPy and Python generators.

    Returns:
        ``(tensors, metadata)``: ``{name: tensor}`` and ``{str: str}``.

    Raises:
        ValueError: a parameter of the optimizer is missing from ``named_params``.
        TypeError: a value that is neither a tensor nor JSON-serializable.
    """
    tensors: dict = {}
    meta = {_META + "version": TRAINER_STATE_VERSION}
    if optimizer is not None:
        names = _parameter_names(optimizer, named_params)
        state_dict = optimizer.state_dict()
        scalars: dict = {}
        for index, state in state_dict["state"].items():
            name = names[index]
            for key, value in state.items():
                if "/" in str(key):
                    raise ValueError(f"optimizer state key {key!r} contains '/'")
                if isinstance(value, torch.Tensor):
                    tensors[f"{_OPT}{name}/{key}"] = value.detach()
                else:
                    scalars.setdefault(name, {})[key] = value
        groups, position = [], 0
        for i, group in enumerate(state_dict["param_groups"]):
            entry = {}
            for key, value in group.items():
                if key == "params":
                    entry[key] = names[position:position + len(value)]
                    position += len(value)
                elif isinstance(value, torch.Tensor):
                    tensors[f"{_GROUPS}{i}/{key}"] = value.detach()
                    entry[key] = {"__tensor__": f"{_GROUPS}{i}/{key}"}
                else:
                    entry[key] = value
            groups.append(entry)
        meta[_META + "optimizer"] = _dumps({"class": type(optimizer).__name__,
                                            "param_groups": groups, "scalar_state": scalars},
                                           "optimizer state")
    if rng:
        meta[_META + "rng"] = _dumps(_rng_state(tensors), "RNG state")
    if scaler is not None:
        meta[_META + "scaler"] = _dumps(scaler.state_dict(), "GradScaler state")
    json_extra = {}
    for key, value in (extra or {}).items():
        if isinstance(value, torch.Tensor):
            tensors[_EXTRA + str(key)] = value.detach()
        else:
            json_extra[str(key)] = value
    meta[_META + "extra"] = _dumps(json_extra, "extra")
    return tensors, meta


def _rng_state(tensors: dict) -> dict:
    tensors[_RNG + "torch"] = torch.get_rng_state()
    # Only if CUDA is already in use: querying it would create a CUDA context.
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    if cuda:
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"{_RNG}cuda/{i}"] = state
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors[_RNG + "numpy"] = torch.from_numpy(keys.astype(np.int64))
    version, internal, gauss_next = random.getstate()
    tensors[_RNG + "python"] = torch.tensor(internal, dtype=torch.int64)
    return {"cuda_devices": torch.cuda.device_count() if cuda else 0,
            "numpy": [kind, int(pos), int(has_gauss), float(cached)],
            "python": [version, gauss_next]}


def _get(tensors, name: str) -> Optional[torch.Tensor]:
    if hasattr(tensors, "get_torch_tensor"):  # a checkpoint reader (load_checkpoint)
        return tensors.get_torch_tensor(name) if tensors.has_tensor(name) else None
    value = tensors.get(name)
    # A copy: restoring from live tensors (another optimizer's) must not share them.
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _names(tensors) -> list:
    if hasattr(tensors, "get_variable_to_shape_map"):
        return list(tensors.get_variable_to_shape_map())
    return list(tensors)


def restore_trainer_state(optimizer: Optional[torch.optim.Optimizer],
                          named_params: Mapping[str, torch.Tensor], tensors,
                          metadata: Optional[Mapping[str, str]] = None, *,
                          scaler=None, rng: bool = True, strict: bool = True) -> dict:
    """Restores what :func:`flatten_trainer_state` saved; returns ``extra``.

    Optimizer state is matched to parameters by name through ``named_params``,
    so the new optimizer may list them in another order; its parameter groups
    must hold the same names as the saved ones. Saved hyper-parameters replace
    the optimizer's (as ``Optimizer.load_state_dict`` does).

    Args:
        optimizer: the freshly built optimizer (None: skip optimizer state).
        named_params: ``{slim name: parameter}`` of the rebuilt model.
        tensors: ``{name: tensor}``, or a reader from ``slim.checkpoint.load_checkpoint``.
        metadata: the ``{str: str}`` metadata; defaults to ``tensors.metadata``
            when ``tensors`` is a reader.
        scaler: a ``GradScaler`` to restore (if its state was saved).
        rng: restore the random generators that were saved.
        strict: raise if a parameter group's names differ from the saved ones;
            otherwise parameters without saved state start fresh.

    Raises:
        ValueError: no trainer state in ``metadata``, another optimizer class,
            or (``strict``) different parameters.
    """
    metadata = dict(metadata if metadata is not None else getattr(tensors, "metadata", {}) or {})
    if metadata.get(_META + "version") != TRAINER_STATE_VERSION:
        raise ValueError("no slimtorch trainer state (version "
                         f"{TRAINER_STATE_VERSION}) in this metadata")
    if optimizer is not None and _META + "optimizer" in metadata:
        _restore_optimizer(optimizer, named_params, tensors,
                           json.loads(metadata[_META + "optimizer"]), strict)
    if rng and _META + "rng" in metadata:
        _restore_rng(tensors, json.loads(metadata[_META + "rng"]))
    if scaler is not None and _META + "scaler" in metadata:
        scaler.load_state_dict(json.loads(metadata[_META + "scaler"]))
    extra = json.loads(metadata.get(_META + "extra", "{}"))
    for name in _names(tensors):
        if name.startswith(_EXTRA):
            extra[name[len(_EXTRA):]] = _get(tensors, name)
    return extra


def _restore_optimizer(optimizer, named_params, tensors, saved: dict, strict: bool) -> None:
    if saved["class"] != type(optimizer).__name__:
        raise ValueError(f"the saved optimizer state is {saved['class']}'s, "
                         f"not {type(optimizer).__name__}'s")
    names = _parameter_names(optimizer, named_params)
    current = optimizer.param_groups
    if len(saved["param_groups"]) != len(current):
        raise ValueError(f"{len(saved['param_groups'])} saved parameter groups, "
                         f"the optimizer has {len(current)}")
    groups, position = [], 0
    for i, (entry, group) in enumerate(zip(saved["param_groups"], current)):
        own = names[position:position + len(group["params"])]
        if strict and set(entry["params"]) != set(own):
            missing, new = set(entry["params"]) - set(own), set(own) - set(entry["params"])
            raise ValueError(f"parameter group {i} differs from the saved one: saved but absent "
                             f"{sorted(missing)[:5]}, new {sorted(new)[:5]} (resume with the "
                             f"variables_to_train / --trainable_scopes the run was started with)")
        restored = {"params": list(range(position, position + len(own)))}
        for key, value in entry.items():
            if key == "params":
                continue
            if isinstance(value, dict) and "__tensor__" in value:
                value = _get(tensors, value["__tensor__"])
            elif isinstance(value, list) and isinstance(group.get(key), tuple):
                value = tuple(value)  # JSON has no tuples (Adam's betas)
            restored[key] = value
        groups.append(restored)
        position += len(own)
    state: dict = {}
    prefixes = {f"{_OPT}{name}/": index for index, name in enumerate(names)}
    for tensor_name in _names(tensors):
        if not tensor_name.startswith(_OPT):
            continue
        name, key = tensor_name[len(_OPT):].rsplit("/", 1)
        index = prefixes.get(f"{_OPT}{name}/")
        if index is not None:
            state.setdefault(index, {})[key] = _get(tensors, tensor_name)
    for name, values in saved["scalar_state"].items():
        index = prefixes.get(f"{_OPT}{name}/")
        if index is not None:
            state.setdefault(index, {}).update(values)
    # load_state_dict casts floating state to each parameter's dtype and device.
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _restore_rng(tensors, saved: dict) -> None:
    torch_state = _get(tensors, _RNG + "torch")
    if torch_state is not None:
        torch.set_rng_state(torch_state.to(torch.uint8))
    cuda = [_get(tensors, f"{_RNG}cuda/{i}") for i in range(saved.get("cuda_devices", 0))]
    if cuda:
        if torch.cuda.is_available() and torch.cuda.device_count() >= len(cuda):
            for i, state in enumerate(cuda):
                torch.cuda.set_rng_state(state.to(torch.uint8), i)
        else:
            warnings.warn(f"trainer state has {len(cuda)} CUDA generator states but "
                          f"{torch.cuda.device_count()} CUDA devices are visible; "
                          "CUDA generators not restored", stacklevel=3)
    keys = _get(tensors, _RNG + "numpy")
    if keys is not None and "numpy" in saved:
        kind, pos, has_gauss, cached = saved["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    internal = _get(tensors, _RNG + "python")
    if internal is not None and "python" in saved:
        version, gauss_next = saved["python"]
        random.setstate((version, tuple(int(x) for x in internal.tolist()), gauss_next))


class TrainerState:
    """What ``slim.learning.train`` keeps of a run beside its weights (the
    optimizer and gradient-scaler state, the random generators, the steps
    skipped for a non-finite loss, and ``extra``: the data position), as one
    object: captured from a train op and saved with the weights, read back
    from a checkpoint and restored into a rebuilt train op.

    The companion file is read once, by :meth:`load`. What the trainer needs
    before its models exist (:attr:`extra`, :attr:`torch_rng`: where the data
    stream resumes) is looked at without restoring anything; :meth:`restore`
    applies the rest once the train op is built.

        >>> import tempfile
        >>> net = slim.Model(lambda x: slim.fully_connected(x, 1, scope='fc'))
        >>> def loss_fn(batch):
        ...     slim.losses.add_loss(net(batch).pow(2).mean())
        >>> train_op = slim.learning.create_train_op(loss_fn, lambda p: torch.optim.Adam(p, lr=0.1))
        >>> _ = train_op(torch.ones(4, 3))
        >>> manager = slim.checkpoint.CheckpointManager(tempfile.mkdtemp())
        >>> state = TrainerState.capture(train_op, {'data_position': 1})
        >>> path = state.save(manager, net.named_variables(), global_step=1)
        >>> resumed = TrainerState.load(path)
        >>> resumed.extra
        {'data_position': 1, 'skipped_steps': 0}
        >>> fresh = slim.learning.create_train_op(loss_fn, lambda p: torch.optim.Adam(p, lr=0.5))
        >>> _ = fresh.build(torch.ones(4, 3))
        >>> _ = resumed.restore(fresh)
        >>> fresh.optimizer.param_groups[0]['lr']
        0.1

    Args:
        tensors, metadata: the format (:func:`flatten_trainer_state`'s result).
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> None:
        self.tensors = dict(tensors)
        self.metadata = dict(metadata)

    @classmethod
    def capture(cls, train_op, extra: Optional[Mapping[str, Any]] = None) -> "TrainerState":
        """``train_op``'s state now (a built ``TrainOp``: its optimizer, the
        variables it trains, its scaler and skipped-step count), every random
        generator, and ``extra``. The tensors are live state, not copies:
        save before the next step."""
        named = {v.name: v for v in train_op.variables_to_train}
        extra = dict(extra or {}, skipped_steps=train_op.skipped_steps)
        return cls(*flatten_trainer_state(train_op.optimizer, named, extra,
                                          scaler=train_op.scaler))

    def save(self, manager, weights: Mapping[str, torch.Tensor], global_step: int) -> str:
        """Writes ``weights`` with this state as their companion, checkpoint
        ``global_step`` of ``manager`` (a ``slim.checkpoint.CheckpointManager``,
        which commits the companion first: a checkpoint it names always has
        its state); returns the weights file's path.

        Raises:
            OSError: see ``CheckpointManager.save``.
        """
        return manager.save(weights, global_step, trainer_state=self.tensors,
                            trainer_metadata=self.metadata)

    @classmethod
    def load(cls, checkpoint_path: str) -> Optional["TrainerState"]:
        """The state saved with the weights file ``checkpoint_path`` (in its
        companion, ``slim.checkpoint.trainer_state_path(checkpoint_path)``),
        read in one pass; None if the checkpoint has none.

        Raises:
            ValueError: the companion holds no slimtorch trainer state.
        """
        companion = trainer_state_path(checkpoint_path)
        if not os.path.exists(companion):
            return None
        with load_checkpoint(companion) as reader:
            tensors = {k: reader.get_torch_tensor(k) for k in reader.get_variable_to_shape_map()}
            metadata = dict(reader.metadata)
        state = cls(tensors, metadata)
        _ = state.extra   # a foreign file fails here, before any model is built
        return state

    @functools.cached_property
    def extra(self) -> dict:
        """The saved ``extra`` (data position, ``skipped_steps``, ...),
        looked at without restoring anything."""
        return restore_trainer_state(None, {}, self.tensors, self.metadata, rng=False)

    @property
    def torch_rng(self) -> Optional[torch.Tensor]:
        """The saved state of torch's generator (None if none was saved),
        without setting it: the resumed data stream starts its epoch from it."""
        state = self.tensors.get(_RNG + "torch")
        return state.to(torch.uint8) if state is not None else None

    def restore(self, train_op) -> dict:
        """Restores ``train_op``'s optimizer (matched by variable name; build
        the train op first), gradient scaler and skipped-step count, and
        every saved random generator; returns :attr:`extra`.

        If the variables to train differ from the saved run's (TF-Slim's
        "train the weights, then the biases, then both" in one directory),
        the optimizer state of the variables in both is restored, the others
        start fresh, and a warning says so: TF's Supervisor restores what it
        finds too.

        Raises:
            ValueError: another optimizer class.
        """
        named = {v.name: v for v in train_op.variables_to_train}
        saved = json.loads(self.metadata.get(_META + "optimizer", "null") or "null")
        strict = True
        if saved is not None and train_op.optimizer is not None:
            saved_names = {n for group in saved["param_groups"] for n in group["params"]}
            if saved_names != set(named):
                strict = False
                logging.getLogger("slimtorch.learning").warning(
                    "resuming with other variables to train than the checkpoint's run: optimizer "
                    "state restored for %d of them, %d start fresh (and %d saved are unused)",
                    len(saved_names & set(named)), len(set(named) - saved_names),
                    len(saved_names - set(named)))
        extra = restore_trainer_state(train_op.optimizer, named, self.tensors, self.metadata,
                                      scaler=train_op.scaler, strict=strict)
        train_op.skipped_steps = int(extra.get("skipped_steps", 0))
        return extra
