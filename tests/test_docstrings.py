"""Every docstring example in the package runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import scalebridge

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(scalebridge.__path__, prefix="scalebridge.")
    if not m.name.endswith("_kernels")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_name_exists():
    for name in scalebridge.__all__:
        assert hasattr(scalebridge, name), name
