"""Trustworthy runs: convergence gates, reproducible summaries, crash-safe results."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import arviz as az
import numpy as np
import pytest

import analyses.__main__ as run_all
from analyses import report
from models import convergence

ROOT = Path(__file__).resolve().parents[1]


def synthetic_idata(rng, chains=4, draws=1000, shift=0.0, diverging=0):
    w = rng.normal(size=(chains, draws, 2)) + shift * np.arange(chains)[:, None, None]
    stats = np.zeros((chains, draws), dtype=bool)
    stats.flat[:diverging] = True
    return az.from_dict({"posterior": {"w": w}, "sample_stats": {"diverging": stats}})


def test_convergence_gates(rng):
    assert convergence(synthetic_idata(rng))["ok"]
    stuck = convergence(synthetic_idata(rng, shift=1.0))  # chains in different places
    assert not stuck["ok"] and any("R-hat" in p for p in stuck["problems"])
    short = convergence(synthetic_idata(rng, chains=2, draws=100))  # 200 draws cannot give ESS 400
    assert not short["ok"] and any("bulk ESS" in p for p in short["problems"])
    divergent = convergence(synthetic_idata(rng, diverging=3))
    assert divergent["problems"] == ["3 divergent transition(s)"]


def test_convergence_gates_use_unrounded_diagnostics():
    # az.summary rounds to 2 decimals by default, which would let this R-hat of 1.0137 pass as "1.01".
    idata = synthetic_idata(np.random.default_rng(2), chains=2, draws=2000, shift=0.22)
    gate = convergence(idata)
    r_hat = float(az.rhat(idata)["w"].max())
    assert 1.01 < r_hat < 1.015
    assert gate["max_r_hat"] == pytest.approx(r_hat, rel=1e-12)
    assert gate["min_ess_bulk"] == pytest.approx(float(az.ess(idata, method="bulk")["w"].min()), rel=1e-12)
    assert gate["min_ess_tail"] == pytest.approx(float(az.ess(idata, method="tail")["w"].min()), rel=1e-12)
    assert not gate["ok"] and any("R-hat" in p for p in gate["problems"])
    summary = az.summary(idata, kind="diagnostics", round_to="none")  # ArviZ's table of the same three
    assert (gate["max_r_hat"], gate["min_ess_bulk"], gate["min_ess_tail"]) == pytest.approx(
        (summary["r_hat"].max(), summary["ess_bulk"].min(), summary["ess_tail"].min()), rel=1e-12)


def test_a_diagnostic_that_cannot_be_computed_fails_its_gate(rng):
    """A coordinate that never moves has no R-hat or ESS (NaN): the gate fails instead of skipping it."""
    idata = synthetic_idata(rng)
    idata["posterior"]["w"].values[..., 1] = 0.5
    with np.errstate(invalid="ignore", divide="ignore"):  # ArviZ's 0/0 for the constant coordinate: expected here
        gate = convergence(idata)
    assert np.isnan(gate["max_r_hat"]) and not gate["ok"]
    assert any("R-hat nan" in p for p in gate["problems"]), gate["problems"]


@pytest.fixture
def failing_analysis(monkeypatch):
    """A stand-in analysis in the four parts, whose MCMC run fails its gates, registered as the only analysis."""
    module = types.ModuleType("analyses.unconverged_demo", "A stand-in whose MCMC run fails its gates.")
    module.NAME, module.TITLE, module.CLAIM = "unconverged_demo", "demo", "demo"
    module.config = lambda quick=False, full=False: {}
    module.compute = lambda config, rng, cache=None, progressbar=False: {
        "summary": {"value": 1.0},
        "convergence": [{"run": "demo", **convergence(synthetic_idata(np.random.default_rng(0), shift=1.0))}]}
    module.checks = lambda result: []
    module.figures = lambda result: {}
    module.tables = lambda result: []
    module.text = lambda result: "demo"
    monkeypatch.setitem(sys.modules, "analyses.unconverged_demo", module)
    monkeypatch.setattr(report, "ANALYSES", ("unconverged_demo",))
    monkeypatch.setattr(run_all, "ANALYSES", ("unconverged_demo",))


def test_unconverged_run_is_red_in_the_report_and_fails_the_command(failing_analysis, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(["--out", str(tmp_path)])
    assert exit_info.value.code == 1
    assert "NOT CONVERGED: demo" in (tmp_path / "index.html").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())["unconverged_demo"]
    assert summary["convergence_ok"] is False and summary["convergence"][0]["problems"]
    run_all.main(["--out", str(tmp_path), "--allow-unconverged"])  # reported, but not fatal


def test_analyses_command_line_refuses_bad_options(tmp_path):
    for options, message in ((["--seed", "abc"], "invalid int value"), (["--seed", "-1"], "--seed must be >= 0"),
                             (["--only", "nonexistent"], "unknown analysis nonexistent"),
                             (["--out", str(ROOT / "README.md")], "must be a folder, but it is a file"),
                             (["--out", ""], "--out: needs a folder, got an empty name")):
        completed = subprocess.run([sys.executable, "-m", "analyses", *options], cwd=ROOT, capture_output=True,
                                   text=True, timeout=120)
        assert completed.returncode == 2 and message in completed.stderr, completed.stderr
        assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("option", ["--out", "--cache"])
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(option, tmp_path, monkeypatch, capsys):
    """Refused by the option parser (exit status 2, the folder named), so no analysis starts."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    # as root, a folder's mode does not stop writes: the parser asks os.access, told here what a user would hear
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != read_only and access(path, mode))
    for folder, message in ((a_file, "must be a folder, but it is a file"),
                            (a_file / "results", f"cannot be made: {a_file} is a file"),
                            (a_file / "deeper" / "results", f"cannot be made: {a_file} is a file"),
                            (read_only / "results", f"cannot be written: {read_only} is not writable"),
                            (read_only, f"cannot be written: {read_only} is not writable")):
        with pytest.raises(SystemExit) as stopped:
            report.parse_args([option, str(folder)], "x")
        assert stopped.value.code == 2
        assert f"{option} {folder}: {message}" in capsys.readouterr().err
    assert not (a_file.parent / "results").exists() and list(read_only.iterdir()) == []
    report.parse_args([option, str(tmp_path / "new" / "results")], "x")  # a folder to be made under a writable one


