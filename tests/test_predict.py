"""``slimtorch predict`` and :mod:`slimtorch.tools.predict`: generated images,
LeNet checkpoints with known weights, and the answers worked out without
the library (Pillow decoding, research/slim's LeNet preprocessing by hand,
LeNet's forward pass in ``torch.nn.functional``, softmax by hand)."""

import csv
import json
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import slimtorch as slim
from slimtorch import cli
from slimtorch.checkpoint import save_checkpoint, update_checkpoint_state
from slimtorch.data.dataset_utils import write_label_file
from slimtorch.nets import nets_factory
from slimtorch.tools import predict as predicting

FAST = ["--device=cpu", "--num_preprocessing_threads=0"]


def _png(path, pixels: np.ndarray) -> str:
    """Writes uint8 ``pixels`` ([H, W] grey or [H, W, 3] RGB) with Pillow."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path)
    return str(path)


def _lenet_weights(seed=0, zero=False) -> dict:
    """LeNet's variables (10 classes): random, scaled by 1/sqrt(fan-in) so
    that the logits are a few units apart, or zero."""
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 10).build((1, 1, 28, 28))
    generator = torch.Generator().manual_seed(seed)
    return {r.name: torch.zeros(r.tensor.shape) if zero else
            torch.randn(r.tensor.shape, generator=generator) * (
                1.4 / r.tensor[0].numel() ** 0.5 if r.tensor.dim() > 1 else 0.1)
            for r in net.records()}


def _checkpoint_dir(directory, weights) -> str:
    """``directory`` holding ``model.ckpt-7.safetensors`` as its latest checkpoint."""
    os.makedirs(directory, exist_ok=True)
    save_checkpoint(os.path.join(directory, "model.ckpt-7.safetensors"), weights, global_step=7)
    update_checkpoint_state(str(directory), "model.ckpt-7.safetensors", [])
    return str(directory)


def _expected_probabilities(weights, path) -> torch.Tensor:
    """research/slim's LeNet evaluation on one grey image file, by hand:
    Pillow decodes; central crop or zero pad to 28 x 28; (x - 128) / 128; LeNet
    in torch.nn.functional (TF flattens NHWC); softmax."""
    pixels = torch.from_numpy(np.array(Image.open(path).convert("L"))).float()
    height, width = pixels.shape
    canvas = torch.zeros(28, 28)
    top, left = max((height - 28) // 2, 0), max((width - 28) // 2, 0)       # crop offsets
    pad_top, pad_left = max((28 - height) // 2, 0), max((28 - width) // 2, 0)
    h, w = min(height, 28), min(width, 28)
    canvas[pad_top:pad_top + h, pad_left:pad_left + w] = pixels[top:top + h, left:left + w]
    x = ((canvas - 128) / 128)[None, None]
    w_ = weights
    x = F.max_pool2d(F.relu(F.conv2d(x, w_["LeNet/conv1/weights"], w_["LeNet/conv1/biases"],
                                     padding=2)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, w_["LeNet/conv2/weights"], w_["LeNet/conv2/biases"],
                                     padding=2)), 2)
    x = F.relu(F.linear(x.permute(0, 2, 3, 1).flatten(1), w_["LeNet/fc3/weights"],
                        w_["LeNet/fc3/biases"]))
    return F.softmax(F.linear(x, w_["LeNet/fc4/weights"], w_["LeNet/fc4/biases"]), dim=1)[0]


def _by_class(prediction) -> list:
    """The probabilities of a prediction of every class, by class id."""
    probabilities = {c.class_id: c.probability for c in prediction.top_k}
    return [probabilities[i] for i in range(len(probabilities))]


@pytest.fixture
def images(tmp_path):
    """Grey PNGs of several sizes (28 x 28, larger: cropped, smaller: padded),
    in a nested folder, beside files that are not images or are corrupt."""
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    paths = {
        "a.png": _png(root / "a.png", rng.integers(0, 256, (28, 28), dtype=np.uint8)),
        "b/c.png": _png(root / "b" / "c.png", rng.integers(0, 256, (40, 33), dtype=np.uint8)),
        "b.png": _png(root / "b.png", rng.integers(0, 256, (19, 24), dtype=np.uint8)),
    }
    (root / "notes.txt").write_text("not an image")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated")
    return root, paths


def test_find_images_walks_directories_sorted(tmp_path, images):
    root, paths = images
    (root / ".hidden.png").write_bytes(b"")          # macOS's ._photo.png and the like
    os.makedirs(root / ".cache")
    (root / ".cache" / "x.png").write_bytes(b"")
    (root / "UPPER.JPG").write_bytes(b"")
    found = predicting.find_images([str(root), paths["a.png"]])   # a.png named twice: once
    assert [os.path.relpath(p, root) for p in found] == [
        "UPPER.JPG", "a.png", "b/broken.png", "b/c.png", "b.png"]
    # An explicitly named file is taken whatever its extension; order is the arguments'.
    assert predicting.find_images([str(root / "notes.txt"), paths["b.png"]]) == [
        str(root / "notes.txt"), paths["b.png"]]
    with pytest.raises(FileNotFoundError, match="nothere.png does not exist"):
        predicting.find_images([str(tmp_path / "nothere.png")])
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="no images to classify"):
        predicting.find_images([str(tmp_path / "empty")])


def test_predict_equals_the_computation_by_hand(tmp_path, images):
    root, paths = images
    weights = _lenet_weights()
    checkpoint = _checkpoint_dir(tmp_path / "train", weights)
    assert predicting.num_classes_in_checkpoint("lenet", checkpoint) == 10
    network_fn = predicting.load_network("lenet", checkpoint)
    labels = {i: f"digit {i}" for i in range(10)}
    results = predicting.predict(network_fn, [str(root)], top_k=3, labels=labels, batch_size=2)
    assert [os.path.relpath(p.image, root) for p in results] == [
        "a.png", "b/broken.png", "b/c.png", "b.png"]
    broken = results[1]
    assert broken.top_k == () and "cannot decode it" in broken.error
    for p in (results[0], results[2], results[3]):
        expected = _expected_probabilities(weights, p.image)
        top = expected.topk(3)
        assert [c.class_id for c in p.top_k] == top.indices.tolist()
        assert [c.name for c in p.top_k] == [f"digit {i}" for i in top.indices.tolist()]
        assert [c.probability for c in p.top_k] == pytest.approx(top.values.tolist(),
                                                                 rel=1e-5, abs=1e-7)
    # The random weights spread the probabilities: the check above is not vacuous.
    assert 0.2 < results[0].top_k[0].probability < 0.99


def test_hand_set_logits_give_known_probabilities_names_and_offset(tmp_path, images):
    root, paths = images
    weights = _lenet_weights(zero=True)   # every image's logits are fc4's biases
    biases = [3.0, 0.0, 1.0, 2.5, -1.0, 0.5, -2.0, 0.0, 1.5, -0.5]
    weights["LeNet/fc4/biases"] = torch.tensor(biases)
    total = sum(math.exp(b) for b in biases)
    checkpoint = _checkpoint_dir(tmp_path / "train", weights)
    network_fn = predicting.load_network("lenet", checkpoint)
    # research/slim's 1001-class style: labels.txt has 0:background; the net's
    # output i is class i + 1.
    labels = {0: "background", **{i + 1: f"class {i}" for i in range(10)}}
    [p] = predicting.predict(network_fn, [paths["a.png"]], top_k=4, labels=labels,
                             labels_offset=1)
    assert [(c.class_id, c.name) for c in p.top_k] == [
        (1, "class 0"), (4, "class 3"), (9, "class 8"), (3, "class 2")]
    assert [c.probability for c in p.top_k] == pytest.approx(
        [math.exp(b) / total for b in (3.0, 2.5, 1.5, 1.0)], rel=1e-6)


def test_cli_prints_writes_csv_and_json_and_skips_the_corrupt(tmp_path, images, capfd):
    """(capfd: what libpng writes to file descriptor 2 is seen too.)"""
    root, paths = images
    weights = _lenet_weights(seed=1)
    checkpoint = _checkpoint_dir(tmp_path / "train", weights)
    write_label_file({i: f"digit {i}" for i in range(10)}, str(tmp_path))
    common = [f"--checkpoint_path={checkpoint}", f"--labels_file={tmp_path / 'labels.txt'}",
              "--top_k=2", "--batch_size=2", *FAST]
    csv_path, json_path = tmp_path / "out" / "top.csv", tmp_path / "out" / "top.json"
    os.makedirs(csv_path.parent)
    assert cli.main(["predict", *common, f"--output_file={csv_path}", str(root)]) == 0
    out, err = capfd.readouterr()
    # One stderr line for the corrupt file, naming it (the reason is torchvision's).
    [skipped] = [line for line in err.splitlines() if "skipped" in line]
    assert skipped.startswith(f"slimtorch predict: skipped {root / 'b' / 'broken.png'}: "
                              "cannot decode it: ")
    assert "libpng" not in err   # libpng's own message is silenced
    expected = {name: _expected_probabilities(weights, path) for name, path in paths.items()}
    lines = out.splitlines()
    assert lines[0] == paths["a.png"]
    top = expected["a.png"].topk(2)
    assert lines[1] == f"  {top.values[0]:.4f}  {top.indices[0]}  digit {top.indices[0]}"
    assert lines[-2:] == ["classified 3 images, skipped 1 (reported on stderr)",
                          f"wrote {csv_path}"]

    rows = list(csv.DictReader(open(csv_path)))
    assert [(r["image"], r["rank"]) for r in rows] == [
        (paths[n], str(k)) for n in ("a.png", "b/c.png", "b.png") for k in (1, 2)]
    for row in rows:
        probabilities = expected[os.path.relpath(row["image"], root)]
        class_id = int(row["class_id"])
        assert row["class_name"] == f"digit {class_id}"
        assert float(row["probability"]) == pytest.approx(probabilities[class_id].item(),
                                                          rel=1e-5, abs=1e-7)
        assert class_id == probabilities.topk(2).indices[int(row["rank"]) - 1]

    assert cli.main(["predict", *common, f"--output_file={json_path}", str(root)]) == 0
    written = json.load(open(json_path))
    assert written["model_name"] == "lenet" and written["top_k"] == 2
    assert [i["image"] for i in written["images"]] == [paths[n] for n in ("a.png", "b/c.png", "b.png")]
    first = written["images"][0]["top_k"][0]
    assert (first["class_id"], first["class_name"]) == (int(top.indices[0]), f"digit {top.indices[0]}")
    assert first["probability"] == pytest.approx(top.values[0].item(), rel=1e-5)
    assert written["skipped"] == [{"image": str(root / "b" / "broken.png"),
                                   "error": skipped.split(": ", 2)[2]}]
    assert sorted(os.listdir(csv_path.parent)) == ["top.csv", "top.json"]   # no temp files left


def test_bmp_and_rgb_images_are_decoded(tmp_path):
    """BMP (which torchvision does not decode) goes through Pillow; an RGB
    image for LeNet is decoded grey, as research/slim's Image(channels=1)."""
    weights = _lenet_weights(seed=2)
    checkpoint = _checkpoint_dir(tmp_path / "train", weights)
    grey = np.random.default_rng(3).integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.bmp")
    _png(tmp_path / "grey.png", grey)
    _png(tmp_path / "rgb.png", np.stack([grey] * 3, axis=-1))
    network_fn = predicting.load_network("lenet", checkpoint)
    results = predicting.predict(network_fn, [str(tmp_path / n) for n in
                                              ("grey.bmp", "grey.png", "rgb.png")], top_k=10)
    assert all(p.error is None for p in results)
    expected = _expected_probabilities(weights, str(tmp_path / "grey.png"))
    for p in results:
        assert _by_class(p) == pytest.approx(expected.tolist(), rel=1e-5, abs=1e-7)


