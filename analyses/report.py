"""Writing results: one folder per analysis, `summary.json` and `index.html` over all of them.

An analysis' ``main`` hands :func:`write_result` its figures and a JSON-able record
(title, paragraph, tables, key numbers); everything is written atomically (temporary file, then
rename), and the index is rebuilt from every ``<out>/<analysis>/result.json`` present.
"""

import argparse
import csv
import hashlib
import html
import importlib.metadata
import json
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

ANALYSES = ("mse_is_gaussian_mle", "learned_sigma", "priors_are_regularizers", "loss_likelihood_table",
            "map_vs_posterior", "model_selection", "predictive", "calibration", "scaling")
DATA_ANALYSIS = "your_data"  # the core analyses on a user's CSV (--data); not part of a default run
BENCHMARKS = ("cluster",)  # run by make bench only; their sections appear when their results are present
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"


def plain(text):
    r"""A docstring line without its reST markup, for a terminal: roles (``:math:`x```) and literals (````x````)
    become their text, and the few LaTeX commands the first lines use become words (``\hat\sigma`` sigma-hat)."""
    text = re.sub(r":\w+:`([^`]*)`", r"\1", text).replace("``", "")
    for command, word in ((r"\hat\sigma", "sigma-hat"), (r"\sigma", "sigma"), (r"\mathrm", "")):
        text = text.replace(command, word)
    return re.sub(r"\{([^{}]*)\}", r"\1", text)


def parse_args(argv, description, *, accepts_data=False, prog="python -m analyses"):
    """The options shared by ``python -m analyses`` and every analysis run alone (bad ones exit with status 2).

    ``--data file.csv --x COL[,COL] --t COL`` is read only where ``accepts_data`` (``python -m analyses`` and
    ``analyses.your_data``); the columns are checked against the file's header here, before any computation. So are
    ``--sigma S`` and ``--w-prior-sd S``, read only with ``--data``: finite numbers > 0.
    """
    parser = argparse.ArgumentParser(prog=prog, description=plain(description))
    parser.add_argument("--list", action="store_true", help="list the analyses with what each shows, and exit")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (used by the tests)")
    parser.add_argument("--seed", type=int, default=20211231, help="seed of every random draw (default: %(default)s)")
    parser.add_argument("--out", type=_folder, default=DEFAULT_OUT,
                        help="results folder (default: results/ of the repository)")
    parser.add_argument("--full", action="store_true", help="scaling: add N = 1e7, from a memory-mapped file")
    parser.add_argument("--only", type=lambda text: text.split(","), default=None, metavar="NAME[,NAME]",
                        help="python -m analyses: run only these analyses")
    parser.add_argument("--data", type=Path, default=None, metavar="FILE.csv",
                        help="run the core analyses (analysis your_data) on your own CSV file; needs --x and --t")
    parser.add_argument("--x", type=lambda text: text.split(","), default=None, metavar="COL[,COL]",
                        help="with --data: the input columns")
    parser.add_argument("--t", default=None, metavar="COL", help="with --data: the target column")
    parser.add_argument("--sigma", type=_positive_number, default=None, metavar="S",
                        help="with --data: fix the noise sd at S (> 0), e.g. the measurement error you know "
                             "(default: learned, flat prior)")
    parser.add_argument("--w-prior-sd", type=_positive_number, default=None, metavar="S",
                        help="with --data: a Normal(0, S) prior (S > 0) on every weight, the intercept included; "
                             "the MAP is then ridge regression (default: flat prior)")
    parser.add_argument("--cache", type=_folder, default=None,
                        help="folder of cached results (default: OUT/.cache); delete it to recompute everything")
    parser.add_argument("--allow-unconverged", action="store_true",
                        help="exit 0 even when an MCMC run fails its convergence gates or a check fails (both are "
                             "still reported)")
    parser.add_argument("--no-progressbar", action="store_true", help=argparse.SUPPRESS)  # set by a parallel run
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    unknown = sorted(set(args.only or ()) - set(ANALYSES))
    if unknown:
        parser.error(f"--only: unknown analysis {', '.join(unknown)}; choose from {', '.join(ANALYSES)}")
    for option, folder in (("--out", args.out), ("--cache", args.cache)):
        problem = folder is not None and not args.list and _unwritable(folder)
        if problem:
            parser.error(f"{option} {folder}: {problem}")
    _check_data_options(parser, args, accepts_data)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    # PyMC's progress bars in a terminal; quiet when captured (tests, logs)
    args.progressbar = sys.stderr.isatty() and not args.no_progressbar
    args.cache = args.out / ".cache" if args.cache is None else args.cache
    return args


