"""Starting local processes the way torchrun would (gloo over 127.0.0.1), for
tests of code that runs under torchrun.

Each process gets torchrun's five variables by hand, so
``slim.distributed.init_from_env`` reads a real environment; the variables
of a torchrun that may be running the tests themselves are removed first.

    >>> env = rank_env(1, world_size=2, port=29500)
    >>> env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["MASTER_PORT"]
    ('1', '2', '1', '29500')
"""

import contextlib
import os
import socket
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra) -> dict:
    """This process's environment without any torchrun variables, on the CPU,
    one thread per process (two ranks share two cores), importing this
    checkout's slimtorch."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TORCHELASTIC", "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_"))}
    env.update(PYTHONPATH=REPO_ROOT, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def rank_env(rank: int, world_size: int, port: int, **extra) -> dict:
    """:func:`clean_env` plus torchrun's variables for ``rank``."""
    return clean_env(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                     MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), **extra)


def run_ranks(args, world_size: int = 2, timeout: float = 120):
    """Runs ``python *args`` as ranks ``0 .. world_size - 1`` of one job and
    waits for all of them. Returns ``(returncodes, outputs)`` (stdout and
    stderr together); on a timeout every rank is killed and its output ends
    with ``(timed out)``, so a hang fails the test instead of blocking it."""
    port = free_port()
    procs = [subprocess.Popen([sys.executable, *map(str, args)],
                              env=rank_env(rank, world_size, port),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in range(world_size)]
    outputs = []
    for proc in procs:
        try:
            outputs.append(proc.communicate(timeout=timeout)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            outputs.append(proc.communicate()[0] + "\n(timed out)")
    return [p.returncode for p in procs], outputs
