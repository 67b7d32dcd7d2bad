r"""A posterior from Parquet files on a Dask cluster, at about the cost of reading the data.

A Gaussian likelihood with one sigma sees the data only through the QR statistics of :mod:`models.statistics`
(:math:`\lVert t - \Phi w\rVert^2 = \lVert z - R w\rVert^2 + \rho^2`), so ``gaussian_regression(ddf[x], ddf["t"])``
reads each Parquet partition on the worker that holds it and sends O(p^2) numbers back; everything after that
(``fit_map``, ``exact_posterior``, NUTS) works on p x p arrays, whatever N.

The benchmark, measured side by side in one run for N rows x 10 columns (9 inputs and t, float64) written as Parquet
files on the local disk: a ``distributed.LocalCluster`` of 2 single-threaded worker processes with a memory limit
each, started afresh for every N in a fresh client process (so that peak memories are per N):

- one plain pass over the same files, ``ddf.sum().compute()`` (the floor: reading the data), after an untimed pass
  (``ddf.max()``) that puts the files in the page cache and the library imported on the workers; then the model's
  build (one pass for the ranges and the statistics, in the conditioning of the first partition's range, which holds
  for these data);
- the peak resident memory of every worker process and of the client process;
- ``fit_map``, ``exact_posterior`` (1000 iid draws) and NUTS (``sample_posterior``: nutpie, 2 chains, compilation
  included) on the statistics.

Sizes: N in {1e6, 1e7, 1e8} with ``--full`` (``make bench``: 8.8 GB of Parquet at 1e8, written once under the cache
folder); {1e5, 1e6} by default; {2e4, 1e5} with ``--quick``. Not part of ``python -m analyses``: its section appears
in the report when its results are present.

Run alone: ``python -m analyses.cluster [--quick | --full] [--seed N] [--out DIR] [--cache DIR]``.
"""

import importlib
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import runner
from .report import check, table

NAME = "cluster"
TITLE = "A posterior from Parquet files on a Dask cluster"
CLAIM = ("A Gaussian model built from Parquet files on a cluster costs about one read of the data; its workers stay "
         "within their memory, the client's memory does not grow with N, and every fit after the statistics takes "
         "the same time whatever N.")

INPUTS = [f"x{k}" for k in range(1, 10)]
W_TRUE = np.linspace(-1.0, 1.0, 10)  # intercept, then the 9 inputs' weights
WORKERS = 2
MEMORY_LIMIT_GB = 4.0
PASS_RATIO_TARGET = 2.0
# the client holds PyMC, nutpie's compiled model and the draws whatever N; what would grow with N is data reaching it:
# one partition of 1e6 rows is 80 MB, so a growth below 40 MB says none did
CLIENT_GROWTH_MB = 40.0
# timing noise between fresh processes (nutpie's compilation varies by ~1 s run to run on this machine)
AFTER_RATIO, AFTER_SLACK_S = 1.5, 1.0


def config(quick=False, full=False):
    """Sizes, rows per Parquet file (one partition each) and NUTS' draws."""
    if quick:
        return {"sizes": [20_000, 100_000], "rows_per_file": 25_000, "draws": 200}
    if full:
        return {"sizes": [1_000_000, 10_000_000, 100_000_000], "rows_per_file": 1_000_000, "draws": 1000}
    return {"sizes": [100_000, 1_000_000], "rows_per_file": 250_000, "draws": 1000}


