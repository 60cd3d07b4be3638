"""The layering DESIGN.md promises, checked on the source (no imports run).

Dependencies point down: the command and tools above learning and
evaluation, above nets / data / checkpoint, above layers / losses / metrics,
above the core (arg_scope, scopes, graph, variables, model), above the
private ``_io`` primitives. Privacy is by name: ``pkg/_mod.py`` and ``_name``
belong to ``pkg``, so no module imports them from another package (a private
package at the root, such as ``slimtorch/_io``, is slimtorch's own and open to
all of it).
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "slimtorch"

# Each top-level component's level: imports may go to the same level or below.
LEVELS = {
    "_io": 0, "_version": 0,
    "arg_scope": 1, "scopes": 1, "graph": 1, "variables": 1, "model": 1, "initializers": 1,
    "regularizers": 1, "utils": 1, "_layouts": 1, "summaries": 1, "_by_name": 1, "_global_step": 1,
    "layers": 2, "losses": 2, "metrics": 2, "optimization": 2, "distributed": 2, "model_analyzer": 2,
    "nets": 3, "data": 3, "checkpoint": 3, "_fold": 3,
    "training": 4, "learning": 4, "evaluation": 4, "tools": 4, "testing": 4, "precision": 4,
    "_quantize": 4, "pretrained": 4,
    "classifier": 5, "cli": 5, "__main__": 5,
}
ROOT_MODULES = {name for name in LEVELS if not (ROOT / name).is_dir()}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path):
    """(imported module, imported names) for every import in the file, lazy ones too."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [alias.name for alias in node.names]


def _is_package(module: str) -> bool:
    return (ROOT.parent / module.replace(".", "/")).is_dir()


def _owner(module: str) -> str:
    """The package that may import ``module``: the parent of its first private
    part (``slimtorch.checkpoint._sstable`` -> ``slimtorch.checkpoint``);
    anyone in slimtorch for a public module."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return "slimtorch"


def _name_owner(module: str) -> str:
    """The package that may import ``module._name``: the module's own package."""
    if _owner(module) != "slimtorch":
        return _owner(module)
    return module if _is_package(module) else module.rpartition(".")[0]


SOURCES = sorted(ROOT.rglob("*.py"))
EDGES = [(_module_name(p), target, names) for p in SOURCES for target, names in _imports(p)
         if target == "slimtorch" or target.startswith("slimtorch.")]


def _component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_root_holds_the_public_modules_and_private_ones_by_name():
    found = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    found |= {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert found == set(LEVELS)


#: Upward imports allowed, each lazy and for a reason: tf_slim keeps
#: ``optimize_loss`` in ``layers.optimizers``, but it is built on the trainer.
UPWARD_EXCEPTIONS = {("slimtorch.layers.optimizers", "slimtorch.training"),
                     # get_network_fn(pretrained=True): the registry converts
                     # checkpoints by building nets, so it sits above them.
                     ("slimtorch.nets.nets_factory", "slimtorch.pretrained")}


def test_dependencies_point_down():
    offences = []
    for module, target, names in EDGES:
        if (module, target) in UPWARD_EXCEPTIONS:
            continue
        source = _component(module)
        # `from slimtorch import learning`: each imported name is a component.
        targets = [n for n in names if n in LEVELS] if target == "slimtorch" else [_component(target)]
        offences += [f"{module} imports {t} (level {LEVELS[t]} > {LEVELS[source]})"
                     for t in targets if source and t != source and LEVELS[t] > LEVELS[source]]
    assert offences == []


def test_private_modules_and_names_stay_in_their_package():
    offences = []
    for module, target, names in EDGES:
        if not _within(module, _owner(target)):
            offences.append(f"{module} imports private module {target}")
        for name in names:
            if name.startswith("_") and not name.startswith("__") and \
                    not _within(module, _name_owner(target)):
                offences.append(f"{module} imports {target}.{name}")
    assert offences == []


def test_data_knows_no_checkpoints_and_checkpoints_know_no_nets():
    bad = [(m, t) for m, t, _ in EDGES
           if (_within(m, "slimtorch.data") and _within(t, "slimtorch.checkpoint"))
           or (_within(m, "slimtorch.checkpoint")
               and any(_within(t, f"slimtorch.{p}") for p in ("nets", "tools", "training")))
           or (_within(m, "slimtorch._io") and not _within(t, "slimtorch._io"))]
    assert bad == []
