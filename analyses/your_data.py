r"""The core analyses on your own data: MAP = least squares, sigma^2 = SSE/N, and what the MAP leaves out.

Model, on the columns of a CSV file: :math:`t_n \sim \mathcal N(w_0 + \sum_j w_j x_{nj}, \sigma^2)` with a flat
prior on ``w`` and on :math:`\sigma` (``HalfFlat``), the maximum-likelihood reading of the MSE. Shown:

1. the MAP equals least squares (scikit-learn's ``LinearRegression``, computed independently);
2. the MAP noise level is :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56), and the model's negative
   log-likelihood is :math:`\frac{N}{2\sigma^2}\mathrm{MSE}(w) + \frac N2\log(2\pi\sigma^2)` at random ``w``;
3. the full posterior next to the MAP point: NUTS (``sample_posterior``) against the exact Student-t /
   inverse-gamma posterior (``exact_posterior``), and the posterior predictive intervals of the observations.

The NUTS here is PyMC's own (``nuts_sampler="pymc"``), not nutpie, the suite's default: a file is one model run once, in
a new process, and nutpie compiles every model afresh with numba in every process (numba cannot cache that compilation),
18 s on the 2-core machine of the README for a 200-row, 3-column file, where its sampling takes 1 s. PyMC's NUTS
compiles the density and gradient with the C backend (``models.fit.backend``): one module per operation, cached across
runs, so a second file of the same shape compiles nothing. Its run: 4 chains x (500 tuning steps + 500 draws), 2000
draws whose effective sample size is far above the gates' 400, on every core (``cores``: PyMC alone counts half of this
machine's two CPUs and would run the chains one after another). Measured on a 200-row, 3-column file, warm, the old and
new code alternating: the analysis 15-16 s -> 8.4-8.9 s (before: 4 chains of 1000 + 1000 steps one after another;
``sample_posterior``'s shallow early trees, explained there, halve the tuning's work).

Two options change the model, for data these defaults cannot take (an exact fit, too few rows for a proper
posterior; the refusal names the ones that help): ``--sigma S`` fixes the noise sd at S (then there is no
:math:`\hat\sigma` to check, and the exact posterior of ``w`` is Gaussian), and ``--w-prior-sd S`` puts a
:math:`\mathcal N(0, S^2)` prior on every weight, the intercept included (then the MAP is ridge regression,
scikit-learn's ``Ridge(alpha=sigma^2/S^2)``; with a learned sigma its posterior has no closed form, and NUTS is not
compared with one).

From 5000 rows on the model observes the data through its sufficient statistics (``models.statistics``), so a
large file costs one pass over its rows.

Run: ``python -m analyses --data FILE.csv --x COL[,COL] --t COL [--sigma S] [--w-prior-sd S] [--quick] [--seed N]
[--out DIR]`` (or ``python -m analyses.your_data`` with the same options).
"""

import os
import sys
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression, Ridge

from models import (
    check_posterior,
    convergence,
    exact_posterior,
    fit_map,
    gaussian_regression,
    log_likelihood_at,
    mse,
    predict,
    priors,
    sample_posterior,
)

from . import runner
from .data import load_csv
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
MODEL_OPTIONS = ("sigma", "w_prior_sd")  # the keys of config that change the model (--sigma, --w-prior-sd)
NO_CLOSED_FORM = "no closed form for a Normal prior on w with a learned sigma"  # why NUTS is compared with nothing


