"""slim.metrics under torchrun: 2 CPU processes (gloo over 127.0.0.1), each
folding in its share of the batches (one rank none at all for some
metrics), read the same values as one process over every batch."""

import json

import numpy as np
import pytest
from torchrun_job import run_ranks

RANK_SCRIPT = r'''
import json, os, sys
import torch
import slimtorch as slim

M = slim.metrics


def shares():
    """Per metric, the batches of rank 0 and of rank 1 (the global stream is
    rank 0's batches followed by rank 1's)."""
    g = torch.Generator().manual_seed(7)
    def floats(*shape):
        return torch.randn(*shape, generator=g)
    def ints(high, *shape):
        return torch.randint(0, high, shape, generator=g)
    def weights(n):
        return torch.randint(0, 3, (n,), generator=g).float()
    def pairs(sizes):
        return [(floats(n) * 2 + 5, floats(n) + 3) for n in sizes]
    def weighted_pairs(sizes):
        return [(p, l, weights(len(p))) for p, l in pairs(sizes)]
    def scored(sizes):
        return [(torch.round(torch.rand(n, 5, generator=g) * 10) / 10, ints(5, n)) for n in sizes]
    out = {
        "mean": ([(floats(4),), (floats(3),)], [(floats(6),)]),
        "mean_weighted": ([(floats(4), weights(4))],
                          [(floats(5), weights(5)), (floats(2), weights(2))]),
        "mae": (weighted_pairs([5, 2]), weighted_pairs([4])),
        "rmse": (pairs([3]), pairs([6, 1])),
        "mean_tensor": ([(floats(2, 3),)], [(floats(2, 3),), (floats(2, 3),)]),
        "concat": ([(floats(3, 2),), (floats(1, 2),), (floats(4, 2),)], []),
        "concat_max": ([(ints(9, 3),)], [(ints(9, 4),)]),
        "covariance": (pairs([5, 4]), pairs([7])),
        "covariance_rank0_only": (pairs([3, 6]), []),
        "pearson": (weighted_pairs([6]), weighted_pairs([3])),
        "recall_at_2": (scored([5]), scored([3, 4])),
        "sparse_precision_at_2": (scored([4, 4]), []),
        "average_precision_at_3": (scored([2]), scored([6])),
    }
    if hasattr(M, "streaming_accuracy"):
        out["accuracy"] = ([(ints(3, 5), ints(3, 5))], [(ints(3, 4), ints(3, 4))])
    return out


def make(name):
    return {
        "mean": lambda: M.streaming_mean(),
        "mean_weighted": lambda: M.streaming_mean(),
        "mae": lambda: M.streaming_mean_absolute_error(),
        "rmse": lambda: M.streaming_root_mean_squared_error(),
        "mean_tensor": lambda: M.streaming_mean_tensor(),
        "concat": lambda: M.streaming_concat(),
        "concat_max": lambda: M.streaming_concat(max_size=5),
        "covariance": lambda: M.streaming_covariance(),
        "covariance_rank0_only": lambda: M.streaming_covariance(),
        "pearson": lambda: M.streaming_pearson_correlation(),
        "recall_at_2": lambda: M.streaming_recall_at_k(k=2),
        "sparse_precision_at_2": lambda: M.streaming_sparse_precision_at_k(k=2),
        "average_precision_at_3": lambda: M.streaming_sparse_average_precision_at_k(k=3),
        "accuracy": lambda: M.streaming_accuracy(),
    }[name]()


def weighted(batch):
    return batch[:-1], {"weights": batch[-1]}


def run(which):
    """which: 0 or 1 (this rank's share) or None (every batch, one process)."""
    values = {}
    for name, (first, second) in sorted(shares().items()):
        metric = make(name)
        batches = {0: first, 1: second, None: first + second}[which]
        for batch in batches:
            if name in ("mean_weighted", "mae", "pearson"):
                args, kwargs = weighted(batch)
                metric.update(*args, **kwargs)
            else:
                metric.update(*batch)
        values[name] = metric.value().tolist()   # a collective: every rank calls it
    return values


if __name__ == "__main__":
    torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank()
    values = run(rank)
    with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
        json.dump(values, f)
    torch.distributed.destroy_process_group()
'''


@pytest.mark.slow
def test_two_ranks_read_the_single_process_values(tmp_path):
    """Sums are all-reduced, concatenations gathered (a rank with no batch
    takes part), covariance moments merged across ranks."""
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    codes, outputs = run_ranks([script, tmp_path])
    assert codes == [0, 0], "\n".join(outputs)

    namespace = {"__name__": "reference"}
    exec(compile(RANK_SCRIPT, "rank.py", "exec"), namespace)
    single = namespace["run"](None)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert set(ranks[0]) == set(single) and len(single) >= 13
    for name, expected in single.items():
        for rank, values in enumerate(ranks):
            np.testing.assert_allclose(values[name], expected, rtol=1e-6, atol=1e-7,
                                       err_msg=f"{name} on rank {rank}")
    assert len(single["concat"]) == 8 and single["concat_max"] == single["concat_max"][:5]
