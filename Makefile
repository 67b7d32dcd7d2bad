# The two commands of the README: `make run` and `make test`. Both build .venv/ first when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test quick clean

# File target: the environment is rebuilt when the pinned dependency set changes.
.venv: pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(VENV)

run: .venv
	$(PY) -m analyses --out results

quick: .venv
	$(PY) -m analyses --quick --out results

test: .venv
	$(PY) -m pytest

clean:
	rm -rf results