def write_parquet(folder, n, rows_per_file, seed):
    """N simulated rows as Parquet files of ``rows_per_file`` rows (t = 1 + x @ w + N(0, 0.5^2)), one at a time."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    files = -(-n // rows_per_file)
    for k, stream in enumerate(np.random.SeedSequence(seed).spawn(files)):
        rng = np.random.default_rng(stream)
        rows = min(rows_per_file, n - k * rows_per_file)
        x = rng.normal(size=(rows, len(INPUTS)))
        t = W_TRUE[0] + x @ W_TRUE[1:] + 0.5 * rng.normal(size=rows)
        frame = pd.DataFrame(x, columns=INPUTS).assign(t=t)
        frame.to_parquet(folder / f"part-{k:05d}.parquet", index=False)
    complete_marker(folder).touch()
    return folder


def complete_marker(folder):
    """The file beside ``folder`` that says all its Parquet files were written (a run stopped midway leaves none)."""
    return folder.with_name(folder.name + ".complete")


def peak_rss_mb():
    """This process' peak resident memory in MB (Linux reports ru_maxrss in kB); run on every worker too, by
    ``client.run``."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def measure(folder, draws, seed):
    """In a fresh process: a local cluster reads ``folder``; the passes' times, the fits' times, peak memories."""
    import warnings

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from models import exact_posterior, fit_map, gaussian_regression, sample_posterior

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's start-up chatter (ports)
        cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, memory_limit=f"{MEMORY_LIMIT_GB}GB",
                               dashboard_address=None)
    client = Client(cluster)
    try:
        ddf = dd.read_parquet(folder)
        # untimed: the page cache warmed by another computation (the same one again could be answered from the
        # scheduler's memory while the first one's results are being released), and the library imported on the
        # workers (PyMC: ~3 s, once per worker process)
        ddf.max().compute()
        client.run(importlib.import_module, "models")
        _, plain = _timed(lambda: ddf.sum().compute())
        model, build = _timed(lambda: gaussian_regression(ddf[INPUTS], ddf["t"]))
        workers_mb = sorted(client.run(peak_rss_mb).values())
    finally:
        client.close()
        cluster.close()
    point, map_s = _timed(lambda: fit_map(model))
    _, exact_s = _timed(lambda: exact_posterior(model, draws=1000, random_seed=seed, log_likelihood=False))
    idata, nuts_s = _timed(lambda: sample_posterior(model, draws=draws, tune=draws, chains=2, random_seed=seed,
                                                    log_likelihood=False, progressbar=False))
    return {"n": int(model.design.statistics.n), "plain_pass_s": plain, "build_s": build, "map_s": map_s,
            "exact_s": exact_s, "nuts_s": nuts_s, "workers_peak_mb": workers_mb, "client_peak_mb": peak_rss_mb(),
            "w_map": np.asarray(point["w"]).tolist(),
            "w_nuts_mean": idata.posterior["w"].mean(("chain", "draw")).values.tolist()}


