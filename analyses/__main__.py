"""Run every analysis into one results folder and assemble results/index.html and results/summary.json.

    python -m analyses [--quick] [--seed N] [--out DIR]
"""

import importlib
import sys
import time

from .report import ANALYSES, build_index, parse_args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv, "Run every analysis of the suite into one results folder.")
    for name in ANALYSES:
        start = time.perf_counter()
        print(f"[{name}] running ...", flush=True)
        importlib.import_module(f"analyses.{name}").main(argv)
        print(f"[{name}] done in {time.perf_counter() - start:.1f} s", flush=True)
    build_index(args.out)
    print(f"report: {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
