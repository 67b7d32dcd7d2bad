"""Run the analyses into one results folder and assemble results/index.html and results/summary.json.

    python -m analyses [--quick | --full] [--seed N] [--out DIR] [--only NAME[,NAME]] [--allow-unconverged]
    python -m analyses --data FILE.csv --x COL[,COL] --t COL [--quick] [--seed N] [--out DIR]
    python -m analyses --list

With ``--data`` it runs the core analyses on the user's file (the analysis ``your_data``) into the same report.
Progress: one line per analysis when it starts and when it ends, with its wall time, and the analyses' own lines.

Crash-safe: the analyses write into a staging folder inside ``--out``; only a finished analysis replaces its
previous results, so a run killed mid-way (Ctrl-C, SIGKILL) leaves the previous results readable and whole, and
the next run clears the leftovers. Exits with status 1 when an MCMC run fails its convergence gates (R-hat <= 1.01,
bulk and tail ESS >= 400, no divergences) or when one of the analyses' checks fails, unless --allow-unconverged is
given; the failure is in summary.json and shown in red in the report.
"""

import importlib
import os
import shutil
import sys
import time

from .report import ANALYSES, DATA_ANALYSIS, build_index, failed_checks, parse_args, unconverged

STAGING_PREFIX = ".staging-"


def _replace_folder(source, target):
    """Put the finished folder ``source`` in place of ``target`` (two renames; the old one is removed after)."""
    retired = target.with_name(f".retired-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, retired)
    os.replace(source, target)
    shutil.rmtree(retired, ignore_errors=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv, "Run the analyses of the suite into one results folder.", accepts_data=True)
    if args.list:
        for name in (*ANALYSES, DATA_ANALYSIS):
            print(f"{name:24s} {importlib.import_module(f'analyses.{name}').__doc__.splitlines()[0]}")
        return
    names = (DATA_ANALYSIS,) if args.data else ANALYSES if args.only is None else args.only
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    for leftover in [*out.glob(f"{STAGING_PREFIX}*"), *out.glob(".retired-*")]:  # from a run that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    options = ["--seed", str(args.seed), "--out", str(staging), "--cache", str(args.cache)]
    options += ["--quick"] if args.quick else []
    options += ["--full"] if args.full else []
    options += ["--data", str(args.data), "--x", ",".join(args.x), "--t", args.t] if args.data else []
    for name in names:
        start = time.perf_counter()
        print(f"[{name}] running ...", flush=True)
        importlib.import_module(f"analyses.{name}").main(options)
        _replace_folder(staging / name, out / name)
        build_index(out)
        print(f"[{name}] done in {time.perf_counter() - start:.1f} s", flush=True)
    shutil.rmtree(staging, ignore_errors=True)
    print(f"report: {out / 'index.html'}")
    failed = [name for name in unconverged(out) if name in names]  # of this run; the report shows all
    if failed:
        print(f"NOT CONVERGED: MCMC runs of {', '.join(failed)} failed the convergence gates (see the report)",
              file=sys.stderr)
    wrong = [(name, claim, measured) for name, claim, measured in failed_checks(out) if name in names]
    for name, claim, measured in wrong:
        print(f"CHECK FAILED: [{name}] {claim}: {measured}", file=sys.stderr)
    if (failed or wrong) and not args.allow_unconverged:
        sys.exit(1)


if __name__ == "__main__":
    main()
