"""The analyses run end to end (quick settings) and their reports hold the numbers they claim."""

import html
import json
import subprocess
import sys
from pathlib import Path

from analyses.__main__ import SECONDS, longest_first
from analyses.report import ANALYSES

ROOT = Path(__file__).resolve().parents[1]


def test_the_pool_starts_the_longest_analysis_first():
    """Every analysis has a duration for each kind of run; the order follows it, the unknown first."""
    for kind, seconds in SECONDS.items():
        assert set(seconds) == set(ANALYSES), kind
    names = ["scaling", "predictive", "calibration"]
    assert longest_first(names, "default") == ["calibration", "scaling", "predictive"]
    assert longest_first(names, "full") == ["scaling", "calibration", "predictive"]
    assert longest_first(["predictive", "new_one"], "quick") == ["new_one", "predictive"]


def test_every_analysis_writes_figures_and_the_index(quick_results):
    out, stdout, _ = quick_results
    index = (out / "index.html").read_text()
    for name in ANALYSES:
        assert f"[{name}] done in" in stdout
        record = json.loads((out / name / "result.json").read_text())
        assert record["figures"] and record["paragraph"]
        for figure in record["figures"]:
            png = out / figure["file"]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"src='{figure['file']}'" in index
        assert f"id='{name}'" in index


def test_every_analysis_states_its_claim_and_its_checks_hold(quick_results):
    """Each record has a thesis and its checks; none fails, and only the benchmark may leave one unmeasured.

    The quick run leaves out scaling's sizes from 1e5 on, so its targets there are reported as not measured.
    """
    out, _, records = quick_results
    index = (out / "index.html").read_text()
    for name in ANALYSES:
        record = records[name]
        assert record["claim"] and record["checks"], name
        assert html.escape(record["claim"]) in index, name
        for entry in record["checks"]:
            assert entry["ok"] is not False, (name, entry)
            assert f"{html.escape(entry['claim'])}: {html.escape(entry['measured'])}" in index, (name, entry)
            if name != "scaling":
                assert entry["ok"] is True, (name, entry)
    assert any(entry["ok"] is True for entry in records["scaling"]["checks"])


def test_one_analysis_runs_alone(quick_results, tmp_path):
    """``python -m analyses.<name>`` alone gives the same numbers as inside ``python -m analyses`` (whose analyses ran
    in worker processes), and says where its results went."""
    completed = subprocess.run([sys.executable, "-m", "analyses.learned_sigma", "--quick", "--seed", "3", "--out",
                                str(tmp_path)], cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    assert f"results in {tmp_path / 'learned_sigma'}" in completed.stdout
    alone = json.loads((tmp_path / "summary.json").read_text())
    assert list(alone) == ["learned_sigma"]
    assert alone["learned_sigma"] == json.loads((quick_results[0] / "summary.json").read_text())["learned_sigma"]
