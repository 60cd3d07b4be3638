"""Zoo nets: slimtorch vs torchvision and TF-Slim, side by side, with every
ratio of the performance targets.

For each net, an eval-mode forward pass and (``--train``) one training step
(forward, cross-entropy, backward, SGD with momentum 0.9: a plain PyTorch
loop) are timed for the slimtorch net as ``get_network_fn`` makes it (its
default memory format, channels-last; ``--slim-nchw`` for plain NCHW), for
torchvision's equivalent twice, NCHW and channels-last (input converted
outside the timing), and with ``--tf`` for TF-Slim on TensorFlow (the same
net from research/slim's ``nets``, NHWC, in a TF1 session: its eval forward,
and as training step what ``slim.learning.create_train_op`` runs with
``tf.train.MomentumOptimizer(lr, 0.9)``), all alternated in one process;
the median of ``--repeats`` is printed with the ratios (slimtorch time over
the other's: below 1 is faster). ``--precision bf16,int8`` adds slimtorch's
eval through ``slim.inference_model(net, precision)`` (int8 calibrated on
``--calibration-batches`` random batches, its time excluded) and, for bf16,
a training step under ``torch.autocast`` (``slimtorch train
--mixed_precision=bf16``), each against TF-Slim fp32 and slimtorch fp32 of
the same run. ``--profile`` prints, per net and step, torch.profiler's top
ops by self CPU time for slimtorch (each precision) and torchvision
channels-last. Where the weights map (VGG) torchvision's weights are loaded
into slimtorch and the outputs are checked equal first. On CUDA, images/s
and achieved TFLOP/s (FLOPs counted by ``torch.utils.flop_counter``)
against the card's peak are printed.

The end of the output is markdown: the fp32 table, the reduced-precision
table and the targets table (each target's ratio, met or not). Each timed
call starts after ``--settle`` seconds of rest (default 0.05): the previous
call's thread pools (torch's OpenMP, TensorFlow's Eigen) spin for a while
after their work and would otherwise eat the next call's cores.

    python scripts/bench_zoo.py --batch 8                        # the four target nets, eval
    python scripts/bench_zoo.py --tf --train --precision bf16,int8 --batch 8 --repeats 10
    python scripts/bench_zoo.py --tf --research-slim /path/to/models/research/slim
    python scripts/bench_zoo.py --nets resnet_v1_50 --train --profile --repeats 3
    python scripts/bench_zoo.py --device cuda --batch 64 --amp bf16 --train
    python scripts/bench_zoo.py --zoo-table --nets all --batch 2 --repeats 3

``--tf`` needs ``tensorflow`` and ``tf_slim`` (run from their venv, where
torch and slimtorch are installed too) and research/slim's ``nets`` with TF2
imports (``--research-slim`` or ``$RESEARCH_SLIM``); VGG, the ResNets and
Inception v3 fall back on ``tf_slim.nets``' copies (same layers). TF-Slim's
Inception v3 training step computes the logits only (its auxiliary head is
pruned from the graph when the loss does not use it); slimtorch's training
forward also computes the auxiliary logits, as research/slim's train does.

``--zoo-table`` prints the README's zoo table instead: per net, its
variables, parameters, forward GFLOPs per image at the default size (the
video nets: clips of ``CLIP_FRAMES`` frames) and the median eval forward and
training step of slimtorch alone.

torchvision's ResNet-50 is "v1.5" (stride in the 3x3 conv) and its Inception
v3 has 1000 classes: same layer types and nearly the same FLOPs, not the same
function, so those pairs compare speed only.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

import slimtorch as slim
from slimtorch.nets import nets_factory
from slimtorch.testing import assign_random_weights
from slimtorch.tools import from_torchvision

# slimtorch net -> (torchvision constructor and kwargs, classes, image size)
PAIRS = {
    "vgg_16": ("vgg16", {}, 1000),
    "resnet_v1_50": ("resnet50", {}, 1000),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": False}, 1000),
    "mobilenet_v1": (None, {}, 1001),
    "mobilenet_v2": ("mobilenet_v2", {}, 1000),
}
# Clip length of the video nets (i3d, s3dg) here: `slimtorch train`'s default --num_frames.
CLIP_FRAMES = 16
# Dense peak TFLOP/s by (card, dtype): datasheet numbers (SXM), for the "% of peak" column.
PEAK_TFLOPS = {("H100", "fp32"): 67.0, ("H100", "tf32"): 494.7, ("H100", "bf16"): 989.4,
               ("H200", "fp32"): 67.0, ("H200", "tf32"): 494.7, ("H200", "bf16"): 989.4}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_slimtorch(name, classes, device, torchvision_model=None):
    with slim.Graph():
        network_fn = nets_factory.get_network_fn(name, classes)
        size = network_fn.default_image_size
        network_fn.build(input_shape(network_fn, 1), device="meta").to_empty(device=device)
        if name.startswith("vgg") and torchvision_model is not None:
            tensors = from_torchvision(torchvision_model.state_dict(), name)
            with torch.no_grad():
                for var_name, var in network_fn.named_variables().items():
                    var.copy_(tensors[var_name])
        else:
            assign_random_weights(network_fn)
    return network_fn, size


def input_shape(network_fn, batch):
    """Images at the net's default size; the video nets' clips at CLIP_FRAMES."""
    frames = CLIP_FRAMES if network_fn.default_num_frames else None
    return network_fn.input_shape(batch, num_frames=frames)


def make_torchvision(name, device):
    constructor, kwargs, classes = PAIRS.get(name, (None, {}, 1001))
    if constructor is None:
        return None
    return getattr(torchvision.models, constructor)(weights=None, num_classes=classes,
                                                    **kwargs).to(device)


def logits_of(output):
    return output[0] if isinstance(output, tuple) else output


def step_fn(model, images, labels, train: bool, optimizer, autocast):
    if not train:
        def run():
            with torch.no_grad(), autocast():
                return logits_of(model(images))
        return run

    def run():
        with autocast():
            loss = F.cross_entropy(logits_of(model(images)).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss
    return run


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def time_pair(fns: dict, device, repeats: int, warmup: int, settle: float = 0.0) -> dict:
    """Median seconds of each callable, calls alternated (so drift hits all
    alike), with ``settle`` seconds of rest before each: the thread pools of
    the previous call (OpenMP's in torch, Eigen's in TensorFlow) spin for a
    while after their work, and must not eat the next one's cores."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    synchronize(device)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            if settle:
                time.sleep(settle)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


