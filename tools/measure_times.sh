#!/bin/bash
# The README's measured times, from a fresh clone with empty compile caches, each command alone:
#   tools/measure_times.sh [REPO] [WORKDIR]
# REPO (default: this repository) is cloned into WORKDIR (default: a new temporary folder); PyTensor's, numba's and
# matplotlib's caches live inside the clone, so they start empty. Then, one after the other:
#   make .venv      the environment build
#   make test       venv build excluded here; the README adds the two for "make test, venv build included"
#   make run        the default report
#   --data          a 200-row, 3-input CSV written here, run twice: cold (first) and warm (second)
# Prints one line per command: its exit status and wall time in seconds.
set -u
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
work=${2:-$(mktemp -d /tmp/measure-times-XXXXXX)}
clone=$work/clone
rm -rf "$clone"
git clone -q "$repo" "$clone" || exit 1
cd "$clone" || exit 1
export PYTENSOR_FLAGS=base_compiledir=$clone/.cache/pytensor NUMBA_CACHE_DIR=$clone/.cache/numba
export XDG_CACHE_HOME=$clone/.cache/xdg MPLCONFIGDIR=$clone/.cache/mpl
timed() {  # timed LABEL COMMAND...: run, log to $work/LABEL.log, print "LABEL exit N, S s"
    local label=$1; shift
    local start end status
    start=$(date +%s.%N)
    "$@" > "$work/$label.log" 2>&1
    status=$?
    end=$(date +%s.%N)
    printf '%-12s exit %d, %.0f s\n' "$label" "$status" "$(echo "$end - $start" | bc)"
}
timed venv make .venv
timed test make test
timed run make run
.venv/bin/python - "$work/data.csv" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(7)
x = rng.normal(size=(200, 3))
t = 1.5 + x @ np.array([0.8, -0.4, 0.1]) + 0.5 * rng.normal(size=200)
np.savetxt(sys.argv[1], np.column_stack([x, t]), delimiter=",", header="a,b,c,y", comments="", fmt="%.6f")
PY
for label in data-cold data-warm; do
    timed $label .venv/bin/python -m analyses --data "$work/data.csv" --x a,b,c --t y --out "$work/$label"
done
echo "logs and results: $work"
