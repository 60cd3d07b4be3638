"""slim.distributed: torchrun detection, gradient averaging, broadcasting and
data sharding, checked in one process and in a real 2-process gloo job.

The 2-process job is this file run as a script by two subprocesses with
torchrun's variables set by hand (so ``init_from_env`` reads a real
environment); it runs every check once and saves what each rank saw, and the
tests below read those results.
"""

import copy
import gc
import json
import os
import sys
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset
from torchrun_job import run_ranks

import slimtorch as slim
from slimtorch import distributed as sdist
from slimtorch.distributed import DistContext

WORLD = 2
STEPS = 5
BATCH = 8   # global batch; each rank gets half


# -- shared by the workers and the single-process reference -------------------------------
def tiny_net(x):
    with slim.arg_scope([slim.fully_connected],
                        weights_regularizer=slim.l2_regularizer(0.01)):
        net = slim.fully_connected(x, 8, activation_fn=torch.tanh, scope="hidden")
        return slim.fully_connected(net, 1, activation_fn=None, scope="out")


def regression_batches():
    g = torch.Generator().manual_seed(5)
    return [(torch.randn(BATCH, 3, generator=g), torch.randn(BATCH, 1, generator=g))
            for _ in range(STEPS)]


def train_tiny(batches, ctx=None, seed=0):
    """``STEPS`` SGD-with-momentum steps of ``tiny_net``; with ``ctx`` each
    rank builds from its own seed, is broadcast rank 0's weights, and averages
    gradients. Returns ``{name: value}`` after training."""
    torch.manual_seed(seed)
    model = slim.Model(tiny_net)
    model.build((1, 3))
    if ctx is not None:
        sdist.broadcast_variables(slim.get_variables(), ctx)
    variables = slim.get_trainable_variables()
    optimizer = torch.optim.SGD(variables, lr=0.1, momentum=0.9)
    for x, y in batches:
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean() + sum(slim.losses.get_regularization_losses())
        loss.backward()
        if ctx is not None:
            sdist.average_gradients(variables, ctx)
        optimizer.step()
    return {v.name: v.detach().clone() for v in variables}


# -- the worker (this file run as a script) ----------------------------------------------
def _expect_raise(fn):
    try:
        fn()
    except RuntimeError as e:
        return str(e)
    return None


def worker(out_dir):
    torch.set_num_threads(1)   # two processes share two cores
    ctx = sdist.init_from_env()
    rank, results = ctx.rank, {}
    results["ctx"] = [ctx.rank, ctx.world_size, ctx.local_rank, str(ctx.device), ctx.backend,
                      ctx.is_chief, ctx.enabled, ctx.owns_group]
    results["again_same_group"] = sdist.init_from_env() == ctx

    # average_gradients: two dtypes, several buckets, a gradient on one rank
    # only, and one on no rank.
    for cap in (25, 1e-5):
        w = torch.nn.Parameter(torch.zeros(5))
        v = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        only_rank1 = torch.nn.Parameter(torch.zeros(2))
        unused = torch.nn.Parameter(torch.zeros(2))
        frozen = torch.zeros(4)
        w.grad = (rank + 1) * torch.arange(5.0)
        v.grad = torch.full((3,), 10.0 ** rank, dtype=torch.float64)
        if rank == 1:
            only_rank1.grad = torch.tensor([4.0, -2.0])
        sdist.average_gradients([w, v, only_rank1, unused, frozen], ctx, bucket_cap_mb=cap)
        results[f"grads_{cap}"] = [w.grad, v.grad, only_rank1.grad, unused.grad is None]

    # broadcast_variables: a module's parameters and buffers, int64 included.
    torch.manual_seed(100 + rank)
    module = torch.nn.Linear(4, 3)
    module.register_buffer("step", torch.tensor(10 + rank))
    results["in_sync_before"] = sdist.variables_in_sync(module, ctx)
    sdist.broadcast_variables(module, ctx)
    results["broadcast"] = {k: t.clone() for k, t in module.state_dict().items()}
    results["in_sync_after"] = sdist.variables_in_sync(module, ctx)
    extra = [torch.zeros(2)] if rank == 1 else []
    results["mismatch"] = _expect_raise(
        lambda: sdist.broadcast_variables([*module.parameters(), *extra], ctx))

    results["mean"] = sdist.all_reduce_mean(torch.tensor(float(rank + 1)), ctx)
    results["any"] = [sdist.any_rank(rank == 1, ctx), sdist.any_rank(False, ctx)]
    results["object"] = sdist.broadcast_object({"resume": f"ckpt-{rank}"}, ctx)
    sdist.barrier(ctx)

    # shard_data
    results["list"] = sdist.shard_data(list(range(7)), ctx)
    loader = DataLoader(TensorDataset(torch.arange(11)), batch_size=2, shuffle=True)
    sharded = sdist.shard_data(loader, ctx, seed=3)
    epochs = []
    for epoch in range(2):
        sharded.sampler.set_epoch(epoch)
        epochs.append([b[0].tolist() for b in sharded])
    results["loader"] = epochs

    # End to end: half of each batch on each rank.
    with slim.Graph():
        half = [(x[rank::WORLD], y[rank::WORLD]) for x, y in regression_batches()]
        results["trained"] = train_tiny(half, ctx, seed=rank)
        results["trained_in_sync"] = sdist.variables_in_sync(slim.get_variables(), ctx)

    # wrap_ddp against average_gradients on a copy.
    with slim.Graph():
        torch.manual_seed(rank)
        net = slim.Model(tiny_net).build((1, 3))
        sdist.broadcast_variables(net, ctx)
        plain = copy.deepcopy(net)
        ddp = sdist.wrap_ddp(net, ctx)
        x = torch.randn(4, 3, generator=torch.Generator().manual_seed(rank))
        ddp(x).square().mean().backward()
        plain(x).square().mean().backward()
        sdist.average_gradients(plain.parameters(), ctx)
        results["ddp_grads"] = [p.grad for p in net.parameters()]
        results["avg_grads"] = [p.grad for p in plain.parameters()]
        # DDP's reducer keeps its last collective's work (and tensors) alive;
        # freeing that after destroy(), during interpreter shutdown, can abort.
        del ddp
        gc.collect()

    torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    sdist.destroy(ctx)


