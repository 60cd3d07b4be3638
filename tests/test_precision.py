"""slim.inference_model (slimtorch.precision) and ``--precision`` of
``slimtorch eval``, ``predict`` and ``export``: bf16 autocast, int8 (PT2E)
and the refusals on hardware without support.

The references are the same nets run in float32. Tolerances: bfloat16 keeps
8 significant bits (a relative rounding of 2^-9 per value), so a few layers
of it land within a few 2^-8 of the largest logit; int8 quantizes each
activation to one of 256 levels of its calibrated range (uint8, per tensor)
and each weight to 255 levels of its channel's, so each layer adds about
range/510 of error and a few layers stay within a few percent of the
largest logit (measured: 1-3 %; allowed: 8 %).
"""

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import slimtorch as slim
from slimtorch import cli, precision
from slimtorch.checkpoint import save_checkpoint, update_checkpoint_state
from slimtorch.nets import nets_factory

needs_bf16 = pytest.mark.skipif(not precision.cpu_bf16_supported(),
                                reason="this CPU has no native bfloat16 (AVX-512 BF16 / AMX)")
needs_int8 = pytest.mark.skipif(not precision.cpu_int8_supported(),
                                reason="this CPU has no int8 support (AVX-512 VNNI / AMX)")
FAST = ["--device=cpu", "--num_preprocessing_threads=0"]


def _has_torchao() -> bool:
    import importlib.util
    return importlib.util.find_spec("torchao") is not None


needs_torchao = pytest.mark.skipif(not _has_torchao(), reason="torchao is not installed")


def _small_net():
    """A conv -> batch norm -> ReLU, a residual conv, pool, fully connected
    net on 3 x 16 x 16 images; returns ``(logits, end_points)``."""
    def body(images):
        end_points = {}
        with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm):
            net = slim.conv2d(images, 8, [3, 3], scope="conv1")
            shortcut = net
            net = slim.conv2d(net, 8, [3, 3], activation_fn=None, scope="conv2")
            net = F.relu(net + shortcut)
        net = slim.max_pool2d(net, [2, 2], scope="pool")
        logits = slim.fully_connected(slim.flatten(net), 5, activation_fn=None, scope="logits")
        end_points["Predictions"] = slim.softmax(logits, scope="Predictions")
        return logits, end_points

    with slim.Graph():
        net = slim.Model(body).build((2, 3, 16, 16))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():   # batch-norm statistics that are not the identity
        for name, buffer in net.named_buffers():
            if name.endswith("moving_mean"):
                buffer.copy_(torch.randn(buffer.shape, generator=generator) * 0.1)
            elif name.endswith("moving_variance"):
                buffer.copy_(torch.rand(buffer.shape, generator=generator) + 0.5)
    return net


def _images(count: int, batch: int = 8, shape=(3, 16, 16), seed: int = 1) -> list:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *shape, generator=generator) for _ in range(count)]


# -- the library function -----------------------------------------------------------------------
def test_fp32_is_the_model_in_eval_mode():
    net = _small_net()
    assert net.training
    assert slim.inference_model(net) is net and not net.training


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ValueError, match="precision 'fp16' is not one of fp32, bf16, int8"):
        slim.inference_model(_small_net(), "fp16")


@needs_bf16
def test_bf16_is_close_to_fp32_and_returns_float32():
    net = _small_net()
    x = _images(1, 16)[0]
    with torch.no_grad():
        want, want_points = net.eval()(x)
        got, got_points = slim.inference_model(net, "bf16")(x)
    assert got.dtype == torch.float32 and got_points["Predictions"].dtype == torch.float32
    assert set(got_points) == set(want_points)
    scale = float(want.abs().max())
    assert 0 < float((got - want).abs().max()) <= 4 * 2 ** -8 * scale   # bf16 did run
    torch.testing.assert_close(got_points["Predictions"], F.softmax(got, -1), atol=1e-2, rtol=0)


