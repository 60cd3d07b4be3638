"""The ``slimtorch`` command.

    slimtorch train                             # LeNet on the embedded digits, 1000 steps
    slimtorch train --model_name=vgg_16 --dataset_name=flowers --dataset_dir=DIR ...
    slimtorch eval --checkpoint_path=/tmp/tfmodel/   # accuracy and recall@5
    slimtorch inspect PATH                      # names, shapes, dtypes of any checkpoint
    slimtorch convert SRC DST.safetensors       # TF / PyTorch -> slimtorch safetensors
    slimtorch convert vgg16.pth DST --net vgg_16 --torchvision
    slimtorch check vgg_16 PATH                 # matched / missing / unexpected / mis-shaped
    slimtorch export --model_name=vgg_16 --checkpoint_path=DIR --output_file=vgg16.pt2
    slimtorch predict --model_name=vgg_16 --checkpoint_path=DIR photo.jpg photos/
    slimtorch convert-data --dataset_name=folder --dataset_dir=IMAGES --output_dir=SHARDS
    slimtorch download --model_name=inception_v3   # the zoo's weights, cached and converted
    slimtorch train --model_name=inception_v3 --checkpoint_path=pretrained:inception_v3 ...

Every mistake (a bad flag or value, a missing file, a checkpoint that does
not fit) is one line on stderr, ``slimtorch <command>: error: <what>; <fix>``,
and exit status 1:

    >>> main(['train', '--max_number_of_steps=-5'])
    1

and on stderr: ``slimtorch train: error: --max_number_of_steps must be a
whole number above 0, not '-5'; e.g. --max_number_of_steps=1000``.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import logging
import os
import re
import sys

__all__ = ["build_parser", "main"]

class _Parser(argparse.ArgumentParser):
    """argparse with slimtorch's mistakes: one line, ``<prog>: error: <what>;
    <fix>``, and exit status 1 (argparse prints its usage and exits 2).
    Flags must be spelled out: research/slim's absl flags take no
    abbreviations, and a prefix that silently binds another flag is a trap."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.commands: dict = {}   # on the top-level parser: name -> command parser

    def parse_known_args(self, args=None, namespace=None):
        # absl (research/slim's flags) reads -name as --name; argparse would
        # take it for one-letter options. Only this parser's own flags are
        # rewritten, and nothing after "--".
        args = list(sys.argv[1:] if args is None else args)
        end = args.index("--") if "--" in args else len(args)
        for i, arg in enumerate(args[:end]):
            single = re.fullmatch(r"-([A-Za-z]\w+)(=.*)?", arg, re.S)
            if single and f"--{single.group(1)}" in self._option_string_actions:
                args[i] = "-" + arg
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        # argparse reports a command's unknown flags from the top-level parser;
        # the command's parser knows its flags and says "slimtorch train: ...".
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self.commands.get(getattr(namespace, "command", None), self)
            parser.fail(parser.explain_unknown(extras))
        return namespace

    def error(self, message: str):
        self.fail(self.explain(message))

    def fail(self, text: str):
        """Exits with status 1 after ``<prog>: error: <text>`` on stderr."""
        self.exit(1, f"{self.prog}: error: {text}\n")

    def explain(self, message: str) -> str:
        """argparse's ``message`` as "<what>; <fix>" on one line."""
        required = re.match(r"the following arguments are required: (.*)", message)
        if required and required.group(1) == "command":
            return f"no command given; {self._commands_hint()}"
        if required:
            return f"missing {required.group(1).upper()}; usage: {self._usage()}"
        argument = re.match(r"argument (\S+): (.*)", message, re.S)
        if argument is None:
            return f"{message}; see `{self.prog} --help`"
        flag, problem = argument.group(1).split("/")[-1], argument.group(2)
        choice = re.match(r"invalid choice: (.+?) \(choose from (.*)\)$", problem)
        if choice and flag == "command":
            return f"unknown command {choice.group(1)}; {self._commands_hint(choice.group(1))}"
        if choice:
            value = _unquote(choice.group(1))
            choices = [_unquote(c) for c in choice.group(2).split(", ")]
            close = difflib.get_close_matches(value, choices, n=1)
            fix = f"did you mean {flag}={close[0]}?" if close else \
                f"e.g. {flag}={self.get_default(_dest(flag))}"
            return f"{flag}={value} is not one of {', '.join(choices)}; {fix}"
        if re.match(r"expected (one|at most one|\d+) argument", problem):
            return f"{flag} needs a value; write {flag}=VALUE"
        if problem.startswith("ignored explicit argument"):
            return f"{flag} is a switch and takes no value; write just {flag}"
        exclusive = re.match(r"not allowed with argument (\S+)", problem)
        if exclusive:
            return f"{flag} and {exclusive.group(1)} cannot be combined; give only one of them"
        invalid = re.match(r"invalid (\w+) value: (.*)", problem)
        if invalid:   # a builtin type= (int, float) rejected the value
            kind = {"int": "a whole number", "float": "a number"}.get(invalid.group(1),
                                                                      f"a valid {invalid.group(1)}")
            problem = f"must be {kind}, not {invalid.group(2)}"
        if problem.startswith("must be true or false"):   # an absl boolean flag
            return f"{flag} {problem}; write {flag}, --no{flag[2:]} or {flag}=false"
        if problem.startswith("must be "):   # the flags' own type= functions
            default = self.get_default(_dest(flag))
            fix = f"e.g. {flag}={default}" if isinstance(default, (int, float)) and \
                not isinstance(default, bool) else f"see `{self.prog} --help`"
            return f"{flag} {problem}; {fix}"
        return f"{flag}: {problem}; see `{self.prog} --help`"

    def explain_unknown(self, extras: list) -> str:
        """The first of the arguments nobody took, with its likely fix."""
        first = extras[0]
        if not first.startswith("-"):
            usage = self._usage()
            fix = f"usage: {usage}" if len(usage) < 100 else \
                f"flags are written --name=value (`{self.prog} --help` lists them)"
            return f"unexpected argument {first!r}; {fix}"
        name = first.split("=")[0]
        other = _other_commands_flag(name, self.prog.split()[-1])
        if other:
            return other
        known = sorted(set(re.findall(r"--[\w-]+", self.format_usage())))
        close = _close_flag(name, known)
        fix = f"did you mean {close[0]}?" if close else f"`{self.prog} --help` lists the flags"
        return f"unknown flag {name}; {fix}"

    def _usage(self) -> str:
        return " ".join(self.format_usage().split()[1:])   # one line, without "usage:"

    def _commands_hint(self, typed: str = "") -> str:
        names = list(self.commands)
        close = difflib.get_close_matches(_unquote(typed), names, n=1) if typed else []
        if close:
            return f"did you mean {close[0]}?"
        return f"the commands are {', '.join(names)} (`{self.prog} --help` describes them)"


