"""Offline database of RVE responses along loading paths (HDF5, atomic, resumable).

`build_database` solves an `RVELaw`'s cell along every path of a `LoadingPlan`, a batch
of paths in lockstep through the law's executor (serial, threads, processes, Dask),
committing the RVE history from step to step, and appends each finished path to an HDF5
file at once:
the file is copied to a temporary name, extended, flushed and renamed over the old one,
so a crash leaves the previous or the new file, never a torn one (an append costs a
copy of the file: a few MB for thousands of records; one writer at a time).  A rerun
skips the
paths already stored (paths are keyed by their content), so an interrupted build
resumes and no path is stored twice.

The file carries the provenance of its records: the microstructure (a hash of the
labels, the cell size, phase fractions, its detected symmetry), the phase laws, the
cell solver and its settings, the strain space; the hash of these is the database's
identity, and appending records of another RVE or other settings is refused
(`DatabaseMismatchError`).  Each path also records the package version and the worker
that computed it, and its compute time.

Layout: ``/paths/{key, loading, amplitude, box_coordinates, box_lower, box_upper,
seconds, iterations, worker, version}`` (one row a path) and ``/records/{path, step,
factor, strain, stress, tangent}`` (one row an RVE solve; ``path`` indexes the path
table).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.coupling.surrogate.sampling import LoadBox, LoadingPlan, path_key
from scalebridge.parallel import meta_hash, usable_cores

Array = NDArray[np.float64]
Progress = Callable[[str, int, int], None]
FORMAT = "scalebridge-surrogate-database"
VERSION = 1

__all__ = [
    "BuildReport",
    "DatabaseMismatchError",
    "SurrogateDatabase",
    "append_path",
    "atomic_file",
    "build_database",
    "cell_symmetry",
    "read_database",
    "rve_provenance",
    "solve_paths",
    "stored_keys",
]


class DatabaseMismatchError(ValueError):
    """A database holds records of another RVE or other solver settings."""


@contextmanager
def atomic_file(path: str | os.PathLike[str], copy: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success fsync it and rename it over
    ``path`` (``copy=True`` starts from a copy of the existing file)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        if copy and p.is_file():
            shutil.copyfile(p, tmp)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


# --------------------------------------------------------------------------- provenance
def cell_symmetry(labels: NDArray[np.integer]) -> str:
    """``"square"`` for a 2D cell invariant under the square group about its centre
    (transposition and flips), else ``"none"``.

    Examples
    --------
    >>> from scalebridge.microstructure.generators import sphere
    >>> cell_symmetry(sphere((8, 8), volume_fraction=0.3).labels)
    'square'
    """
    a = np.asarray(labels)
    if a.ndim == 2 and a.shape[0] == a.shape[1]:
        if np.array_equal(a, a.T) and np.array_equal(a, a[::-1]):
            return "square"
    return "none"


def rve_provenance(rve: Any) -> dict[str, Any]:
    """What the records of an `RVELaw` depend on (JSON-serialisable).

    Returns
    -------
    dict
        ``microstructure`` (``sha256`` of the labels, ``shape``, ``size``,
        ``fractions``, ``symmetry``), ``materials`` (label -> repr), ``solver``
        (``name``, ``bc``, ``settings``) and ``strain`` (``m``, ``measure``).
    """
    import hashlib

    spec = rve.spec
    labels = np.ascontiguousarray(spec.labels, dtype=np.int32)
    phases, counts = np.unique(labels, return_counts=True)
    return {
        "microstructure": {
            "sha256": hashlib.sha256(labels.tobytes()).hexdigest(),
            "shape": list(labels.shape),
            "size": [float(s) for s in spec.size],
            "fractions": {
                str(p): float(c) / labels.size for p, c in zip(phases, counts, strict=True)
            },
            "symmetry": cell_symmetry(labels),
        },
        "materials": {str(k): repr(v) for k, v in sorted(spec.materials.items())},
        "solver": {
            "name": spec.solver,
            "bc": spec.bc,
            "settings": dataclasses.asdict(spec.settings),
        },
        "strain": {"m": int(rve.m), "measure": "small-strain Mandel"},
    }


def _version() -> str:
    from scalebridge import __version__

    return str(__version__)


# --------------------------------------------------------------------------- file I/O
@dataclass(frozen=True)
class SurrogateDatabase:
    """The records of a database file (`read_database`).

    Attributes
    ----------
    provenance : dict
        See `rve_provenance`.
    identity : str
        Hash of the provenance; equal for records that may be mixed.
    keys : list of str
        Path keys, one per path.
    loading : list of str
        ``"monotonic"`` or ``"cyclic"`` per path.
    amplitude : ndarray, shape (p, m)
        Mandel amplitude of each path.
    path_seconds : ndarray, shape (p,)
        Compute time of each path (its share of its batch's RVE solve time).
    path, step : ndarray of int, shape (n,)
        Path index and step of each record.
    factor : ndarray, shape (n,)
        Load factor of each record.
    strain, stress : ndarray, shape (n, m)
        Mean strain and mean stress (Mandel).
    tangent : ndarray, shape (n, m, m)
        Consistent macro tangent of the RVE at that step of its path.
    boxes : list of LoadBox
        The sampling box of each path.
    meta : dict
        Per-path ``worker`` (the workers the RVE law had used when the path was stored),
        ``version`` and Newton ``iterations``, and the file's ``wall_seconds`` (build
        time summed over the runs that wrote it).
    """

    provenance: dict[str, Any]
    identity: str
    keys: list[str]
    loading: list[str]
    amplitude: Array
    path_seconds: Array
    path: NDArray[np.int64]
    step: NDArray[np.int64]
    factor: Array
    strain: Array
    stress: Array
    tangent: Array
    boxes: list[LoadBox] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of records (RVE solves)."""
        return int(self.strain.shape[0])

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return len(self.keys)

    def sampled_box(self, records: NDArray[np.bool_] | None = None) -> LoadBox:
        """The sampling box shared by the paths of ``records`` (default: all).

        Raises
        ------
        ValueError
            When those paths were sampled in different boxes.
        """
        used = np.unique(self.path if records is None else self.path[records])
        found = {
            (self.boxes[i].coordinates, *self.boxes[i].lower, *self.boxes[i].upper) for i in used
        }
        if len(found) != 1:
            raise ValueError(
                f"database: the selected paths were sampled in {len(found)} different boxes; "
                "fit on the paths of one box or give the box explicitly"
            )
        return self.boxes[int(used[0])]

    def monotonic(self) -> NDArray[np.bool_]:
        """Mask ``(n,)`` of the records on monotonic paths."""
        mono = np.array([kind == "monotonic" for kind in self.loading], dtype=bool)
        return mono[self.path] if self.size else np.zeros(0, dtype=bool)