def _folder(text):
    """An output folder as typed (argparse's type): a path, never the empty string (which would mean ".")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a folder, got an empty name")
    return Path(text)


def _unwritable(folder):
    """Why ``folder`` cannot hold results (it, or the nearest part of its path that exists, is a file or is not
    writable), or "" when it can: checked before any work starts."""
    if folder.exists() and not folder.is_dir():
        return "must be a folder, but it is a file"
    existing = next(path for path in (folder, *folder.absolute().parents) if path.exists())
    if not existing.is_dir():
        return f"cannot be made: {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written: {existing} is not writable"
    return ""


def _positive_number(text):
    """A value of ``--sigma`` or ``--w-prior-sd`` as typed (argparse's type): a finite number > 0, nothing coerced
    (no underscores, which ``float`` would drop)."""
    try:
        value = float(text) if "_" not in text else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"needs a number > 0, got {text!r}")
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"needs a finite number > 0, got {text!r}")
    return value


def _check_data_options(parser, args, accepts_data):
    if args.data is None:
        if args.x is not None or args.t is not None:
            parser.error("--x and --t go with --data FILE.csv")
        model_options = [name for name, value in (("--sigma", args.sigma), ("--w-prior-sd", args.w_prior_sd))
                         if value is not None]
        if model_options:
            verb, pronoun = ("goes", "it sets") if len(model_options) == 1 else ("go", "they set")
            parser.error(f"{' and '.join(model_options)} {verb} with --data FILE.csv: {pronoun} the model of your "
                         "data")
        return
    if not accepts_data:
        parser.error("--data is read by `python -m analyses` and `python -m analyses.your_data` only")
    if args.only is not None:
        parser.error("--data runs the analysis your_data on your file; it does not combine with --only")
    if args.x is None or args.t is None:
        parser.error("--data needs --x COL[,COL] (the inputs) and --t COL (the target)")
    if not args.data.is_file():
        parser.error(f"--data: no such file: {args.data}")
    import pandas as pd

    try:
        columns = list(pd.read_csv(args.data, nrows=0).columns)
    except (ValueError, UnicodeDecodeError) as error:
        parser.error(f"--data: {args.data} cannot be read as CSV ({error})")
    with open(args.data, newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])  # as written: pandas renames a repeated name ("a", "a.1")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        parser.error(f"--data: line 1 of {args.data} names more than one column {', '.join(map(repr, repeated))}; "
                     "give each column its own name")
    missing = [name for name in [*args.x, args.t] if name not in columns]
    if missing:
        parser.error(f"--x/--t: no column {', '.join(map(repr, missing))} in {args.data}; it has "
                     f"{', '.join(map(repr, columns))}")
    if args.t in args.x:
        parser.error(f"--t {args.t!r} is also among the inputs --x")
    if len(set(args.x)) != len(args.x):
        parser.error(f"--x names a column twice: {','.join(args.x)}")


def _code_digest(analysis_file):
    """Hash of the library, this module and the analysis' own source: an edit there invalidates its cached results."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in [*sorted(root.glob("models/**/*.py")), Path(__file__), Path(analysis_file)]:
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode()
                      + path.read_bytes())
    return digest.hexdigest()


def _cached(cache, label, config, compute, analysis_file, *, suffix, save, load, describe):
    """The one cache of the analyses: ``compute()``'s result stored under ``cache``, keyed on code and ``config``."""
    import time

    key = hashlib.sha256((_code_digest(analysis_file) + repr(sorted(config.items()))).encode()).hexdigest()[:20]
    path = Path(cache) / f"{label}-{key}{suffix}"
    if path.exists():
        try:
            result = load(path)
        except Exception as error:  # a truncated, emptied or overwritten file: whatever its reader
            # (h5py, netCDF4, xarray) raises; the file is computed again, as if it were missing
            print(f"  cache: {path.name} cannot be read ({type(error).__name__}); computing {label} again",
                  flush=True)
            path.unlink(missing_ok=True)
        else:
            print(f"  cached: {label} (code and settings unchanged; {path.name})", flush=True)
            return result
    start = time.perf_counter()
    result = compute()
    describe(result, time.perf_counter() - start)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp{os.getpid()}")
    save(result, temporary)
    os.replace(temporary, path)
    return result


