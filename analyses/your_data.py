r"""The core analyses on your own data: MAP = least squares, sigma^2 = SSE/N, and what the MAP leaves out.

Model, on the columns of a CSV file: :math:`t_n \sim \mathcal N(w_0 + \sum_j w_j x_{nj}, \sigma^2)` with a flat
prior on ``w`` and on :math:`\sigma` (``HalfFlat``), the maximum-likelihood reading of the MSE. Shown:

1. the MAP equals least squares (scikit-learn's ``LinearRegression``, computed independently);
2. the MAP noise level is :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56), and the model's negative
   log-likelihood is :math:`\frac{N}{2\sigma^2}\mathrm{MSE}(w) + \frac N2\log(2\pi\sigma^2)` at random ``w``;
3. the full posterior next to the MAP point: NUTS (``sample_posterior``) against the exact Student-t /
   inverse-gamma posterior (``exact_posterior``), and the posterior predictive intervals of the observations.

From 5000 rows on the model observes the data through its sufficient statistics (``models.statistics``), so a
large file costs one pass over its rows.

Run: ``python -m analyses --data FILE.csv --x COL[,COL] --t COL [--quick] [--seed N] [--out DIR]``
(or ``python -m analyses.your_data`` with the same options).
"""

import csv
import re
import sys
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from models import (
    check_posterior,
    convergence,
    exact_posterior,
    fit_map,
    gaussian_regression,
    log_likelihood_at,
    mse,
    predict,
    sample_posterior,
)

from . import runner
from .plots import REFERENCE_COLOR_NAME, posterior_with_reference
from .report import check, table

NAME = "your_data"
TITLE = "Your data"  # the heading adds the file's name (compute's "title")
CLAIM = ("On any data, the Gaussian model's MAP is least squares and its sigma^2 is SSE/N; the posterior adds what the "
         "point leaves out.")
FIGURE_ROWS = 500  # rows drawn (seeded) for the predictive figure; the fit itself uses every row
INTERVAL = 0.9  # the probability of every interval shown: equal-tailed, in the figures and the table alike
PERCENT = f"{100 * INTERVAL:.0f}%"
TAILS = ((1 - INTERVAL) / 2, (1 + INTERVAL) / 2)  # its quantiles, 5% and 95%
SIZES = ("draws", "tune", "chains", "exact_draws", "random_w")  # the keys of config that are run sizes


def config(quick=False, full=False, *, data=None, x=None, t=None):
    """The run's sizes (NUTS draws and tuning steps, chains, exact draws, random points of the NLL identity) and the
    file: ``data`` (a path), ``x`` (the input columns) and ``t`` (the target column), as ``--data``, ``--x``, ``--t``.
    """
    if data is None:
        print("error: analyses.your_data needs --data FILE.csv --x COL[,COL] --t COL", file=sys.stderr)
        sys.exit(2)
    return {"draws": 500 if quick else 1000, "tune": 500 if quick else 1000, "chains": 4,
            "exact_draws": 4000 if quick else 20000, "random_w": 20 if quick else 200,
            "data": data, "x": list(x), "t": t}


# 1,200 / 1.200,5 / 1'200 / 1 200, and a decimal comma: 2,5
THOUSANDS = re.compile(r"[+-]?(\d{1,3}([,.' ]\d{3})+([.,]\d*)?|\d+,\d+)")


def load(path, x_columns, t_column):
    """The input columns (a DataFrame, so the weights are named after them) and the target (a Series).

    Read cell by cell: a cell that is not a finite number, a line with a field too many or too few, a blank line
    between rows (blank lines at the end are ignored) or a file without rows is refused with a ValueError naming
    the column and the file's line (1-based, as an editor shows it). Nothing is skipped, guessed or converted
    (pandas would skip blank lines and read "1,200" or "true" as text, leaving the line unnamed).
    """
    names = [*x_columns, t_column]
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        where = {name: header.index(name) for name in names}
        columns = {name: [] for name in names}
        line = reader.line_num + 1  # where the next record starts (a quoted cell may span lines)
        blank = None  # the first blank line: allowed at the end of the file only
        for record in reader:
            if not any(cell.strip() for cell in record):
                blank = line if blank is None else blank
                line = reader.line_num + 1
                continue
            if blank is not None:
                raise ValueError(f"line {blank} is blank: remove it (every line after the header is one row)")
            if len(record) != len(header):
                raise ValueError(f"line {line} has {len(record)} fields but the header has {len(header)}: a "
                                 "separator too many or too few (a decimal comma or a thousands separator needs "
                                 "the cell in quotes)")
            for name, index in where.items():
                columns[name].append(_number(record[index], name, line))
            line = reader.line_num + 1
    if not columns[t_column]:
        raise ValueError("the file has a header but no rows")
    frame = pd.DataFrame(columns, dtype=float)
    return frame[list(x_columns)], frame[t_column]


