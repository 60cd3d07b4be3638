"""Conv + batch-norm folding: a faster copy of a model for inference.

A convolution with ``normalizer_fn=slim.batch_norm`` computes, in eval mode,
``bn(conv(x)) = conv(x) * scale + shift`` per output channel. Folding puts
``scale`` into the convolution's weights and ``shift`` into a bias, so the
batch norm costs nothing. TF's graph transforms (``fold_batch_norms``) and
deployment tools do the same for export.

Eval-mode nets already run this way, with no copy: in inference each
convolution folds its batch norm on the fly, caches the folded weights and
fuses its activation (``slimtorch/layers/_fused.py``). A folded *copy* is
for graphs: traced, exported or compiled models see standard ops, so
exporting ``fold_batch_norms(model)`` leaves no batch norm in the graph.

    >>> net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='conv',
    ...                                        normalizer_fn=slim.batch_norm)).eval()
    >>> x = torch.randn(1, 3, 8, 8)
    >>> reference = net(x)
    >>> fast = slim.fold_batch_norms(net)
    >>> fast.conv.BatchNorm.folded, torch.allclose(fast(x), reference, atol=1e-6)
    (True, True)
"""

from __future__ import annotations

import copy

import torch

from .layers.conv import ConvolutionND
from .layers.norm import BatchNorm

__all__ = ["fold_batch_norms", "optimize_for_inference"]


def fold_batch_norms(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` in eval mode with every batch norm that normalizes
    a 2-D convolution (``slim.conv2d(..., normalizer_fn=slim.batch_norm)``)
    folded into it; ``model`` is unchanged.

    The copy is for inference: its folded batch norms raise if run in
    training mode, and the convolutions' new ``biases`` are not model
    variables (checkpoints keep coming from the unfolded model). Outputs
    equal the unfolded model's up to float rounding.
    """
    folded = copy.deepcopy(model).eval()
    with torch.no_grad():
        for conv in folded.modules():
            norm = conv._modules.get("BatchNorm") if isinstance(conv, ConvolutionND) else None
            if not isinstance(norm, BatchNorm) or norm.folded or conv.dims != 2:
                continue
            scale, shift = norm.eval_affine(rank=4)
            weights = conv.weights
            weights.mul_(scale.to(weights.dtype).view(-1, 1, 1, 1))
            bias = shift.to(weights.dtype)
            if conv._parameters.get("biases") is not None:   # a bias before the norm
                bias = bias + conv.biases * scale
            conv.register_parameter("biases", torch.nn.Parameter(bias, requires_grad=False))
            norm.folded = True
    return folded


def optimize_for_inference(model: torch.nn.Module, compile: bool = True) -> torch.nn.Module:
    """The fastest inference form: :func:`fold_batch_norms`, then
    ``torch.compile`` with inductor's *freezing* (weights become constants,
    so convolutions are pre-packed for oneDNN and fused with their
    activations, as TF's grappler does for TF-Slim graphs). Compiling costs
    10-30 s for a zoo net on the first call; ``compile=False`` only folds.

    Call it under ``torch.no_grad()`` (freezing is for inference). Outputs
    equal the model's up to float rounding (relative 5e-7 for the zoo's
    ResNet-50, Inception v3, VGG16 in ``scripts/bench_zoo.py --optimize``).
    """
    folded = fold_batch_norms(model)
    if not compile:
        return folded
    return torch.compile(folded, options={"freezing": True})
