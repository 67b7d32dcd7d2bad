#!/bin/bash
# The README's measured times, from a fresh clone with empty compile caches, each command alone:
#   tools/measure_times.sh [REPO] [WORKDIR]
# REPO (default: this repository) is cloned into WORKDIR (default: a new temporary folder); PyTensor's, numba's and
# matplotlib's caches live inside the clone, so they start empty. Then, one after the other:
#   make .venv      the environment build
#   make test       venv build excluded here; the README adds the two for "make test, venv build included"
#   make run        the default report
#   --data          a 200-row, 3-input CSV written here, run twice: cold (first) and warm (second)
# Prints one line per command: its exit status and wall time in seconds; and after the venv, a line of how fast
# the machine is today (a Python loop, a NumPy QR, one g++ compilation).
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
# How fast the machine is today (its speed has differed by 2x between days here): a pure-Python loop, a NumPy QR
# and one g++ compilation of a small C++ file, each the best of three, printed beside the times
.venv/bin/python - <<'PY'
import subprocess, tempfile, time
import numpy as np

def best(f):
    times = []
    for _ in range(3):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)

matrix = np.random.default_rng(0).standard_normal((1_000_000, 11))
with tempfile.TemporaryDirectory() as folder:
    source = f"{folder}/a.cpp"
    with open(source, "w") as file:
        file.write("#include <vector>\n#include <algorithm>\nint main() { std::vector<int> v(9); std::sort(v.begin(), v.end()); }\n")
    gxx = best(lambda: subprocess.run(["g++", "-O2", "-o", f"{folder}/a", source], check=True))
print(f"speed        python loop {best(lambda: sum(range(10_000_000))):.2f} s, QR of 1e6 x 11 "
      f"{best(lambda: np.linalg.qr(matrix, mode='r')):.2f} s, g++ {gxx:.2f} s")
PY
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