def _check_identity(h5: Any, p: Path, identity: str) -> None:
    if h5.attrs.get("format") != FORMAT:
        raise DatabaseMismatchError(f"database: {p} is not a scalebridge surrogate database")
    if h5.attrs["identity"] != identity:
        theirs = json.loads(h5.attrs["provenance"])
        raise DatabaseMismatchError(
            f"database: {p} holds records of another RVE or other settings (identity "
            f"{h5.attrs['identity'][:16]}, these records {identity[:16]}); its provenance: "
            f"{json.dumps(theirs, sort_keys=True)[:400]} ...; use another file"
        )


def _create(h5: Any, provenance: Mapping[str, Any], identity: str) -> None:
    import h5py

    m = int(provenance["strain"]["m"])
    h5.attrs.update(
        format=FORMAT,
        version=VERSION,
        provenance=json.dumps(provenance, sort_keys=True),
        identity=identity,
        wall_seconds=0.0,
    )
    text = h5py.string_dtype()
    g = h5.create_group("paths")
    for name in ("key", "loading", "worker", "version", "box_coordinates"):
        g.create_dataset(name, (0,), dtype=text, maxshape=(None,), chunks=True)
    for name in ("amplitude", "box_lower", "box_upper"):
        g.create_dataset(name, (0, m), dtype=np.float64, maxshape=(None, m), chunks=True)
    g.create_dataset("seconds", (0,), dtype=np.float64, maxshape=(None,), chunks=True)
    g.create_dataset("iterations", (0,), dtype=np.int64, maxshape=(None,), chunks=True)
    r = h5.create_group("records")
    for name in ("path", "step"):
        r.create_dataset(name, (0,), dtype=np.int64, maxshape=(None,), chunks=True)
    r.create_dataset("factor", (0,), dtype=np.float64, maxshape=(None,), chunks=True)
    for name in ("strain", "stress"):
        r.create_dataset(name, (0, m), dtype=np.float64, maxshape=(None, m), chunks=True)
    r.create_dataset("tangent", (0, m, m), dtype=np.float64, maxshape=(None, m, m), chunks=True)


