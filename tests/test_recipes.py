"""The scripts in recipes/ run and do what they say."""

import importlib.util
import pathlib

import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint

RECIPES = pathlib.Path(__file__).resolve().parents[1] / "recipes"


def _recipe(name):
    spec = importlib.util.spec_from_file_location(name, RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_digits_finetune_beats_training_from_scratch(tmp_path, capsys):
    result = _recipe("digits_finetune").main(["--workdir", str(tmp_path), "--steps", "100",
                                              "--finetune_steps", "40"])
    assert result["accuracy_0_4"] > 0.95
    assert result["finetuned"] > result["scratch"] + 0.02, result
    assert "all ten digits, 40 steps: fine-tuned" in capsys.readouterr().out
    first = load_checkpoint(latest_checkpoint(str(tmp_path / "digits_0_4")))
    second = load_checkpoint(latest_checkpoint(str(tmp_path / "finetuned")))
    assert first.get_torch_tensor("LeNet/fc4/weights").shape == (5, 1024)
    assert second.get_torch_tensor("LeNet/fc4/weights").shape == (10, 1024)


@pytest.mark.slow
def test_digits_finetune_starts_stage_two_from_stage_one(tmp_path, monkeypatch):
    """With 0 learning rate in stage two the restored layers stay as stage
    one left them, and only the excluded logits differ."""
    recipe = _recipe("digits_finetune")
    first = recipe.train_lenet(5, range(5), str(tmp_path / "a"), 3)
    trained = {k: v.detach().clone() for k, v in first.named_variables().items()}
    monkeypatch.setattr(slim.optimization, "make_optimizer",
                        lambda name, params, lr: torch.optim.SGD(params, lr=0.0))
    second = recipe.train_lenet(10, range(10), str(tmp_path / "b"), 2,
                                restore_from=latest_checkpoint(str(tmp_path / "a")),
                                exclude=["LeNet/fc4"])
    now = second.named_variables()
    for name in ("LeNet/conv1/weights", "LeNet/conv2/biases", "LeNet/fc3/weights"):
        assert torch.equal(now[name], trained[name]), name
    assert now["LeNet/fc4/weights"].shape == (10, 1024)


@pytest.mark.slow
def test_finetune_vgg16_from_an_imagenet_shaped_checkpoint(tmp_path, monkeypatch):
    """A 1000-class VGG-16 checkpoint (random weights standing in for the
    zoo's, in an offline machine's cache: the default pretrained:vgg_16)
    fine-tuned to 2 classes: everything but fc8 restored."""
    from torchvision.io import encode_png

    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SLIMTORCH_OFFLINE", "1")
    network_fn = slim.nets.nets_factory.get_network_fn("vgg_16", 1000)
    network_fn.build((1, 3, 224, 224))
    pretrained = slim.pretrained.converted_path(slim.pretrained.get_pretrained("vgg_16"))
    save_checkpoint(pretrained, network_fn.named_variables())
    source = {k: v.detach().clone() for k, v in network_fn.named_variables().items()
              if k.startswith(("vgg_16/conv1/conv1_1", "vgg_16/fc7"))}
    for label, name in enumerate(("cat", "dog")):
        (tmp_path / "data" / "train" / name).mkdir(parents=True)
        image = torch.full((3, 240, 260), 60 + 100 * label, dtype=torch.uint8)
        (tmp_path / "data" / "train" / name / "0.png").write_bytes(
            bytes(encode_png(image).tolist()))
    slim.reset_default_graph()
    train_dir = tmp_path / "ft"
    _recipe("finetune_vgg16").main([
        "--dataset_dir", str(tmp_path / "data"),
        "--train_dir", str(train_dir), "--batch_size", "2", "--max_number_of_steps", "1",
        "--learning_rate", "0", "--trainable_scopes", "vgg_16/fc8"])
    reader = load_checkpoint(latest_checkpoint(str(train_dir)))
    for name, value in source.items():
        assert torch.equal(reader.get_torch_tensor(name), value), name
    assert reader.get_torch_tensor("vgg_16/fc8/weights").shape == (2, 4096, 1, 1)


@pytest.mark.parametrize("name, flag", [("train_image_classifier", "--checkpoint_exclude_scopes"),
                                        ("eval_image_classifier", "--eval_image_size")])
@pytest.mark.slow
def test_image_classifier_recipes_take_research_slim_flags(name, flag):
    import os
    import subprocess
    import sys

    root = str(RECIPES.parent)
    done = subprocess.run([sys.executable, str(RECIPES / f"{name}.py"), "--help"],
                          env=dict(os.environ, PYTHONPATH=root), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and flag in done.stdout, done.stderr
