"""Runs TF-Slim's nets (TensorFlow 1-style graphs) for the parity checks.

Not imported by slimtorch: only ``check_tf_parity.py``,
``make_tf_fixtures.py`` and ``bench_zoo.py --tf`` use it, where
``tensorflow`` and ``tf_slim`` are installed. Every net comes from a local copy of
``tensorflow/models/research/slim`` (its ``nets`` package on
``--research-slim``; TF1 imports rewritten for TF2: ``import
tensorflow.compat.v1 as tf``, ``import tf_slim as slim``): research/slim's
versions are the ones its ``nets_factory`` and released checkpoints use, and
they have the options (``global_pool``, ``num_classes=0``) and end points
(``AvgPool_1a``, ``global_pool``) that ``tf_slim.nets``' older copies lack.
Their variables are the same.

Both sides get identical weights without a checkpoint: every TF variable is
set to ``slimtorch.testing.random_value(name, shape, seed)``, the
same values ``assign_random_weights`` puts in the slimtorch net.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass, field

import numpy as np

# name -> (module, function, arg_scope function); modules under 'nets.' are research/slim's.
TF_NETS = {
    "alexnet_v2": ("nets.alexnet", "alexnet_v2", "alexnet_v2_arg_scope"),
    "overfeat": ("nets.overfeat", "overfeat", "overfeat_arg_scope"),
    "vgg_a": ("nets.vgg", "vgg_a", "vgg_arg_scope"),
    "vgg_16": ("nets.vgg", "vgg_16", "vgg_arg_scope"),
    "vgg_19": ("nets.vgg", "vgg_19", "vgg_arg_scope"),
    "inception_v1": ("nets.inception_v1", "inception_v1", "inception_v1_arg_scope"),
    "inception_v2": ("nets.inception_v2", "inception_v2", "inception_v2_arg_scope"),
    "inception_v3": ("nets.inception_v3", "inception_v3", "inception_v3_arg_scope"),
    "inception_v4": ("nets.inception_v4", "inception_v4", "inception_v4_arg_scope"),
    "inception_resnet_v2": ("nets.inception_resnet_v2", "inception_resnet_v2",
                            "inception_resnet_v2_arg_scope"),
    **{f"resnet_v{v}_{d}": (f"nets.resnet_v{v}", f"resnet_v{v}_{d}", "resnet_arg_scope")
       for v in (1, 2) for d in (50, 101, 152, 200)},
    **{name: ("nets.mobilenet_v1", name, "mobilenet_v1_arg_scope")
       for name in ("mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025")},
    "mobilenet_v2": ("nets.mobilenet.mobilenet_v2", "mobilenet", "training_scope"),
    "mobilenet_v2_140": ("nets.mobilenet.mobilenet_v2", "mobilenet_v2_140", "training_scope"),
    "mobilenet_v2_035": ("nets.mobilenet.mobilenet_v2", "mobilenet_v2_035", "training_scope"),
    **{name: ("nets.mobilenet.mobilenet_v3", fn, "training_scope")
       for name, fn in (("mobilenet_v3_small", "small"), ("mobilenet_v3_large", "large"),
                        ("mobilenet_v3_small_minimalistic", "small_minimalistic"),
                        ("mobilenet_v3_large_minimalistic", "large_minimalistic"),
                        ("mobilenet_edgetpu", "edge_tpu"), ("mobilenet_edgetpu_075", "edge_tpu_075"))},
    "cifarnet": ("nets.cifarnet", "cifarnet", "cifarnet_arg_scope"),
    "lenet": ("nets.lenet", "lenet", "lenet_arg_scope"),
    "i3d": ("nets.i3d", "i3d", "i3d_arg_scope"),
    "s3dg": ("nets.s3dg", "s3dg", "s3dg_arg_scope"),
    "nasnet_cifar": ("nets.nasnet.nasnet", "build_nasnet_cifar", "nasnet_cifar_arg_scope"),
    "nasnet_mobile": ("nets.nasnet.nasnet", "build_nasnet_mobile", "nasnet_mobile_arg_scope"),
    "nasnet_large": ("nets.nasnet.nasnet", "build_nasnet_large", "nasnet_large_arg_scope"),
    "pnasnet_mobile": ("nets.nasnet.pnasnet", "build_pnasnet_mobile", "pnasnet_mobile_arg_scope"),
    "pnasnet_large": ("nets.nasnet.pnasnet", "build_pnasnet_large", "pnasnet_large_arg_scope"),
}


def import_tf(research_slim=None):
    """``(tf.compat.v1, tf_slim)`` in graph mode; adds ``research_slim`` to the path."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # torch._dynamo and triton (imported lazily by torch on the first
    # meta-device batch norm) must be loaded before TensorFlow: the other
    # order segfaults (TF 2.21, torch 2.14).
    importlib.import_module("torch._dynamo")
    if importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")
    import tf_keras
    import tf_keras.src.legacy_tf_layers as legacy_layers
    # tf_slim 1.1 imports tf_keras.legacy_tf_layers, which TF 2.21's tf_keras moved.
    sys.modules.setdefault("tf_keras.legacy_tf_layers", legacy_layers)
    del tf_keras
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    tf.get_logger().setLevel("ERROR")
    import tf_slim
    if research_slim:
        sys.path.insert(0, research_slim)
    return tf, tf_slim


