"""Atomic HDF5 checkpoints of a macro simulation (FE², surrogate runs).

One file holds the last converged increment: step, load factor, nodal displacements,
every quadrature point's state (for FE²: each RVE's full history), the history of
the run so far (a JSON list of per-increment records) and a hash of the settings that
produced it.  The file is written to a temporary name in the same folder, flushed and
renamed over the old one, so a crash leaves either the previous or the new checkpoint,
never a torn one.

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = os.path.join(tmp, "c.h5")
...     _ = write_checkpoint(path, Checkpoint(2, 0.5, np.zeros(3), {"a": np.ones((4, 2))}, [], "h"))
...     c = read_checkpoint(path, expected_hash="h")
>>> c.step, c.state["a"].shape
(2, (4, 2))
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
FORMAT = "scalebridge-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or belongs to different settings."""


@dataclass(frozen=True)
class Checkpoint:
    """The committed state after a converged increment.

    Attributes
    ----------
    step : int
        Converged increments so far.
    load_factor : float
    displacement : ndarray
        Macro nodal displacements.
    state : dict or None
        Quadrature-point state (arrays with leading shape ``(n_points,)``).
    history : list of dict
        One JSON-serialisable record per converged increment.
    config_hash : str
        Identifies the settings; a resume with other settings is refused.
    extra : dict
        Further JSON-serialisable metadata.
    """

    step: int
    load_factor: float
    displacement: Array
    state: dict[str, Array] | None
    history: list[dict[str, Any]]
    config_hash: str
    extra: dict[str, Any] = field(default_factory=dict)


def write_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (temporary file, fsync, rename)."""
    import h5py

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["format"] = FORMAT
            h5.attrs["version"] = VERSION
            h5.attrs["step"] = int(checkpoint.step)
            h5.attrs["load_factor"] = float(checkpoint.load_factor)
            h5.attrs["config_hash"] = checkpoint.config_hash
            h5.attrs["history"] = json.dumps(checkpoint.history)
            h5.attrs["extra"] = json.dumps(checkpoint.extra)
            h5.create_dataset("displacement", data=np.asarray(checkpoint.displacement))
            group = h5.create_group("state")
            group.attrs["present"] = checkpoint.state is not None
            for key, arr in (checkpoint.state or {}).items():
                group.create_dataset(key, data=np.asarray(arr))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def read_checkpoint(
    path: str | os.PathLike[str], *, expected_hash: str | None = None
) -> Checkpoint:
    """Read a checkpoint; with ``expected_hash`` refuse one written with other settings."""
    import h5py

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint: no file {p} (nothing to resume)")
    try:
        with h5py.File(p, "r") as h5:
            if h5.attrs.get("format") != FORMAT:
                raise CheckpointError(f"checkpoint: {p} is not a scalebridge checkpoint")
            state: dict[str, Array] = {}

            def collect(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    state[name] = obj[()]

            h5["state"].visititems(collect)
            present = bool(h5["state"].attrs.get("present", True))
            out = Checkpoint(
                step=int(h5.attrs["step"]),
                load_factor=float(h5.attrs["load_factor"]),
                displacement=h5["displacement"][()],
                state=state if present else None,
                history=json.loads(h5.attrs["history"]),
                config_hash=str(h5.attrs["config_hash"]),
                extra=json.loads(h5.attrs.get("extra", "{}")),
            )
    except (OSError, KeyError) as exc:
        raise CheckpointError(f"checkpoint: cannot read {p}: {exc}") from None
    if expected_hash is not None and out.config_hash != expected_hash:
        raise CheckpointError(
            f"checkpoint: {p} was written with other settings (hash {out.config_hash}, "
            f"this run {expected_hash}); use the same config or start without --resume"
        )
    return out
