"""The catalogue of user mistakes: each produces exactly this message.

A message changes only on purpose: these strings are what a user sees, so a
test pins each one (type and full text; temporary paths substituted).
"""

import os

import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import CheckpointError, save_checkpoint
from slimtorch.variables import NotBuiltError


def _message(error_type, fn) -> str:
    with pytest.raises(error_type) as info:
        fn()
    return str(info.value)


def test_undecorated_op_in_arg_scope():
    def my_op(x, alpha=1):
        return x
    text = _message(ValueError, lambda: slim.arg_scope([my_op], alpha=2).__enter__())
    assert text == ("test_undecorated_op_in_arg_scope.<locals>.my_op is not decorated with "
                    "@add_arg_scope, so it cannot be used in arg_scope; decorate it with "
                    "@slim.add_arg_scope")


def test_unknown_scoped_keyword():
    text = _message(slim.ScopedArgumentError,
                    lambda: slim.arg_scope([slim.conv2d], kernal_size=3).__enter__())
    assert text == ("arg_scope: convolution2d() does not accept the keyword argument "
                    "'kernal_size' (did you mean 'kernel_size'?)")


def test_duplicate_scope():
    model = slim.Model(lambda x: slim.conv2d(slim.conv2d(x, 4, [3, 3], scope="c"), 4, [3, 3],
                                             scope="c"))
    text = _message(ValueError, lambda: model(torch.zeros(1, 3, 8, 8)))
    assert text == ("Variable c/weights already exists, disallowed: layer scope 'c' is used "
                    "twice. Give each layer its own scope, or pass reuse=True to share it.")


def test_reuse_of_a_missing_scope():
    model = slim.Model(lambda x: slim.conv2d(x, 4, [3, 3], scope="c", reuse=True))
    text = _message(ValueError, lambda: model(torch.zeros(1, 3, 8, 8)))
    assert text == ("Variable c/weights does not exist: layer 'c' was not created before. "
                    "Did you mean to set reuse=None or reuse=slim.AUTO_REUSE?")


def test_wrong_input_rank_and_channels():
    model = slim.Model(lambda x: slim.conv2d(x, 4, [3, 3], scope="c"))
    assert _message(ValueError, lambda: model(torch.zeros(3, 8, 8))) == \
        "c: conv2d expects a 4-D input [N, C, H, W], got [3, 8, 8]"
    model(torch.zeros(1, 3, 8, 8))
    assert _message(ValueError, lambda: model(torch.zeros(1, 5, 8, 8))) == \
        "c: expected input of shape [N, 3, H, W] (NCHW), got [1, 5, 8, 8]"


def test_variable_created_after_build():
    grow = {"on": False}

    def fn(x):
        x = slim.conv2d(x, 4, [3, 3], scope="c")
        return slim.conv2d(x, 4, [3, 3], scope="d") if grow["on"] else x
    model = slim.Model(fn)
    model(torch.zeros(1, 3, 8, 8))
    grow["on"] = True
    assert _message(NotBuiltError, lambda: model(torch.zeros(1, 3, 8, 8))) == (
        "layer 'd' does not exist: Model(fn) was built without it (the build call did not "
        "take this code path). Call `model.build(example, **kwargs)` with arguments that "
        "reach it before creating the optimizer; a built model cannot grow afterwards.")


def test_checkpoint_shape_mismatch(tmp_path):
    model = slim.Model(lambda x: slim.fully_connected(x, 4, scope="fc"))
    model(torch.zeros(1, 3))
    path = str(tmp_path / "a.safetensors")
    save_checkpoint(path, {"fc/weights": torch.zeros(5, 3), "fc/biases": torch.zeros(4)})
    text = _message(CheckpointError, lambda: slim.assign_from_checkpoint(path, model))
    assert text == (
        f"cannot restore from {path} (1 problem; nothing was assigned):\n"
        "  fc/weights: checkpoint shape [5, 3] (torch layout), model shape [4, 3]\n"
        "(ignore_missing_vars=True skips missing names; skip_mismatched_shapes=True skips "
        "mismatched shapes; exclude scopes with get_variables_to_restore(exclude=...))")


