"""The benchmark scripts stay runnable (timings are not asserted)."""

import importlib.util
import pathlib
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def load(name):
    sys.path.insert(0, str(SCRIPTS))   # scripts import their sibling modules
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_overhead_runs_and_checks_equal_outputs(capsys):
    bench = load("bench_overhead")
    for case in ("a", "b"):
        bench.build_pair(case)  # asserts slimtorch == hand-written outputs
    bench.main(["--case", "b", "--repeats", "1", "--steps", "1", "--warmup", "0"])
    out = capsys.readouterr().out
    assert "| (b) MLP 50x64 b8 |" in out


def test_define_vgg16_recipe(capsys):
    spec = importlib.util.spec_from_file_location(
        "define_vgg16", SCRIPTS.parent / "recipes" / "define_vgg16.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    recipe.main(["--no-run", "--num_classes", "20"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["vgg16/conv1/conv1_1/weights", "[64,"]
    assert out[-2].split()[:2] == ["vgg16/fc8/biases", "[20]"]
    assert out[-1] == "32 variables, 134,342,484 parameters, 16 regularization losses"


@pytest.mark.slow
def test_bench_checkpoint_runs(capsys, tmp_path):
    load("bench_checkpoint").main(["--repeats", "1", "--dir", str(tmp_path), "--warm"])
    out = capsys.readouterr().out
    assert "slimtorch convs only" in out and "torch.load(mmap) full" in out
    assert list(tmp_path.iterdir()) == []   # cleaned up


def test_parity_and_fixture_scripts_import_without_tensorflow():
    # They import TensorFlow only inside run_tf_net; the helpers must load here.
    parity = load("check_tf_parity")
    assert parity.num_classes_for("inception_v3") == 1001
    assert parity.num_classes_for("vgg_16") == 1000
    assert set(parity.TF_NETS) == set(__import__("slimtorch.nets.nets_factory",
                                                 fromlist=["x"]).network_names())


def test_bench_build_runs(capsys):
    load("bench_build").main(["--nets", "lenet,cifarnet", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "lenet" in out and "slowest meta build" in out


@pytest.mark.slow
def test_bench_build_measures_build_memory(capsys):
    load("bench_build").main(["--memory", "lenet"])
    out = capsys.readouterr().out
    assert out.startswith("lenet: build (meta) + materialize (CPU) added ") and "x" in out


def test_gpu_check_script_is_valid_bash():
    import subprocess
    subprocess.run(["bash", "-n", str(SCRIPTS / "gpu_check.sh")], check=True)


@pytest.mark.slow
def test_bench_zoo_runs_on_cpu(capsys):
    load("bench_zoo").main(["--nets", "mobilenet_v2", "--batch", "1", "--repeats", "1",
                            "--warmup", "0", "--train"])
    out = capsys.readouterr().out
    assert "| mobilenet_v2 | eval |" in out and "| mobilenet_v2 | train |" in out


@pytest.mark.slow
def test_bench_trainer_runs(capsys):
    load("bench_trainer").main(["--steps", "2", "--repeats", "1", "--batch", "4"])
    out = capsys.readouterr().out
    assert "| slim.learning.train |" in out and "| plain PyTorch loop |" in out