@needs_bf16
def test_bf16_forwards_the_net_attributes_and_sees_restores():
    with slim.Graph():
        lenet = nets_factory.get_network_fn("lenet", 10).build((2, 1, 28, 28))
    fast = slim.inference_model(lenet, "bf16")
    assert (fast.name, fast.default_image_size, fast.num_classes) == ("lenet", 28, 10)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        before = fast(x)[0]
        lenet.LeNet.fc4.biases.add_(100.0)   # a restore into the net: the wrapper sees it
        after = fast(x)[0]
    assert float((after - before).mean()) == pytest.approx(100.0, rel=1e-2)


@needs_int8
@needs_torchao
def test_int8_is_close_to_fp32_and_really_quantized():
    net = _small_net()
    calibration = _images(4)
    x = torch.cat(_images(4, seed=2))   # 32 images the calibration did not see
    with torch.no_grad():
        want, _ = net.eval()(x)
        quantized = slim.inference_model(net, "int8", calibration)
        got, end_points = quantized(x)
        tail, _ = quantized(x[:3])   # another batch size: lowered for it too
    assert list(end_points) == ["Predictions"]
    torch.testing.assert_close(end_points["Predictions"], F.softmax(got, -1), atol=1e-5, rtol=0)
    difference = float((got - want).abs().max()) / float(want.abs().max())
    assert 0 < difference < 0.08
    assert float((got.argmax(1) == want.argmax(1)).float().mean()) >= 0.9
    torch.testing.assert_close(tail, got[:3], atol=1e-4, rtol=0)
    # oneDNN's int8 convolution (ReLU and the residual add fused in) and linear ran:
    ops = {str(node.target) for program in quantized._lowered.values()
           for node in program.graph.nodes}
    assert {"onednn.qconv_pointwise.default", "onednn.qconv2d_pointwise.binary",
            "onednn.qlinear_pointwise.default"} <= ops


@needs_int8
@needs_torchao
def test_int8_needs_calibration_batches():
    net = _small_net()
    with pytest.raises(ValueError, match="int8 needs calibration_batches"):
        slim.inference_model(net, "int8")
    with pytest.raises(ValueError, match="calibration_batches yielded no batches"):
        slim.inference_model(net, "int8", iter([]))
    with pytest.raises(ValueError, match="float image batches"):
        slim.inference_model(net, "int8", [torch.zeros(2, 3, 16, 16, dtype=torch.uint8)])


