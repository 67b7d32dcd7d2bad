"""The report page: verdicts count measured checks only, the run is named at the top, text cells align left."""

from analyses import report


def record(name, oks, *, quick=True, seed=3, options=(), gates_ok=True):
    return {"name": name, "title": name, "claim": "a claim", "paragraph": "text", "figures": [], "tables": [],
            "checks": [report.check(f"claim {i}", "measured", ok) for i, ok in enumerate(oks)],
            "summary": {"convergence_ok": gates_ok, "convergence": []},
            "provenance": {"quick": quick, "seed": seed, "options": list(options)}}


def test_a_verdict_is_green_only_when_every_check_was_measured_and_holds():
    assert report._status(record("a", [True, True])) == ("2 of 2 checks hold", "pass")
    text, css = report._status(record("b", [True, None, None]))
    assert css == "open" and text == "1 of 3 checks hold, 2 not measured in --quick"
    text, css = report._status(record("c", [True, None], quick=False))
    assert css == "open" and text.endswith("1 not measured in this run")
    text, css = report._status(record("d", [True, False, None]))
    assert css == "fail" and "1 FAILED" in text
    assert report._status(record("e", [True], gates_ok=False))[1] == "fail"


def test_the_page_names_the_run_and_its_seed(tmp_path):
    import json

    for entry in (record("learned_sigma", [True]), record("scaling", [True, None])):
        (tmp_path / entry["name"]).mkdir()
        (tmp_path / entry["name"] / "result.json").write_text(json.dumps(entry))
    report.build_index(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert "This page: a quick run (--quick), seed 3." in page
    (tmp_path / "scaling" / "result.json").write_text(json.dumps(record("scaling", [True], quick=False, seed=4,
                                                                        options=["--full"])))
    report.build_index(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert "mixes runs: quick run (--quick), seed 3: learned_sigma; full run (--full), seed 4: scaling." in page


def test_text_cells_align_left_and_numbers_right():
    assert report._cell("skipped") == "<td class='text'>skipped</td>"
    assert report._cell(0.5) == "<td>0.5</td>" and report._cell(12) == "<td>12</td>"
    assert report._cell(1e-9) == "<td>1.000e-09</td>"
    assert report._cell("<b>") == "<td class='text'>&lt;b&gt;</td>"


def test_list_prints_plain_text():
    import subprocess
    import sys
    from pathlib import Path

    listing = subprocess.run([sys.executable, "-m", "analyses", "--list"], cwd=Path(__file__).resolve().parents[1],
                             check=True, capture_output=True, text=True).stdout
    assert "learned_sigma" in listing and "MLE sigma-hat^2 = SSE/N" in listing
    assert not any(mark in listing for mark in (":math:", "``", "\\"))


def test_list_reads_the_docstrings_without_importing_pymc():
    """--list answers at once: the analyses' first lines come from their source files, not from importing them."""
    import subprocess
    import sys
    from pathlib import Path

    script = ("import sys; from analyses.__main__ import main; main(['--list']); "
              "print('imported:', sorted(m for m in ('pymc', 'pytensor', 'arviz', 'models') if m in sys.modules))")
    listing = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], check=True,
                             capture_output=True, text=True).stdout
    assert listing.splitlines()[-1] == "imported: []"
    assert "mse_is_gaussian_mle" in listing
