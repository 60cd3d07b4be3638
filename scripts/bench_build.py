"""How long building each zoo net takes on the ``meta`` device (no memory).

Every net is built once to warm up torch (its first meta-device op in a
process costs 1-2 s of one-time imports), then ``--repeats`` more times in
fresh graphs; the median is printed. ``--materialize`` also times allocating
and initializing the weights on the CPU.

    python scripts/bench_build.py [--nets vgg_16,inception_v3] [--repeats 3] [--materialize]
"""

from __future__ import annotations

import argparse
import statistics
import time

import slimtorch as slim
from slimtorch.nets import nets_factory


def build(name: str):
    network_fn = nets_factory.get_network_fn(name, 1001)
    size = network_fn.default_image_size
    return network_fn.build((1, 1 if name == "lenet" else 3, size, size), device="meta")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(nets_factory.network_names()))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--materialize", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    with slim.Graph():
        build("lenet")
    print(f"first meta build in this process (torch warm-up): {time.perf_counter() - start:.2f} s")
    print(f"{'net':22s} {'variables':>9s} {'parameters':>12s} {'meta build s':>13s}"
          + (f" {'materialize s':>14s}" if args.materialize else ""))
    worst = 0.0
    for name in args.nets.split(","):
        times = []
        for _ in range(args.repeats):
            with slim.Graph():
                start = time.perf_counter()
                network_fn = build(name)
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        worst = max(worst, median)
        params = sum(v.numel() for v in network_fn.variables())
        line = f"{name:22s} {len(network_fn.variables()):9d} {params:12,d} {median:13.3f}"
        if args.materialize:
            start = time.perf_counter()
            network_fn.materialize("cpu")
            line += f" {time.perf_counter() - start:14.2f}"
        print(line, flush=True)
    print(f"slowest meta build: {worst:.3f} s")


if __name__ == "__main__":
    main()
