"""Pretrained weights by name, end to end, without network: a local HTTP
server (tests/pretrained_server.py) serves archives made here from real
TensorFlow checkpoints (tests/golden/tf_nets) and slimtorch files, under
registry entries added for the test. Download → check → unpack → convert →
cache → restore, and the same through ``slimtorch download``, ``predict``,
``eval`` and ``train --checkpoint_path=pretrained:NAME``."""

import io
import json
import os
import tarfile

import pytest
import torch
from pretrained_server import serve
from safetensors import safe_open

import slimtorch as slim
from slimtorch import cli
from slimtorch.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from slimtorch.data import labels_for
from slimtorch.nets import nets_factory
from slimtorch.pretrained import (PretrainedError, PretrainedWeights, converted_path,
                                  get_pretrained, pretrained_checkpoint, register_pretrained)
from slimtorch.pretrained import registry
from slimtorch.testing import random_images, relative_error

TF_NET = os.path.join(os.path.dirname(__file__), "golden", "tf_nets", "mobilenet_v1_025")


def _tar_gz(files: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tf_archive() -> bytes:
    """research/slim's layout: the checkpoint beside files we must skip."""
    with open(TF_NET + ".index", "rb") as f:
        index = f.read()
    with open(TF_NET + ".data-00000-of-00001", "rb") as f:
        data = f.read()
    return _tar_gz({"mobilenet_v1_0.25_224.ckpt.index": index,
                    "mobilenet_v1_0.25_224.ckpt.data-00000-of-00001": data,
                    "mobilenet_v1_0.25_224.tflite": b"not a checkpoint",
                    "mobilenet_v1_0.25_224_eval.pbtxt": b"node {}"})


def _lenet_1001(tmp_path) -> tuple:
    """A LeNet with research/slim's 1001 ImageNet classes, as an archive
    holding a slimtorch file, and the net that made it."""
    torch.manual_seed(1)
    with slim.Graph():
        source = nets_factory.get_network_fn("lenet", 1001).build((1, 1, 28, 28))
    with torch.no_grad():
        for var in source.parameters():
            var.normal_(0, 0.05)
    path = str(tmp_path / "lenet_1001.safetensors")
    save_checkpoint(path, dict(source.named_variables()))
    with open(path, "rb") as f:
        return _tar_gz({"lenet_imagenet/model.safetensors": f.read()}), source


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The two archives (made once: LeNet's 1001-class head is 3 M values)."""
    lenet_archive, lenet_source = _lenet_1001(tmp_path_factory.mktemp("lenet"))
    return _tf_archive(), lenet_archive, lenet_source


@pytest.fixture
def zoo(archives, tmp_path, monkeypatch):
    """A cache in tmp_path, a server with two archives, and registry entries
    pointing at it (removed afterwards)."""
    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SLIMTORCH_OFFLINE", raising=False)
    tf_archive, lenet_archive, lenet_source = archives
    with serve({"/models/mobilenet_v1_0.25_224.tgz": tf_archive,
                "/models/lenet_imagenet.tar.gz": lenet_archive}) as server:
        entries = [
            PretrainedWeights("mobilenet_v1_025.test", "mobilenet_v1_025",
                              server.url("/models/mobilenet_v1_0.25_224.tgz"),
                              "mobilenet_v1_0.25_224.ckpt", 10, 224, "inception", 49.8, 74.2,
                              "Apache-2.0", "research/slim"),
            PretrainedWeights("lenet.imagenet", "lenet", server.url("/models/lenet_imagenet.tar.gz"),
                              "lenet_imagenet/model.safetensors", 1001, 28, "lenet", None, None,
                              "Apache-2.0", "test"),
        ]
        for entry in entries:
            register_pretrained(entry)
        server.lenet_source = lenet_source
        try:
            yield server
        finally:
            for entry in entries:
                registry._TABLE.pop(entry.name, None)


def _tf_logits(network_fn):
    with safe_open(TF_NET + ".logits.safetensors", "np") as f:
        meta, expected = f.metadata(), f.get_tensor("logits")
    images = torch.from_numpy(random_images(int(meta["batch"]), 3, int(meta["image_size"]),
                                            int(meta["seed"])))
    with torch.no_grad():
        logits, _ = network_fn(images, **json.loads(meta["kwargs"]))
    return relative_error(logits.numpy(), expected)


def test_pretrained_true_downloads_converts_caches_and_reproduces_tf_slims_logits(zoo):
    with slim.Graph():
        network_fn = nets_factory.get_network_fn("mobilenet_v1_025", 10,
                                                 pretrained="mobilenet_v1_025.test")
        assert _tf_logits(network_fn) <= 1e-4
    weights = get_pretrained("mobilenet_v1_025.test")
    home = os.environ["SLIMTORCH_HOME"]
    # The cache keeps the converted file only: no archive, no unpacked files.
    assert os.listdir(os.path.join(home, "pretrained")) == ["mobilenet_v1_025.test.safetensors"] \
        or sorted(os.listdir(os.path.join(home, "pretrained"))) == \
        ["mobilenet_v1_025.test.safetensors", "mobilenet_v1_025.test.safetensors.lock"]
    assert os.listdir(os.path.join(home, "downloads")) == []
    with load_checkpoint(converted_path(weights)) as reader:
        assert reader.layout == "torch" and len(reader.get_variable_to_shape_map()) == 137
        assert reader.metadata["pretrained"] == "mobilenet_v1_025.test"
    assert [r.path for r in zoo.requests] == ["/models/mobilenet_v1_0.25_224.tgz"]


def test_a_cached_file_works_offline_with_no_request(zoo, monkeypatch):
    pretrained_checkpoint("mobilenet_v1_025.test", progress=False)
    before = zoo.request_count
    monkeypatch.setenv("SLIMTORCH_OFFLINE", "1")
    with slim.Graph():
        network_fn = nets_factory.get_network_fn("mobilenet_v1_025", 10,
                                                 pretrained="mobilenet_v1_025.test")
        assert _tf_logits(network_fn) <= 1e-4
    assert zoo.request_count == before


def test_offline_without_the_file_names_the_url_and_where_to_put_it(zoo, monkeypatch):
    monkeypatch.setenv("SLIMTORCH_OFFLINE", "1")
    weights = get_pretrained("mobilenet_v1_025.test")
    with pytest.raises(PretrainedError) as error:
        nets_factory.get_network_fn("mobilenet_v1_025", 10, pretrained=weights.name)
    message = str(error.value)
    assert weights.url in message and os.path.join("downloads", weights.archive_name) in message
    assert zoo.request_count == 0


def test_another_class_count_leaves_the_logits_out(zoo):
    with slim.Graph():
        full = nets_factory.get_network_fn("mobilenet_v1_025", 10, pretrained="mobilenet_v1_025.test")
        five = nets_factory.get_network_fn("mobilenet_v1_025", 5)
        report = nets_factory.load_pretrained(five, "mobilenet_v1_025.test")
    logits = ["MobilenetV1/Logits/Conv2d_1c_1x1/weights", "MobilenetV1/Logits/Conv2d_1c_1x1/biases"]
    assert [name for name, _, _ in report.left_out] == logits
    assert len(report.assigned) == 135 and not report.offset
    for name, var in five.named_variables().items():
        if name not in logits:
            assert torch.equal(var, full.named_variables()[name]), name
    assert "left out for the new class count" in str(report)


def test_the_background_class_is_dropped_for_1000_classes(zoo):
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 1000, pretrained="lenet.imagenet")
    report_source = zoo.lenet_source.eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x)[0], report_source(x)[0][:, 1:])


