"""MsFEM local problems and FE-HMM micro problems on a process pool: the same numbers as
serially (the tasks carry their data; one thread each)."""

from __future__ import annotations

import numpy as np

from scalebridge.asymptotic.cell import default_coefficient
from scalebridge.coupling import msfem_solve
from scalebridge.coupling.hmm import MultiscaleCoefficient, effective_tensors, hmm_settings
from scalebridge.coupling.msfem import default_coefficient as msfem_coefficient


def test_msfem_on_processes_equals_serial():
    eps = 1 / 16
    a = msfem_coefficient(eps)
    serial = msfem_solve(a, 4, 32, "oversampling", eps=eps)
    pool = msfem_solve(a, 4, 32, "oversampling", eps=eps, executor="processes", max_workers=2)
    np.testing.assert_allclose(pool.coarse_values, serial.coarse_values, rtol=0, atol=1e-13)


def test_hmm_micro_problems_on_processes_equal_serial():
    coef = MultiscaleCoefficient.periodic(default_coefficient(), 1 / 32)
    pts = np.array([[0.1, 0.37, 0.8], [0.2, 0.52, 0.9]])
    s = hmm_settings("dirichlet", 2.0, 8)
    serial = effective_tensors(coef, pts, s)
    pool = effective_tensors(coef, pts, s, executor="processes", max_workers=2)
    np.testing.assert_allclose(pool, serial, rtol=0, atol=1e-13)