def test_video_nets_classify_images_as_clips(tmp_path):
    """i3d takes each image as a clip of --num_frames copies (what train and
    eval do with still images): the same as feeding the video preprocessing's clip."""
    from slimtorch.data.preprocessing import video
    pixels = np.random.default_rng(4).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    path = _png(tmp_path / "frame.png", pixels)
    torch.manual_seed(0)
    with slim.Graph():
        network_fn = nets_factory.get_network_fn("i3d", 5).build((1, 3, 2, 32, 32)).eval()
    [p] = predicting.predict(network_fn, [path], top_k=5, image_size=32, num_frames=2)
    clip = video.preprocess_image(torch.from_numpy(pixels).permute(2, 0, 1), 32, 32, num_frames=2)
    with torch.no_grad():
        expected = F.softmax(network_fn(clip[None])[0], dim=1)[0]
    assert _by_class(p) == pytest.approx(expected.tolist(), rel=1e-5, abs=1e-7)
    with pytest.raises(ValueError, match="--num_frames .* is for the video nets"):
        predicting.predict(lambda x: x.mean((2, 3)), [path], preprocessing="inception",
                           image_size=8, num_frames=2)


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1]


def test_cli_errors_are_one_line(tmp_path, images, capsys):
    root, paths = images
    checkpoint = _checkpoint_dir(tmp_path / "train", _lenet_weights())
    base = ["predict", f"--checkpoint_path={checkpoint}", *FAST]

    assert cli.main([*base, str(tmp_path / "missing.png")]) == 1
    assert _error(capsys) == (f"slimtorch predict: error: {tmp_path / 'missing.png'} does not "
                              "exist; name image files or directories of images")
    os.makedirs(tmp_path / "empty")
    assert cli.main([*base, str(tmp_path / "empty")]) == 1
    assert "error: no images to classify in" in _error(capsys)
    assert cli.main([*base, str(root / "b" / "broken.png"), str(root / "notes.txt")]) == 1
    err = capsys.readouterr().err
    assert err.count("slimtorch predict: skipped") == 2 and \
        "error: none of the 2 images could be classified" in err
    assert cli.main([*base, "--output_file=top.txt", paths["a.png"]]) == 1
    assert "the format comes from the extension, .csv or .json" in _error(capsys)
    assert cli.main([*base, f"--output_file={tmp_path / 'no' / 'top.csv'}", paths["a.png"]]) == 1
    assert "does not exist; create it first" in _error(capsys)
    assert cli.main([*base, "--num_classes=1001", "--labels_offset=1", paths["a.png"]]) == 1
    assert "makes a 1000-class net, but" in _error(capsys)
    write_label_file({i: str(i) for i in range(11)}, str(tmp_path))
    assert cli.main([*base, f"--labels_file={tmp_path}", paths["a.png"]]) == 1
    assert "pass --labels_offset=1 so that names line up" in _error(capsys)
    assert cli.main([*base, "--model_name=cifarnet", paths["a.png"]]) == 1
    assert "has no CifarNet/logits/biases" in _error(capsys)
    assert cli.main([*base, "--model_name=alexnet_v2", paths["a.png"]]) == 1
    assert "--model_name alexnet_v2 has no preprocessing of its own" in _error(capsys)
    assert cli.main(["predict", f"--checkpoint_path={tmp_path / 'none'}", paths["a.png"]]) == 1
    assert "slimtorch predict: error:" in _error(capsys)
    assert cli.main(["predict", *FAST]) == 1
    assert "missing IMAGES_OR_DIRS" in _error(capsys)


