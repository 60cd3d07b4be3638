"""NASNet-A: research/slim's ``nets/nasnet/nasnet_test.py``, translated.

TF's NHWC shapes become NCHW. research/slim's tests build training graphs
(``is_training`` defaults to True there), so these build ``slim.Model``s in
training mode (an ``nn.Module``'s default) unless a test says otherwise.
Nets are built and run on the meta device unless a test needs numbers;
NASNet-A Large's tests are marked slow.
"""

import copy
import functools
import json
import os

import pytest
import torch
from safetensors import safe_open
from torch.overrides import TorchFunctionMode

import slimtorch as slim
from slimtorch.optimization import ExponentialMovingAverage
from slimtorch.testing import random_images, relative_error
from slimtorch.nets import nasnet, pnasnet
from slimtorch.nets._nasnet_cells import NasNetANormalCell

NETS = {
    "cifar": (nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope, nasnet.cifar_config, 32),
    "mobile": (nasnet.build_nasnet_mobile, nasnet.nasnet_mobile_arg_scope,
               nasnet.mobile_imagenet_config, 224),
    "large": (nasnet.build_nasnet_large, nasnet.nasnet_large_arg_scope,
              nasnet.large_imagenet_config, 331),
}
KINDS = ["cifar", "mobile", pytest.param("large", marks=pytest.mark.slow)]
# Tests that build twice: only CIFAR's stays in the quick suite.
SLOW_IMAGENET = ["cifar"] + [pytest.param(k, marks=pytest.mark.slow) for k in ("mobile", "large")]


def small(config):
    """``config`` with 6 cells: the same widths, both reduction cells and the
    aux head, a third of the build time (for the quick suite)."""
    config.set_hparam("num_cells", 6)
    return config


def meta(batch, size):
    return torch.empty(batch, 3, size, size, device="meta")


@functools.lru_cache(maxsize=None)
def run_default(kind, num_classes):
    """:func:`run` with the default config, shared by the tests (NASNet builds take seconds)."""
    return run(kind, num_classes)


def run(kind, num_classes, batch=5, training=True, **kwargs):
    """Builds net ``kind`` on the meta device in a fresh graph and runs it once."""
    fn, scope_fn, _, size = NETS[kind]
    with slim.Graph(), slim.arg_scope(scope_fn()):
        slim.create_global_step()
        model = slim.Model(fn, num_classes=num_classes, **kwargs).train(training)
        model.build((batch, 3, size, size), device="meta")
        return model(meta(batch, size))


@pytest.mark.parametrize("kind", KINDS)
def test_build_logits(kind):
    logits, end_points = run_default(kind, 10 if kind == "cifar" else 1000)
    classes = logits.shape[1]
    assert list(end_points["AuxLogits"].shape) == [5, classes]
    assert list(logits.shape) == [5, classes]
    assert list(end_points["Predictions"].shape) == [5, classes]


@pytest.mark.parametrize("kind, features", [("cifar", 768),
                                            pytest.param("mobile", 1056, marks=pytest.mark.slow),
                                            pytest.param("large", 4032, marks=pytest.mark.slow)])
def test_build_pre_logits(kind, features):
    net, end_points = run_default(kind, None)
    assert "AuxLogits" not in end_points
    assert "Predictions" not in end_points
    # TF: net.op.name starts with 'final_layer/Mean', the global pool.
    assert net is end_points["global_pool"]
    assert list(net.shape) == [5, features]


def _expected_end_points(stem, cells, reductions, classes, batch=5):
    shapes = {"Stem": stem}
    for i, shape in enumerate(cells):
        shapes[f"Cell_{i}"] = shape
    for i, shape in enumerate(reductions):
        shapes[f"Reduction_Cell_{i}"] = shape
    shapes["global_pool"] = [cells[-1][0]]
    for key in ("AuxLogits", "Logits", "Predictions"):
        shapes[key] = [classes]
    return {k: [batch] + v for k, v in shapes.items()}


def _cells(blocks):
    """[(count, [C, H, W])] -> a shape per cell."""
    return [list(shape) for count, shape in blocks for _ in range(count)]


