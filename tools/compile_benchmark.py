"""Cold compilation of the fitters, with and without models.fit.backend's flags (-g0 and the precompiled header).

    .venv/bin/python tools/compile_benchmark.py [--repeats 3]

Each measurement is a new process with an empty PyTensor compile folder of its own, which compiles what ``fit_map``
and a short ``sample_posterior`` of a Student-t regression need (PyMC's density, its gradient and the point functions:
about 60 C modules). The two settings alternate, so that a machine whose speed drifts during the run treats both
alike; the line printed at the end is the median ratio of the paired runs (baseline: PyTensor's own flags).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ONE_RUN = """
import sys
import numpy as np
import models.fit.backend as backend
from models import PolynomialBasis, fit_map, likelihoods, priors, regression, sample_posterior

if sys.argv[1] == "pytensor":  # PyTensor's own flags: debugging information, no precompiled header
    backend.C_FLAGS, backend.PRECOMPILE = "", False
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, 60)
t = np.sin(3 * x) + 0.2 * rng.standard_t(4, 60)
model = regression(x, t, likelihood=likelihoods.StudentT(nu=4), basis=PolynomialBasis(3), prior=priors.Normal(2.0))
fit_map(model)
sample_posterior(model, draws=20, tune=20, chains=1, nuts_sampler="pymc", random_seed=1, log_likelihood=False)
"""


def one_run(setting: str) -> float:
    """Wall seconds of ONE_RUN in a new process with an empty compile folder (the imports, the same for both
    settings, included)."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", ONE_RUN, setting], capture_output=True, text=True,
                             env={**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={folder}"})
        if run.returncode:
            sys.exit(f"the {setting} run failed:\n{run.stderr}")
        return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python tools/compile_benchmark.py", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (default 3)")
    args = parser.parse_args(argv)
    ratios = []
    for repeat in range(args.repeats):
        pair = {}
        for setting in (("pytensor", "suite") if repeat % 2 == 0 else ("suite", "pytensor")):
            pair[setting] = one_run(setting)
        ratios.append(pair["suite"] / pair["pytensor"])
        print(f"pair {repeat + 1}: PyTensor's flags {pair['pytensor']:.1f} s, the suite's {pair['suite']:.1f} s "
              f"(ratio {ratios[-1]:.2f})", flush=True)
    print(f"cold compile of a Student-t regression's fit_map + NUTS: the suite's flags take "
          f"{statistics.median(ratios):.2f}x the time of PyTensor's (median of {len(ratios)} pairs)")


if __name__ == "__main__":
    main()
