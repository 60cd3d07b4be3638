"""fp32 vs bf16 vs int8 inference (slim.inference_model), measured in one run.

For each net: the eval forward's median time at each precision (rounds
alternate between the precisions, so load changes hit all three alike; the
ratios are to fp32 of the same run), top-1 agreement with fp32 on
``--inputs`` fixed synthetic images (seeded uniform [-1, 1], the range of the
inception-style preprocessing), the largest logit difference relative to
fp32's largest logit, and how many distinct classes fp32 predicts on them
(an untrained net that predicts one class for everything would agree
trivially). Weights: each net's own initializers (``--weights=init``,
TF-Slim's) or ``slimtorch.testing.assign_random_weights``
(``--weights=random``), then every batch norm's statistics set from its
input on 32 synthetic images (:func:`normalize_batch_norms`); no trained
checkpoint is read. int8 calibrates on 10 batches of other synthetic images.

Then the digits: LeNet trained on the embedded digits (``slimtorch train
--max_number_of_steps=300`` into ``--digits_dir`` unless a checkpoint is
there) and evaluated on the digits' test split at each precision.

    python scripts/bench_precision.py --nets=resnet_v1_50 --inputs=1000
    python scripts/bench_precision.py --nets=lenet --skip_digits --inputs=64   # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import torch

import slimtorch as slim
from slimtorch.nets import nets_factory
from slimtorch.precision import PRECISIONS, inference_model

SIZES = {"lenet": 28}


def build(name: str, weights: str, batch: int):
    classes = 10 if name in ("lenet", "cifarnet") else 1000
    with slim.Graph():
        net = nets_factory.get_network_fn(name, classes)
        shape = net.input_shape(batch, SIZES.get(name))
        net.build(shape)
        if weights == "random":
            from slimtorch.testing import assign_random_weights
            assign_random_weights(net)
    net.eval()
    normalize_batch_norms(net, inputs(shape, 32, 32, seed=2)[0])
    return net, shape


def normalize_batch_norms(net, images) -> int:
    """Sets each batch norm's moving statistics to the mean and variance of
    its input on ``images``, layer after layer in one forward pass (a
    data-dependent initialization): untrained nets then have activations of
    a trained net's scale, not vanishing (mobilenets: logits of 1e-15) or
    exploding ones, so quantization meets realistic ranges. Returns how many."""
    from slimtorch.layers.norm import BatchNorm

    def set_statistics(module, args):
        x = args[0]
        dims = [d for d in range(x.dim()) if d != 1]
        with torch.no_grad():
            module.moving_mean.copy_(x.mean(dims))
            module.moving_variance.copy_(x.var(dims, unbiased=False))

    norms = [m for m in net.modules() if isinstance(m, BatchNorm)]
    handles = [m.register_forward_pre_hook(set_statistics) for m in norms]
    try:
        with torch.enable_grad():   # the plain path, where each batch norm runs as itself
            net(images)
    finally:
        for handle in handles:
            handle.remove()
    return len(norms)


def inputs(shape, count: int, batch: int, seed: int = 0) -> list:
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand((batch, *shape[1:]), generator=generator) * 2 - 1
            for _ in range(-(-count // batch))]


def logits_of(result):
    return result[0] if isinstance(result, (tuple, list)) else result


def bench_net(name: str, args) -> None:
    net, shape = build(name, args.weights, args.batch_size)
    images = inputs(shape, args.inputs, args.agreement_batch)
    calibration = inputs(shape, 10 * args.batch_size, args.batch_size, seed=1)
    models = {}
    for precision in args.precisions:
        start = time.perf_counter()
        models[precision] = inference_model(net, precision, calibration if precision == "int8"
                                            else None)
        with torch.no_grad():   # int8: lowers for the shapes used below
            models[precision](calibration[0])
            models[precision](images[0])
        print(f"  {name} {precision}: ready in {time.perf_counter() - start:.1f} s", flush=True)

    # speed: alternating rounds, one forward of --batch_size each
    times = {p: [] for p in models}
    x = calibration[0]
    with torch.no_grad():
        for _ in range(args.rounds):
            for precision, model in models.items():
                start = time.perf_counter()
                model(x)
                times[precision].append(time.perf_counter() - start)
    medians = {p: statistics.median(t) for p, t in times.items()}

    # agreement with fp32 on the synthetic inputs
    with torch.no_grad():
        outputs = {p: torch.cat([logits_of(m(batch)) for batch in images])[:args.inputs]
                   for p, m in models.items()}
    reference = outputs["fp32"]
    top1 = reference.argmax(1)
    scale = float(reference.abs().max())
    for precision in models:
        line = (f"{name:14s} {precision:5s} batch {args.batch_size}: {medians[precision] * 1e3:8.1f} ms"
                f"  ({medians['fp32'] / medians[precision]:.2f}x fp32's speed)")
        if precision != "fp32":
            agree = float((outputs[precision].argmax(1) == top1).float().mean())
            top5 = outputs[precision].topk(min(5, reference.shape[1]), 1).indices
            within = float((top5 == top1[:, None]).any(1).float().mean())
            error = float((outputs[precision] - reference).abs().max()) / scale
            line += (f"  top-1 agreement {agree * 100:.1f} % of {args.inputs}"
                     f" (fp32's top-1 in its top-5: {within * 100:.1f} %)"
                     f"  max |logit diff| {error * 100:.2f} % of max |logit|")
        else:
            # An untrained net's logits are nearly level: its top-1 margin (the
            # gap to the runner-up) says how little rounding can flip it.
            best = reference.topk(2, 1).values
            margin = float((best[:, 0] - best[:, 1]).median()) / scale
            line += (f"  fp32 predicts {len(top1.unique())} distinct classes, median top-1 "
                     f"margin {margin * 100:.2f} % of max |logit|")
        print(line, flush=True)


def digits(args) -> None:
    from slimtorch import cli
    from slimtorch.classifier import evaluate
    from slimtorch.classifier.flags import add_eval_flags
    from slimtorch.checkpoint import latest_checkpoint
    if not (os.path.isdir(args.digits_dir) and latest_checkpoint(args.digits_dir)):
        print(f"training lenet on digits into {args.digits_dir} (300 steps)", flush=True)
        assert cli.main(["train", "--max_number_of_steps=300",
                         f"--train_dir={args.digits_dir}"]) == 0
    results = {}
    for precision in args.precisions:
        flags = add_eval_flags(argparse.ArgumentParser()).parse_args([
            f"--checkpoint_path={args.digits_dir}", f"--precision={precision}", "--device=cpu",
            f"--eval_dir={os.path.join(args.digits_dir, 'eval_' + precision)}"])
        with slim.Graph():
            results[precision] = evaluate.main(flags)["eval/Accuracy"]
    for precision, accuracy in results.items():
        print(f"digits lenet  {precision:5s} accuracy {accuracy * 100:.2f} %  "
              f"({(accuracy - results['fp32']) * 100:+.2f} points vs fp32)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default="resnet_v1_50,vgg_16,inception_v3,mobilenet_v2")
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--agreement_batch", type=int, default=50)
    parser.add_argument("--weights", choices=["init", "random"], default="init")
    parser.add_argument("--digits_dir", default="/tmp/p_digits")
    parser.add_argument("--skip_digits", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    args.precisions = [p for p in args.precisions.split(",") if p]
    if "fp32" not in args.precisions:
        args.precisions.insert(0, "fp32")
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CPU {torch.backends.cpu.get_cpu_capability()}", flush=True)
    for name in [n for n in args.nets.split(",") if n]:
        bench_net(name, args)
    if not args.skip_digits:
        digits(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
