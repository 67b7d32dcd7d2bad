"""Run the analyses into one results folder and assemble results/index.html and results/summary.json.

    python -m analyses [--quick | --full] [--seed N] [--out DIR] [--only NAME[,NAME]] [--allow-unconverged]
    python -m analyses --data FILE.csv --x COL[,COL] --t COL [--quick] [--seed N] [--out DIR]
    python -m analyses --list

The analyses run in parallel, one per core (a pool of worker processes, the longest started first); each writes
only its own folder, and the index is assembled in this process as each one finishes. With ``--data`` it runs the
core analyses on the user's file (the analysis ``your_data``) into the same report. Progress: a line when an
analysis starts and when it ends, with its wall time, the analyses' own lines, and while they compute a line at
least every 10 seconds naming what is still running.

Crash-safe: the analyses write into a staging folder inside ``--out``; only a finished analysis replaces its
previous results, so a run killed mid-way (Ctrl-C, SIGKILL) leaves the previous results readable and whole, and
the next run clears the leftovers. Exits with status 1 when an MCMC run fails its convergence gates (R-hat <= 1.01,
bulk and tail ESS >= 400, no divergences) or when one of the analyses' checks fails, unless --allow-unconverged is
given; the failure is in summary.json and shown in red in the report.
"""

import ast
import importlib.util
import multiprocessing
import os
import shutil
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .data import load_csv
from .report import ANALYSES, BENCHMARKS, DATA_ANALYSIS, build_index, failed_checks, parse_args, plain, unconverged
from .runner import refuse_data, run_named, stop_with_parent

STAGING_PREFIX = ".staging-"
HEARTBEAT_SECONDS = 10
# The order in which a parallel run starts the analyses: the longest first, so that both cores stay busy to the end.
# Wall seconds of each in a run of its kind with empty caches, 2 analyses at a time on this 2-core machine, on a
# middling hour (the default run: a `make run` of 326 s; --quick: calibration alone with its 200 data sets, the others
# from a `python -m analyses --quick` of 164 s). Only the order matters: an analysis missing here starts first.
# --full runs scaling's benchmark (about half an hour): it starts first.
SECONDS = {
    "quick": {"calibration": 97, "loss_likelihood_table": 95, "map_vs_posterior": 74, "scaling": 37,
              "mse_is_gaussian_mle": 15, "model_selection": 7, "learned_sigma": 4, "predictive": 3,
              "priors_are_regularizers": 3},
    "default": {"calibration": 192, "scaling": 125, "map_vs_posterior": 123, "loss_likelihood_table": 98,
                "predictive": 41, "learned_sigma": 15, "mse_is_gaussian_mle": 11, "model_selection": 9,
                "priors_are_regularizers": 7},
}
SECONDS["full"] = {**SECONDS["default"], "scaling": 1800}


def longest_first(names, kind):
    """``names`` in the order a pool of workers should start them: by :data:`SECONDS` of the run's ``kind``
    ("quick", "default" or "full"), the longest first; names without a duration before all others (pytest does
    not run doctests of a ``__main__.py``: tests/test_analyses.py shows examples)."""
    seconds = SECONDS[kind]
    return sorted(names, key=lambda name: -seconds.get(name, float("inf")))