# -- running the job ----------------------------------------------------------------------
def _run_job(out_dir, timeout=120):
    return run_ranks([__file__, out_dir], world_size=WORLD, timeout=timeout)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """Runs the 2-process job once; returns each rank's results. Retried only
    if the free port was taken between choosing and binding it."""
    for _attempt in range(2):
        out_dir = tmp_path_factory.mktemp("dist")
        codes, outputs = _run_job(out_dir)
        if codes == [0] * WORLD:
            return [torch.load(out_dir / f"rank{r}.pt") for r in range(WORLD)]
        if not any("address already in use" in out.lower() for out in outputs):
            break
    pytest.fail(f"2-process job failed (exit codes {codes}):\n" + "\n----\n".join(outputs))


# -- one process ----------------------------------------------------------------------------
def _clear_torchrun_env(monkeypatch):
    for name in sdist.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_without_torchrun_variables_one_process(monkeypatch):
    _clear_torchrun_env(monkeypatch)
    ctx = sdist.init_from_env()
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.backend) == (0, 1, 0, None)
    assert ctx.is_chief and not ctx.enabled and sdist.is_chief(ctx) and sdist.is_chief()
    assert ctx.device == torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    assert sdist.init_from_env(device="cpu").device == torch.device("cpu")
    # Every helper is a no-op.
    w = torch.nn.Parameter(torch.ones(2))
    w.grad = torch.tensor([1.0, 2.0])
    sdist.average_gradients([w], ctx)
    sdist.broadcast_variables([w], ctx)
    sdist.barrier(ctx)
    assert w.grad.tolist() == [1.0, 2.0] and w.tolist() == [1.0, 1.0]
    assert sdist.all_reduce_mean(torch.tensor([4.0]), ctx) == 4.0
    assert sdist.any_rank(1, ctx) and sdist.broadcast_object("x", ctx) == "x"
    assert sdist.variables_in_sync([w], ctx)
    data = [1, 2, 3]
    assert sdist.shard_data(data, ctx) is data
    sdist.destroy(ctx)


def test_incomplete_torchrun_environment_names_what_is_missing(monkeypatch):
    _clear_torchrun_env(monkeypatch)
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(RuntimeError, match=r"torchrun environment incomplete: RANK is set but "
                       r"WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT are not"):
        sdist.init_from_env()
    for name in ("WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        monkeypatch.setenv(name, "1" if name != "MASTER_ADDR" else "127.0.0.1")
    with pytest.raises(RuntimeError, match=r"RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR are set "
                       r"but MASTER_PORT is not"):
        sdist.init_from_env()


def test_bad_torchrun_values_raise(monkeypatch):
    _clear_torchrun_env(monkeypatch)
    for name, value in dict(RANK="2", WORLD_SIZE="2", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                            MASTER_PORT="1").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=r"RANK=2 is not in \[0, WORLD_SIZE=2\)"):
        sdist.init_from_env()
    monkeypatch.setenv("RANK", "zero")
    with pytest.raises(ValueError, match="RANK must be an integer"):
        sdist.init_from_env()


