# Convenience targets; each is the README command it names, or documented in docs/installation.md.
.PHONY: run test lint docs tutorial-figures

run:
	python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/scalebridge homogenize

test:
	python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check src tests examples tutorials

# The documentation site: every warning is an error (broken link, missing page or figure,
# unresolved reference, a script in examples/ or tutorials/ on no page).
docs:
	.venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

# Regenerate the committed tutorial figures (PNG + SVG) at the documented default sizes.
tutorial-figures:
	for t in tutorials/[0-9]*.py tutorials/limit_*.py; do \
		.venv/bin/python $$t docs/img/tutorials || exit 1; \
	done
