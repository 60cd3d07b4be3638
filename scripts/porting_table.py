"""The porting table of ``docs/porting.md``: every public name of tf_slim and
research/slim, and where it lives in slimtorch, generated from the code.

Two frozen lists hold the TF-Slim side, so the table needs neither TensorFlow
nor a copy of TF-Slim:

- ``docs/porting/tf_slim_names.txt``: what ``import tf_slim as slim`` gives
  (``tf_slim: conv2d``) and the names of the modules users reach from it
  (``tf_slim.losses: log_loss``, ``tf_slim.tfexample_decoder: Image``,
  ``tf_slim.nets.vgg: vgg_16``);
- ``docs/porting/research_slim_names.txt``: research/slim's factories
  (``nets_factory.networks_map: vgg_16``), datasets, and the flags of its four
  scripts (``train_image_classifier: --learning_rate``).

Each name is then looked up in the imported slimtorch (same module path, or a
rename below); a name not found needs an entry in ``WHY_NOT`` saying why it
does not exist or what replaces it. Flags are looked up in the subcommands of
``slimtorch.cli.build_parser()``.

Usage::

    python scripts/porting_table.py --check docs/porting.md    # exit 1 when stale
    python scripts/porting_table.py --write docs/porting.md
    python scripts/porting_table.py --freeze \\
        --tf-slim-git /work/.mirror/google-research+tf-slim/repo \\
        --research-slim-git /work/.mirror/SimiaCryptus+models/repo
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import re
import subprocess
import sys
from typing import NamedTuple

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
TF_SLIM_NAMES = os.path.join(ROOT, "docs", "porting", "tf_slim_names.txt")
RESEARCH_SLIM_NAMES = os.path.join(ROOT, "docs", "porting", "research_slim_names.txt")
START, END = "<!-- porting-table:start -->", "<!-- porting-table:end -->"

# ---------------------------------------------------------------------------
# Freezing: the public surface of tf_slim and research/slim, read from git.
# ---------------------------------------------------------------------------

# Module files whose names ``import tf_slim as slim`` exposes at top level
# (tf_slim/__init__.py: ``from tf_slim.layers import *``, which star-imports
# these files, and ``from tf_slim.ops.variables import *``).
TOP_LEVEL_FILES = [
    "tf_slim/layers/bucketization_op.py", "tf_slim/layers/initializers.py",
    "tf_slim/layers/layers.py", "tf_slim/layers/normalization.py",
    "tf_slim/layers/optimizers.py", "tf_slim/layers/regularizers.py",
    "tf_slim/layers/rev_block_lib.py", "tf_slim/layers/summaries.py",
    "tf_slim/ops/variables.py",
]
# tf_slim/__init__.py binds these from tf_slim.ops.arg_scope.
ARG_SCOPE_NAMES = ["arg_scope", "add_arg_scope", "current_arg_scope", "has_arg_scope",
                   "arg_scoped_arguments", "arg_scope_func_key"]
# The modules users reach as ``slim.<module>`` (or import from tf_slim.nets).
TF_SLIM_MODULES = {
    "tf_slim.utils": "tf_slim/layers/utils.py",
    "tf_slim.losses": "tf_slim/losses/__init__.py",
    "tf_slim.metrics": "tf_slim/metrics/__init__.py",
    "tf_slim.learning": "tf_slim/learning.py",
    "tf_slim.evaluation": "tf_slim/evaluation.py",
    "tf_slim.model_analyzer": "tf_slim/model_analyzer.py",
    "tf_slim.queues": "tf_slim/queues.py",
    "tf_slim.summaries": "tf_slim/summaries.py",
    "tf_slim.training": "tf_slim/training/training.py",
    "tf_slim.train_eval": "tf_slim/training/evaluation.py",
    "tf_slim.data_decoder": "tf_slim/data/data_decoder.py",
    "tf_slim.data_provider": "tf_slim/data/data_provider.py",
    "tf_slim.dataset": "tf_slim/data/dataset.py",
    "tf_slim.dataset_data_provider": "tf_slim/data/dataset_data_provider.py",
    "tf_slim.parallel_reader": "tf_slim/data/parallel_reader.py",
    "tf_slim.prefetch_queue": "tf_slim/data/prefetch_queue.py",
    "tf_slim.tfexample_decoder": "tf_slim/data/tfexample_decoder.py",
    **{f"tf_slim.nets.{m}": f"tf_slim/nets/{m}.py"
       for m in ("alexnet", "inception", "overfeat", "resnet_utils", "resnet_v1",
                 "resnet_v2", "vgg")},
}
RESEARCH_SLIM_DATASETS = ["cifar10", "flowers", "imagenet", "mnist", "visualwakewords"]
RESEARCH_SLIM_SCRIPTS = ["train_image_classifier", "eval_image_classifier",
                         "export_inference_graph", "download_and_convert_data"]
# What research/slim gained after the 2019-11 checkout the list is frozen from
# (its last, tf_slim-based version): MobileNet v3 and EdgeTPU in both factories,
# and flags (tests/test_cli_research_slim_flags.py lists them).
_MOBILENET_V3 = ["mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v3_small_minimalistic",
                 "mobilenet_v3_large_minimalistic", "mobilenet_edgetpu", "mobilenet_edgetpu_075"]
NEWER = {"nets_factory.networks_map": _MOBILENET_V3,
         "preprocessing_factory.preprocessing_fn_map": _MOBILENET_V3,
         "train_image_classifier": ["--use_grayscale", "--warmup_epochs"],
         "eval_image_classifier": ["--use_grayscale"]}


def _git_show(git_dir: str, path: str) -> str:
    return subprocess.run(["git", "-C", git_dir, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _git_head(git_dir: str) -> str:
    """``owner/name commit`` of a mirror (``.../owner+name/repo``) or a checkout."""
    commit = subprocess.run(["git", "-C", git_dir, "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    path = os.path.abspath(git_dir)
    if os.path.basename(path) == "repo":
        path = os.path.dirname(path)
    return f"{os.path.basename(path).replace('+', '/')} {commit}"


def _literal_strings(node) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]
    return None


def public_names(source: str, package: str = "", functions_only: bool = False) -> list[str]:
    """A module's public names: ``__all__`` (or ``_allowed_symbols``) when it
    has one, else its top-level functions, classes and constants (not aliases
    of other modules' names: ``arg_scope = arg_scope_lib.arg_scope``, nor
    lambdas), and what it imports from its own package's modules
    (``nets/inception.py``, ``metrics/__init__.py``)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("__all__", "_allowed_symbols")
                for t in node.targets):
            names = _literal_strings(node.value)
            if names is not None:
                return names
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif functions_only:
            continue
        elif isinstance(node, ast.Assign) and not isinstance(node.value, (ast.Attribute,
                                                                          ast.Lambda)):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif (isinstance(node, ast.ImportFrom) and package
              and (node.module or "").startswith(package + ".")):
            names += [a.asname or a.name for a in node.names if a.name != "*"]
    return [n for n in dict.fromkeys(names) if not n.startswith("_")]


