"""Where independent tasks run: one function turns the user's choice into an executor.

The choice is a string at the API edge (``"serial"``, ``"processes"``, ``"threads"``,
``"dask"``/``"dask-local"`` or a Dask scheduler address ``"tcp://host:port"``), or an
object the caller already built: any `concurrent.futures.Executor` (for example
``mpi4py.futures.MPIPoolExecutor``) or a `distributed.Client`.  `open_executor` is a
context manager: what it creates it also shuts down; what it is given it leaves open.

Local process pools use the ``spawn`` start method: forking a process whose numba
(OpenMP) or FFTW thread pools have already run can hang the child.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, Union

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

#: What the ``executor`` argument of the drivers accepts (Dask is an optional dependency).
ExecutorLike: TypeAlias = Union[str, Executor, "Client"]  # Union: "Client" is a string

EXECUTOR_NAMES = ("serial", "processes", "threads", "dask", "dask-local")
_ALLOWED = (
    "'serial', 'processes', 'threads', 'dask', 'dask-local', a Dask scheduler address "
    "'tcp://host:port', a concurrent.futures.Executor or a distributed.Client"
)


@dataclass(frozen=True)
class ExecutorHandle:
    """An executor ready to take tasks.

    Attributes
    ----------
    executor : concurrent.futures.Executor or None
        None for ``"serial"``: the driver calls the tasks itself, in order.
    description : str
        Human-readable, e.g. ``"processes (4 workers)"``.
    workers : int
        Tasks that can run at once; 0 when an executor given by the caller does not say.
    """

    executor: Executor | None
    description: str
    workers: int


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's core count).

    Examples
    --------
    >>> usable_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


@contextmanager
def open_executor(
    executor: ExecutorLike = "processes", max_workers: int | None = None
) -> Iterator[ExecutorHandle]:
    """Resolve ``executor`` to an `ExecutorHandle`; shut down what was created here.

    Parameters
    ----------
    executor : str, concurrent.futures.Executor or distributed.Client
        ``"serial"`` (this process, in order), ``"processes"`` (a local process pool of
        ``max_workers`` or `usable_cores` workers), ``"threads"``, ``"dask"`` /
        ``"dask-local"`` (a `distributed.LocalCluster` of ``max_workers`` worker
        processes with one thread each), ``"tcp://host:port"`` (connect to a running
        Dask scheduler), or an executor / client built by the caller, left open.
    max_workers : int, optional
        Size of the pools created here; ignored for ``"serial"``, for a scheduler
        address and for objects given by the caller.

    Examples
    --------
    >>> with open_executor("threads", max_workers=2) as handle:
    ...     handle.workers, handle.executor.submit(pow, 2, 10).result()
    (2, 1024)
    """
    check_max_workers(max_workers)
    with ExitStack() as stack:
        yield _resolve(executor, max_workers, stack)


def check_max_workers(max_workers: int | None) -> None:
    """Raise a ValueError unless ``max_workers`` is None or a positive integer."""
    if max_workers is not None and (
        isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
    ):
        raise ValueError(f"max_workers: got {max_workers!r}; expected None or an integer >= 1")


def _resolve(executor: ExecutorLike, max_workers: int | None, stack: ExitStack) -> ExecutorHandle:
    if isinstance(executor, str):
        return _from_name(executor, max_workers, stack)
    if isinstance(executor, Executor):
        _warn_ignored(max_workers, type(executor).__name__)
        n = _executor_size(executor)
        return ExecutorHandle(executor, f"{type(executor).__name__} ({n or '?'} workers)", n)
    client_type = _client_type()
    if client_type is not None and isinstance(executor, client_type):
        _warn_ignored(max_workers, "distributed.Client")
        return _client_handle(executor)
    raise TypeError(
        f"executor: got an object of type {type(executor).__name__}; expected {_ALLOWED}"
    )


def _from_name(name: str, max_workers: int | None, stack: ExitStack) -> ExecutorHandle:
    n = max_workers or usable_cores()
    if name == "serial":
        return ExecutorHandle(None, "serial", 1)
    if name == "processes":
        pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))
        stack.enter_context(_shutting_down(pool))
        return ExecutorHandle(pool, f"processes ({n} workers)", n)
    if name == "threads":
        pool = ThreadPoolExecutor(n, thread_name_prefix="scalebridge")
        stack.enter_context(_shutting_down(pool))
        return ExecutorHandle(pool, f"threads ({n} workers)", n)
    if name in ("dask", "dask-local"):
        distributed = _import_distributed(name)
        cluster = stack.enter_context(
            distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
        )
        client = stack.enter_context(distributed.Client(cluster))
        handle = _client_handle(client)
        log.info("Dask LocalCluster of %d workers, dashboard %s", n, client.dashboard_link)
        return ExecutorHandle(handle.executor, f"dask LocalCluster ({n} workers)", handle.workers)
    if name.startswith("tcp://"):
        distributed = _import_distributed(name)
        _warn_ignored(max_workers, "a scheduler address")
        client = stack.enter_context(distributed.Client(name))
        return _client_handle(client)
    raise ValueError(f"executor: got {name!r}; expected {_ALLOWED}")


def _client_handle(client: Any) -> ExecutorHandle:
    # pure=False: two tasks with equal parameters are still two tasks
    slots = int(sum(client.nthreads().values()))
    address = client.scheduler.address
    return ExecutorHandle(
        client.get_executor(pure=False), f"dask {address} ({slots} worker threads)", slots
    )


@contextmanager
def _shutting_down(pool: Executor) -> Iterator[None]:
    """Shut ``pool`` down on exit; on an error (or Ctrl-C) cancel what has not started."""
    try:
        yield
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _executor_size(executor: Executor) -> int:
    """Worker count of an executor built elsewhere, where it exposes one, else 0."""
    # ProcessPoolExecutor / ThreadPoolExecutor keep `_max_workers`; mpi4py's
    # MPIPoolExecutor has `num_workers`.  There is no public protocol for this.
    for attr in ("num_workers", "_max_workers"):
        value = getattr(executor, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return 0


def _warn_ignored(max_workers: int | None, what: str) -> None:
    if max_workers is not None:
        log.warning("max_workers=%d is ignored for %s", max_workers, what)


def _client_type() -> type | None:
    try:
        from distributed import Client
    except ImportError:
        return None
    return Client


def _import_distributed(name: str) -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"executor={name!r} needs Dask distributed: pip install 'scalebridge[parallel]'"
        ) from exc
    return distributed
