"""Where per-stream work runs: in this process, a local process pool, or a Dask cluster.

All three offer ``submit(function, *args)`` returning a future whose ``result()`` gives the value or
raises the task's exception, so the runner treats them alike (pluggable transports, as httpx does):
workers only compute (prepare, train, score, save the model artifact); the runner writes each
stream's results itself, one transaction per stream, in stream order.

Executor names (the config's ``executor`` key):

- ``in-process``: one stream after the other, here (the default; no extra processes).
- ``processes`` or ``processes:N``: a local pool of N spawned processes (default: the CPU count).
  Processes are spawned, not forked: TensorFlow can deadlock after ``fork()``.
- ``dask://HOST:PORT``: an existing Dask distributed scheduler; its workers need this package
  installed and the models folder reachable at the same path (a shared file system).
- ``dask-local:N``: a Dask ``LocalCluster`` of N single-threaded worker processes, for one machine.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from anomaly.config import EXECUTOR_PATTERN
from anomaly.errors import ConfigError, ExecutorError
from anomaly.tensorflow_logs import is_quiet, quiet_tensorflow


class TaskFuture(Protocol):
    """What the runner needs of a submitted task."""

    def result(self) -> Any: ...


class Executor(Protocol):
    """Runs tasks somewhere; ``parallelism`` bounds how many streams the runner keeps in flight."""

    parallelism: int

    def submit(self, function: Callable[..., Any], /, *args: Any) -> TaskFuture: ...


class InProcessExecutor:
    """Runs each task at once, in this process; the future is already done."""

    parallelism = 1

    def submit(self, function: Callable[..., Any], /, *args: Any) -> TaskFuture:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


class _PoolExecutor:
    def __init__(self, pool: ProcessPoolExecutor, parallelism: int) -> None:
        self._pool = pool
        self.parallelism = parallelism

    def submit(self, function: Callable[..., Any], /, *args: Any) -> TaskFuture:
        return self._pool.submit(function, *args)


class _DaskExecutor:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.parallelism = max(1, sum(client.nthreads().values()))

    def submit(self, function: Callable[..., Any], /, *args: Any) -> TaskFuture:
        # pure=False: the same stream submitted twice (two runs) must run twice, not be deduplicated.
        return self._client.submit(function, *args, pure=False)


@contextmanager
def open_executor(name: str) -> Iterator[Executor]:
    """The executor called ``name``, shut down (its processes stopped) when the block ends."""
    if not re.match(EXECUTOR_PATTERN, name):
        raise ConfigError(
            f"executor {name!r} is not one of: 'in-process', 'processes', 'processes:N', "
            "'dask://HOST:PORT', 'dask-local:N'"
        )
    if name == "in-process":
        yield InProcessExecutor()
    elif name.startswith("processes"):
        workers = int(name.split(":")[1]) if ":" in name else os.cpu_count() or 1
        context = multiprocessing.get_context("spawn")
        # Workers import TensorFlow themselves: as quiet as this process, as the CLI left it.
        initializer = quiet_tensorflow if is_quiet() else None
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer) as pool:
            yield _PoolExecutor(pool, workers)
    elif name.startswith("dask-local:"):
        from distributed import Client, LocalCluster

        workers = int(name.split(":")[1])
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield _DaskExecutor(client)
    else:
        from distributed import Client

        address = name.removeprefix("dask://")
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with client:
            yield _DaskExecutor(client)