def config(quick=False, full=False, *, data=None, x=None, t=None, sigma=None, w_prior_sd=None):
    """The run's sizes (NUTS draws and tuning steps, chains, exact draws, random points of the NLL identity), the
    file: ``data`` (a path), ``x`` (the input columns) and ``t`` (the target column), as ``--data``, ``--x``, ``--t``,
    and the model: ``sigma`` (a fixed noise sd, ``--sigma``; None: learned, HalfFlat) and ``w_prior_sd`` (the sd of a
    Normal(0, sd) prior on every weight, ``--w-prior-sd``; None: flat).
    """
    if data is None:
        print("error: analyses.your_data needs --data FILE.csv --x COL[,COL] --t COL", file=sys.stderr)
        sys.exit(2)
    # NUTS: 500 + 500 steps per chain, the chains on every core (the module's docstring: why)
    return {"draws": 500, "tune": 500, "chains": 4, "cores": min(4, os.cpu_count() or 1), "nuts_sampler": "pymc",
            "exact_draws": 4000 if quick else 20000, "random_w": 20 if quick else 200,
            "data": data, "x": list(x), "t": t, "sigma": sigma, "w_prior_sd": w_prior_sd}


def map_against_sklearn(model, map_point, x, t, *, sigma=None, w_prior_sd=None):
    """The model's MAP (``map_point``, from :func:`load_model`) next to its scikit-learn twin, with the tolerance the
    data's conditioning allows.

    The twin is least squares (``LinearRegression``) under a flat prior on w, and ``Ridge(alpha=sigma^2/S^2,
    fit_intercept=False)`` on the model's design (the intercept column included, so it is penalized as every weight
    is) under a Normal(0, S) prior, ``S = w_prior_sd``; sigma is the fixed one (``sigma``) or the MAP's, at which
    the MAP of w is the ridge fit. Returns the weights, their largest relative difference and its tolerance, and,
    for a learned sigma, the MAP's sigma against sqrt(SSE/N) at the MAP weights.
    """
    design = model.design.features(x)  # the model's own design: the intercept column, then x
    target = t.to_numpy(dtype=float)
    residuals = target - design @ map_point["w"]
    sse = float(residuals @ residuals)
    noise = float(map_point["sigma"]) if sigma is None else float(sigma)
    if w_prior_sd is None:
        regression = LinearRegression().fit(x.to_numpy(dtype=float), target)
        w_sklearn, alpha = np.concatenate([[regression.intercept_], regression.coef_]), None
    else:
        alpha = noise**2 / w_prior_sd**2
        # the SVD solver: the normal equations of the default one would lose cond(design)^2 * eps
        w_sklearn = Ridge(alpha=alpha, fit_intercept=False, solver="svd").fit(design, target).coef_
    # the conditioning of the problem solved: the design, or under a Normal prior the design stacked over the prior's
    # rows (ridge's least squares), which stays well conditioned where the design itself is rank deficient
    stacked = design if w_prior_sd is None else np.vstack([design, np.sqrt(alpha) * np.eye(design.shape[1])])
    condition = float(np.linalg.cond(stacked))
    size = float(np.max(np.abs(w_sklearn))) or 1.0  # all weights 0 (a target of zeros): the absolute difference
    fit = {
        "reference": "least_squares" if w_prior_sd is None else "ridge",
        "w_map": map_point["w"],
        "w_sklearn": w_sklearn,
        "alpha": alpha,
        "max_rel_diff_w": float(np.max(np.abs(map_point["w"] - w_sklearn)) / size),
        # least squares loses about cond(design) * machine epsilon to rounding, in either solver; the ridge
        # problem is no worse conditioned
        "tolerance_w": max(1e-9, 100 * np.finfo(float).eps * condition),
        "condition_number": condition,
        "sse": sse,
        "design": design,
    }
    if sigma is None:
        fit["sigma_map"] = noise
        fit["rel_diff_sigma2_vs_sse_over_n"] = abs(noise**2 / (sse / len(t)) - 1)
    return fit


