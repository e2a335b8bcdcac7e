"""The `scalebridge multiscale` command end to end on a small config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("scalebridge"))

CONFIG = """
method = "both"

[msfem]
eps = 0.0625
ratios = [1.0, 2.0]
variants = ["linear", "oversampling"]

[hmm]
eps = 0.0625
macro = [2, 4, 8]
delta_over_eps = [1.0, 2.0]
compare = 4
"""


def test_multiscale_cli(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "o"
    res = subprocess.run(
        [EXE, "multiscale", str(cfg), "-o", str(out), "--json"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    rows = s["msfem"]["rows"]
    assert {r["variant"] for r in rows} == {"linear", "oversampling"}
    # resonance at H = eps: oversampling beats linear boundary conditions (measured 3.5x)
    lin = next(r for r in rows if r["variant"] == "linear" and r["ratio"] == 1.0)
    over = next(r for r in rows if r["variant"] == "oversampling" and r["ratio"] == 1.0)
    assert over["h1"] < 0.6 * lin["h1"]
    conv = s["hmm"]["convergence"]
    assert conv["rows"][-1]["l2"] < conv["rows"][0]["l2"]
    for name in ("summary.json", "msfem.png", "hmm.png"):
        assert (out / name).stat().st_size > 0


def test_multiscale_cli_bad_config(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('method = "fe2"\n')
    res = subprocess.run(
        [EXE, "multiscale", str(cfg), "-o", str(tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 2 and "method" in res.stderr
    cfg.write_text("[msfem]\nratio = [1.0]\n")
    res = subprocess.run(
        [EXE, "multiscale", str(cfg), "-o", str(tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 2 and "ratio" in res.stderr
