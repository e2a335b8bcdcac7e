"""FE²: an RVE at every macro quadrature point, as a constitutive law.

`RVELaw` answers the constitutive protocol ``evaluate(strain, state) -> (stress,
tangent, new_state)`` by solving one nonlinear cell problem per macro point: the macro
strain is downscaled as the cell's mean strain (periodic fluctuations), the cell is
solved from its committed history, and the averaged stress and the consistent macro
tangent are upscaled.  All points of one call go out as one batch through an executor
(serial, threads, processes, Dask distributed, mpi4py futures or any
`concurrent.futures.Executor`), so the macro Newton solver (`scalebridge.fem`) treats the
RVE as just another law.

State placement: each RVE's history (per-voxel plastic strain, back stress, ... and the
converged strain fluctuation used as the next Newton start) travels with its task and
comes back with the result.  Nothing lives on the workers but a cache of solver set-ups,
so a lost worker only costs a retried task (Dask reschedules it), any executor gives the
same numbers, and a checkpoint is just the macro state.  The bytes shipped per call are
counted (`RVELaw.stats`); for the default problem they are a few MB per macro iteration
(docs/fe2.md).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge.cell.nonlinear_common import NewtonSettings, PhaseStates
from scalebridge.parallel import ExecutorLike, limit_threads, open_executor

Array = NDArray[np.float64]
SOLVERS = ("fft", "fe")


@dataclass(frozen=True)
class RVESpec:
    """Everything a worker needs to rebuild the cell solver (pickled with each task)."""

    labels: NDArray[np.int32]
    size: tuple[float, ...]
    materials: Mapping[int, Any]
    solver: str
    bc: str
    settings: NewtonSettings

    def build(self) -> Any:
        """The nonlinear cell solver of this RVE."""
        from scalebridge.microstructure import Microstructure

        ms = Microstructure(self.labels, self.size)
        if self.solver == "fft":
            from scalebridge.cell.nonlinear_fft import NonlinearFFT

            return NonlinearFFT(ms, self.materials, settings=self.settings)
        from scalebridge.cell.nonlinear_fe import NonlinearVoxelFE

        return NonlinearVoxelFE(ms, self.materials, bc=self.bc, settings=self.settings)

    @property
    def key(self) -> str:
        """Content hash: identifies the cached solver on a worker."""
        return hashlib.sha256(pickle.dumps(self, protocol=5)).hexdigest()[:16]


_CACHE = threading.local()


def _solver(spec: RVESpec, key: str) -> Any:
    cache = getattr(_CACHE, "solvers", None)
    if cache is None:
        cache = _CACHE.solvers = {}
    if key not in cache:
        cache.clear()  # one RVE per run: keep memory flat on long-lived workers
        cache[key] = spec.build()
    return cache[key]


def solve_points(
    spec: RVESpec,
    key: str,
    strains: Array,
    states: list[dict[str, Array]],
    threads: int = 1,
) -> dict[str, Any]:
    """Solve the RVE at several macro points (a task; runs where it lands).

    Parameters
    ----------
    spec, key : RVESpec and its `RVESpec.key`
    strains : ndarray ``(k, m)``
        Macro strains of the ``k`` points.
    states : list of dict
        Committed RVE state of each point (flat `PhaseStates` keys plus
        ``"fluctuation"``).
    threads : int
        Compute threads in this task.

    Returns
    -------
    dict
        ``stress (k, m)``, ``tangent (k, m, m)``, ``states`` (trial, same layout),
        ``iterations`` and ``seconds`` per point, ``worker``.
    """
    from threadpoolctl import threadpool_limits

    from scalebridge.parallel.tasks import _relax_malloc_trim

    _relax_malloc_trim()
    limit_threads(threads)
    with threadpool_limits(limits=threads):
        cell = _solver(spec, key)
        labels = sorted(cell.laws)
        k, m = strains.shape
        stress = np.empty((k, m))
        tangent = np.empty((k, m, m))
        out_states: list[dict[str, Array]] = []
        iterations = np.empty(k, dtype=np.int64)
        seconds = np.empty(k)
        for i in range(k):
            t0 = time.perf_counter()
            flat = dict(states[i])
            fluct = flat.pop("fluctuation", None)
            committed = PhaseStates.from_flat(flat, labels)
            if spec.solver == "fft":
                res = cell.solve(strains[i], committed, fluctuation=fluct)
            else:
                res = cell.solve(strains[i], committed, u0=fluct)
            stress[i] = res.average_stress
            tangent[i] = res.tangent
            new = dict(res.state.to_flat())
            if res.fluctuation is not None:
                new["fluctuation"] = np.asarray(res.fluctuation)
            out_states.append(new)
            iterations[i] = res.iterations
            seconds[i] = time.perf_counter() - t0
    return {
        "stress": stress,
        "tangent": tangent,
        "states": out_states,
        "iterations": iterations,
        "seconds": seconds,
        "worker": f"{os.uname().nodename}:{os.getpid()}",
    }


@dataclass
class RVEStats:
    """Running counters of an `RVELaw` (reset with `RVELaw.reset_stats`)."""

    calls: int = 0
    micro_solves: int = 0
    newton_iterations: int = 0
    micro_seconds: float = 0.0
    wall_seconds: float = 0.0
    bytes_sent: int = 0
    bytes_received: int = 0
    workers: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        out = {k: v for k, v in self.__dict__.items() if k != "workers"}
        out["workers"] = sorted(self.workers)
        return out


def _nbytes(states: Sequence[Mapping[str, Array]]) -> int:
    return int(sum(a.nbytes for st in states for a in st.values()))


class RVELaw:
    """A representative volume element solved at every macro point (FE² constitutive law).

    Parameters
    ----------
    microstructure : Microstructure
        The RVE (2D: plane strain, Mandel ``(..., 3)``; 3D: ``(..., 6)``).
    materials : mapping or sequence
        One law per label (`J2Plasticity`, `Elasticity`, ...), physics "elasticity".
    solver : {"fft", "fe"}
        Fourier-Galerkin Newton-Krylov (periodic) or voxel finite elements (``bc``).
    bc : {"periodic", "kubc"}
        Boundary condition of the voxel-FE solver (the FFT solver is periodic).
    settings : NewtonSettings, optional
        Micro Newton tolerances and sub-stepping.
    executor : str, Executor or distributed.Client
        Where the micro solves run (see `scalebridge.parallel.open_executor`); a name is
        opened on first use and kept until `close`.
    max_workers : int, optional
        Pool size for a named executor.
    chunks_per_worker : int
        Tasks per worker and call (points are grouped into tasks to amortise overhead).
    threads_per_task : int
        Compute threads inside each task.

    Examples
    --------
    >>> from scalebridge.microstructure import Microstructure
    >>> from scalebridge.materials import Elasticity
    >>> law = RVELaw(Microstructure(np.zeros((4, 4), dtype=int)), [Elasticity(E=1.0, nu=0.25)])
    >>> st = law.initial_state((2,), 3)
    >>> sig, C, new = law.evaluate(np.array([[1e-3, 0, 0], [0, 1e-3, 0]]), st)
    >>> sig.round(8)
    array([[0.0012, 0.0004, 0.    ],
           [0.0004, 0.0012, 0.    ]])
    """

    physics = "elasticity"
    has_state = True

    def __init__(
        self,
        microstructure: Any,
        materials: Mapping[int, Any] | Sequence[Any],
        *,
        solver: str = "fft",
        bc: str = "periodic",
        settings: NewtonSettings | None = None,
        executor: ExecutorLike = "serial",
        max_workers: int | None = None,
        chunks_per_worker: int = 4,
        threads_per_task: int = 1,
    ) -> None:
        from scalebridge.materials import as_phase_map

        if solver not in SOLVERS:
            raise ValueError(f"solver: {solver!r} is not one of {', '.join(map(repr, SOLVERS))}")
        if bc not in ("periodic", "kubc"):
            raise ValueError(f"bc: {bc!r} is not one of 'periodic', 'kubc'")
        if solver == "fft" and bc != "periodic":
            raise ValueError(f"bc: the FFT solver is periodic; got bc={bc!r} (use solver='fe')")
        laws = as_phase_map(materials)
        microstructure.check_materials(laws)
        physics = {law.physics for law in laws.values()}
        if physics != {"elasticity"}:
            raise ValueError(
                f"materials: RVELaw needs small-strain laws (physics 'elasticity'), got "
                f"{sorted(physics)}"
            )
        for name, v in (("chunks_per_worker", chunks_per_worker), ("threads", threads_per_task)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {v!r}")
        self.spec = RVESpec(
            labels=np.asarray(microstructure.labels, dtype=np.int32),
            size=tuple(float(s) for s in microstructure.size),
            materials={p: laws[p] for p in microstructure.phases},
            solver=solver,
            bc=bc,
            settings=settings if settings is not None else NewtonSettings(),
        )
        self.key = self.spec.key
        self.m = 3 if microstructure.ndim == 2 else 6
        self.executor = executor
        self.max_workers = max_workers
        self.chunks_per_worker = chunks_per_worker
        self.threads_per_task = threads_per_task
        self.stats = RVEStats()
        self._stack: ExitStack | None = None
        self._handle: Any = None
        self._template: dict[str, Array] | None = None

    # -- executor -------------------------------------------------------------------------
    def _pool(self) -> Any:
        if self._handle is None:
            self._stack = ExitStack()
            self._handle = self._stack.enter_context(open_executor(self.executor, self.max_workers))
        return self._handle

    def close(self) -> None:
        """Shut down an executor opened by this law (one given by the caller stays open)."""
        if self._stack is not None:
            self._stack.close()
        self._stack = self._handle = None

    def __enter__(self) -> RVELaw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["_stack"] = out["_handle"] = None
        if not isinstance(self.executor, str):
            out["executor"] = "serial"
        return out

    def reset_stats(self) -> None:
        """Zero the counters in `stats`."""
        self.stats = RVEStats()

    # -- protocol -------------------------------------------------------------------------
    def _point_template(self) -> dict[str, Array]:
        if self._template is None:
            cell = _solver(self.spec, self.key)
            st = dict(cell.initial_state().to_flat())
            if self.spec.solver == "fft":
                st["fluctuation"] = np.zeros(cell.field_shape)
            self._template = st
        return self._template

    def initial_state(
        self, shape: int | tuple[int, ...] = (), m: int | None = None
    ) -> dict[str, Array]:
        """Virgin RVE history at ``shape`` points: arrays of leading shape ``shape``."""
        if m is not None and m != self.m:
            raise ValueError(f"m: this RVE answers {self.m} strain components, got {m}")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return {
            k: np.broadcast_to(v, shape + v.shape).copy() for k, v in self._point_template().items()
        }

    def evaluate(
        self, gradient: ArrayLike, state: Mapping[str, Array] | None = None
    ) -> tuple[Array, Array, dict[str, Array]]:
        """Mean stress ``(..., m)``, macro tangent ``(..., m, m)`` and trial RVE states."""
        t0 = time.perf_counter()
        eps = np.asarray(gradient, dtype=float)
        if eps.ndim == 0 or eps.shape[-1] != self.m:
            raise ValueError(
                f"RVELaw.evaluate: strain must be Mandel (..., {self.m}), got shape {eps.shape}"
            )
        lead = eps.shape[:-1]
        flat = eps.reshape(-1, self.m)
        n = flat.shape[0]
        st = self.initial_state(lead) if state is None else state
        per_point = self._split(st, lead, n)
        handle = self._pool()
        order, results = self._dispatch(handle, flat, per_point)
        stress = np.empty((n, self.m))
        tangent = np.empty((n, self.m, self.m))
        new_states: list[dict[str, Array]] = [{}] * n
        for idx, r in zip(order, results, strict=True):
            stress[idx] = r["stress"]
            tangent[idx] = r["tangent"]
            for i, st in zip(idx, r["states"], strict=True):
                new_states[i] = st
        s = self.stats
        s.calls += 1
        s.micro_solves += n
        s.newton_iterations += int(sum(int(r["iterations"].sum()) for r in results))
        s.micro_seconds += float(sum(float(r["seconds"].sum()) for r in results))
        s.bytes_sent += _nbytes(per_point) + flat.nbytes
        s.bytes_received += _nbytes(new_states) + stress.nbytes + tangent.nbytes
        s.workers.update(r["worker"] for r in results)
        new = {
            k: np.stack([p[k] for p in new_states]).reshape(lead + new_states[0][k].shape)
            for k in new_states[0]
        }
        s.wall_seconds += time.perf_counter() - t0
        return stress.reshape((*lead, self.m)), tangent.reshape((*lead, self.m, self.m)), new

    def _split(
        self, state: Mapping[str, Array], lead: tuple[int, ...], n: int
    ) -> list[dict[str, Array]]:
        template = self._point_template()
        missing = sorted(set(template) - set(state))
        if missing:
            raise ValueError(f"state: missing RVE history {missing}; use RVELaw.initial_state")
        arrays = {}
        for k in template:
            a = np.asarray(state[k])
            if a.shape != lead + template[k].shape:
                raise ValueError(
                    f"state[{k!r}]: expected shape {lead + template[k].shape}, got {a.shape}"
                )
            arrays[k] = a.reshape((n, *template[k].shape))
        return [{k: a[i] for k, a in arrays.items()} for i in range(n)]

    def _dispatch(
        self, handle: Any, strains: Array, states: list[dict[str, Array]]
    ) -> tuple[list[NDArray[np.intp]], list[dict[str, Any]]]:
        """Point indices of each task and the task results, in the same order.

        Points are dealt out with a stride (task ``c`` gets points ``c, c + k, ...``):
        neighbouring macro points cost alike (plastic zones are contiguous), so
        contiguous chunks would leave one worker with all the expensive RVEs.
        """
        n = strains.shape[0]
        pool = handle.executor
        workers = max(handle.workers, 1)
        nchunks = 1 if pool is None else min(n, workers * self.chunks_per_worker)
        order = [np.arange(c, n, nchunks) for c in range(nchunks)]
        args = [
            (self.spec, self.key, strains[idx], [states[i] for i in idx], self.threads_per_task)
            for idx in order
        ]
        from scalebridge.parallel.tasks import _restored_thread_settings

        # tasks limit threads where they run; in this process (serial, threads) the
        # caller's settings come back afterwards
        with _restored_thread_settings(serial=pool is None):
            if pool is None:
                return order, [solve_points(*a) for a in args]
            futures: list[Future[dict[str, Any]]] = [pool.submit(solve_points, *a) for a in args]
            try:
                return order, [f.result() for f in futures]
            finally:
                for f in futures:
                    f.cancel()


def state_nbytes(state: Mapping[str, Array] | None) -> int:
    """Bytes of a quadrature-point state dict (what a checkpoint or a task carries)."""
    return 0 if state is None else int(sum(np.asarray(a).nbytes for a in state.values()))


def format_bytes(n: float) -> str:
    """``1.5 MB``-style size."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000.0 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"  # pragma: no cover


__all__ = [
    "SOLVERS",
    "RVELaw",
    "RVESpec",
    "RVEStats",
    "format_bytes",
    "solve_points",
    "state_nbytes",
]
