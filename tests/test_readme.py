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


def test_the_readme_dask_script_runs_verbatim_with_the_data_read_on_the_workers(tmp_path):
    """The README's cluster script, as written, in a folder holding x_stack/ and t_stack/ made as the README makes
    them: it prints the least-squares weights; and the task graph of its arrays holds file names, not data."""
    import pickle

    import dask.array as da
    import numpy as np

    (script_text,) = [block for block in python_blocks() if "__main__" in block]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6000, 3))
    t = 1.0 + x @ [0.5, -1.0, 2.0] + 0.1 * rng.normal(size=6000)
    da.to_npy_stack(tmp_path / "x_stack", da.from_array(x, chunks=(2500, 3)))  # chunks as the README's: rows only
    da.to_npy_stack(tmp_path / "t_stack", da.from_array(t, chunks=2500))
    graph_bytes = len(pickle.dumps(dict(da.from_npy_stack(tmp_path / "x_stack").__dask_graph__())))
    assert graph_bytes < x.nbytes / 20, graph_bytes  # file names and slices, not the 144 kB of rows
    script = tmp_path / "cluster.py"
    script.write_text(script_text)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    printed = np.array(run.stdout.strip().strip("[]").split(), dtype=float)
    expected = np.linalg.lstsq(np.column_stack([np.ones(len(t)), x]), t, rcond=None)[0]
    np.testing.assert_allclose(printed, expected, rtol=1e-6)  # as printed: NumPy's 8 significant digits
