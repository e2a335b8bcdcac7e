"""The progress bar of `run_tasks`: done/total, failures, elapsed time and ETA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def progress_bar(
    enabled: bool, description: str, total: int, done: int
) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields ``advance(failures)``, called once per finished task."""
    if not enabled:
        yield lambda failures: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failures]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total, completed=done, failures=0)
        yield lambda failures: bar.update(task, advance=1, failures=failures)
