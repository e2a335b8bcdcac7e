"""Result files: JSON conversion of numerical values and atomic writes."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import numpy as np

__all__ = ["to_jsonable", "write_json_atomic"]


def _float(x: float) -> float | str | None:
    """Finite floats as is; ``nan``/``inf`` as ``None``/strings (JSON has neither)."""
    if math.isfinite(x):
        return x
    return None if math.isnan(x) else ("inf" if x > 0 else "-inf")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy arrays and scalars, tuples, paths and dataclasses to JSON types.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"a": np.eye(2), 1: (np.float32(0.5), np.int64(3)), "n": float("nan")})
    {'a': [[1.0, 0.0], [0.0, 1.0]], '1': [0.5, 3], 'n': None}
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return _float(float(obj))
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, complex | np.complexfloating):
        return {"real": _float(obj.real), "imag": _float(obj.imag)}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump(mode="json"))
    raise TypeError(f"to_jsonable: cannot convert object of type {type(obj).__name__}")


def write_json_atomic(path: str | os.PathLike[str], data: Any, indent: int = 2) -> Path:
    """Write ``data`` (converted by :func:`to_jsonable`) as JSON, atomically.

    The text goes to a temporary file in the target folder, which then replaces ``path``
    with :func:`os.replace`, so a reader never sees a half-written file.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable(data), indent=indent, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