def _dict_keys(source: str, variable: str) -> list[str]:
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)):
            return [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
    raise ValueError(f"no dict literal {variable!r}")


def _flags(source: str) -> list[str]:
    return re.findall(r"DEFINE_\w+\(\s*['\"](\w+)['\"]", source)


def freeze_tf_slim(git_dir: str) -> list[str]:
    """``module: name`` lines for tf_slim's public surface."""
    top = []
    for path in TOP_LEVEL_FILES:
        top += public_names(_git_show(git_dir, path))
    lines = [f"tf_slim: {n}" for n in dict.fromkeys(top + ARG_SCOPE_NAMES)]
    for module, path in TF_SLIM_MODULES.items():
        package = os.path.dirname(path).replace("/", ".")
        names = public_names(_git_show(git_dir, path), package)
        lines += [f"{module}: {n}" for n in names if n != "metric_learning"]
    return lines


def freeze_research_slim(git_dir: str) -> list[str]:
    """``module: name`` lines for research/slim's factories, datasets and flags."""
    base = "research/slim/"
    factory = _git_show(git_dir, base + "nets/nets_factory.py")
    lines = [f"nets_factory: {n}" for n in ("get_network_fn", "networks_map", "arg_scopes_map")]
    lines += [f"nets_factory.networks_map: {n}" for n in _dict_keys(factory, "networks_map")]
    pre = _git_show(git_dir, base + "preprocessing/preprocessing_factory.py")
    lines.append("preprocessing_factory: get_preprocessing")
    lines += [f"preprocessing_factory.preprocessing_fn_map: {n}"
              for n in _dict_keys(pre, "preprocessing_fn_map")]
    data = _git_show(git_dir, base + "datasets/dataset_factory.py")
    lines.append("dataset_factory: get_dataset")
    lines += [f"dataset_factory.datasets_map: {n}" for n in _dict_keys(data, "datasets_map")]
    for name in RESEARCH_SLIM_DATASETS:
        lines += [f"datasets.{name}: {n}"
                  for n in public_names(_git_show(git_dir, f"{base}datasets/{name}.py"),
                                       functions_only=True)]
    lines += [f"datasets.dataset_utils: {n}"
              for n in public_names(_git_show(git_dir, base + "datasets/dataset_utils.py"))]
    for script in RESEARCH_SLIM_SCRIPTS:
        lines += [f"{script}: --{f}" for f in _flags(_git_show(git_dir, f"{base}{script}.py"))]
    for module, names in NEWER.items():
        last = max(i for i, line in enumerate(lines) if line.startswith(module + ": "))
        new = [f"{module}: {n}" for n in names if f"{module}: {n}" not in lines]
        lines[last + 1:last + 1] = new
    return lines


def _write_list(path: str, header: str, lines: list[str]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(header + "\n".join(lines) + "\n")


def read_names(path: str) -> list[tuple[str, str]]:
    """The frozen ``(module, name)`` pairs of one list."""
    pairs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                module, name = line.split(": ", 1)
                pairs.append((module, name))
    return pairs


# ---------------------------------------------------------------------------
# Looking names up in slimtorch.
# ---------------------------------------------------------------------------

# tf_slim module -> the slimtorch modules searched, in order.
MODULES = {
    "tf_slim": ["slimtorch", "slimtorch.optimization"],
    "tf_slim.training": ["slimtorch.learning", "slimtorch.training"],
    "tf_slim.train_eval": ["slimtorch.evaluation", "slimtorch.training"],
    "tf_slim.learning": ["slimtorch.learning", "slimtorch.training"],
    "tf_slim.evaluation": ["slimtorch.evaluation", "slimtorch.training"],
    "nets_factory": ["slimtorch.nets.nets_factory"],
    "preprocessing_factory": ["slimtorch.data.preprocessing"],
    "dataset_factory": ["slimtorch.data"],
    "datasets.dataset_utils": ["slimtorch.data.dataset_utils", "slimtorch.data"],
}
# (module, tf_slim name) -> slimtorch's name for it, where it differs.
RENAMES = {
    ("dataset_factory", "get_dataset"): "slimtorch.data.research_slim_dataset",
    ("datasets.imagenet", "create_readable_names_for_imagenet_labels"):
        "slimtorch.data.imagenet_class_names",
    **{(f"datasets.{name}", "get_split"): "slimtorch.data.research_slim_dataset"
       for name in ("cifar10", "flowers", "imagenet", "mnist")},
}
# Collections looked up by key: research/slim's ``map: key`` -> slimtorch's map.
KEYED = {
    "nets_factory.networks_map": "slimtorch.nets.nets_factory.networks_map",
    "preprocessing_factory.preprocessing_fn_map": "slimtorch.data.preprocessing.preprocessing_fn_map",
    "dataset_factory.datasets_map": "slimtorch.data.research_slim.RESEARCH_SLIM_DATASETS",
}
# research/slim script -> the slimtorch subcommand that takes its flags.
SCRIPTS = {"train_image_classifier": "train", "eval_image_classifier": "eval",
           "export_inference_graph": "export", "download_and_convert_data": "convert-data"}
# Notes for names that exist: where they behave differently.
NOTES = {
    "tf_slim: batch_norm": "`is_training=None` follows `train()`/`eval()`; moving averages "
                           "update in the forward pass, no `UPDATE_OPS`",
    "tf_slim: dropout": "`is_training=None` follows `train()`/`eval()`",
    "tf_slim: assign_from_checkpoint_fn": "the returned function takes no session; "
                                          "reads TF checkpoints without TensorFlow",
    "tf_slim.learning: train": "`data` is any iterable of batches; resumes from `logdir`",
    "tf_slim.learning: create_train_op": "`total_loss` is a function of the batch",
    "dataset_factory: get_dataset": "`slimtorch.data.get_dataset` returns a torch Dataset",
    "datasets.cifar10: get_split": "`research_slim_dataset('cifar10', split_name, dataset_dir)`",
    "datasets.flowers: get_split": "`research_slim_dataset('flowers', split_name, dataset_dir)`",
    "datasets.imagenet: get_split": "`research_slim_dataset('imagenet', split_name, dataset_dir)`",
    "datasets.mnist: get_split": "`research_slim_dataset('mnist', split_name, dataset_dir)`",
    "train_image_classifier: --master": "a TF master address is an error",
    "train_image_classifier: --num_clones": "one process is one clone: "
                                            "`torchrun --nproc-per-node=N`",
    "train_image_classifier: --clone_on_cpu": "`--device=cpu`",
    "train_image_classifier: --worker_replicas": "machines: `torchrun --nnodes=M`",
    "train_image_classifier: --num_ps_tasks": "no parameter servers: a value above 0 is an error",
    "train_image_classifier: --num_readers": "reading is done by `--num_preprocessing_threads`",
    "train_image_classifier: --task": "torchrun numbers the machines (`--node-rank`)",
    "train_image_classifier: --sync_replicas": "replicas are always synchronous (DDP)",
    "train_image_classifier: --quantize_delay": "quantized training: 0 or more is an error",
    "train_image_classifier: --checkpoint_path": "also `pretrained:NAME`",
    "eval_image_classifier: --master": "a TF master address is an error",
    "eval_image_classifier: --quantize": "an error; `--precision=int8` quantizes after training",
}
# Every name slimtorch does not have, and why. Keys are the frozen lines.
_UTILS_HELPER = "argument helper of TF-Slim's layers; slimtorch's layers keep theirs private"
_GRAPH_HELPER = "graph-mode helper for values known when the graph is built; eagerly, a Python `if`"
WHY_NOT: dict[str, str] = {
    "tf_slim: bucketize": "`torch.bucketize(x, boundaries, right=True)`",
    "tf_slim: GDN": "not ported (no zoo net uses it)",
    "tf_slim: gdn": "not ported (no zoo net uses it)",
    "tf_slim: legacy_fully_connected": "deprecated in TF-Slim: `slimtorch.fully_connected`",
    "tf_slim: legacy_linear": "deprecated in TF-Slim: `slimtorch.linear`",
    "tf_slim: legacy_relu": "deprecated in TF-Slim: `slimtorch.relu`",
    "tf_slim: rev_block": "not ported; to trade compute for memory, `torch.utils.checkpoint`",
    "tf_slim: RevBlock": "not ported; to trade compute for memory, `torch.utils.checkpoint`",
    "tf_slim: recompute_grad": "`torch.utils.checkpoint.checkpoint`",
    "tf_slim: VariableDeviceChooser": "no parameter servers: a model is on one device "
                                      "(`.to(device)`); torchrun for several",
    "tf_slim.utils: constant_value": _GRAPH_HELPER,
    "tf_slim.utils: static_cond": _GRAPH_HELPER,
    "tf_slim.utils: smart_cond": _GRAPH_HELPER,
    "tf_slim.utils: get_variable_collections": _UTILS_HELPER
                                               + " (`variables_collections` is accepted)",
    "tf_slim.utils: two_element_tuple": _UTILS_HELPER,
    "tf_slim.utils: n_positive_integers": _UTILS_HELPER,
    "tf_slim.utils: channel_dimension": _UTILS_HELPER,
    "tf_slim.utils: last_dimension": _UTILS_HELPER,
    "tf_slim.evaluation: get_or_create_eval_step": "no eval-step variable: "
                                                   "`evaluate_once(..., num_evals=N)` counts batches",
    "tf_slim.train_eval: get_or_create_eval_step": "no eval-step variable: "
                                                   "`evaluate_once(..., num_evals=N)` counts batches",
    "tf_slim.queues: NestedQueueRunnerError": "no queue runners: data comes from an iterable "
                                              "(a `DataLoader` and its workers)",
    "tf_slim.queues: QueueRunners": "no queue runners: data comes from an iterable "
                                    "(a `DataLoader` and its workers)",
    "dataset_factory.datasets_map: visualwakewords": "not included (research/slim builds it from COCO)",
    "datasets.visualwakewords: get_split": "not included (research/slim builds it from COCO)",
    "datasets.dataset_utils: int64_feature": "`slimtorch.data.encode_example({name: value})` "
                                             "infers each feature's type",
    "datasets.dataset_utils: bytes_list_feature": "`slimtorch.data.encode_example({name: value})` "
                                                  "infers each feature's type",
    "datasets.dataset_utils: float_list_feature": "`slimtorch.data.encode_example({name: value})` "
                                                  "infers each feature's type",
    "datasets.dataset_utils: bytes_feature": "`slimtorch.data.encode_example({name: value})` "
                                             "infers each feature's type",
    "datasets.dataset_utils: float_feature": "`slimtorch.data.encode_example({name: value})` "
                                             "infers each feature's type",
    "datasets.dataset_utils: download_and_uncompress_tarball": "nothing is downloaded: "
                                                               "`slimtorch convert-data` reads files on disk",
    "datasets.dataset_utils: open_sharded_output_tfrecords": "`slimtorch.data.write_tfrecord` "
                                                             "writes one shard",
    "export_inference_graph: --quantize": "`--precision=int8` (post-training quantization)",
    "export_inference_graph: --write_text_graphdef": "no GraphDef: `--format` is pt2, onnx or "
                                                     "torchscript",
}


class Row(NamedTuple):
    module: str
    name: str
    where: str | None   # the slimtorch path it resolves to, or None
    note: str


def resolve(path: str):
    """The object at a dotted ``slimtorch...`` path (raises when absent)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _exists(path: str) -> bool:
    try:
        resolve(path)
        return True
    except (ImportError, AttributeError):
        return False


def _subparser(command: str):
    from slimtorch import cli
    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise LookupError(command)


def _options(command: str) -> set[str]:
    return {o for a in _subparser(command)._actions for o in a.option_strings}


def lookup(module: str, name: str) -> str | None:
    """Where ``module: name`` lives in slimtorch, as a display string, or None."""
    if module in KEYED:
        return f"`{KEYED[module]}['{name}']`" if name in resolve(KEYED[module]) else None
    if module in SCRIPTS:
        command = SCRIPTS[module]
        return f"`slimtorch {command} {name}`" if name in _options(command) else None
    if (module, name) in RENAMES:
        path = RENAMES[(module, name)]
        return f"`{path}`" if _exists(path) else None
    candidates = MODULES.get(module) or ["slimtorch" + module[len("tf_slim"):]
                                         if module.startswith("tf_slim") else module]
    for candidate in candidates:
        if _exists(f"{candidate}.{name}"):
            return f"`{candidate}.{name}`"
    return None


def rows(pairs: list[tuple[str, str]]) -> list[Row]:
    out = []
    for module, name in pairs:
        key = f"{module}: {name}"
        where = lookup(module, name)
        note = NOTES.get(key, "") if where else WHY_NOT.get(key, "")
        out.append(Row(module, name, where, note))
    return out


def all_rows() -> tuple[list[Row], list[Row]]:
    return rows(read_names(TF_SLIM_NAMES)), rows(read_names(RESEARCH_SLIM_NAMES))


def unexplained(table: list[Row]) -> list[str]:
    return [f"{r.module}: {r.name}" for r in table if r.where is None and not r.note]


def counts(table: list[Row]) -> tuple[int, int, int]:
    found = sum(r.where is not None for r in table)
    explained = sum(r.where is None and bool(r.note) for r in table)
    return found, explained, len(table)


# ---------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------

def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _title(module: str) -> str:
    if module == "tf_slim":
        return "`tf_slim` (`import tf_slim as slim`)"
    if module in SCRIPTS:
        return f"`{module}.py` flags: `slimtorch {SCRIPTS[module]}`"
    return f"`{module}`"


def _section(module: str, table: list[Row]) -> list[str]:
    lines = [f"#### {_title(module)}", "", "| TF-Slim name | slimtorch | note |", "|---|---|---|"]
    for r in table:
        shown = r.name if r.name.startswith("--") else f"`{r.name}`"
        lines.append(f"| {_cell(shown)} | {_cell(r.where or '—')} | {_cell(r.note)} |")
    return lines + [""]


def render(tf_rows: list[Row], rs_rows: list[Row]) -> str:
    out = []
    for label, table in (("tf_slim", tf_rows), ("research/slim", rs_rows)):
        found, explained, total = counts(table)
        out.append(f"**{label}**: {total} public names; {found} found in slimtorch, "
                   f"{explained} explained below.")
        out.append("")
    for label, table in (("tf_slim", tf_rows), ("research/slim", rs_rows)):
        out += [f"### {label}", ""]
        for module in dict.fromkeys(r.module for r in table):
            out += _section(module, [r for r in table if r.module == module])
    return "\n".join(out).rstrip() + "\n"


def splice(page: str, table: str) -> str:
    if START not in page or END not in page:
        raise ValueError(f"the page needs {START} and {END}")
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar="PAGE", help="write the table into PAGE")
    mode.add_argument("--check", metavar="PAGE", help="exit 1 when PAGE's table is stale")
    mode.add_argument("--freeze", action="store_true", help="regenerate the frozen name lists")
    parser.add_argument("--tf-slim-git", default="/work/.mirror/google-research+tf-slim/repo",
                        help="a git directory of google-research/tf-slim (--freeze)")
    parser.add_argument("--research-slim-git", default="/work/.mirror/SimiaCryptus+models/repo",
                        help="a git directory of tensorflow/models or a fork (--freeze)")
    args = parser.parse_args(argv)

    if args.freeze:
        header = ("# tf_slim's public names, `module: name`; generated by scripts/porting_table.py"
                  f" --freeze\n# from {_git_head(args.tf_slim_git)}\n")
        _write_list(TF_SLIM_NAMES, header, freeze_tf_slim(args.tf_slim_git))
        header = ("# research/slim's public names and flags, `module: name`; generated by"
                  " scripts/porting_table.py --freeze\n# from research/slim of"
                  f" {_git_head(args.research_slim_git)} (2019-11), plus NEWER\n")
        _write_list(RESEARCH_SLIM_NAMES, header, freeze_research_slim(args.research_slim_git))
        return 0

    tf_rows, rs_rows = all_rows()
    missing = unexplained(tf_rows) + unexplained(rs_rows)
    if missing:
        print("neither found in slimtorch nor explained in WHY_NOT:", *missing, sep="\n  ",
              file=sys.stderr)
        return 1
    table = render(tf_rows, rs_rows)
    page_path = args.write or args.check
    with open(page_path) as f:
        page = f.read()
    new = splice(page, table)
    if args.write:
        with open(page_path, "w") as f:
            f.write(new)
        for label, t in (("tf_slim", tf_rows), ("research/slim", rs_rows)):
            print("%s: %d found, %d explained, %d names" % (label, *counts(t)))
        return 0
    if new != page:
        print(f"{page_path}: the porting table is stale; run "
              f"python scripts/porting_table.py --write {page_path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