@dataclass
class TFResult:
    logits: np.ndarray
    end_points: dict = field(default_factory=dict)   # NCHW for 4-D values
    variables: list = field(default_factory=list)    # [(name, shape)] in creation order


def run_tf_net(name, images_nchw: np.ndarray, num_classes, seed: int = 0, research_slim=None,
               save_to=None, **kwargs) -> TFResult:
    """Builds net ``name`` as research/slim's ``nets_factory`` does (eval mode),
    sets every variable to its deterministic random value, runs ``images``.
    With ``save_to`` (a prefix) it also writes a TF V2 checkpoint there with
    ``tf.train.Saver``, as TF-Slim's training did."""
    from slimtorch.testing import random_value

    tf, slim = import_tf(research_slim)
    module_name, fn_name, scope_name = TF_NETS[name]
    module = importlib.import_module(module_name)
    func, scope_fn = getattr(module, fn_name), getattr(module, scope_name)
    graph = tf.Graph()
    with graph.as_default():
        # NCHW -> NHWC; video clips NCDHW -> NDHWC
        images = tf.constant(np.ascontiguousarray(np.moveaxis(images_nchw, 1, -1)))
        scope_kwargs = {"weight_decay": 0.0}
        # Scopes that take is_training (MobileNets) should agree with the net.
        if "is_training" in inspect.signature(scope_fn).parameters:
            scope_kwargs["is_training"] = False
        with slim.arg_scope(scope_fn(**scope_kwargs)):
            logits, end_points = func(images, num_classes=num_classes, is_training=False, **kwargs)
        variables = tf.global_variables()
        with tf.Session(graph=graph) as sess:
            for var in variables:
                var.load(random_value(var.op.name, var.shape.as_list(), seed), sess)
            logits_value, points = sess.run((logits, dict(end_points)))
            if save_to:
                tf.train.Saver(variables).save(sess, save_to, write_meta_graph=False,
                                               write_state=False)
    if logits_value.ndim == 4 and logits_value.shape[1:3] == (1, 1):
        logits_value = logits_value.reshape(logits_value.shape[0], -1)
    points = {k: (np.moveaxis(v, -1, 1) if v.ndim in (4, 5) else v) for k, v in points.items()}
    return TFResult(logits_value, points, [(v.op.name, v.shape.as_list()) for v in variables])


# research/slim modules that TF-Slim itself also ships (tf_slim.nets, the same
# layers and variables): the benchmark falls back on them where a local
# research/slim copy lacks the module. Their ResNets have no spatial_squeeze
# (logits [N, 1, 1, C]), so the benchmark squeezes them itself.
TF_SLIM_NETS = {"nets.vgg": ("tf_slim.nets.vgg", None),
                "nets.inception_v3": ("tf_slim.nets.inception_v3", None),
                "nets.resnet_v1": ("tf_slim.nets.resnet_v1", "tf_slim.nets.resnet_utils"),
                "nets.resnet_v2": ("tf_slim.nets.resnet_v2", "tf_slim.nets.resnet_utils")}


