"""``slim.export`` and ``slimtorch export``: each format loads back with its own
runtime (``torch.export.load``, ``torch.jit.load``, onnxruntime) and computes
eager's logits and softmax at batch sizes other than the example's; names,
labels and the TF checkpoint's weights travel with the file."""

import importlib.util
import json
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open

import slimtorch as slim
from slimtorch import cli
from slimtorch.nets import nets_factory
from slimtorch.testing import assign_random_weights, random_images, relative_error
from slimtorch.tools.export import export_info, graph_names, load_labels

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None and \
    importlib.util.find_spec("onnxscript") is not None
NEEDS_ONNX = pytest.mark.skipif(not HAS_ORT, reason="needs slimtorch[onnx]")
ENDING = {"pt2": ".pt2", "torchscript": ".pt", "onnx": ".onnx"}
TF_FIXTURE = os.path.join(os.path.dirname(__file__), "golden", "tf_nets", "mobilenet_v1_025")


def load_and_run(path, fmt, images):
    """The exported file run by its own runtime: ``{output name: array}``."""
    if fmt == "pt2":
        with torch.no_grad():
            return {k: v.numpy() for k, v in torch.export.load(path).module()(images).items()}
    if fmt == "torchscript":
        with torch.no_grad(), pytest.warns(FutureWarning):   # torch >= 2.10: "deprecated"
            module = torch.jit.load(path)
        with torch.no_grad():
            return {k: v.numpy() for k, v in module(images).items()}
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": images.numpy()})))


def random_net(name, classes, size):
    with slim.Graph():
        net = nets_factory.get_network_fn(name, classes)
        net.build(net.input_shape(1, size))
        assign_random_weights(net, seed=3)
    return net.eval()


# lenet: convs and fully connected layers; cifarnet: LRN too; mobilenet_v1_025 at
# 64: batch norm, depthwise convs and the pool shrunk to the 2x2 map (its kernel
# size read off a shape: torch.jit.trace's trap). Every net in every format: the
# slow test_export_zoo.py.
@pytest.mark.parametrize("name,classes,size,fmt", [
    ("lenet", 10, 28, "pt2"), ("lenet", 10, 28, "torchscript"),
    pytest.param("lenet", 10, 28, "onnx", marks=NEEDS_ONNX),
    ("cifarnet", 7, 32, "pt2"), pytest.param("cifarnet", 7, 32, "onnx", marks=NEEDS_ONNX),
    ("mobilenet_v1_025", 5, 64, "torchscript")])
def test_export_loads_back_and_equals_eager_at_any_batch(tmp_path, fmt, name, classes, size):
    net = random_net(name, classes, size)
    labels = [f"class {i}" for i in range(classes)]
    path = str(tmp_path / f"{name}{ENDING[fmt]}")
    info = slim.export(net, path, image_size=size, labels=labels)
    assert info.format == fmt and info.input_name == "input"
    assert info.output_names == graph_names(name) and info.input_shape[0] is None
    assert info.max_difference <= 1e-5
    for batch in (1, 3):   # the export traced a batch of 2
        images = torch.from_numpy(random_images(batch, net.input_channels, size, seed=batch))
        with torch.no_grad():
            logits, _ = net(images)
        got = load_and_run(path, fmt, images)
        assert list(got) == list(graph_names(name))
        assert relative_error(got[info.output_names[0]], logits.numpy()) <= 1e-5
        assert relative_error(got[info.output_names[1]], torch.softmax(logits, 1).numpy()) <= 1e-5
    assert load_labels(path) == dict(enumerate(labels))
    assert export_info(path).output_names == info.output_names


def test_research_slim_graph_names():
    # The names research/slim users freeze and serve (its export_inference_graph docstring,
    # the MobileNet and NASNet READMEs).
    assert graph_names("inception_v3")[1] == "InceptionV3/Predictions/Reshape_1"
    assert graph_names("vgg_16")[0] == "vgg_16/fc8/squeezed"
    assert graph_names("mobilenet_v1")[1] == "MobilenetV1/Predictions/Reshape_1"
    assert graph_names("mobilenet_v2_140") == ("MobilenetV2/Logits/output",
                                               "MobilenetV2/Predictions/Reshape_1")
    assert graph_names("resnet_v2_50")[1] == "resnet_v2_50/predictions/Reshape_1"
    assert graph_names("pnasnet_large")[1] == "final_layer/predictions"
    assert graph_names("inception_v1")[1] == "InceptionV1/Logits/Predictions/Reshape_1"
    assert {name for name in nets_factory.network_names() if graph_names(name)} == \
        set(nets_factory.network_names())