def _close_flag(name: str, known: list) -> list:
    """The flag ``name`` was likely meant to be: one holding all its words
    (``--max_steps`` -> ``--max_number_of_steps``), else the closest spelling."""
    def words(flag):
        return set(re.split(r"[-_]", flag.lstrip("-")))
    holding = [flag for flag in known if words(name) <= words(flag)]
    if len(holding) == 1:
        return holding
    return difflib.get_close_matches(name, holding or known, n=1, cutoff=0.5 if holding else 0.6)


def _other_commands_flag(name: str, command: str):
    """What to say about another research/slim script's deployment flag
    (``--num_clones`` given to eval), or None."""
    from .classifier.flags import DEPLOYMENT_FLAGS
    flag = name[2:]
    if flag in DEPLOYMENT_FLAGS.get(command, ()):
        return None
    for other, names in DEPLOYMENT_FLAGS.items():
        if flag in names or (flag.startswith("no") and flag[2:] in names):   # absl's --noflag
            return (f"{name} is a flag of research/slim's {other}_image_classifier.py "
                    f"(`slimtorch {other}`), not of {command}; drop it")
    return None


def _research_slim_flags(args) -> None:
    """One line on stderr per research/slim deployment flag given, saying what
    replaces it (from torchrun's first process only); ValueError for a value
    this run cannot honour."""
    from .classifier.flags import apply_research_slim_flags
    notes = apply_research_slim_flags(args, args.command)
    if os.environ.get("RANK", "0") == "0":
        for note in notes:
            print(f"slimtorch {args.command}: note: {note}", file=sys.stderr)


