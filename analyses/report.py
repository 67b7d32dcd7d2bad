"""Writing results: one folder per analysis, `summary.json` and `index.html` over all of them.

An analysis' ``main`` hands :func:`write_result` its figures and a JSON-able record
(title, paragraph, tables, key numbers); everything is written atomically (temporary file, then
rename), and the index is rebuilt from every ``<out>/<analysis>/result.json`` present.
"""

import argparse
import html
import json
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ANALYSES = ("mse_is_gaussian_mle", "learned_sigma", "priors_are_regularizers", "map_vs_posterior", "model_selection",
            "predictive")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results"


def parse_args(argv, description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small smoke run (used by the tests)")
    parser.add_argument("--seed", type=int, default=20211231, help="seed of every random draw (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder (default: results/ of the repository)")
    return parser.parse_args(argv)


def _atomic_write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with tempfile.NamedTemporaryFile(mode, dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(data)
        temporary = handle.name
    os.replace(temporary, path)


def _to_json(value):
    """Plain JSON types from numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_result(out, name, *, title, paragraph, figures, tables, summary):
    """Save ``figures`` ({file stem: (Figure, caption)}) as PNG and the record as result.json; rebuild the index."""
    import io

    import matplotlib.pyplot as plt

    folder = Path(out) / name
    figure_records = []
    for stem, (figure, caption) in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        _atomic_write(folder / f"{stem}.png", buffer.getvalue())
        figure_records.append({"file": f"{name}/{stem}.png", "caption": caption})
    record = {"name": name, "title": title, "paragraph": paragraph, "figures": figure_records, "tables": tables,
              "summary": summary}
    _atomic_write(folder / "result.json", json.dumps(record, indent=2, default=_to_json))
    build_index(out)
    return record


def table(caption, columns, rows):
    """A table record: ``rows`` are sequences of cells (numbers are formatted in the HTML only)."""
    return {"caption": caption, "columns": list(columns), "rows": [list(row) for row in rows]}


def _cell(value):
    if isinstance(value, float):
        return f"{value:.6g}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.3e}"
    return html.escape(str(value))


def build_index(out):
    """Assemble ``summary.json`` and ``index.html`` from the results present under ``out``."""
    out = Path(out)
    records = []
    for name in ANALYSES:
        path = out / name / "result.json"
        if path.exists():
            records.append(json.loads(path.read_text()))
    _atomic_write(out / "summary.json", json.dumps({r["name"]: r["summary"] for r in records}, indent=2))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Why regression uses the MSE</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}caption{text-align:left;font-weight:bold;padding:4px 0}img{max-width:100%}"
        "figure{margin:1em 0}figcaption{color:#444}</style></head><body>",
        "<h1>Why regression uses the MSE</h1>",
        "<p>A regression model outputs the mean of a Gaussian, t ~ Normal(y(x|w), sigma); maximizing that "
        "likelihood over w is minimizing the mean squared error. Each section below is one analysis, computed "
        "by <code>python -m analyses</code>.</p><ul>",
    ]
    parts += [f"<li><a href='#{r['name']}'>{html.escape(r['title'])}</a></li>" for r in records]
    parts.append("</ul>")
    for record in records:
        parts.append(f"<h2 id='{record['name']}'>{html.escape(record['title'])}</h2>")
        parts.append(f"<p>{html.escape(record['paragraph'])}</p>")
        for entry in record["tables"]:
            parts.append(f"<table><caption>{html.escape(entry['caption'])}</caption><tr>")
            parts += [f"<th>{html.escape(str(c))}</th>" for c in entry["columns"]]
            parts.append("</tr>")
            for row in entry["rows"]:
                parts.append("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
            parts.append("</table>")
        for figure in record["figures"]:
            parts.append(f"<figure><img src='{figure['file']}' alt='{html.escape(figure['caption'])}'>"
                         f"<figcaption>{html.escape(figure['caption'])}</figcaption></figure>")
    parts.append("</body></html>")
    _atomic_write(out / "index.html", "\n".join(parts))