def test_refusals_name_what_is_missing(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_supported", lambda: False)
    monkeypatch.setattr(precision, "cpu_int8_supported", lambda: False)
    net = _small_net()
    with pytest.raises(precision.UnsupportedPrecisionError,
                       match="bf16 needs a CPU with AVX-512 BF16 or AMX .*--precision=fp32"):
        slim.inference_model(net, "bf16")
    with pytest.raises(precision.UnsupportedPrecisionError,
                       match="int8 needs an x86 CPU with AVX-512 VNNI or AMX.*--precision=fp32"):
        slim.inference_model(net, "int8", _images(1))
    with pytest.raises(precision.UnsupportedPrecisionError, match="int8 runs on the CPU only"):
        precision._check_int8(torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla V100")
    with pytest.raises(precision.UnsupportedPrecisionError, match="Tesla V100 has none"):
        precision._check_bf16(torch.device("cuda"))


def test_int8_without_torchao(monkeypatch):
    import sys
    for name in [n for n in sys.modules if n == "torchao" or n.startswith("torchao.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "torchao", None)
    monkeypatch.setattr(precision, "cpu_int8_supported", lambda: True)
    with pytest.raises(ImportError, match=r"int8 needs torchao: pip install 'slimtorch\[int8\]'"):
        slim.inference_model(_small_net(), "int8", _images(1))
    assert cli.main(["eval", "--precision=int8", *FAST]) == 1   # the CLI's one-line error


# -- the command line ---------------------------------------------------------------------------
def _lenet_checkpoint(directory) -> str:
    """A LeNet (10 classes) checkpoint with random weights scaled by
    1/sqrt(fan-in), so that its logits are a few units apart."""
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 10).build((1, 1, 28, 28))
    generator = torch.Generator().manual_seed(0)
    weights = {r.name: torch.randn(r.tensor.shape, generator=generator) * (
        1.4 / r.tensor[0].numel() ** 0.5 if r.tensor.dim() > 1 else 0.1) for r in net.records()}
    os.makedirs(directory, exist_ok=True)
    save_checkpoint(os.path.join(directory, "model.ckpt-7.safetensors"), weights, global_step=7)
    update_checkpoint_state(str(directory), "model.ckpt-7.safetensors", [])
    return str(directory)


def _spy(monkeypatch) -> list:
    """Records ``(precision, number of calibration batches)`` of each
    inference_model call, then makes the model."""
    calls, real = [], precision.inference_model

    def spy(model, precision_="fp32", calibration_batches=None):
        batches = None if calibration_batches is None else list(calibration_batches)
        calls.append((precision_, None if batches is None else len(batches)))
        return real(model, precision_, batches)

    monkeypatch.setattr(precision, "inference_model", spy)
    return calls


def _eval(tmp_path, *flags) -> list:
    """Each image's predicted class (--predictions_file) from 60 digits."""
    import argparse
    import csv

    from slimtorch.classifier import evaluate
    from slimtorch.classifier.flags import add_eval_flags
    path = tmp_path / "predictions.csv"
    args = add_eval_flags(argparse.ArgumentParser()).parse_args([
        f"--checkpoint_path={tmp_path / 'train'}", f"--eval_dir={tmp_path / 'eval'}",
        "--batch_size=20", "--max_num_batches=3", f"--predictions_file={path}", *FAST, *flags])
    with slim.Graph():   # each run builds its own net, as each `slimtorch eval` does
        evaluate.main(args)
    with open(path) as f:
        return [int(row["prediction"]) for row in csv.DictReader(f)]


def _agreement(a: list, b: list) -> float:
    assert len(a) == len(b) == 60
    return sum(x == y for x, y in zip(a, b)) / len(a)


@needs_bf16
def test_cli_eval_bf16(tmp_path, monkeypatch, capsys):
    _lenet_checkpoint(tmp_path / "train")
    calls = _spy(monkeypatch)
    fp32 = _eval(tmp_path)
    bf16 = _eval(tmp_path, "--precision=bf16")
    assert calls == [("bf16", None)]
    # Random weights leave some logits near ties, which bf16 may flip.
    assert _agreement(bf16, fp32) >= 0.9


@needs_int8
@needs_torchao
@pytest.mark.slow
def test_cli_eval_int8_calibrates_on_the_first_batches(tmp_path, monkeypatch):
    _lenet_checkpoint(tmp_path / "train")
    calls = _spy(monkeypatch)
    fp32 = _eval(tmp_path)
    int8 = _eval(tmp_path, "--precision=int8", "--calibration_batches=2")
    assert calls == [("int8", 2)]
    assert _agreement(int8, fp32) >= 0.85


def _pngs(directory, count: int = 3) -> list:
    os.makedirs(directory, exist_ok=True)
    generator = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = os.path.join(directory, f"{i}.png")
        Image.fromarray(generator.integers(0, 256, (28, 28), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _predict(tmp_path, *flags) -> list:
    out = tmp_path / f"top-{len(os.listdir(tmp_path))}.csv"
    assert cli.main(["predict", f"--checkpoint_path={tmp_path / 'train'}", "--top_k=1",
                     "--batch_size=2", f"--output_file={out}", *FAST, *flags,
                     str(tmp_path / "images")]) == 0
    import csv
    with open(out) as f:
        return [(row["image"], int(row["class_id"]), float(row["probability"]))
                for row in csv.DictReader(f)]


@needs_bf16
def test_cli_predict_bf16(tmp_path, monkeypatch, capsys):
    _lenet_checkpoint(tmp_path / "train")
    _pngs(tmp_path / "images")
    calls = _spy(monkeypatch)
    fp32, bf16 = _predict(tmp_path), _predict(tmp_path, "--precision=bf16")
    assert calls == [("fp32", None), ("bf16", None)]
    assert [row[:2] for row in bf16] == [row[:2] for row in fp32]
    assert np.allclose([row[2] for row in bf16], [row[2] for row in fp32], atol=0.02)


@needs_int8
@needs_torchao
@pytest.mark.slow
def test_cli_predict_int8(tmp_path, monkeypatch, capsys):
    _lenet_checkpoint(tmp_path / "train")
    _pngs(tmp_path / "images", 5)
    calls = _spy(monkeypatch)
    fp32 = _predict(tmp_path)
    int8 = _predict(tmp_path, "--precision=int8", "--calibration_batches=2")
    assert calls[-1] == ("int8", 2)   # batches of 2: the first 4 images
    assert [row[:2] for row in int8] == [row[:2] for row in fp32]


def _export(tmp_path, name: str, *flags) -> int:
    return cli.main(["export", "--model_name=lenet", "--dataset_name=digits",
                     f"--checkpoint_path={tmp_path / 'train'}",
                     f"--output_file={tmp_path / name}", *flags])


@needs_bf16
def test_cli_export_bf16(tmp_path, capsys):
    from slimtorch.tools.export import export_info
    _lenet_checkpoint(tmp_path / "train")
    assert _export(tmp_path, "fp32.pt2") == 0
    assert _export(tmp_path, "bf16.pt2", "--precision=bf16") == 0
    assert _export(tmp_path, "bf16.pt", "--precision=bf16") == 0
    assert "bf16; matches eager" in capsys.readouterr().out
    assert export_info(str(tmp_path / "bf16.pt2")).precision == "bf16"
    # bfloat16 weights: about half the file
    assert os.path.getsize(tmp_path / "bf16.pt2") < 0.6 * os.path.getsize(tmp_path / "fp32.pt2")
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        want = torch.export.load(str(tmp_path / "fp32.pt2")).module()(x)
        got = torch.export.load(str(tmp_path / "bf16.pt2")).module()(x)
    logits = "LeNet/fc4/BiasAdd"
    assert got[logits].dtype == torch.float32 and x.dtype == torch.float32
    assert float((got[logits] - want[logits]).abs().max()) <= 0.05 * float(want[logits].abs().max())
    assert _export(tmp_path, "bf16.onnx", "--precision=bf16") == 1
    assert "--precision=bf16 is written as pt2 or torchscript only, not onnx" in \
        capsys.readouterr().err


@needs_int8
@needs_torchao
@pytest.mark.slow
def test_cli_export_int8(tmp_path, capsys):
    _lenet_checkpoint(tmp_path / "train")
    assert _export(tmp_path, "fp32.pt2") == 0
    assert _export(tmp_path, "int8.pt2", "--precision=int8", "--calibration_batches=2") == 0
    assert "int8; matches eager" in capsys.readouterr().out
    # int8 weights, and no float copy of them
    assert os.path.getsize(tmp_path / "int8.pt2") < 0.3 * os.path.getsize(tmp_path / "fp32.pt2")
    program = torch.export.load(str(tmp_path / "int8.pt2"))
    stored = [*program.state_dict.values(), *program.constants.values()]
    assert {t.dtype for t in stored if t.dim() >= 2} == {torch.int8}   # every kernel
    # Images like the calibration's: digits (test split), LeNet's preprocessing.
    from slimtorch.data.factory import get_dataset
    from slimtorch.data.preprocessing import get_preprocessing
    preprocess = get_preprocessing("lenet", is_training=False)
    digits = get_dataset("digits", "test")
    x = torch.stack([preprocess(digits[i][0], 28, 28) for i in range(16)])
    with torch.no_grad():
        want = torch.export.load(str(tmp_path / "fp32.pt2")).module()(x)["LeNet/fc4/BiasAdd"]
        got = program.module()(x)["LeNet/fc4/BiasAdd"]
    assert float((got - want).abs().max()) <= 0.08 * float(want.abs().max())
    assert _export(tmp_path, "int8.pt", "--precision=int8") == 1
    assert "--precision=int8 is written as pt2 only, not torchscript" in capsys.readouterr().err
