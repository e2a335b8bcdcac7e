"""Fit a surrogate to a database with held-out paths, and report its errors.

`fit_surrogate` splits the monotonic paths of a database into training and held-out
paths (whole paths are held out: points of one path are strongly correlated), fits the
chosen model on the training paths and measures it on the held-out ones
(`validate`).  The returned law is the one fitted on the training paths, so the
reported error is the error of the law you get.  Records of cyclic paths are never used
for fitting (neither model represents unloading); `validate` on them shows how wrong a
history-free surrogate is there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.coupling.surrogate.base import SurrogateLaw
from scalebridge.coupling.surrogate.database import SurrogateDatabase
from scalebridge.coupling.surrogate.potential import fit_potential
from scalebridge.coupling.surrogate.regressor import GPSurrogate, fit_gp
from scalebridge.coupling.surrogate.sampling import LoadBox

Array = NDArray[np.float64]
MODELS = ("potential", "gp")

__all__ = ["MODELS", "ValidationReport", "fit_surrogate", "split_paths", "validate"]


@dataclass(frozen=True)
class ValidationReport:
    """Errors of a surrogate on a set of records.

    Attributes
    ----------
    errors : dict of str to float
        ``stress_rms`` (RMS error over RMS stress), ``stress_max`` (largest component
        error over the largest stress component), ``stress_rms_<i>`` per Mandel
        component, ``radial_tangent_rms`` (error of ``tangent @ strain``, the tangent
        along a radial path, relative), and for a GP ``coverage_2std`` (fraction of
        component errors within two predicted standard deviations).
    strain, reference, predicted : ndarray, shape (n, m)
        The held-out strains, RVE stresses and surrogate stresses.
    std : ndarray or None
        Predicted standard deviations (GP only).
    records : ndarray of int
        Indices of the records in the database.
    info : dict
        Counts (training/held-out paths and records, cyclic records left out), fit time.
    """

    errors: dict[str, float]
    strain: Array
    reference: Array
    predicted: Array
    std: Array | None
    records: NDArray[np.int64]
    info: dict[str, Any] = field(default_factory=dict)


def split_paths(
    db: SurrogateDatabase, holdout: float, seed: int = 0
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Masks ``(n,)`` of training and held-out records of the monotonic paths.

    The held-out paths are a seeded random ``holdout`` fraction of the monotonic paths
    (at least one when ``holdout > 0``), chosen by key, so the split does not depend on
    the order the paths were stored in.
    """
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"split_paths: holdout must lie in [0, 1), got {holdout!r}")
    mono_paths = [i for i, kind in enumerate(db.loading) if kind == "monotonic"]
    if not mono_paths:
        raise ValueError(
            "fit: the database holds no monotonic paths; a surrogate without history can "
            "only be fitted to monotonic radial loading (build with loading = 'monotonic')"
        )
    order = sorted(mono_paths, key=lambda i: db.keys[i])
    n_test = 0 if holdout == 0 else max(1, round(holdout * len(order)))
    if n_test >= len(order):
        raise ValueError(
            f"split_paths: holding out {n_test} of {len(order)} monotonic paths leaves none "
            "to fit; add paths or lower holdout"
        )
    test_paths = np.asarray(order)[np.random.default_rng(seed).permutation(len(order))[:n_test]]
    test = np.isin(db.path, test_paths)
    train = db.monotonic() & ~test
    return train, test


