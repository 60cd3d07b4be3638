"""``slim.Model``: a Slim-style function becomes an ordinary ``nn.Module``.

    >>> def mlp(x, num_classes=10):
    ...     x = slim.stack(x, slim.fully_connected, [32, 32], scope='fc')
    ...     return slim.fully_connected(x, num_classes, activation_fn=None, scope='logits')
    >>> with slim.Graph():
    ...     net = slim.Model(mlp, num_classes=3)
    ...     y = net(torch.randn(4, 8))          # first call builds the layers
    >>> y.shape, sorted(net.state_dict())[:2]
    (torch.Size([4, 3]), ['fc.fc_1.biases', 'fc.fc_1.weights'])

The first call (or :meth:`Model.build`) runs the function in *build* mode:
layer builders create their modules in a tree that mirrors the scope path,
so ``state_dict`` keys are the Slim names with dots. Every later call runs the
function in *apply* mode, where each builder finds its module with a
dictionary lookup; creating anything new then raises
:class:`~slimtorch.variables.NotBuiltError`. After build the model is a
plain module: ``parameters()``, ``state_dict()``, ``.to()``, ``train()``/
``eval()`` (which is what ``is_training=None`` follows), ``deepcopy``,
``torch.compile`` and DDP all work.

The first call also checks its input, once: a model that declares an
:class:`InputSpec` (every zoo net does) refuses a batch that is not
``[N, channels, H, W]`` floating-point images with one ``ValueError`` naming
the fix; any other model refuses an input that looks channels-last.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import nn

from .arg_scope import arg_scope, current_arg_scope
from .graph import Variable
from .initializers import run_initializer
from .scopes import APPLY, BUILD, Frame, current_frame, frame_scope

__all__ = ["InputSpec", "Model", "dry_run", "slim_name_to_state_dict_key", "state_dict_key_to_slim_name"]


def slim_name_to_state_dict_key(name: str) -> str:
    """``'vgg_16/conv1/conv1_1/weights'`` -> ``'vgg_16.conv1.conv1_1.weights'``.

    Both directions are exact because scope names may not contain '.'.
    """
    return name.replace("/", ".")


def state_dict_key_to_slim_name(key: str) -> str:
    """``'vgg_16.conv1.conv1_1.weights'`` -> ``'vgg_16/conv1/conv1_1/weights'``."""
    return key.replace(".", "/")


ShapeOrExample = Union[torch.Tensor, Sequence[int], torch.Size]


@dataclass(frozen=True)
class InputSpec:
    """The images a :class:`Model` takes, checked on its first call only.

    Args:
        channels: the channels of its ``[N, channels, H, W]`` images. When
            set, the first input must be a 4-D floating-point batch in that
            layout; a channels-last batch, another channel count, integer
            pixels or float64 pixels (which would build float64 variables)
            get one ``ValueError`` that names the fix.
        min_size: the smallest ``H`` and ``W`` the layers accept; a first
            call on a smaller input that fails inside a layer (torch's
            ``RuntimeError``) reports that instead. (The check waits for
            the failure, as some arguments, such as ``global_pool=True``,
            accept less.)
        preprocessing: what turns raw pixels into the model's input, named
            in the error for integer images.
        video: the model takes clips ``[N, channels, T, H, W]`` (NCDHW: I3D,
            S3D-G) instead of images; the same checks apply to them.

    ``slim.Model(fn, input_spec=slim.InputSpec())`` declares nothing and so
    turns off the channels-last guess models without a spec make (for a
    function that takes ``[N, H, W, C]`` on purpose).

        >>> net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='c'),
        ...                  input_spec=slim.InputSpec(channels=3))
        >>> net(torch.zeros(2, 32, 32, 3))
        Traceback (most recent call last):
        ...
        ValueError: Model(<lambda>): expected float images [N, 3, H, W] (NCHW), got float32
        [2, 32, 32, 3]: channels-last (NHWC); use images.permute(0, 3, 1, 2)
    """

    channels: Optional[int] = None
    min_size: Optional[int] = None
    preprocessing: Optional[str] = None
    video: bool = False


class Model(nn.Module):
    """Wraps ``fn(inputs, **kwargs)`` written with slim layers as an ``nn.Module``.

    Args:
        fn: the model function; it is re-run on every call, so plain Python
            control flow works, but the *layers* it reaches are fixed by the
            build call.
        input_spec: the images ``fn`` takes (:class:`InputSpec`), checked on
            the first call; None: only an input that looks channels-last is
            refused.
        **fn_kwargs: keyword arguments bound to ``fn`` (e.g. ``num_classes``).
            Keywords given at call time override them.

    The scope that is open when the model is built (e.g. an enclosing
    ``slim.variable_scope('vgg16')``) becomes part of every name; it is
    remembered, with its custom getter, so later calls need not re-open it.

    Attribute ``memory_format``: None (default) leaves tensors as they come;
    ``torch.channels_last`` stores the 4-D variables channels-last and
    makes 4-D inputs channels-last on each call, so every convolution runs
    NHWC in memory (shapes stay NCHW): the fast layout for oneDNN on CPUs and
    for tensor cores. The zoo's ``get_network_fn`` sets it by default.

        >>> net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='c'))
        >>> net.memory_format = torch.channels_last
        >>> y = net(torch.ones(1, 3, 8, 8))
        >>> net.c.weights.is_contiguous(memory_format=torch.channels_last), tuple(y.shape)
        (True, (1, 8, 8, 8))
    """

    memory_format: Optional[torch.memory_format] = None

    def __init__(self, fn: Callable, *, input_spec: Optional[InputSpec] = None,
                 **fn_kwargs: Any) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"slim.Model expects a function, got {type(fn).__name__}")
        if input_spec is not None and not isinstance(input_spec, InputSpec):
            raise TypeError(f"slim.Model: input_spec must be a slim.InputSpec, got "
                            f"{type(input_spec).__name__}")
        self.fn = fn
        self.fn_kwargs = fn_kwargs
        self.input_spec = input_spec
        self.fn_name = getattr(fn, "__name__", type(fn).__name__)
        self._prefix: Optional[str] = None
        self._getter: Optional[Callable] = None
        self._arg_scope: dict = {}
        self._merged_scope: Optional[tuple] = None
        self._records: list = []

    @property
    def built(self) -> bool:
        """Whether the layers exist (after the first call or :meth:`build`)."""
        return self._prefix is not None

    @property
    def scope_name(self) -> Optional[str]:
        """The scope the model was built under ('' for none); None before build."""
        return self._prefix

    # -- running --------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(APPLY if self.built else BUILD, args, kwargs)

    def build(self, *examples: ShapeOrExample, device=None, dtype: Optional[torch.dtype] = None,
              **call_kwargs: Any) -> "Model":
        """Builds every layer the call with these inputs reaches; returns ``self``.

        Args:
            *examples: example input tensors, or shapes (``(1, 3, 224, 224)``).
            device: where to create the variables; ``'meta'`` builds without
                allocating any memory (then call :meth:`materialize`).
            dtype: dtype of inputs made from shapes (default: the default dtype).
            **call_kwargs: keyword arguments for ``fn`` for this build, e.g. to
                reach a branch the first build did not take.

        Calling ``build`` on a built model adds what the new call reaches and
        keeps everything built before. The build pass changes no state: batch
        norm does not update its moving averages and dropout is off, whatever
        ``is_training`` says (so a ``(1, C, H, W)`` shape builds fine).

        Example:
            >>> def fc(x):
            ...     return slim.fully_connected(x, 4, scope='fc')
            >>> with slim.Graph():
            ...     net = slim.Model(fc).build((1, 8), device='meta')
            ...     net.fc.weights.device.type, net.materialize('cpu').fc.weights.device.type
            ('meta', 'cpu')
        """
        inputs = [_example(e, device, dtype) for e in examples]
        with torch.no_grad():
            self._run(BUILD, inputs, call_kwargs, build_device=device, dry_run=True)
        return self

    def _run(self, mode: str, args, kwargs, build_device=None, dry_run: bool = False) -> Any:
        if self.memory_format is not None:
            args = tuple(a.contiguous(memory_format=self.memory_format)
                         if isinstance(a, torch.Tensor) and a.dim() == 4 else a for a in args)
        outer = current_frame()
        dry_run = dry_run or outer.dry_run
        prefix = self._prefix if self.built else outer.top.path
        getter = self._getter if self.built else outer.top.getter
        frame = Frame(outer.graph, self, mode, owner=self, training=self.training,
                      build_device=build_device, dry_run=dry_run)
        frame.stack[0].getter = getter  # the build scope's custom getter, on every call
        if prefix:
            frame.push(prefix, None)
        call_kwargs = {**self.fn_kwargs, **kwargs} if kwargs else self.fn_kwargs
        if not self.built:
            self._arg_scope = current_arg_scope()  # never mutated once its block exits
        if mode == BUILD:   # only here: the apply path stays as fast as before
            self._check_input(args, call_kwargs)
        scope = self._call_scope()
        try:
            with frame_scope(frame), (nullcontext() if scope is None else arg_scope(scope)):
                outputs = self.fn(*args, **call_kwargs)
        except BaseException as error:
            if mode == BUILD:
                self._roll_back(frame)
                too_small = self._too_small(args) if isinstance(error, RuntimeError) else None
                if too_small is not None:
                    # torch's message (kept as __context__) names a layer deep inside
                    raise ValueError(too_small) from None
            raise
        if mode == BUILD:
            self._records.extend(frame.records)
            self._prefix = prefix
            self._getter = getter
            self._adopt_memory_format()
        for key, values in frame.collections.items():
            if key not in frame.output_keys:
                outer.collections.setdefault(key, []).extend(values)
        return outputs

    def _label(self) -> str:
        """How input errors name the model."""
        return f"Model({self.fn_name})"

    def _check_input(self, args, call_kwargs) -> None:
        """Raises the one clear error for a first input that is not what the
        model takes (see :class:`InputSpec`)."""
        images = args[0] if args and isinstance(args[0], torch.Tensor) else None
        spec = self.input_spec
        if spec is None:
            if images is not None and _looks_channels_last(images) and \
                    not _declares_channels_last(call_kwargs, self._arg_scope, current_arg_scope()):
                raise ValueError(
                    f"{self._label()}: the input {list(images.shape)} looks channels-last "
                    "(NHWC), but slim layers take [N, C, H, W] (NCHW); use "
                    "images.permute(0, 3, 1, 2) (or declare input_spec=slim.InputSpec() "
                    "if this layout is meant)")
            return
        if spec.channels is None or not args:
            return
        problems = _image_problems(args[0], spec)
        if problems:
            raise ValueError(f"{self._label()}: expected float {'videos' if spec.video else 'images'} "
                             f"{_layout(spec, spec.channels)}, got {_describe(args[0])}: "
                             f"{'. Also '.join(problems)}")

    def _too_small(self, args) -> Optional[str]:
        """The error for a failed first call on images under ``min_size``."""
        spec = self.input_spec
        if spec is None or not spec.min_size or not args or \
                not isinstance(args[0], torch.Tensor) or args[0].dim() != (5 if spec.video else 4):
            return None
        size = spec.min_size
        if min(args[0].shape[-2], args[0].shape[-1]) >= size:
            return None
        channels = "C" if spec.channels is None else spec.channels
        return (f"{self._label()}: expected float {'videos' if spec.video else 'images'} "
                f"{_layout(spec, channels)} with H and "
                f"W >= {size}, got {_describe(args[0])}: too small; resize the images to at "
                f"least {size}x{size}")

    def _apply(self, fn, recurse: bool = True):
        # .to(), .cuda(), to_empty(), ... make new tensors: give them the format.
        result = super()._apply(fn, recurse)
        self._adopt_memory_format()
        return result

    def _adopt_memory_format(self) -> None:
        """Stores 4-D parameters in ``memory_format`` (same tensors: optimizers,
        checkpoints and the graph keep their references)."""
        fmt = self.memory_format
        if fmt is None:
            return
        with torch.no_grad():
            for param in self.parameters():
                if param.dim() == 4 and not param.is_contiguous(memory_format=fmt):
                    param.data = param.data.contiguous(memory_format=fmt)

    def _call_scope(self) -> Optional[dict]:
        """The arg_scope a call runs under: the one the model was built under,
        with the caller's scope layered on top (so ``arg_scope([slim.dropout],
        is_training=False)`` around a call still works). Like a TF graph, a
        model called outside its build scope keeps its scoped normalizers and
        activations. None: the current scope already is that."""
        built, current = self._arg_scope, current_arg_scope()
        if current is built or not built:
            return None
        if not current:
            return built
        cached = self._merged_scope
        if cached is not None and cached[0] is current and cached[1] is built:
            return cached[2]
        merged = {key: {**built.get(key, {}), **current.get(key, {})}
                  for key in {**built, **current}}
        self._merged_scope = (current, built, merged)
        return merged

    def _roll_back(self, frame: Frame) -> None:
        """Undoes a failed build so the model can be built again."""
        for record in frame.records:
            store = record.module._buffers if record.is_buffer else record.module._parameters
            store.pop(record.attr, None)
            frame.graph.remove_record(record)
        for parent, name in reversed(frame.new_nodes):
            parent._modules.pop(name, None)

    # -- variables ------------------------------------------------------------
    def variables(self) -> list[Variable]:
        """This model's variables in creation order (parameters and buffers)."""
        return [r.tensor for r in self._records]

    def named_variables(self) -> "OrderedDict[str, Variable]":
        """``{slim name: variable}`` in creation order."""
        return OrderedDict((r.name, r.tensor) for r in self._records)

    def records(self) -> list:
        """This model's variable records (name, tensor, layout, collections,
        initializer, regularizer), in creation order."""
        return list(self._records)

    def tf_shapes(self) -> "OrderedDict[str, list]":
        """``{slim name: shape in TF layout}`` (``[kh, kw, in, out]`` for conv
        kernels): what TF-Slim's ``get_variable_to_shape_map`` would list.

            >>> with slim.Graph():
            ...     net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='c'))
            ...     dict(net.build((1, 4, 5, 5), device='meta').tf_shapes())
            {'c/weights': [3, 3, 4, 8], 'c/biases': [8]}
        """
        return OrderedDict((r.name, r.layout.tf_shape(r.tensor.shape)) for r in self._records)

    def regularization_losses(self) -> list[torch.Tensor]:
        """Penalties of this model's regularized variables, on current weights."""
        penalties = (r.regularizer(r.tensor) for r in self._records if r.regularizer is not None)
        return [p for p in penalties if p is not None]

    def reset_parameters(self) -> "Model":
        """Re-runs every variable's initializer (TF's ``global_variables_initializer``)."""
        for record in self._records:
            if record.initializer is not None:
                run_initializer(record.initializer, record.tensor, record.layout)
        return self

    def materialize(self, device=None) -> "Model":
        """Allocates a ``meta``-built model on ``device`` and initializes it.

        Each variable is initialized in place, one at a time, so peak memory
        stays at the size of the weights.
        """
        self.to_empty(device=device if device is not None else torch.get_default_device())
        return self.reset_parameters()

    def state_dict_key(self, name: str) -> str:
        """The ``state_dict`` key of Slim variable ``name``."""
        return slim_name_to_state_dict_key(name)

    def slim_name(self, key: str) -> str:
        """The Slim name of ``state_dict`` key ``key``."""
        return state_dict_key_to_slim_name(key)

    def extra_repr(self) -> str:
        state = f"scope={self._prefix!r}" if self.built else "not built"
        return f"fn={self.fn_name}, {state}"