def nll_identity(model, design, t, w_center, n_points, rng, sigma=None):
    """The model's NLL against N/(2 sigma^2) MSE + N/2 log(2 pi sigma^2) at random (w, sigma) near the MAP, or at
    random w with the fixed ``sigma``.

    The difference is relative to the size of the two terms (their absolute values summed): the formula's value
    itself may be near 0 where they cancel."""
    t = t.to_numpy(dtype=float)
    n = len(t)
    scale = np.maximum(np.abs(w_center), 1.0)
    ws = w_center + scale * rng.normal(scale=0.1, size=(n_points, len(w_center)))
    if sigma is None:
        sigmas = np.sqrt(mse(t, design @ w_center)) * rng.uniform(0.5, 2.0, n_points)
        model_nll = -log_likelihood_at(model, np.asarray(ws), sigma=np.asarray(sigmas))  # one compiled function
    else:
        sigmas = np.full(n_points, float(sigma))
        model_nll = -log_likelihood_at(model, np.asarray(ws))  # the model's own fixed sigma
    terms = np.array([(n / (2 * s**2) * mse(t, design @ w), n / 2 * np.log(2 * np.pi * s**2))
                      for w, s in zip(ws, sigmas)])
    formula = terms.sum(axis=1)
    return float(np.max(np.abs(model_nll - formula) / np.abs(terms).sum(axis=1)))


def nuts_against_exact(nuts, exact):
    """Posterior means in Monte Carlo standard errors, and sd ratios, of NUTS against the exact posterior (None when
    there is none: then only NUTS' summary); the ``INTERVAL`` equal-tailed intervals of NUTS. ``sigma`` is compared
    where the posterior has it (a learned sigma)."""
    var_names = ["w", "sigma"] if "sigma" in nuts.posterior else ["w"]
    summary = az.summary(nuts, var_names=var_names, ci_prob=INTERVAL, ci_kind="eti", round_to="none")
    if exact is None:
        return {"summary": summary, "exact": None, "max_abs_z_mean": None, "max_rel_dev_sd": None}
    exact_mean = az.summary(exact, var_names=var_names, kind="stats", round_to="none")
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


def plot_predictive(predictive, w_map, x_columns, t_column, map_label="MAP"):
    """One input: the data with the MAP line (labelled ``map_label``) and the predictive band; more: observed
    against predicted."""
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    rows = predictive["rows"]
    if len(x_columns) == 1:
        inputs = predictive["inputs"][:, 0]
        order = np.argsort(inputs)
        axis.fill_between(inputs[order], predictive["low"][order], predictive["high"][order], color="tab:blue",
                          alpha=0.25, label=f"{PERCENT} posterior predictive (equal-tailed)")
        axis.plot(inputs[order], w_map[0] + w_map[1] * inputs[order], color="tab:red", label=map_label)
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


MAX_WEIGHT_PANELS = 11  # with a learned sigma's, 12 panels: 4 rows of 3 at page width


def shown_weights(idata):
    """The weights drawn in the posterior figure: all of them up to ``MAX_WEIGHT_PANELS``, else that many with the
    largest |posterior mean| / posterior sd (the table lists every one)."""
    w = idata["posterior"]["w"]
    features = list(w["feature"].values)
    if len(features) <= MAX_WEIGHT_PANELS:
        return features
    z = np.abs(w.mean(("chain", "draw")) / w.std(("chain", "draw"))).values
    return [features[i] for i in sorted(np.argsort(-z, kind="stable")[:MAX_WEIGHT_PANELS])]


def plot_posteriors(idata, w_map, sigma_map=None):
    """ArviZ's marginal posteriors of the weights :func:`shown_weights` chooses and of sigma where it is learned (in
    the posterior; ``sigma_map`` its MAP), ``INTERVAL`` equal-tailed, the MAP as reference."""
    features = list(idata["posterior"]["w"]["feature"].values)
    shown = shown_weights(idata)
    if len(shown) < len(features):
        keep = [features.index(name) for name in shown]
        idata = idata.copy()
        idata["posterior"] = idata["posterior"].to_dataset().sel(feature=shown)
        w_map = np.asarray(w_map)[keep]
    reference = {"w": w_map}
    if "sigma" in idata["posterior"]:
        if sigma_map is None:
            raise ValueError("the posterior has a learned sigma: pass its MAP as sigma_map")
        reference["sigma"] = sigma_map
    return posterior_with_reference(idata, reference, var_names=list(reference), ci_prob=INTERVAL,
                                    title=f"Posterior (NUTS): density, mean and {PERCENT} equal-tailed interval; "
                                    f"the MAP point as a dashed {REFERENCE_COLOR_NAME} line")