class OthersCpu:
    """The share of the CPUs that other processes used while this one ran
    (from ``/proc/stat``, Linux only, else None): torch's OpenMP threads stall
    whenever another process takes one of their cores (on 2 busy cores a
    forward pass can take 5-10x longer), TensorFlow's work-stealing pool far
    less, so a busy machine skews the ratios against slimtorch."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / ticks   # all but idle and iowait
        mine = os.times()
        return busy, mine.user + mine.system, time.perf_counter()

    def share(self):
        end = self._sample()
        if self.start is None or end is None:
            return None
        busy, mine, wall = (b - a for a, b in zip(self.start, end))
        return max(0.0, (busy - mine) / (wall * (os.cpu_count() or 1)))


def peak_for(device, dtype_name: str):
    if device.type != "cuda":
        return None
    card = torch.cuda.get_device_name(device)
    return next((v for (k, d), v in PEAK_TFLOPS.items() if k in card and d == dtype_name), None)


def zoo_table(names, args, device) -> None:
    """The README's zoo table: size, FLOPs and CPU times of each net."""
    header = ("| net | input | variables | parameters (M) | GFLOPs / image | "
              f"eval ms (batch {args.batch}) | train step ms (batch {args.batch}) |")
    rows = []
    for name in names:
        torch.manual_seed(0)
        classes = 10 if name in ("cifarnet", "lenet", "nasnet_cifar") else \
            400 if name in ("i3d", "s3dg") else 1001
        net, _ = make_slimtorch(name, classes, device)
        shape = input_shape(net, args.batch)
        images = torch.randn(shape, device=device)
        labels = torch.randint(0, classes, (args.batch,), device=device)
        variables = net.named_variables()
        params = sum(v.numel() for v in variables.values()) / 1e6
        net.eval()
        flops = count_flops(step_fn(net, images[:1], labels[:1], False, None,
                                    contextlib.nullcontext)) / 1e9
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
        times = {}
        for train in (False, True):
            net.train(train)
            fn = step_fn(net, images, labels, train, optimizer if train else None,
                         contextlib.nullcontext)
            times[train] = time_pair({"slimtorch": fn}, device, args.repeats, args.warmup)["slimtorch"]
        kind = "x".join(str(d) for d in shape[1:])
        row = (f"| {name} | {kind} | {len(variables)} | {params:.2f} | {flops:.2f} | "
               f"{times[False] * 1e3:.1f} | {times[True] * 1e3:.1f} |")
        rows.append(row)
        print(row, flush=True)
        del net, optimizer
    print("\n" + header + "\n|---|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows))


# Target ratios of issue 20 (CPU): (column key, label, bound, "le": ratio at most / "ge": at least).
TARGETS = [
    ("eval_tf", "fp32 eval ÷ TF-Slim", 0.9, "le"),
    ("eval_tv_cl", "fp32 eval ÷ torchvision channels-last", 0.9, "le"),
    ("bf16_speedup_tf", "bf16 eval speed-up over TF-Slim fp32", 2.0, "ge"),
    ("int8_speedup_tf", "int8 eval speed-up over TF-Slim fp32", 2.5, "ge"),
    ("train_tf", "train step ÷ TF-Slim", 1.0, "le"),
    ("train_tv_cl", "train step ÷ torchvision channels-last", 0.9, "le"),
]
LOW_PRECISIONS = ("bf16", "int8")


def parse_precisions(text: str) -> list:
    names = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in names if p not in LOW_PRECISIONS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(LOW_PRECISIONS)}, got {text!r}; "
            "e.g. --precision bf16,int8")
    return names


