"""`scalebridge.parallel`: the same answers on every executor, failures kept, resumable.

Oracles: a seeded task computed directly in this process is the reference for every
executor (bitwise); the execution count of each task is read from marker files the task
writes, so "resume repeats nothing" is checked by counting, not by trusting the store.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest

from scalebridge.parallel import (
    THREADS_ENV,
    ResultStore,
    StoreMismatchError,
    Task,
    TasksFailedError,
    run_tasks,
)

distributed = pytest.importorskip("distributed")

HERE = Path(__file__).parent
DOC = HERE.parent / "docs" / "parallel.md"


# ------------------------------------------------------------------ task functions
def seeded_task(
    seed: int, n: int = 8, sleep: float = 0.0, marker_dir: str | None = None, fail: bool = False
) -> dict:
    """A small deterministic computation; optionally slow, counted, or failing."""
    if marker_dir is not None:
        Path(marker_dir, f"{seed}-{uuid.uuid4().hex}").touch()
    time.sleep(sleep)
    if fail:
        raise ValueError(f"seed {seed} is cursed")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) + n * np.eye(n)
    x = np.linalg.solve(a, rng.standard_normal(n))
    return {"seed": seed, "norm": float(np.linalg.norm(x)), "x": x, "cumsum": np.cumsum(x)[-1]}


def thread_settings() -> dict:
    return {"numba": numba.get_num_threads(), "env": os.environ.get(THREADS_ENV)}


def fails_while_flag_exists(seed: int, flag: str, marker_dir: str) -> dict:
    Path(marker_dir, f"{seed}-{uuid.uuid4().hex}").touch()
    if Path(flag).exists():
        raise RuntimeError("flag is set")
    return {"seed": seed}


def reference(tasks: list[Task]) -> list[dict]:
    """Results computed here, directly, through the same JSON normalisation."""
    return [
        json.loads(json.dumps(seeded_task(**t.params), default=np.ndarray.tolist)) for t in tasks
    ]


def executions(marker_dir: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    for p in marker_dir.iterdir():
        seed = int(p.name.split("-")[0])
        counts[seed] = counts.get(seed, 0) + 1
    return counts


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def dask_client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


TASKS = [Task(f"t{seed}", {"seed": seed, "n": 6 + seed}) for seed in range(6)]


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize(
    "kind", ["serial", "threads", "processes", "dask-client", "dask-address", "dask-local"]
)
def test_every_executor_gives_bitwise_the_reference(kind, request):
    if kind == "dask-client":
        executor = request.getfixturevalue("dask_client")
    elif kind == "dask-address":
        executor = request.getfixturevalue("dask_client").scheduler.address
    else:
        executor = kind
    report = run_tasks(seeded_task, TASKS, executor, max_workers=2, progress=False)
    assert report.ok
    assert report.keys == [t.key for t in TASKS]
    assert report.results == reference(TASKS)  # exact float equality
    assert report.workers == (1 if kind == "serial" else 2)


def test_results_follow_task_order_not_completion_order(tmp_path):
    # the first task is slow: on two threads every other task finishes before it
    tasks = [Task(f"t{s}", {"seed": s, "sleep": 0.3 if s == 0 else 0.0}) for s in range(5)]
    store = ResultStore(tmp_path / "s.jsonl")
    report = run_tasks(seeded_task, tasks, "threads", store=store, max_workers=2, progress=False)
    completion_order = [r["key"] for r in store.records()]
    assert completion_order[-1] == "t0"
    assert [r["seed"] for r in report.results] == list(range(5))


@pytest.mark.parametrize("executor", ["serial", "threads", "processes"])
def test_threads_per_task_is_set_inside_each_task(executor):
    tasks = [Task(f"t{i}", {}) for i in range(4)]
    before = os.environ.get(THREADS_ENV)
    report = run_tasks(
        thread_settings, tasks, executor, max_workers=2, threads_per_task=2, progress=False
    )
    expected = {"numba": min(2, numba.config.NUMBA_NUM_THREADS), "env": "2"}
    assert report.results == [expected] * 4
    assert os.environ.get(THREADS_ENV) == before  # this process is left as it was


# ------------------------------------------------------------------ failures
def test_a_failing_task_is_reported_and_the_others_complete(dask_client, tmp_path):
    tasks = [Task(f"t{s}", {"seed": s, "fail": s == 2}) for s in range(4)]
    store = ResultStore(tmp_path / "s.jsonl")
    report = run_tasks(seeded_task, tasks, dask_client, store=store, progress=False)
    assert [r is None for r in report.results] == [False, False, True, False]
    (failure,) = report.failures
    assert failure.key == "t2"
    assert failure.params == {"seed": 2, "fail": True}
    assert failure.error["type"] == "ValueError"
    assert failure.error["message"] == "seed 2 is cursed"
    assert "seeded_task" in failure.error["traceback"]
    assert list(store.failed()) == ["t2"]
    assert set(store.completed()) == {"t0", "t1", "t3"}
    with pytest.raises(TasksFailedError, match=r"1 of 4 tasks failed:\n  t2 .*seed 2 is cursed"):
        report.raise_if_failed()


def test_failed_tasks_are_retried_on_resume_and_only_they(tmp_path):
    flag, markers = tmp_path / "flag", tmp_path / "markers"
    markers.mkdir()
    tasks = [
        Task(
            f"t{s}",
            {
                "seed": s,
                "flag": str(flag if s == 1 else tmp_path / "no"),
                "marker_dir": str(markers),
            },
        )
        for s in range(3)
    ]
    flag.touch()
    store = ResultStore(tmp_path / "s.jsonl", meta={"study": "retry"})
    first = run_tasks(fails_while_flag_exists, tasks, "serial", store=store, progress=False)
    assert [f.key for f in first.failures] == ["t1"]
    flag.unlink()
    again = run_tasks(fails_while_flag_exists, tasks, "serial", store=store, progress=False)
    assert again.ok and again.skipped == 2
    assert executions(markers) == {0: 1, 1: 2, 2: 1}
    assert store.failed() == {}


# ------------------------------------------------------------------ resume after a kill
KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
from test_parallel import seeded_task
from scalebridge.parallel import ResultStore, Task, run_tasks
tasks = [Task(f"t{{s}}", {{"seed": s, "sleep": 0.2, "marker_dir": {markers!r}}}) for s in range(8)]
run_tasks(seeded_task, tasks, "serial", store=ResultStore({path!r}, meta={{"study": "kill"}}),
          progress=False)
"""


