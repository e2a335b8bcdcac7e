"""Many independent deterministic tasks on a chosen executor, with a resumable store.

`run_tasks` runs ``fn(**task.params)`` for each `Task` on ``"serial"``,
``"processes"``, ``"threads"``, Dask (``"dask"``, ``"tcp://host:port"``, a
`distributed.Client`) or any `concurrent.futures.Executor`, and returns a `TaskReport`
with the results in task order.  A `ResultStore` (JSON lines, one atomic append per
finished task) makes a run resumable.  Dask is optional: ``pip install
'scalebridge[parallel]'``.  See ``docs/parallel.md``.

>>> from scalebridge.parallel import Task, run_tasks
>>> tasks = [Task("a", {"x": 1}), Task("b", {"x": 2, "y": 3})]
>>> run_tasks(dict, tasks, "threads", max_workers=2, progress=False).results
[{'x': 1}, {'x': 2, 'y': 3}]
"""

from scalebridge.parallel.executors import (
    EXECUTOR_NAMES,
    ExecutorHandle,
    ExecutorLike,
    open_executor,
    usable_cores,
)
from scalebridge.parallel.store import ResultStore, StoreMismatchError, meta_hash
from scalebridge.parallel.tasks import (
    THREADS_ENV,
    Task,
    TaskFailure,
    TaskReport,
    TasksFailedError,
    execute_task,
    limit_threads,
    run_tasks,
)

__all__ = [
    "EXECUTOR_NAMES",
    "THREADS_ENV",
    "ExecutorHandle",
    "ExecutorLike",
    "ResultStore",
    "StoreMismatchError",
    "Task",
    "TaskFailure",
    "TaskReport",
    "TasksFailedError",
    "execute_task",
    "limit_threads",
    "meta_hash",
    "open_executor",
    "run_tasks",
    "usable_cores",
]