def test_context_by_hand():
    ctx = DistContext(rank=1, world_size=4)
    assert not ctx.is_chief and ctx.enabled and ctx.device == torch.device("cpu")
    assert DistContext(world_size=1, enabled=True).enabled   # torchrun with one process
    with pytest.raises(ValueError, match="rank 4 is not in"):
        DistContext(rank=4, world_size=4)


def test_shard_list_is_disjoint_equal_and_drops_the_tail():
    data = [f"batch{i}" for i in range(11)]
    shards = [sdist.shard_data(data, DistContext(rank=r, world_size=3)) for r in range(3)]
    assert shards == [data[0:9:3], data[1:9:3], data[2:9:3]]
    assert sorted(sum(shards, [])) == sorted(data[:9])
    assert sdist.shard_data(tuple(range(4)), DistContext(rank=1, world_size=2)) == (1, 3)
    with pytest.raises(ValueError, match="cannot give each of 3 ranks"):
        sdist.shard_data([1, 2], DistContext(rank=0, world_size=3))


@pytest.mark.parametrize("shuffle", [False, True])
def test_shard_dataloader_is_disjoint_and_covers_everything(shuffle):
    dataset = TensorDataset(torch.arange(24), torch.arange(24) * 10)
    loader = DataLoader(dataset, batch_size=4, shuffle=shuffle,
                        collate_fn=lambda items: torch.stack([a for a, _ in items]))
    shards = [sdist.shard_data(loader, DistContext(rank=r, world_size=3), seed=1)
              for r in range(3)]
    for shard in shards:
        assert shard.batch_size == 4 and shard.collate_fn is loader.collate_fn
        assert shard.sampler.shuffle is shuffle   # None: keeps the loader's choice
        assert len(shard) == 2
    seen = [torch.cat(list(shard)).tolist() for shard in shards]
    assert sorted(sum(seen, [])) == list(range(24))
    if not shuffle:   # rank r takes examples r, r + 3, ...
        assert seen[0] == list(range(0, 24, 3))
    if shuffle:   # set_epoch changes the order; the same epoch repeats it
        shards[0].sampler.set_epoch(1)
        assert torch.cat(list(shards[0])).tolist() != seen[0]
        shards[0].sampler.set_epoch(0)
        assert torch.cat(list(shards[0])).tolist() == seen[0]


def test_shard_dataloader_variants():
    ctx = DistContext(rank=1, world_size=2)
    dataset = TensorDataset(torch.arange(9))
    # An odd example out is dropped; the batch sampler's options survive.
    from torch.utils.data import BatchSampler, SequentialSampler
    loader = DataLoader(dataset, batch_sampler=BatchSampler(SequentialSampler(dataset), 3, True))
    assert [b[0].tolist() for b in sdist.shard_data(loader, ctx)] == [[1, 3, 5]]
    # batch_size=None: every item is a batch.
    items = sdist.shard_data(DataLoader(dataset, batch_size=None), ctx)
    assert [b[0].item() for b in items] == [1, 3, 5, 7]
    # Explicit shuffle overrides; already sharded loaders come back as they are.
    shard = sdist.shard_data(DataLoader(dataset, batch_size=2), ctx, shuffle=True)
    assert shard.sampler.shuffle and sdist.shard_data(shard, ctx) is shard
    with pytest.raises(ValueError, match="cannot give each of 2 ranks"):
        sdist.shard_data(DataLoader(TensorDataset(torch.arange(1))), ctx)


def test_shard_unsplittable_data_warns_and_returns_it():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(4))
    ctx = DistContext(rank=0, world_size=2)
    loader = DataLoader(Stream(), batch_size=2)
    gen = (i for i in range(3))
    with pytest.warns(UserWarning, match="IterableDataset"):
        assert sdist.shard_data(loader, ctx) is loader
    with pytest.warns(UserWarning, match="cannot split a generator"):
        assert sdist.shard_data(gen, ctx) is gen
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sdist.shard_data(gen, DistContext()) is gen   # one process: silent