def _number(cell, column, line):
    """The float in ``cell`` of ``column`` on ``line``, or a ValueError saying what it is instead."""
    text = cell.strip()
    where = f"column {column!r}, line {line}: {cell!r}"
    if not text or text.lower() in ("na", "nan", "n/a", "null", "none"):
        raise ValueError(f"{where} is a missing value: fill it in or remove the line")
    if text.lower() in ("true", "false", "yes", "no"):
        raise ValueError(f"{where} is a boolean: write it as 1 or 0")
    if THOUSANDS.fullmatch(text) and not _is_float(text):
        raise ValueError(f"{where} has a thousands separator or a decimal comma: write it as a plain number "
                         "(1200.5)")
    if "_" in text or not _is_float(text):
        raise ValueError(f"{where} is not a number: correct it, or leave the column out of --x/--t")
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"{where} is {'a missing value (NaN)' if value != value else 'infinite'}: give a finite "
                         "number or remove the line")
    return value


def _is_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def map_against_least_squares(model, x, t):
    """The model's MAP next to scikit-learn's least squares, with the tolerance the data's conditioning allows."""
    map_point = fit_map(model)
    regression = LinearRegression().fit(x.to_numpy(dtype=float), t.to_numpy(dtype=float))
    w_sklearn = np.concatenate([[regression.intercept_], regression.coef_])
    design = model.design.features(x)  # the model's own design: the intercept column, then x
    residuals = t.to_numpy(dtype=float) - design @ map_point["w"]
    sse = float(residuals @ residuals)
    condition = float(np.linalg.cond(design))
    return {
        "w_map": map_point["w"],
        "w_sklearn": w_sklearn,
        "max_rel_diff_w": float(np.max(np.abs(map_point["w"] - w_sklearn)) / np.max(np.abs(w_sklearn))),
        # least squares loses about cond(design) * machine epsilon to rounding, in either solver
        "tolerance_w": max(1e-9, 100 * np.finfo(float).eps * condition),
        "condition_number": condition,
        "sigma_map": float(map_point["sigma"]),
        "sse": sse,
        "rel_diff_sigma2_vs_sse_over_n": abs(float(map_point["sigma"]) ** 2 / (sse / len(t)) - 1),
        "design": design,
    }


def nll_identity(model, design, t, w_center, n_points, rng):
    """The model's NLL against N/(2 sigma^2) MSE + N/2 log(2 pi sigma^2) at random (w, sigma) near the MAP."""
    t = t.to_numpy(dtype=float)
    n = len(t)
    scale = np.maximum(np.abs(w_center), 1.0)
    ws = w_center + scale * rng.normal(scale=0.1, size=(n_points, len(w_center)))
    sigmas = np.sqrt(mse(t, design @ w_center)) * rng.uniform(0.5, 2.0, n_points)
    model_nll = -log_likelihood_at(model, np.asarray(ws), sigma=np.asarray(sigmas))  # one compiled function
    formula = np.array([n / (2 * s**2) * mse(t, design @ w) + n / 2 * np.log(2 * np.pi * s**2)
                        for w, s in zip(ws, sigmas)])
    return float(np.max(np.abs(model_nll - formula) / np.abs(formula)))


def nuts_against_exact(nuts, exact):
    """Posterior means in Monte Carlo standard errors, and sd ratios, of NUTS against the exact posterior; the
    ``INTERVAL`` equal-tailed intervals of NUTS."""
    summary = az.summary(nuts, var_names=["w", "sigma"], ci_prob=INTERVAL, ci_kind="eti", round_to="none")
    exact_mean = az.summary(exact, var_names=["w", "sigma"], kind="stats", round_to="none")
    exact_draws = exact.posterior.sizes["draw"] * exact.posterior.sizes["chain"]
    # both means carry Monte Carlo error: NUTS' mcse, and sd / sqrt(draws) for iid exact draws
    error = np.sqrt(summary["mcse_mean"] ** 2 + exact_mean["sd"] ** 2 / exact_draws)
    z = (summary["mean"] - exact_mean["mean"]) / error
    return {"summary": summary, "exact": exact_mean, "max_abs_z_mean": float(np.max(np.abs(z))),
            "max_rel_dev_sd": float(np.max(np.abs(summary["sd"] / exact_mean["sd"] - 1)))}


