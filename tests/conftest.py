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


_QUICK_RUN = {}  # the shared quick run of every analysis: its folder, and in the process that started it, the process


def _start_quick_run(folder):
    """Start ``python -m analyses --quick`` in the background, as a user would run it (output to files in
    ``folder``); its exit status is written to ``folder/returncode`` when it ends."""
    import subprocess
    import sys
    from pathlib import Path

    command = [sys.executable, "-m", "analyses", "--quick", "--seed", "3", "--out", str(folder / "results")]
    # a shell around the run writes its exit status for every test process to see (with pytest-xdist the tests run
    # in worker processes, and only the process that started a run can wait for it); its own session, so that
    # the whole group (the run and its worker processes) can be stopped at the end
    script = ('"$@" > "$0/stdout.txt" 2> "$0/stderr.txt"; '
              'echo $? > "$0/returncode.tmp"; mv "$0/returncode.tmp" "$0/returncode"')
    process = subprocess.Popen(["sh", "-c", script, str(folder), *command], cwd=Path(__file__).resolve().parents[1],
                               start_new_session=True)
    _QUICK_RUN["process"] = process


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject.toml) starts one pytest-xdist worker more than the machine has cores (at most 4, by
    ``--maxprocesses``): the tests spend part of their time waiting, on their own subprocesses (the command line,
    notebooks, the README's scripts), on PyTensor's compile lock (one g++ at a time per compile folder) and on the
    shared quick run, and an extra worker fills those gaps. Measured from fresh clones with empty caches on the
    2-core machine of the README: 563 s with 2 workers, 530 s with 3, the same CPU time (about 950 s).
    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, decides instead (pytest-xdist's own rule)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return (os.cpu_count() or 1) + 1


def _is_worker(config):
    return hasattr(config, "workerinput")


def pytest_configure(config):
    """The folder of the shared quick run, made by the main process and handed to pytest-xdist's workers."""
    import tempfile
    from pathlib import Path

    if _is_worker(config):
        _QUICK_RUN["folder"] = Path(config.workerinput["quick_run_folder"])
    else:
        _QUICK_RUN["folder"] = Path(tempfile.mkdtemp(prefix="quick-results-"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["quick_run_folder"] = str(_QUICK_RUN["folder"])


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(session, config, items):
    """The tests marked early go first (a minute or more each: started last, one would end the run on one worker while
    the others idle; measured, the README's two scripts began at 570 s of a 690 s run); the tests that read the
    shared quick run go last, and the run starts now: the rest of the suite runs while it computes. Under
    pytest-xdist a worker only asks for it (the main process starts it, once: below)."""
    def reads_the_quick_run(item):
        return "quick_results" in getattr(item, "fixturenames", ())

    # a stable sort: the collection order within each group
    items.sort(key=lambda item: 0 if item.get_closest_marker("early") else 2 if reads_the_quick_run(item) else 1)
    readers = [item for item in items if reads_the_quick_run(item)]
    if not readers or config.option.collectonly:
        return
    if _is_worker(config):
        (_QUICK_RUN["folder"] / "wanted").touch()
    elif "process" not in _QUICK_RUN:
        _start_quick_run(_QUICK_RUN["folder"])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    if (_QUICK_RUN["folder"] / "wanted").exists() and "process" not in _QUICK_RUN:
        _start_quick_run(_QUICK_RUN["folder"])


def pytest_unconfigure(config):
    import shutil
    import signal

    if _is_worker(config):
        return
    process = _QUICK_RUN.get("process")
    if process is not None and process.poll() is None:  # the session ended before the run did
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if "folder" in _QUICK_RUN:
        shutil.rmtree(_QUICK_RUN["folder"], ignore_errors=True)


@pytest.fixture(scope="session")
def quick_results(request):
    """One quick run of every analysis, as a user would start it: (results folder, stdout, records by name).

    Shared by all analysis tests (and all pytest-xdist workers) so the suite runs each analysis once; started at
    collection (see above).
    """
    import json
    import time

    from analyses.report import ANALYSES

    folder = _QUICK_RUN["folder"]
    if not _is_worker(request.config) and "process" not in _QUICK_RUN:  # not seen at collection
        _start_quick_run(folder)
    done = folder / "returncode"
    deadline = time.monotonic() + 1800
    while not done.exists():
        assert time.monotonic() < deadline, "the shared quick run did not finish within 30 minutes"
        time.sleep(0.5)
    returncode = int(done.read_text())
    stdout, stderr = ((folder / name).read_text() for name in ("stdout.txt", "stderr.txt"))
    assert returncode == 0, stderr[-3000:]
    out = folder / "results"
    missing = [name for name in ANALYSES if not (out / name / "result.json").is_file()]
    assert not missing, f"the quick run exited 0 without the results of {missing}; its output:\n{stdout[-3000:]}"
    records = {name: json.loads((out / name / "result.json").read_text()) for name in ANALYSES}
    return out, stdout, records
