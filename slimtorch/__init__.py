"""slimtorch: TensorFlow-Slim's way of defining, training, evaluating and
fine-tuning models, on PyTorch.

    >>> import slimtorch as slim
    >>> with slim.Graph():
    ...     net = slim.Model(lambda x: slim.conv2d(x, 8, [3, 3], scope='conv1'))
    ...     y = net(torch.randn(1, 3, 16, 16))
    ...     [v.name for v in slim.get_model_variables()]
    ['conv1/weights', 'conv1/biases']

``import slimtorch as slim`` is the whole public surface, like ``tf.contrib.slim``.
"""

from . import (checkpoint, data, distributed, evaluation, initializers, layers, learning, losses,
               metrics, model, model_analyzer, nets, optimization, pretrained, regularizers,
               summaries, tools, utils)
from ._fold import fold_batch_norms, optimize_for_inference
from ._version import __version__
from .arg_scope import (ScopedArgumentError, add_arg_scope, arg_scope, arg_scope_func_key,
                        arg_scoped_arguments, current_arg_scope, has_arg_scope)
from .checkpoint import assign_from_checkpoint, assign_from_checkpoint_fn
from .data import (data_decoder, data_provider, dataset, dataset_data_provider, parallel_reader,
                   prefetch_queue, tfexample_decoder)
from .graph import Graph, GraphKeys, Variable, get_default_graph, reset_default_graph
from .initializers import (constant_initializer, ones_initializer, random_normal_initializer,
                           random_uniform_initializer, truncated_normal_initializer,
                           variance_scaling_initializer, xavier_initializer,
                           xavier_initializer_conv2d, zeros_initializer)
from .layers import *  # noqa: F401,F403  (the names in layers.__all__, exported below)
from .learning import optimize_loss
from .model import InputSpec, Model, slim_name_to_state_dict_key, state_dict_key_to_slim_name
from .precision import inference_model
from .regularizers import l1_l2_regularizer, l1_regularizer, l2_regularizer, sum_regularizer
from .scopes import AUTO_REUSE, VariableScope, get_variable_scope, variable_scope
from .tools.export import export
from .variables import (NotBuiltError, add_model_variable, add_to_collection, assert_global_step,
                        assert_or_get_global_step, assign_from_values, assign_from_values_fn,
                        create_global_step, filter_variables, get_collection, get_global_step,
                        get_local_variables, get_model_variables, get_or_create_global_step,
                        get_trainable_variables, get_unique_variable, get_variable_full_name,
                        get_variables, get_variables_by_name, get_variables_by_suffix,
                        get_variables_to_restore, global_variable, local_variable, model_variable,
                        variable)

__all__ = [
    # arg_scope
    "ScopedArgumentError", "add_arg_scope", "arg_scope", "arg_scope_func_key",
    "arg_scoped_arguments", "current_arg_scope", "has_arg_scope",
    # graph, scopes, model
    "AUTO_REUSE", "Graph", "GraphKeys", "InputSpec", "Model", "NotBuiltError", "Variable", "VariableScope",
    "get_default_graph", "get_variable_scope", "reset_default_graph",
    "slim_name_to_state_dict_key", "state_dict_key_to_slim_name", "variable_scope",
    # variables
    "add_model_variable", "add_to_collection", "create_global_step", "get_collection",
    "get_global_step", "get_local_variables", "get_model_variables", "get_or_create_global_step",
    "get_trainable_variables", "get_unique_variable", "get_variable_full_name", "get_variables",
    "get_variables_by_name", "get_variables_by_suffix", "get_variables_to_restore",
    "global_variable", "local_variable", "model_variable", "variable",
    "assert_global_step", "assert_or_get_global_step", "assign_from_values",
    "assign_from_values_fn", "filter_variables",
    # initializers and regularizers
    "constant_initializer", "ones_initializer", "random_normal_initializer",
    "random_uniform_initializer", "truncated_normal_initializer", "variance_scaling_initializer",
    "xavier_initializer", "xavier_initializer_conv2d", "zeros_initializer",
    "l1_l2_regularizer", "l1_regularizer", "l2_regularizer", "sum_regularizer",
    # checkpoints
    "assign_from_checkpoint", "assign_from_checkpoint_fn",
    # inference
    "fold_batch_norms", "optimize_for_inference", "inference_model",
    # deployment (research/slim's export_inference_graph + freeze_graph)
    "export",
    # training (tf_slim has optimize_loss at the top, from its layers)
    "optimize_loss",
    # tf_slim's data modules, at the top as in tf_slim
    "data_decoder", "data_provider", "dataset", "dataset_data_provider", "parallel_reader",
    "prefetch_queue", "tfexample_decoder",
    # submodules (slimtorch.testing and slimtorch.training are imported on demand)
    "checkpoint", "data", "distributed", "evaluation", "initializers", "layers", "learning",
    "losses", "metrics", "model", "model_analyzer", "nets", "optimization", "pretrained",
    "regularizers",
    "summaries", "tools", "utils",
    "__version__",
]
__all__ += layers.__all__  # every layer and layer module

