import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


def named_rng(name):
    """A generator seeded from a name, so every test draws its own reproducible data."""
    return np.random.default_rng(sum(map(ord, name)))


@pytest.fixture
def rng(request):
    return named_rng(request.node.name)


@pytest.fixture
def prml_data():
    """PRML section 1.1: x ~ U(0, 1), t = sin(2 pi x) + N(0, 0.3^2), N = 15."""
    generator = named_rng("prml_data")
    x = generator.uniform(0, 1, 15)
    return x, np.sin(2 * np.pi * x) + 0.3 * generator.normal(size=15)


_QUICK_RUN = {}  # the shared quick run of every analysis: its process, folder and log files


def _start_quick_run():
    """Start ``python -m analyses --quick`` in the background, as a user would run it (output to files)."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="quick-results-"))
    stdout, stderr = open(folder / "stdout.txt", "w"), open(folder / "stderr.txt", "w")
    command = [sys.executable, "-m", "analyses", "--quick", "--seed", "3", "--out", str(folder / "results")]
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], stdout=stdout, stderr=stderr,
                               text=True)
    _QUICK_RUN.update(process=process, folder=folder, files=(stdout, stderr))


def pytest_collection_modifyitems(session, config, items):
    """The tests that read the shared quick run go last, and the run starts now: the rest of the suite runs on the
    other core while it computes (about half of `make test`'s time with a cold PyTensor cache)."""
    readers = [item for item in items if "quick_results" in getattr(item, "fixturenames", ())]
    if readers and not _QUICK_RUN and not config.option.collectonly:
        items[:] = [item for item in items if item not in readers] + readers
        _start_quick_run()


def pytest_unconfigure(config):
    import shutil

    if _QUICK_RUN:
        if _QUICK_RUN["process"].poll() is None:  # the session ended before the run did
            _QUICK_RUN["process"].kill()
            _QUICK_RUN["process"].wait()
        for handle in _QUICK_RUN["files"]:
            handle.close()
        shutil.rmtree(_QUICK_RUN["folder"], ignore_errors=True)


@pytest.fixture(scope="session")
def quick_results():
    """One quick run of every analysis, as a user would start it: (results folder, stdout, records by name).

    Shared by all analysis tests so the suite runs each analysis once; started at collection (see above).
    """
    import json

    from analyses.report import ANALYSES

    if not _QUICK_RUN:
        _start_quick_run()
    process, folder = _QUICK_RUN["process"], _QUICK_RUN["folder"]
    returncode = process.wait(timeout=1800)
    stdout, stderr = ((folder / name).read_text() for name in ("stdout.txt", "stderr.txt"))
    assert returncode == 0, stderr[-3000:]
    out = folder / "results"
    records = {name: json.loads((out / name / "result.json").read_text()) for name in ANALYSES}
    return out, stdout, records
