"""PNASNet-5: research/slim's ``nets/nasnet/pnasnet_test.py``, translated.

TF's NHWC shapes become NCHW. research/slim's tests build training graphs
(``is_training`` defaults to True there), so these build ``slim.Model``s in
training mode. Nets are built and run on the meta device; PNASNet-5 Large's
tests are marked slow.
"""

import functools

import pytest
import torch
from torch.overrides import TorchFunctionMode

import slimtorch as slim
from slimtorch.nets import pnasnet

NETS = {
    "mobile": (pnasnet.build_pnasnet_mobile, pnasnet.pnasnet_mobile_arg_scope,
               pnasnet.mobile_imagenet_config, 224),
    "large": (pnasnet.build_pnasnet_large, pnasnet.pnasnet_large_arg_scope,
              pnasnet.large_imagenet_config, 331),
}
KINDS = ["mobile", pytest.param("large", marks=pytest.mark.slow)]


def run(kind, num_classes, batch=5, **kwargs):
    """Builds net ``kind`` (training mode) on the meta device in a fresh graph, runs it once;
    returns (output, end_points, trainable variable names)."""
    fn, scope_fn, _, size = NETS[kind]
    with slim.Graph(), slim.arg_scope(scope_fn()):
        slim.create_global_step()
        model = slim.Model(fn, num_classes=num_classes, **kwargs)
        model.build((batch, 3, size, size), device="meta")
        out, end_points = model(torch.empty(batch, 3, size, size, device="meta"))
        names = [v.name for v in slim.get_trainable_variables()]
    return out, end_points, names


@functools.lru_cache(maxsize=None)
def run_default(kind, num_classes):
    """:func:`run` with the default config, shared by the tests."""
    return run(kind, num_classes)


@pytest.mark.parametrize("kind", KINDS)
def test_build_logits(kind):
    logits, end_points, _ = run_default(kind, 1000)
    assert list(end_points["AuxLogits"].shape) == [5, 1000]
    assert list(logits.shape) == [5, 1000]
    assert list(end_points["Predictions"].shape) == [5, 1000]


@pytest.mark.parametrize("kind", KINDS)
def test_build_non_existing_layer(kind):
    # The model is built without unnecessary layers.
    _, _, names = run_default(kind, 1000)
    assert "cell_stem_0/1x1/weights" in names
    assert "cell_stem_1/comb_iter_0/right/1x1/weights" not in names


@pytest.mark.parametrize("kind, features", [("mobile", 1080),
                                            pytest.param("large", 4320, marks=pytest.mark.slow)])
def test_build_pre_logits(kind, features):
    net, end_points, _ = run_default(kind, None)
    assert "AuxLogits" not in end_points
    assert "Predictions" not in end_points
    assert net is end_points["global_pool"]   # TF: net.op.name starts with 'final_layer/Mean'
    assert list(net.shape) == [5, features]


def _expected(stem, blocks, classes=1000, batch=5):
    shapes = {"Stem": stem}
    cells = [list(shape) for count, shape in blocks for _ in range(count)]
    shapes.update({f"Cell_{i}": shape for i, shape in enumerate(cells)})
    shapes["global_pool"] = [cells[-1][0]]
    shapes.update({key: [classes] for key in ("AuxLogits", "Predictions", "Logits")})
    return {k: [batch] + v for k, v in shapes.items()}


END_POINTS = {
    "large": _expected([540, 42, 42], [(4, [1080, 42, 42]), (4, [2160, 21, 21]),
                                       (4, [4320, 11, 11])]),
    "mobile": _expected([135, 28, 28], [(3, [270, 28, 28]), (3, [540, 14, 14]),
                                        (3, [1080, 7, 7])]),
}


@pytest.mark.parametrize("kind, count", [("mobile", 14),
                                         pytest.param("large", 17, marks=pytest.mark.slow)])
def test_all_end_points_shapes(kind, count):
    expected = END_POINTS[kind]
    _, end_points, _ = run_default(kind, 1000)
    assert len(end_points) == count
    assert set(end_points) == set(expected)
    for name, shape in expected.items():
        assert list(end_points[name].shape) == shape, name


@pytest.mark.parametrize("kind", KINDS)
def test_no_aux_head(kind):
    for use_aux_head in (True, False):
        config = NETS[kind][2]()
        config.set_hparam("use_aux_head", int(use_aux_head))
        _, end_points, _ = run(kind, 1000, config=config)
        assert ("AuxLogits" in end_points) == use_aux_head


@pytest.mark.parametrize("kind, stem", [("mobile", [5, 135, 28, 28]),
                                        pytest.param("large", [5, 540, 42, 42],
                                                     marks=pytest.mark.slow)])
def test_override_hparams_data_format(kind, stem):
    # 'NCHW' was research/slim's GPU layout; slimtorch is NCHW with either value.
    config = NETS[kind][2]()
    config.set_hparam("data_format", "NCHW")
    _, end_points, _ = run(kind, 1000, config=config)
    assert list(end_points["Stem"].shape) == stem


class _Activations(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name.startswith("relu"):
            self.names.add(name)
        return func(*args, **(kwargs or {}))


def test_use_bounded_activation_mobile_model():
    for use_bounded_activation in (True, False):
        config = pnasnet.mobile_imagenet_config()
        config.set_hparam("use_bounded_activation", use_bounded_activation)
        with _Activations() as seen:
            run("mobile", 1000, batch=2, config=config)   # TF: 1 (torch batch norm needs 2)
        assert seen.names == ({"relu6"} if use_bounded_activation else {"relu"})
