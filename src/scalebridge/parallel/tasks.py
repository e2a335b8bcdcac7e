"""Run many independent, deterministic tasks on any executor, resumably.

A task is a key and the keyword arguments of a module-level function; the function
returns a JSON-serialisable dict.  Results come back in task order whatever the executor
and the completion order, failures are collected instead of stopping the run, and with a
`ResultStore` every finished task is appended to disk as soon as it is back, so a rerun
skips what is already done.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from scalebridge.parallel.executors import (
    ExecutorHandle,
    ExecutorLike,
    check_max_workers,
    open_executor,
)
from scalebridge.parallel.progress import progress_bar
from scalebridge.parallel.store import ResultStore, _to_builtin, canonical_json

log = logging.getLogger(__name__)

#: Environment variable holding the compute threads one task may use (read by the FFT).
THREADS_ENV = "SCALEBRIDGE_THREADS"
#: FFTW planner used inside tasks: "estimate" plans are the same in every process, so a
#: task gives bitwise the same numbers on any worker ("measure" plans are timed, and two
#: processes planning the same shape may pick algorithms that round differently).
PLANNER_ENV = "SCALEBRIDGE_FFT_PLANNER"

TaskFunction = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(**params)``, identified by ``key`` in reports and stores.

    ``params`` must be JSON-serialisable and should carry everything the result depends
    on, seeds included, so that the result does not depend on where the task runs.
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its key and params, and ``error`` = ``{type, message, traceback}``."""

    key: str
    params: Mapping[str, Any]
    error: Mapping[str, str]

    def __str__(self) -> str:
        params = canonical_json(self.params)
        return f"{self.key} {params}: {self.error['type']}: {self.error['message']}"


class TasksFailedError(RuntimeError):
    """Some tasks of a run failed; ``failures`` lists them."""

    def __init__(self, failures: Sequence[TaskFailure], total: int) -> None:
        self.failures = list(failures)
        shown = "\n".join(f"  {f}" for f in self.failures[:10])
        more = f"\n  ... and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
        first = self.failures[0].error.get("traceback", "") if self.failures else ""
        super().__init__(
            f"{len(self.failures)} of {total} tasks failed:\n{shown}{more}\n"
            f"traceback of {self.failures[0].key if self.failures else '-'}:\n{first}"
        )


@dataclass(frozen=True)
class TaskReport:
    """What `run_tasks` did.

    Attributes
    ----------
    keys : list of str
        Task keys, in task order.
    results : list of (dict or None)
        ``fn``'s result for each task in task order (None where it failed); resumed
        results are read back from the store.
    failures : list of TaskFailure
        Failed tasks, in task order.
    skipped : int
        Tasks not run because the store already had their result.
    wall_time : float
        Seconds for the whole run.
    executor : str
        Description of where the tasks ran.
    workers : int
        Tasks that could run at once (0: unknown).
    """

    keys: list[str]
    results: list[dict[str, Any] | None]
    failures: list[TaskFailure]
    skipped: int
    wall_time: float
    executor: str
    workers: int

    @property
    def ok(self) -> bool:
        """True when no task failed."""
        return not self.failures

    def raise_if_failed(self) -> None:
        """Raise `TasksFailedError` summarising the failures, if any."""
        if self.failures:
            raise TasksFailedError(self.failures, len(self.keys))


