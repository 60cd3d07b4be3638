"""Streaming-metric cost: slimtorch vs torchmetrics on 10M predictions.

For accuracy (10 classes), AUC (200 thresholds, ROC) and mean IoU (21
classes) both libraries fold the same predictions in, in ``--batches``
batches, then compute the value once. slimtorch's ``update`` also returns
the running value each batch (TF-Slim's contract), so that is timed too.
Runs alternate; the median of ``--repeats`` is printed with the ratio
slimtorch / torchmetrics (< 1: slimtorch faster). torchmetrics is not a
dependency: without it only slimtorch's times are printed.

    python scripts/bench_metrics.py [--n 10000000] [--batches 10] [--repeats 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import slimtorch as slim


def make_inputs(n: int, device: str):
    g = torch.Generator().manual_seed(0)
    labels10 = torch.randint(0, 10, (n,), generator=g)
    predictions10 = torch.where(torch.rand(n, generator=g) < 0.7, labels10,
                                torch.randint(0, 10, (n,), generator=g))
    binary = torch.randint(0, 2, (n,), generator=g)
    scores = (0.3 * binary + 0.7 * torch.rand(n, generator=g)).clamp(0, 1)
    labels21 = torch.randint(0, 21, (n,), generator=g)
    predictions21 = torch.where(torch.rand(n, generator=g) < 0.6, labels21,
                                torch.randint(0, 21, (n,), generator=g))
    return {name: t.to(device) for name, t in dict(
        predictions10=predictions10, labels10=labels10, scores=scores, binary=binary,
        predictions21=predictions21, labels21=labels21).items()}


def cases(x):
    """name -> (slimtorch factory, torchmetrics factory or None, input names)."""
    try:
        import torchmetrics.classification as tm
    except ImportError:
        tm = None
    return {
        "accuracy (10 classes)": (
            lambda: slim.metrics.streaming_accuracy(),
            tm and (lambda: tm.MulticlassAccuracy(10, average="micro", validate_args=False)),
            ("predictions10", "labels10")),
        "AUC (200 thresholds)": (
            lambda: slim.metrics.streaming_auc(num_thresholds=200),
            tm and (lambda: tm.BinaryAUROC(thresholds=200, validate_args=False)),
            ("scores", "binary")),
        "mean IoU (21 classes)": (
            lambda: slim.metrics.streaming_mean_iou(num_classes=21),
            tm and (lambda: tm.MulticlassJaccardIndex(21, average="macro",
                                                      validate_args=False)),
            ("predictions21", "labels21")),
    }


def run(make, inputs, batches: int, sync) -> float:
    metric = make()
    if hasattr(metric, "to"):   # torchmetrics modules hold their state on a device
        metric = metric.to(inputs[0].device)
    pieces = [t.chunk(batches) for t in inputs]
    sync()
    start = time.perf_counter()
    for batch in zip(*pieces):
        metric.update(*batch)
    value = metric.value() if hasattr(metric, "value") else metric.compute()
    float(value)
    sync()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    x = make_inputs(args.n, args.device)
    try:
        import torchmetrics
        versions = f"torchmetrics {torchmetrics.__version__}"
    except ImportError:
        versions = "torchmetrics not installed"
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, device {args.device}, torch {torch.__version__}, "
          f"{versions}; {args.n:,} predictions in {args.batches} batches, median of "
          f"{args.repeats}")
    print("| metric | slimtorch (s) | torchmetrics (s) | ratio |")
    print("|---|---|---|---|")
    for name, (ours, theirs, keys) in cases(x).items():
        inputs = [x[k] for k in keys]
        times = {"ours": [], "theirs": []}
        for _ in range(args.repeats):   # alternate, so drift hits both alike
            slim.reset_default_graph()
            times["ours"].append(run(ours, inputs, args.batches, sync))
            if theirs:
                times["theirs"].append(run(theirs, inputs, args.batches, sync))
        a = statistics.median(times["ours"])
        if theirs:
            b = statistics.median(times["theirs"])
            print(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.2f} |")
        else:
            print(f"| {name} | {a:.3f} | - | - |")


if __name__ == "__main__":
    main()