def net_functions(name, research_slim=None):
    """``(net function, arg_scope function, source)`` of net ``name``: from
    research/slim's ``nets`` package, else from ``tf_slim.nets``."""
    tf, _ = import_tf(research_slim)
    module_name, fn_name, scope_name = TF_NETS[name]
    try:
        module = importlib.import_module(module_name)
        scope_module, source = module, "research/slim"
    except ModuleNotFoundError:
        if module_name not in TF_SLIM_NETS:
            raise ModuleNotFoundError(
                f"{module_name} not found: pass --research-slim (or set RESEARCH_SLIM) to a "
                f"directory holding research/slim's 'nets' package with TF2 imports") from None
        fallback, scope_fallback = TF_SLIM_NETS[module_name]
        module = importlib.import_module(fallback)
        scope_module = importlib.import_module(scope_fallback or fallback)
        source = fallback
    return getattr(module, fn_name), getattr(scope_module, scope_name), source


class TFStep:
    """One TF-Slim step of net ``name`` in its own graph and session, as a
    callable for the benchmark's alternated timing.

    ``train=False``: the eval-mode forward pass (``is_training=False``), the
    logits fetched. ``train=True``: what a TF-Slim training loop runs each step
    (``slim.learning.create_train_op``: the batch norms' moving-average
    updates, then softmax cross-entropy on ``labels``, its gradients and
    ``tf.train.MomentumOptimizer(lr, 0.9)``). The images (NHWC) and labels
    live in the graph as local variables, so no feed is copied per step;
    the weights are TF's initializers (random; speed only). ``close()``
    frees the session.
    """

    def __init__(self, name, images_nhwc: np.ndarray, labels: np.ndarray, num_classes,
                 train: bool, research_slim=None, learning_rate=1e-4):
        tf, slim = import_tf(research_slim)
        func, scope_fn, self.source = net_functions(name, research_slim)
        self.graph = tf.Graph()
        with self.graph.as_default():
            local = [tf.GraphKeys.LOCAL_VARIABLES]
            images = tf.Variable(images_nhwc, trainable=False, collections=local, name="images")
            scope_kwargs = {"weight_decay": 0.0}
            if "is_training" in inspect.signature(scope_fn).parameters:
                scope_kwargs["is_training"] = train   # MobileNets' batch norm and dropout
            with slim.arg_scope(scope_fn(**scope_kwargs)):
                logits, _ = func(images, num_classes=num_classes, is_training=train)
            if logits.shape.ndims == 4:
                logits = tf.squeeze(logits, [1, 2])
            if train:
                targets = tf.Variable(labels.astype(np.int64), trainable=False,
                                      collections=local, name="labels")
                loss = tf.losses.sparse_softmax_cross_entropy(targets, logits)
                optimizer = tf.train.MomentumOptimizer(learning_rate, momentum=0.9)
                self.fetch = slim.learning.create_train_op(loss, optimizer)
            else:
                self.fetch = logits
            init = [tf.global_variables_initializer(), tf.local_variables_initializer()]
            self.session = tf.Session(graph=self.graph)
            self.session.run(init)

    def __call__(self):
        return self.session.run(self.fetch)

    def close(self):
        self.session.close()


def time_tf_net(name, batch: int, size: int, num_classes, repeats: int = 10,
                research_slim=None, train: bool = False) -> float:
    """Median seconds of TF-Slim's eval-mode forward pass (``train``: of a
    training step, see ``TFStep``) of net ``name`` (NHWC, random weights)."""
    import time

    rng = np.random.RandomState(0)
    step = TFStep(name, rng.standard_normal([batch, size, size, 3]).astype(np.float32),
                  rng.randint(0, num_classes, [batch]), num_classes, train, research_slim)
    try:
        step()   # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    finally:
        step.close()
    return sorted(times)[len(times) // 2]