def _unquote(text: str) -> str:
    """argparse quotes values with repr(): ``'adamw'`` -> ``adamw``."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _resolve_pretrained(args) -> None:
    """``--checkpoint_path=pretrained:NAME`` becomes the cached, converted
    file of registry weights NAME (downloaded now if needed), and
    ``args.pretrained`` records NAME (predict and eval then name ImageNet's
    classes). ``train`` resolves it itself: only when it does not resume."""
    path = getattr(args, "checkpoint_path", None)
    args.pretrained = None
    from .pretrained import PRETRAINED_PREFIX, get_pretrained, pretrained_checkpoint
    if isinstance(path, str) and path.startswith(PRETRAINED_PREFIX):
        weights = get_pretrained(path[len(PRETRAINED_PREFIX):])
        model_name = getattr(args, "model_name", None)
        if model_name and model_name != weights.net:
            raise ValueError(f"--checkpoint_path={path} holds weights for {weights.net}, not "
                             f"--model_name={model_name}; pass --model_name={weights.net} (or "
                             f"`slimtorch download --list` for {model_name}'s weights)")
        args.pretrained = weights.name
        if args.command != "train":
            args.checkpoint_path = pretrained_checkpoint(args.pretrained)


def _error(command: str, text: str) -> None:
    print(f"slimtorch {command}: error: {text}", file=sys.stderr)


def _inspect(args) -> int:
    from .tools import inspect_checkpoint
    print(inspect_checkpoint(args.path))
    return 0


def _convert(args) -> int:
    from .tools import convert_checkpoint
    summary = convert_checkpoint(args.src, args.dst, net=args.net, num_classes=args.num_classes,
                                 torchvision=args.torchvision, moving_averages=args.moving_averages)
    print(f"{summary}\nwrote {args.dst}")
    return 0


def _check(args) -> int:
    from .tools import check_checkpoint
    report = check_checkpoint(args.net, args.path, args.num_classes)
    print(report.format())
    if not (report.missing or report.mismatched):
        return 0
    if not report.matched:
        fix = (f"is it another net's checkpoint? (convert torchvision's with `slimtorch convert "
               f"{args.path} OUT.safetensors --net {args.net} --torchvision`)")
    elif not report.missing:
        fix = ("for another class count pass --num-classes; to fine-tune, leave these scopes "
               "out with --checkpoint_exclude_scopes")
    else:
        fix = "to fine-tune from it, leave these scopes out with --checkpoint_exclude_scopes"
    _error("check", f"{args.path} does not fit {args.net}: {len(report.missing)} missing, "
                    f"{len(report.mismatched)} mis-shaped (listed above); {fix}")
    return 1


def _finished_step(train_dir: str):
    """The global step of ``train_dir``'s latest checkpoint, or None."""
    from .checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
    try:
        path = latest_checkpoint(train_dir)
        if path is None:
            return None
        with load_checkpoint(path) as reader:
            return getattr(reader, "global_step", None)
    except (CheckpointError, OSError):
        return None   # training reports (or falls back from) an unreadable checkpoint itself


def _train(args) -> int:
    from .classifier import train
    _research_slim_flags(args)
    done = _finished_step(args.train_dir)
    loss = train.main(args)
    if done is not None and done >= args.max_number_of_steps:
        print(f"nothing to do: {args.train_dir} already holds a finished run at global step "
              f"{done}; pass a larger --max_number_of_steps to train on, or a new --train_dir")
    else:
        print(f"trained to global step {args.max_number_of_steps} in {args.train_dir}" + (
            f" (last loss {loss:.4f})" if loss is not None else ""))
    return 0


def _eval(args) -> int:
    from .classifier import evaluate
    _research_slim_flags(args)
    evaluate.main(args)   # prints eval/<name>: value itself
    return 0


def _export(args) -> int:
    from .classifier import export
    return export.main(args)


def _predict(args) -> int:
    from .classifier import predict
    return predict.main(args)


def _download(args) -> int:
    from .classifier import download
    return download.main(args)


def _convert_data(args) -> int:
    from .classifier import convert_data
    return convert_data.main(args)