def _extend(ds: Any, values: Any) -> None:
    values = np.asarray(values) if not isinstance(values, list) else values
    n = ds.shape[0]
    ds.resize(n + len(values), axis=0)
    ds[n:] = values


def stored_keys(path: str | os.PathLike[str], identity: str) -> set[str]:
    """Path keys stored in ``path`` (empty if the file does not exist); refuses a file
    of another identity."""
    import h5py

    p = Path(path)
    if not p.is_file():
        return set()
    with h5py.File(p, "r") as h5:
        _check_identity(h5, p, identity)
        return {k.decode() if isinstance(k, bytes) else str(k) for k in h5["paths/key"][()]}


def append_path(
    path: str | os.PathLike[str],
    provenance: Mapping[str, Any],
    key: str,
    plan: LoadingPlan,
    strains: Array,
    result: Mapping[str, Any],
    wall_seconds: float = 0.0,
) -> None:
    """Append one solved path to the database at ``path`` atomically (created if missing).

    Parameters
    ----------
    path : path
        The HDF5 file.
    provenance : dict
        `rve_provenance` of the RVE that solved the path.
    key : str
        The path's content key (`path_key`).
    plan : LoadingPlan
        The plan it belongs to (its loading kind, load factors and box are stored).
    strains : ndarray, shape (k, m)
        The path's Mandel strains.
    result : dict
        ``stress``, ``tangent``, ``seconds``, ``iterations``, ``worker`` of its solve.
    wall_seconds : float
        Added to the file's build time.

    Raises
    ------
    DatabaseMismatchError
        When the file holds records of another provenance.
    ValueError
        When the path ``key`` is stored already (no duplicates).
    """
    import h5py

    identity = meta_hash(provenance)
    with atomic_file(path, copy=True) as tmp, h5py.File(tmp, "a") as h5:
        if "identity" not in h5.attrs:
            _create(h5, provenance, identity)
        _check_identity(h5, Path(path), identity)
        keys = h5["paths/key"].asstr()[()]
        if key in set(keys):
            raise ValueError(f"append_path: path {key} is stored already in {path}")
        index = len(keys)
        g, r = h5["paths"], h5["records"]
        n = len(strains)
        _extend(g["key"], [key])
        _extend(g["loading"], [plan.loading])
        _extend(g["box_coordinates"], [plan.box.coordinates])
        _extend(g["box_lower"], plan.box.lower[None])
        _extend(g["box_upper"], plan.box.upper[None])
        _extend(g["worker"], [str(result.get("worker", ""))])
        _extend(g["version"], [_version()])
        factors = plan.factors
        _extend(g["amplitude"], np.asarray(strains)[np.argmax(np.abs(factors))][None])
        _extend(g["seconds"], [float(np.sum(result["seconds"]))])
        _extend(g["iterations"], [int(np.sum(result["iterations"]))])
        _extend(r["path"], np.full(n, index))
        _extend(r["step"], np.arange(1, n + 1))
        _extend(r["factor"], factors)
        _extend(r["strain"], strains)
        _extend(r["stress"], result["stress"])
        _extend(r["tangent"], result["tangent"])
        h5.attrs["wall_seconds"] = float(h5.attrs["wall_seconds"]) + float(wall_seconds)