def test_resume_after_kill_repeats_no_finished_task(tmp_path):
    path, markers = tmp_path / "study.jsonl", tmp_path / "markers"
    markers.mkdir()
    script = KILLED_RUN.format(tests=str(HERE), markers=str(markers), path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    try:
        while not (path.exists() and path.read_text().count('"status": "ok"') >= 3):
            assert proc.poll() is None, "the study finished or crashed before it was killed"
            assert time.monotonic() < deadline, "the study wrote no records in 60 s"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # and a record cut short, as if the kill had hit the write itself
    with path.open("a") as f:
        f.write('{"key": "t7", "params": {"seed": 7, "sl')

    tasks = [Task(f"t{s}", {"seed": s, "sleep": 0.2, "marker_dir": str(markers)}) for s in range(8)]
    store = ResultStore(path, meta={"study": "kill"})
    done_before = {int(k[1:]) for k in store.completed()}
    assert len(store.discarded) == 1  # the truncated line is reported, not read
    runs_before = executions(markers)
    report = run_tasks(seeded_task, tasks, "threads", store=store, max_workers=2, progress=False)

    runs_during_resume = {
        s: executions(markers).get(s, 0) - runs_before.get(s, 0) for s in range(8)
    }
    assert 3 <= len(done_before) < 8
    assert report.skipped == len(done_before)
    assert runs_during_resume == {s: int(s not in done_before) for s in range(8)}
    assert all(runs_before[s] == 1 for s in done_before)
    assert report.results == reference(tasks)  # equal to an uninterrupted run
    ok_keys = [r["key"] for r in store.records() if r["status"] == "ok"]
    assert sorted(ok_keys) == sorted(t.key for t in tasks)  # one success record per task


# ------------------------------------------------------------------ the store
def test_truncated_last_line_is_ignored_and_the_next_record_starts_clean(tmp_path):
    path = tmp_path / "s.jsonl"
    store = ResultStore(path)
    store.append({"key": "a", "status": "ok", "result": {"v": 1.5}})
    with path.open("a") as f:
        f.write('{"key": "b", "status": "ok", "resu')
    store = ResultStore(path)
    assert store.completed() == {"a": {"v": 1.5}}
    assert [n for n, _ in store.discarded] == [2]
    store.append({"key": "c", "status": "ok", "result": {"v": 2.5}})
    assert store.completed() == {"a": {"v": 1.5}, "c": {"v": 2.5}}


def test_store_refuses_a_different_study(tmp_path):
    path = tmp_path / "s.jsonl"
    ResultStore(path, meta={"seed": 1, "sizes": [1, 2]}).append(
        {"key": "a", "status": "ok", "result": {}}
    )
    assert ResultStore(path, meta={"sizes": [1, 2], "seed": 1}).completed() == {"a": {}}
    with pytest.raises(StoreMismatchError, match=r"different study.*\['seed'\].*overwrite=True"):
        ResultStore(path, meta={"seed": 2, "sizes": [1, 2]})
    fresh = ResultStore(path, meta={"seed": 2, "sizes": [1, 2]}, overwrite=True)
    assert fresh.records() == [] and fresh.meta == {"seed": 2, "sizes": [1, 2]}
    bare = tmp_path / "bare.jsonl"
    ResultStore(bare).append({"key": "a", "status": "ok", "result": {}})
    with pytest.raises(StoreMismatchError, match="no study metadata"):
        ResultStore(bare, meta={"seed": 1})


def test_resume_refuses_a_key_recorded_with_other_params(tmp_path):
    store = ResultStore(tmp_path / "s.jsonl")
    run_tasks(seeded_task, [Task("t", {"seed": 1})], "serial", store=store, progress=False)
    with pytest.raises(ValueError, match="'t' was recorded with params"):
        run_tasks(seeded_task, [Task("t", {"seed": 2})], "serial", store=store, progress=False)


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("bad", ["mpi", "process", "tcp:/host", ""])
def test_unknown_executor_string_names_the_argument(bad):
    with pytest.raises(ValueError, match=rf"executor: got {bad!r}; expected 'serial'"):
        run_tasks(seeded_task, TASKS, bad, progress=False)


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(TypeError, match="executor: got an object of type int"):
        run_tasks(seeded_task, TASKS, 4, progress=False)
    with pytest.raises(ValueError, match="max_workers: got 0"):
        run_tasks(seeded_task, TASKS, "threads", max_workers=0, progress=False)
    with pytest.raises(ValueError, match="threads_per_task: got 0"):
        run_tasks(seeded_task, TASKS, "serial", threads_per_task=0, progress=False)
    with pytest.raises(ValueError, match="'t0' appears more than once"):
        run_tasks(seeded_task, [TASKS[0], TASKS[0]], "serial", progress=False)
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        run_tasks(seeded_task, [Task("t", {"seed": object()})], "serial", progress=False)
    with pytest.raises(ValueError, match=r"fn: .* cannot be sent to worker processes"):
        run_tasks(lambda seed: {}, TASKS, "processes", max_workers=1, progress=False)


def test_an_executor_passed_in_is_left_open():
    with ThreadPoolExecutor(2) as pool:
        report = run_tasks(seeded_task, TASKS, pool, progress=False)
        assert report.workers == 2 and report.results == reference(TASKS)
        assert pool.submit(pow, 2, 3).result() == 8


def test_progress_bar_shows_done_total_and_failures(capsys):
    tasks = [Task(f"t{s}", {"seed": s, "fail": s == 0}) for s in range(3)]
    run_tasks(seeded_task, tasks, "serial", progress=True, description="cells")
    err = capsys.readouterr().err
    assert "cells" in err and "3/3" in err and "1 failed" in err
    run_tasks(seeded_task, tasks, "serial", progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ the documentation
def test_doc_example_runs_and_resumes(tmp_path):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert code is not None
    namespace: dict = {"__name__": "parallel_doc"}
    exec(code.group(1), namespace)
    store = tmp_path / "eigen.jsonl"
    first = namespace["main"]("threads", store, progress=False)
    # a a^T + I is symmetric with eigenvalues >= 1
    assert all(r["lambda_min"] >= 1.0 for r in first.results)
    again = namespace["main"]("serial", store, progress=False)
    assert again.skipped == 32 and again.results == first.results