def build_parser() -> argparse.ArgumentParser:
    """The ``slimtorch`` parser; its mistakes exit with status 1 after one
    line on stderr (see :func:`main`)."""
    from .classifier.flags import (add_convert_data_flags, add_eval_flags, add_export_flags,
                                   add_predict_flags, add_train_flags)

    parser = _Parser(prog="slimtorch", description="TF-Slim on PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train an image classifier (research/slim's train_image_classifier)",
        description="Train a zoo net on a dataset with research/slim's flags; with no flags, "
                    "LeNet on the embedded digits for 1000 steps into /tmp/tfmodel/.")
    add_train_flags(train)
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "eval", help="evaluate checkpoints (research/slim's eval_image_classifier)",
        description="Accuracy and recall@5 of a checkpoint on a dataset split.")
    add_eval_flags(evaluate)
    evaluate.set_defaults(run=_eval)

    export = commands.add_parser(
        "export", help="export a net for deployment (research/slim's export_inference_graph)",
        description="A zoo net, with a checkpoint's weights baked in, as a torch.export "
                    "program (pt2), an ONNX model or TorchScript.")
    add_export_flags(export)
    export.set_defaults(run=_export)

    predict = commands.add_parser(
        "predict", help="classify image files with a checkpoint",
        description="The top-k classes of each image (files or directories), with the "
                    "net's evaluation preprocessing.")
    add_predict_flags(predict)
    predict.set_defaults(run=_predict)

    convert_data = commands.add_parser(
        "convert-data", help="write TFRecord shards of your images (research/slim's "
                             "download_and_convert_data, without downloads)",
        description="Class-per-folder images (or local MNIST / CIFAR-10 files) as "
                    "research/slim TFRecord shards and labels.txt.")
    add_convert_data_flags(convert_data)
    convert_data.set_defaults(run=_convert_data)

    download = commands.add_parser(
        "download", help="download the TF-Slim model zoo's pretrained weights by name",
        description="Downloads, checks and converts a research/slim (or torchvision) ImageNet "
                    "checkpoint once into the cache ($SLIMTORCH_HOME, default "
                    "~/.cache/slimtorch); --checkpoint_path=pretrained:NAME then uses it.")
    from .classifier.download import add_download_flags
    add_download_flags(download)
    download.set_defaults(run=_download)

    inspect = commands.add_parser("inspect", help="list a checkpoint's tensors")
    inspect.add_argument("path", help="checkpoint file, prefix (model.ckpt-1000) or directory")
    inspect.set_defaults(run=_inspect)

    convert = commands.add_parser("convert", help="convert a checkpoint to slimtorch safetensors")
    convert.add_argument("src", help="TF V1/V2, PyTorch or safetensors checkpoint")
    convert.add_argument("dst", help="output .safetensors file")
    convert.add_argument("--net", help="zoo net to check against and convert layouts for")
    convert.add_argument("--num-classes", type=int, help="the net's classes (default: from SRC)")
    convert.add_argument("--torchvision", action="store_true",
                         help="SRC is a torchvision state dict: map its names onto --net")
    convert.add_argument("--moving_averages", action="store_true",
                         help="store each variable's ExponentialMovingAverage shadow in its "
                              "place (research/slim's eval with --moving_average_decay)")
    convert.set_defaults(run=_convert)

    check = commands.add_parser(
        "check", help="compare a checkpoint with a zoo net",
        description="Lists matched, missing, unexpected and mis-shaped names; exit status 1 "
                    "when a variable of the net is missing or mis-shaped.")
    check.add_argument("net", help="zoo net name (e.g. vgg_16)")
    check.add_argument("path", help="checkpoint")
    check.add_argument("--num-classes", type=int, help="the net's classes (default: from PATH)")
    check.set_defaults(run=_check)
    parser.commands = dict(commands.choices)
    return parser


def main(argv=None) -> int:
    """Runs ``slimtorch <command> ...``; returns the exit status: 0, or 1
    after one line ``slimtorch <command>: error: ...`` on stderr. A training
    run stopped by Ctrl-C or SIGTERM (after saving) exits with 130 / 143."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:   # --help (0), or a mistake already reported (1)
        return done.code
    from .checkpoint.errors import CheckpointError
    from .learning import TrainDirLockedError
    # learning.Interrupted (a SystemExit: Ctrl-C / SIGTERM after saving) is
    # not caught: it ends the program with 130 / 143 and no traceback.
    mistakes = (CheckpointError, TrainDirLockedError, ValueError, OSError)
    if args.command in ("train", "eval", "export", "predict", "convert-data"):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        _resolve_pretrained(args)
        return args.run(args)
    except mistakes as error:
        # The first line is the message; any further lines (a convert's
        # report) are details for stdout, so stderr stays one line.
        what, _, details = str(error).partition("\n")
        if details:
            print(details)
        _error(args.command, what)
        return 1
    except FloatingPointError as error:   # a diverged training run: not a bug, a setting
        _error(args.command, f"{error}; the training diverged: lower --learning_rate or try "
                             "another --optimizer")
        return 1
    except KeyboardInterrupt as error:   # Ctrl-C outside the training loop's handling
        print(f"slimtorch {args.command}: interrupted" + (f" ({error})" if str(error) else ""),
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
