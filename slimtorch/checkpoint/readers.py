"""``load_checkpoint(path)``: one reader interface over every supported format.

Like TF's ``tf.train.load_checkpoint``, the reader offers
``get_variable_to_shape_map()``, ``get_variable_to_dtype_map()``,
``has_tensor(name)`` and ``get_tensor(name)`` (a NumPy array in the file's own
layout), plus ``layout`` (``'tf'`` or ``'torch'``) for restore to convert.

The format is detected from the files, never from the name alone:

* a directory: its latest checkpoint (the ``checkpoint`` state file);
* a TF V2 bundle: ``prefix.index`` + ``prefix.data-*`` (the prefix, or either file);
* a slimtorch (or any) safetensors file;
* a PyTorch file (loaded with ``weights_only=True``);
* a TF V1 file (the 2016 TF-Slim model zoo's single ``.ckpt``).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> load_checkpoint(d)
    Traceback (most recent call last):
    ...
    slimtorch.checkpoint.errors.CheckpointError: no checkpoint found in directory ...
"""

from __future__ import annotations

import os
import re

from .errors import CheckpointError
from .safetensors_store import SafetensorsReader, is_safetensors_file
from .state_file import latest_checkpoint
from .torch_file import TorchFileReader, is_torch_file

__all__ = ["load_checkpoint", "resolve_checkpoint_path"]

_V2_FILE = re.compile(r"^(.*)\.(index|data-\d{5}-of-\d{5})$")


def resolve_checkpoint_path(path: str) -> str:
    """A directory becomes its latest checkpoint; a V2 ``.index``/``.data-*``
    file becomes its prefix; a slimtorch prefix (``model.ckpt-1000``, as TF
    users write it) becomes its ``.safetensors`` file; anything else is
    returned as is.

    Raises:
        CheckpointError: a directory without a (still existing) latest checkpoint.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"no checkpoint found in directory {path} "
                                  "(no 'checkpoint' state file naming an existing file)")
        return latest
    match = _V2_FILE.match(path)
    if match and os.path.exists(match.group(1) + ".index"):
        return match.group(1)
    if not os.path.exists(path) and not os.path.exists(path + ".index") \
            and os.path.isfile(path + ".safetensors"):
        return path + ".safetensors"
    return path


def load_checkpoint(path):
    """A reader for the checkpoint at ``path`` (see the module docstring).

    Raises:
        CheckpointError: nothing there, or a file in no supported format.
    """
    path = resolve_checkpoint_path(path)
    if os.path.exists(path + ".index"):
        from .tf_bundle import TFBundleReader
        return TFBundleReader(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path} (expected a file, a TF prefix "
                              "with a .index file, or a directory with a 'checkpoint' file)")
    if is_safetensors_file(path):
        return SafetensorsReader(path)
    if is_torch_file(path):
        return TorchFileReader(path)
    from .tf_v1 import is_v1_checkpoint
    if is_v1_checkpoint(path):
        from .tf_v1 import TFV1Reader
        return TFV1Reader(path)
    raise CheckpointError(f"{path}: not a checkpoint in a supported format (slimtorch/safetensors, "
                          "TF V2 bundle, TF V1, PyTorch state dict)")