def limit_threads(threads: int) -> None:
    """Limit the compute threads of the calling thread's numba kernels and of the FFT.

    Sets ``SCALEBRIDGE_THREADS`` and ``numba.set_num_threads`` (a per-thread setting,
    clipped to the threads numba started with), and the deterministic FFTW planner
    (``SCALEBRIDGE_FFT_PLANNER=estimate``).
    """
    os.environ[THREADS_ENV] = str(threads)
    os.environ[PLANNER_ENV] = "estimate"
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def run_tasks(
    fn: TaskFunction,
    tasks: Sequence[Task],
    executor: ExecutorLike = "processes",
    *,
    store: ResultStore | None = None,
    max_workers: int | None = None,
    threads_per_task: int = 1,
    progress: bool = True,
    description: str = "solves",
) -> TaskReport:
    """Run ``fn(**task.params)`` for every task; results in task order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function returning a JSON-serialisable dict (numbers,
        strings, lists, nested dicts; numpy scalars and arrays are converted to lists).
    tasks : sequence of Task
        Unique keys; JSON-serialisable params.
    executor : str, concurrent.futures.Executor or distributed.Client
        See `open_executor`: ``"serial"``, ``"processes"`` (default), ``"threads"``,
        ``"dask"``, ``"tcp://host:port"``, or an executor/client built by the caller.
    store : ResultStore, optional
        Tasks recorded there as successful are skipped (their result is read back);
        every finished task, failed or not, is appended as soon as it returns.
    max_workers : int, optional
        Size of the pool created for a string ``executor``; default: the usable cores.
    threads_per_task : int
        Compute threads inside each task (see `limit_threads`).
    progress : bool
        Show a progress bar (on stderr) with done/total, failures, elapsed time and ETA.
    description : str
        Label of the progress bar and log messages.

    Returns
    -------
    TaskReport
        Call ``report.raise_if_failed()`` to turn failures into an exception.

    Examples
    --------
    >>> def square(x):
    ...     return {"y": x * x}
    >>> tasks = [Task(f"x{x}", {"x": x}) for x in range(4)]
    >>> report = run_tasks(square, tasks, "serial", progress=False)
    >>> [r["y"] for r in report.results]
    [0, 1, 4, 9]
    """
    tasks = list(tasks)
    _check_tasks(tasks)
    check_max_workers(max_workers)
    if isinstance(threads_per_task, bool) or not isinstance(threads_per_task, int):
        raise ValueError(f"threads_per_task: got {threads_per_task!r}; expected an integer >= 1")
    if threads_per_task < 1:
        raise ValueError(f"threads_per_task: got {threads_per_task}; expected an integer >= 1")
    start = time.perf_counter()
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    todo = list(range(len(tasks)))
    if store is not None:
        todo = _resume(tasks, store, results)
    failures: dict[int, TaskFailure] = {}

    def finish(i: int, outcome: dict[str, Any]) -> None:
        task = tasks[i]
        record = {"key": task.key, "params": dict(task.params), **outcome}
        if store is not None:
            store.append(record)
        if outcome["status"] == "ok":
            results[i] = outcome["result"]
        else:
            failures[i] = TaskFailure(task.key, dict(task.params), outcome["error"])
            log.warning("task %s failed: %s", task.key, failures[i].error["message"])

    where, workers = "nothing to run", 0
    if todo:
        with (
            open_executor(executor, max_workers) as handle,
            progress_bar(progress, description, len(tasks), len(tasks) - len(todo)) as bar,
            _restored_thread_settings(serial=handle.executor is None),
        ):
            where, workers = handle.description, handle.workers

            def finish_and_show(i: int, outcome: dict[str, Any]) -> None:
                finish(i, outcome)
                bar(len(failures))

            if handle.executor is None:
                for i in todo:
                    finish_and_show(i, execute_task(fn, tasks[i].params, threads_per_task))
            else:
                _run_on(handle, fn, tasks, todo, threads_per_task, finish_and_show)
    report = TaskReport(
        keys=[t.key for t in tasks],
        results=results,
        failures=[failures[i] for i in sorted(failures)],
        skipped=len(tasks) - len(todo),
        wall_time=time.perf_counter() - start,
        executor=where,
        workers=workers,
    )
    log.info(
        "%s: %d run, %d resumed, %d failed in %.1f s on %s",
        description,
        len(todo),
        report.skipped,
        len(report.failures),
        report.wall_time,
        where,
    )
    return report