@contextmanager
def dry_run():
    """Within this block every model runs as ``Model.build`` does: unbuilt
    models get built, and nothing changes state (no batch-norm updates, no
    dropout). ``slim.learning.train`` uses it to build the models a loss
    function reaches before it creates the optimizer or restores a checkpoint.

        >>> net = slim.Model(lambda x: slim.dropout(x, 0.5))
        >>> with slim.model.dry_run():
        ...     bool((net(torch.ones(100)) == 1).all())
        True
    """
    frame = current_frame()
    previous, frame.dry_run = frame.dry_run, True
    try:
        yield
    finally:
        frame.dry_run = previous


def _describe(value) -> str:
    """``'float32 [1, 3, 8, 8]'`` for a tensor, else its type."""
    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).replace('torch.', '')} {list(value.shape)}"
    return f"a {type(value).__name__}"


def _looks_channels_last(x: torch.Tensor) -> bool:
    """A 4-D floating batch ``[N, S, S, C]`` with C in 1, 3, 4 and S > 4: an
    image batch in TF's layout far more likely than S channels of S x C."""
    return x.dim() == 4 and x.is_floating_point() and x.shape[3] in (1, 3, 4) and \
        x.shape[1] > 4 and x.shape[1] == x.shape[2]


def _declares_channels_last(call_kwargs: dict, *scopes: dict) -> bool:
    """Whether the call or an arg_scope (the build's, the caller's) asks for
    a channels-last ``data_format`` (then an NHWC input is meant)."""
    formats = [call_kwargs.get("data_format")]
    formats += [kwargs.get("data_format") for scope in scopes for kwargs in scope.values()]
    return any(isinstance(f, str) and not f.startswith("NC") for f in formats)


