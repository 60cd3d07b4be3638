"""The documentation cannot rot: every ```python block of the README and of
docs/ runs, every `slimtorch` command in a ```bash block parses, every
shown mistake prints exactly its line, the generated pages are current, and
(slow) the site builds with ``mkdocs build --strict``.

A page is one program: its blocks run in order in one namespace, after the
default graph is reset, in a temporary directory, offline, with a cache
that holds MobileNet v1's converted weights (random values standing in for
the download: examples with ``pretrained=True`` take the cache-hit path,
which reads exactly such a file). Blocks marked ```python title="TF-Slim"
show TensorFlow originals and do not run.
"""

import argparse
import importlib.util
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

import slimtorch as slim
from slimtorch import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README] + sorted((ROOT / "docs").rglob("*.md"))
RUN = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
SHOWN = re.compile(r'^```python title="TF-Slim"\n(.*?)^```', re.S | re.M)
ANY_PYTHON = re.compile(r"^```python(.*)$", re.M)
#: Pages whose examples train or build big nets: the slow suite runs them.
SLOW_PAGES = {"docs/usage-guide/en.md", "docs/usage-guide/zh.md", "docs/training.md",
              "docs/evaluation.md", "docs/export.md", "docs/zoo.md", "docs/checkpoints.md",
              "docs/defining-models.md", "docs/data.md"}