@pytest.mark.slow
def test_same_seed_gives_byte_identical_summary(quick_results, tmp_path):
    """A second run with the shared run's seed reproduces each analysis' part of summary.json exactly.

    The rerun is in the test's process, one analysis after the other (runner.run, what each worker of
    ``python -m analyses`` calls): another process than the shared run's, with another history of compilations and
    caches, so nothing but the seed is shared. The analyses rerun are those that take seconds (each samples with
    NUTS, or draws, from the seed); left out to keep `make test` within its time budget: loss_likelihood_table,
    calibration and map_vs_posterior, whose quick runs cost one to three minutes each with cold caches. Their
    fitters are seeded the same way, and their reruns are tested where they are cheap: sample_posterior's and
    fit_advi's draws for the same seed, bit for bit, by the compiled-once fitters against fresh ones
    (tests/test_calibration.py), fit_pathfinder's in tests/test_map_vs_posterior.py, fit_laplace's in
    tests/test_posterior.py. And scaling, whose summary is a benchmark: timings, which no seed fixes.
    """
    import importlib

    from analyses import runner

    out, _, _ = quick_results
    left_out = ("loss_likelihood_table", "calibration", "map_vs_posterior", "scaling")
    names = [name for name in report.ANALYSES if name not in left_out]
    args = report.parse_args(["--quick", "--seed", "3", "--out", str(tmp_path), "--no-progressbar"], "rerun")
    for name in names:
        runner.run(importlib.import_module(f"analyses.{name}"), args)
    first, second = (json.loads((folder / "summary.json").read_text()) for folder in (out, tmp_path))
    for name in names:
        assert json.dumps(second[name], sort_keys=True) == json.dumps(first[name], sort_keys=True), name
    provenance = json.loads((tmp_path / "provenance.json").read_text())
    assert all(p["seed"] == 3 and p["packages"]["pymc"] for p in provenance.values())


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("kill", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_run_leaves_previous_results_and_the_next_run_completes(kill, quick_results, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(quick_results[0], out)
    before = snapshot(out)
    command = [sys.executable, "-m", "analyses", "--quick", "--seed", "11", "--only", "learned_sigma", "--out",
               str(out)]
    # A child inherits an ignored SIGINT, and Python then keeps ignoring it: something earlier in the test session
    # (the worker machinery of PyMC, nutpie or distributed) can leave it ignored in pytest's process. A user's
    # shell does not, so the child starts with the default disposition.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:  # kill while the first analysis is computing
        if "[learned_sigma] running" in line:
            # early, while it imports (an analysis that calls pm.find_MAP would not do: find_MAP catches a
            # KeyboardInterrupt to return its current point, and the run would go on)
            time.sleep(0.5)
            process.send_signal(kill)
            break
    process.wait(timeout=120)
    assert process.returncode != 0
    assert snapshot(out) == {k: v for k, v in snapshot(out).items() if k.parts[0].startswith(".staging")} | before
    json.loads((out / "summary.json").read_text())  # still whole

    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=600)
    after = json.loads((out / "summary.json").read_text())
    assert after["learned_sigma"] != json.loads(before[Path("summary.json")])["learned_sigma"]  # seed 11 results
    assert not list(out.glob(".staging-*"))


def processes_with(tag):
    """Pids of the processes whose environment holds ``tag`` (Linux /proc)."""
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if tag.encode() in environ.read_bytes():
                pids.append(int(environ.parent.name))
        except OSError:  # gone, or not ours
            pass
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("kill", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_killed_parallel_run_stops_its_workers(kill, tmp_path):
    """Two analyses in worker processes; the parent killed while they compute. Ctrl-C exits 130 with one line and no
    traceback; after either signal, no worker computes on."""
    import os
    import uuid

    tag = f"ANALYSES_TEST_TAG={uuid.uuid4().hex}"
    env = dict(os.environ, ANALYSES_TEST_TAG=tag.split("=")[1])
    command = [sys.executable, "-m", "analyses", "--quick", "--seed", "11", "--only",
               "learned_sigma,priors_are_regularizers", "--out", str(tmp_path)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("running 2 analyses"):
            time.sleep(1.0)  # the workers are starting (importing)
            process.send_signal(kill)
            break
    process.wait(timeout=60)
    stderr = process.stderr.read()
    if kill == signal.SIGINT:
        assert process.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 15  # workers look for their parent every second
    while processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes_with(tag)


def test_cached_idata_skips_unchanged_work_and_says_so(tmp_path, capsys):
    calls = []

    def compute():
        calls.append(1)
        return az.from_dict({"posterior": {"w": np.arange(6.0).reshape(1, 3, 2)}})

    first = report.cached_idata(tmp_path, "demo", {"seed": 1}, compute, __file__)
    second = report.cached_idata(tmp_path, "demo", {"seed": 1}, compute, __file__)
    assert len(calls) == 1 and "cached: demo" in capsys.readouterr().out
    np.testing.assert_array_equal(first.posterior["w"].values, second.posterior["w"].values)
    assert second.attrs["compute_seconds"] >= 0
    report.cached_idata(tmp_path, "demo", {"seed": 2}, compute, __file__)  # other settings: computed again
    assert len(calls) == 2


def test_cached_arrays_round_trip_nested_results(tmp_path, capsys):
    calls = []
    tree = {"ranks": {"MAP plug-in": {"w[1]": np.array([0, 99, 3])}}, "ok": np.array([True, False]),
            "sd": np.linspace(0.1, 0.2, 4).reshape(2, 2), "fits": 7, "sigma": 0.25, "empty": np.array([], dtype=int)}

    def compute():
        calls.append(1)
        return {key: value for key, value in tree.items()}

    report.cached_arrays(tmp_path, "demo", {"seed": 1}, compute, __file__)
    loaded = report.cached_arrays(tmp_path, "demo", {"seed": 1}, compute, __file__)
    assert len(calls) == 1 and "cached: demo" in capsys.readouterr().out
    np.testing.assert_array_equal(loaded["ranks"]["MAP plug-in"]["w[1]"], [0, 99, 3])
    assert loaded["ok"].dtype == bool and loaded["ranks"]["MAP plug-in"]["w[1]"].dtype.kind == "i"
    np.testing.assert_array_equal(loaded["sd"], tree["sd"])  # netCDF keeps float64 bit for bit
    assert loaded["fits"] == 7 and loaded["sigma"] == 0.25 and loaded["empty"].dtype.kind == "i"
    assert loaded["compute_seconds"] >= 0
    with pytest.raises(TypeError, match="not numeric"):
        report.cached_arrays(tmp_path, "text", {}, lambda: {"name": np.array(["a"])}, __file__)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("cached", [report.cached_idata, report.cached_arrays], ids=["idata", "arrays"])
@pytest.mark.parametrize("damage", [_truncate, lambda path: path.write_bytes(b""),
                                    lambda path: path.write_bytes(np.random.default_rng(0).bytes(4096)),
                                    lambda path: path.write_bytes(b"CDF\x01" + bytes(60))],
                         ids=["truncated", "emptied", "random bytes", "a bare netCDF header"])
def test_a_damaged_cache_file_is_computed_again_and_reported_in_one_line(cached, damage, tmp_path, capsys):
    calls = []

    def compute():
        calls.append(1)
        if cached is report.cached_arrays:
            return {"w": np.arange(6.0)}
        return az.from_dict({"posterior": {"w": np.arange(6.0).reshape(1, 3, 2)}})

    def values(result):
        return result["w"] if cached is report.cached_arrays else result.posterior["w"].values.ravel()

    cached(tmp_path, "demo", {"seed": 1}, compute, __file__)
    (path,) = tmp_path.glob("demo-*.nc")
    damage(path)
    capsys.readouterr()
    again = cached(tmp_path, "demo", {"seed": 1}, compute, __file__)
    lines = capsys.readouterr().out.splitlines()
    assert len(calls) == 2 and len(lines) == 1 and lines[0].startswith(f"  cache: {path.name} cannot be read (")
    assert lines[0].endswith("computing demo again")
    np.testing.assert_array_equal(values(again), np.arange(6.0))
    third = cached(tmp_path, "demo", {"seed": 1}, compute, __file__)  # the file written again is whole
    assert len(calls) == 2
    np.testing.assert_array_equal(values(third), np.arange(6.0))


def test_the_cache_key_covers_the_whole_library(monkeypatch):
    """An edit anywhere in models/ (models/fit/ included) changes the key of every cached result."""
    before = report._code_digest(__file__)
    edited = Path(report.__file__).resolve().parents[1] / "models" / "fit" / "sample.py"
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read_bytes(path) + b"\n# an edit" if path == edited
                        else read_bytes(path))
    assert report._code_digest(__file__) != before


def test_result_files_get_the_mode_the_umask_gives(tmp_path):
    """Atomic writes go through a temporary file (created 0600); the result is readable as open() would make it."""
    import os
    import stat

    from analyses.report import _atomic_write

    previous = os.umask(0o022)
    try:
        _atomic_write(tmp_path / "a" / "result.json", "{}")
        _atomic_write(tmp_path / "a" / "figure.png", b"\x89PNG")
    finally:
        os.umask(previous)
    for name in ("result.json", "figure.png"):
        assert stat.S_IMODE((tmp_path / "a" / name).stat().st_mode) == 0o644


def test_an_analysis_that_finishes_while_another_is_handled_is_not_lost(tmp_path, monkeypatch):
    """python -m analyses moves each finished analysis into place. One that finishes while another's results are
    being handled is handled at the next wait: here every wait returns late, after all running analyses are done
    (the window made wide), and every analysis still ends in the results. (The pool of threads and the analyses that
    only write a file stand in for the worker processes; the pool's code is the same.)"""
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import wait as real_wait

    names = ["first", "second", "third", "fourth", "fifth"]
    durations = {"first": 0.0, "second": 0.3, "third": 0.0, "fourth": 0.3, "fifth": 0.0}

    def run_named(name, options):
        time.sleep(durations[name])
        folder = Path(options[options.index("--out") + 1]) / name
        folder.mkdir(parents=True)
        (folder / "result.json").write_text("{}")
        return durations[name]

    def late_wait(futures, timeout=None, return_when=None):
        done, not_done = real_wait(futures, timeout=timeout, return_when=return_when)
        real_wait(futures)  # the others finish too before the ones done are handled
        return done, not_done

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(run_all, "ProcessPoolExecutor", lambda workers, **_: ThreadPoolExecutor(workers))
    monkeypatch.setattr(run_all, "run_named", run_named)
    monkeypatch.setattr(run_all, "wait", late_wait)
    monkeypatch.setattr(run_all, "build_index", lambda out: None)
    out = tmp_path / "results"
    staging = out / ".staging-1"
    errors = run_all._run(names, ["--seed", "1", "--out", str(staging)], staging, out)
    assert errors == []
    assert sorted(path.parent.name for path in out.glob("*/result.json")) == sorted(names)