SIGMA_ADVICE = "--sigma S fixes the noise sd (e.g. the measurement error you know)"
PRIOR_ADVICE = "--w-prior-sd S puts a Normal(0, S) prior on every weight"


def fitted_model(x, t, *, sigma=None, w_prior_sd=None):
    """The Gaussian model on ``x`` and ``t`` and its MAP point: ``sigma`` fixed (None: learned, HalfFlat) and a
    Normal(0, ``w_prior_sd``) prior on every weight (None: flat).

    Raises the library's TypeError or ValueError when the data give no proper posterior (``check_posterior``) or no
    MAP (an exact fit with a learned sigma) under these settings: both before any sampling.
    """
    prior = None if w_prior_sd is None else priors.Normal(w_prior_sd)
    model = gaussian_regression(x, t, sigma=sigma, prior=prior)
    check_posterior(model)  # this run samples the posterior: an improper one is refused now, not after the MAP
    return model, fit_map(model)  # the Gaussian's MAP is a closed form: cheap, and it finds an exact fit


def command_line_advice(x, t, *, sigma=None, w_prior_sd=None):
    """The options not given yet (``--sigma``, ``--w-prior-sd``) with which :func:`fitted_model` takes the data, as
    a line of advice ("" when neither helps): each is tried (at S = 1: whether the posterior and the MAP exist does
    not depend on S), so only what works is advised."""
    def works(**change):
        try:
            fitted_model(x, t, **{"sigma": sigma, "w_prior_sd": w_prior_sd, **change})
        except (TypeError, ValueError):
            return False
        return True

    helps = [advice for option, given, advice in (("sigma", sigma, SIGMA_ADVICE),
                                                  ("w_prior_sd", w_prior_sd, PRIOR_ADVICE))
             if given is None and works(**{option: 1.0})]
    if helps:
        return "on the command line: " + "; ".join(helps)
    if sigma is None and w_prior_sd is None and works(sigma=1.0, w_prior_sd=1.0):
        return f"on the command line, both together: {SIGMA_ADVICE}, and {PRIOR_ADVICE}"
    return ""


def load_model(path, x_columns, t_column, *, sigma=None, w_prior_sd=None):
    """The columns of the file, the Gaussian model on them (:func:`fitted_model`) and its MAP point.

    A column the model cannot take (text, missing values) and data that give no posterior or no MAP under these
    settings end the run with status 2 and the library's reason, as a bad option does, before any sampling; where
    ``--sigma`` or ``--w-prior-sd`` would help, a second line says which (:func:`command_line_advice`).
    """
    try:
        x, t = load_csv(path, x_columns, t_column)
    except (TypeError, ValueError) as error:
        runner.refuse_data(path, error)
    try:
        model, map_point = fitted_model(x, t, sigma=sigma, w_prior_sd=w_prior_sd)
    except (TypeError, ValueError) as error:  # the builder names the column and the problem
        runner.refuse_data(path, error, command_line_advice(x, t, sigma=sigma, w_prior_sd=w_prior_sd))
    return x, t, model, map_point


