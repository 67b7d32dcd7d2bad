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

import sys

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from models import (
    convergence,
    exact_posterior,
    fit_map,
    gaussian_regression,
    log_likelihood_at,
    mse,
    predict,
    sample_posterior,
)

from .plots import posterior_with_reference
from .report import check, parse_args, table, write_result

NAME = "your_data"
FIGURE_ROWS = 500  # rows drawn (seeded) for the predictive figure; the fit itself uses every row


def settings(quick):
    return {"draws": 500 if quick else 1000, "tune": 500 if quick else 1000, "chains": 4,
            "exact_draws": 4000 if quick else 20000, "random_w": 20 if quick else 200}


def load(path, x_columns, t_column):
    """The input columns (a DataFrame, so the weights are named after them) and the target (a Series)."""
    frame = pd.read_csv(path, usecols=[*x_columns, t_column])
    return frame[list(x_columns)], frame[t_column]


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
    model_nll = -np.array([log_likelihood_at(model, w, sigma=s) for w, s in zip(ws, sigmas)])
    formula = np.array([n / (2 * s**2) * mse(t, design @ w) + n / 2 * np.log(2 * np.pi * s**2)
                        for w, s in zip(ws, sigmas)])
    return float(np.max(np.abs(model_nll - formula) / np.abs(formula)))


def nuts_against_exact(nuts, exact):
    """Posterior means in Monte Carlo standard errors, and sd ratios, of NUTS against the exact posterior."""
    summary = az.summary(nuts, var_names=["w", "sigma"], ci_prob=0.9, ci_kind="eti", round_to="none")
    exact_mean = az.summary(exact, var_names=["w", "sigma"], kind="stats", round_to="none")
    exact_draws = exact.posterior.sizes["draw"] * exact.posterior.sizes["chain"]
    # both means carry Monte Carlo error: NUTS' mcse, and sd / sqrt(draws) for iid exact draws
    error = np.sqrt(summary["mcse_mean"] ** 2 + exact_mean["sd"] ** 2 / exact_draws)
    z = (summary["mean"] - exact_mean["mean"]) / error
    return {"summary": summary, "exact": exact_mean, "max_abs_z_mean": float(np.max(np.abs(z))),
            "max_rel_dev_sd": float(np.max(np.abs(summary["sd"] / exact_mean["sd"] - 1)))}


def predictive_rows(model, idata, x, t, rng, seed):
    """Posterior predictive 5%, 50%, 95% of t at up to FIGURE_ROWS rows, and the share of those rows covered."""
    rows = np.sort(rng.choice(len(t), size=min(FIGURE_ROWS, len(t)), replace=False))
    predictions = predict(model, idata, x.iloc[rows], random_seed=seed).predictions["t"]
    draws = predictions.values.reshape(-1, len(rows))
    low, middle, high = np.quantile(draws, [0.05, 0.5, 0.95], axis=0)
    observed = t.to_numpy(dtype=float)[rows]
    return {"rows": rows, "observed": observed, "low": low, "middle": middle, "high": high,
            "coverage_90": float(np.mean((observed >= low) & (observed <= high)))}


def plot_predictive(x, result, fit, x_columns, t_column):
    """One input: the data with the MAP line and the 90% predictive band; more: observed against predicted."""
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    rows = result["rows"]
    if len(x_columns) == 1:
        inputs = x.iloc[rows, 0].to_numpy(dtype=float)
        order = np.argsort(inputs)
        axis.fill_between(inputs[order], result["low"][order], result["high"][order], color="tab:blue", alpha=0.25,
                          label="90% posterior predictive")
        axis.plot(inputs[order], fit["w_map"][0] + fit["w_map"][1] * inputs[order], color="tab:red",
                  label="MAP = least squares")
        axis.scatter(inputs, result["observed"], s=8, color="k", label="data")
        axis.set_xlabel(x_columns[0])
        axis.set_ylabel(t_column)
    else:
        axis.errorbar(result["middle"], result["observed"], xerr=[result["middle"] - result["low"],
                      result["high"] - result["middle"]], fmt="o", markersize=3, alpha=0.4, elinewidth=0.6,
                      label="median and 90% posterior predictive")
        limits = [min(result["low"].min(), result["observed"].min()),
                  max(result["high"].max(), result["observed"].max())]
        axis.plot(limits, limits, "k--", linewidth=1, label="observed = predicted")
        axis.set_xlabel(f"predicted {t_column}")
        axis.set_ylabel(f"observed {t_column}")
    axis.set_title(f"{len(rows)} rows: 90% intervals cover {result['coverage_90']:.0%}")
    axis.legend(fontsize=8)
    return figure


def plot_posteriors(idata, fit):
    """ArviZ's marginal posteriors of every weight and sigma (90% interval), with the MAP as the reference line."""
    return posterior_with_reference(idata, {"w": fit["w_map"], "sigma": fit["sigma_map"]}, var_names=["w", "sigma"],
                                    ci_prob=0.9, title="Posterior (NUTS): density, mean and 90% equal-tailed "
                                                       "interval; the MAP point as a dashed red line")