def _image_problems(x, spec: InputSpec) -> list:
    """What is wrong with ``x`` as ``[N, spec.channels, H, W]`` float images,
    each with its fix."""
    channels = spec.channels
    if not isinstance(x, torch.Tensor):
        return ["not a tensor; use torch.as_tensor(images)"]
    if spec.video:
        return _video_problems(x, spec)
    problems = []
    if x.dim() != 4:
        if x.dim() == 3 and x.shape[0] == channels:
            problems.append("one image, not a batch; use images.unsqueeze(0)")
        elif x.dim() == 3 and x.shape[2] == channels:
            problems.append("one channels-last image, not a batch; use "
                            "images.permute(2, 0, 1).unsqueeze(0)")
        else:
            problems.append(f"{x.dim()} dims, not 4")
    elif x.shape[1] != channels and x.shape[3] == channels:
        problems.append("channels-last (NHWC); use images.permute(0, 3, 1, 2)")
    elif x.shape[1] != channels:
        given = int(x.shape[1])
        if given == 1 and channels == 3:
            fix = "repeat the grey channel: images.expand(-1, 3, -1, -1)"
        elif given == 4 and channels == 3:
            fix = "drop the alpha channel: images[:, :3]"
        elif given in (3, 4) and channels == 1:
            fix = "convert them to grey: images[:, :3].mean(1, keepdim=True)"
        else:
            fix = f"convert the images to {channels} channels"
        problems.append(f"{given} channel{'s' if given != 1 else ''} instead of {channels}; {fix}")
    return problems + _dtype_problems(x, spec, "images")


