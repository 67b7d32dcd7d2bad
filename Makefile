# The two commands of the README: `make run` and `make test`. Both build .venv/ first when it is missing.
#
# The environment needs Python 3.12-3.14 (PyMC 6). The .venv target finds one by itself, in this order:
#   1. PYTHON=/path/to/python when given (refused, with the reason, if it is not 3.12-3.14);
#   2. python3.12, python3.13, python3.14, python3 on PATH, each run to check it (a pyenv shim can exist and fail);
#   3. pyenv's installed versions, by path: $(pyenv root)/versions/3.12.*/bin/python3, then 3.13, 3.14;
#   4. `uv python find '>=3.12,<3.15'`;
# else it stops and says what it found. A .venv built by another interpreter (e.g. an older 3.11) is rebuilt.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test quick bench lab figures clean python rebuild-venv

define FIND_PYTHON
supported() { "$$1" -c 'import sys; sys.exit(not (3, 12) <= sys.version_info[:2] <= (3, 14))' >/dev/null 2>&1; }
describe() { "$$1" --version 2>&1 | head -n 1; }
if [ -n "$$PYTHON" ]; then
    if supported "$$PYTHON"; then echo "$$PYTHON"; exit 0; fi
    echo "PYTHON=$$PYTHON is not a Python 3.12-3.14 (it says: $$(describe "$$PYTHON")); PyMC 6 needs 3.12 or newer" >&2
    exit 1
fi
seen=""
for name in python3.12 python3.13 python3.14 python3; do
    if command -v "$$name" >/dev/null 2>&1; then
        if supported "$$name"; then command -v "$$name"; exit 0; fi
        seen="$$seen\n  $$name: $$(describe "$$name")"
    fi
done
root=$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}")
for minor in 12 13 14; do
    for candidate in "$$root"/versions/3.$$minor.*/bin/python3; do
        if [ -x "$$candidate" ] && supported "$$candidate"; then echo "$$candidate"; exit 0; fi
    done
done
if command -v uv >/dev/null 2>&1; then
    candidate=$$(uv python find '>=3.12,<3.15' 2>/dev/null) && supported "$$candidate" && { echo "$$candidate"; exit 0; }
fi
printf "no Python 3.12-3.14 found (PyMC 6 needs one). Looked at:$$seen\n  pyenv versions under $$root/versions\n  uv python find\nInstall one (e.g. pyenv install 3.12, or uv python install 3.12) or choose it: make test PYTHON=/path/to/python3.12\n" >&2
exit 1
endef
export FIND_PYTHON

# A .venv whose interpreter is missing or outside 3.12-3.14 is rebuilt, whatever its age.
VENV_PYTHON_OK := $(shell $(PY) -c 'import sys; print(int((3, 12) <= sys.version_info[:2] <= (3, 14)))' 2>/dev/null)
ifneq ($(VENV_PYTHON_OK),1)
.venv: rebuild-venv
endif

# File target: the environment is rebuilt when the pinned dependency set changes. uv (pinned, installed into .venv
# by pip) installs the packages: it downloads them in parallel (the build here: 12 s for uv, 16 s for the packages,
# against about 80 s of pip). The packages are byte-compiled by compileall on every core, their own test suites
# excepted (a third of the files; nothing here imports them), and compiled they must be: with
# PYTHONDONTWRITEBYTECODE set (as on this machine) no import would write a .pyc, and every process of a run (test
# workers, the analyses' pool, notebook kernels) would compile its imports again.
UV := uv==0.13.9
.venv: pyproject.toml
	@python=$$(sh -c "$$FIND_PYTHON") && echo "building $(VENV) with $$python ($$($$python --version 2>&1))" && \
	rm -rf $(VENV) && "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --no-compile "$(UV)"
	$(PY) -m uv pip install --quiet --python $(PY) -e ".[test]"
	$(PY) -m compileall -q -j 0 -x '/tests?/' $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') > /dev/null
	touch $(VENV)

# Which interpreter the .venv target would use, and why not others
python:
	@sh -c "$$FIND_PYTHON"

run: $(VENV)
	$(PY) -m analyses --out results

quick: $(VENV)
	$(PY) -m analyses --quick --out results

test: $(VENV)
	$(PY) -m pytest

# The benchmarks: scaling with N up to 1e7 and the capped row-wise PyMC runs (about half an hour); then 1e6-1e8 rows
# of Parquet on a 2-worker Dask cluster (8.8 GB written once under results/.cache). Their sections replace the
# default run's scaling section and add the cluster's in results/
bench: $(VENV)
	$(PY) -m analyses.scaling --full --out results
	$(PY) -m analyses.cluster --full --out results

# JupyterLab (the optional extra "notebook"), opened on notebooks/; jupytext shows the .py files as notebooks
lab: $(VENV)
	$(PY) -m uv pip install --quiet --python $(PY) -e ".[test,notebook]"
	$(VENV)/bin/jupyter lab notebooks/

# The README's figures, from the results of a `make run` (results/ itself is not committed)
figures:
	mkdir -p analyses/figures
	cp results/predictive/fig_3_8.png analyses/figures/predictive.png
	cp results/scaling/scaling.png analyses/figures/scaling.png

clean:
	rm -rf results