def main(argv=None):
    args = parse_args(argv, __doc__.splitlines()[0], accepts_data=True)
    if args.data is None:
        print("error: analyses.your_data needs --data FILE.csv --x COL[,COL] --t COL", file=sys.stderr)
        sys.exit(2)
    setting = settings(args.quick)
    rng = np.random.default_rng(args.seed)
    x, t = load(args.data, args.x, args.t)
    try:
        model = gaussian_regression(x, t)
    except (TypeError, ValueError) as error:  # the builder names the column and the problem
        print(f"error: --data {args.data}: {error}", file=sys.stderr)
        sys.exit(2)
    features = list(model.coords["feature"])
    fit = map_against_least_squares(model, x, t)
    identity = nll_identity(model, fit["design"], t, fit["w_map"], setting["random_w"], rng)
    seeds = rng.integers(2**31, size=3)
    print(f"  NUTS on {len(t)} rows x {len(features)} weights ...", flush=True)
    nuts = sample_posterior(model, draws=setting["draws"], tune=setting["tune"], chains=setting["chains"],
                            random_seed=int(seeds[0]), progressbar=args.progressbar)
    gate = convergence(nuts)
    exact = exact_posterior(model, draws=setting["exact_draws"], random_seed=int(seeds[1]), log_likelihood=False)
    compared = nuts_against_exact(nuts, exact)
    predictive = predictive_rows(model, nuts, x, t, rng, int(seeds[2]))

    sigma_mean = float(compared["summary"].loc["sigma", "mean"])
    summary = {
        "n": len(t), "features": features, "settings": setting,
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
    checks = [
        check("MAP = least squares (scikit-learn's LinearRegression)",
              f"max |dw| / max |w| = {fit['max_rel_diff_w']:.1e} (tolerance {fit['tolerance_w']:.0e}: 1e-9, or "
              f"100 eps cond = 100 eps x {fit['condition_number']:.1e} when larger)",
              fit["max_rel_diff_w"] <= fit["tolerance_w"]),
        check("MAP sigma^2 = SSE/N", f"relative difference {fit['rel_diff_sigma2_vs_sse_over_n']:.1e} (tolerance 1e-9)",
              fit["rel_diff_sigma2_vs_sse_over_n"] <= 1e-9),
        check("-log p(t | w, sigma) = N/(2 sigma^2) MSE(w) + N/2 log(2 pi sigma^2)",
              f"max relative difference {identity:.1e} at {setting['random_w']} random (w, sigma) (tolerance 1e-10)",
              identity <= 1e-10),
        # 5 Monte Carlo standard errors; the sd of a sd estimate from >= 400 effective draws is <= 3.5%, so 15% is
        # 4 of them
        check("NUTS draws the exact posterior", f"posterior means within {compared['max_abs_z_mean']:.1f} Monte Carlo "
              f"standard errors (tolerance 5), sds within {compared['max_rel_dev_sd']:.1%} (tolerance 15%)",
              compared["max_abs_z_mean"] <= 5 and compared["max_rel_dev_sd"] <= 0.15),
    ]
    table_rows = [[name, float(fit["w_map"][i]) if i < len(features) else fit["sigma_map"],
                   float(fit["w_sklearn"][i]) if i < len(features) else np.sqrt(fit["sse"] / len(t)),
                   *(float(compared["summary"][column].iloc[i]) for column in ("mean", "sd", "eti90_lb", "eti90_ub")),
                   float(compared["exact"]["mean"].iloc[i]), float(compared["summary"]["r_hat"].iloc[i]),
                   float(compared["summary"]["ess_bulk"].iloc[i])]
                  for i, name in enumerate([*(f"w[{f}]" for f in features), "sigma"])]
    paragraph = (
        f"{args.data.name}: {len(t)} rows, t = {args.t}, inputs {', '.join(args.x)} and an intercept, flat priors on w "
        f"and sigma. The MAP equals scikit-learn's least squares to {fit['max_rel_diff_w']:.1e} (relative), and the "
        f"MAP noise level is the root-mean-square residual, sigma = sqrt(SSE/N) = {fit['sigma_map']:.4g}: the MSE is "
        f"the Gaussian likelihood. The posterior is wider than that point: NUTS gives sigma = {sigma_mean:.4g} on "
        f"average (the exact posterior of sigma^2 is inverse-gamma with N - p = {len(t) - len(features)} degrees of "
        f"freedom, above SSE/N), and every weight an interval; the 90% posterior predictive intervals cover "
        f"{predictive['coverage_90']:.0%} of {len(predictive['rows'])} observed rows (near 90% when the model fits the "
        "data; not a check, your data decide)."
    )
    return write_result(
        args.out, NAME, args=args,
        title=f"Your data: {args.data.name}",
        claim="On any data, the Gaussian model's MAP is least squares and its sigma^2 is SSE/N; the posterior adds "
              "what the point leaves out.",
        checks=checks,
        paragraph=paragraph,
        figures={
            "predictive": (plot_predictive(x, predictive, fit, args.x, args.t),
                           "Posterior predictive 90% intervals of the observations, with the MAP."),
            "posterior": (plot_posteriors(nuts, fit),
                          "Posterior (NUTS) of each weight and sigma: density, mean and 90% equal-tailed interval; "
                          "the MAP as a dashed red line."),
        },
        tables=[table("MAP, least squares and the posterior (NUTS; exact posterior mean alongside)",
                      ["", "MAP", "least squares (sklearn; sigma: sqrt(SSE/N))", "posterior mean", "posterior sd",
                       "5% (90% interval)", "95%", "exact posterior mean", "R-hat", "bulk ESS"], table_rows)],
        summary=summary,
        convergence=[{"run": f"NUTS, {setting['chains']} chains x {setting['draws']} draws", **gate}],
    )


if __name__ == "__main__":
    main()
