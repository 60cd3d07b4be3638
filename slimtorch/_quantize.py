"""int8 post-training static quantization of a slimtorch net (PT2E, torchao).

The flow is PyTorch's current one (``torch.ao.quantization``'s successor in
the ``torchao`` package):

1. batch norms folded into their convolutions (``slim.fold_batch_norms``),
   so the quantizer sees conv -> (add) -> ReLU chains it fuses;
2. ``torch.export`` of the net's logits and predictions (the wrapper
   ``slimtorch export`` writes pt2 files with), dynamic batch; kernels
   computed from parameters (a separable convolution's depthwise kernel,
   reshaped from TF's layout) folded into constants, and each op tagged
   with its source (below);
3. ``prepare_pt2e`` with ``X86InductorQuantizer``'s default recipe: uint8
   per-tensor activations (histogram observers), int8 per-channel
   symmetric weights (it folds the batch norms step 1 left: depthwise);
4. calibration: the observers record the calibration batches;
5. ``convert_pt2e``: a reference graph (``quantize`` / ``dequantize`` around
   float ops, int8 weights), without the float weights it replaced;
6. lowered per input shape by ``torchao``'s ``lower_pt2e_quantized_to_x86``:
   inductor's freezing passes turn each ``dequantize -> conv -> quantize``
   into oneDNN's ``qconv_pointwise`` (ReLU and the residual add fused in)
   and pack the weights. It generates no code (no C++ compiler, no compile
   cache). ``torch.compile`` of the reference graph with
   ``torch._inductor.config.freezing = True`` (the flow torchao's tutorial
   shows) also fuses the elementwise ops between the int8 kernels: measured
   once on a loaded machine for ResNet-50, batch 8: lowering 23 s, compiling
   26 s, and the compiled program ran 1.6x faster than the lowered one
   (``_Int8.reference`` is there for it).

Why the source tags: ``X86InductorQuantizer`` finds its patterns by each
node's ``source_fn_stack`` (the ``nn.Module`` or function it came from),
which ``torch.export``'s default (non-strict) tracing records for
``nn.Conv2d`` modules but not for the ``F.conv2d`` calls slimtorch's layers
make: without the tags nothing is quantized, silently. :func:`_tag_sources`
writes the source of each op the quantizer knows, as
``torch.export(strict=True)`` would.
"""

from __future__ import annotations

import operator
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ._fold import fold_batch_norms
from .precision import INT8_EXTRA, _Forwarding
from .tools.export import named_outputs

__all__ = ["quantize", "quantize_reference"]

_ATEN = torch.ops.aten
# aten op -> the source X86InductorQuantizer's patterns match (an F function, operator or module).
_SOURCES = {
    _ATEN.conv2d.default: F.conv2d, _ATEN.linear.default: F.linear,
    _ATEN.relu.default: F.relu, _ATEN.relu_.default: F.relu,
    _ATEN.hardtanh.default: F.hardtanh, _ATEN.hardtanh_.default: F.hardtanh,
    # (no functional twin in torchao's table of equivalents: the module classes)
    _ATEN.relu6.default: nn.ReLU6, _ATEN.relu6_.default: nn.ReLU6,
    _ATEN.hardswish.default: nn.Hardswish, _ATEN.hardswish_.default: nn.Hardswish,
    _ATEN.silu.default: nn.SiLU, _ATEN.silu_.default: nn.SiLU,
    _ATEN.add.Tensor: operator.add, _ATEN.add_.Tensor: operator.add,
    _ATEN.max_pool2d.default: F.max_pool2d, _ATEN.avg_pool2d.default: F.avg_pool2d,
    _ATEN.adaptive_avg_pool2d.default: F.adaptive_avg_pool2d,
}


def _torchao():
    try:
        from torchao.quantization.pt2e import quantize_pt2e
        from torchao.quantization.pt2e.lowering import lower_pt2e_quantized_to_x86
        from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as x86
    except ImportError:
        raise ImportError(f"int8 needs torchao: {INT8_EXTRA}") from None
    return quantize_pt2e, x86, lower_pt2e_quantized_to_x86


