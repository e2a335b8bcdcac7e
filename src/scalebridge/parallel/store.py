"""A resumable, append-only JSON-lines store of task results.

One line per finished task::

    {"key": "L0-r3-kubc", "params": {...}, "status": "ok", "result": {...},
     "time_s": 1.52, "worker": "node12:40211"}
    {"key": "L0-r4-kubc", "params": {...}, "status": "failed",
     "error": {"type": "ConvergenceError", "message": "...", "traceback": "..."},
     "time_s": 0.8, "worker": "node12:40212"}

and, first, an optional metadata line ``{"meta": {...}, "meta_hash": "<sha256>"}``
describing the study, so that resuming with a different configuration is refused.

Each record is written with one ``os.write`` on a file opened with ``O_APPEND`` and then
``fsync``-ed: a reader sees whole records, and a process killed in the middle of a write
leaves at most one truncated last line, which readers skip and report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

STATUSES = ("ok", "failed")


class StoreMismatchError(ValueError):
    """The store on disk was written for a different study configuration."""


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, None]})
    '{"a":[1.5,null],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_to_builtin)


def _to_builtin(value: Any) -> Any:
    """numpy scalars and arrays to Python numbers and lists (``json.dumps`` hook)."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def meta_hash(meta: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``meta``."""
    return hashlib.sha256(canonical_json(meta).encode()).hexdigest()


class ResultStore:
    """Append-only JSON-lines file of task records; see the module docstring for the format.

    Parameters
    ----------
    path : str or Path
        The ``.jsonl`` file; created (with its parent directory) if missing.
    meta : mapping, optional
        JSON-serialisable description of the study.  Written as the first line of a new
        file; an existing file must carry the same metadata, else `StoreMismatchError`.
    overwrite : bool
        Discard an existing file and start over.

    Attributes
    ----------
    discarded : list of (int, str)
        ``(line number, text)`` of lines that could not be read (a record cut short by a
        killed process), found by the last read.

    Examples
    --------
    >>> store = ResultStore("study.jsonl", meta={"study": "demo"}, overwrite=True)
    >>> store.append({"key": "a", "params": {"x": 2}, "status": "ok", "result": {"y": 4}})
    >>> store.append({"key": "b", "params": {"x": 0}, "status": "failed",
    ...               "error": {"type": "ZeroDivisionError", "message": "division by zero"}})
    >>> store.completed()
    {'a': {'y': 4}}
    >>> sorted(store.failed())
    ['b']
    >>> ResultStore("study.jsonl", meta={"study": "other"})
    Traceback (most recent call last):
    ...
    scalebridge.parallel.store.StoreMismatchError: ...
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: Mapping[str, Any] | None = None,
        *,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.discarded: list[tuple[int, str]] = []
        self._tail_checked = False
        self._meta = None if meta is None else json.loads(canonical_json(meta))
        if overwrite and self.path.exists():
            self.path.unlink()
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._create()
        else:
            self._check_meta()

    # ------------------------------------------------------------------ reading
    @property
    def meta(self) -> dict[str, Any] | None:
        """The metadata stored in the file (None if it has none)."""
        first = self._read()[0]
        return first["meta"] if first is not None else None

    def records(self) -> list[dict[str, Any]]:
        """Every task record, in the order written (the metadata line excluded)."""
        return self._read()[1]

    def completed(self) -> dict[str, Any]:
        """``{key: result}`` of the tasks recorded as successful (latest record wins)."""
        return {r["key"]: r["result"] for r in self.records() if r["status"] == "ok"}

    def completed_records(self) -> dict[str, dict[str, Any]]:
        """``{key: record}`` of the successful tasks (latest record wins)."""
        return {r["key"]: r for r in self.records() if r["status"] == "ok"}

    def failed(self) -> dict[str, dict[str, Any]]:
        """``{key: record}`` of tasks whose failure has not been followed by a success."""
        latest: dict[str, dict[str, Any]] = {}
        done: set[str] = set()
        for r in self.records():
            latest[r["key"]] = r
            if r["status"] == "ok":
                done.add(r["key"])
        return {k: r for k, r in latest.items() if k not in done}

    # ------------------------------------------------------------------ writing
    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record atomically (one ``write`` of the whole line, then ``fsync``).

        Parameters
        ----------
        record : mapping
            ``key`` (str), ``status`` (``"ok"`` with ``result``, or ``"failed"`` with
            ``error``), and optionally ``params``, ``time_s``, ``worker``.
        """
        _validate(record)
        if not self._tail_checked:
            self._terminate_partial_line()
            self._tail_checked = True
        self._write_line(json.dumps(dict(record), default=_to_builtin))

    # ------------------------------------------------------------------ internals
    def _write_line(self, text: str) -> None:
        data = (text + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, data)
            if written != len(data):  # a full disk; the reader will skip the partial line
                raise OSError(f"{self.path}: wrote {written} of {len(data)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        if self._meta is not None:
            self._write_line(json.dumps({"meta": self._meta, "meta_hash": meta_hash(self._meta)}))
        _fsync_dir(self.path.parent)

    def _terminate_partial_line(self) -> None:
        """End a line cut short by a killed writer, so the next record starts on its own."""
        if self.path.stat().st_size == 0:
            return
        with self.path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                log.warning("%s: the last record was cut short; it is ignored", self.path)
                self._write_line("")

    def _check_meta(self) -> None:
        if self._meta is None:
            return
        stored = self.meta
        if stored is not None and meta_hash(stored) == meta_hash(self._meta):
            return
        if stored is None:
            what = "has no study metadata"
        else:
            keys = sorted(
                k for k in stored.keys() | self._meta.keys() if stored.get(k) != self._meta.get(k)
            )
            what = f"was written by a different study (differing metadata keys: {keys})"
        raise StoreMismatchError(
            f"store {self.path} {what}; resuming would mix results of different studies. "
            "Use a new path, or overwrite=True to discard it."
        )

    def _read(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        meta: dict[str, Any] | None = None
        records: list[dict[str, Any]] = []
        self.discarded = []
        with self.path.open("r", encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    self.discarded.append((number, line.rstrip("\n")))
                    continue
                if number == 1 and isinstance(value, dict) and "meta" in value:
                    meta = value
                elif _is_record(value):
                    records.append(value)
                else:
                    self.discarded.append((number, line.rstrip("\n")))
        if self.discarded:
            log.warning(
                "%s: ignored %d unreadable line(s) (records cut short by a killed process): "
                "lines %s",
                self.path,
                len(self.discarded),
                [n for n, _ in self.discarded],
            )
        return meta, records


def _is_record(value: Any) -> bool:
    try:
        _validate(value)
    except ValueError:
        return False
    return True


def _validate(record: Any) -> None:
    if not isinstance(record, Mapping) or not isinstance(record.get("key"), str):
        raise ValueError(f"record: expected a mapping with a string 'key', got {record!r}")
    status = record.get("status")
    if status not in STATUSES:
        raise ValueError(f"record[{record['key']!r}]: status {status!r} is not one of {STATUSES}")
    needed = "result" if status == "ok" else "error"
    if needed not in record:
        raise ValueError(f"record[{record['key']!r}]: a {status!r} record needs {needed!r}")


def _fsync_dir(directory: Path) -> None:
    """Make a newly created file's directory entry durable (POSIX only)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)