def load_inference_model():
    """``slim.inference_model`` (slimtorch/precision.py)."""
    fn = getattr(slim, "inference_model", None)
    if fn is None:
        from slimtorch.precision import inference_model as fn
    return fn


def precision_fns(net, images, labels, precisions, args, optimizer_for) -> tuple:
    """Callables timing slimtorch at each reduced precision (eval: through
    ``inference_model``; train: bf16 autocast, as ``train --mixed_precision``),
    and the precisions skipped with why."""
    fns, skipped = {}, {}
    train = net.training
    for precision in precisions:
        label = f"slimtorch_{precision}"
        if train:
            if precision != "bf16":
                continue   # int8 is for inference only
            fns[label] = step_fn(net, images, labels, True, optimizer_for(net),
                                 lambda: torch.autocast(images.device.type, dtype=torch.bfloat16))
            continue
        generator = torch.Generator().manual_seed(1)
        calibration = [torch.randn(images.shape, generator=generator).to(images.device)
                       for _ in range(args.calibration_batches)] if precision == "int8" else None
        try:
            start = time.perf_counter()
            model = load_inference_model()(net, precision, calibration_batches=calibration)
            made_in = time.perf_counter() - start
        except Exception as error:   # no BF16/int8 support here, or a failure: reported, run goes on
            skipped[precision] = f"{type(error).__name__}: {error}"
            continue
        net.eval()
        print(f"  {precision}: inference_model made in {made_in:.1f} s (not timed)", flush=True)
        fns[label] = step_fn(model, images, labels, False, None, contextlib.nullcontext)
    return fns, skipped


