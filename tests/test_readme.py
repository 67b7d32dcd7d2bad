"""README.md stays true: its figures and the notebooks it names exist, and the options it lists are the CLI's."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analyses.report import parse_args

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_figures_and_notebooks_named_in_the_readme_exist():
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert figures and all((ROOT / path).is_file() for path in figures), figures
    named = set(re.findall(r"`(\d\d_\w+\.py)`", README))
    assert named == {path.name for path in (ROOT / "notebooks").glob("*.py")}


def test_the_options_the_readme_lists_are_the_command_lines():
    listed = {option for span in re.findall(r"`([^`]+)`", README)
              for option in re.findall(r"(?<![\w-])--[a-z-]+", span)}
    hidden = ("argv", "progressbar", "no_progressbar")  # set by the program, not typed by a user
    parser_options = {option for option in vars(parse_args([], "x")) if option not in hidden}
    assert {option[2:].replace("-", "_") for option in listed} == parser_options


def python_blocks():
    """The README's ```python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.slow
@pytest.mark.early
def test_the_readme_snippets_run_with_deprecations_as_errors(tmp_path):
    """The model-building and posterior snippets run as written, in one session, on PyMC 6 / ArviZ 1.

    The data-of-any-size snippet is left out: it loads the user's x.npy / t.npy and starts a Dask cluster (its
    path is tested in tests/test_statistics.py).
    """
    blocks = [block for block in python_blocks() if "np.load(" not in block and "__main__" not in block]
    assert len(blocks) == 2 and "sample_posterior" in blocks[1]
    script = tmp_path / "readme.py"
    script.write_text("import matplotlib\nmatplotlib.use('Agg')\n" + "\n".join(blocks))
    # as pyproject.toml's filterwarnings, in -W's form (a literal message prefix, not a regex): PyMC's own import
    warnings_as_errors = ["-W", "error::DeprecationWarning", "-W", "error::FutureWarning",
                          "-W", "ignore:Importing 'IfElse' from 'pytensor.ifelse':DeprecationWarning",
                          "-W", "ignore:Importing 'ifelse' from 'pytensor.ifelse':DeprecationWarning"]
    run = subprocess.run([sys.executable, *warnings_as_errors, str(script)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.early
def test_the_readme_dask_script_runs_verbatim_with_the_data_read_on_the_workers(tmp_path):
    """The README's cluster script, as written, in a folder holding data/ (Parquet files with the README's columns):
    it prints the posterior means of w, which equal least squares' (a flat prior) within their Monte Carlo error;
    and the task graph of the frame it reads holds file names, not data."""
    import pickle

    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    (script_text,) = [block for block in python_blocks() if "__main__" in block]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6000, 3))
    t = 1.0 + x @ [0.5, -1.0, 2.0] + 0.1 * rng.normal(size=6000)
    (tmp_path / "data").mkdir()
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3"]).assign(t=t)
    for k, rows in enumerate(np.array_split(np.arange(6000), 3)):
        frame.iloc[rows].to_parquet(tmp_path / "data" / f"part-{k}.parquet")
    graph_bytes = len(pickle.dumps(dict(dd.read_parquet(tmp_path / "data").__dask_graph__())))
    assert graph_bytes < x.nbytes / 20, graph_bytes  # file names, not the 144 kB of rows
    script = tmp_path / "cluster.py"
    script.write_text(script_text)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    printed = np.array(run.stdout.strip().strip("[]").split(), dtype=float)
    expected = np.linalg.lstsq(np.column_stack([np.ones(len(t)), x]), t, rcond=None)[0]
    # the posterior sd of each weight is ~0.1 / sqrt(6000) = 0.0013, the Monte Carlo error of 2 x 1000 draws' mean
    # ~4e-5: 3e-4 is over 7 Monte Carlo errors and a quarter of a posterior sd
    np.testing.assert_allclose(printed, expected, atol=3e-4)
