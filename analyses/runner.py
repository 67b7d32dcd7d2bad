"""Running one analysis: ``compute``, then ``checks``, ``figures``, ``tables`` and ``text`` of its result, written.

Every analysis is a module with the same parts (``analyses/learned_sigma.py`` is the shortest example):

``NAME``, ``TITLE``, ``CLAIM``
    Its folder in the results, its heading (a result's ``"title"``, where it has one, replaces it: e.g. with the
    name of the user's file), its thesis in one sentence.
``config(quick=False, full=False) -> dict``
    The sizes of the run (draws, replications, ...); ``quick`` is the smoke run of the tests.
``compute(config, rng, cache, progressbar=False) -> dict``
    All the computation, from the seeded ``rng`` (and fits reused through ``cache``, a folder; ``progressbar``:
    PyMC's bars on its long runs, in a terminal): a result holding
    ``"summary"`` (the numbers the seed fixes, written to ``summary.json``), optionally ``"convergence"`` (gate
    reports of its MCMC runs), and whatever its figures and text need. No plotting, no prose.
``checks(result) -> [check]``
    The claims with their tolerances, in one place (:func:`analyses.report.check`); the tests call it too.
``figures(result) -> {stem: (Figure, caption)}``, ``tables(result) -> [table]``, ``text(result) -> str``
    Plots, tables and the paragraph, from the result only.

A module runs alone as ``python -m analyses.<name>`` through :func:`main`.
"""

import importlib
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .report import DATA_ANALYSIS, parse_args, write_result


def run(analysis, args):
    """Compute ``analysis`` (a module of the shape above) with the parsed options ``args`` and write its results.

    Returns the record written to ``<args.out>/<NAME>/result.json``.
    """
    options = ({"data": args.data, "x": args.x, "t": args.t, "sigma": args.sigma, "w_prior_sd": args.w_prior_sd}
               if args.data else {})
    setting = analysis.config(quick=args.quick, full=args.full, **options)
    result = analysis.compute(setting, np.random.default_rng(args.seed), Path(args.cache),
                              progressbar=args.progressbar)
    return write_result(args.out, analysis.NAME, args=args, title=result.get("title", analysis.TITLE),
                        claim=analysis.CLAIM,
                        paragraph=analysis.text(result), figures=analysis.figures(result),
                        tables=analysis.tables(result), summary=result["summary"], checks=analysis.checks(result),
                        convergence=result.get("convergence"))


def main(analysis, argv=None, *, accepts_data=False):
    """``python -m analyses.<name>``: parse the options, run, and say where the results went."""
    args = parse_args(argv, analysis.__doc__.splitlines()[0], accepts_data=accepts_data,
                      prog=f"python -m analyses.{analysis.NAME}")
    record = run(analysis, args)
    print(f"[{analysis.NAME}] results in {args.out / analysis.NAME}; report: {args.out / 'index.html'}", flush=True)
    return record


def run_named(name, argv):
    """Run the analysis ``name`` with the command-line options ``argv``; its wall time in seconds (what
    ``python -m analyses`` hands each worker process)."""
    module = importlib.import_module(f"analyses.{name}")
    start = time.perf_counter()
    run(module, parse_args(argv, module.__doc__.splitlines()[0], accepts_data=name == DATA_ANALYSIS))
    return time.perf_counter() - start


def refuse_data(path, error, advice=""):
    """End the run with status 2: ``error: --data FILE: <the reason>`` (the reader's or the library's), then the
    command-line advice (``advice``, a line) where there is one."""
    print(f"error: --data {path}: {error}", file=sys.stderr)
    if advice:
        print(advice, file=sys.stderr)
    sys.exit(2)


def stop_with_parent(parent):
    """In a worker process: exit when the process that started it (pid ``parent``) is gone, killed even by SIGKILL,
    instead of computing on for nobody."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