def test_tf_checkpoint_is_baked_in(tmp_path):
    """research/slim's MobileNet v1 0.25 saved by tf.train.Saver, exported from
    the checkpoint, computes the logits TF-Slim computed."""
    with safe_open(TF_FIXTURE + ".logits.safetensors", "np") as f:
        meta, tf_logits = f.metadata(), f.get_tensor("logits")
    path = str(tmp_path / "m.pt")
    slim.export("mobilenet_v1_025", path, num_classes=int(meta["num_classes"]),
                checkpoint_path=TF_FIXTURE)
    images = torch.from_numpy(random_images(int(meta["batch"]), 3, int(meta["image_size"]),
                                            int(meta["seed"])))
    got = load_and_run(path, "torchscript", images)
    assert relative_error(got["MobilenetV1/Logits/SpatialSqueeze"], tf_logits) <= 1e-4


def test_labels_file_with_offset_and_slim_model_outputs(tmp_path):
    # research/slim's ImageNet labels.txt has 0:background; a 1000-class net drops it.
    slim.data.dataset_utils.write_label_file({0: "background", 1: "cat", 2: "dog", 3: "fox"},
                                             str(tmp_path))

    def mlp(x):
        return slim.fully_connected(slim.flatten(x), 3, activation_fn=None, scope="fc")
    with slim.Graph():
        model = slim.Model(mlp, input_spec=slim.InputSpec())
        model.build((1, 4))
    path = str(tmp_path / "mlp.pt")
    info = slim.export(model, path, input_shape=(1, 4), labels=str(tmp_path / "labels.txt"),
                       labels_offset=1)
    assert info.output_names == ("output",) and info.model_name == ""
    assert load_labels(path) == {0: "cat", 1: "dog", 2: "fox"}
    x = torch.randn(5, 4)
    assert relative_error(load_and_run(path, "torchscript", x)["output"],
                          model(x).detach().numpy()) <= 1e-6
    with pytest.raises(ValueError, match=r"4 names do not fit the net's 3 classes with "
                                         r"labels_offset 0 \(ids \[3\]"):
        slim.export(model, path, input_shape=(1, 4), labels=str(tmp_path / "labels.txt"))


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_mistakes_are_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="lenet needs num_classes"):
        slim.export("lenet", str(tmp_path / "a.pt2"))
    with pytest.raises(ValueError, match="format 'tflite' is not one of pt2, onnx, torchscript"):
        slim.export("lenet", str(tmp_path / "a.pt2"), "tflite", num_classes=10)
    with pytest.raises(ValueError, match="Name of network unknown lenet5"):
        slim.export("lenet5", str(tmp_path / "a.pt2"), num_classes=10)
    with pytest.raises(ValueError, match="pass input_shape"):
        slim.export(torch.nn.Linear(2, 2), str(tmp_path / "a.pt2"))
    with pytest.raises(ValueError, match="was not written by slimtorch's export"):
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp_path / "plain.pt"))
        export_info(str(tmp_path / "plain.pt"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("onnx") else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install "slimtorch\[onnx\]"'):
        slim.export("lenet", str(tmp_path / "a.onnx"), num_classes=10)
    assert not (tmp_path / "a.onnx").exists()


def test_cli_export_with_dataset_labels_and_checkpoint(tmp_path, capsys):
    # research/slim's flags: the digits' 10 classes, the dataset_dir's labels.txt embedded.
    names = {i: f"digit {i}" for i in range(10)}
    slim.data.dataset_utils.write_label_file(names, str(tmp_path))
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 10).build((1, 1, 28, 28))
        assign_random_weights(net, seed=5)
        slim.checkpoint.save_checkpoint(str(tmp_path / "model.safetensors"),
                                        {k: v.detach() for k, v in net.named_variables().items()})
    out = str(tmp_path / "lenet.pt2")
    assert cli.main(["export", "--model_name=lenet", "--dataset_name=digits",
                     f"--dataset_dir={tmp_path}", f"--checkpoint_path={tmp_path / 'model.safetensors'}",
                     f"--output_file={out}", "--batch_size=3"]) == 0
    assert "input input [3, 1, 28, 28], outputs LeNet/fc4/BiasAdd, Predictions/Reshape_1, " \
        "10 labels" in capsys.readouterr().out
    assert load_labels(out) == names
    images = torch.from_numpy(random_images(3, 1, 28, seed=9))
    with torch.no_grad():
        logits = net.eval()(images)[0].numpy()
    assert relative_error(load_and_run(out, "pt2", images)["LeNet/fc4/BiasAdd"], logits) <= 1e-5
    assert json.loads(_extra(out, "slimtorch_export.json"))["input_shape"] == [3, 1, 28, 28]
    with pytest.raises(AssertionError, match=r"input.size\(\)\[0\] == 3"):   # fixed is fixed
        load_and_run(out, "pt2", images[:1])


@pytest.mark.parametrize("argv,message", [
    ([], "You must supply the path to save to with --output_file"),
    (["--model_name=lenet", "--is_video_model", "--output_file=x.pt2"], "lenet takes images"),
    (["--model_name=vgg_16", "--output_file=x.pt2", "--format=tflite"],
     "--format=tflite is not one of pt2, onnx, torchscript"),
    (["--model_name=lenet", "--dataset_name=digits", "--labels_file=nowhere.txt",
      "--output_file=x.pt2"], "--labels_file nowhere.txt does not exist"),
])
def test_cli_mistakes(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("slimtorch export: error: ") and message in err and err.count("\n") == 1
    assert not os.path.exists(tmp_path / "x.pt2")


def test_research_slim_defaults():
    args = cli.build_parser().parse_args(["export", "--output_file=x.pt2"])
    assert (args.model_name, args.dataset_name, args.labels_offset, args.batch_size,
            args.image_size, args.is_training) == ("inception_v3", "imagenet", 0, None, None, False)


def _extra(path, name):
    import zipfile
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith(f"/extra/{name}")))