END_POINTS = {
    "cifar": _expected_end_points([96, 32, 32],
                                  _cells([(6, [192, 32, 32]), (6, [384, 16, 16]),
                                          (6, [768, 8, 8])]),
                                  [[256, 16, 16], [512, 8, 8]], 10),
    "mobile": _expected_end_points([88, 28, 28],
                                   _cells([(4, [264, 28, 28]), (4, [528, 14, 14]),
                                           (4, [1056, 7, 7])]),
                                   [[352, 14, 14], [704, 7, 7]], 1000),
    "large": _expected_end_points([336, 42, 42],
                                  _cells([(6, [1008, 42, 42]), (6, [2016, 21, 21]),
                                          (6, [4032, 11, 11])]),
                                  [[1344, 21, 21], [2688, 11, 11]], 1000),
}


@pytest.mark.parametrize("kind", KINDS)
def test_all_end_points_shapes(kind):
    expected = END_POINTS[kind]
    _, end_points = run_default(kind, expected["Logits"][1])
    assert set(end_points) == set(expected)
    for name, shape in expected.items():
        assert list(end_points[name].shape) == shape, name


@pytest.mark.parametrize("kind", SLOW_IMAGENET)
def test_no_aux_head(kind):
    _, _, config_fn, _ = NETS[kind]
    for use_aux_head in (True, False):
        config = small(config_fn()) if kind == "cifar" else config_fn()
        config.set_hparam("use_aux_head", int(use_aux_head))
        _, end_points = run(kind, 10, config=config)
        assert ("AuxLogits" in end_points) == use_aux_head


@pytest.mark.slow
def test_variables_set_device_mobile_model():
    # TF pins variables with tf.device; slimtorch builds them on build()'s device.
    fn, scope_fn, _, size = NETS["mobile"]
    for device in ("cpu", "meta"):
        with slim.Graph(), slim.arg_scope(scope_fn()):
            model = slim.Model(fn, num_classes=1000).build((1, 3, size, size), device=device)
            assert {v.device.type for v in model.state_dict().values()} == {device}


@pytest.mark.slow
def test_unknown_batch_size_mobile_model():
    # Built for batch 3, run on batch 1. In eval mode: torch's batch norm
    # refuses training statistics of one value per channel (the auxiliary
    # head's 1x1 maps), where TF returns zeros.
    fn, scope_fn, _, size = NETS["mobile"]
    with slim.Graph(), slim.arg_scope(scope_fn()):
        model = slim.Model(fn, num_classes=1000).eval().build((3, 3, size, size), device="cpu")
        with torch.no_grad():
            output, _ = model(torch.rand(1, 3, size, size))
    assert output.shape == (1, 1000)


@pytest.mark.slow
def test_evaluation_mobile_model():
    fn, scope_fn, _, size = NETS["mobile"]
    with slim.Graph(), slim.arg_scope(scope_fn()):
        model = slim.Model(fn, num_classes=1000, is_training=False)
        model.build((2, 3, size, size), device="cpu")
        with torch.no_grad():
            logits, end_points = model(torch.rand(2, 3, size, size))
    assert logits.argmax(1).shape == (2,)
    assert "AuxLogits" not in end_points   # research/slim's eval graph has no aux head


@pytest.mark.parametrize("kind, stem", [("cifar", [5, 96, 32, 32]),
                                        pytest.param("mobile", [5, 88, 28, 28],
                                                     marks=pytest.mark.slow),
                                        pytest.param("large", [5, 336, 42, 42],
                                                     marks=pytest.mark.slow)])
def test_override_hparams_data_format(kind, stem):
    # 'NCHW' was research/slim's GPU layout; slimtorch is NCHW with either value.
    config = small(NETS[kind][2]()) if kind == "cifar" else NETS[kind][2]()
    config.set_hparam("data_format", "NCHW")
    _, end_points = run(kind, 1000, config=config)
    assert list(end_points["Stem"].shape) == stem


def test_current_step_cifar_model():
    fn, scope_fn, _, size = NETS["cifar"]
    with slim.Graph(), slim.arg_scope(scope_fn()):
        global_step = slim.create_global_step()
        model = slim.Model(fn, num_classes=10, current_step=global_step)
        model.build((5, 3, size, size), device="meta")
        logits, end_points = model(meta(5, size))
    assert list(end_points["AuxLogits"].shape) == [5, 10]
    assert list(logits.shape) == [5, 10]
    assert list(end_points["Predictions"].shape) == [5, 10]