def test_cli_on_a_colour_net_with_a_background_class(tmp_path, capsys):
    """CifarNet with 11 classes numbered as research/slim's ImageNet (0 is
    the background): CifarNet's evaluation preprocessing of a Pillow-decoded
    RGB image, the forward pass and softmax, against the command's top 3."""
    from slimtorch.data.preprocessing import get_preprocessing
    torch.manual_seed(0)
    with slim.Graph():
        network_fn = nets_factory.get_network_fn("cifarnet", 11).build((1, 3, 32, 32))
    weights = {r.name: r.tensor.detach() for r in network_fn.records()}
    with torch.no_grad():   # spread the logits, so that the top 3 are clear winners
        weights["CifarNet/logits/weights"].mul_(100)
    checkpoint = _checkpoint_dir(tmp_path / "train", weights)
    write_label_file({0: "background", **{i: f"synset {i}" for i in range(1, 11)}},
                     str(tmp_path))
    pixels = np.random.default_rng(5).integers(0, 256, (50, 40, 3), dtype=np.uint8)
    path = _png(tmp_path / "photo.png", pixels)
    assert cli.main(["predict", "--model_name=cifarnet", f"--checkpoint_path={checkpoint}",
                     f"--labels_file={tmp_path / 'labels.txt'}", "--top_k=3", *FAST, path]) == 0
    lines = capsys.readouterr().out.splitlines()
    image = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)
    batch = get_preprocessing("cifarnet")(image, 32, 32)[None]
    with torch.no_grad():
        top = F.softmax(network_fn.eval()(batch)[0], dim=1)[0].topk(3)
    width = max(len(str(i)) for i in top.indices.tolist())
    assert lines[:4] == [path] + [f"  {p:.4f}  {i:>{width}}  " + (f"synset {i}" if i else "background")
                                  for p, i in zip(top.values.tolist(), top.indices.tolist())]
    assert top.values[0] - top.values[1] > 0.01   # a clear winner, not random weights' tie


