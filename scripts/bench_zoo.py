"""Zoo nets: slimtorch vs torchvision (and, with ``--tf``, TF-Slim), side by side.

For each net, an eval-mode forward pass and (``--train``) one training step
(forward, cross-entropy, backward, SGD with momentum: a plain PyTorch loop)
are timed for the slimtorch net as ``get_network_fn`` makes it (its default
memory format, channels-last; ``--slim-nchw`` for plain NCHW) and for
torchvision's equivalent twice, NCHW and channels-last (input converted
outside the timing), alternating all of them in one process; the median of
``--repeats`` is printed with the ratios against both. Where the
weights map (VGG) torchvision's weights are loaded into slimtorch and the
outputs are checked equal first. On CUDA, images/s and achieved TFLOP/s (FLOPs
counted by ``torch.utils.flop_counter``) against the card's peak are printed.

    python scripts/bench_zoo.py --nets vgg_16,resnet_v1_50,inception_v3 --batch 8
    python scripts/bench_zoo.py --device cuda --batch 64 --amp bf16 --train
    python scripts/bench_zoo.py --tf --research-slim /path/to/models/research/slim
    python scripts/bench_zoo.py --zoo-table --nets all --batch 2 --repeats 3

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


def time_pair(fns: dict, device, repeats: int, warmup: int) -> dict:
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    synchronize(device)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():   # alternate, so drift hits both alike
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default="vgg_16,resnet_v1_50,inception_v3,mobilenet_v1")
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
    parser.add_argument("--amp", choices=["bf16", "fp16"], help="autocast dtype")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--tf", action="store_true", help="also TF-Slim (needs tensorflow, tf_slim)")
    parser.add_argument("--research-slim", help="research/slim's directory (with --tf)")
    parser.add_argument("--zoo-table", action="store_true",
                        help="print the README's zoo table (sizes, FLOPs, slimtorch times) instead")
    args = parser.parse_args(argv)
    if args.nets == "all":
        args.nets = ",".join(nets_factory.network_names())

    device = torch.device(args.device)
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
        zoo_table(args.nets.split(","), args, device)
        return
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}"
          f", {torch.get_num_threads()} threads), torch {torch.__version__}, batch {args.batch}, "
          f"{dtype_name}{', slimtorch NCHW' if args.slim_nchw else ''}"
          f"{', batch norms folded for eval' if args.fold else ''}"
          f"{', slimtorch eval through optimize_for_inference' if args.optimize else ''}"
          f"{', compiled' if args.compile else ''}; median of {args.repeats}", flush=True)
    header = (f"| net | step | slimtorch ms | torchvision NCHW ms | ratio | torchvision "
              f"channels-last ms | ratio | slimtorch img/s | TFLOP/s |{' % peak |' if peak else ''}")
    rows = []
    for name in args.nets.split(","):
        torch.manual_seed(0)
        tv = make_torchvision(name, device)
        classes = PAIRS.get(name, (None, {}, 1001))[2]
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
            # A training step is counted as 3x the forward FLOPs (forward + 2x backward).
            net.eval()
            flops = count_flops(step_fn(net, images, labels, False, None, autocast)) * (3 if train else 1)
            net.train(train)
            medians = time_pair(fns, device, args.repeats, args.warmup)
            mine = medians["slimtorch"]
            row = f"| {name} | {'train' if train else 'eval'} | {mine * 1e3:.1f} |"
            for baseline in ("torchvision", "torchvision_cl"):
                theirs = medians.get(baseline)
                row += f" {theirs * 1e3:.1f} | {mine / theirs:.3f} |" if theirs else " – | – |"
            tflops = flops / mine / 1e12
            row += f" {args.batch / mine:.0f} | {tflops:.1f} |"
            if peak:
                row += f" {100 * tflops / peak:.0f}% |"
            rows.append(row)
            print(row, flush=True)
        if args.tf:
            sys.path.insert(0, __file__.rsplit("/", 1)[0])
            from tf_slim_reference import time_tf_net
            seconds = time_tf_net(name, args.batch, size, classes, args.repeats, args.research_slim)
            print(f"| {name} | eval | TF-Slim {seconds * 1e3:.1f} ms | slimtorch/TF-Slim "
                  f"{medians['slimtorch'] / seconds:.3f} |", flush=True)
        del net, tv, models, fns, inputs
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print("\n" + header + "\n" + "|---" * (header.count("|") - 1) + "|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