def test_tensor_sizes_are_kernel_sizes():
    """What torch.jit.trace hands a pool whose kernel is read off a shape."""
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    size = torch.tensor(x.shape[2])   # as traced
    np.testing.assert_array_equal(slim.avg_pool2d(x, [size, size], stride=1).numpy(),
                                  torch.nn.functional.avg_pool2d(x, 4).numpy())
    with pytest.raises(ValueError, match="kernel_size must be an int"):
        slim.max_pool2d(x, [torch.tensor(2.0), 2])
    # ... and a conv whose depth is read off a shape (inception_resnet_v2's residuals)
    net = slim.Model(lambda x, depth: slim.conv2d(x, depth, 1, scope="up"))
    with slim.Graph():
        expected = net(x, depth=3)
        assert torch.equal(net(x, depth=torch.tensor(3)), expected)
        with pytest.raises(ValueError, match="num_outputs must be a positive int, got True"):
            net(x, depth=True)


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_is_training_exports_the_training_net(tmp_path):
    """research/slim's --is_training: dropout stays on in the export (eval's is off)."""
    images = torch.ones(4, 1, 28, 28)
    runs = {}
    for training in (True, False):
        path = str(tmp_path / f"lenet_{training}.pt")
        info = slim.export("lenet", path, num_classes=10, is_training=training)
        assert (info.max_difference is None) == training   # dropout is random: not checked
        module = torch.jit.load(path)
        runs[training] = [module(images)["LeNet/fc4/BiasAdd"] for _ in range(2)]
    assert not torch.equal(*runs[True]) and torch.equal(*runs[False])


@NEEDS_ONNX
def test_onnx_kernel_pads_are_folded_for_onnxruntime():
    """A Pad of a constant kernel (slimtorch's zero tap for TF's 'SAME', which
    NASNet's export keeps) becomes the padded constant: onnxruntime 1.32's
    Pad+Conv fusion otherwise takes it for an image pad and rejects the model."""
    import onnx
    import onnx_ir as ir
    import onnxruntime
    from onnx import helper
    from slimtorch.tools.export import _fold_weight_pads

    kernel = np.random.default_rng(0).standard_normal((2, 1, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Pad", ["w", "pads"], ["w4"]),
         helper.make_node("Conv", ["input", "w4"], ["y"], group=2, strides=[2, 2], pads=[1, 1, 1, 1])],
        "g", [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 2, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(kernel, "w"),
         onnx.numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 0, 0], np.int64), "pads")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model = ir.from_proto(proto)
    assert _fold_weight_pads(model.graph) == 1
    assert [n.op_type for n in model.graph] == ["Conv"]
    np.testing.assert_array_equal(model.graph.initializers["w4"].const_value.numpy(),
                                  np.pad(kernel, [(0, 0), (0, 0), (1, 0), (1, 0)]))
    x = {"input": np.random.default_rng(1).standard_normal((1, 2, 8, 8)).astype(np.float32)}
    plain = onnxruntime.SessionOptions()
    plain.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = onnxruntime.InferenceSession(proto.SerializeToString(), plain).run(None, x)[0]
    got = onnxruntime.InferenceSession(ir.to_proto(model).SerializeToString()).run(None, x)[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
