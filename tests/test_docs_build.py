"""The documentation site builds with every warning as an error, and that strictness
bites: a planted broken link, unresolved API reference, missing figure or undocumented
script fails the build.  The quick-start page's code runs and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

for _name in ("sphinx", "myst_parser", "numpydoc", "furo"):
    pytest.importorskip(_name)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def sphinx(src: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``sphinx-build -W --keep-going -b html`` into ``out`` (fresh doctrees)."""
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-q",
        "-d",
        str(out / "doctrees"),
        *options,
        str(src),
        str(out / "html"),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def copy_site(tmp: Path) -> Path:
    """The docs folder beside links to what its pages include, so the build writes its
    generated API pages into ``tmp``, not into the source tree."""
    shutil.copytree(DOCS, tmp / "docs", ignore=shutil.ignore_patterns("_build", "generated"))
    for name in ("examples", "tutorials", "README.md"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp / "docs"


@pytest.mark.slow
def test_site_builds_with_warnings_as_errors(tmp_path):
    result = sphinx(copy_site(tmp_path), tmp_path / "out")
    assert result.returncode == 0, result.stderr[-5000:]
    html = tmp_path / "out" / "html"
    pages = [
        "index",
        "installation",
        "quickstart",
        "homogenization",
        "gallery",
        "limitations",
        "verification",
        "benchmarks",
        "api/index",
        "tutorials/index",
        "tutorials/scale-separation",
        "tutorials/msfem-resonance",
    ]
    for page in pages:
        assert (html / f"{page}.html").is_file(), page
    # the API reference comes from the numpydoc docstrings: parameters are rendered
    api = (html / "api" / "generated" / "scalebridge.homogenization.homogenize.html").read_text()
    assert "Parameters" in api and "bc" in api
    # the installation page carries the README's two commands
    install = unescape(re.sub(r"<[^>]+>", "", (html / "installation.html").read_text()))
    assert 'pip install -e ".[test]"' in install and "scalebridge homogenize" in install
    # every tutorial figure made it into the site
    figures = {p.name for p in (ROOT / "docs" / "img" / "tutorials").glob("*.png")}
    assert figures and figures <= {p.name for p in (html / "_images").iterdir()}


CONTROL = """# Control

A reference to a public re-export resolves to where it is defined:
{py:func}`scalebridge.homogenize`.

```{eval-rst}
.. autofunction:: scalebridge.homogenization.homogenize.homogenize
```
"""

BROKEN = """
[a page that does not exist](missing-page.md)

{py:func}`scalebridge.homogenise`

```{image} img/no-such-figure.png
```

```{literalinclude} ../examples/no_such_example.py
```
"""


def small_project(tmp: Path, text: str, orphan_script: bool = False) -> Path:
    """The site's configuration and extensions with one page of ``text``."""
    src = tmp / "src"
    src.mkdir()
    shutil.copy(DOCS / "conf.py", src / "conf.py")
    shutil.copytree(DOCS / "_ext", src / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (src / "index.md").write_text(text, encoding="utf-8")
    if orphan_script:
        (tmp / "tutorials").mkdir()
        (tmp / "tutorials" / "orphan.py").write_text("print('not on any page')\n")
    return src


def test_configuration_builds_a_correct_page(tmp_path):
    result = sphinx(small_project(tmp_path, CONTROL), tmp_path / "out", "-D", "api_package=")
    assert result.returncode == 0, result.stderr


def test_broken_references_fail_the_build(tmp_path):
    src = small_project(tmp_path, CONTROL + BROKEN, orphan_script=True)
    result = sphinx(src, tmp_path / "out", "-D", "api_package=")
    assert result.returncode != 0
    log = result.stderr
    for what in (
        "missing-page",
        "scalebridge.homogenise",
        "no-such-figure.png",
        "no_such_example.py",
        "orphan.py",
    ):
        assert what in log, f"{what!r} not reported:\n{log}"


def code_blocks(page: Path) -> list[tuple[str, str]]:
    """``(code, expected output)`` of each python block: the expected output is the run of
    full-line ``# `` comments that ends the block."""
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    out = []
    for block in blocks:
        lines = block.rstrip("\n").split("\n")
        k = len(lines)
        while k > 0 and lines[k - 1].startswith("# "):
            k -= 1
        out.append(("\n".join(lines[:k]), "\n".join(x[2:] for x in lines[k:])))
    return out


def test_quickstart_code_runs_and_prints_what_it_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    blocks = code_blocks(DOCS / "quickstart.md")
    assert len(blocks) >= 5
    for code, expected in blocks:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, "quickstart.md", "exec"), namespace)
        assert buffer.getvalue().split() == expected.split(), (code, buffer.getvalue())
