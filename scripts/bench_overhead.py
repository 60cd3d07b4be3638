"""How much does slimtorch cost over a hand-written ``torch.nn.Module``?

Times one training step (``out = model(x); out.sum().backward()``, grads
zeroed with ``zero_grad(set_to_none=True)``) of a model built with
``slim.Model`` against a plain ``nn.Module`` doing exactly the same ops with
the same weights (outputs are checked equal before timing). Cases:

  a  small VGG-style CIFAR net, batch 32, input [32, 3, 32, 32]: 6 convs,
     3 max-pools, flatten, 2 fully_connected. Compute-bound: the ratio
     should be close to 1.
  b  50-layer, width-64 MLP, batch 8: tiny matmuls, so this mostly measures
     slimtorch's per-layer Python overhead (scope lookup, arg_scope, ...).

Timing: after a warm-up, each of R repeats times a block of N steps of the
slimtorch model and of the hand-written one, alternating which goes first;
the per-step time is the median over repeats. CPU only.

Run:
    python scripts/bench_overhead.py                 # both cases
    python scripts/bench_overhead.py --case b --repeats 50 --threads 1
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import slimtorch as slim

TARGETS = {"a": 1.03, "b": 1.5}


# -- case (a): VGG-style CIFAR net --------------------------------------------
def slim_vgg(x):
    net = slim.repeat(x, 2, slim.conv2d, 64, [3, 3], scope="conv1")
    net = slim.max_pool2d(net, [2, 2], scope="pool1")
    net = slim.repeat(net, 2, slim.conv2d, 128, [3, 3], scope="conv2")
    net = slim.max_pool2d(net, [2, 2], scope="pool2")
    net = slim.repeat(net, 2, slim.conv2d, 256, [3, 3], scope="conv3")
    net = slim.max_pool2d(net, [2, 2], scope="pool3")
    net = slim.flatten(net)
    net = slim.fully_connected(net, 256, scope="fc4")
    return slim.fully_connected(net, 10, activation_fn=None, scope="fc5")


class TorchVGG(nn.Module):
    BLOCKS = [("conv1", 3, 64), ("conv2", 64, 128), ("conv3", 128, 256)]

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList()
        for _, cin, cout in self.BLOCKS:
            self.convs.append(nn.Conv2d(cin, cout, 3, padding=1))
            self.convs.append(nn.Conv2d(cout, cout, 3, padding=1))
        self.fc4 = nn.Linear(256 * 4 * 4, 256)
        self.fc5 = nn.Linear(256, 10)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = torch.relu_(conv(x))  # in place, as torchvision's ReLU(inplace=True)
            if i % 2 == 1:
                x = F.max_pool2d(x, 2, 2)
        x = x.movedim(1, -1).reshape(x.shape[0], -1)  # slim.flatten: channels-last order
        return self.fc5(torch.relu_(self.fc4(x)))

    def slim_keys(self):
        """(module, slim state_dict prefix) pairs, to copy the slim weights."""
        pairs = [(self.convs[2 * b + j], f"{scope}.{scope}_{j + 1}")
                 for b, (scope, _, _) in enumerate(self.BLOCKS) for j in range(2)]
        return pairs + [(self.fc4, "fc4"), (self.fc5, "fc5")]


# -- case (b): deep narrow MLP -------------------------------------------------
DEPTH, WIDTH = 50, 64


def slim_mlp(x):
    for i in range(DEPTH):
        x = slim.fully_connected(x, WIDTH, scope="fc%d" % i)
    return x


class TorchMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(WIDTH, WIDTH) for _ in range(DEPTH))

    def forward(self, x):
        for fc in self.fcs:
            x = torch.relu_(fc(x))
        return x

    def slim_keys(self):
        return [(fc, "fc%d" % i) for i, fc in enumerate(self.fcs)]


CASES = {  # name: (description, slim fn, torch module class, input shape, default steps)
    "a": ("(a) VGG-CIFAR b32", slim_vgg, TorchVGG, (32, 3, 32, 32), 1),
    "b": ("(b) MLP 50x64 b8", slim_mlp, TorchMLP, (8, WIDTH), 15),
}


# -- benchmark -----------------------------------------------------------------
def build_pair(case):
    _, fn, torch_cls, shape, _ = CASES[case]
    torch.manual_seed(0)
    x = torch.randn(shape)
    with slim.Graph():
        slim_net = slim.Model(fn)
        slim_net(x)
    torch_net = torch_cls()
    state = slim_net.state_dict()
    with torch.no_grad():
        for module, key in torch_net.slim_keys():
            module.weight.copy_(state[key + ".weights"])
            module.bias.copy_(state[key + ".biases"])
    with torch.no_grad():
        torch.testing.assert_close(slim_net(x), torch_net(x))
    return slim_net, torch_net, x


def time_block(model, x, steps):
    start = time.perf_counter()
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        out = model(x)
        out.sum().backward()
    return (time.perf_counter() - start) / steps


def bench(case, repeats, steps, warmup):
    slim_net, torch_net, x = build_pair(case)
    steps = steps or CASES[case][4]
    for model in (slim_net, torch_net):
        if warmup:
            time_block(model, x, warmup)
    times = {slim_net: [], torch_net: []}
    for r in range(repeats):
        order = (slim_net, torch_net) if r % 2 == 0 else (torch_net, slim_net)
        for model in order:
            times[model].append(time_block(model, x, steps))
    return statistics.median(times[slim_net]), statistics.median(times[torch_net])


def cpu_name():
    """platform.processor(), or the model name from /proc/cpuinfo where that is empty."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return platform.processor() or (names[0] if names else "unknown CPU")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=["a", "b", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=30, help="timed blocks per model")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per block (default: 1 for a, 15 for b: ~50-200 ms)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per model")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print("| case | slimtorch ms/step | hand-written ms/step | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    for case in (["a", "b"] if args.case == "all" else [args.case]):
        slim_s, torch_s = bench(case, args.repeats, args.steps, args.warmup)
        ratio, target = slim_s / torch_s, TARGETS[case]
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"| {CASES[case][0]} | {slim_s * 1e3:.3f} | {torch_s * 1e3:.3f} | "
              f"{ratio:.3f} | <= {target} {verdict} |", flush=True)
    print(f"\n{datetime.date.today()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, {cpu_name()} / "
          f"{platform.platform()}")


if __name__ == "__main__":
    main()