def compute(config, rng, cache=None, progressbar=False):
    """The MAP against scikit-learn (least squares, or ridge under ``--w-prior-sd``), the NLL identity at random
    points, NUTS against the exact posterior (where there is a closed form) and the posterior predictive of the
    observations, on the file ``config["data"]`` (not cached: the file may change)."""
    sigma, w_prior_sd = config["sigma"], config["w_prior_sd"]
    x, t, model, map_point = load_model(config["data"], config["x"], config["t"], sigma=sigma, w_prior_sd=w_prior_sd)
    features = list(model.coords["feature"])
    fit = map_against_sklearn(model, map_point, x, t, sigma=sigma, w_prior_sd=w_prior_sd)
    identity = nll_identity(model, fit["design"], t, fit["w_map"], config["random_w"], rng, sigma=sigma)
    seeds = rng.integers(2**31, size=3)
    print(f"  NUTS on {len(t)} rows x {len(features)} weights ...", flush=True)
    nuts = sample_posterior(model, draws=config["draws"], tune=config["tune"], chains=config["chains"],
                            random_seed=int(seeds[0]), nuts_sampler=config["nuts_sampler"], progressbar=progressbar,
                            cores=config["cores"], log_likelihood=False)
    gate = convergence(nuts)
    closed_form = sigma is not None or w_prior_sd is None  # Gaussian given sigma; Student-t under flat priors
    exact = (exact_posterior(model, draws=config["exact_draws"], random_seed=int(seeds[1]), log_likelihood=False)
             if closed_form else None)
    compared = nuts_against_exact(nuts, exact)
    predictive = predictive_rows(model, nuts, x, t, rng, int(seeds[2]))
    reference = fit["reference"]
    summary = {
        "n": len(t), "features": features, "settings": {key: config[key] for key in (*SIZES, *MODEL_OPTIONS)},
        "w_map": fit["w_map"], f"w_{reference}_sklearn": fit["w_sklearn"],
        f"max_rel_diff_map_vs_{reference}": fit["max_rel_diff_w"], f"tolerance_{reference}": fit["tolerance_w"],
        "condition_number": fit["condition_number"],
    }
    if fit["alpha"] is not None:
        summary["ridge_alpha"] = fit["alpha"]
    if sigma is None:
        summary["sigma_map"] = fit["sigma_map"]
        summary["rel_diff_sigma2_map_vs_sse_over_n"] = fit["rel_diff_sigma2_vs_sse_over_n"]
    summary.update({
        "nll_identity_max_rel_diff": identity,
        "posterior_mean": compared["summary"]["mean"].to_dict(), "posterior_sd": compared["summary"]["sd"].to_dict(),
        "nuts_vs_exact_max_abs_z_mean": compared["max_abs_z_mean"],
        "nuts_vs_exact_max_rel_dev_sd": compared["max_rel_dev_sd"],
        "in_sample_coverage_90": predictive["coverage_90"],
    })
    return {"summary": summary, "title": f"{TITLE}: {Path(config['data']).name}", "config": config,
            "features": features, "sse": fit["sse"], "nuts": nuts,
            "posterior_table": compared["summary"],
            "exact_mean": None if compared["exact"] is None else compared["exact"]["mean"],
            "predictive": predictive,
            "convergence": [{"run": f"NUTS (nuts_sampler={config['nuts_sampler']!r}), {config['chains']} chains x "
                                            f"{config['draws']} draws", **gate}]}


def _map_claim(settings):
    """The name of the MAP's check and of its scikit-learn twin: least squares, or ridge under a Normal prior."""
    if settings["w_prior_sd"] is None:
        return "MAP = least squares (scikit-learn's LinearRegression)"
    return "MAP = ridge (scikit-learn's Ridge, alpha = sigma^2/S^2)"