def test_missing_checkpoint():
    model = slim.Model(lambda x: slim.fully_connected(x, 4, scope="fc"))
    model(torch.zeros(1, 3))
    text = _message(CheckpointError,
                    lambda: slim.assign_from_checkpoint("/no/such/model.ckpt", model))
    assert text == ("checkpoint not found: /no/such/model.ckpt (expected a file, a TF prefix "
                    "with a .index file, or a directory with a 'checkpoint' file)")


def test_unknown_net_name():
    text = _message(ValueError, lambda: slim.nets.nets_factory.get_network_fn("resnet50", 10))
    assert text.startswith("Name of network unknown resnet50 (known: alexnet_v2, cifarnet, ")
    assert "resnet_v1_50" in text and text.endswith("vgg_19, vgg_a)")


def test_unknown_dataset():
    assert _message(ValueError, lambda: slim.data.get_dataset("imagenet2012", "train")) == (
        "unknown dataset 'imagenet2012'; known datasets: digits, mnist, cifar10, flowers, "
        "imagenet, folder, synthetic, tfrecord")


def test_mismatched_metric_shapes():
    text = _message(ValueError, lambda: slim.metrics.streaming_accuracy(torch.zeros(4),
                                                                         torch.zeros(5)))
    assert text == ("streaming_accuracy 'accuracy': predictions of shape [4] and labels of "
                    "shape [5] must have the same shape")
    text = _message(ValueError, lambda: slim.metrics.streaming_recall_at_k(
        torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), k=5))
    assert "streaming_recall_at_k" in text and "k=5" in text


def test_torchrun_environment_incomplete(monkeypatch):
    for key in ("LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _message(RuntimeError, slim.distributed.init_from_env) == (
        "torchrun environment incomplete: RANK, WORLD_SIZE are set but LOCAL_RANK, "
        "MASTER_ADDR, MASTER_PORT are not; launch with `torchrun --nproc-per-node=N "
        "script.py`, set all of RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, or "
        "unset them all for a single process")


