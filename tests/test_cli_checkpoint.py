"""``slimtorch inspect / convert / check`` on real files."""

import pathlib
import subprocess
import sys

import pytest
import torch
import torchvision

import slimtorch as slim
from slimtorch.checkpoint import load_checkpoint, save_checkpoint
from slimtorch.cli import main
from slimtorch.nets import nets_factory


def test_inspect_lists_names_shapes_dtypes(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    save_checkpoint(str(path), {"b/biases": torch.zeros(3, dtype=torch.float16),
                                "a/weights": torch.zeros(2, 3)}, global_step=9)
    assert main(["inspect", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "a/weights  [2, 3]  float32",
        "b/biases   [3]  float16",
        "2 tensors, 9 values, format slimtorch safetensors (torch layout), global step 9"]


TF_PREFIX = pathlib.Path(__file__).parent / "golden" / "tf_checkpoints" / "v2_saver" / "model.ckpt"


def test_inspect_takes_a_file_a_prefix_or_a_directory(tmp_path, capsys):
    """The README's ``slimtorch inspect /tmp/tfmodel/model.ckpt-1000`` (the
    prefix TF users write), the file, the train_dir, and a TF prefix."""
    manager = slim.checkpoint.CheckpointManager(str(tmp_path))
    manager.save({"a/weights": torch.zeros(2, 3)}, global_step=1000)
    summary = "1 tensors, 6 values, format slimtorch safetensors (torch layout), global step 1000"
    for path in (tmp_path / "model.ckpt-1000", tmp_path / "model.ckpt-1000.safetensors",
                 tmp_path):
        assert main(["inspect", str(path)]) == 0, path
        assert capsys.readouterr().out.splitlines()[-1] == summary
    assert main(["inspect", str(TF_PREFIX)]) == 0
    assert "(tf layout)" in capsys.readouterr().out.splitlines()[-1]


def test_errors_go_to_stderr_with_status_1(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.ckpt")]) == 1
    assert "slimtorch inspect: error: checkpoint not found" in capsys.readouterr().err
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 64)
    assert main(["inspect", str(tmp_path / "junk.bin")]) == 1
    assert "not a checkpoint in a supported format" in capsys.readouterr().err


def test_check_reports_what_does_not_fit(tmp_path, capsys):
    network_fn = nets_factory.get_network_fn("lenet", 10).build((1, 1, 28, 28))
    tensors = dict(network_fn.named_variables())
    tensors.pop("LeNet/conv1/biases")
    tensors["LeNet/extra"] = torch.zeros(2)
    tensors["LeNet/fc4/biases"] = torch.zeros(7)
    path = tmp_path / "lenet.safetensors"
    save_checkpoint(str(path), tensors)
    assert main(["check", "lenet", str(path), "--num-classes", "10"]) == 1
    out, err = capsys.readouterr()
    assert "missing     1  LeNet/conv1/biases [32]" in out
    assert "unexpected  1  LeNet/extra [2]" in out
    assert "mis-shaped  1  LeNet/fc4/biases: checkpoint [7] (torch layout), model [10]" in out
    assert err == (f"slimtorch check: error: {path} does not fit lenet: 1 missing, 1 mis-shaped "
                   "(listed above); to fine-tune from it, leave these scopes out with "
                   "--checkpoint_exclude_scopes\n")


def test_check_passes_a_fitting_checkpoint_and_fails_another_net(tmp_path, capsys):
    network_fn = nets_factory.get_network_fn("lenet", 10).build((1, 1, 28, 28))
    path = tmp_path / "lenet.safetensors"
    save_checkpoint(str(path), dict(network_fn.named_variables()), global_step=3)
    assert main(["check", "lenet", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("matched     8\nmissing     0\n") and err == ""
    assert main(["check", "cifarnet", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"slimtorch check: error: {path} does not fit cifarnet: 10 missing, 0 mis-shaped "
        "(listed above); is it another net's checkpoint?")


def test_convert_that_does_not_fit_is_one_line_and_writes_nothing(tmp_path, capsys):
    network_fn = nets_factory.get_network_fn("lenet", 10).build((1, 1, 28, 28))
    src, dst = tmp_path / "lenet.safetensors", tmp_path / "out.safetensors"
    save_checkpoint(str(src), dict(network_fn.named_variables()))
    assert main(["convert", str(src), str(dst), "--net", "cifarnet"]) == 1
    out, err = capsys.readouterr()
    assert err == (f"slimtorch convert: error: {src} does not fit cifarnet: 10 missing, "
                   "0 mis-shaped; check --net and --num-classes (and --torchvision for a "
                   "torchvision file)\n")
    assert out.startswith("matched     0\nmissing     10  CifarNet/conv1/weights")
    assert not dst.exists()


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "slimtorch", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "inspect" in out and "convert" in out and "check" in out


@pytest.mark.slow
def test_convert_torchvision_vgg16_reproduces_torchvision(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.vgg16().eval()
    src, dst = tmp_path / "vgg16.pth", tmp_path / "vgg_16.safetensors"
    torch.save(tv.state_dict(), src)
    assert main(["convert", str(src), str(dst), "--net", "vgg_16", "--torchvision"]) == 0
    assert load_checkpoint(str(dst)).get_variable_to_shape_map()["vgg_16/fc6/weights"] == \
        [4096, 512, 7, 7]
    network_fn = nets_factory.get_network_fn("vgg_16", 1000)
    network_fn.build((1, 3, 224, 224), device="meta").materialize("cpu")
    slim.assign_from_checkpoint(str(dst), network_fn)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logits, _ = network_fn(images)
        expected = tv(images)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)


def _randomize_batch_norms(model):
    torch.manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize("net, constructor, size, point, tv_layer", [
    ("inception_v3", "inception_v3", 299, "MaxPool_5a_3x3", "maxpool2"),
    ("resnet_v1_50", "resnet50", 224, "resnet_v1_50/conv1", "relu"),
])
def test_convert_torchvision_inception_and_resnet(tmp_path, net, constructor, size, point,
                                                  tv_layer):
    """Every variable maps; the stems (before the nets' padding conventions
    diverge) compute exactly what torchvision computes."""
    kwargs = {"init_weights": False, "transform_input": False} if net == "inception_v3" else {}
    tv = _randomize_batch_norms(getattr(torchvision.models, constructor)(**kwargs))
    src, dst = tmp_path / "tv.pth", tmp_path / "slim.safetensors"
    torch.save(tv.state_dict(), src)
    assert main(["convert", str(src), str(dst), "--net", net, "--torchvision"]) == 0
    network_fn = nets_factory.get_network_fn(net, 1000)
    network_fn.build((1, 3, size, size), device="meta").to_empty(device="cpu")
    report = slim.assign_from_checkpoint(str(dst), network_fn)
    assert len(report.assigned) == len(network_fn.variables())
    captured = {}
    getattr(tv, tv_layer).register_forward_hook(lambda m, i, o: captured.setdefault("x", o))
    images = torch.randn(2, 3, size, size)
    with torch.no_grad():
        _, end_points = network_fn.eval()(images)
        tv(images)
    torch.testing.assert_close(end_points[point], captured["x"], rtol=1e-4, atol=1e-4)


def test_convert_moving_averages_stores_the_shadows_in_place(tmp_path, capsys):
    """research/slim's MobileNet and NASNet numbers use the moving averages:
    ``--moving_averages`` stores each ``<name>/ExponentialMovingAverage`` (a
    TF-made fixture's: every variable twice, different values) under
    ``<name>``; a variable without one (global_step) keeps its own."""
    fixture = str(pathlib.Path(__file__).parent / "golden" / "tf_nets" / "nasnet_cifar_ema")
    averaged = str(tmp_path / "ema.safetensors")
    assert main(["convert", fixture, averaged, "--moving_averages"]) == 0
    assert capsys.readouterr().out.startswith("355 tensors copied (tf layout)")
    suffix = "/ExponentialMovingAverage"
    with load_checkpoint(fixture) as tf, load_checkpoint(averaged) as converted:
        names = tf.get_variable_to_shape_map()
        shadowed = {n[: -len(suffix)] for n in names if n.endswith(suffix)}
        assert len(shadowed) == 354
        assert sorted(converted.get_variable_to_shape_map()) == sorted(n for n in names
                                                                        if not n.endswith(suffix))
        for name in converted.get_variable_to_shape_map():
            source = name + suffix if name in shadowed else name
            assert torch.equal(converted.get_torch_tensor(name),
                               torch.from_numpy(tf.get_tensor(source))), name
        some = sorted(shadowed)[0]
        assert not torch.equal(converted.get_torch_tensor(some), torch.from_numpy(tf.get_tensor(some)))