def checks(result):
    """MAP = least squares, or ridge under a Normal prior (to the data's conditioning); sigma_MAP^2 = SSE/N where
    sigma is learned; the NLL identity; NUTS = exact, not measured where there is no closed form."""
    s = result["summary"]
    sigma, prior_sd = s["settings"]["sigma"], s["settings"]["w_prior_sd"]
    reference = "least_squares" if prior_sd is None else "ridge"
    difference, tolerance = s[f"max_rel_diff_map_vs_{reference}"], s[f"tolerance_{reference}"]
    measured = (f"max |dw| / max |w| = {difference:.1e} (tolerance {tolerance:.0e}: 1e-9, or 100 eps cond = "
                f"100 eps x {s['condition_number']:.1e} when larger)")
    if prior_sd is not None:
        noise = f"{sigma:.4g} (--sigma)" if sigma is not None else f"{s['sigma_map']:.4g} (the MAP's)"
        measured = f"sigma = {noise}, S = {prior_sd:.4g} (--w-prior-sd): alpha = {s['ridge_alpha']:.3g}; {measured}"
    outcomes = [check(_map_claim(s["settings"]), measured, difference <= tolerance)]
    if sigma is None:  # a fixed sigma has no MAP to compare with SSE/N
        outcomes.append(check("MAP sigma^2 = SSE/N" + ("" if prior_sd is None else " (SSE at the MAP weights)"),
                              f"relative difference {s['rel_diff_sigma2_map_vs_sse_over_n']:.1e} (tolerance 1e-9)",
                              s["rel_diff_sigma2_map_vs_sse_over_n"] <= 1e-9))
    where = (f"{s['settings']['random_w']} random (w, sigma)" if sigma is None
             else f"{s['settings']['random_w']} random w, sigma = {sigma:.4g} (fixed)")
    outcomes.append(check("-log p(t | w, sigma) = N/(2 sigma^2) MSE(w) + N/2 log(2 pi sigma^2)",
                          f"max relative difference {s['nll_identity_max_rel_diff']:.1e} at {where} (relative to "
                          "the two terms' sizes; tolerance 1e-10)", s["nll_identity_max_rel_diff"] <= 1e-10))
    z, sd = s["nuts_vs_exact_max_abs_z_mean"], s["nuts_vs_exact_max_rel_dev_sd"]
    if z is None:
        outcomes.append(check("NUTS draws the exact posterior", f"not measured: {NO_CLOSED_FORM} (--w-prior-sd "
                              "without --sigma); NUTS' convergence gates still apply", None))
    else:
        # 5 Monte Carlo standard errors; the sd of a sd estimate from >= 400 effective draws is <= 3.5%, so 15% is
        # 4 of them
        outcomes.append(check("NUTS draws the exact posterior", f"posterior means within {z:.1f} Monte Carlo "
                              f"standard errors (tolerance 5), sds within {sd:.1%} (tolerance 15%)",
                              z <= 5 and sd <= 0.15))
    return outcomes


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


def _model_words(settings):
    """The model's priors in words: on w (flat, or Normal(0, S)) and on sigma (learned under HalfFlat, or fixed)."""
    sigma, prior_sd = settings["sigma"], settings["w_prior_sd"]
    if sigma is None and prior_sd is None:
        return "flat priors on w and sigma"
    on_w = "a flat prior on w" if prior_sd is None else f"a Normal(0, {prior_sd:.4g}) prior on every weight " \
        "(--w-prior-sd)"
    on_sigma = "a flat prior on sigma" if sigma is None else f"sigma fixed at {sigma:.4g} (--sigma)"
    return f"{on_w}, {on_sigma}"


def _reference_name(settings):
    """The MAP's scikit-learn twin, as the table and the figure name it."""
    return "least squares" if settings["w_prior_sd"] is None else "ridge"


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
    predictive_caption += f" Model: {_model_words(setting)}."
    sigma = setting["sigma"]
    drawn = "and sigma" if sigma is None else f"(sigma is fixed at {sigma:.4g}, --sigma: no panel)"
    return {
        "predictive": (plot_predictive(predictive, np.asarray(s["w_map"]), setting["x"], setting["t"],
                                       map_label=f"MAP = {_reference_name(setting)}"),
                       predictive_caption),
        "posterior": (plot_posteriors(result["nuts"], s["w_map"], s.get("sigma_map")),
                      f"Posterior (NUTS) of {_which_weights(result)} {drawn}: density (blue), mean (grey dot) "
                      f"and {PERCENT} equal-tailed interval (grey bar), the interval of the table; the MAP as a "
                      f"dashed {REFERENCE_COLOR_NAME} line. Model: {_model_words(setting)}."),
    }