def cached_idata(cache, label, config, compute, analysis_file):
    """``compute()`` -> an ``xarray.DataTree`` (ArviZ 1), stored as netCDF under ``cache`` keyed on the code and
    ``config``.

    The code is the library, this module and ``analysis_file`` (the calling analysis' ``__file__``).

    A rerun with unchanged code and configuration (seeds included) loads the file instead and says so. The
    wall time of the original computation travels with it (``attrs["compute_seconds"]``).
    """
    import arviz as az

    def describe(idata, seconds):
        idata.attrs["compute_seconds"] = seconds

    return _cached(cache, label, config, compute, analysis_file, suffix=".nc", describe=describe,
                   save=lambda idata, path: idata.to_netcdf(str(path)),
                   load=lambda path: _complete(az.from_netcdf(path).load()))  # read now: a damaged file fails here


def _complete(stored):
    """``stored`` (read from the cache) if it carries the ``compute_seconds`` every cached result is written with;
    else ValueError (e.g. a file overwritten by a valid but empty netCDF file)."""
    if "compute_seconds" not in stored.attrs:
        raise ValueError("not a result written by the cache (no compute_seconds)")
    return stored


def _flatten(tree, path=()):
    if isinstance(tree, dict):
        for key, value in tree.items():
            if not isinstance(key, str):
                raise TypeError(f"cached_arrays: keys must be strings, got {key!r} at {path}")
            yield from _flatten(value, (*path, key))
    else:
        yield path, np.asarray(tree)


def _unflatten(leaves):
    tree = {}
    for path, value in leaves:
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value.item() if value.ndim == 0 else value
    return tree


def cached_arrays(cache, label, config, compute, analysis_file):
    """``compute()`` -> a nested dict of arrays and numbers (string keys), cached as netCDF like :func:`cached_idata`.

    For analyses whose many fits are summarized by arrays (ranks, diagnostics) rather than one DataTree.
    Each leaf becomes a variable of an ``xarray.Dataset`` with its key path in its attributes; scalars come back as
    Python numbers, arrays as numpy arrays of the same dtype. The original wall time is under ``"compute_seconds"``.
    """
    import xarray as xr

    def save(tree, path):
        variables = {}
        for i, (keys, value) in enumerate(_flatten(tree)):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"cached_arrays: {'/'.join(keys)} is not numeric ({value.dtype})")
            dims = [f"v{i}_{axis}" for axis in range(value.ndim)]
            variables[f"v{i}"] = xr.Variable(dims, value, attrs={"path": json.dumps(list(keys))})
        xr.Dataset(variables, attrs={"compute_seconds": tree["compute_seconds"]}).to_netcdf(path)

    def load(path):
        with xr.open_dataset(path) as dataset:
            _complete(dataset)
            return _unflatten((tuple(json.loads(v.attrs["path"])), v.values) for v in dataset.data_vars.values())

    def describe(tree, seconds):
        tree["compute_seconds"] = seconds

    return _cached(cache, label, config, compute, analysis_file, suffix=".nc", describe=describe, save=save, load=load)


def provenance(args):
    """What produced a result: package versions, seed, options and the command line."""
    versions = {name: importlib.metadata.version(name) for name in
                ("pymc", "pytensor", "numba", "pymc-extras", "arviz", "arviz-base", "arviz-stats", "arviz-plots",
                 "nutpie", "numpy", "scipy", "xarray", "matplotlib", "scikit-learn")}
    return {"python": platform.python_version(), "packages": versions, "seed": args.seed, "quick": args.quick,
            "options": args.argv, "command_line": [sys.executable, *sys.argv]}