def read_database(path: str | os.PathLike[str]) -> SurrogateDatabase:
    """Read a database written by `build_database`."""
    import h5py

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"read_database: no file {p}; build the database first")
    with h5py.File(p, "r") as h5:
        if h5.attrs.get("format") != FORMAT:
            raise ValueError(f"read_database: {p} is not a scalebridge surrogate database")
        g, r = h5["paths"], h5["records"]
        return SurrogateDatabase(
            provenance=json.loads(h5.attrs["provenance"]),
            identity=str(h5.attrs["identity"]),
            keys=list(g["key"].asstr()[()]),
            loading=list(g["loading"].asstr()[()]),
            amplitude=g["amplitude"][()],
            path_seconds=g["seconds"][()],
            path=r["path"][()],
            step=r["step"][()],
            factor=r["factor"][()],
            strain=r["strain"][()],
            stress=r["stress"][()],
            tangent=r["tangent"][()],
            boxes=[
                LoadBox(str(c), lo, hi)
                for c, lo, hi in zip(
                    g["box_coordinates"].asstr()[()],
                    g["box_lower"][()],
                    g["box_upper"][()],
                    strict=True,
                )
            ],
            meta={
                "worker": list(g["worker"].asstr()[()]),
                "version": list(g["version"].asstr()[()]),
                "iterations": g["iterations"][()],
                "wall_seconds": float(h5.attrs["wall_seconds"]),
            },
        )


# --------------------------------------------------------------------------- building
@dataclass(frozen=True)
class BuildReport:
    """What `build_database` did.

    Attributes
    ----------
    file : str
    identity : str
    planned, solved, skipped : int
        Paths in the plan, solved by this run, found in the file already.
    failures : list of (str, str)
        ``(key, message)`` of paths whose RVE solve failed (not stored; a rerun tries
        them again).
    records : int
        Records in the file after this run.
    wall_seconds : float
        Wall time of this run.
    micro_seconds : float
        Compute time of this run's RVE solves, summed over workers.
    micro_solves : int
        RVE solves of this run.
    executor : str
    """

    file: str
    identity: str
    planned: int
    solved: int
    skipped: int
    failures: list[tuple[str, str]]
    records: int
    wall_seconds: float
    micro_seconds: float
    micro_solves: int
    executor: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return dict(self.__dict__) | {"failures": [list(f) for f in self.failures]}


def solve_paths(rve: Any, strains: Array) -> list[dict[str, Any]]:
    """Solve ``rve`` along ``b`` paths in lockstep, committing the RVE history per step.

    Each step is one `RVELaw.evaluate` call on the ``b`` points, so the solves go out
    through the law's executor.

    Parameters
    ----------
    rve : RVELaw
    strains : ndarray, shape (b, k, m)
        Mandel strains of the ``k`` steps of ``b`` paths.

    Returns
    -------
    list of dict
        Per path: ``stress (k, m)``, ``tangent (k, m, m)``, ``seconds`` (its share of
        the compute time), ``iterations``, ``worker``.
    """
    b, k, _ = strains.shape
    before = dataclasses.replace(rve.stats)
    state = rve.initial_state((b,))
    stress, tangent = [], []
    for j in range(k):
        sig, tan, state = rve.evaluate(strains[:, j], state)
        stress.append(sig)
        tangent.append(tan)
    s = rve.stats
    share = {
        "seconds": (s.micro_seconds - before.micro_seconds) / b,
        "iterations": (s.newton_iterations - before.newton_iterations) // b,
        "worker": ",".join(sorted(s.workers)),
    }
    return [
        {"stress": np.stack(stress, 1)[i], "tangent": np.stack(tangent, 1)[i]} | share
        for i in range(b)
    ]