class _Activations(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name.startswith("relu"):
            self.names.add(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.slow
def test_use_bounded_activation_cifar_model():
    _check_bounded_activation(nasnet.cifar_config())


def test_use_bounded_activation_small_cifar_model():
    # The same check on 6 cells (both reduction cells and the aux head) of 8 filters.
    config = small(nasnet.cifar_config())
    config.set_hparam("num_conv_filters", 8)
    _check_bounded_activation(config)


def _check_bounded_activation(base_config):
    for use_bounded_activation in (True, False):
        config = copy.deepcopy(base_config)
        config.set_hparam("use_bounded_activation", use_bounded_activation)
        with _Activations() as seen:
            run("cifar", 10, batch=2, config=config)   # TF: 1 (torch batch norm needs 2)
        assert seen.names == ({"relu6"} if use_bounded_activation else {"relu"})


# -- slimtorch-specific ---------------------------------------------------------------------

def test_eval_build_has_no_aux_head_and_train_mode_skips_it():
    fn, scope_fn, _, size = NETS["cifar"]
    with slim.Graph(), slim.arg_scope(scope_fn()):
        model = slim.Model(fn, num_classes=10, config=small(nasnet.cifar_config()))
        model.eval().build((1, 3, size, size), device="meta")
        assert not any(v.name.startswith("aux_") for v in model.variables())
        _, end_points = model.train()(meta(2, size))
    assert "AuxLogits" not in end_points


def test_drop_path_follows_the_schedule():
    x = torch.ones(1000, 1, 1, 1)
    cell = NasNetANormalCell(32, 0.6, 20, 100)
    cell._cell_num = 19                                   # the last cell: keep 0.6 at the end
    with slim.Graph():
        assert torch.equal(cell._apply_drop_path(x, current_step=0), x)   # keep 1 at step 0
        dropped = cell._apply_drop_path(x, current_step=100)
    assert set(dropped.flatten().tolist()) <= {0.0, torch.tensor(1 / 0.6).item()}
    assert 0.5 < (dropped > 0).float().mean().item() < 0.7


def test_set_hparam_refuses_unknown_names():
    with pytest.raises(ValueError, match="Unknown hyperparameter 'num_cell'"):
        nasnet.cifar_config().set_hparam("num_cell", 3)


# -- research/slim's evaluation with moving averages ------------------------------------

TF_NETS = os.path.join(os.path.dirname(__file__), "golden", "tf_nets")
# case -> (config, arg_scope, build function), as scripts/make_tf_nasnet_ema_fixture.py built them
EMA_CASES = {
    "nasnet_cifar_ema": (nasnet.cifar_config, nasnet.nasnet_cifar_arg_scope,
                         nasnet.build_nasnet_cifar),
    "pnasnet_mobile_ema": (pnasnet.mobile_imagenet_config, pnasnet.pnasnet_mobile_arg_scope,
                           pnasnet.build_pnasnet_mobile),
}


@pytest.mark.parametrize("case", sorted(EMA_CASES))
def test_moving_average_names_restore_as_research_slim_evaluates(case):
    # A real TF checkpoint (scripts/make_tf_nasnet_ema_fixture.py) with every
    # model variable twice, as <name> and <name>/ExponentialMovingAverage
    # (different values), and the logits of research/slim's eval path:
    # ema.variables_to_restore(slim.get_model_variables()).
    fixture = os.path.join(TF_NETS, case)
    config_fn, scope_fn, build_fn = EMA_CASES[case]
    with safe_open(fixture + ".logits.safetensors", "np") as f:
        meta, expected = f.metadata(), f.get_tensor("logits")
    config = config_fn()
    for name, value in json.loads(meta["hparams"]).items():
        config.set_hparam(name, value)
    size, batch = int(meta["image_size"]), int(meta["batch"])
    images = torch.from_numpy(random_images(batch, 3, size, int(meta["seed"])))
    with slim.Graph(), slim.arg_scope(scope_fn()):
        model = slim.Model(build_fn, num_classes=int(meta["num_classes"]), config=config).eval()
        model.build(tuple(images.shape))
        model_variables = slim.get_model_variables()
        to_restore = ExponentialMovingAverage(model_variables, 0.9999).variables_to_restore()
        report = slim.assign_from_checkpoint_fn(fixture, to_restore)()
        with torch.no_grad():
            logits, _ = model(images)
    # Every model variable, batch norm's moving statistics included, from its shadow.
    assert len(report.assigned) == len(model_variables) > 300
    assert sum(name.endswith("/moving_mean/ExponentialMovingAverage")
               for name in report.assigned) > 40
    assert all(name.endswith("/ExponentialMovingAverage") for name in report.assigned)
    assert relative_error(logits.numpy(), expected) <= 1e-4
