"""The RVE/SVE study: apparent properties over sizes, realizations and boundary conditions.

Every (size, realization, boundary condition) is one independent task, deterministic
given its seed, run on any executor of `scalebridge.parallel` and appended to a
JSON-lines store as soon as it finishes, so an interrupted study resumes where it
stopped.  The result object holds the raw records and computes, per size and
condition, the mean, standard deviation and confidence interval of scalar apparent
properties; the bias between conditions; the variance law ``D^2(V) = c V^-alpha``; the
number of realizations for a tolerance; the RVE size with a bootstrap interval; and
the SVE check of the descriptors (volume fraction, two-point correlation).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.rve.analysis import (
    RVESize,
    Summary,
    VarianceLaw,
    convergence_size,
    fit_variance_law,
    realizations_needed,
    rve_size,
    scalar_quantities,
    summarize,
)

Array = NDArray[np.float64]
ALL_BCS = ("kubc", "periodic", "subc")
S2_BINS = 16


# --------------------------------------------------------------------------- descriptions
def model_from_description(desc: Mapping[str, Any]) -> Any:
    """Rebuild a random model from its ``describe()`` dictionary."""
    from scalebridge.microstructure import random_models

    params = dict(desc)
    name = params.pop("model", None)
    if name == "ImageWindows":  # a measured image, read from its file
        from scalebridge.microstructure import load_microstructure

        if "file" not in params:
            raise ValueError("model: ImageWindows needs file = <path of the image>")
        size = params.get("size")
        ms = load_microstructure(params["file"], size=size)
        return random_models.ImageWindows(ms)
    cls = getattr(random_models, str(name), None)
    if name is None or cls is None or not isinstance(cls, type):
        raise ValueError(f"model: unknown random model {name!r}")
    return cls(**params)


def materials_from_description(
    desc: Mapping[str, Mapping[str, Any]],
    model: Any = None,
    seed: int | None = None,
    size: Sequence[float] | None = None,
) -> dict[int, Any]:
    """``{label: law}`` from ``{"0": {"law": "elasticity", "E": .., "nu": ..}, ...}``.

    ``{"crystal": {...}}`` gives every grain of a `VoronoiPolycrystal` realization the
    crystal law rotated by the grain's orientation.
    """
    from scalebridge.io.config import ConductionSpec, ElasticitySpec
    from scalebridge.materials import Conductivity, Elasticity

    def law(spec: Mapping[str, Any]) -> Any:
        kind = spec.get("law")
        if kind == "elasticity":
            return Elasticity(**ElasticitySpec(**spec).parameters())
        if kind == "conduction":
            return Conductivity(**ConductionSpec(**spec).parameters())
        raise ValueError(f"materials: law {kind!r} is not 'conduction' or 'elasticity'")

    if "crystal" in desc:
        from scalebridge.microstructure.random_models import polycrystal_materials

        if model is None or seed is None or size is None:
            raise ValueError(
                "materials: a 'crystal' law needs the polycrystal model, size and seed"
            )
        return polycrystal_materials(model.orientations(size, seed), law(desc["crystal"]))
    return {int(k): law(v) for k, v in desc.items()}


def task_seed(seed: int, size_index: int, realization: int) -> int:
    """Seed of one realization: independent of the boundary condition (the three
    conditions see the same sample) and of the executor."""
    ss = np.random.SeedSequence([seed, size_index, realization])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------- the task
def apparent_task(
    model: dict[str, Any],
    materials: dict[str, Any],
    size: list[float],
    resolution: float,
    seed: int,
    bc: str,
    tol: float,
    solver: str = "auto",
    descriptors: bool = True,
) -> dict[str, Any]:
    """One solve of the study: sample, homogenize under ``bc``, summarise (JSON)."""
    import time

    from scalebridge.homogenization import homogenize

    t0 = time.perf_counter()
    rm = model_from_description(model)
    ms = rm.sample(size, resolution, seed)
    laws = materials_from_description(materials, rm, seed, size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = homogenize(ms, laws, bc=bc, tol=tol, solver=solver)
    out: dict[str, Any] = {
        "tensor": np.asarray(res.tensor).tolist(),
        "physics": res.physics,
        "quantities": scalar_quantities(res.tensor, res.physics),
        "iterations": [int(i) for i in res.iterations],
        "hill_mandel": float(res.hill_mandel_residual),
        "shape": list(ms.shape),
        "solve_s": float(res.wall_time),
        "task_s": 0.0,
        "warnings": sorted({str(w.message)[:200] for w in caught}),
    }
    if descriptors:
        out["descriptors"] = sample_descriptors(ms)
    out["task_s"] = time.perf_counter() - t0
    return out


def sample_descriptors(ms: Any) -> dict[str, Any]:
    """Volume fractions and the radially averaged S2 of phase 1 (or the last phase)."""
    from scalebridge.microstructure.statistics import radial_average, two_point_correlation

    fr = {str(k): float(v) for k, v in ms.volume_fractions().items()}
    phases = sorted(ms.phases)
    phase = 1 if 1 in phases else phases[-1]
    s2 = two_point_correlation(ms, phase)
    r, v = radial_average(s2, ms.spacing)
    # coarse fixed bins in physical distance, so that sizes can be compared
    rmax = 0.5 * min(ms.size)
    edges = np.linspace(0.0, rmax, S2_BINS + 1)
    idx = np.digitize(r, edges) - 1
    ok = (idx >= 0) & (idx < S2_BINS)
    num = np.bincount(idx[ok], weights=v[ok], minlength=S2_BINS)
    cnt = np.bincount(idx[ok], minlength=S2_BINS)
    s2b = np.where(cnt > 0, num / np.maximum(cnt, 1), np.nan)
    return {
        "volume_fractions": fr,
        "phase": phase,
        "s2_r": (0.5 * (edges[1:] + edges[:-1])).tolist(),
        "s2": [None if not np.isfinite(x) else float(x) for x in s2b],
        "s2_0": float(s2.reshape(-1)[0]),
    }


# --------------------------------------------------------------------------- the result
@dataclass
class RVEStudy:
    """Records of an RVE study and the statistics computed from them.

    ``records`` holds one dict per finished solve: ``size_index``, ``size`` (edge
    lengths), ``realization``, ``seed``, ``bc`` and the task result (tensor, scalar
    quantities, iterations, Hill-Mandel residual, descriptors).
    """

    config: dict[str, Any]
    records: list[dict[str, Any]]
    failures: list[dict[str, Any]] = field(default_factory=list)
    wall_time: float = 0.0
    executor: str = ""
    workers: int = 1
    resumed: int = 0

    # ------------------------------------------------------------------ access
    @property
    def sizes(self) -> list[float]:
        return [float(s) for s in self.config["sizes"]]

    @property
    def bcs(self) -> list[str]:
        return list(self.config["bcs"])

    @property
    def ndim(self) -> int:
        return int(self.config["ndim"])

    @property
    def quantities(self) -> list[str]:
        for r in self.records:
            return list(r["quantities"])
        return []

    def volume(self, size: float) -> float:
        return float(size) ** self.ndim

    def values(self, quantity: str, bc: str, size: float) -> Array:
        """The quantity over the realizations of one size and condition."""
        self._check(quantity, bc)
        v = [
            r["quantities"][quantity]
            for r in self.records
            if r["bc"] == bc and math.isclose(r["edge"], size)
        ]
        return np.array(v, dtype=float)

    def _check(self, quantity: str, bc: str) -> None:
        if bc not in self.bcs:
            raise ValueError(f"bc: {bc!r} was not part of this study; it ran {self.bcs}")
        if self.records and quantity not in self.quantities:
            raise ValueError(f"quantity: {quantity!r} is not one of {self.quantities}")

    # ------------------------------------------------------------------ statistics
    def summary(self, quantity: str, bc: str) -> list[Summary]:
        """Mean, standard deviation and interval per size (study order)."""
        conf = float(self.config.get("confidence", 0.95))
        nan = math.nan
        return [
            summarize(v, conf) if v.size else Summary(0, nan, nan, nan, nan, conf)
            for v in (self.values(quantity, bc, s) for s in self.sizes)
        ]

    def bias(self, quantity: str) -> list[float]:
        """Per size ``(mean_KUBC - mean_SUBC) / mean_PBC`` (needs the three conditions)."""
        need = {"kubc", "subc", "periodic"}
        if not need <= set(self.bcs):
            raise ValueError(f"bias: needs bcs {sorted(need)}, the study ran {self.bcs}")
        out = []
        for s in self.sizes:
            k, su, p = (self.values(quantity, b, s).mean() for b in ("kubc", "subc", "periodic"))
            out.append(float((k - su) / p))
        return out

    def variance_law(self, quantity: str, bc: str = "periodic") -> VarianceLaw:
        """Fit of ``D^2(V) = c V^-alpha`` over the sizes (sample variances)."""
        var = [
            v.var(ddof=1) if v.size > 1 else np.nan
            for v in (self.values(quantity, bc, s) for s in self.sizes)
        ]
        return fit_variance_law([self.volume(s) for s in self.sizes], var)

    def realizations_needed(
        self, quantity: str, rel_error: float, bc: str = "periodic"
    ) -> list[int]:
        """Per size, realizations for the 95 % relative error ``rel_error`` (Kanit)."""
        out = []
        for s in self.sizes:
            v = self.values(quantity, bc, s)
            out.append(realizations_needed(float(v.std(ddof=1)), float(v.mean()), rel_error))
        return out

    def rve_size(
        self,
        quantity: str,
        rel_error: float,
        realizations: int = 1,
        bc: str = "periodic",
        n_boot: int = 2000,
    ) -> RVESize:
        """RVE volume for ``rel_error`` with ``realizations`` samples, bootstrap interval."""
        samples = {self.volume(s): self.values(quantity, bc, s) for s in self.sizes}
        conf = float(self.config.get("confidence", 0.95))
        return rve_size(
            samples,
            rel_error,
            realizations,
            confidence=conf,
            n_boot=n_boot,
            seed=int(self.config["seed"]),
        )

    def bc_convergence_size(self, quantity: str, tol: float) -> float | None:
        """Smallest edge at which ``|Z_KUBC - Z_SUBC| / Z_PBC <= tol`` (interpolated)."""
        return convergence_size(self.sizes, self.bias(quantity), tol)

    def descriptor_errors(self) -> list[dict[str, float]]:
        """Per size: mean |volume fraction - ensemble| and mean max |S2 - ensemble S2|.

        The ensemble references are the model's expected volume fraction (or the mean
        over the largest size when the model has none) and the S2 averaged over every
        realization of the largest size.
        """
        bc0 = self.bcs[0]
        recs = [r for r in self.records if r["bc"] == bc0 and "descriptors" in r]
        if not recs:
            return []
        phase = str(recs[0]["descriptors"]["phase"])
        expected = self.config.get("expected_volume_fractions") or {}
        largest = max(self.sizes)
        big = [r for r in recs if math.isclose(r["edge"], largest)]
        phi = (
            float(expected[phase])
            if phase in expected
            else float(np.mean([r["descriptors"]["volume_fractions"].get(phase, 0.0) for r in big]))
        )
        r_big = np.array(big[0]["descriptors"]["s2_r"])
        s2_big = _nanmean_rows([r["descriptors"]["s2"] for r in big])
        out = []
        for s in self.sizes:
            rs = [r for r in recs if math.isclose(r["edge"], s)]
            dphi = [abs(r["descriptors"]["volume_fractions"].get(phase, 0.0) - phi) for r in rs]
            ds2 = []
            for r in rs:
                rr = np.array(r["descriptors"]["s2_r"])
                vv = np.array([np.nan if x is None else x for x in r["descriptors"]["s2"]])
                ref = np.interp(rr, r_big, s2_big, right=np.nan)
                d = np.abs(vv - ref)
                ds2.append(float(np.nanmax(d)) if np.isfinite(d).any() else math.nan)
            out.append(
                {
                    "size": s,
                    "volume_fraction_error": float(np.mean(dphi)),
                    "s2_error": float(np.nanmean(ds2)) if ds2 else math.nan,
                }
            )
        return out

    def sve_sizes(self, tol: float) -> list[float]:
        """Sizes at which the descriptors match the ensemble within ``tol`` (absolute)."""
        return [
            d["size"]
            for d in self.descriptor_errors()
            if d["volume_fraction_error"] <= tol and d["s2_error"] <= tol
        ]

    # ------------------------------------------------------------------ reporting
    def report(self, quantity: str | None = None) -> dict[str, Any]:
        """Everything a reader wants, as JSON-serialisable data."""
        q = quantity or self.config.get("quantity") or (self.quantities or [None])[0]
        rel = float(self.config.get("rel_error", 0.01))
        out: dict[str, Any] = {
            "quantity": q,
            "sizes": self.sizes,
            "bcs": self.bcs,
            "realizations": int(self.config["realizations"]),
            "solves": len(self.records),
            "failures": len(self.failures),
            "wall_time_s": self.wall_time,
            "executor": self.executor,
            "workers": self.workers,
            "resumed": self.resumed,
            "rel_error": rel,
        }
        if q is None or not self.records:
            return out
        out["summary"] = {
            bc: [
                {"size": s, **_summary_dict(m)}
                for s, m in zip(self.sizes, self.summary(q, bc), strict=True)
            ]
            for bc in self.bcs
        }
        if {"kubc", "subc", "periodic"} <= set(self.bcs):
            out["bias"] = self.bias(q)
            out["bc_convergence_size"] = self.bc_convergence_size(q, rel)
        bc_ref = "periodic" if "periodic" in self.bcs else self.bcs[0]
        out["reference_bc"] = bc_ref
        try:
            law = self.variance_law(q, bc_ref)
            out["variance_law"] = {
                "alpha": law.alpha,
                "alpha_stderr": law.alpha_stderr,
                "amplitude": law.amplitude,
                "r2": law.r2,
            }
            out["realizations_needed"] = self.realizations_needed(q, rel, bc_ref)
            rs = self.rve_size(q, rel, 1, bc_ref, n_boot=1000)
            out["rve_size"] = {
                "rel_error": rel,
                "realizations": 1,
                "volume": rs.volume,
                "volume_ci": [rs.ci_low, rs.ci_high],
                "edge": rs.edge(self.ndim)[0],
                "edge_ci": list(rs.edge(self.ndim)[1:]),
                "confidence": rs.confidence,
            }
        except ValueError as exc:
            out["variance_law"] = {"error": str(exc)}
        tol_d = float(self.config.get("descriptor_tol", 0.02))
        out["descriptors"] = self.descriptor_errors()
        out["sve_sizes"] = self.sve_sizes(tol_d)
        out["descriptor_tol"] = tol_d
        return out

    def plot(self, quantity: str | None = None, path: str | Path | None = None) -> Any:
        """Three panels: property vs size with confidence bands per condition; standard
        deviation vs volume (log-log) with the fitted law; radial S2 per size."""
        from scalebridge.io.plots import plot_rve_study

        return plot_rve_study(self, quantity, path)


def _nanmean_rows(rows: Sequence[Sequence[float | None]]) -> Array:
    """Column means of rows with ``None``/NaN gaps (NaN where a column has no value)."""
    a = np.array([[np.nan if x is None else x for x in row] for row in rows], dtype=float)
    ok = np.isfinite(a).any(axis=0)
    out = np.full(a.shape[1], np.nan)
    out[ok] = np.nanmean(a[:, ok], axis=0)
    return out


def _summary_dict(s: Summary) -> dict[str, float]:
    return {
        "n": s.n,
        "mean": s.mean,
        "std": s.std,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
    }


# --------------------------------------------------------------------------- the driver
def config_hash(config: Mapping[str, Any]) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def rve_study(
    model: Any,
    materials: Mapping[Any, Any],
    sizes: Sequence[float],
    realizations: int,
    *,
    resolution: float,
    bcs: Sequence[str] = ALL_BCS,
    seed: int = 0,
    tol: float = 1e-6,
    solver: str = "auto",
    executor: Any = "processes",
    max_workers: int | None = None,
    threads_per_task: int = 1,
    store: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    confidence: float = 0.95,
    rel_error: float = 0.01,
    descriptor_tol: float = 0.02,
) -> RVEStudy:
    """Apparent properties of ``model`` over cell ``sizes`` x ``realizations`` x ``bcs``.

    Parameters
    ----------
    model : RandomModel
        A random microstructure model of `scalebridge.microstructure.random_models`.
    materials : mapping
        ``{label: law}`` (`Conductivity`/`Elasticity` or their config dictionaries), or
        ``{"crystal": law}`` for a `VoronoiPolycrystal`.
    sizes : sequence of float
        Cell edge lengths (physical units of the model); cells are cubes/squares.
    realizations : int
        Samples per size (at least 2 for a spread).
    resolution : float
        Voxels per unit length (the same at every size).
    bcs : sequence of {"kubc", "periodic", "subc"}
    seed : int
        Master seed: realization ``i`` of size ``j`` uses ``task_seed(seed, j, i)``.
    tol : float
        Solver tolerance.
    executor : see `scalebridge.parallel`
        ``"serial"``, ``"processes"`` (default), ``"threads"``, ``"dask"``, a scheduler
        address, a `concurrent.futures.Executor` or a `distributed.Client`.
    store : path, optional
        JSON-lines file of the finished solves; with ``resume=True`` solves already in
        it are not repeated (the study configuration must match).
    rel_error, confidence, descriptor_tol
        Tolerance for the RVE size / realization counts, the confidence level of the
        intervals, and the SVE descriptor tolerance reported by `RVEStudy.report`.
    """
    from scalebridge.parallel import ResultStore, Task, run_tasks

    sizes = [float(s) for s in sizes]
    if not sizes or any(not (math.isfinite(s) and s > 0.0) for s in sizes):
        raise ValueError(f"sizes: got {sizes}; expected positive finite edge lengths")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"sizes: got {sizes}; the sizes must be distinct")
    if not isinstance(realizations, int | np.integer) or realizations < 1:
        raise ValueError(f"realizations: got {realizations!r}; expected an integer >= 1")
    bad = [b for b in bcs if b not in ALL_BCS]
    if bad or not bcs:
        raise ValueError(f"bcs: got {list(bcs)}; expected a non-empty subset of {ALL_BCS}")
    if not (math.isfinite(resolution) and resolution > 0):
        raise ValueError(f"resolution: got {resolution!r}; expected voxels per unit length > 0")
    model_desc = model.describe() if hasattr(model, "describe") else dict(model)
    if type(model).__name__ == "ImageWindows" and "file" not in model_desc:
        model_desc = _image_description(model, store)
    ndim0 = int(model_desc.get("ndim", getattr(model, "ndim", 3)))
    try:  # fail here, with the model's message, rather than in every task
        model.sample([min(sizes)] * ndim0, resolution, seed)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"sizes: the smallest cell {min(sizes)} is not valid: {exc}") from None
    mat_desc = _materials_description(materials)
    ndim = int(model_desc.get("ndim", getattr(model, "ndim", 3)))
    try:
        expected = {str(k): float(v) for k, v in model.expected_volume_fractions().items()}
    except (AttributeError, NotImplementedError, ValueError):
        expected = {}
    config = {
        "model": model_desc,
        "materials": mat_desc,
        "sizes": sizes,
        "realizations": int(realizations),
        "resolution": float(resolution),
        "bcs": list(bcs),
        "seed": int(seed),
        "tol": float(tol),
        "solver": solver,
        "ndim": ndim,
        "expected_volume_fractions": expected,
        "confidence": confidence,
        "rel_error": rel_error,
        "descriptor_tol": descriptor_tol,
    }
    tasks = []
    index = []
    # largest cells first: the long solves start early and the short ones fill the tail
    for j, s in sorted(enumerate(sizes), key=lambda t: -t[1]):
        for i in range(int(realizations)):
            sd = task_seed(seed, j, i)
            for k, bc in enumerate(bcs):
                key = f"L{j}-r{i}-{bc}"
                tasks.append(
                    Task(
                        key,
                        {
                            "model": model_desc,
                            "materials": mat_desc,
                            "size": [s] * ndim,
                            "resolution": float(resolution),
                            "seed": sd,
                            "bc": bc,
                            "tol": float(tol),
                            "solver": solver,
                            "descriptors": k == 0,
                        },
                    )
                )
                index.append({"size_index": j, "edge": s, "realization": i, "seed": sd, "bc": bc})
    # the statistics settings do not change the solves: keep them out of the store's hash
    solve_config = {
        k: v for k, v in config.items() if k not in ("confidence", "rel_error", "descriptor_tol")
    }
    st = None
    if store is not None:
        st = ResultStore(
            store,
            meta={"study": "rve", "config_hash": config_hash(solve_config), "config": solve_config},
            overwrite=not resume,
        )
    report = run_tasks(
        apparent_task,
        tasks,
        executor,
        store=st,
        max_workers=max_workers,
        threads_per_task=threads_per_task,
        progress=progress,
        description="RVE solves",
    )
    records = []
    for meta, res in zip(index, report.results, strict=True):
        if res is not None:
            records.append({**meta, **res})
    return RVEStudy(
        config=config,
        records=records,
        failures=[_failure_dict(f) for f in report.failures],
        wall_time=float(report.wall_time),
        executor=str(report.executor),
        workers=int(report.workers),
        resumed=int(report.skipped),
    )


def _image_description(model: Any, store: str | Path | None) -> dict[str, Any]:
    """Save the image of an `ImageWindows` model for the tasks (next to the store, or in
    a temporary folder) and describe it by its file and content hash."""
    import tempfile

    from scalebridge.microstructure import save_microstructure

    ms = model.microstructure
    digest = hashlib.sha256(np.ascontiguousarray(ms.labels).tobytes()).hexdigest()[:16]
    if store is not None:
        path = Path(store).with_name(f"{Path(store).stem}-image-{digest}.npz")
    else:
        path = Path(tempfile.mkdtemp(prefix="scalebridge-image-")) / f"image-{digest}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        save_microstructure(path, ms)
    return {"model": "ImageWindows", "file": str(path), "ndim": ms.ndim, "sha256": digest}


def _failure_dict(f: Any) -> dict[str, Any]:
    if isinstance(f, dict):
        return f
    return {k: getattr(f, k) for k in ("key", "params", "error") if hasattr(f, k)}


def _materials_description(materials: Mapping[Any, Any]) -> dict[str, Any]:
    """JSON description of ``{label: law}`` (laws or their config dictionaries)."""
    out: dict[str, Any] = {}
    for k, v in materials.items():
        out[str(k)] = v if isinstance(v, Mapping) else _law_description(v)
    return out


def _law_description(law: Any) -> dict[str, Any]:
    from scalebridge.materials import Conductivity, Elasticity

    if isinstance(law, Elasticity):
        if law.E is not None and law.nu is not None:
            return {"law": "elasticity", "E": float(law.E), "nu": float(law.nu)}
        if law.K is not None and law.G is not None:
            return {"law": "elasticity", "K": float(law.K), "G": float(law.G)}
        try:
            C = law.tensor(3)
        except ValueError:  # a 2D (3x3 Mandel) anisotropic law
            C = law.tensor(2)
        return {"law": "elasticity", "C": np.asarray(C).tolist()}
    if isinstance(law, Conductivity):
        k = np.asarray(law.k)
        return {"law": "conduction", "k": float(k) if k.ndim == 0 else k.tolist()}
    raise ValueError(f"materials: {law!r} is not a Conductivity or Elasticity law")