def test_wrap_ddp_checks_and_single_process():
    net = slim.Model(tiny_net)
    with pytest.raises(ValueError, match="build the slim.Model first"):
        sdist.wrap_ddp(net, DistContext())
    net.build((1, 3))
    assert sdist.wrap_ddp(net, DistContext()) is net


GROUP_LIFETIME_SCRIPT = """
import json, os, torch
from slimtorch import distributed as sdist
def gloo_threads():
    return sorted(n for n in (open(f"/proc/self/task/{t}/comm").read().strip()
                              for t in os.listdir("/proc/self/task")) if "gloo" in n)
ctx = sdist.init_from_env(device="cpu")
ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))  # imports torch._dynamo
ddp(torch.ones(2, 3)).sum().backward()
running = gloo_threads()
del ddp
sdist.destroy(ctx)
print(json.dumps([running, gloo_threads()]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads thread names from /proc")
def test_destroy_ends_the_group_even_after_ddp_imported_dynamo():
    """torch.distributed.nn.functional binds ``group.WORLD`` as a default
    argument at import; imported after init_process_group (DDP does, via
    torch._dynamo) it used to pin the group, leaving gloo's threads alive
    into interpreter shutdown, where they could abort the process. A fresh
    interpreter shows the threads are gone after ``destroy``."""
    codes, outputs = run_ranks(["-c", GROUP_LIFETIME_SCRIPT], world_size=1)
    assert codes == [0], outputs[0]
    running, left = json.loads(outputs[0].strip().splitlines()[-1])
    assert "pt_gloo_runloop" in running   # the check can see gloo's threads
    assert left == []


# -- two processes --------------------------------------------------------------------------
@pytest.mark.slow
def test_job_contexts(job):
    for rank, res in enumerate(job):
        assert res["ctx"] == [rank, WORLD, rank, "cpu", "gloo", rank == 0, True, True]
        assert res["again_same_group"]
        assert res["mean"] == 1.5
        assert res["any"] == [True, False]
        assert res["object"] == {"resume": "ckpt-0"}


@pytest.mark.slow
@pytest.mark.parametrize("cap", [25, 1e-5])
def test_job_average_gradients_is_the_mean_over_ranks(job, cap):
    for res in job:
        w, v, only_rank1, unused_is_none = res[f"grads_{cap}"]
        assert torch.equal(w, 1.5 * torch.arange(5.0))
        assert v.dtype == torch.float64 and torch.equal(v, torch.full((3,), 5.5, dtype=v.dtype))
        assert torch.equal(only_rank1, torch.tensor([2.0, -1.0]))   # rank 0 counts as zero
        assert unused_is_none


@pytest.mark.slow
def test_job_broadcast_makes_rank1_equal_rank0(job):
    torch.manual_seed(100)
    rank0 = torch.nn.Linear(4, 3).state_dict()
    for res in job:
        assert not res["in_sync_before"] and res["in_sync_after"]
        for key in rank0:
            assert torch.equal(res["broadcast"][key], rank0[key])
        assert res["broadcast"]["step"].item() == 10
        assert "differ from rank 0's" in res["mismatch"]   # raised on both ranks


@pytest.mark.slow
def test_job_shard_data(job):
    assert [res["list"] for res in job] == [[0, 2, 4], [1, 3, 5]]
    for epoch in range(2):
        shards = [sum(res["loader"][epoch], []) for res in job]
        assert len(shards[0]) == len(shards[1]) == 5          # 11 examples: one dropped
        assert not set(shards[0]) & set(shards[1])
    assert job[0]["loader"][0] != job[0]["loader"][1]          # set_epoch reshuffles


@pytest.mark.slow
def test_job_two_ranks_on_half_batches_equal_one_process_on_full_batches(job):
    with slim.Graph():
        reference = train_tiny(regression_batches())
    with slim.Graph():
        initial = train_tiny([])
    for res in job:
        assert res["trained_in_sync"]
        assert res["trained"].keys() == reference.keys()
        for name, value in reference.items():
            rel = (res["trained"][name] - value).norm() / value.norm()
            assert rel <= 1e-6, (name, rel.item())
    # It trained: the comparison is not between two untouched models.
    assert all((initial[name] - reference[name]).norm() > 1e-3 for name in reference)


@pytest.mark.slow
def test_job_wrap_ddp_matches_average_gradients(job):
    for res in job:
        for a, b in zip(res["ddp_grads"], res["avg_grads"]):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


if __name__ == "__main__":
    worker(sys.argv[1])