def _replace_folder(source, target):
    """Put the finished folder ``source`` in place of ``target`` (two renames; the old one is removed after)."""
    retired = target.with_name(f".retired-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, retired)
    os.replace(source, target)
    shutil.rmtree(retired, ignore_errors=True)


def _first_line(name):
    """What the analysis shows, in plain text: its docstring's first line without reST markup, read from its source
    file (``ast``), so that ``--list`` imports no analysis and with them no PyMC (7-8 s of imports on 2 cores)."""
    source = Path(importlib.util.find_spec(f"analyses.{name}").origin).read_text(encoding="utf-8")
    return plain(ast.get_docstring(ast.parse(source)).splitlines()[0])


def _heartbeat(name, stop):
    started = time.perf_counter()
    while not stop.wait(HEARTBEAT_SECONDS):
        print(f"  ... {time.perf_counter() - started:.0f} s: running {name}", flush=True)


def _run(names, options, staging, out, kind="default"):
    """Run ``names``, in parallel where there are several; move each finished one into ``out`` and rebuild the
    index. Returns the names that raised an error (their traceback printed)."""
    errors = []

    def finished(name, seconds):
        _replace_folder(staging / name, out / name)
        build_index(out)
        print(f"[{name}] done in {seconds:.1f} s", flush=True)

    if len(names) == 1:  # nothing to share the cores with: no pool, and PyMC's bars in a terminal
        print(f"[{names[0]}] running ...", flush=True)
        stop = threading.Event()
        if not sys.stderr.isatty():  # no bars in a log: a line every HEARTBEAT_SECONDS instead
            threading.Thread(target=_heartbeat, args=(names[0], stop), daemon=True).start()
        try:
            finished(names[0], run_named(names[0], options))
        finally:
            stop.set()
        return errors
    ordered = longest_first(names, kind)
    workers = min(len(names), os.cpu_count() or 1)
    # spawn, not fork: a worker must not inherit the threads of numba, BLAS or nutpie half-way through their work
    context = multiprocessing.get_context("spawn")

    def new_pool():
        return ProcessPoolExecutor(workers, mp_context=context, initializer=stop_with_parent,
                                   initargs=(os.getpid(),))

    pool = new_pool()
    started = time.perf_counter()
    waiting, futures = list(ordered), {}

    # two bars drawn by two processes on one terminal would garble each other: the heartbeat lines instead
    worker_options = options + ["--no-progressbar"]

    def submit():  # one analysis per free worker, so that what runs is what was submitted and is not done
        nonlocal pool
        name = waiting.pop(0)
        try:
            future = pool.submit(run_named, name, worker_options)
        except BrokenProcessPool:  # a worker died (e.g. a crash in compiled code): a new pool for the rest
            pool.shutdown(wait=False)
            pool = new_pool()
            future = pool.submit(run_named, name, worker_options)
        futures[future] = name
        return future

    # pending: the submitted analyses whose results have not been handled yet (done or not: one that finishes while
    # another's results are moved into place is handled at the next wait, never skipped)
    pending = {submit() for _ in range(workers)}
    print(f"running {len(names)} analyses, {workers} at a time: {', '.join(ordered)}", flush=True)
    while pending:
        done, _ = wait(pending, timeout=HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED)
        for future in done:
            pending.discard(future)
            name = futures[future]
            try:
                finished(name, future.result())
            except Exception:  # a bug in one analysis: the others go on, and the run exits with status 1
                errors.append(name)
                print(f"[{name}] FAILED with an error:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            if waiting:
                pending.add(submit())
        if pending and not done:
            running = sorted(futures[f] for f in pending)
            print(f"  ... {time.perf_counter() - started:.0f} s: running {', '.join(running)}"
                  + (f"; {len(waiting)} waiting" if waiting else ""), flush=True)
    pool.shutdown()
    return errors


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv, "Run the analyses of the suite into one results folder.", accepts_data=True)
    if args.list:
        for name in (*ANALYSES, DATA_ANALYSIS):
            print(f"{name:24s} {_first_line(name)}")
        for name in BENCHMARKS:
            print(f"{name:24s} {_first_line(name)} (make bench only: python -m analyses.{name} --full)")
        return
    names = (DATA_ANALYSIS,) if args.data else ANALYSES if args.only is None else tuple(args.only)
    if args.data:  # every cell read and checked now: a bad one is refused before the analysis imports PyMC
        try:
            load_csv(args.data, args.x, args.t)
        except (TypeError, ValueError) as error:
            refuse_data(args.data, error)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    for leftover in [*out.glob(f"{STAGING_PREFIX}*"), *out.glob(".retired-*")]:  # from a run that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    options = ["--seed", str(args.seed), "--out", str(staging), "--cache", str(args.cache)]
    options += ["--quick"] if args.quick else []
    options += ["--full"] if args.full else []
    options += ["--data", str(args.data), "--x", ",".join(args.x), "--t", args.t] if args.data else []
    options += ["--sigma", repr(args.sigma)] if args.sigma is not None else []
    options += ["--w-prior-sd", repr(args.w_prior_sd)] if args.w_prior_sd is not None else []
    try:
        errors = _run(names, options, staging, out, "quick" if args.quick else "full" if args.full else "default")
    except KeyboardInterrupt:
        # one line, no traceback; the workers see this process gone and stop (runner.stop_with_parent), and the
        # staging folder is cleared by the next run
        print("interrupted: the results of the analyses that finished are in place, the others are as before",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)  # not sys.exit: the pool's exit handler would wait for the running workers
    shutil.rmtree(staging, ignore_errors=True)
    print(f"report: {out / 'index.html'}")
    failed = [name for name in unconverged(out) if name in names]  # of this run; the report shows all
    if failed:
        print(f"NOT CONVERGED: MCMC runs of {', '.join(failed)} failed the convergence gates (see the report)",
              file=sys.stderr)
    wrong = [(name, claim, measured) for name, claim, measured in failed_checks(out) if name in names]
    for name, claim, measured in wrong:
        print(f"CHECK FAILED: [{name}] {claim}: {measured}", file=sys.stderr)
    if errors:
        print(f"ERROR: {', '.join(errors)} stopped with an error (above); their previous results are kept",
              file=sys.stderr)
        sys.exit(1)
    if (failed or wrong) and not args.allow_unconverged:
        sys.exit(1)


if __name__ == "__main__":
    main()