def quantize_reference(model: nn.Module, images: list, names=None):
    """``(reference program, output names)``: ``model``'s logits and
    predictions (named ``names``, default ``logits`` and the net's
    predictions key) quantized by PT2E and calibrated on ``images`` (a list
    of batches), as ``convert_pt2e`` leaves them (``quantize`` /
    ``dequantize`` ops around float ones: what a pt2 file carries); the
    program returns ``{name: tensor}``."""
    quantize_pt2e, x86, _ = _torchao()
    folded = fold_batch_norms(model)
    example = images[0]
    with torch.no_grad():
        result = folded(example)
    if names is not None:
        names = list(names)
    elif isinstance(result, torch.Tensor):
        names = ["output"]
    else:
        end_points = result[1] if len(result) > 1 else {}
        names = ["logits", "predictions" if "predictions" in end_points else "Predictions"]
    wrapper = named_outputs(folded, names).eval()
    # batch >= 2 in the example: torch.export would fix a batch of 1.
    example = example if example.shape[0] > 1 else torch.cat([example, example])
    dynamic = ({0: torch.export.Dim("batch", min=1)},)
    # Traced with autograd on, as `slimtorch export` does: the layers' fused
    # eval path (taken under no_grad) is for running, not for graphs.
    program = torch.export.export(wrapper, (example,), dynamic_shapes=dynamic).module()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="torchao")
        quantizer = x86.X86InductorQuantizer()
        quantizer.set_global(x86.get_default_x86_inductor_quantization_config())
        # Weights computed from parameters (a separable convolution's
        # depthwise kernel, reshaped from TF's layout) become constants: the
        # conv + batch norm fold of prepare_pt2e wants a constant kernel.
        from torchao.quantization.pt2e.constant_fold import constant_fold
        constant_fold(program)
        _rename_constants(program, "_frozen_param", "_slimtorch_kernel")   # convert_pt2e's names
        prepared = quantize_pt2e.prepare_pt2e(_tag_sources(program), quantizer)
        for batch in images:
            prepared(batch.to(example.device))
        converted = quantize_pt2e.convert_pt2e(prepared)
    from torchao.quantization.pt2e import allow_exported_model_train_eval
    allow_exported_model_train_eval(converted)   # .eval() of a wrapper reaches it
    return _drop_unused(converted), names


def _rename_constants(graph_module: torch.fx.GraphModule, prefix: str, new_prefix: str) -> None:
    """Renames the constants named ``prefix<i>`` (constant folding's) so that
    a later pass making ``prefix<i>`` ones (``convert_pt2e``) does not clash,
    as parameters, which ``prepare_pt2e``'s batch-norm fold replaces."""
    for node in graph_module.graph.find_nodes(op="get_attr"):
        if node.target.startswith(prefix):
            new = new_prefix + node.target[len(prefix):]
            value = getattr(graph_module, node.target)
            delattr(graph_module, node.target)
            graph_module.register_parameter(new, nn.Parameter(value, requires_grad=False))
            node.target = new
    graph_module.recompile()


def _drop_unused(graph_module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Deletes the float weights the int8 constants replaced: the graph no
    longer reads them, but ``torch.export`` would save them (a pt2 file
    bigger than the float one)."""
    graph_module.graph.eliminate_dead_code()
    used = {node.target for node in graph_module.graph.nodes if node.op == "get_attr"}
    for name, _ in [*graph_module.named_parameters(), *graph_module.named_buffers()]:
        if name not in used:
            owner, _, leaf = name.rpartition(".")
            delattr(graph_module.get_submodule(owner), leaf)
    graph_module.delete_all_unused_submodules()
    graph_module.recompile()
    return graph_module


def quantize(model: nn.Module, images: list) -> nn.Module:
    """``model`` quantized to int8 and calibrated on ``images``: an
    :class:`_Int8` module (see ``slimtorch.precision``)."""
    converted, names = quantize_reference(model, images)
    return _Int8(converted, names, model).eval()


def _tag_sources(graph_module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Gives each op the quantizer knows the ``source_fn_stack`` strict
    tracing would (see the module docstring)."""
    for node in graph_module.graph.nodes:
        source = _SOURCES.get(node.target) if node.op == "call_function" else None
        if source is not None and not node.meta.get("source_fn_stack"):
            node.meta["source_fn_stack"] = [(node.name, source)]
    return graph_module


class _Int8(_Forwarding):
    """The converted program, lowered to oneDNN's int8 kernels once per
    input shape; returns ``(logits, {key: predictions})`` or one tensor."""

    def __init__(self, converted: torch.fx.GraphModule, names: list, net: nn.Module) -> None:
        super().__init__()
        self.names = names
        # Not submodules: exported programs refuse .train()/.eval(), and the
        # net is here for its attributes only.
        self.__dict__["reference"], self.__dict__["_net_ref"] = converted, net
        self._lowered = {}

    def forward(self, images: torch.Tensor):
        key = (tuple(images.shape), images.dtype)
        program = self._lowered.get(key)
        if program is None:
            _, _, lower = _torchao()
            with torch.no_grad(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                program = lower(self.reference, (images,))
            self._lowered[key] = program
        outputs = program(images)
        if len(self.names) == 1:
            return outputs[self.names[0]]
        return outputs[self.names[0]], {self.names[1]: outputs[self.names[1]]}