def compute(config, rng, cache=None, progressbar=False):
    """Write the files (once per size and seed, under ``cache``), then measure each size in a fresh process."""
    seed = int(rng.integers(2**31))
    root = Path(cache if cache is not None else ".cache") / "cluster-parquet"
    rows = []
    for n in config["sizes"]:
        rows_per_file = min(config["rows_per_file"], -(-n // (4 * WORKERS)))  # at least 4 partitions per worker
        folder = root / f"n{n}-rows{rows_per_file}-seed{seed}"
        if not complete_marker(folder).exists():
            print(f"[{NAME}] writing {n:.0e} rows of Parquet to {folder}", file=sys.stderr, flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            write_parquet(folder, n, rows_per_file, seed)
        print(f"[{NAME}] measuring N = {n:.0e} on a {WORKERS}-worker local cluster", file=sys.stderr, flush=True)
        code = ("import json, sys; from analyses.cluster import measure; "
                "print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))")
        done = subprocess.run([sys.executable, "-c", code, str(folder), str(config["draws"]), str(seed)],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        if done.returncode != 0:
            raise RuntimeError(f"the measurement at N = {n} failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"summary": {"rows": rows, "settings": dict(config, workers=WORKERS, memory_limit_gb=MEMORY_LIMIT_GB)}}


def checks(result):
    rows = result["summary"]["rows"]
    small, large = rows[0], rows[-1]
    limit_mb = MEMORY_LIMIT_GB * 1000**3 / 1024**2
    ratio = large["build_s"] / large["plain_pass_s"]
    worker_peak = max(max(r["workers_peak_mb"]) for r in rows)
    growth = large["client_peak_mb"] - small["client_peak_mb"]
    after = {key: (small[key], large[key]) for key in ("map_s", "exact_s", "nuts_s")}
    flat = all(b <= AFTER_RATIO * a + AFTER_SLACK_S for a, b in after.values())
    return [
        check(f"the build from Parquet takes at most {PASS_RATIO_TARGET:g}x one plain pass over the files",
              f"{ratio:.2f}x at N = {large['n']:.0e} ({large['build_s']:.1f} s against {large['plain_pass_s']:.1f} s)",
              ratio <= PASS_RATIO_TARGET),
        check("no worker goes above its memory limit",
              f"largest worker peak {worker_peak:.0f} MB (limit {limit_mb:.0f} MB)", worker_peak <= limit_mb),
        check("the client's memory does not grow with N",
              f"peak {small['client_peak_mb']:.0f} MB at N = {small['n']:.0e}, {large['client_peak_mb']:.0f} MB at "
              f"{large['n']:.0e} (tolerance +{CLIENT_GROWTH_MB:g} MB: a partition's rows are 80 MB per 1e6)",
              growth <= CLIENT_GROWTH_MB),
        check("fit_map, exact_posterior and NUTS take the same time whatever N",
              ", ".join(f"{key[:-2]} {a:.2f} s -> {b:.2f} s" for key, (a, b) in after.items())
              + f" (tolerance {AFTER_RATIO:g}x + {AFTER_SLACK_S:g} s)", flat),
    ]


def plot_cluster(rows, settings):
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 5.0))
    n = np.array([r["n"] for r in rows], dtype=float)
    for key, label, style in (("plain_pass_s", "one plain pass (ddf.sum())", "k--"),
                              ("build_s", "model build (ranges and statistics in one pass)", "o-"),
                              ("map_s", "fit_map", "s-"), ("exact_s", "exact_posterior, 1000 draws", "^-"),
                              ("nuts_s", "NUTS (nutpie), compilation included", "v-")):
        left.plot(n, [r[key] for r in rows], style, label=label)
    right.plot(n, [max(r["workers_peak_mb"]) for r in rows], "o-", label="largest worker peak")
    right.plot(n, [r["client_peak_mb"] for r in rows], "s-", label="client peak")
    right.axhline(settings["memory_limit_gb"] * 1000**3 / 1024**2, color="tab:red", lw=1, label="worker memory limit")
    right.plot(n, n * 10 * 8 / 1024**2, "k:", label="size of the data")
    for axis, label in ((left, "wall time (s)"), (right, "memory (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("N (rows), 10 columns of Parquet")
        axis.set_ylabel(label)
        axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)  # below: no line hidden
    figure.tight_layout()
    return figure


def figures(result):
    settings = result["summary"]["settings"]
    return {"cluster": (plot_cluster(result["summary"]["rows"], settings),
                        f"Left: times against N on a {settings['workers']}-worker local cluster; the build should "
                        "follow the plain pass, the fits should stay flat. Right: peak memories against N, with each "
                        "worker's limit and the size of the data.")}


def tables(result):
    rows = result["summary"]["rows"]
    columns = ["N", "plain pass (s)", "build (s)", "build / pass", "fit_map (s)", "exact (s)", "NUTS (s)",
               "worker peaks (MB)", "client peak (MB)"]
    body = [[f"{r['n']:.0e}", r["plain_pass_s"], r["build_s"], r["build_s"] / r["plain_pass_s"], r["map_s"],
             r["exact_s"], r["nuts_s"], ", ".join(f"{m:.0f}" for m in r["workers_peak_mb"]), r["client_peak_mb"]]
            for r in rows]
    return [table("Times and peak memories per N (each N in a fresh client process with a fresh cluster)", columns,
                  body)]


def text(result):
    rows = result["summary"]["rows"]
    large = rows[-1]
    return (f"At N = {large['n']:.0e} rows the model's build reads the Parquet files in "
            f"{large['build_s']:.1f} s against {large['plain_pass_s']:.1f} s for one plain pass "
            f"({large['build_s'] / large['plain_pass_s']:.2f}x: the build reads the files once, and in every partition "
            "checks the values, forms the conditioned design and its QR factor; the factors are combined pairwise on "
            "the workers). After that the fits see p x p arrays: "
            f"fit_map {large['map_s']:.3f} s, exact_posterior {large['exact_s']:.3f} s, NUTS {large['nuts_s']:.1f} s "
            "(compilation included), as at the smallest N.")


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
