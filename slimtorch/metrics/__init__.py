"""TF-Slim's streaming metrics (``slim.metrics``), eagerly.

Each ``streaming_*`` function returns a :class:`StreamingMetric`; unpack it
as TF-Slim's ``(value_op, update_op)`` pair. See :mod:`slimtorch.metrics.base` for the
design and the guide's examples rewritten. One file per family: ``mean``,
``regression``, ``correlation``, ``concat``, ``ranking`` (top-k), ``confusion``
(counts, precision, recall, accuracy), ``thresholds``, ``auc`` (curves),
``classes`` (mean IoU, Cohen's kappa), ``confusion_matrix`` (the multi-class
matrix, per-class precision / recall / support), ``recall_precision`` (one rate at a
target of the other), ``auc_intervals`` (AUC with a confidence interval),
``histogram`` (AUC from score histograms).

Every metric's state carries TF's local-variable names
(:meth:`StreamingMetric.local_variables`).
"""

from .aggregate import aggregate_metric_map, aggregate_metrics
from .auc import (f1_score, precision_recall_at_equal_thresholds, streaming_auc,
                  streaming_curve_points, streaming_dynamic_auc,
                  streaming_sensitivity_at_specificity, streaming_specificity_at_sensitivity)
from .auc_intervals import auc_with_confidence_intervals
from .base import StreamingMetric, reset_metrics
from .classes import cohen_kappa, streaming_mean_iou
from .concat import streaming_concat
from .confusion import (accuracy, streaming_accuracy, streaming_false_negative_rate,
                        streaming_false_negatives, streaming_false_positive_rate,
                        streaming_false_positives, streaming_precision, streaming_recall,
                        streaming_true_negatives, streaming_true_positives)
from .confusion_matrix import per_class_precision_recall, streaming_confusion_matrix
from .correlation import streaming_covariance, streaming_pearson_correlation
from .histogram import auc_using_histogram
from .mean import count, streaming_mean
from .ranking import (sparse_recall_at_top_k, streaming_recall_at_k,
                      streaming_sparse_average_precision_at_k,
                      streaming_sparse_average_precision_at_top_k, streaming_sparse_precision_at_k,
                      streaming_sparse_precision_at_top_k, streaming_sparse_recall_at_k)
from .recall_precision import precision_at_recall, recall_at_precision
from .regression import (streaming_mean_absolute_error, streaming_mean_cosine_distance,
                         streaming_mean_relative_error, streaming_mean_squared_error,
                         streaming_mean_tensor, streaming_percentage_less,
                         streaming_root_mean_squared_error)
from .thresholds import (streaming_false_negative_rate_at_thresholds,
                         streaming_false_negatives_at_thresholds,
                         streaming_false_positive_rate_at_thresholds,
                         streaming_false_positives_at_thresholds, streaming_precision_at_thresholds,
                         streaming_recall_at_thresholds, streaming_true_negatives_at_thresholds,
                         streaming_true_positives_at_thresholds)

__all__ = [
    "accuracy", "aggregate_metric_map", "aggregate_metrics", "auc_using_histogram",
    "auc_with_confidence_intervals", "cohen_kappa", "count", "f1_score",
    "per_class_precision_recall", "precision_at_recall",
    "precision_recall_at_equal_thresholds", "recall_at_precision", "reset_metrics",
    "sparse_recall_at_top_k",
    "streaming_accuracy", "streaming_auc", "streaming_concat", "streaming_confusion_matrix",
    "streaming_covariance",
    "streaming_curve_points", "streaming_dynamic_auc", "streaming_false_negative_rate",
    "streaming_false_negative_rate_at_thresholds", "streaming_false_negatives",
    "streaming_false_negatives_at_thresholds", "streaming_false_positive_rate",
    "streaming_false_positive_rate_at_thresholds", "streaming_false_positives",
    "streaming_false_positives_at_thresholds", "streaming_mean", "streaming_mean_absolute_error",
    "streaming_mean_cosine_distance", "streaming_mean_iou", "streaming_mean_relative_error",
    "streaming_mean_squared_error", "streaming_mean_tensor", "streaming_pearson_correlation",
    "streaming_percentage_less", "streaming_precision", "streaming_precision_at_thresholds",
    "streaming_recall", "streaming_recall_at_k", "streaming_recall_at_thresholds",
    "streaming_root_mean_squared_error", "streaming_sensitivity_at_specificity",
    "streaming_sparse_average_precision_at_k", "streaming_sparse_average_precision_at_top_k",
    "streaming_sparse_precision_at_k", "streaming_sparse_precision_at_top_k",
    "streaming_sparse_recall_at_k", "streaming_specificity_at_sensitivity",
    "streaming_true_negatives", "streaming_true_negatives_at_thresholds",
    "streaming_true_positives", "streaming_true_positives_at_thresholds", "StreamingMetric",
]