def _layout(spec: InputSpec, channels) -> str:
    """``'[N, 3, H, W] (NCHW)'``, or ``'[N, 3, T, H, W] (NCDHW)'`` for video."""
    return f"[N, {channels}, T, H, W] (NCDHW)" if spec.video else f"[N, {channels}, H, W] (NCHW)"


def _video_problems(x: torch.Tensor, spec: InputSpec) -> list:
    """What is wrong with ``x`` as ``[N, spec.channels, T, H, W]`` float clips."""
    channels, problems = spec.channels, []
    if x.dim() != 5:
        if x.dim() == 4 and x.shape[0] == channels:
            problems.append("one clip, not a batch; use videos.unsqueeze(0)")
        elif x.dim() == 4 and x.shape[1] == channels:
            problems.append("images, not clips [N, C, T, H, W]; for one-frame clips use "
                            "images.unsqueeze(2)")
        else:
            problems.append(f"{x.dim()} dims, not 5")
    elif x.shape[1] != channels and x.shape[4] == channels:
        problems.append("channels-last (NDHWC); use videos.permute(0, 4, 1, 2, 3)")
    elif x.shape[1] != channels:
        given = int(x.shape[1])
        problems.append(f"{given} channel{'s' if given != 1 else ''} instead of {channels}; "
                        f"convert the videos to {channels} channels")
    return problems + _dtype_problems(x, spec, "videos")


def _dtype_problems(x: torch.Tensor, spec: InputSpec, what: str) -> list:
    if not x.is_floating_point():
        fix = f"{what}.float() / 255"
        if spec.preprocessing:
            fix += f", or the net's preprocessing: {spec.preprocessing}"
        return [f"integer pixels; use {fix}"]
    if x.dtype == torch.float64 and torch.get_default_dtype() != torch.float64:
        return [f"float64 would build float64 variables; use {what}.float()"]
    return []


def _example(example: ShapeOrExample, device, dtype) -> torch.Tensor:
    if isinstance(example, torch.Tensor):
        return example if device is None else example.to(device)
    if isinstance(example, (tuple, list, torch.Size)) and all(isinstance(d, int) for d in example):
        device = torch.device(device) if device is not None else torch.get_default_device()
        dtype = dtype or torch.get_default_dtype()
        if device.type == "meta":
            return torch.empty(tuple(example), dtype=dtype, device=device)
        return torch.zeros(tuple(example), dtype=dtype, device=device)
    raise TypeError(f"build() expects example tensors or shapes, got {example!r}")