def predictive_rows(model, idata, x, t, rng, seed):
    """Posterior predictive median and ``INTERVAL`` equal-tailed interval of t at up to FIGURE_ROWS rows (their
    inputs too), and the share of those rows the intervals cover."""
    rows = np.sort(rng.choice(len(t), size=min(FIGURE_ROWS, len(t)), replace=False))
    predictions = predict(model, idata, x.iloc[rows], random_seed=seed).predictions["t"]
    draws = predictions.values.reshape(-1, len(rows))
    low, middle, high = np.quantile(draws, [TAILS[0], 0.5, TAILS[1]], axis=0)
    observed = t.to_numpy(dtype=float)[rows]
    return {"rows": rows, "inputs": x.iloc[rows].to_numpy(dtype=float), "observed": observed, "low": low,
            "middle": middle, "high": high, "coverage_90": float(np.mean((observed >= low) & (observed <= high)))}


def plot_predictive(predictive, w_map, x_columns, t_column):
    """One input: the data with the MAP line and the predictive band; more: observed against predicted."""
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    rows = predictive["rows"]
    if len(x_columns) == 1:
        inputs = predictive["inputs"][:, 0]
        order = np.argsort(inputs)
        axis.fill_between(inputs[order], predictive["low"][order], predictive["high"][order], color="tab:blue",
                          alpha=0.25, label=f"{PERCENT} posterior predictive (equal-tailed)")
        axis.plot(inputs[order], w_map[0] + w_map[1] * inputs[order], color="tab:red", label="MAP = least squares")
        axis.scatter(inputs, predictive["observed"], s=8, color="k", label="data")
        axis.set_xlabel(x_columns[0])
        axis.set_ylabel(t_column)
    else:
        middle = predictive["middle"]
        axis.errorbar(middle, predictive["observed"], xerr=[middle - predictive["low"], predictive["high"] - middle],
                      fmt="o", markersize=3, alpha=0.4, elinewidth=0.6, color="tab:blue",
                      label=f"median and {PERCENT} posterior predictive (equal-tailed)")
        limits = [min(predictive["low"].min(), predictive["observed"].min()),
                  max(predictive["high"].max(), predictive["observed"].max())]
        axis.plot(limits, limits, "k--", linewidth=1, label="observed = predicted")
        axis.set_xlabel(f"predicted {t_column}")
        axis.set_ylabel(f"observed {t_column}")
    axis.set_title(f"{len(rows)} rows: {PERCENT} intervals cover {predictive['coverage_90']:.0%}")
    axis.legend(fontsize=8)
    return figure


MAX_WEIGHT_PANELS = 11  # with sigma's, 12 panels: 4 rows of 3 at page width


def shown_weights(idata):
    """The weights drawn in the posterior figure: all of them up to ``MAX_WEIGHT_PANELS``, else that many with the
    largest |posterior mean| / posterior sd (the table lists every one)."""
    w = idata["posterior"]["w"]
    features = list(w["feature"].values)
    if len(features) <= MAX_WEIGHT_PANELS:
        return features
    z = np.abs(w.mean(("chain", "draw")) / w.std(("chain", "draw"))).values
    return [features[i] for i in sorted(np.argsort(-z, kind="stable")[:MAX_WEIGHT_PANELS])]


def plot_posteriors(idata, w_map, sigma_map):
    """ArviZ's marginal posteriors of the weights :func:`shown_weights` chooses and of sigma (``INTERVAL``
    equal-tailed), the MAP as reference."""
    features = list(idata["posterior"]["w"]["feature"].values)
    shown = shown_weights(idata)
    if len(shown) < len(features):
        keep = [features.index(name) for name in shown]
        idata = idata.copy()
        idata["posterior"] = idata["posterior"].to_dataset().sel(feature=shown)
        w_map = np.asarray(w_map)[keep]
    return posterior_with_reference(idata, {"w": w_map, "sigma": sigma_map}, var_names=["w", "sigma"],
                                    ci_prob=INTERVAL, title=f"Posterior (NUTS): density, mean and {PERCENT} "
                                    f"equal-tailed interval; the MAP point as a dashed {REFERENCE_COLOR_NAME} line")


def load_model(path, x_columns, t_column):
    """The columns of the file and the flat-prior Gaussian model on them; a column the model cannot take (text,
    missing values) ends the run with status 2 and the builder's reason, as a bad option does."""
    try:
        x, t = load(path, x_columns, t_column)
        model = gaussian_regression(x, t)
        check_posterior(model)  # this run samples the posterior: an improper one is refused now, not after the MAP
        return x, t, model
    except (TypeError, ValueError) as error:  # the builder names the column and the problem
        print(f"error: --data {path}: {error}", file=sys.stderr)
        sys.exit(2)