def test_cli_mistakes_are_one_line(capsys, tmp_path):
    from slimtorch import cli

    assert cli.main(["train", "--model_name=resnet50", f"--train_dir={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("slimtorch train: error: Name of network "
                                                   "unknown resnet50")
    assert not os.listdir(tmp_path)   # nothing written


def _first_call(name, shape, dtype=torch.float32):
    """The error of ``name``'s first call on a meta batch of this shape."""
    with slim.Graph():
        network_fn = slim.nets.nets_factory.get_network_fn(name, 10)
        return _message(ValueError, lambda: network_fn.build(shape, device="meta", dtype=dtype))


VGG = "vgg_16: expected float images [N, 3, H, W] (NCHW), got "
ZOO_FIRST_CALLS = [
    ("vgg_16", (1, 224, 224, 3), torch.float32,
     VGG + "float32 [1, 224, 224, 3]: channels-last (NHWC); use images.permute(0, 3, 1, 2)"),
    ("vgg_16", (1, 1, 224, 224), torch.float32,
     VGG + "float32 [1, 1, 224, 224]: 1 channel instead of 3; repeat the grey channel: "
     "images.expand(-1, 3, -1, -1)"),
    ("vgg_16", (1, 4, 224, 224), torch.float32,
     VGG + "float32 [1, 4, 224, 224]: 4 channels instead of 3; drop the alpha channel: "
     "images[:, :3]"),
    ("vgg_16", (1, 5, 224, 224), torch.float32,
     VGG + "float32 [1, 5, 224, 224]: 5 channels instead of 3; convert the images to 3 channels"),
    ("lenet", (1, 3, 28, 28), torch.float32,
     "lenet: expected float images [N, 1, H, W] (NCHW), got float32 [1, 3, 28, 28]: 3 channels "
     "instead of 1; convert them to grey: images[:, :3].mean(1, keepdim=True)"),
    ("vgg_16", (1, 3, 224, 224), torch.uint8,
     VGG + "uint8 [1, 3, 224, 224]: integer pixels; use images.float() / 255, or the net's "
     "preprocessing: slimtorch.data.preprocessing.get_preprocessing('vgg_16')"),
    ("alexnet_v2", (1, 3, 224, 224), torch.uint8,   # research/slim names no preprocessing
     "alexnet_v2: expected float images [N, 3, H, W] (NCHW), got uint8 [1, 3, 224, 224]: integer "
     "pixels; use images.float() / 255"),
    ("vgg_16", (1, 224, 224, 3), torch.uint8,
     VGG + "uint8 [1, 224, 224, 3]: channels-last (NHWC); use images.permute(0, 3, 1, 2). Also "
     "integer pixels; use images.float() / 255, or the net's preprocessing: "
     "slimtorch.data.preprocessing.get_preprocessing('vgg_16')"),
    ("vgg_16", (1, 3, 224, 224), torch.float64,
     VGG + "float64 [1, 3, 224, 224]: float64 would build float64 variables; use images.float()"),
    ("vgg_16", (1, 3, 100, 100), torch.float32,
     "vgg_16: expected float images [N, 3, H, W] (NCHW) with H and W >= 224, got float32 "
     "[1, 3, 100, 100]: too small; resize the images to at least 224x224"),
    ("vgg_16", (3, 224, 224), torch.float32,
     VGG + "float32 [3, 224, 224]: one image, not a batch; use images.unsqueeze(0)"),
    ("vgg_16", (224, 224, 3), torch.float32,
     VGG + "float32 [224, 224, 3]: one channels-last image, not a batch; use "
     "images.permute(2, 0, 1).unsqueeze(0)"),
]


@pytest.mark.parametrize("name,shape,dtype,expected", ZOO_FIRST_CALLS,
                         ids=[f"{n}-{list(s)}-{d}" for n, s, d, _ in ZOO_FIRST_CALLS])
def test_zoo_net_first_call_mistakes(name, shape, dtype, expected):
    assert _first_call(name, shape, dtype) == expected


def test_zoo_net_given_a_list():
    network_fn = slim.nets.nets_factory.get_network_fn("vgg_16", 10)
    assert _message(ValueError, lambda: network_fn([[0.0]])) == (
        VGG + "a list: not a tensor; use torch.as_tensor(images)")


def test_plain_model_given_channels_last_images():
    model = slim.Model(lambda x: slim.conv2d(x, 4, [3, 3], scope="c"))
    assert _message(ValueError, lambda: model(torch.zeros(1, 32, 32, 3))) == (
        "Model(<lambda>): the input [1, 32, 32, 3] looks channels-last (NHWC), but slim layers "
        "take [N, C, H, W] (NCHW); use images.permute(0, 3, 1, 2) (or declare "
        "input_spec=slim.InputSpec() if this layout is meant)")


def test_restore_before_the_model_is_built():
    expected = "no variables yet: build the model first (call it once, or `Model.build(shape)`)"
    with slim.Graph():
        model = slim.Model(lambda x: slim.fully_connected(x, 4, scope="fc"))
        assert _message(ValueError, lambda: slim.get_variables_to_restore(exclude=["fc"])) == \
            "get_variables_to_restore: " + expected
        assert _message(ValueError, lambda: slim.assign_from_checkpoint_fn("m.ckpt", [])) == \
            "assign_from_checkpoint_fn: " + expected
        assert _message(ValueError, lambda: slim.assign_from_checkpoint("m.ckpt", model)) == \
            "assign_from_checkpoint: " + expected


def test_one_batch_metric_in_aggregate_metric_map():
    batch_accuracy = slim.metrics.accuracy(torch.tensor([1, 2]), torch.tensor([1, 0]))
    assert _message(TypeError, lambda: slim.metrics.aggregate_metric_map(
        {"eval/Accuracy": batch_accuracy})) == (
        "aggregate_metric_map: entry 'eval/Accuracy' is a tensor (one batch's value), not a "
        "(value, update) pair; use a streaming metric, e.g. slim.metrics.streaming_accuracy(...) "
        "instead of slim.metrics.accuracy(...)")
    assert _message(TypeError, lambda: slim.metrics.aggregate_metrics(
        slim.metrics.streaming_mean(), (batch_accuracy, batch_accuracy))) == (
        "aggregate_metrics: argument 1 is a tuple of (Tensor, Tensor), not a (value, update) "
        "pair; use a streaming metric, e.g. slim.metrics.streaming_accuracy(...) instead of "
        "slim.metrics.accuracy(...)")


def test_tf_slim_evaluation_signature_without_data(tmp_path):
    assert _message(TypeError, lambda: slim.evaluation.evaluation_loop(
        "local", str(tmp_path), str(tmp_path / "eval"), eval_op=print)) == (
        "evaluation_loop: called with TF-Slim's signature (master first), which has no data "
        "argument; pass the batches as data=...")
