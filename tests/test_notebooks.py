"""Every notebook in notebooks/ runs end to end as a notebook, with its quick settings, and ends with a figure.

The notebooks are jupytext percent-format ``.py`` files. Each is read with ``jupytext``, executed cell by cell in an
IPython kernel by ``nbclient`` (a failing cell raises ``CellExecutionError``, which fails the test with the cell and
its traceback), with ``NOTEBOOK_QUICK=1`` in the kernel's environment and a temporary working directory.
"""

import json
import sys
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))
EXPECTED = [
    "01_build_your_own_model",
    "02_map_vs_posterior_on_your_csv",
    "03_swap_the_likelihood",
    "04_neural_network_mean",
]
# matplotlib's inline backend: headless like Agg, and it sends each figure to the notebook as an image/png display.
# (conftest.py sets MPLBACKEND=Agg, which the kernel would inherit; under Agg a figure is never displayed.)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def test_the_notebooks_are_these_four():
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


def kernel_manager(directory):
    """A manager for a "python3" kernel that runs this interpreter (the one with the suite installed).

    jupyter_client starts ipykernel's own spec with ``sys.executable``; a "python3" spec installed elsewhere (e.g. in
    the user's Jupyter folder) could name another Python, so then one is written to ``directory`` instead.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    manager = AsyncKernelManager(kernel_name="python3")
    if manager.format_kernel_cmd()[0] == sys.executable:
        return manager
    spec = directory / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(directory / "kernels")], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_and_ends_with_a_figure(path, tmp_path, monkeypatch):
    import jupytext
    from nbclient import NotebookClient

    monkeypatch.setenv("NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", INLINE_BACKEND)
    notebook = jupytext.read(path)
    work = tmp_path / "work"
    work.mkdir()
    client = NotebookClient(notebook, km=kernel_manager(tmp_path), timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    client.execute()

    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "?" in first.source, first.source
    last_code = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    outputs = [output for output in last_code.outputs if output.output_type in ("display_data", "execute_result")]
    assert any("image/png" in output.get("data", {}) for output in outputs), last_code.outputs
    assert list(work.iterdir()) == [], "the notebook left files in its working directory"


@pytest.mark.slow
def test_a_notebook_run_as_a_script_saves_its_figure(tmp_path):
    """The README's promise: each notebook also runs as a script, and its last figure is saved next to it."""
    import os
    import shutil
    import subprocess

    script = tmp_path / "03_swap_the_likelihood.py"
    shutil.copy(Path(__file__).resolve().parents[1] / "notebooks" / script.name, script)
    completed = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                               timeout=600, env=dict(os.environ, NOTEBOOK_QUICK="1", MPLBACKEND="Agg"))
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert script.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"figure saved: {script.with_suffix('.png')}" in completed.stdout
