"""FE²: the RVE law against macro FE with known laws, Newton rate, restart and executors."""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

from scalebridge.cell.nonlinear_common import NewtonSettings
from scalebridge.coupling.checkpoint import CheckpointError, read_checkpoint
from scalebridge.coupling.fe2 import RVELaw
from scalebridge.coupling.fe2_run import run_fe2
from scalebridge.fem import SolidProblem, rectangle, write_mesh
from scalebridge.homogenization import homogenize
from scalebridge.io.fe2_config import FE2Config
from scalebridge.materials import Elasticity, J2Plasticity
from scalebridge.microstructure import Microstructure
from scalebridge.microstructure.generators import sphere

MATRIX = J2Plasticity(E=3500.0, nu=0.35, yield_stress=40.0, isotropic_modulus=300.0)
FIBRE = Elasticity(E=72000.0, nu=0.22)
TIGHT = NewtonSettings(tol=1e-11, linear_tol=1e-11)


def tension(law, n=(2, 2), u=0.02):
    problem = SolidProblem(rectangle(n=n, cell="tri"), law, quadrature=1)
    problem.fix("left", components=[0]).fix("bottom", components=[1])
    return problem.prescribe("right", 0, u)


def test_linear_phases_equal_macro_fe_with_the_homogenized_tensor() -> None:
    ms = sphere((8, 8), volume_fraction=0.3)
    mats = {0: Elasticity(E=3500.0, nu=0.35), 1: FIBRE}
    C = homogenize(ms, mats, discretization="fourier", tol=1e-12).tensor
    ref = tension(Elasticity(C=C)).solve(steps=1)
    fe2 = tension(RVELaw(ms, mats, settings=TIGHT)).solve(steps=1)
    # both linear: equal to the micro solver tolerance (measured 2e-13 relative)
    u, u_ref = fe2.final.displacement, ref.final.displacement
    np.testing.assert_allclose(u, u_ref, rtol=0, atol=1e-9 * np.abs(u_ref).max())
    f, f_ref = fe2.reaction("right"), ref.reaction("right")
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-9 * np.abs(f_ref).max())


def test_homogeneous_rve_equals_macro_fe_with_the_phase_law() -> None:
    steps = [0.3, 0.6, 1.0, 0.5]  # plastic loading, then unloading
    ref = tension(MATRIX).solve(steps)
    fe2 = tension(RVELaw(Microstructure(np.zeros((4, 4), dtype=int)), [MATRIX])).solve(steps)
    # a homogeneous cell has no fluctuation: the law at one point, to round-off
    f, f_ref = fe2.reaction("right"), ref.reaction("right")
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-12 * np.abs(f_ref).max())
    u, u_ref = fe2.final.displacement, ref.final.displacement
    np.testing.assert_allclose(u, u_ref, rtol=0, atol=1e-12 * np.abs(u_ref).max())
    eq = fe2.final.state["phase0/equivalent_plastic_strain"][:, 0]
    np.testing.assert_allclose(eq, ref.final.state["equivalent_plastic_strain"], atol=1e-15)
    assert eq.max() > 0.0


def test_macro_newton_converges_quadratically_with_the_fe2_tangent() -> None:
    ms = sphere((10, 10), volume_fraction=0.3)
    law = RVELaw(ms, {0: MATRIX, 1: FIBRE}, settings=TIGHT)
    result = tension(law, n=(2, 2), u=0.03).solve([0.5, 1.0], tol=1e-11)
    for inc in result.increments:
        r = inc.residuals
        print(f"t={inc.load_factor}: macro Newton residuals", np.array2string(r, precision=2))
        rates = [np.log(b) / np.log(a) for a, b in itertools.pairwise(r) if a < 1e-2]
        assert rates, r
        # quadratic: log r_{k+1} / log r_k ~ 2 (measured 1.9-2.2 above round-off)
        assert max(rates) >= 1.8, (r, rates)
    assert result.final.state["phase0/equivalent_plastic_strain"].max() > 0.0


def _small_config(mesh: str) -> FE2Config:
    return FE2Config.model_validate(
        {
            "macro": {"mesh": mesh, "steps": 4, "displacement": 0.03},
            "rve": {"grid": 8},
            "solver": {"tol": 1e-8},
            "run": {"executor": "serial"},
        }
    )


class Crash(RuntimeError):
    pass