def _atomic_write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with tempfile.NamedTemporaryFile(mode, dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(data)
        temporary = handle.name
    os.chmod(temporary, 0o666 & ~_umask())  # tempfile creates 0600; a result file gets the mode open() would give
    os.replace(temporary, path)


def _umask():
    """The process' umask (reading it means setting it: set it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _to_json(value):
    """Plain JSON types from numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def check(claim, measured, ok):
    """One verdict of the report: a ``claim``, what this run ``measured`` (text), and whether the claim holds.

    ``ok`` is computed by the analysis from its own numbers against the tolerance it states in ``measured``;
    ``None`` means not measured in this run (the text says why).
    """
    return {"claim": claim, "measured": measured, "ok": None if ok is None else bool(ok)}


def write_result(out, name, *, title, claim, paragraph, figures, tables, summary, checks, args=None,
                 convergence=None):
    """Save ``figures`` ({file stem: (Figure, caption)}) as PNG and the record as result.json; rebuild the index.

    ``claim`` is the analysis' thesis in one sentence and ``checks`` its verdicts (:func:`check`), shown first in
    its section of the report; a failed check is shown in red and makes ``python -m analyses`` exit with status 1.

    ``convergence`` lists the gate reports of the analysis' MCMC runs (``models.convergence`` plus a ``run``
    label); they go to ``summary.json`` and the report, where a failure shows in red. ``summary`` must hold only
    numbers that the seed determines (no timings), so that two runs give byte-identical ``summary.json``.
    """
    import io

    import matplotlib.pyplot as plt

    folder = Path(out) / name
    figure_records = []
    for stem, (figure, caption) in figures.items():
        buffer = io.BytesIO()
        # no timestamp in the PNG metadata: the same run gives the same bytes
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(figure)
        _atomic_write(folder / f"{stem}.png", buffer.getvalue())
        figure_records.append({"file": f"{name}/{stem}.png", "caption": caption})
    convergence = list(convergence or [])
    summary = dict(summary, convergence_ok=all(c["ok"] for c in convergence), convergence=convergence)
    record = {"name": name, "title": title, "claim": claim, "checks": list(checks), "paragraph": paragraph,
              "figures": figure_records, "tables": tables, "summary": summary,
              "provenance": provenance(args) if args is not None else None}
    _atomic_write(folder / "result.json", json.dumps(record, indent=2, default=_to_json))
    build_index(out)
    return record


def _records(out):
    records = []
    for name in (*ANALYSES, DATA_ANALYSIS, *BENCHMARKS):  # sections in this order, when present
        path = Path(out) / name / "result.json"
        if path.exists():
            records.append(json.loads(path.read_text()))
    return records


def unconverged(out):
    """Names of the analyses under ``out`` whose MCMC runs failed a convergence gate."""
    return [r["name"] for r in _records(out) if not r["summary"].get("convergence_ok", True)]


def failed_checks(out):
    """``(analysis, claim, measured)`` of every check under ``out`` that failed."""
    return [(r["name"], c["claim"], c["measured"]) for r in _records(out) for c in r.get("checks", [])
            if c["ok"] is False]


def table(caption, columns, rows):
    """A table record: ``rows`` are sequences of cells (numbers are formatted in the HTML only)."""
    return {"caption": caption, "columns": list(columns), "rows": [list(row) for row in rows]}


def _cell(value):
    """A table cell: numbers right-aligned (formatted here), text left-aligned."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"<td class='text'>{html.escape(str(value))}</td>"
    if isinstance(value, float):
        value = f"{value:.6g}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.3e}"
    return f"<td>{value}</td>"


_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}"
    "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}"
    "th{font-size:.9em;text-align:left;overflow-wrap:anywhere}td.text{text-align:left;overflow-wrap:anywhere;min-width:7ch}"
    "caption{text-align:left;font-weight:bold;padding:4px 0}img{max-width:100%}figure{margin:1em 0}"
    "figcaption{color:#444}.gate{padding:6px 10px;margin:.5em 0}.claim{font-size:1.1em;font-style:italic}"
    ".fail{background:#fde2e2;color:#a00000;border:1px solid #a00000}.pass{color:#1a6b1a}.open{color:#666}"
    "ul.checks{list-style:none;padding-left:0}ul.checks li{margin:.2em 0}table.toc td,table.toc th{text-align:left}"
    ".run{background:#eef3fb;border:1px solid #9ab;padding:6px 10px}"
)
_MARK = {True: ("pass", "ok"), False: ("fail", "FAILED"), None: ("open", "not measured")}


def _status(record):
    """Text and CSS class of an analysis' line in the table of contents: measured checks only count as evidence.

    Green only when every check was measured and holds and the MCMC gates pass; red when a check fails or a gate
    does; grey otherwise (some checks not measured in this run, e.g. the benchmark's sizes in a quick run).
    """
    checks = record.get("checks", [])
    failed = sum(c["ok"] is False for c in checks)
    passed = sum(c["ok"] is True for c in checks)
    unmeasured = len(checks) - failed - passed
    gates_ok = record["summary"].get("convergence_ok", True)
    quick = (record.get("provenance") or {}).get("quick")
    parts = [f"{passed} of {len(checks)} checks hold"]
    if failed:
        parts.append(f"{failed} FAILED")
    if unmeasured:
        parts.append(f"{unmeasured} not measured" + (" in --quick" if quick else " in this run"))
    text = ", ".join(parts) + ("" if gates_ok else "; NOT CONVERGED")
    css = "fail" if failed or not gates_ok else "open" if unmeasured or not checks else "pass"
    return text, css


def _run_description(records):
    """What produced the page: quick, default or full run, and the seed (per analysis where they differ)."""
    def kind(provenance):
        if not provenance:
            return "unknown run"
        options = provenance.get("options") or []
        size = "quick run (--quick)" if provenance.get("quick") else "full run (--full)" if "--full" in options \
            else "default run"
        return f"{size}, seed {provenance.get('seed')}"

    kinds = {}
    for record in records:
        kinds.setdefault(kind(record.get("provenance")), []).append(record["name"])
    if len(kinds) == 1:
        return f"This page: a {next(iter(kinds))}."
    return "This page mixes runs: " + "; ".join(f"{k}: {', '.join(names)}" for k, names in kinds.items()) + "."


def build_index(out):
    """Assemble ``summary.json``, ``provenance.json`` and ``index.html`` from the results present under ``out``.

    The page is self-contained apart from its figures, which sit beside it (``<analysis>/<figure>.png``): no
    script, no network. It opens with a table of contents that shows each analysis' verdict.
    """
    out = Path(out)
    records = _records(out)
    _atomic_write(out / "summary.json", json.dumps({r["name"]: r["summary"] for r in records}, indent=2))
    _atomic_write(out / "provenance.json", json.dumps({r["name"]: r.get("provenance") for r in records}, indent=2))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Why regression uses the MSE</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Why regression uses the MSE</h1>",
        "<p>A regression model outputs the mean of a Gaussian, t ~ Normal(y(x|w), sigma); maximizing that "
        "likelihood over w is minimizing the mean squared error. Each section below is one analysis, computed "
        "by <code>python -m analyses</code>: its claim, the checks of that claim computed in this run, then its "
        "tables and figures.</p>",
        f"<p class='run'>{html.escape(_run_description(records))}</p>",
        "<table class='toc'><caption>Contents</caption><tr><th>analysis</th><th>claim</th><th>verdict</th></tr>",
    ]
    for record in records:
        text, css = _status(record)
        parts.append(f"<tr><td><a href='#{record['name']}'>{html.escape(record['title'])}</a></td>"
                     f"<td>{html.escape(record.get('claim', ''))}</td><td class='{css}'>{html.escape(text)}</td></tr>")
    parts.append("</table>")
    for record in records:
        parts.append(f"<h2 id='{record['name']}'>{html.escape(record['title'])}</h2>")
        parts.append(f"<p class='claim'>{html.escape(record.get('claim', ''))}</p><ul class='checks'>")
        for entry in record.get("checks", []):
            css, word = _MARK[entry["ok"]]
            parts.append(f"<li class='{css}'>{html.escape(entry['claim'])}: {html.escape(entry['measured'])}, "
                         f"<b>{word}</b></li>")
        parts.append("</ul>")
        parts.append(f"<p>{html.escape(record['paragraph'])}</p>")
        for gate in record["summary"].get("convergence", []):
            if gate["ok"]:
                parts.append(f"<p class='gate pass'>Converged: {html.escape(gate['run'])} (R-hat "
                             f"{gate['max_r_hat']:.3f}, ESS bulk/tail {gate['min_ess_bulk']:.0f}/"
                             f"{gate['min_ess_tail']:.0f}, {gate['divergences']} divergences)</p>")
            else:
                parts.append(f"<p class='gate fail'>NOT CONVERGED: {html.escape(gate['run'])}: "
                             f"{html.escape('; '.join(gate['problems']))}. Do not trust this run's numbers.</p>")
        for entry in record["tables"]:
            parts.append(f"<table><caption>{html.escape(entry['caption'])}</caption><tr>")
            parts += [f"<th>{html.escape(str(c))}</th>" for c in entry["columns"]]
            parts.append("</tr>")
            for row in entry["rows"]:
                parts.append("<tr>" + "".join(_cell(v) for v in row) + "</tr>")
            parts.append("</table>")
        for figure in record["figures"]:
            parts.append(f"<figure><img src='{figure['file']}' alt='{html.escape(figure['caption'])}'>"
                         f"<figcaption>{html.escape(figure['caption'])}</figcaption></figure>")
    parts.append("</body></html>")
    _atomic_write(out / "index.html", "\n".join(parts))
