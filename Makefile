# Convenience targets; each is the README command it names.
.PHONY: run test lint

run:
	python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/scalebridge homogenize

test:
	python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check src tests examples
