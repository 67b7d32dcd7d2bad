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

from analyses import plots, your_data
from analyses.report import ANALYSES

ROOT = Path(__file__).resolve().parents[1]


def run(*options, timeout=600):
    return subprocess.run([sys.executable, "-m", "analyses", *map(str, options)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


A, B, T = "$a$ (in $)", "b_1^2 <i>x</i>", "y & <z>"  # the small file's columns: x, and the target


@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    """your_data's quick compute on a small file of its own: 60 rows, two inputs, y = 1 + 2a - b + N(0, 0.5^2).

    The columns are named like markup (matplotlib's mathtext, HTML): names are data, shown verbatim."""
    rng = np.random.default_rng(60)
    inputs = rng.normal(size=(60, 2))
    path = tmp_path_factory.mktemp("small") / "small.csv"
    pd.DataFrame({A: inputs[:, 0], B: inputs[:, 1],
                  T: 1 + inputs @ [2.0, -1.0] + 0.5 * rng.normal(size=60)}).to_csv(path, index=False)
    setting = your_data.config(quick=True, data=path, x=[A, B], t=T)
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
    plt.close(figure)


def test_list_names_every_analysis():
    completed = run("--list", timeout=300)
    assert completed.returncode == 0, completed.stderr
    names = [line.split()[0] for line in completed.stdout.splitlines()]
    assert names == [*ANALYSES, "your_data"]


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
], ids=["x-without-data", "no-t", "unknown-column", "t-among-x", "no-file", "with-only"])
def test_bad_data_options_exit_2_with_the_reason(options, message, diabetes_csv):
    completed = run(*(option.format(csv=diabetes_csv) for option in options), timeout=120)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr


def test_other_analyses_refuse_data_and_bad_values_are_named(diabetes_csv, tmp_path):
    completed = subprocess.run([sys.executable, "-m", "analyses.learned_sigma", "--data", str(diabetes_csv), "--x",
                                "bmi", "--t", "target"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and "--data is read by" in completed.stderr
    broken = tmp_path / "broken.csv"
    frame = pd.read_csv(diabetes_csv)
    frame.loc[7, "bmi"] = np.nan
    frame.to_csv(broken, index=False)
    completed = run("--data", broken, "--x", "bmi", "--t", "target", "--out", tmp_path / "out", timeout=300)
    assert completed.returncode == 2, completed.stderr[-2000:]
    # row 7 of the frame is line 9 of the file (the header is line 1, rows count from 0)
    assert f"error: --data {broken}: column 'bmi', line 9: '' is a missing value" in completed.stderr
    assert not (tmp_path / "out" / "your_data").exists()  # nothing half-written


@pytest.mark.parametrize("header, options, message", [
    ("a,a,y", ["--x", "a", "--t", "y"], "line 1 of {csv} names more than one column 'a'"),
    ("a,b,y,b", ["--x", "a", "--t", "y"], "names more than one column 'b'"),
    ("1,b,y", ["--x", "1,b", "--t", "y"], "x has a column named '1', the name of the intercept feature"),
], ids=["repeated input", "repeated unused column", "a column named like the intercept"])
def test_column_names_that_would_merge_two_weights_are_refused(header, options, message, tmp_path):
    """pandas renames a repeated header ("a", "a.1") and the intercept is named "1": refused, exit 2, never merged."""
    rng = np.random.default_rng(5)
    path = tmp_path / "names.csv"
    width = len(header.split(","))
    np.savetxt(path, rng.normal(size=(30, width)), delimiter=",", header=header, comments="", fmt="%.6f")
    completed = run("--data", path, *options, "--out", tmp_path / "out", timeout=300)
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert message.format(csv=path) in completed.stderr and "Traceback" not in completed.stderr
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


def test_a_file_too_short_for_a_proper_posterior_is_refused_before_sampling(tmp_path):
    """4 rows, 2 inputs and an intercept: the MAP exists (N = p + 1) but the flat-prior posterior does not."""
    path = tmp_path / "short.csv"
    rows = np.random.default_rng(2).normal(size=(4, 3))
    np.savetxt(path, rows, delimiter=",", header="a,b,y", comments="", fmt="%.6f")
    completed = run("--data", path, "--x", "a,b", "--t", "y", "--out", tmp_path / "out", timeout=300)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert f"error: --data {path}: N = 4 observations for p = 3 weights" in completed.stderr
    assert "the posterior is improper (this prior needs N >= 5)" in completed.stderr


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
        your_data.load(path, ["a", "b"], "y")


def test_a_clean_file_is_read_as_written(tmp_path):
    path = tmp_path / "clean.csv"
    path.write_text('a,b,y\n1,2.5e-3,3\n-2, 4 ,"5"\n\n\n')  # blank lines at the end are no rows
    x, t = your_data.load(path, ["a", "b"], "y")
    np.testing.assert_array_equal(x.to_numpy(), [[1.0, 2.5e-3], [-2.0, 4.0]])
    np.testing.assert_array_equal(t.to_numpy(), [3.0, 5.0])
