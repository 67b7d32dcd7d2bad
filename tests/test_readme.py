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
    blocks = [block for block in python_blocks() if "np.load(" not in block]
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