def tables(result):
    """The MAP, its scikit-learn twin (least squares or ridge) and the posterior (NUTS, with the exact posterior mean
    where there is one) per weight, and sigma where it is learned."""
    setting, s, posterior, exact_mean = result["config"], result["summary"], result["posterior_table"], \
        result["exact_mean"]
    features, n = result["features"], result["summary"]["n"]
    learned = setting["sigma"] is None
    reference = _reference_name(setting)
    twin = s[f"w_{reference.replace(' ', '_')}_sklearn"]
    low, high = (f"eti{100 * INTERVAL:.0f}_{end}" for end in ("lb", "ub"))
    names = [*(f"w[{f}]" for f in features), *(["sigma"] if learned else [])]
    rows = [[name, float(s["w_map"][i]) if i < len(features) else s["sigma_map"],
             float(twin[i]) if i < len(features) else np.sqrt(result["sse"] / n),
             *(float(posterior[column].iloc[i]) for column in ("mean", "sd", low, high)),
             *([] if exact_mean is None else [float(exact_mean.iloc[i])]),
             float(posterior["r_hat"].iloc[i]), float(posterior["ess_bulk"].iloc[i])]
            for i, name in enumerate(names)]
    twin_column = "least squares (sklearn" if reference == "least squares" else \
        "ridge (sklearn, alpha = sigma^2/S^2"
    twin_column += "; sigma: sqrt(SSE/N))" if learned else ")"
    caption = f"MAP, {reference} and the posterior (NUTS; " + (
        "exact posterior mean alongside)" if exact_mean is not None else f"no exact posterior: {NO_CLOSED_FORM})")
    caption += f"; {_model_words(setting)}"
    return [table(caption, ["", "MAP", twin_column, "posterior mean", "posterior sd",
                            f"{100 * TAILS[0]:.0f}% ({PERCENT} equal-tailed interval)", f"{100 * TAILS[1]:.0f}%",
                            *([] if exact_mean is None else ["exact posterior mean"]), "R-hat", "bulk ESS"], rows)]


def text(result):
    """The paragraph: the MAP is least squares (or ridge, under a Normal prior) and sqrt(SSE/N) (where sigma is
    learned); the posterior and the predictive coverage."""
    setting, s, predictive = result["config"], result["summary"], result["predictive"]
    n, p = s["n"], len(result["features"])
    sigma, prior_sd = setting["sigma"], setting["w_prior_sd"]
    if prior_sd is None:
        fit = f"The MAP equals scikit-learn's least squares to {s['max_rel_diff_map_vs_least_squares']:.1e} (relative)"
    else:
        fit = (f"The MAP equals scikit-learn's ridge regression (alpha = sigma^2/S^2 = {s['ridge_alpha']:.3g}) to "
               f"{s['max_rel_diff_map_vs_ridge']:.1e} (relative): the Normal prior is the L2 penalty")
    if sigma is not None:
        noise = (", and with sigma fixed the negative log-likelihood is N/(2 sigma^2) MSE(w) + const: the MSE is "
                 "the Gaussian likelihood. The posterior is wider than that point: with sigma known it is Gaussian "
                 "in w, drawn by NUTS and compared with its exact form above, every weight with an interval")
    else:
        at = "" if prior_sd is None else " at those weights"
        noise = (f", and the MAP noise level is the root-mean-square residual{at}, sigma = sqrt(SSE/N) = "
                 f"{s['sigma_map']:.4g}: the MSE is the Gaussian likelihood. The posterior is wider than that point: "
                 f"NUTS gives sigma = {s['posterior_mean']['sigma']:.4g} on average ")
        noise += (f"(the exact posterior of sigma^2 is inverse-gamma with N - p = {n - p} degrees of freedom, above "
                  "SSE/N)" if prior_sd is None else f"({NO_CLOSED_FORM} to compare it with)")
        noise += ", and every weight an interval"
    return (
        f"{setting['data'].name}: {n} rows, t = {setting['t']}, inputs {_names(setting['x'])} and an intercept, "
        f"{_model_words(setting)}. {fit}{noise}; the {PERCENT} posterior predictive intervals cover "
        f"{s['in_sample_coverage_90']:.0%} of {len(predictive['rows'])} observed rows (near {PERCENT} when the model "
        "fits the data; not a check, your data decide)."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv, accepts_data=True)


if __name__ == "__main__":
    main()
