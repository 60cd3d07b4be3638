"""slimtorch.training's runtime: batches moved to the device one step ahead."""

import torch

from slimtorch import training


def test_prefetch_moves_the_next_batch_before_handing_out_the_current():
    produced = []

    def source():
        for i in range(3):
            produced.append(i)
            yield 0, i, torch.full((2,), float(i))

    seen = []
    for _epoch, index, batch in training.prefetch_to_device(source(), "meta"):
        seen.append((index, batch.device.type, list(produced)))
    # Batch i is handed out once batch i + 1 has been read (and its copy started).
    assert seen == [(0, "meta", [0, 1]), (1, "meta", [0, 1, 2]), (2, "meta", [0, 1, 2])]


def test_prefetch_on_cpu_is_a_plain_move():
    batches = [(0, 0, (torch.ones(1, 3, 2, 2), torch.zeros(1)))]
    (_, _, (x, y)), = list(training.prefetch_to_device(iter(batches), None, channels_last=True))
    assert x.is_contiguous(memory_format=torch.channels_last) and y.shape == (1,)
