"""How long building each zoo net takes on the ``meta`` device (no memory).

Every net is built once to warm up torch (its first meta-device op in a
process costs 1-2 s of one-time imports), then ``--repeats`` more times in
fresh graphs; the median is printed. ``--materialize`` also times allocating
and initializing the weights on the CPU. ``--memory NET`` measures, in a
fresh process, the peak memory that building NET on ``meta`` and
materializing it on the CPU adds, against its parameter bytes.

    python scripts/bench_build.py [--nets vgg_16,inception_v3] [--repeats 3] [--materialize]
    python scripts/bench_build.py --memory vgg_16
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import slimtorch as slim
from slimtorch.nets import nets_factory


def build(name: str):
    network_fn = nets_factory.get_network_fn(name, 1001)
    return network_fn.build(network_fn.input_shape(1), device="meta")


_MEMORY_PROBE = """
import resource, sys, torch
from slimtorch.nets import nets_factory
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096
net = nets_factory.get_network_fn(sys.argv[1], 1000)
torch.zeros(1, device='meta') + 1          # torch's one-time imports, before the baseline
base = rss()
net.build(net.input_shape(1), device='meta').materialize('cpu')
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: KiB
params = sum(p.numel() * p.element_size() for p in net.parameters())
print(base, peak, params)
"""


def build_memory(name: str) -> str:
    """Peak memory added by build + materialize, in a fresh process (Linux)."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, name], check=True,
                         capture_output=True, text=True).stdout.split()
    base, peak, params = (int(v) for v in out)
    return (f"{name}: build (meta) + materialize (CPU) added {(peak - base) / 1e6:.0f} MB at "
            f"peak for {params / 1e6:.0f} MB of parameters: {(peak - base) / params:.3f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(nets_factory.network_names()))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--materialize", action="store_true")
    parser.add_argument("--memory", metavar="NET", help="peak memory of building NET instead")
    args = parser.parse_args(argv)
    if args.memory:
        print(build_memory(args.memory))
        return

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