def compute(config, rng, cache=None, progressbar=False):
    """The MAP against least squares, the NLL identity at random points, NUTS against the exact posterior and the
    posterior predictive of the observations, on the file ``config["data"]`` (not cached: the file may change)."""
    x, t, model = load_model(config["data"], config["x"], config["t"])
    features = list(model.coords["feature"])
    fit = map_against_least_squares(model, x, t)
    identity = nll_identity(model, fit["design"], t, fit["w_map"], config["random_w"], rng)
    seeds = rng.integers(2**31, size=3)
    print(f"  NUTS on {len(t)} rows x {len(features)} weights ...", flush=True)
    nuts = sample_posterior(model, draws=config["draws"], tune=config["tune"], chains=config["chains"],
                            random_seed=int(seeds[0]), progressbar=progressbar)
    gate = convergence(nuts)
    exact = exact_posterior(model, draws=config["exact_draws"], random_seed=int(seeds[1]), log_likelihood=False)
    compared = nuts_against_exact(nuts, exact)
    predictive = predictive_rows(model, nuts, x, t, rng, int(seeds[2]))
    summary = {
        "n": len(t), "features": features, "settings": {key: config[key] for key in SIZES},
        "w_map": fit["w_map"], "sigma_map": fit["sigma_map"], "w_least_squares_sklearn": fit["w_sklearn"],
        "max_rel_diff_map_vs_least_squares": fit["max_rel_diff_w"], "tolerance_least_squares": fit["tolerance_w"],
        "condition_number": fit["condition_number"],
        "rel_diff_sigma2_map_vs_sse_over_n": fit["rel_diff_sigma2_vs_sse_over_n"],
        "nll_identity_max_rel_diff": identity,
        "posterior_mean": compared["summary"]["mean"].to_dict(), "posterior_sd": compared["summary"]["sd"].to_dict(),
        "nuts_vs_exact_max_abs_z_mean": compared["max_abs_z_mean"],
        "nuts_vs_exact_max_rel_dev_sd": compared["max_rel_dev_sd"],
        "in_sample_coverage_90": predictive["coverage_90"],
    }
    return {"summary": summary, "title": f"{TITLE}: {Path(config['data']).name}", "config": config,
            "features": features, "sse": fit["sse"], "nuts": nuts,
            "posterior_table": compared["summary"], "exact_mean": compared["exact"]["mean"],
            "predictive": predictive,
            "convergence": [{"run": f"NUTS, {config['chains']} chains x {config['draws']} draws", **gate}]}


def checks(result):
    """MAP = least squares (to the data's conditioning), sigma_MAP^2 = SSE/N, the NLL identity, NUTS = exact."""
    s = result["summary"]
    difference, tolerance, z, sd = (s[k] for k in ("max_rel_diff_map_vs_least_squares", "tolerance_least_squares",
                                                   "nuts_vs_exact_max_abs_z_mean", "nuts_vs_exact_max_rel_dev_sd"))
    return [
        check("MAP = least squares (scikit-learn's LinearRegression)",
              f"max |dw| / max |w| = {difference:.1e} (tolerance {tolerance:.0e}: 1e-9, or "
              f"100 eps cond = 100 eps x {s['condition_number']:.1e} when larger)", difference <= tolerance),
        check("MAP sigma^2 = SSE/N",
              f"relative difference {s['rel_diff_sigma2_map_vs_sse_over_n']:.1e} (tolerance 1e-9)",
              s["rel_diff_sigma2_map_vs_sse_over_n"] <= 1e-9),
        check("-log p(t | w, sigma) = N/(2 sigma^2) MSE(w) + N/2 log(2 pi sigma^2)",
              f"max relative difference {s['nll_identity_max_rel_diff']:.1e} at {s['settings']['random_w']} random "
              "(w, sigma) (tolerance 1e-10)", s["nll_identity_max_rel_diff"] <= 1e-10),
        # 5 Monte Carlo standard errors; the sd of a sd estimate from >= 400 effective draws is <= 3.5%, so 15% is
        # 4 of them
        check("NUTS draws the exact posterior", f"posterior means within {z:.1f} Monte Carlo standard errors "
              f"(tolerance 5), sds within {sd:.1%} (tolerance 15%)", z <= 5 and sd <= 0.15),
    ]