def validate(
    law: SurrogateLaw, db: SurrogateDatabase, records: NDArray[np.bool_] | None = None
) -> ValidationReport:
    """Compare ``law`` with the RVE stresses of ``records`` (default: all records).

    Examples
    --------
    >>> import tempfile, os
    >>> from scalebridge.coupling.fe2 import RVELaw
    >>> from scalebridge.coupling.surrogate import LoadingPlan, build_database, load_box
    >>> from scalebridge.coupling.surrogate import read_database
    >>> from scalebridge.materials import Elasticity
    >>> from scalebridge.microstructure import Microstructure
    >>> rve = RVELaw(Microstructure(np.zeros((4, 4), dtype=int)), [Elasticity(E=1.0, nu=0.25)])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = build_database(rve, LoadingPlan(load_box(2, 1e-3), 24, steps=2), f"{tmp}/db.h5")
    ...     db = read_database(f"{tmp}/db.h5")
    >>> law, report = fit_surrogate(db, knots=0)
    >>> report.errors["stress_rms"] < 1e-12
    True
    """
    idx = np.flatnonzero(np.ones(db.size, dtype=bool) if records is None else records)
    x, ref = db.strain[idx], db.stress[idx]
    policy = law.replace(out_of_range="ignore")
    pred, tangent, _ = policy.evaluate(x)
    std = None
    if isinstance(policy, GPSurrogate):
        std = policy.predict(x, return_std=True)[1]
    err = pred - ref
    scale = float(np.sqrt(np.mean(ref**2))) or 1.0
    errors = {
        "stress_rms": float(np.sqrt(np.mean(err**2)) / scale),
        "stress_max": float(np.abs(err).max() / (np.abs(ref).max() or 1.0)),
    }
    for i in range(x.shape[1]):
        errors[f"stress_rms_{i}"] = float(np.sqrt(np.mean(err[:, i] ** 2)) / scale)
    radial = np.einsum("nij,nj->ni", tangent, x)
    radial_ref = np.einsum("nij,nj->ni", db.tangent[idx], x)
    errors["radial_tangent_rms"] = float(
        np.sqrt(np.mean((radial - radial_ref) ** 2)) / (np.sqrt(np.mean(radial_ref**2)) or 1.0)
    )
    if std is not None:
        errors["coverage_2std"] = float(np.mean(np.abs(err) <= 2.0 * std))
    return ValidationReport(errors, x, ref, pred, std, idx)


def fit_surrogate(
    db: SurrogateDatabase,
    model: str = "potential",
    *,
    holdout: float = 0.2,
    seed: int = 0,
    box: LoadBox | None = None,
    out_of_range: str = "warn",
    margin: float = 0.0,
    **options: Any,
) -> tuple[SurrogateLaw, ValidationReport]:
    """Fit a surrogate on the training paths of ``db`` and validate it on the others.

    Parameters
    ----------
    db : SurrogateDatabase
    model : {"potential", "gp"}
        `fit_potential` (energy of strain invariants) or `fit_gp` (Gaussian process).
    holdout : float
        Fraction of the monotonic paths held out for validation (0: report the
        training error).
    seed : int
        Of the split (and of the GP subsample).
    box : LoadBox, optional
        The sampled range; default the box the training paths were sampled in.
    out_of_range, margin
        See `SurrogateLaw`.
    **options
        Passed to the fitter (``knots``, ``harmonics``, ``symmetry``, ...;
        ``max_points``, ``augment``, ...).  ``symmetry`` defaults to the symmetry the
        database detected in the cell.

    Returns
    -------
    law : SurrogateLaw
        With ``fit_error`` = the held-out errors.
    report : ValidationReport
    """
    if model not in MODELS:
        raise ValueError(f"fit_surrogate: model must be one of {MODELS}, got {model!r}")
    train, test = split_paths(db, holdout, seed)
    box = db.sampled_box(train) if box is None else box
    detected = db.provenance["microstructure"].get("symmetry", "none")
    common = {"out_of_range": out_of_range, "margin": margin, "identity": db.identity}
    t0 = time.perf_counter()
    if model == "potential":
        symmetry = options.pop("symmetry", detected)
        if symmetry == "square" and detected != "square":
            raise ValueError(
                "fit_surrogate: symmetry 'square' needs a cell with the square symmetry; "
                f"this database's cell has symmetry {detected!r}: use symmetry='none'"
            )
        options.setdefault("tangent", db.tangent[train])
        law: SurrogateLaw = fit_potential(
            db.strain[train], db.stress[train], box, symmetry=symmetry, **options, **common
        )
    else:
        if options.get("augment", detected == "square") and detected != "square":
            raise ValueError(
                "fit_surrogate: augment=True adds square-symmetric images, but this "
                f"database's cell has symmetry {detected!r}: use augment=False"
            )
        options.setdefault("augment", detected == "square")
        law = fit_gp(db.strain[train], db.stress[train], box, seed=seed, **options, **common)
    seconds = time.perf_counter() - t0
    report = validate(law, db, test if test.any() else train)
    info = {
        "model": model,
        "train_paths": int(np.unique(db.path[train]).size),
        "test_paths": int(np.unique(db.path[test]).size),
        "train_records": int(train.sum()),
        "test_records": int(test.sum()),
        "cyclic_records_left_out": int((~db.monotonic()).sum()),
        "fit_seconds": seconds,
        "errors_on": "held-out paths" if test.any() else "training paths",
    }
    report = ValidationReport(
        report.errors,
        report.strain,
        report.reference,
        report.predicted,
        report.std,
        report.records,
        info,
    )
    law = law.replace(fit_error=report.errors)
    return law, report
