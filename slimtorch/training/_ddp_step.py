"""DistributedDataParallel around a training step rather than one model.

TF-Slim's loss is "whatever the step function builds": any number of
models, shared towers, extra losses. DDP wants one ``nn.Module`` whose
``forward`` produces the loss, so :class:`StepModule` is exactly that: it
holds the variables being trained (so DDP's reducer hooks their gradients,
in buckets that are all-reduced *while* backward is still running) and its
``forward`` runs the train op's loss function.

``slim.learning.train`` wraps its train op with :func:`wrap_train_step`
under torchrun; users who call one model themselves can use
``slim.distributed.wrap_ddp`` instead.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

__all__ = ["StepModule", "wrap_train_step"]


class StepModule(torch.nn.Module):
    """An ``nn.Module`` whose parameters are ``variables`` and whose forward
    is ``run_loss(batch)``.

        >>> v = torch.nn.Parameter(torch.ones(2))
        >>> step = StepModule(lambda b: (v * b).sum(), [v])
        >>> step(torch.tensor([1.0, 2.0])).item(), len(list(step.parameters()))
        (3.0, 1)
    """

    def __init__(self, run_loss: Callable, variables: Sequence[torch.nn.Parameter]) -> None:
        super().__init__()
        self.run_loss = run_loss
        # A ParameterList registers the variables without copying them: the
        # optimizer, the checkpoints and the models keep sharing one tensor.
        self.variables = torch.nn.ParameterList(variables)

    def forward(self, batch):
        return self.run_loss(batch)


def wrap_train_step(run_loss: Callable, variables: Sequence[torch.nn.Parameter],
                    find_unused_parameters: bool = False
                    ) -> torch.nn.parallel.DistributedDataParallel:
    """``DistributedDataParallel(StepModule(run_loss, variables))`` on the
    variables' device, in the default process group.

    The step module has no buffers, so nothing is broadcast from rank 0 at
    every step: batch-norm moving averages stay each rank's own (TF-Slim's
    clones kept theirs too; with ``sync_batch_norm`` they are equal anyway).
    ``variables`` must be the same list, in the same order, on every rank;
    DDP checks the shapes and broadcasts rank 0's values once. ``find_unused_parameters`` is DDP's:
    needed when some variables get no gradient in a step (the train op
    switches it on when it sees that happen).
    """
    device = variables[0].device if variables else torch.device("cpu")
    device_ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(
        StepModule(run_loss, variables), device_ids=device_ids,
        find_unused_parameters=find_unused_parameters)
