"""``slimtorch train`` / ``slimtorch eval``: research/slim's image-classifier
scripts on the embedded digits; fine-tuning, resuming and the errors."""

import os
import subprocess
import sys

import pytest
import torch

import slimtorch as slim
from slimtorch import cli
from slimtorch.checkpoint import latest_checkpoint, load_checkpoint

EVAL_FAST = ["--num_preprocessing_threads=0", "--device=cpu"]
FAST = ["--log_every_n_steps=0", *EVAL_FAST]


def _train(tmp_path, name, *flags):
    slim.reset_default_graph()   # each command is its own program
    train_dir = str(tmp_path / name)
    assert cli.main(["train", f"--train_dir={train_dir}", *FAST, *flags]) == 0
    return train_dir


def _tensor(train_dir, name):
    return load_checkpoint(latest_checkpoint(train_dir)).get_torch_tensor(name)


def test_help_lists_research_slim_flags(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--model_name", "--dataset_name", "--dataset_dir", "--dataset_split_name",
                 "--train_dir", "--checkpoint_path", "--checkpoint_exclude_scopes",
                 "--trainable_scopes", "--ignore_missing_vars", "--optimizer",
                 "--learning_rate", "--learning_rate_decay_type", "--num_epochs_per_decay",
                 "--label_smoothing", "--moving_average_decay", "--batch_size",
                 "--max_number_of_steps", "--labels_offset", "--log_every_n_steps",
                 "--save_interval_secs", "--save_summaries_secs", "--rmsprop_decay",
                 "--save_summaries_steps", "--num_threads"):
        assert flag in text, flag
    assert cli.main(["eval", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--eval_image_size" in text and "--num_threads" in text


def test_train_then_eval_on_the_digits(tmp_path, capsys):
    train_dir = _train(tmp_path, "train", "--max_number_of_steps=40", "--optimizer=sgd",
                       "--learning_rate=0.05", "--learning_rate_decay_type=fixed")
    assert latest_checkpoint(train_dir).endswith("model.ckpt-40.safetensors")
    assert int(_tensor(train_dir, "global_step")) == 40
    assert _tensor(train_dir, "LeNet/fc4/weights").shape == (10, 1024)
    assert "trained to global step 40" in capsys.readouterr().out

    slim.reset_default_graph()
    eval_dir = str(tmp_path / "eval")
    assert cli.main(["eval", f"--checkpoint_path={train_dir}", f"--eval_dir={eval_dir}",
                     *EVAL_FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = dict(line.split(": ") for line in lines if line.startswith("eval/"))
    assert set(values) == {"eval/Accuracy", "eval/Recall_5"}
    assert 0.5 < float(values["eval/Accuracy"]) <= float(values["eval/Recall_5"]) <= 1.0
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(eval_dir))


def test_finetune_excludes_scopes_trains_only_some_and_resumes(tmp_path, caplog):
    base = _train(tmp_path, "base", "--max_number_of_steps=10")
    # The checkpoint's prefix, as TF users write it (model.ckpt-10, no .safetensors).
    tuned = _train(tmp_path, "tuned", "--max_number_of_steps=5",
                   f"--checkpoint_path={base}/model.ckpt-10",
                   "--checkpoint_exclude_scopes=LeNet/fc4",
                   "--trainable_scopes=LeNet/fc3,LeNet/fc4")
    # conv layers: restored and frozen; fc3: restored then trained; fc4: fresh.
    for name in ("LeNet/conv1/weights", "LeNet/conv2/biases"):
        assert torch.equal(_tensor(base, name), _tensor(tuned, name)), name
    assert not torch.equal(_tensor(base, "LeNet/fc3/weights"), _tensor(tuned, "LeNet/fc3/weights"))
    assert int(_tensor(tuned, "global_step")) == 5   # the step restarts: model variables only
    # A second run on the same directory resumes it and ignores --checkpoint_path.
    with caplog.at_level("INFO"):
        _train(tmp_path, "tuned", "--max_number_of_steps=8", f"--checkpoint_path={base}",
               "--checkpoint_exclude_scopes=LeNet/fc4", "--trainable_scopes=LeNet/fc3,LeNet/fc4")
    assert "Ignoring --checkpoint_path because a checkpoint already exists" in caplog.text
    assert int(_tensor(tuned, "global_step")) == 8


def test_a_finished_run_says_there_is_nothing_to_do(tmp_path, capsys):
    train_dir = _train(tmp_path, "done", "--max_number_of_steps=3")
    assert "trained to global step 3" in capsys.readouterr().out
    for steps in (3, 2):   # reached, or passed
        _train(tmp_path, "done", f"--max_number_of_steps={steps}")
        assert capsys.readouterr().out.splitlines()[-1] == (
            f"nothing to do: {train_dir} already holds a finished run at global step 3; pass a "
            "larger --max_number_of_steps to train on, or a new --train_dir")
    assert int(_tensor(train_dir, "global_step")) == 3
    _train(tmp_path, "done", "--max_number_of_steps=4")
    assert "trained to global step 4" in capsys.readouterr().out


def test_moving_averages_are_saved_and_evaluated(tmp_path, capsys):
    train_dir = _train(tmp_path, "ema", "--max_number_of_steps=5",
                       "--moving_average_decay=0.9")
    names = load_checkpoint(latest_checkpoint(train_dir)).get_variable_to_shape_map()
    assert "LeNet/conv1/weights/ExponentialMovingAverage" in names
    slim.reset_default_graph()
    assert cli.main(["eval", f"--checkpoint_path={train_dir}", "--moving_average_decay=0.9",
                     f"--eval_dir={tmp_path / 'eval'}", "--max_num_batches=1", *EVAL_FAST]) == 0
    assert "eval/Accuracy: " in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--model_name=vgg16"], "Name of network unknown vgg16; did you mean vgg_16?"),
    (["train", "--dataset_name=flowers"], "'flowers' needs --dataset_dir"),
    (["train", "--dataset_name=flowers", "--dataset_dir=/no/such/dir"], "does not exist"),
    (["train", "--dataset_name=imagenet_2012"],
     "unknown dataset 'imagenet_2012'; did you mean imagenet?"),
    (["train", "--preprocessing_name=incepton"],
     "Preprocessing name [incepton] was not recognized; did you mean inception?"),
    (["eval", "--model_name=resnet50"],
     "Name of network unknown resnet50; did you mean resnet_v1_50 or resnet_v2_50?"),
    (["eval", "--checkpoint_path=/no/such/ckpt"], "/no/such/ckpt"),
    (["train", "--model_name=alexnet_v2"], "pass --preprocessing_name, e.g. vgg"),
])
def test_mistakes_give_one_clear_line(argv, message, tmp_path, capsys):
    train = argv[0] == "train"
    code = cli.main([*argv, f"--{'train' if train else 'eval'}_dir={tmp_path / 'out'}",
                     *(FAST if train else EVAL_FAST)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and message in err[0] and err[0].startswith(f"slimtorch {argv[0]}: error")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_console_script_runs(tmp_path):
    """The installed ``slimtorch`` entry point (here ``python -m slimtorch``)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    done = subprocess.run([sys.executable, "-m", "slimtorch", "train",
                           f"--train_dir={tmp_path}", "--max_number_of_steps=3",
                           "--log_every_n_steps=1", *EVAL_FAST],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "global step 3: loss = " in done.stderr
    assert "trained to global step 3" in done.stdout


@pytest.mark.slow
def test_default_training_learns_the_digits(tmp_path, capsys):
    """research/slim's defaults (RMSProp, exponential decay, weight decay) on
    LeNet: a few hundred steps reach well over 90 % test accuracy."""
    train_dir = _train(tmp_path, "train", "--max_number_of_steps=300")
    slim.reset_default_graph()
    assert cli.main(["eval", f"--checkpoint_path={train_dir}",
                     f"--eval_dir={tmp_path / 'eval'}", *EVAL_FAST]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("eval/Accuracy: ")[1].split()[0])
    assert accuracy > 0.93, out


def test_video_nets_train_and_evaluate_on_still_images(tmp_path, capsys):
    # A still image becomes a clip of --num_frames identical frames ("boring video").
    small = ["--model_name=s3dg", "--dataset_name=synthetic", "--num_frames=4",
             "--batch_size=2"]
    train_dir = _train(tmp_path, "s3dg", *small, "--train_image_size=32",
                       "--max_number_of_steps=1")
    assert _tensor(train_dir, "InceptionV1/Conv2d_1a_7x7/weights").dim() == 5
    slim.reset_default_graph()
    assert cli.main(["eval", f"--checkpoint_path={train_dir}", *small, "--eval_image_size=32",
                     f"--eval_dir={tmp_path / 'eval'}", "--max_num_batches=1", *EVAL_FAST]) == 0
    assert "eval/Accuracy: " in capsys.readouterr().out


def test_num_frames_is_refused_for_image_nets(tmp_path, capsys):
    code = cli.main(["train", "--num_frames=4", f"--train_dir={tmp_path / 'out'}", *FAST])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "slimtorch train: error: --num_frames is for the video nets (i3d, s3dg); --model_name "
        "lenet takes images, so leave it out")


def test_moving_averages_cover_batch_norm_statistics(tmp_path, capsys):
    # research/slim averages slim.get_model_variables(), moving mean and
    # variance included, and its eval restores all of them from the shadows.
    small = ["--model_name=mobilenet_v1_025", "--preprocessing_name=inception",
             "--dataset_name=synthetic", "--batch_size=2",
             "--moving_average_decay=0.5"]
    train_dir = _train(tmp_path, "ema_bn", *small, "--train_image_size=32",
                       "--max_number_of_steps=2")
    reader = load_checkpoint(latest_checkpoint(train_dir))
    names = reader.get_variable_to_shape_map()
    mean = "MobilenetV1/Conv2d_0/BatchNorm/moving_mean"
    assert f"{mean}/ExponentialMovingAverage" in names
    shadow, value = reader.get_torch_tensor(f"{mean}/ExponentialMovingAverage"), \
        reader.get_torch_tensor(mean)
    assert not torch.equal(shadow, value)   # an average, not a copy
    slim.reset_default_graph()
    assert cli.main(["eval", f"--checkpoint_path={train_dir}", *small, "--eval_image_size=32",
                     f"--eval_dir={tmp_path / 'eval'}", "--max_num_batches=1", *EVAL_FAST]) == 0
    assert "eval/Accuracy: " in capsys.readouterr().out


def test_relative_train_dir_is_found_by_eval(tmp_path, monkeypatch, capsys):
    # The state file names checkpoints relative to train_dir, not to the
    # working directory, so eval finds them from the same relative path.
    monkeypatch.chdir(tmp_path)
    slim.reset_default_graph()
    assert cli.main(["train", "--train_dir=rel", "--max_number_of_steps=2", *FAST]) == 0
    with open(os.path.join("rel", "checkpoint")) as f:
        assert 'model_checkpoint_path: "model.ckpt-2.safetensors"' in f.read()
    assert latest_checkpoint("rel") == os.path.join("rel", "model.ckpt-2.safetensors")
    slim.reset_default_graph()
    assert cli.main(["eval", "--checkpoint_path=rel", "--eval_dir=rel_eval", "--max_num_batches=1",
                     *EVAL_FAST]) == 0
    assert "eval/Accuracy: " in capsys.readouterr().out
