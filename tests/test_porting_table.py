"""``scripts/porting_table.py``: the porting table in ``docs/porting.md`` is
current, every tf_slim and research/slim name in it is found in slimtorch or
explained, a name marked found really resolves, and every research/slim flag
marked supported parses with the ``slimtorch`` command's parser. Needs neither
TensorFlow nor a TF-Slim checkout: the names are frozen under docs/porting/."""

import argparse
import importlib.util
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir)
SCRIPT = os.path.join(ROOT, "scripts", "porting_table.py")
PAGE = os.path.join(ROOT, "docs", "porting.md")


@pytest.fixture(scope="module")
def porting():
    spec = importlib.util.spec_from_file_location("porting_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables(porting):
    return porting.all_rows()


def test_page_table_is_current(porting):
    assert porting.main(["--check", PAGE]) == 0


def test_stale_page_is_reported(porting, tmp_path, capsys):
    with open(PAGE) as f:
        page = f.read()
    stale = tmp_path / "porting.md"
    stale.write_text(page.replace("| `conv2d` | `slimtorch.conv2d` |", "| `conv2d` | — |"))
    assert porting.main(["--check", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err


def test_frozen_lists_are_complete(porting):
    # Counts measured when the lists were frozen (tf-slim 1287b1e; research/slim
    # of 2019-11 plus what its later versions added: NEWER).
    tf_slim = porting.read_names(porting.TF_SLIM_NAMES)
    research = porting.read_names(porting.RESEARCH_SLIM_NAMES)
    assert len(tf_slim) == 283 and len(set(tf_slim)) == 283
    assert len(research) == 183 and len(set(research)) == 183
    modules = {m for m, _ in tf_slim}
    assert {"tf_slim", "tf_slim.losses", "tf_slim.metrics", "tf_slim.learning",
            "tf_slim.evaluation", "tf_slim.tfexample_decoder", "tf_slim.nets.vgg"} <= modules
    assert sum(m == "tf_slim.metrics" for m, _ in tf_slim) == 52
    flags = {s: sum(m == s for m, _ in research)
             for s in ("train_image_classifier", "eval_image_classifier",
                       "export_inference_graph", "download_and_convert_data")}
    assert flags == {"train_image_classifier": 51, "eval_image_classifier": 16,
                     "export_inference_graph": 12, "download_and_convert_data": 2}
    assert sum(m == "nets_factory.networks_map" for m, _ in research) == 40


def test_every_name_found_or_explained(porting, tables):
    tf_rows, rs_rows = tables
    assert porting.unexplained(tf_rows) == []
    assert porting.unexplained(rs_rows) == []
    # An explanation for a name that exists would be stale.
    found = {f"{r.module}: {r.name}" for r in tf_rows + rs_rows if r.where}
    assert not found & set(porting.WHY_NOT)
    names = {f"{r.module}: {r.name}" for r in tf_rows + rs_rows}
    assert set(porting.WHY_NOT) <= names and set(porting.NOTES) <= names
    assert porting.counts(tf_rows) == (261, 22, 283)
    assert porting.counts(rs_rows) == (172, 11, 183)


def test_found_names_resolve(porting, tables):
    for row in tables[0] + tables[1]:
        if row.where is None or row.module in porting.SCRIPTS:
            continue
        if row.module in porting.KEYED:
            assert row.name in porting.resolve(porting.KEYED[row.module]), row
        else:
            path = row.where.strip("`")
            assert porting.resolve(path) is not None, row


def _argument(action, flag):
    if action.nargs == 0 or action.nargs == "?":
        return [flag]
    if action.choices:
        return [f"{flag}={next(iter(action.choices))}"]
    value = {int: "1", float: "0.5"}.get(action.type, "1")
    return [f"{flag}={value}"]


def test_supported_flags_parse(porting, tables):
    from slimtorch import cli
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for row in tables[1]:
        if row.module not in porting.SCRIPTS or row.where is None:
            continue
        command = porting.SCRIPTS[row.module]
        assert row.where == f"`slimtorch {command} {row.name}`"
        action = next(a for a in subparsers.choices[command]._actions
                      if row.name in a.option_strings)
        args = parser.parse_args([command, *_argument(action, row.name)])
        assert hasattr(args, action.dest), row
        checked += 1
    assert checked == 51 + 16 + 10 + 2
