"""Per-step cost of ``slim.learning.train`` vs a plain PyTorch loop.

Both loops train the same built model (CifarNet from the zoo, batch 32 of
32x32 images, synthetic data) with SGD on the same batches; the plain loop is
forward, ``F.cross_entropy``, backward, step. ``train`` runs at its defaults
(a log line every step through ``logging``, formatted and written to
``/dev/null`` so that a terminal's speed does not count; checkpoints every
600 s, so only its final checkpoint, which is timed too; summaries at the
first and last step, TensorBoard permitting). Runs alternate; the median of
``--repeats`` per-step times is printed with the ratio.

    python scripts/bench_trainer.py [--steps 30] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.nets import nets_factory


def make_data(steps: int, batch: int):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g))
            for _ in range(steps)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    data = make_data(args.steps, args.batch)
    package = logging.getLogger("slimtorch")
    sink = logging.StreamHandler(open(os.devnull, "w"))   # closed below
    level = package.level
    package.addHandler(sink)
    package.setLevel(logging.INFO)

    network_fn = nets_factory.get_network_fn("cifarnet", 10, is_training=True)
    network_fn.build((1, 3, 32, 32))

    def plain():
        optimizer = torch.optim.SGD(network_fn.parameters(), lr=0.001)
        for images, labels in data:
            logits, _ = network_fn(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def slimtorch_train():
        logdir = tempfile.mkdtemp()
        step = slim.get_global_step()
        if step is not None:
            with torch.no_grad():
                step.zero_()

        def total_loss(batch):
            images, labels = batch
            logits, _ = network_fn(images)
            slim.losses.sparse_softmax_cross_entropy(logits, labels)
            return slim.losses.get_total_loss()
        train_op = slim.learning.create_train_op(
            total_loss, lambda params: torch.optim.SGD(params, lr=0.001))
        slim.learning.train(train_op, logdir, data, number_of_steps=args.steps)
        shutil.rmtree(logdir)

    runs = {"plain PyTorch loop": plain, "slim.learning.train": slimtorch_train}
    times = {name: [] for name in runs}
    for fn in runs.values():
        fn()   # warm-up
    for _ in range(args.repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) / args.steps)
    package.removeHandler(sink)
    package.setLevel(level)
    sink.stream.close()
    base = statistics.median(times["plain PyTorch loop"])
    print(f"CifarNet, batch {args.batch}, {args.steps} steps per run, median of {args.repeats}, "
          f"{torch.get_num_threads()} threads")
    print("| loop | ms/step | ratio |\n|---|---:|---:|")
    for name in runs:
        median = statistics.median(times[name])
        print(f"| {name} | {median * 1e3:.2f} | {median / base:.3f} |")


if __name__ == "__main__":
    main()
