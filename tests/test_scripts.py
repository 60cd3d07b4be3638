"""The benchmark scripts stay runnable (timings are not asserted)."""

import importlib.util
import pathlib

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
