r"""A learned noise level: the MAP (flat prior) is the MLE :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56).

Model: :math:`t_n \sim \mathcal N(\sum_{k=0}^{3} w_k x_n^k, \sigma^2)`, flat prior on ``w``, ``HalfFlat`` on
:math:`\sigma`, on PRML 1.1 data (true :math:`\sigma = 0.3`). The profile log-likelihood
:math:`\ell_p(\sigma) = \max_w \log p(t \mid w, \sigma) = -N\log\sigma - \mathrm{SSE}_{\min}/(2\sigma^2) -
\frac N2\log 2\pi`
peaks at :math:`\sqrt{\mathrm{SSE}/N}`, which is biased low: :math:`E[\mathrm{SSE}] = (N - p)\sigma^2`, so
:math:`\mathrm{SSE}/(N-p)` is the unbiased estimate (PRML eq. 1.59 discussion, Bishop section 1.2.4).

Run alone: ``python -m analyses.learned_sigma [--quick] [--seed N] [--out DIR]``.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

from models import PolynomialBasis, fit_map, gaussian_nll, gaussian_regression, log_likelihood_at

from . import runner
from .data import SIGMA, prml_data
from .report import check, table

NAME = "learned_sigma"
TITLE = "Learned sigma: sigma^2 = SSE/N"
CLAIM = "With sigma learned under a flat prior the MAP noise variance is the mean squared residual, SSE/N."
DEGREE = 3
SIZES = (10, 30, 100, 1000)  # data sets on which sigma_MAP^2 is compared with SSE/N
BIAS_N = 10  # size of the repeated data sets of the bias check


def config(quick=False, full=False):
    """Replications of the bias check (40 in a quick run, 400 otherwise)."""
    return {"replications": 40 if quick else 400}


def sigma_estimates(x, t):
    """MAP sigma of the model next to SSE/N and SSE/(N - p), SSE at the MAP w."""
    basis = PolynomialBasis(DEGREE)
    map_point = fit_map(gaussian_regression(x, t, basis=basis))
    sse = float(np.sum((t - basis.features(x) @ map_point["w"]) ** 2))
    n, p = len(t), DEGREE + 1
    return {"n": n, "sigma2_map": float(map_point["sigma"] ** 2), "sse_over_n": sse / n,
            "sse_over_n_minus_p": sse / (n - p), "w": map_point["w"], "sigma": float(map_point["sigma"])}


def profile_log_likelihood(x, t, w, sigmas):
    """log p(t | w_hat, sigma) on a grid of sigma (w_hat does not depend on sigma under a flat prior)."""
    y = PolynomialBasis(DEGREE).features(x) @ w
    return np.array([-gaussian_nll(t, y, s) for s in sigmas])


def replicate_bias(n, replications, rng):
    """Over repeated data sets: mean of sigma_MAP^2 and of SSE/(N - p), against sigma^2 = 0.09."""
    maps, unbiased = [], []
    for _ in range(replications):
        estimate = sigma_estimates(*prml_data(n, rng))
        maps.append(estimate["sigma2_map"])
        unbiased.append(estimate["sse_over_n_minus_p"])
    return np.array(maps), np.array(unbiased)


def plot_profile(sigmas, profile, estimate, check_points):
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    axis.plot(sigmas, profile, label="profile log-likelihood")
    axis.plot(*check_points, "k.", label="model's own log p (PyMC graph)")
    axis.axvline(estimate["sigma"], color="tab:red", label=f"MAP sqrt(SSE/N) = {estimate['sigma']:.3f}")
    axis.axvline(np.sqrt(estimate["sse_over_n_minus_p"]), color="tab:purple", linestyle="--",
                 label=f"sqrt(SSE/(N-p)) = {np.sqrt(estimate['sse_over_n_minus_p']):.3f}")
    axis.axvline(SIGMA, color="gray", linestyle=":", label="true sigma = 0.3")
    axis.set_xlabel("sigma")
    axis.set_ylabel("max_w log p(t | w, sigma)")
    axis.set_title(f"Profile likelihood of sigma (N = {estimate['n']}, M = {DEGREE})")
    axis.legend(fontsize=8)
    return figure


def plot_bias(n, maps, unbiased):
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    bins = np.linspace(0, max(maps.max(), unbiased.max()), 40)
    axis.hist(maps, bins=bins, alpha=0.5, label=f"sigma_MAP^2 = SSE/N, mean {maps.mean():.4f}")
    axis.hist(unbiased, bins=bins, alpha=0.5, label=f"SSE/(N-p), mean {unbiased.mean():.4f}")
    axis.axvline(SIGMA**2, color="k", linestyle=":", label="sigma^2 = 0.09")
    axis.set_xlabel("estimate of sigma^2")
    axis.set_title(f"{len(maps)} data sets of N = {n}: the MLE is biased low by (N-p)/N = {(n - DEGREE - 1) / n:.2f}")
    axis.legend(fontsize=8)
    return figure


def compute(config, rng, cache=None, progressbar=False):
    """sigma_MAP^2 against SSE/N at every size of ``SIZES``, the profile likelihood at N = 30, and the bias over
    ``config["replications"]`` data sets of N = 10."""
    estimates = [sigma_estimates(*prml_data(n, rng)) for n in SIZES]
    x, t = prml_data(30, rng)
    estimate = sigma_estimates(x, t)
    sigmas = np.linspace(0.12, 0.8, 300)
    profile = profile_log_likelihood(x, t, estimate["w"], sigmas)
    model = gaussian_regression(x, t, basis=PolynomialBasis(DEGREE))
    check_sigmas = np.linspace(0.15, 0.75, 7)
    check_points = (check_sigmas, log_likelihood_at(model, np.tile(estimate["w"], (len(check_sigmas), 1)),
                                                    sigma=check_sigmas))
    maps, unbiased = replicate_bias(BIAS_N, config["replications"], rng)
    worst = max(abs(e["sigma2_map"] / e["sse_over_n"] - 1) for e in estimates)
    summary = {
        "max_rel_diff_sigma2_map_vs_sse_over_n": worst,
        "profile_argmax_on_grid": float(sigmas[np.argmax(profile)]),
        "sigma_map_n30": estimate["sigma"],
        "replications": config["replications"],
        "mean_sigma2_map_n10": float(maps.mean()),
        "mean_sse_over_n_minus_p_n10": float(unbiased.mean()),
    }
    return {"summary": summary, "estimates": estimates, "estimate": estimate, "sigmas": sigmas, "profile": profile,
            "check_points": check_points, "maps": maps, "unbiased": unbiased}


def checks(result):
    s, p = result["summary"], DEGREE + 1
    worst, estimate, sigmas = s["max_rel_diff_sigma2_map_vs_sse_over_n"], result["estimate"], result["sigmas"]
    grid_step = float(sigmas[1] - sigmas[0])
    # over data sets of N = 10: E[SSE/N] = (N - p)/N sigma^2 with sd sigma^2 sqrt(2 (N - p))/N, E[SSE/(N-p)] = sigma^2
    # with sd sigma^2 sqrt(2/(N - p)) (chi-square with N - p degrees of freedom); standard errors of their means
    n, replications = BIAS_N, s["replications"]
    biased_expected = (n - p) / n * SIGMA**2
    biased_se = SIGMA**2 * np.sqrt(2 * (n - p)) / n / np.sqrt(replications)
    unbiased_se = SIGMA**2 * np.sqrt(2 / (n - p)) / np.sqrt(replications)
    maps, unbiased = s["mean_sigma2_map_n10"], s["mean_sse_over_n_minus_p_n10"]
    return [
        check(f"sigma_MAP^2 = SSE/N (flat prior, N = {', '.join(map(str, SIZES))})",
              f"max relative difference = {worst:.1e} (tolerance 1e-12)", worst < 1e-12),
        check("the profile likelihood of sigma peaks at the MAP sqrt(SSE/N)",
              f"grid argmax {s['profile_argmax_on_grid']:.4f} against {estimate['sigma']:.4f} (tolerance one grid "
              f"step, {grid_step:.4f})", abs(s["profile_argmax_on_grid"] - estimate["sigma"]) <= grid_step),
        check(f"over repeated data sets of N = {n}, SSE/N is biased low by (N - p)/N and SSE/(N - p) is unbiased",
              f"mean SSE/N = {maps:.4f} against {biased_expected:.4f}, mean SSE/(N - p) = {unbiased:.4f} against "
              f"{SIGMA**2:.4f} (tolerance 3 standard errors: {3 * biased_se:.4f}, {3 * unbiased_se:.4f})",
              abs(maps - biased_expected) < 3 * biased_se and abs(unbiased - SIGMA**2) < 3 * unbiased_se),
    ]


def figures(result):
    return {
        "profile_likelihood": (plot_profile(result["sigmas"], result["profile"], result["estimate"],
                                            result["check_points"]),
                               "Profile log-likelihood of sigma, with the model's own log p at a few sigma."),
        "bias": (plot_bias(BIAS_N, result["maps"], result["unbiased"]),
                 "The MLE of sigma^2 against the unbiased SSE/(N-p) over repeated data."),
    }


def tables(result):
    return [table("MAP sigma^2 against SSE/N and SSE/(N - p) (M = 3, true sigma^2 = 0.09)",
                  ["N", "sigma_MAP^2", "SSE/N", "SSE/(N-p)", "relative difference MAP vs SSE/N"],
                  [[e["n"], e["sigma2_map"], e["sse_over_n"], e["sse_over_n_minus_p"],
                    abs(e["sigma2_map"] / e["sse_over_n"] - 1)] for e in result["estimates"]])]


def text(result):
    s = result["summary"]
    return (
        f"With sigma learned under a flat prior, the model's MAP gives sigma^2 = SSE/N exactly (largest relative "
        f"difference {s['max_rel_diff_sigma2_map_vs_sse_over_n']:.1e} over N = {', '.join(map(str, SIZES))}): the "
        "maximum-likelihood noise level is the root-mean-square residual. The profile likelihood peaks there. It is "
        "the same MSE again: sigma_MAP^2 = MSE(w_MAP). Over repeated data sets of N = 10 it is biased low by the "
        f"factor (N - p)/N, mean {s['mean_sigma2_map_n10']:.4f} against the true 0.09, while SSE/(N - p) averages "
        f"{s['mean_sse_over_n_minus_p_n10']:.4f}; the difference vanishes as N grows."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
