"""Checkpoints: slimtorch's safetensors files, TF V1/V2 and PyTorch files.

* :func:`save_checkpoint` / :class:`CheckpointManager`: atomic safetensors
  checkpoints keyed by Slim names, in a TF-style directory.
* :func:`load_checkpoint`: one reader for every supported format (TF's
  ``tf.train.load_checkpoint`` interface).
* :func:`assign_from_checkpoint` / :func:`assign_from_checkpoint_fn`: partial
  restore by name, with renaming and layout conversion (also ``slim.*``).

What a trainer saves beside the weights (optimizer, random generators, data
position) is the trainer's business: ``slimtorch.training.TrainerState``;
:func:`trainer_state_path` names its companion file in a checkpoint directory.
"""

from .errors import CheckpointError
from .manager import CheckpointManager, trainer_state_path
from .readers import load_checkpoint, resolve_checkpoint_path
from .restore import RestoreReport, assign_from_checkpoint, assign_from_checkpoint_fn
from .safetensors_store import save_checkpoint
from .state_file import CheckpointState, get_checkpoint_state, latest_checkpoint, update_checkpoint_state

__all__ = [
    "CheckpointError", "CheckpointManager", "CheckpointState", "RestoreReport",
    "assign_from_checkpoint", "assign_from_checkpoint_fn", "get_checkpoint_state",
    "latest_checkpoint", "load_checkpoint", "resolve_checkpoint_path", "save_checkpoint",
    "trainer_state_path", "update_checkpoint_state",
]
