"""Internals of the trainer; the public entry point is ``slim.learning``.

What ``slim.learning.train`` and ``slim.evaluation`` are made of, one idea a
module (each private; import the names from here):

* ``create_train_op`` / :class:`TrainOp`: one optimization step per call
  (``slim.learning`` re-exports them), and ``optimize_loss``, TF-Slim's other
  way to make one (``slim.optimize_loss``);
* ``train_step`` / ``default_train_step_kwargs``: the step function ``train``
  calls, which users may replace;
* :class:`StepModule` / :func:`wrap_train_step`: DistributedDataParallel
  around a whole step, whatever models it calls;
* :class:`ResumableBatches`: the batch stream a checkpoint resumes exactly;
* :class:`TrainerState`: what a checkpoint holds beside the weights
  (optimizer, random generators, data position), saved and restored as one
  object; :func:`flatten_trainer_state` / :func:`restore_trainer_state` are
  its file format;
* :class:`SignalCatcher` / :class:`Interrupted`: Ctrl-C and SIGTERM end a
  run cleanly, with its work saved;
* :class:`TrainDirLock` / :class:`TrainDirLockedError`: one trainer per
  training directory;
* :class:`StopAfterNEvalsHook`, :class:`SummaryAtEndHook`, ...: TF's
  evaluation hooks, eagerly;
* :func:`place`, :func:`prefetch_to_device`, :func:`progress_bar`,
  :func:`log_to_stderr_by_default`, ...: where a run happens (torchrun
  context, device, batches moved there) and what the user sees.
"""

from ._ddp_step import StepModule, wrap_train_step
from ._evaluation_hooks import StopAfterNEvalsHook, SummaryAtEndHook, hook_settings, run_hooks
from ._interrupts import Interrupted, SignalCatcher
from ._resumable_batches import ResumableBatches
from ._runtime import (device_type, log_to_stderr_by_default, max_over_ranks, move_variables, place,
                       prefetch_to_device, progress_bar, to_device)
from ._train_dir_lock import LOCK_FILENAME, TrainDirLock, TrainDirLockedError
from ._optimize_loss import optimize_loss
from ._train_op import (TrainOp, add_gradients_summaries, clip_gradient_norms, clip_gradient_norms_fn,
                        create_train_op, multiply_gradients, variables_to_train)
from ._train_step import default_train_step_kwargs, train_step
from ._trainer_state import TRAINER_STATE_VERSION, TrainerState, flatten_trainer_state, restore_trainer_state

__all__ = [
    # stopping on SIGINT / SIGTERM
    "Interrupted", "SignalCatcher",
    # one trainer per directory
    "LOCK_FILENAME", "TrainDirLock", "TrainDirLockedError",
    # the train op (re-exported by slim.learning)
    "TrainOp", "add_gradients_summaries", "clip_gradient_norms", "clip_gradient_norms_fn",
    "create_train_op", "multiply_gradients", "optimize_loss", "variables_to_train",
    # the loop's step function
    "default_train_step_kwargs", "train_step",
    # DDP around a step
    "StepModule", "wrap_train_step",
    # resuming: the batch stream and the trainer state
    "ResumableBatches", "TRAINER_STATE_VERSION", "TrainerState", "flatten_trainer_state",
    "restore_trainer_state",
    # evaluation hooks
    "StopAfterNEvalsHook", "SummaryAtEndHook", "hook_settings", "run_hooks",
    # where a run happens
    "device_type", "log_to_stderr_by_default", "max_over_ranks", "move_variables", "place",
    "prefetch_to_device", "progress_bar", "to_device",
]
