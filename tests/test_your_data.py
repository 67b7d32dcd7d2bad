"""The command line on a user's own CSV (``--data``), ``--list``, and their refusals of bad options."""

import json
import re
import subprocess
import sys
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from analyses import data, plots, your_data
from analyses.report import ANALYSES, BENCHMARKS

ROOT = Path(__file__).resolve().parents[1]


def run(*options, timeout=600):
    """``python -m analyses`` with ``options``, in a new process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "analyses", *map(str, options)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def refused(capsys, *options):
    """``python -m analyses`` with ``options``, called in this process (its ``main``, which the command runs): the
    exit status and stderr of a run that stops on bad data. The data's refusals need the model (PyMC), and a new
    process would spend most of its time importing it; the process-level behaviour (status 2, no traceback) is
    tested in new processes by test_bad_data_options_exit_2_with_the_reason and
    test_other_analyses_refuse_data_and_bad_values_are_named."""
    from analyses.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main([str(option) for option in options])
    return stop.value.code, capsys.readouterr()


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


A, B, T = "$a$ (in $)", "b_1^2 <i>x</i>", "y & <z>"  # the small file's columns: x, and the target


# The chains in the test's process, one after the other: PyMC seeds each chain, so the draws are those of the
# command's parallel chains, without two forked samplers per fit in a test run that already keeps both cores busy
ONE_PROCESS = {"cores": 1}


@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    """your_data's quick compute on a small file of its own: 60 rows, two inputs, y = 1 + 2a - b + N(0, 0.5^2).

    The columns are named like markup (matplotlib's mathtext, HTML): names are data, shown verbatim."""
    rng = np.random.default_rng(60)
    inputs = rng.normal(size=(60, 2))
    path = tmp_path_factory.mktemp("small") / "small.csv"
    pd.DataFrame({A: inputs[:, 0], B: inputs[:, 1],
                  T: 1 + inputs @ [2.0, -1.0] + 0.5 * rng.normal(size=60)}).to_csv(path, index=False)
    setting = your_data.config(quick=True, data=path, x=[A, B], t=T) | ONE_PROCESS
    return your_data.compute(setting, np.random.default_rng(61))


def test_checks_hold_on_a_small_file(small_result):
    assert small_result["summary"]["features"] == ["1", A, B]
    outcomes = your_data.checks(small_result)
    assert len(outcomes) == 4 and all(c["ok"] is True for c in outcomes), outcomes


@pytest.mark.parametrize("index, key, value", [
    (0, "max_rel_diff_map_vs_least_squares", lambda s: 10 * s["tolerance_least_squares"]),
    (1, "rel_diff_sigma2_map_vs_sse_over_n", lambda s: 1e-6),
    (2, "nll_identity_max_rel_diff", lambda s: 1e-6),
    (3, "nuts_vs_exact_max_abs_z_mean", lambda s: 6.0),
    (3, "nuts_vs_exact_max_rel_dev_sd", lambda s: 0.2),
], ids=["map-vs-least-squares", "sigma2-vs-sse-over-n", "nll-identity", "nuts-mean", "nuts-sd"])
def test_checks_can_fail(small_result, index, key, value):
    """A number out of its tolerance fails its check, and only that one."""
    summary = dict(small_result["summary"])
    summary[key] = value(summary)
    outcomes = your_data.checks({**small_result, "summary": summary})
    assert [c["ok"] for c in outcomes] == [i != index for i in range(len(outcomes))]


def test_captions_name_what_is_drawn(small_result):
    """One interval, 90% equal-tailed, in the posterior figure, its caption and the table; the MAP drawn as the
    caption says."""
    drawn = your_data.figures(small_result)
    figure, caption = drawn["posterior"]
    (table,) = your_data.tables(small_result)
    names = [row[0] for row in table["rows"]]
    low, high = (table["columns"].index(c) for c in ("5% (90% equal-tailed interval)", "95%"))
    assert your_data.PERCENT == "90%" and "90% equal-tailed interval" in caption
    assert plots.REFERENCE_COLOR == f"tab:{plots.REFERENCE_COLOR_NAME}" and "dashed red line" in caption
    panels = [axis for axis in figure.axes if axis.lines]
    assert len(panels) == len(names) == 4
    summary = small_result["summary"]
    for axis, row, reference in zip(panels, table["rows"], [*summary["w_map"], summary["sigma_map"]]):
        (line,) = [line for line in axis.lines if line.get_color() == plots.REFERENCE_COLOR]
        assert line.get_linestyle() == "--" and line.get_xdata()[0] == pytest.approx(reference, rel=1e-12)
        (interval,) = [other for other in axis.lines if len(other.get_xdata()) == 2 and other is not line]
        np.testing.assert_allclose(interval.get_xdata(), [row[low], row[high]], rtol=1e-9)
    predictive_caption = drawn["predictive"][1]
    assert "90% equal-tailed interval" in predictive_caption and "dashed black line" in predictive_caption
    plt.close("all")


def test_many_weights_wrap_to_the_page_width():
    """Twelve panels (ten inputs, the intercept and sigma) wrap into rows no wider than the report's ~1100 px."""
    rng = np.random.default_rng(12)
    features = ["1", *(f"x{j}" for j in range(10))]
    idata = az.from_dict({"posterior": {"w": rng.normal(size=(2, 100, 11)), "sigma": rng.uniform(1, 2, (2, 100))}},
                         dims={"w": ["feature"]}, coords={"feature": features})
    figure = plots.posterior_with_reference(idata, {"w": np.zeros(11), "sigma": 1.5}, var_names=["w", "sigma"],
                                            ci_prob=0.9, title="twelve panels")
    width, height = figure.get_size_inches() * 110  # the dpi of write_result
    assert width <= 1100 and height > width  # wrapped into rows, not one long strip
    assert len([axis for axis in figure.axes if axis.lines]) == 12
    # one line per title, the weight named by its feature
    assert [axis.get_title() for axis in figure.axes if axis.lines][:3] == ["w[1]", "w[x0]", "w[x1]"]
    plt.close(figure)


def test_list_names_every_analysis():
    completed = run("--list", timeout=300)
    assert completed.returncode == 0, completed.stderr
    names = [line.split()[0] for line in completed.stdout.splitlines()]
    assert names == [*ANALYSES, "your_data", *BENCHMARKS]


@pytest.mark.slow
def test_core_analyses_on_a_users_csv(diabetes_csv, tmp_path):
    completed = run("--data", diabetes_csv, "--x", "bmi,bp", "--t", "target", "--quick", "--seed", "4",
                    "--out", tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "[your_data] done in" in completed.stdout
    record = json.loads((tmp_path / "your_data" / "result.json").read_text())
    assert record["checks"] and all(c["ok"] for c in record["checks"])
    summary = record["summary"]
    assert summary["features"] == ["1", "bmi", "bp"] and summary["n"] == 442
    # the MAP against scikit-learn, fitted here independently of the analysis
    frame = pd.read_csv(diabetes_csv)
    reference = LinearRegression().fit(frame[["bmi", "bp"]], frame["target"])
    np.testing.assert_allclose(summary["w_map"], [reference.intercept_, *reference.coef_], rtol=1e-9)
    residuals = frame["target"] - reference.predict(frame[["bmi", "bp"]])
    np.testing.assert_allclose(summary["sigma_map"] ** 2, np.mean(residuals**2), rtol=1e-9)
    assert summary["convergence_ok"]
    index = (tmp_path / "index.html").read_text()
    assert "id='your_data'" in index and "your_data/predictive.png" in index


def test_one_input_is_drawn_as_a_band_around_the_map_line():
    predictive = {"rows": np.arange(5), "inputs": np.linspace(0, 1, 5)[:, None], "observed": np.arange(5.0),
                  "low": np.arange(5.0) - 1, "middle": np.arange(5.0), "high": np.arange(5.0) + 1, "coverage_90": 1.0}
    figure = your_data.plot_predictive(predictive, np.array([0.0, 4.0]), ["dose"], "response")
    axis = figure.axes[0]
    assert axis.get_xlabel() == "dose" and axis.get_ylabel() == "response"
    np.testing.assert_allclose(axis.lines[0].get_ydata(), 4 * np.linspace(0, 1, 5))  # the MAP line


@pytest.mark.parametrize("options, message", [
    (["--x", "bmi", "--t", "target"], "--x and --t go with --data"),
    (["--data", "{csv}", "--x", "bmi"], "--data needs --x COL[,COL] (the inputs) and --t COL"),
    (["--data", "{csv}", "--x", "bmi,weight", "--t", "target"], "no column 'weight'"),
    (["--data", "{csv}", "--x", "bmi,target", "--t", "target"], "--t 'target' is also among the inputs"),
    (["--data", "{csv}.missing", "--x", "bmi", "--t", "target"], "no such file"),
    (["--data", "{csv}", "--x", "bmi", "--t", "target", "--only", "learned_sigma"], "does not combine with --only"),
    (["--data", "{csv}", "--x", "bmi", "--t", "target", "--sigma", "0"],
     "argument --sigma: needs a finite number > 0, got '0'"),
    (["--data", "{csv}", "--x", "bmi", "--t", "target", "--sigma", "-1"],
     "argument --sigma: needs a finite number > 0, got '-1'"),
    (["--data", "{csv}", "--x", "bmi", "--t", "target", "--sigma", "nan"],
     "argument --sigma: needs a finite number > 0, got 'nan'"),
    (["--data", "{csv}", "--x", "bmi", "--t", "target", "--w-prior-sd", "abc"],
     "argument --w-prior-sd: needs a number > 0, got 'abc'"),
    (["--sigma", "0.5"], "--sigma goes with --data FILE.csv"),
    (["--sigma", "0.5", "--w-prior-sd", "1"], "--sigma and --w-prior-sd go with --data FILE.csv"),
], ids=["x-without-data", "no-t", "unknown-column", "t-among-x", "no-file", "with-only", "sigma-0", "sigma-negative",
        "sigma-nan", "prior-sd-text", "sigma-without-data", "both-without-data"])
def test_bad_data_options_exit_2_with_the_reason(options, message, diabetes_csv):
    completed = run(*(option.format(csv=diabetes_csv) for option in options), timeout=120)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr


def test_other_analyses_refuse_data_and_bad_values_are_named(diabetes_csv, tmp_path, capsys):
    from analyses import learned_sigma  # python -m analyses.learned_sigma runs its main

    with pytest.raises(SystemExit) as stop:
        learned_sigma.main(["--data", str(diabetes_csv), "--x", "bmi", "--t", "target"])
    assert stop.value.code == 2 and "--data is read by" in capsys.readouterr().err
    broken = tmp_path / "broken.csv"
    frame = pd.read_csv(diabetes_csv)
    frame.loc[7, "bmi"] = np.nan
    frame.to_csv(broken, index=False)
    # python -m analyses, which says at exit whether PyMC was imported: the command reads the file first
    command = ("import atexit, runpy, sys\n"
               "atexit.register(lambda: print('pymc imported:', 'pymc' in sys.modules, file=sys.stderr))\n"
               "runpy.run_module('analyses', run_name='__main__', alter_sys=True)\n")
    completed = subprocess.run([sys.executable, "-c", command, "--data", str(broken), "--x", "bmi", "--t", "target",
                                "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    # row 7 of the frame is line 9 of the file (the header is line 1, rows count from 0)
    assert f"error: --data {broken}: column 'bmi', line 9: '' is a missing value" in completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == "pymc imported: False"
    assert not (tmp_path / "out" / "your_data").exists()  # nothing half-written


@pytest.mark.parametrize("header, options, message", [
    ("a,a,y", ["--x", "a", "--t", "y"], "line 1 of {csv} names more than one column 'a'"),
    ("a,b,y,b", ["--x", "a", "--t", "y"], "names more than one column 'b'"),
    ("1,b,y", ["--x", "1,b", "--t", "y"], "x has a column named '1', the name of the intercept feature"),
], ids=["repeated input", "repeated unused column", "a column named like the intercept"])
def test_column_names_that_would_merge_two_weights_are_refused(header, options, message, tmp_path, capsys):
    """pandas renames a repeated header ("a", "a.1") and the intercept is named "1": refused, exit 2, never merged."""
    rng = np.random.default_rng(5)
    path = tmp_path / "names.csv"
    width = len(header.split(","))
    np.savetxt(path, rng.normal(size=(30, width)), delimiter=",", header=header, comments="", fmt="%.6f")
    status, output = refused(capsys, "--data", path, *options, "--out", tmp_path / "out")
    assert status == 2 and message.format(csv=path) in output.err, output.err[-2000:]
    assert not (tmp_path / "out" / "your_data").exists()


def test_column_names_appear_verbatim_in_the_figures_and_the_page(small_result, tmp_path):
    """Dollar signs, underscores, carets and tags in column names are text: no mathtext, no markup."""
    import html

    from analyses import report

    drawn = your_data.figures(small_result)
    for figure, _ in drawn.values():
        figure.canvas.draw()  # a mathtext parse would fail (or silently typeset) here
        named = [text for text in figure.findobj(plt.Text) if any(name in text.get_text() for name in (A, B, T))]
        assert named and all(text.get_parse_math() is False for text in named), [t.get_text() for t in named]
    texts = {text.get_text() for figure, _ in drawn.values() for text in figure.findobj(plt.Text)}
    assert any(A in text for text in texts) and any(B in text for text in texts), texts
    report.write_result(tmp_path, your_data.NAME, title=small_result.get("title", your_data.TITLE),
                        claim=your_data.CLAIM, paragraph=your_data.text(small_result), figures=drawn,
                        tables=your_data.tables(small_result), summary=small_result["summary"],
                        checks=your_data.checks(small_result))
    page = (tmp_path / "index.html").read_text()
    assert html.escape(A) in page and html.escape(B) in page and "<i>x</i>" not in page


def refused_file(case, folder):
    """A file the default model (flat prior on w, learned sigma) refuses, inputs a, b and target y: an exact fit
    (SSE = 0), too few rows for a proper posterior (4 rows, p = 3: the MAP exists, the posterior does not), as many
    rows as weights, or two inputs proportional to each other."""
    inputs = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0], [5.0, 4.0]])
    if case == "constant target":
        target = np.full(len(inputs), 5.0)
    elif case == "exactly linear target":
        target = 1 + inputs @ [2.0, -1.0]
    elif case in ("too few rows", "as many rows as weights", "fewer rows than weights"):
        rows = np.random.default_rng(2).normal(size=({"too few rows": 4, "as many rows as weights": 3}.get(case, 2), 3))
        inputs, target = rows[:, :2], rows[:, 2]
    elif case == "proportional inputs":
        inputs = np.column_stack([inputs[:, 0], 2 * inputs[:, 0]])
        target = np.array([0.5, 1.7, 2.2, 4.1, 4.8])
    else:
        raise ValueError(case)
    path = folder / f"{case.replace(' ', '-')}.csv"
    np.savetxt(path, np.column_stack([inputs, target]), delimiter=",", header="a,b,y", comments="", fmt="%.6f")
    return path


SIGMA, PRIOR = your_data.SIGMA_ADVICE, your_data.PRIOR_ADVICE
# the library's reason, in part, and the advice line: only the options that make the data usable
REFUSALS = {
    "constant target": (["the data are fitted exactly (SSE = 0)"], f"on the command line: {SIGMA}"),
    "exactly linear target": (["the data are fitted exactly (SSE = 0)"], f"on the command line: {SIGMA}"),
    "too few rows": (["N = 4 observations for p = 3 weights", "the posterior is improper (this prior needs N >= 5)"],
                     f"on the command line: {SIGMA}; {PRIOR}"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_data_the_defaults_cannot_take_are_refused_with_the_options_that_help(case, tmp_path, capsys):
    """Through the command's main: exit 2 before any sampling, one line naming the file and the library's reason,
    then the command-line options that help (a Normal prior on w does not stop sigma -> 0 on an exact fit: only
    --sigma is advised there)."""
    path = refused_file(case, tmp_path)
    status, output = refused(capsys, "--data", path, "--x", "a,b", "--t", "y", "--quick", "--out", tmp_path / "out")
    assert status == 2, output.err[-2000:]
    reasons, advice = REFUSALS[case]
    *_, error, advised = output.err.strip().splitlines()
    assert error.startswith(f"error: --data {path}: ") and all(reason in error for reason in reasons), error
    assert advised == advice
    assert "NUTS on" not in output.out and not (tmp_path / "out" / "your_data").exists()


@pytest.mark.parametrize("case, options, advice", [
    ("constant target", {}, f"on the command line: {SIGMA}"),
    ("exactly linear target", {"w_prior_sd": 10.0}, f"on the command line: {SIGMA}"),  # the prior given: still
    ("too few rows", {}, f"on the command line: {SIGMA}; {PRIOR}"),
    ("as many rows as weights", {}, f"on the command line: {SIGMA}"),
    ("proportional inputs", {}, f"on the command line: {PRIOR}"),  # a flat prior is improper on it, sigma or not
    # N < p: a flat prior is improper, and some w fits exactly (no MAP for a learned sigma): only both together
    ("fewer rows than weights", {}, f"on the command line, both together: {SIGMA}, and {PRIOR}"),
], ids=["constant", "exact fit with a prior", "too few rows", "N = p", "rank deficient", "N < p"])
def test_the_advice_names_only_options_that_work(case, options, advice, tmp_path, capsys):
    """load_model refuses (status 2) and advises what it has tried: each option not given yet, else both."""
    path = refused_file(case, tmp_path)
    with pytest.raises(SystemExit) as stop:
        your_data.load_model(path, ["a", "b"], "y", **options)
    error, advised = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and error.startswith(f"error: --data {path}: ") and advised == advice


@pytest.fixture(scope="module")
def usable(tmp_path_factory):
    """your_data's quick compute on a refused file with options that make it usable (computed once per case)."""
    folder, results = tmp_path_factory.mktemp("usable"), {}

    def compute(case, **options):
        key = (case, tuple(sorted(options.items())))
        if key not in results:
            setting = your_data.config(quick=True, data=refused_file(case, folder), x=["a", "b"], t="y",
                                       **options) | ONE_PROCESS
            results[key] = your_data.compute(setting, np.random.default_rng(1))
        return results[key]

    return compute


NOT_MEASURED = "NUTS draws the exact posterior"
USABLE = [  # (case, options, the claims of the checks shown, the one not measured)
    ("exactly linear target", {"sigma": 0.5},
     ["MAP = least squares (scikit-learn's LinearRegression)", "-log p(t", NOT_MEASURED], None),
    ("too few rows", {"sigma": 0.5},
     ["MAP = least squares (scikit-learn's LinearRegression)", "-log p(t", NOT_MEASURED], None),
    ("too few rows", {"w_prior_sd": 10.0},
     ["MAP = ridge (scikit-learn's Ridge, alpha = sigma^2/S^2)", "MAP sigma^2 = SSE/N (SSE at the MAP weights)",
      "-log p(t", NOT_MEASURED], NOT_MEASURED),
    ("constant target", {"sigma": 0.5, "w_prior_sd": 10.0},
     ["MAP = ridge (scikit-learn's Ridge, alpha = sigma^2/S^2)", "-log p(t", NOT_MEASURED], None),
]


@pytest.mark.parametrize("case, options, claims, unmeasured", USABLE,
                         ids=["exact fit, --sigma", "too few rows, --sigma", "too few rows, --w-prior-sd",
                              "constant, both"])
def test_the_options_make_refused_data_usable(usable, case, options, claims, unmeasured):
    """Every check shown holds; a check that cannot be measured is not shown (sigma^2 = SSE/N with a fixed sigma)
    or shown as not measured (NUTS against an exact posterior that has no closed form), and the table, the figures
    and the text follow the model: no sigma where it is fixed, no exact column where there is none."""
    result = usable(case, **options)
    outcomes = your_data.checks(result)
    assert [c["claim"][:len(claim)] for c, claim in zip(outcomes, claims)] == claims and len(outcomes) == len(claims)
    assert all(c["ok"] is (None if c["claim"] == unmeasured else True) for c in outcomes), outcomes
    if unmeasured is not None:
        assert your_data.NO_CLOSED_FORM in outcomes[-1]["measured"]
    if "sigma" in options:  # a fixed sigma: NUTS samples w only, and its posterior is Gaussian
        assert result["convergence"][0]["ok"], result["convergence"]
    # else (a Normal(0, 10) prior, learned sigma, 4 rows): a funnel with a sigma^-4 tail, which NUTS does not pass
    # the convergence gates on at these sizes; the gates report it, the checks above do not depend on it
    fixed, ridge = "sigma" in options, "w_prior_sd" in options
    summary = result["summary"]
    assert summary["settings"]["sigma"] == options.get("sigma") and \
        summary["settings"]["w_prior_sd"] == options.get("w_prior_sd")
    assert ("sigma_map" in summary) is not fixed and ("sigma" in result["nuts"].posterior) is not fixed
    (drawn,) = your_data.tables(result)
    assert [row[0] for row in drawn["rows"]] == ["w[1]", "w[a]", "w[b]", *([] if fixed else ["sigma"])]
    assert ("exact posterior mean" in drawn["columns"]) is (unmeasured is None)
    assert not any(isinstance(cell, float) and np.isnan(cell) for row in drawn["rows"] for cell in row)
    assert drawn["columns"][2].startswith("ridge (sklearn, alpha = sigma^2/S^2" if ridge else "least squares")
    figures = your_data.figures(result)
    panels = [axis for axis in figures["posterior"][0].axes if axis.lines]
    assert len(panels) == 3 + (not fixed)
    paragraph = your_data.text(result)
    assert "flat priors on w and sigma" not in paragraph
    assert ("sigma fixed at 0.5 (--sigma)" in paragraph) is fixed
    assert ("a Normal(0, 10) prior on every weight" in paragraph) is ridge
    assert all(("sigma fixed at 0.5" in caption) is fixed for _, caption in figures.values())
    plt.close("all")


def test_the_map_legend_says_least_squares_only_when_it_is(usable, small_result):
    """One input is drawn as a line: its legend names the MAP's twin (least squares under flat priors only)."""
    legends = {}
    for name, result in [("flat", small_result), ("ridge", usable("too few rows", w_prior_sd=10.0))]:
        predictive = {**result["predictive"], "inputs": result["predictive"]["inputs"][:, :1]}
        setting = result["config"]
        figure = your_data.plot_predictive(predictive, np.asarray(result["summary"]["w_map"]), setting["x"][:1],
                                           setting["t"], map_label=f"MAP = {your_data._reference_name(setting)}")
        legends[name] = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "MAP = least squares" in legends["flat"] and "MAP = ridge" in legends["ridge"]
    assert not any("least squares" in label for label in legends["ridge"])
    plt.close("all")


@pytest.mark.parametrize("case, options, index, key, value", [
    ("too few rows", {"w_prior_sd": 10.0}, 0, "max_rel_diff_map_vs_ridge", lambda s: 10 * s["tolerance_ridge"]),
    ("too few rows", {"w_prior_sd": 10.0}, 1, "rel_diff_sigma2_map_vs_sse_over_n", lambda s: 1e-6),
    ("too few rows", {"w_prior_sd": 10.0}, 2, "nll_identity_max_rel_diff", lambda s: 1e-6),
    ("constant target", {"sigma": 0.5, "w_prior_sd": 10.0}, 0, "max_rel_diff_map_vs_ridge",
     lambda s: 10 * s["tolerance_ridge"]),
    ("too few rows", {"sigma": 0.5}, 2, "nuts_vs_exact_max_abs_z_mean", lambda s: 6.0),
], ids=["ridge", "ridge-sigma2", "ridge-nll", "ridge-fixed-sigma", "fixed-sigma-nuts"])
def test_checks_can_fail_with_the_model_options(usable, case, options, index, key, value):
    """Under --w-prior-sd / --sigma too, a number out of its tolerance fails its check, and only that one; the
    check not measured stays so."""
    result = usable(case, **options)
    before = [c["ok"] for c in your_data.checks(result)]
    summary = dict(result["summary"])
    summary[key] = value(summary)
    after = [c["ok"] for c in your_data.checks({**result, "summary": summary})]
    assert before[index] is True and after == [False if i == index else ok for i, ok in enumerate(before)]


def test_a_target_of_zeros_with_a_fixed_sigma_compares_the_map_in_absolute_terms(tmp_path):
    """Least squares gives w = 0 exactly: the difference is measured against 1, not divided by 0."""
    path = tmp_path / "zeros.csv"
    np.savetxt(path, np.column_stack([np.arange(6.0), np.arange(6.0) ** 2, np.zeros(6)]), delimiter=",",
               header="a,b,y", comments="", fmt="%.6f")
    x, t, model, map_point = your_data.load_model(path, ["a", "b"], "y", sigma=0.5)
    fit = your_data.map_against_sklearn(model, map_point, x, t, sigma=0.5)
    assert fit["max_rel_diff_w"] == 0.0 and "sigma_map" not in fit


def test_the_model_options_reach_the_analysis_config(diabetes_csv, tmp_path, monkeypatch):
    """--sigma and --w-prior-sd, parsed, go through runner.run into your_data.config (and so into the settings)."""
    from analyses import report, runner

    class Stop(Exception):
        pass

    def compute(setting, *args, **kwargs):
        raise Stop(setting)

    monkeypatch.setattr(your_data, "compute", compute)
    args = report.parse_args(["--data", str(diabetes_csv), "--x", "bmi", "--t", "target", "--sigma", "0.5",
                              "--w-prior-sd", "2e1", "--out", str(tmp_path)], "x", accepts_data=True)
    with pytest.raises(Stop) as stop:
        runner.run(your_data, args)
    (setting,) = stop.value.args
    assert setting["sigma"] == 0.5 and setting["w_prior_sd"] == 20.0


@pytest.mark.parametrize("given, advice", [("--sigma", PRIOR), ("--w-prior-sd", SIGMA)])
def test_python_m_analyses_passes_the_model_options_on(given, advice, tmp_path, capsys):
    """Through the command's main: with one option given, N < p still needs the other one, and the advice says so
    (without the option passed on, it would advise both together)."""
    path = refused_file("fewer rows than weights", tmp_path)
    status, output = refused(capsys, "--data", path, "--x", "a,b", "--t", "y", given, "0.5", "--quick",
                             "--out", tmp_path / "out")
    assert status == 2, output.err[-2000:]
    assert output.err.strip().splitlines()[-1] == f"on the command line: {advice}"


def test_many_weights_show_the_clearest_in_the_figure_and_every_one_in_the_table():
    """300 inputs fit in 24 s (the statistics by cost); the figure draws MAX_WEIGHT_PANELS weights, named in the
    caption's count, those farthest from 0 in posterior sds."""
    rng = np.random.default_rng(4)
    p = 30
    means = np.zeros(p)
    means[[3, 17, 29]] = [5.0, -4.0, 3.0]
    draws = means + rng.normal(size=(2, 200, p))
    features = [f"c{j}" for j in range(p)]
    idata = az.from_dict({"posterior": {"w": draws, "sigma": np.abs(rng.normal(1, 0.1, size=(2, 200)))}},
                         dims={"w": ["feature"]}, coords={"feature": features})
    shown = your_data.shown_weights(idata)
    assert len(shown) == your_data.MAX_WEIGHT_PANELS and {"c3", "c17", "c29"} <= set(shown)
    assert shown == sorted(shown, key=features.index)  # in the table's order
    figure = your_data.plot_posteriors(idata, means, 1.0)
    assert len([axis for axis in figure.axes if axis.lines]) == your_data.MAX_WEIGHT_PANELS + 1
    plt.close(figure)
    assert your_data.shown_weights(idata.sel(feature=features[:5])) == features[:5]


@pytest.mark.parametrize("lines, message", [
    (["a,b,y", "1,2,3", "2,x,4"], "column 'b', line 3: 'x' is not a number"),
    (["a,b,y", '1,"1,200",3', "2,3,4"], "column 'b', line 2: '1,200' has a thousands separator or a decimal comma"),
    (["a,b,y", '1,"2,5",3', "2,3,4"], "column 'b', line 2: '2,5' has a thousands separator or a decimal comma"),
    (["a,b,y", "1,2,3", "2,true,4"], "column 'b', line 3: 'true' is a boolean: write it as 1 or 0"),
    (["a,b,y", "1,2,3", "2,,4"], "column 'b', line 3: '' is a missing value"),
    (["a,b,y", "1,2,3", "2,NaN,4"], "column 'b', line 3: 'NaN' is a missing value"),
    (["a,b,y", "1,2,3", "2,3,-inf"], "column 'y', line 3: '-inf' is infinite"),
    (["a,b,y", "1,2,3", "2,1_000,4"], "column 'b', line 3: '1_000' is not a number"),
    (["a,b,y", "1,2,3", "", "2,3,4"], "line 3 is blank"),
    (["a,b,y", "1,2,3", "2,3,4,5"], "line 3 has 4 fields but the header has 3"),
    (["a,b,y"], "the file has a header but no rows"),
    (["a,b,y", "1,2,3", '2,3,"4', '5"'], "column 'y', line 3: '4\\n5' is not a number"),  # a quoted line break
], ids=["text", "thousands", "decimal comma", "boolean", "empty", "NaN", "inf", "underscore", "blank line",
        "extra field", "header only", "quoted newline"])
def test_a_cell_that_is_not_a_finite_number_is_named_by_column_and_line(lines, message, tmp_path):
    """Nothing skipped, guessed or converted: the file's own line (1-based, as an editor shows it)."""
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        data.load_csv(path, ["a", "b"], "y")


def test_a_clean_file_is_read_as_written(tmp_path):
    path = tmp_path / "clean.csv"
    path.write_text('a,b,y\n1,2.5e-3,3\n-2, 4 ,"5"\n\n\n')  # blank lines at the end are no rows
    x, t = data.load_csv(path, ["a", "b"], "y")
    np.testing.assert_array_equal(x.to_numpy(), [[1.0, 2.5e-3], [-2.0, 4.0]])
    np.testing.assert_array_equal(t.to_numpy(), [3.0, 5.0])


def test_the_ridge_tolerance_follows_the_problem_solved_not_the_rank_deficient_design(tmp_path):
    """Two proportional inputs: the design's condition number is ~1e16 (a tolerance of 100 eps cond would be ~600,
    a check that cannot fail); ridge solves the design stacked over the prior's rows, whose conditioning sets it."""
    path = refused_file("proportional inputs", tmp_path)
    x, t, model, map_point = your_data.load_model(path, ["a", "b"], "y", w_prior_sd=3.0)
    fit = your_data.map_against_sklearn(model, map_point, x, t, w_prior_sd=3.0)
    assert np.linalg.cond(fit["design"]) > 1e12
    assert fit["tolerance_w"] <= 1e-8 and fit["max_rel_diff_w"] <= fit["tolerance_w"]