def test_restart_after_a_crash_gives_identical_results(tmp_path) -> None:
    mesh = str(tmp_path / "square.vtu")
    write_mesh(rectangle(n=(2, 2), cell="tri"), mesh)
    cfg = _small_config(mesh)
    full = run_fe2(cfg, tmp_path / "full", vtk=False)

    def crash(rec: dict) -> None:
        if rec["step"] == 2:
            raise Crash("simulated crash after increment 2")

    with pytest.raises(Crash):
        run_fe2(cfg, tmp_path / "cut", on_increment=crash)
    assert read_checkpoint(tmp_path / "cut" / "checkpoint.h5").step == 2
    resumed = run_fe2(cfg, tmp_path / "cut", resume=True)
    assert [r["force"] for r in resumed["increments"]] == [r["force"] for r in full["increments"]]
    a = read_checkpoint(tmp_path / "full" / "checkpoint.h5")
    b = read_checkpoint(tmp_path / "cut" / "checkpoint.h5")
    np.testing.assert_array_equal(a.displacement, b.displacement)
    for key in a.state:
        np.testing.assert_array_equal(a.state[key], b.state[key])
    assert full["increments"][-1]["max_rve_plastic_strain"] > 0.0
    assert (tmp_path / "cut" / "force_displacement.png").is_file()
    assert len(list((tmp_path / "cut" / "vtk").glob("*.vtu"))) == 4
    other = cfg.model_copy(update={"macro": cfg.macro.model_copy(update={"steps": 5})})
    with pytest.raises(CheckpointError, match="other settings"):
        run_fe2(other, tmp_path / "cut", resume=True)


def _batch(n: int = 6) -> tuple[np.ndarray, RVELaw]:
    rng = np.random.default_rng(4)
    strains = rng.normal(scale=8e-3, size=(n, 3))
    return strains, RVELaw(sphere((8, 8), volume_fraction=0.3), {0: MATRIX, 1: FIBRE})


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_identical_results_on_every_executor(executor: str) -> None:
    strains, law = _batch()
    ref = law.evaluate(strains, law.initial_state((len(strains),), 3))
    with RVELaw(
        law_ms := sphere((8, 8), volume_fraction=0.3),
        {0: MATRIX, 1: FIBRE},
        executor=executor,
        max_workers=2,
    ) as other:
        got = other.evaluate(strains, other.initial_state((len(strains),), 3))
        assert len(other.stats.workers) >= 1
    del law_ms
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    for key in ref[2]:
        np.testing.assert_array_equal(got[2][key], ref[2][key])


def test_a_killed_dask_worker_does_not_change_the_result() -> None:
    distributed = pytest.importorskip("distributed")
    strains, law = _batch(12)
    ref = law.evaluate(strains, law.initial_state((12,), 3))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        dask_law = RVELaw(
            sphere((8, 8), volume_fraction=0.3),
            {0: MATRIX, 1: FIBRE},
            executor=client,
            chunks_per_worker=6,
        )

        def kill() -> None:
            time.sleep(0.5)  # tasks are running by now
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill)
        killer.start()
        got = dask_law.evaluate(strains, dask_law.initial_state((12,), 3))
        killer.join()
        assert pids[0] not in client.run(os.getpid).values()  # it really died
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


def test_rve_law_validates_its_input_and_pickles() -> None:
    ms = sphere((8, 8), volume_fraction=0.3)
    with pytest.raises(ValueError, match="solver: 'lbm' is not one of"):
        RVELaw(ms, {0: MATRIX, 1: FIBRE}, solver="lbm")
    with pytest.raises(ValueError, match="FFT solver is periodic"):
        RVELaw(ms, {0: MATRIX, 1: FIBRE}, bc="kubc")
    law = RVELaw(ms, {0: MATRIX, 1: FIBRE})
    with pytest.raises(ValueError, match=r"strain must be Mandel \(\.\.\., 3\)"):
        law.evaluate(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="missing RVE history"):
        law.evaluate(np.zeros((2, 3)), {"fluctuation": np.zeros((2, 3, 8, 8))})
    clone = pickle.loads(pickle.dumps(law))
    e = np.array([[1e-3, 0.0, 0.0]])
    np.testing.assert_array_equal(clone.evaluate(e)[0], law.evaluate(e)[0])


def test_kubc_fe_rve_is_stiffer_than_periodic_for_linear_phases() -> None:
    ms = sphere((8, 8), volume_fraction=0.3)
    mats = {0: Elasticity(E=3500.0, nu=0.35), 1: FIBRE}
    e = np.array([[1e-3, 0.0, 0.0]])
    per = RVELaw(ms, mats, solver="fe", bc="periodic").evaluate(e)[1][0]
    kubc = RVELaw(ms, mats, solver="fe", bc="kubc").evaluate(e)[1][0]
    # KUBC >= PBC in the sense of quadratic forms (a theorem for linear phases)
    assert np.linalg.eigvalsh(kubc - per).min() > -1e-9 * np.abs(per).max()


def test_serial_rve_solves_leave_the_thread_settings_of_the_caller() -> None:
    import numba

    from scalebridge.parallel import THREADS_ENV

    before = (os.environ.get(THREADS_ENV), numba.get_num_threads())
    strains, law = _batch(2)
    law.evaluate(strains, law.initial_state((2,), 3))
    assert (os.environ.get(THREADS_ENV), numba.get_num_threads()) == before