def tf_step(name, images, labels, classes, train: bool, research_slim):
    """A ``tf_slim_reference.TFStep`` on the same images and labels, or None
    (said) for a net research/slim lacks or whose module is not found."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from tf_slim_reference import TF_NETS, TFStep
    if name not in TF_NETS:
        return None
    images_nhwc = images.detach().cpu().numpy()
    images_nhwc = images_nhwc.transpose(0, *range(2, images_nhwc.ndim), 1).copy()
    try:
        return TFStep(name, images_nhwc, labels.cpu().numpy(), classes, train, research_slim)
    except ModuleNotFoundError as error:   # research/slim's nets not on the path
        print(f"  {name}: TF-Slim not timed ({error})", flush=True)
        return None


def profile_step(label: str, fn, rows: int) -> None:
    """torch.profiler's top ops by self CPU time over two calls of ``fn``."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(2):
            fn()
    print(f"\nprofile: {label} (2 calls; top {rows} ops by self CPU time)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def ms(seconds) -> str:
    return f"{seconds * 1e3:.1f}" if seconds else "–"


def ratio(a, b) -> str:
    return f"{a / b:.3f}" if a and b else "–"


def machine_line(device, args, tf_version=None) -> str:
    if device.type == "cuda":
        chip = torch.cuda.get_device_name(device)
    else:
        chip = platform.processor() or platform.machine()
        with contextlib.suppress(OSError):
            with open("/proc/cpuinfo") as info:
                chip = next((line.split(":", 1)[1].strip() for line in info
                             if line.startswith("model name")), chip)
    return (f"{datetime.date.today().isoformat()}, {chip}, {device}, {torch.get_num_threads()} "
            f"threads; torch {torch.__version__}, slimtorch {slim.__version__}"
            f"{f', TensorFlow {tf_version}' if tf_version else ''}; batch {args.batch}, "
            f"median of {args.repeats} alternated runs")


def targets_table(results, names) -> str:
    """Each issue-20 target's ratio per net, with ✓ (met) or ✗."""
    header = "| net | " + " | ".join(
        f"{label} ({'≤' if kind == 'le' else '≥'} {bound:g})" for _, label, bound, kind in TARGETS) + " |"
    lines = [header, "|---" + "|---:" * len(TARGETS) + "|"]
    for name in names:
        cells = []
        for key, _, bound, kind in TARGETS:
            value = results.get((name, key))
            if value is None:
                cells.append("–")
            else:
                met = value <= bound if kind == "le" else value >= bound
                cells.append(f"{value:.2f} {'✓' if met else '✗'}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default="vgg_16,resnet_v1_50,inception_v3,mobilenet_v2",
                        help="comma-separated zoo names, or 'all' (default: the targets' four)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--train", action="store_true", help="also time a training step")
    parser.add_argument("--fold", action="store_true",
                        help="time slimtorch's eval with slim.fold_batch_norms applied")
    parser.add_argument("--optimize", action="store_true",
                        help="time slimtorch's eval through slim.optimize_for_inference "
                             "(folded, compiled with freezing; compile time excluded)")
    parser.add_argument("--slim-nchw", action="store_true",
                        help="time slimtorch in plain NCHW instead of its default channels-last")
    parser.add_argument("--amp", choices=["bf16", "fp16"],
                        help="autocast dtype for every torch model, eval and train")
    parser.add_argument("--precision", type=parse_precisions, default=[],
                        help="also slimtorch at these precisions (bf16,int8): eval through "
                             "slim.inference_model, and a bf16-autocast training step")
    parser.add_argument("--calibration-batches", type=int, default=2,
                        help="random batches calibrating int8 (default 2)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--tf", action="store_true", help="also TF-Slim (needs tensorflow, tf_slim)")
    parser.add_argument("--research-slim", default=os.environ.get("RESEARCH_SLIM"),
                        help="directory holding research/slim's 'nets' package (with --tf; "
                             "default $RESEARCH_SLIM)")
    parser.add_argument("--settle", type=float, default=0.05,
                        help="seconds of rest before each timed call (default 0.05)")
    parser.add_argument("--profile", action="store_true",
                        help="per net and step, torch.profiler's top ops by self CPU time")
    parser.add_argument("--profile-rows", type=int, default=15)
    parser.add_argument("--zoo-table", action="store_true",
                        help="print the README's zoo table (sizes, FLOPs, slimtorch times) instead")
    args = parser.parse_args(argv)
    if args.nets == "all":
        args.nets = ",".join(nets_factory.network_names())
    names = args.nets.split(",")
    unknown = [n for n in names if n not in nets_factory.network_names()]
    if unknown:
        parser.error(f"--nets: unknown net {', '.join(unknown)}; see "
                     "slimtorch.nets.nets_factory.network_names()")

    device = torch.device(args.device)
    if args.tf and device.type != "cpu":
        parser.error("--tf compares on the CPU only (TF-Slim runs on TensorFlow's CPU build); "
                     "drop --tf or use --device cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.amp)
    dtype_name = args.amp or ("tf32" if device.type == "cuda" else "fp32")
    peak = peak_for(device, dtype_name)

    def autocast():
        if amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=amp_dtype)

    if args.zoo_table:
        print(f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
              f"fp32, median of {args.repeats}", flush=True)
        zoo_table(names, args, device)
        return
    tf_version = None
    if args.tf:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from tf_slim_reference import import_tf
        tf_version = import_tf(args.research_slim)[0].__version__
    print(machine_line(device, args, tf_version) + f"; {dtype_name}"
          f"{', slimtorch NCHW' if args.slim_nchw else ''}"
          f"{', batch norms folded for eval' if args.fold else ''}"
          f"{', slimtorch eval through optimize_for_inference' if args.optimize else ''}"
          f"{', compiled' if args.compile else ''}", flush=True)
    tf_col = " TF-Slim ms | ÷ TF-Slim |" if args.tf else ""
    header = (f"| net | step | slimtorch ms |{tf_col} torchvision NCHW ms | ÷ NCHW | torchvision "
              f"channels-last ms | ÷ channels-last | slimtorch img/s | TFLOP/s |{' % peak |' if peak else ''}")
    precision_header = ("| net | step | precision | slimtorch ms | ÷ slimtorch fp32 |"
                        f"{' ÷ TF-Slim fp32 | speed-up over TF-Slim fp32 |' if args.tf else ''}")
    rows, precision_rows, results, skipped_all, busy_all = [], [], {}, {}, []
    for name in names:
        torch.manual_seed(0)
        tv = make_torchvision(name, device)
        classes = PAIRS.get(name, (None, {}, 1001))[2]
        if name in ("cifarnet", "lenet", "nasnet_cifar"):
            classes = 10
        net, size = make_slimtorch(name, classes, device, tv)
        images = torch.randn(input_shape(net, args.batch), device=device)
        labels = torch.randint(0, classes, (args.batch,), device=device)
        if args.slim_nchw:
            net.memory_format = None
            net.to(memory_format=torch.contiguous_format)
        models, inputs = {"slimtorch": net}, {"slimtorch": images}
        if tv is not None:
            tv_cl = copy.deepcopy(tv).to(memory_format=torch.channels_last)
            models.update(torchvision=tv, torchvision_cl=tv_cl)
            inputs.update(torchvision=images,
                          torchvision_cl=images.contiguous(memory_format=torch.channels_last))
        if name.startswith("vgg") and tv is not None:
            with torch.no_grad():
                a, b = net.eval()(images)[0].float(), tv.eval()(images).float()
            error = ((a - b).norm() / b.norm()).item()
            tolerance = 1e-4 if amp_dtype is None and device.type == "cpu" else 2e-2
            if error > tolerance:
                sys.exit(f"{name}: slimtorch and torchvision outputs differ ({error:.1e})")
        for train in ([False, True] if args.train else [False]):
            step = "train" if train else "eval"
            fns = {}
            for label, model in models.items():
                model.train(train)
                if label == "slimtorch" and args.fold and not train:
                    model = slim.fold_batch_norms(model)   # the inference export
                if label == "slimtorch" and args.optimize and not train:
                    model = slim.optimize_for_inference(model)
                callable_model = torch.compile(model) if args.compile else model
                optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9) if train else None
                fns[label] = step_fn(callable_model, inputs[label], labels, train, optimizer,
                                     autocast)
            extra, skipped = precision_fns(
                net, images, labels, args.precision, args,
                lambda m: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9))
            fns.update(extra)
            skipped_all.update({(name, step, p): why for p, why in skipped.items()})
            tf_fn = tf_step(name, images, labels, classes, train, args.research_slim) \
                if args.tf else None
            if tf_fn is not None:
                fns["tf"] = tf_fn
            # A training step is counted as 3x the forward FLOPs (forward + 2x backward).
            net.eval()
            flops = count_flops(step_fn(net, images, labels, False, None, autocast)) * (3 if train else 1)
            net.train(train)
            try:
                others = OthersCpu()
                medians = time_pair(fns, device, args.repeats, args.warmup, args.settle)
                busy = others.share()
                busy_all.append(busy)
                if args.profile:
                    for label, fn in fns.items():
                        if label.startswith("slimtorch") or label == "torchvision_cl":
                            profile_step(f"{name} {step} {label}", fn, args.profile_rows)
            finally:
                if tf_fn is not None:
                    tf_fn.close()
            mine, theirs_tf = medians["slimtorch"], medians.get("tf")
            row = f"| {name} | {step} | {ms(mine)} |"
            if args.tf:
                row += f" {ms(theirs_tf)} | {ratio(mine, theirs_tf)} |"
            for baseline in ("torchvision", "torchvision_cl"):
                theirs = medians.get(baseline)
                row += f" {ms(theirs)} | {ratio(mine, theirs)} |"
            tflops = flops / mine / 1e12
            row += f" {args.batch / mine:.0f} | {tflops:.1f} |"
            if peak:
                row += f" {100 * tflops / peak:.0f}% |"
            rows.append(row)
            print(row + (f"  (other processes: {100 * busy:.0f} % of the CPUs)"
                         if busy is not None else ""), flush=True)
            if theirs_tf:
                results[(name, f"{step}_tf")] = mine / theirs_tf
            if medians.get("torchvision_cl"):
                results[(name, f"{step}_tv_cl")] = mine / medians["torchvision_cl"]
            for precision in args.precision:
                low = medians.get(f"slimtorch_{precision}")
                if low is None:
                    continue
                prow = f"| {name} | {step} | {precision} | {ms(low)} | {ratio(low, mine)} |"
                if args.tf:
                    prow += f" {ratio(low, theirs_tf)} | {ratio(theirs_tf, low)} |"
                precision_rows.append(prow)
                print(prow, flush=True)
                if theirs_tf and not train:
                    results[(name, f"{precision}_speedup_tf")] = theirs_tf / low
            del fns, extra
        del net, tv, models, inputs
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print("\n" + machine_line(device, args, tf_version) + "\n")
    shares = [b for b in busy_all if b is not None]
    if shares:
        print(f"Other processes used {100 * min(shares):.0f}-{100 * max(shares):.0f} % of the "
              "CPUs during the timings" + (" (above 10 %: torch's OpenMP threads stall on "
                                            "taken cores; rerun on an idle machine)\n"
                                            if max(shares) > 0.1 else "\n"))
    print(f"{dtype_name} (ratios: slimtorch's time ÷ the other's, below 1 = slimtorch faster)\n")
    print(header + "\n" + "|---" * 2 + "|---:" * (header.count("|") - 3) + "|\n" + "\n".join(rows))
    if precision_rows:
        print("\nslimtorch at reduced precision (eval: slim.inference_model; train: bf16 autocast "
              "as `slimtorch train --mixed_precision=bf16`)\n")
        print(precision_header + "\n" + "|---" * 3 + "|---:" * (precision_header.count("|") - 4)
              + "|\n" + "\n".join(precision_rows))
    for (name, step, precision), why in skipped_all.items():
        print(f"\n{name} {step} {precision}: skipped ({why})")
    if args.tf or args.precision:
        print("\ntargets (issue 20, CPU; ✓ met, ✗ missed, – not measured in this run)\n")
        print(targets_table(results, names))


if __name__ == "__main__":
    main()