def figures(result):
    """The posterior predictive intervals of the observations, and the marginal posteriors with the MAP.

    The user's column names are data: shown as typed, never read as matplotlib's mathtext (``$...$``)."""
    with plt.rc_context({"text.parse_math": False}):
        return _figures(result)


def _names(columns, most=10):
    """The input columns, as a list in the text: all of them, or the first ``most`` and how many in all."""
    if len(columns) <= most + 2:
        return ", ".join(columns)
    return f"{', '.join(columns[:most])}, ... ({len(columns)} in all, in the table)"


def _which_weights(result):
    total, shown = len(result["features"]), len(shown_weights(result["nuts"]))
    if shown == total:
        return "each weight"
    return (f"{shown} of the {total} weights, those farthest from 0 in posterior sds (the table lists every "
            "weight)")


def _figures(result):
    setting, s, predictive = result["config"], result["summary"], result["predictive"]
    if len(setting["x"]) == 1:
        predictive_caption = (f"Posterior predictive {PERCENT} equal-tailed intervals of the observations (blue band) "
                              f"around the MAP line (red), with the data (black dots), at {len(predictive['rows'])} "
                              "rows.")
    else:
        predictive_caption = (f"Observed against predicted at {len(predictive['rows'])} rows: the posterior "
                              f"predictive median (blue dots) with its {PERCENT} equal-tailed interval (blue bars); "
                              "the dashed black line is observed = predicted.")
    return {
        "predictive": (plot_predictive(predictive, np.asarray(s["w_map"]), setting["x"], setting["t"]),
                       predictive_caption),
        "posterior": (plot_posteriors(result["nuts"], s["w_map"], s["sigma_map"]),
                      f"Posterior (NUTS) of {_which_weights(result)} and sigma: density (blue), mean (grey dot) "
                      f"and {PERCENT} equal-tailed interval (grey bar), the interval of the table; the MAP as a "
                      f"dashed {REFERENCE_COLOR_NAME} line."),
    }


def tables(result):
    """The MAP, least squares and the posterior (NUTS, with the exact posterior mean) per weight and sigma."""
    s, posterior, exact_mean = result["summary"], result["posterior_table"], result["exact_mean"]
    features, n = result["features"], result["summary"]["n"]
    low, high = (f"eti{100 * INTERVAL:.0f}_{end}" for end in ("lb", "ub"))
    rows = [[name, float(s["w_map"][i]) if i < len(features) else s["sigma_map"],
             float(s["w_least_squares_sklearn"][i]) if i < len(features) else np.sqrt(result["sse"] / n),
             *(float(posterior[column].iloc[i]) for column in ("mean", "sd", low, high)),
             float(exact_mean.iloc[i]), float(posterior["r_hat"].iloc[i]), float(posterior["ess_bulk"].iloc[i])]
            for i, name in enumerate([*(f"w[{f}]" for f in features), "sigma"])]
    return [table("MAP, least squares and the posterior (NUTS; exact posterior mean alongside)",
                  ["", "MAP", "least squares (sklearn; sigma: sqrt(SSE/N))", "posterior mean", "posterior sd",
                   f"{100 * TAILS[0]:.0f}% ({PERCENT} equal-tailed interval)", f"{100 * TAILS[1]:.0f}%",
                   "exact posterior mean", "R-hat", "bulk ESS"], rows)]


def text(result):
    """The paragraph: the MAP is least squares and sqrt(SSE/N); the posterior and the predictive coverage."""
    setting, s, predictive = result["config"], result["summary"], result["predictive"]
    n, p = s["n"], len(result["features"])
    return (
        f"{setting['data'].name}: {n} rows, t = {setting['t']}, inputs {_names(setting['x'])} and an intercept, "
        f"flat priors on w and sigma. The MAP equals scikit-learn's least squares to "
        f"{s['max_rel_diff_map_vs_least_squares']:.1e} (relative), and the MAP noise level is the root-mean-square "
        f"residual, sigma = sqrt(SSE/N) = {s['sigma_map']:.4g}: the MSE is the Gaussian likelihood. The posterior is "
        f"wider than that point: NUTS gives sigma = {s['posterior_mean']['sigma']:.4g} on average (the exact "
        f"posterior of sigma^2 is inverse-gamma with N - p = {n - p} degrees of freedom, above SSE/N), and every "
        f"weight an interval; the {PERCENT} posterior predictive intervals cover {s['in_sample_coverage_90']:.0%} of "
        f"{len(predictive['rows'])} observed rows (near {PERCENT} when the model fits the data; not a check, your "
        "data decide)."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv, accepts_data=True)


if __name__ == "__main__":
    main()
