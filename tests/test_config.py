"""The homogenize config: every bad input gives one clear line naming the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scalebridge.io import build_problem
from scalebridge.io.config import (
    ConfigError,
    FileSpec,
    default_config_path,
    load_config,
    parse_config,
)

GOOD = """
[microstructure]
generator = "laminate"
shape = [8, 8]
volume_fraction = 0.5

[phases.0]
law = "conduction"
k = 1.0

[phases.1]
law = "conduction"
k = 10.0
"""


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(data: dict) -> list[str]:
    """The message lines of the ConfigError raised by ``parse_config(data)``."""
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert str(info.value).count("\n") == max(len(info.value.problems) - 1, 0) + (
        len(info.value.problems) > 1
    )
    return info.value.problems


def base(**micro: object) -> dict:
    ms = {"generator": "laminate", "shape": [8, 8], **micro}
    return {
        "microstructure": ms,
        "phases": {"0": {"law": "conduction", "k": 1.0}, "1": {"law": "conduction", "k": 2.0}},
    }


def test_default_config_is_valid_and_packaged():
    assert default_config_path().is_file()
    cfg = load_config()
    assert cfg.microstructure.generator == "random_inclusions"
    assert cfg.microstructure.shape == [128, 128]
    assert {p.law for p in cfg.phases.values()} == {"elasticity"}
    assert cfg.solver_kwargs() == {
        "bc": "periodic",
        "solver": "auto",
        "discretization": "fe",
        "tol": 1e-6,
        "max_iter": 1000,
    }


def test_good_config_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.solver.bc == "periodic" and cfg.solver.max_iter == 1000
    assert cfg.microstructure.axis == 0
    assert sorted(cfg.phases) == [0, 1]


def test_unknown_generator_lists_the_allowed_ones():
    (msg,) = problems(base(generator="sphre"))
    assert msg.startswith("microstructure.generator: 'sphre' is not one of laminate, sphere")
    assert "random_inclusions" in msg


def test_unknown_key_names_the_key_and_the_allowed_keys():
    (msg,) = problems(base(radius=0.1))
    assert msg == (
        "microstructure.radius: unknown key; allowed keys for generator 'laminate': "
        "shape, size, volume_fraction, axis"
    )
    data = base()
    data["solver"] = {"tolerance": 1e-3}
    (msg,) = problems(data)
    assert msg.startswith("solver.tolerance: unknown key; allowed keys here: bc, method")


def test_nu_out_of_range():
    data = base()
    data["phases"] = {"0": {"law": "elasticity", "E": 1.0, "nu": 0.7}}
    assert problems(data) == ["phases.0.nu: must satisfy -1 < nu < 0.5, got 0.7"]


def test_elastic_parameter_sets_are_exclusive():
    data = base()
    data["phases"] = {"0": {"law": "elasticity", "E": 1.0, "K": 2.0}}
    (msg,) = problems(data)
    assert msg.startswith("phases.0: give exactly one of (E, nu), (K, G) or C")


def test_wrong_shape_length():
    (msg,) = problems(base(shape=[8, 8, 8, 8]))
    assert msg.startswith("microstructure.shape: expected 2 or 3 positive integers")


def test_negative_size_and_size_length():
    (msg,) = problems(base(size=[1.0, -2.0]))
    assert msg.startswith("microstructure.size: every edge length must be positive")
    (msg,) = problems(base(size=[1.0, 1.0, 1.0]))
    assert msg.startswith("microstructure.size: expected 2 edge lengths")


def test_bad_solver_choice_and_law():
    data = base()
    data["solver"] = {"bc": "pbc", "tol": 0.0}
    data["phases"]["1"] = {"law": "thermal", "k": 1.0}
    msgs = problems(data)
    assert "solver.bc: 'pbc' is not one of 'periodic', 'kubc' or 'subc'" in msgs
    assert "solver.tol: Input should be greater than 0, got 0.0" in msgs
    assert "phases.1.law: 'thermal' is not one of conduction, elasticity" in msgs
    assert len(msgs) == 3


def test_several_problems_one_line_each():
    data = base(shape=[0, 8], foo=1)
    data["phases"]["x"] = {"law": "conduction", "k": "a"}
    data["extra"] = {}
    msgs = problems(data)
    assert len(msgs) == len({m.split(":")[0] for m in msgs})  # one message per field
    assert any(m.startswith("microstructure.shape:") for m in msgs)
    assert any(m.startswith("microstructure.foo: unknown key") for m in msgs)
    assert any(m.startswith("phases.x: phase labels must be non-negative integers") for m in msgs)
    assert any(m.startswith("extra: unknown key") for m in msgs)


def test_missing_generator_and_phase_law():
    data = base()
    del data["microstructure"]["generator"]
    data["phases"]["0"] = {"k": 1.0}
    msgs = problems(data)
    assert msgs[0].startswith("microstructure: give generator = one of laminate")
    assert msgs[1] == "phases.0.law: missing; expected one of conduction, elasticity"


def test_toml_syntax_error_gives_the_line(tmp_path):
    path = write(tmp_path, GOOD.replace("k = 10.0", "k = = 10.0"))
    where = r"Invalid value \(at line 13, column 5\)"
    with pytest.raises(ConfigError, match=rf"invalid TOML in .*c\.toml: {where}"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_file_is_resolved_relative_to_the_config(tmp_path):
    text = GOOD.replace(
        'generator = "laminate"\nshape = [8, 8]\nvolume_fraction = 0.5', 'file = "micro.npy"'
    )
    cfg = load_config(write(tmp_path, text))
    assert isinstance(cfg.microstructure, FileSpec)
    assert Path(cfg.microstructure.file) == (tmp_path / "micro.npy").resolve()
    with pytest.raises(ConfigError, match=r"microstructure.file: no such file"):
        build_problem(cfg)


def test_generator_error_carries_the_field_path():
    cfg = parse_config(base(volume_fraction=0.3))  # 2.4 of 8 slices: not achievable
    with pytest.raises(ConfigError, match=r"^microstructure\.volume_fraction: 0\.3 of 8 slices"):
        build_problem(cfg)


def test_missing_phase_for_a_label_present():
    data = base()
    del data["phases"]["1"]
    with pytest.raises(ConfigError, match=r"phases: no law for phase label\(s\) \[1\]"):
        build_problem(parse_config(data))


def test_mixed_physics_rejected():
    data = base()
    data["phases"]["1"] = {"law": "elasticity", "E": 1.0, "nu": 0.3}
    with pytest.raises(ConfigError, match="same law"):
        build_problem(parse_config(data))


def test_build_problem_returns_laws_and_solver_kwargs():
    ms, laws, kwargs = build_problem(parse_config(base()))
    assert ms.shape == (8, 8) and sorted(laws) == [0, 1]
    assert all(law.physics == "conduction" for law in laws.values())
    assert kwargs["solver"] == "auto" and kwargs["bc"] == "periodic"
