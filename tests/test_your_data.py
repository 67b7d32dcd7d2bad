"""The command line on a user's own CSV (``--data``), ``--list``, and their refusals of bad options."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from analyses import your_data
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
    x = pd.DataFrame({"dose": np.linspace(0, 1, 5)})
    result = {"rows": np.arange(5), "observed": np.arange(5.0), "low": np.arange(5.0) - 1,
              "middle": np.arange(5.0), "high": np.arange(5.0) + 1, "coverage_90": 1.0}
    figure = your_data.plot_predictive(x, result, {"w_map": np.array([0.0, 4.0])}, ["dose"], "response")
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
    assert "error: --data" in completed.stderr and "in column(s) 'bmi', first at row(s) 7" in completed.stderr
    assert not (tmp_path / "out" / "your_data").exists()  # nothing half-written