def execute_task(fn: TaskFunction, params: Mapping[str, Any], threads: int) -> dict[str, Any]:
    """Run one task where it lands (a worker) and describe the outcome; never raises.

    Returns the record fields ``status``, ``result`` or ``error``, ``time_s``, ``worker``.
    The result goes through JSON here, so a fresh result equals one read from a store.
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    _relax_malloc_trim()
    try:
        from threadpoolctl import threadpool_limits

        limit_threads(threads)
        # BLAS too: Dask workers run OpenBLAS on one thread, a plain process on all
        # cores, and a threaded dot product rounds differently (measured: 12 of 150
        # apparent conductivities differed by 4e-16 between serial and Dask)
        with threadpool_limits(limits=threads):
            value = fn(**params)
        if not isinstance(value, Mapping):
            raise TypeError(f"the task function returned {type(value).__name__}, not a dict")
        result = json.loads(json.dumps(dict(value), default=_to_builtin))
    except Exception as exc:
        return {
            "status": "failed",
            "error": _error(exc),
            "time_s": time.perf_counter() - t0,
            "worker": worker,
        }
    return {"status": "ok", "result": result, "time_s": time.perf_counter() - t0, "worker": worker}


_MALLOC_TUNED = False


def _relax_malloc_trim() -> None:
    """Undo Dask's ``MALLOC_TRIM_THRESHOLD_`` in this worker process (glibc only, once).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also freezes
    glibc's mmap threshold: every large numpy temporary is then mapped and unmapped
    afresh.  Measured on a 36^3 KUBC/SUBC solve (AMG-CG): 0.8-0.9 s instead of
    0.4-0.5 s.  Restoring 32 MiB / 64 MiB thresholds with ``mallopt`` gives the plain
    speed back.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 64 << 20)
    except (OSError, AttributeError):  # not glibc
        log.debug("mallopt unavailable; MALLOC_TRIM_THRESHOLD_ left as set")


def _run_on(
    handle: ExecutorHandle,
    fn: TaskFunction,
    tasks: list[Task],
    todo: list[int],
    threads: int,
    finish: Callable[[int, dict[str, Any]], None],
) -> None:
    """Keep about two tasks per worker in flight; hand each outcome to ``finish``."""
    pool = handle.executor
    assert pool is not None
    if isinstance(pool, ProcessPoolExecutor):
        _check_picklable(fn)
    window = 2 * handle.workers if handle.workers else len(todo)
    queue = iter(todo)
    in_flight: dict[Future[dict[str, Any]], int] = {}

    def refill() -> None:
        for i in queue:
            in_flight[pool.submit(execute_task, fn, tasks[i].params, threads)] = i
            if len(in_flight) >= window:
                return

    try:
        refill()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                i = in_flight.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # lost worker, unpicklable argument, ...
                    outcome = {"status": "failed", "error": _error(exc)}
                    outcome.update(time_s=None, worker=None)
                finish(i, outcome)
            refill()
    finally:
        for future in in_flight:
            future.cancel()


def _resume(tasks: list[Task], store: ResultStore, results: list[Any]) -> list[int]:
    """Fill ``results`` from the store; the indices still to run."""
    done = store.completed_records()
    todo = []
    for i, task in enumerate(tasks):
        record = done.get(task.key)
        if record is None:
            todo.append(i)
            continue
        if "params" in record and canonical_json(record["params"]) != canonical_json(task.params):
            raise ValueError(
                f"store {store.path}: task {task.key!r} was recorded with params "
                f"{canonical_json(record['params'])}, now {canonical_json(task.params)}; "
                "use a new store or overwrite it"
            )
        results[i] = record["result"]
    return todo


def _check_tasks(tasks: list[Task]) -> None:
    seen: set[str] = set()
    for task in tasks:
        if not isinstance(task, Task):
            raise TypeError(f"tasks: expected Task objects, got {type(task).__name__}")
        if not isinstance(task.key, str) or not task.key:
            raise ValueError(f"tasks: a task key must be a non-empty string, got {task.key!r}")
        if task.key in seen:
            raise ValueError(f"tasks: the key {task.key!r} appears more than once")
        seen.add(task.key)
        try:
            canonical_json(task.params)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"tasks: params of {task.key!r} are not JSON-serialisable ({exc})"
            ) from exc


def _check_picklable(fn: TaskFunction) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise ValueError(
            f"fn: {fn!r} cannot be sent to worker processes ({exc}); "
            "define it at module level, or use executor='threads' or 'serial'"
        ) from exc


def _error(exc: BaseException) -> dict[str, str]:
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }


@contextmanager
def _restored_thread_settings(serial: bool) -> Iterator[None]:
    """Undo in this process what `limit_threads` did when tasks ran here."""
    saved = {name: os.environ.get(name) for name in (THREADS_ENV, PLANNER_ENV)}
    numba_threads = None
    if serial:
        import numba

        numba_threads = numba.get_num_threads()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if numba_threads is not None:
            import numba

            numba.set_num_threads(numba_threads)