def test_the_nets_default_weights_and_wrong_pairings():
    assert nets_factory.get_network_fn("lenet", 10).num_classes == 10   # pretrained=False: no fetch
    with pytest.raises(ValueError, match="no pretrained weights for lenet"):
        nets_factory.get_network_fn("lenet", 10, pretrained=True)
    with pytest.raises(ValueError, match="are for inception_v3, not vgg_16"):
        nets_factory.get_network_fn("vgg_16", 10, pretrained="inception_v3")


def test_a_cut_download_resumes_on_the_next_call(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path / "home"))
    archive = _tf_archive()
    with serve({"/m.tgz": archive}, cut_after=len(archive) // 3) as server:
        register_pretrained(PretrainedWeights("mobilenet_v1_025.cut", "mobilenet_v1_025",
                                              server.url("/m.tgz"), "mobilenet_v1_0.25_224.ckpt",
                                              10, 224, "inception", None, None, "x", "test"))
        try:
            with pytest.raises(PretrainedError, match="run the same command again to resume"):
                pretrained_checkpoint("mobilenet_v1_025.cut", progress=False)
            path = pretrained_checkpoint("mobilenet_v1_025.cut", progress=False)
        finally:
            registry._TABLE.pop("mobilenet_v1_025.cut")
        assert [r.range for r in server.requests] == [None, f"bytes={len(archive) // 3}-"]
    with load_checkpoint(path) as reader:
        assert len(reader.get_variable_to_shape_map()) == 137


def test_a_corrupt_archive_leaves_nothing_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path / "home"))
    broken = bytearray(_tf_archive())
    broken[len(broken) // 2] ^= 0xFF
    with serve({"/m.tgz": bytes(broken)}) as server:
        register_pretrained(PretrainedWeights("mobilenet_v1_025.bad", "mobilenet_v1_025",
                                              server.url("/m.tgz"), "mobilenet_v1_0.25_224.ckpt",
                                              10, 224, "inception", None, None, "x", "test"))
        try:
            with pytest.raises(PretrainedError, match="corrupt"):
                pretrained_checkpoint("mobilenet_v1_025.bad", progress=False)
        finally:
            registry._TABLE.pop("mobilenet_v1_025.bad")
    left = [os.path.join(root, name) for root, _, names in os.walk(tmp_path / "home")
            for name in names if not name.endswith(".lock")]
    assert left == []
    assert os.listdir(tmp_path / "home" / "pretrained") in ([], ["mobilenet_v1_025.bad.safetensors.lock"])


# -- the command line ----------------------------------------------------------------

def test_download_command_and_list(zoo, capsys):
    assert cli.main(["download", "--model_name=mobilenet_v1_025.test"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mobilenet_v1_025.test: mobilenet_v1_025, 10 classes, 224x224")
    assert out[1] == converted_path(get_pretrained("mobilenet_v1_025.test"))
    assert out[2] == ("use it with --model_name=mobilenet_v1_025 "
                      "--checkpoint_path=pretrained:mobilenet_v1_025.test")
    assert cli.main(["download", "--list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows["mobilenet_v1_025.test"][-1] == "yes" and rows["inception_v3"][-1] != "yes"
    assert rows["inception_v3"][1:5] == ["inception_v3", "1001", "299", "78.0"]


def test_download_command_mistakes_are_one_line(zoo, capsys):
    assert cli.main(["download"]) == 1
    assert capsys.readouterr().err == ("slimtorch download: error: no --model_name given; e.g. "
                                       "--model_name=inception_v3 (--list shows every name)\n")
    assert cli.main(["download", "--model_name=inception_v9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("slimtorch download: error: no pretrained weights named 'inception_v9'; "
                          "known: inception_v1, ") and err.count("\n") == 1
    assert cli.main(["eval", "--model_name=vgg_16", "--checkpoint_path=pretrained:inception_v3"]) == 1
    assert capsys.readouterr().err == (
        "slimtorch eval: error: --checkpoint_path=pretrained:inception_v3 holds weights for "
        "inception_v3, not --model_name=vgg_16; pass --model_name=inception_v3 (or `slimtorch "
        "download --list` for vgg_16's weights)\n")


def test_predict_names_imagenet_classes_for_zoo_weights(zoo, tmp_path, capsys):
    from PIL import Image
    image = str(tmp_path / "digit.png")
    Image.fromarray((torch.rand(28, 28) * 255).to(torch.uint8).numpy(), "L").save(image)
    assert cli.main(["predict", "--model_name=lenet", "--checkpoint_path=pretrained:lenet.imagenet",
                     "--top_k=3", image]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = labels_for(1001)
    top = [line.split(None, 2) for line in lines[1:4]]
    assert all(names[int(class_id)] == name for _, class_id, name in top), top


def test_train_fine_tunes_from_zoo_weights_without_exclude_scopes(zoo, tmp_path, capsys):
    train_dir = str(tmp_path / "train")
    assert cli.main(["train", "--model_name=lenet", "--checkpoint_path=pretrained:lenet.imagenet",
                     "--trainable_scopes=LeNet/fc4", "--max_number_of_steps=2", "--batch_size=8",
                     f"--train_dir={train_dir}", "--log_every_n_steps=1"]) == 0
    with load_checkpoint(latest_checkpoint(train_dir)) as reader:
        conv1 = reader.get_torch_tensor("LeNet/conv1/weights")
        assert reader.get_variable_to_shape_map()["LeNet/fc4/biases"] == [10]   # digits' head
    torch.testing.assert_close(conv1, zoo.lenet_source.named_variables()["LeNet/conv1/weights"],
                               rtol=0, atol=0)


@pytest.mark.slow
def test_torchvision_weights_come_through_the_same_registry(tmp_path, monkeypatch):
    """A torchvision ResNet-50 state dict (random weights: the real file is
    the same format) served under torchvision's hash-prefixed file name:
    the prefix is checked, the names mapped onto resnet_v1_50."""
    import hashlib

    import torchvision
    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path / "home"))
    torch.manual_seed(0)
    state = torchvision.models.resnet50().state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    prefix = hashlib.sha256(data).hexdigest()[:8]
    with serve({f"/models/resnet50-{prefix}.pth": data,
                "/models/resnet50-00000000.pth": data}) as server:
        entries = [PretrainedWeights(f"resnet_v1_50.{tag}", "resnet_v1_50",
                                     server.url(f"/models/resnet50-{hex_}.pth"), None, 1000, 224,
                                     "torchvision", None, None, "BSD-3-Clause", "torchvision",
                                     sha256_prefix=hex_)
                   for tag, hex_ in (("tv", prefix), ("tampered", "00000000"))]
        for entry in entries:
            register_pretrained(entry)
        try:
            with slim.Graph():
                net = nets_factory.get_network_fn("resnet_v1_50", 1000, pretrained="resnet_v1_50.tv")
            with pytest.raises(PretrainedError, match="SHA-256"):
                pretrained_checkpoint("resnet_v1_50.tampered", progress=False)
        finally:
            for entry in entries:
                registry._TABLE.pop(entry.name)
    variables = net.named_variables()
    assert torch.equal(variables["resnet_v1_50/conv1/weights"], state["conv1.weight"])
    assert torch.equal(variables["resnet_v1_50/logits/biases"], state["fc.bias"])
    assert not os.path.exists(tmp_path / "home" / "downloads" / "resnet50-00000000.pth")


def test_eval_report_names_imagenet_classes_when_the_dataset_has_none():
    from types import SimpleNamespace

    from slimtorch.classifier.evaluate import _class_names
    imagenet = SimpleNamespace(num_classes=1001)   # research/slim's TFRecords without labels.txt
    flags = SimpleNamespace(pretrained=None, dataset_name="imagenet", labels_offset=0)
    names = _class_names(imagenet, 1001, flags)
    assert names[:2] == ["background", "tench, Tinca tinca"] and len(names) == 1001
    flags.labels_offset = 1   # VGG / ResNet v1: 1000 outputs
    assert _class_names(imagenet, 1000, flags)[0] == "tench, Tinca tinca"
    named = SimpleNamespace(num_classes=1001, labels_to_names={i: f"c{i}" for i in range(1001)})
    assert _class_names(named, 1000, flags)[0] == "c1"       # the dataset's own names win
    other = SimpleNamespace(num_classes=1001)
    flags = SimpleNamespace(pretrained=None, dataset_name="tfrecord", labels_offset=0)
    assert _class_names(other, 1001, flags)[:2] == ["0", "1"]   # not ImageNet: ids
    flags.pretrained = "inception_v3"                            # the zoo's weights: ImageNet
    assert _class_names(other, 1001, flags)[1] == "tench, Tinca tinca"


def test_export_takes_zoo_weights_and_embeds_imagenet_names(zoo, tmp_path, capsys):
    from slimtorch.tools.export import export_info
    output = str(tmp_path / "lenet.pt2")
    assert cli.main(["export", "--model_name=lenet", "--checkpoint_path=pretrained:lenet.imagenet",
                     f"--output_file={output}"]) == 0
    assert "1001 labels" in capsys.readouterr().out   # the weights' classes, not --dataset_name's
    info = export_info(output)
    assert info.labels[0] == "background" and info.labels[1] == "tench, Tinca tinca"
