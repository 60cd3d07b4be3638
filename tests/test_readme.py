"""Every ```python block of the README runs (so the README cannot rot)."""

import importlib.util
import pathlib
import re

import pytest

import slimtorch as slim

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def zoo_cache(tmp_path, monkeypatch):
    """An offline machine whose cache holds MobileNet v1's converted weights
    (random values standing in for the download: the README's example takes
    the cache-hit path, which reads exactly this file)."""
    from slimtorch.checkpoint import save_checkpoint
    from slimtorch.nets import nets_factory
    from slimtorch.pretrained import converted_path, get_pretrained

    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path))
    monkeypatch.setenv("SLIMTORCH_OFFLINE", "1")
    weights = get_pretrained("mobilenet_v1")
    with slim.Graph():
        net = nets_factory.get_network_fn("mobilenet_v1", weights.num_classes)
        net.build(net.input_shape(1))
    save_checkpoint(converted_path(weights), dict(net.named_variables()))


def test_readme_python_blocks_run(capsys, zoo_cache):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    for block in blocks:
        slim.reset_default_graph()   # each block is its own program
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["32 vgg16/conv1/conv1_1/weights", "16", "torch.Size([2, 1000])",
                       "vgg16.conv1.conv1_1.weights"]
    metrics = [line.split(" has value")[0] for line in out[4:6]]
    assert metrics == ["Metric eval/mean_absolute_error", "Metric eval/mean_squared_error"]
    assert [line.split(":")[0] for line in out[6:]] == ["eval/accuracy", "eval/recall_5"]


def _bash_commands():
    """Each command of the README's ```bash blocks (continuations joined,
    comments dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line:
                commands.append(line)
    return commands


def test_readme_commands_run_in_ci_or_parse():
    """Commands that need nothing from outside run in .ci/run (on a fresh
    machine); the others (zoo checkpoints, datasets) must at least parse."""
    import shlex

    from slimtorch import cli

    ci = {line.split("  #")[0].strip()
          for line in (README.parent / ".ci" / "run").read_text().splitlines()}
    commands = _bash_commands()
    assert {"pip install -e \".[dev]\"", "pytest -q", "slimtorch train",
            "slimtorch eval"} <= set(commands)
    for command in commands:
        if command in ci:
            continue
        argv = shlex.split(command)
        if argv[0] == "slimtorch":
            cli.build_parser().parse_args(argv[1:])   # SystemExit on a flag that rotted
        elif argv[:2] == ["python", argv[1]] and argv[1].startswith("recipes/"):
            source = (README.parent / argv[1]).read_text()
            for flag in (a.split("=")[0] for a in argv[2:] if a.startswith("--")):
                assert f'"{flag}"' in source, (command, flag)
        else:
            raise AssertionError(f"README command neither in .ci/run nor checked: {command}")


def test_readme_mistakes_print_what_it_shows(capsys):
    """Each ``$ slimtorch ...`` of a ```text block is followed by exactly the
    line the command prints on stderr (and it exits with status 1)."""
    import shlex

    from slimtorch import cli

    shown = []
    for block in re.findall(r"```text\n(.*?)```", README.read_text(), re.S):
        lines = block.splitlines()
        shown += [(line[2:], lines[i + 1]) for i, line in enumerate(lines)
                  if line.startswith("$ slimtorch ")]
    assert len(shown) >= 3
    for command, line in shown:
        slim.reset_default_graph()
        assert cli.main(shlex.split(command)[1:] + ["--train_dir=/nonexistent/readme"]) == 1
        assert capsys.readouterr().err == line + "\n", command


@pytest.mark.slow
def test_readme_pretrained_table_is_the_registrys():
    """The README's table of pretrained weights is generated (its sizes build
    every net on the meta device: slow); regenerate it with
    ``python scripts/pretrained_table.py --write README.md``."""
    path = README.parent / "scripts" / "pretrained_table.py"
    spec = importlib.util.spec_from_file_location("pretrained_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check", str(README)]) == 0