def build_database(
    rve: Any,
    plan: LoadingPlan,
    file: str | os.PathLike[str],
    *,
    batch: int | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Solve ``rve`` along the paths of ``plan`` and append them to ``file``.

    Parameters
    ----------
    rve : RVELaw
        The RVE: its cell, phases, solver settings and executor (the solves go out
        through `RVELaw.evaluate`; Dask-ready).
    plan : LoadingPlan
        The paths; their strain size must match the RVE's.
    file : path
        HDF5 database, created if missing; paths already stored are skipped.
    batch : int, optional
        Paths solved in lockstep and then appended; default four per worker.  A batch
        whose solve fails is retried path by path, and the failing paths are reported.
    progress : callable, optional
        ``progress("RVE paths", done, total)`` after each batch.

    Returns
    -------
    BuildReport

    Raises
    ------
    DatabaseMismatchError
        When ``file`` holds records of another RVE or other settings.

    Examples
    --------
    >>> import tempfile, os
    >>> from scalebridge.coupling.fe2 import RVELaw
    >>> from scalebridge.coupling.surrogate import LoadingPlan, load_box
    >>> from scalebridge.materials import Elasticity
    >>> from scalebridge.microstructure import Microstructure
    >>> rve = RVELaw(Microstructure(np.zeros((4, 4), dtype=int)), [Elasticity(E=1.0, nu=0.25)])
    >>> plan = LoadingPlan(load_box(2, 1e-3), n_paths=3, steps=2)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = build_database(rve, plan, os.path.join(tmp, "db.h5"))
    ...     again = build_database(rve, plan, os.path.join(tmp, "db.h5"))
    >>> report.solved, report.records, again.solved, again.skipped
    (3, 6, 0, 3)
    """
    if plan.box.m != rve.m:
        raise ValueError(
            f"build_database: the plan has {plan.box.m} strain components, the RVE {rve.m}"
        )
    t0 = time.perf_counter()
    provenance = rve_provenance(rve)
    identity = meta_hash(provenance)
    paths = plan.paths()
    keys = [path_key(p, plan.loading) for p in paths]
    done = stored_keys(file, identity)
    todo = [i for i, k in enumerate(keys) if k not in done]
    workers = rve.max_workers or (1 if rve.executor == "serial" else usable_cores())
    size = batch or 4 * workers
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"build_database: batch must be an integer >= 1, got {batch!r}")
    failures: list[tuple[str, str]] = []
    stats = dataclasses.replace(rve.stats)
    last, solved = t0, 0
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        for i, outcome in zip(
            chunk, _solve_chunk(rve, np.stack([paths[i] for i in chunk])), strict=True
        ):
            if isinstance(outcome, Exception):
                failures.append((keys[i], f"{type(outcome).__name__}: {outcome}"))
                continue
            now = time.perf_counter()
            append_path(file, provenance, keys[i], plan, paths[i], outcome, now - last)
            last, solved = now, solved + 1
        if progress is not None:
            progress("RVE paths", len(keys) - len(todo) + start + len(chunk), len(keys))
    records = read_database(file).size if Path(file).is_file() else 0
    s = rve.stats
    return BuildReport(
        file=str(file),
        identity=identity,
        planned=len(keys),
        solved=solved,
        skipped=len(keys) - len(todo),
        failures=failures,
        records=records,
        wall_seconds=time.perf_counter() - t0,
        micro_seconds=s.micro_seconds - stats.micro_seconds,
        micro_solves=s.micro_solves - stats.micro_solves,
        executor=str(
            rve.executor if isinstance(rve.executor, str) else type(rve.executor).__name__
        ),
    )


def _solve_chunk(rve: Any, strains: Array) -> list[dict[str, Any] | Exception]:
    """`solve_paths` on a chunk; if it fails, path by path, keeping each path's error."""
    from scalebridge.errors import ConvergenceError

    try:
        return list(solve_paths(rve, strains))
    except (ConvergenceError, ValueError, ArithmeticError) as exc:
        if len(strains) == 1:
            return [exc]
    out: list[dict[str, Any] | Exception] = []
    for p in strains:
        out.extend(_solve_chunk(rve, p[None]))
    return out