def _name(page: pathlib.Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def zoo_cache(tmp_path_factory):
    """A cache holding MobileNet v1's converted weights (made once)."""
    from slimtorch.checkpoint import save_checkpoint
    from slimtorch.nets import nets_factory
    from slimtorch.pretrained import converted_path, get_pretrained

    home = tmp_path_factory.mktemp("slimtorch_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLIMTORCH_HOME", str(home))
        weights = get_pretrained("mobilenet_v1")
        with slim.Graph():
            net = nets_factory.get_network_fn("mobilenet_v1", weights.num_classes)
            net.build(net.input_shape(1))
        save_checkpoint(converted_path(weights), dict(net.named_variables()))
    return home


@pytest.fixture
def offline_zoo_cache(zoo_cache, tmp_path, monkeypatch):
    """An offline machine whose cache holds MobileNet v1's converted weights,
    and a fresh working directory."""
    monkeypatch.setenv("SLIMTORCH_HOME", str(zoo_cache))
    monkeypatch.setenv("SLIMTORCH_OFFLINE", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


def _pages_with_code():
    for page in PAGES:
        if RUN.search(page.read_text(encoding="utf-8")):
            marks = [pytest.mark.slow] if _name(page) in SLOW_PAGES else []
            yield pytest.param(page, id=_name(page), marks=marks)


@pytest.mark.parametrize("page", list(_pages_with_code()))
def test_python_blocks_run(page, offline_zoo_cache):
    slim.reset_default_graph()
    namespace = {"__name__": "__docs__"}
    for block in RUN.findall(page.read_text(encoding="utf-8")):
        exec(compile(block, str(page), "exec"), namespace)


def test_only_tensorflow_originals_are_left_unrun():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for info in ANY_PYTHON.findall(text):
            assert info in ("", ' title="TF-Slim"'), (_name(page), info)
        for block in SHOWN.findall(text):
            assert re.search(r"\btf\.|tensorflow|slim\.", block), (_name(page), block[:80])


def _bash_commands(page):
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line:
                commands.append(line)
    return commands


def test_readme_has_the_two_set_up_commands_and_the_main_job():
    assert {"pip install -e \".[dev]\"", "pytest -q", "slimtorch train",
            "slimtorch eval"} <= set(_bash_commands(README))
    assert len(README.read_text(encoding="utf-8").splitlines()) < 200


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_slimtorch_commands_parse(page):
    """Each `slimtorch ...` (also under torchrun / python -m) of a ```bash
    block parses with slimtorch's own parser: a renamed flag fails here.
    Recipes' flags must exist in the recipe."""
    for command in _bash_commands(page):
        argv = shlex.split(command)
        if "slimtorch" in argv and argv[0] in ("slimtorch", "torchrun", "python"):
            start = argv.index("slimtorch") + 1
            rest = [a for a in argv[start:] if a != "..."]
            if argv[0] != "slimtorch" and "..." in argv[start:]:
                continue   # torchrun ... -m slimtorch train ...: flags elided on purpose
            cli.build_parser().parse_args(rest)
        elif len(argv) > 1 and argv[0] == "python" and argv[1].startswith("recipes/"):
            source = (ROOT / argv[1]).read_text()
            for flag in (a.split("=")[0] for a in argv[2:] if a.startswith("--")):
                assert f'"{flag}"' in source, (command, flag)


def test_shown_mistakes_print_what_the_docs_say(capsys):
    """Each ``$ slimtorch ...`` of a ```text block is followed by exactly the
    line the command prints on stderr (and it exits with status 1)."""
    shown = []
    for page in PAGES:
        for block in re.findall(r"```text\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            lines = block.splitlines()
            shown += [(line[2:], lines[i + 1]) for i, line in enumerate(lines)
                      if line.startswith("$ slimtorch ")]
    assert len(shown) >= 3
    for command, line in shown:
        slim.reset_default_graph()
        assert cli.main(shlex.split(command)[1:] + ["--train_dir=/nonexistent/docs"]) == 1
        assert capsys.readouterr().err == line + "\n", command


def test_cli_page_and_api_reference_are_generated_from_the_code():
    """docs/cli.md and docs/reference/ are current (regenerate: python scripts/gen_docs.py)."""
    gen_docs = _script("gen_docs")
    cli_page = gen_docs.cli_page()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_page
    pages = gen_docs.reference_pages()
    on_disk = {f"reference/{p.name}" for p in (ROOT / "docs" / "reference").glob("*.md")}
    assert on_disk == set(pages)
    for path, text in pages.items():
        assert (ROOT / "docs" / path).read_text(encoding="utf-8") == text, path
    # Every command and flag of the parser is on the page.
    for name, command in cli.build_parser().commands.items():
        assert f"## slimtorch {name}" in cli_page
        for action in command._actions:
            if action.help == argparse.SUPPRESS:   # absl's --noflag spellings
                continue
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in cli_page or f", {flag}" in cli_page, (name, flag)


def test_the_doctest_fence_for_the_api_reference():
    spec = importlib.util.spec_from_file_location("griffe_doctests", ROOT / "scripts" / "griffe_doctests.py")
    module = importlib.util.module_from_spec(spec)
    pytest.importorskip("griffe")
    spec.loader.exec_module(module)
    text = "Adds.\n\n    >>> 1 + 1\n    2\n\nExample:\n    >>> x = 1\n\nThen."
    assert module.fence_doctests(text) == ("Adds.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nExample:\n"
                                           "    ```pycon\n    >>> x = 1\n    ```\n\nThen.")


@pytest.mark.slow
def test_generated_tables_are_current():
    """The zoo table (docs/zoo.md) and the pretrained-weights tables
    (docs/checkpoints.md, README.md) build every net on the meta device: slow."""
    gen_docs = _script("gen_docs")
    assert gen_docs.main(["--check"]) == 0
    table = _script("pretrained_table")
    assert table.main(["--check", str(ROOT / "docs" / "checkpoints.md")]) == 0
    assert table.main(["--check", str(README)]) == 0   # the README's compact copy


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    """What CI runs: a broken link, anchor or API reference fails the build."""
    pytest.importorskip("mkdocs")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                             "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


def _slug(heading: str) -> str:
    """mkdocs' toc anchor of a heading (its default slugify)."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[-\s]+", "-", text).strip("-")


def test_readme_links_into_the_docs_resolve():
    """mkdocs checks the site's own links; the README sits outside it."""
    links = re.findall(r"\]\((docs/[^)#]+)(?:#([^)]+))?\)", README.read_text(encoding="utf-8"))
    assert len(links) >= 10
    for path, anchor in links:
        target = ROOT / path
        assert target.is_file(), path
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(encoding="utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, (path, anchor)