def _lenet_features(weights, images) -> torch.Tensor:
    """LeNet's fc3 activations in torch.nn.functional (TF flattens NHWC)."""
    x = F.max_pool2d(F.relu(F.conv2d(images, weights["LeNet/conv1/weights"],
                                     weights["LeNet/conv1/biases"], padding=2)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, weights["LeNet/conv2/weights"],
                                     weights["LeNet/conv2/biases"], padding=2)), 2)
    return F.relu(F.linear(x.permute(0, 2, 3, 1).flatten(1), weights["LeNet/fc3/weights"],
                           weights["LeNet/fc3/biases"]))


def test_top_1_on_the_digits_files_equals_eval_accuracy(tmp_path, capsys):
    """The test digits written as PNG files, classified by ``predict``, are
    right exactly as often as ``slimtorch eval`` counts on the dataset itself:
    the same decoding and evaluation preprocessing. The net: random LeNet
    features with fc4 fitted by ridge regression on the training digits (no
    training loop), so that it predicts every class."""
    from slimtorch.data.digits import DigitsDataset
    from slimtorch.data.preprocessing import get_preprocessing
    weights = _lenet_weights(seed=3)
    train = DigitsDataset("train")
    preprocess = get_preprocessing("lenet")
    features = _lenet_features(weights, torch.stack([preprocess(train[i][0], 28, 28)
                                                     for i in range(len(train))]))
    targets = F.one_hot(torch.tensor([train[i][1] for i in range(len(train))]), 10).float()
    design = torch.cat([features, torch.ones(len(train), 1)], 1)
    # Ridge regression's normal equations: fc4 and its biases in one solve.
    fitted = torch.linalg.solve(design.T @ design + 1e-3 * torch.eye(design.shape[1]),
                                design.T @ targets)
    weights["LeNet/fc4/weights"], weights["LeNet/fc4/biases"] = fitted[:-1].T.contiguous(), fitted[-1]
    checkpoint = _checkpoint_dir(tmp_path / "train", weights)

    digits = DigitsDataset("test")
    for i in range(len(digits)):
        image, label = digits[i]
        _png(tmp_path / "digits" / str(label) / f"{i:03d}.png", image[0].numpy())
    slim.reset_default_graph()   # each command is its own program
    assert cli.main(["eval", f"--checkpoint_path={checkpoint}", f"--eval_dir={tmp_path / 'eval'}",
                     *FAST]) == 0
    accuracy = float(next(line.split(": ")[1] for line in capsys.readouterr().out.splitlines()
                          if line.startswith("eval/Accuracy")))
    top_1 = tmp_path / "top1.csv"
    assert cli.main(["predict", f"--checkpoint_path={checkpoint}", "--top_k=1", "--batch_size=100",
                     f"--output_file={top_1}", *FAST, str(tmp_path / "digits")]) == 0
    rows = list(csv.DictReader(open(top_1)))
    right = sum(os.path.basename(os.path.dirname(r["image"])) == r["class_id"] for r in rows)
    assert len(rows) == len(digits) == 364
    assert right == round(accuracy * len(digits))
    assert {r["class_id"] for r in rows} == {str(i) for i in range(10)}
    assert 0.5 < accuracy < 1, accuracy   # a working classifier that still makes mistakes


def test_load_network_restores_a_tensorflow_checkpoint():
    """research/slim's MobileNet v1 0.25 saved by tf.train.Saver (TF layouts,
    10 classes read from the file) computes the logits TF-Slim computed."""
    import json

    from safetensors import safe_open

    from slimtorch.testing import random_images, relative_error
    fixture = os.path.join(os.path.dirname(__file__), "golden", "tf_nets", "mobilenet_v1_025")
    with safe_open(fixture + ".logits.safetensors", "np") as f:
        meta, expected = f.metadata(), f.get_tensor("logits")
    network_fn = predicting.load_network(meta["net"], fixture)
    assert network_fn.num_classes == int(meta["num_classes"]) == 10
    images = torch.from_numpy(random_images(int(meta["batch"]), 3, int(meta["image_size"]),
                                            int(meta["seed"])))
    with torch.no_grad():
        logits, _ = network_fn(images, **json.loads(meta["kwargs"]))
    assert relative_error(logits.numpy(), expected) <= 1e-4
