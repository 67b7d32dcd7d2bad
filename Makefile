# The two commands of the README: `make run` and `make test`. Both build .venv/ first when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test quick lab figures clean

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

# JupyterLab (the optional extra "notebook"), opened on notebooks/; jupytext shows the .py files as notebooks
lab: .venv
	$(PY) -m pip install --quiet -e ".[test,notebook]"
	$(VENV)/bin/jupyter lab notebooks/

# The README's figures, from the results of a `make run` (results/ itself is not committed)
figures:
	mkdir -p analyses/figures
	cp results/predictive/fig_3_8.png analyses/figures/predictive.png
	cp results/scaling/scaling.png analyses/figures/scaling.png

clean:
	rm -rf results
