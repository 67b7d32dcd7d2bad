r"""Priors are regularizers: Normal prior MAP == ridge, Laplace == lasso, ElasticNet == elastic net (PRML 3.1.4).

Data: scikit-learn's bundled diabetes data (N = 442, D = 10), features standardized, targets centred.
Model: :math:`t_n \sim \mathcal N(w_0 + \sum_j w_j x_{nj}, \sigma^2)` with :math:`\sigma` fixed at the
residual sd of least squares, and a prior on *every* weight including the intercept; the scikit-learn twins
get the same design with its column of ones and ``fit_intercept=False``, so the intercept is penalized
identically on both sides.

- :math:`w_j \sim \mathcal N(0, b^2)`: MAP == ``Ridge(alpha = sigma^2 / b^2)``;
- :math:`w_j \sim \mathrm{Laplace}(0, b)`: MAP == ``Lasso(alpha = sigma^2 / (N b))``, with exact zeros;
- :math:`p(w_j) \propto \exp(-|w_j|/b - w_j^2/(2b))` (``ElasticNet(l1_scale=b, l2_scale=sqrt(b))``): MAP ==
  ``ElasticNet(alpha = 2 sigma^2 / (N b), l1_ratio = 1/2)``, exact zeros and the ridge's shrinkage at once.

Run alone: ``python -m analyses.priors_are_regularizers [--quick] [--seed N] [--out DIR]``.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes

from models import LinearBasis, fit_map, gaussian_regression, least_squares, priors

from . import runner
from .report import check, table

NAME = "priors_are_regularizers"
TITLE = "Priors are regularizers: Normal = ridge, Laplace = lasso, ElasticNet = elastic net"
CLAIM = ("A prior on w is a penalty added to the MSE: the Normal-prior MAP is ridge regression, the "
         "Laplace-prior MAP the lasso, the elastic-net prior's MAP the elastic net.")


def config(quick=False, full=False):
    """Prior scales on each path (8 in a quick run, 30 otherwise)."""
    return {"points": 8 if quick else 30}


def diabetes():
    data = load_diabetes()
    x = (data.data - data.data.mean(0)) / data.data.std(0)
    return x, data.target - data.target.mean(), list(data.feature_names)


def elastic_net(b):
    """The elastic-net prior of the path: l1_scale = b, l2_scale = sqrt(b), so both parts weigh 1/b."""
    return priors.ElasticNet(l1_scale=b, l2_scale=np.sqrt(b))


def path(x, t, names, sigma, make_prior, scales):
    """MAP and its scikit-learn twin at each prior scale (``make_prior(scale)`` gives the prior)."""
    features = LinearBasis().features(x)
    maps, twins = [], []
    for scale in scales:
        prior = make_prior(scale)
        maps.append(fit_map(gaussian_regression(x, t, sigma=sigma, prior=prior))["w"])
        twins.append(prior.sklearn_estimator(sigma, len(t)).fit(features, t).coef_)
    return np.array(maps), np.array(twins)


def plot_paths(scales, ridge_maps, lasso_scales, lasso_maps, net_maps, names):
    figure, axes = plt.subplots(1, 3, figsize=(11.5, 4.2), layout="constrained")
    colors = plt.get_cmap("tab20").colors
    for axis, grid, maps, title, marker in (
            (axes[0], scales, ridge_maps, "Normal prior (ridge)", None),
            (axes[1], lasso_scales, lasso_maps, "Laplace prior (lasso)", "."),
            (axes[2], lasso_scales, net_maps, "ElasticNet(b, sqrt b) prior (elastic net)", ".")):
        for j, name in enumerate(["1"] + names):
            axis.plot(grid, maps[:, j], marker=marker, label=name, color=colors[j])
        axis.set_xscale("log")
        axis.set_xlabel("prior scale b")
        axis.set_ylabel("MAP w_j")
        axis.set_title(title)
        axis.axhline(0, color="k", linewidth=0.5)
    zeros = (lasso_maps == 0).sum(axis=1)
    twin = axes[1].twinx()
    twin.step(lasso_scales, zeros, where="mid", color="gray", linestyle=":", label="exact zeros")
    twin.set_ylabel("number of exact zeros in the MAP")
    axes[0].legend(fontsize=7, ncol=2)
    figure.suptitle("Coefficient paths: a smaller prior scale is a stronger penalty")
    return figure


def compute(config, rng, cache=None, progressbar=False):
    """The ridge, lasso and elastic-net paths on the diabetes data over ``config["points"]`` prior scales, each MAP
    beside its scikit-learn twin (no random draws: ``rng`` is unused)."""
    x, t, names = diabetes()
    w_ls = least_squares(x, t)
    n, p = x.shape[0], x.shape[1] + 1
    sigma = float(np.sqrt(np.sum((t - LinearBasis().features(x) @ w_ls) ** 2) / (n - p)))
    points = config["points"]
    ridge_scales = np.logspace(-1.5, 2, points)
    lasso_scales = np.logspace(-1.5, 1.5, points)
    ridge_maps, ridges = path(x, t, names, sigma, priors.Normal, ridge_scales)
    lasso_maps, lassos = path(x, t, names, sigma, priors.Laplace, lasso_scales)
    net_maps, nets = path(x, t, names, sigma, elastic_net, lasso_scales)
    ridge_diff = np.max(np.abs(ridge_maps - ridges), axis=1)
    lasso_diff = np.max(np.abs(lasso_maps - lassos), axis=1)
    net_diff = np.max(np.abs(net_maps - nets), axis=1)
    summary = {
        "sigma": sigma,
        "ridge_max_abs_diff": float(ridge_diff.max()),
        "lasso_max_abs_diff": float(lasso_diff.max()),
        "lasso_zero_patterns_identical": bool(np.all((lasso_maps == 0) == (lassos == 0))),
        "lasso_zeros_at_smallest_scale": int((lasso_maps[0] == 0).sum()),
        "elastic_net_max_abs_diff": float(net_diff.max()),
        "elastic_net_zero_patterns_identical": bool(np.all((net_maps == 0) == (nets == 0))),
    }
    return {"summary": summary, "n": n, "p": p, "names": names,
            "ridge_scales": ridge_scales, "lasso_scales": lasso_scales,
            "ridge_maps": ridge_maps, "ridges": ridges, "lasso_maps": lasso_maps, "lassos": lassos,
            "net_maps": net_maps, "nets": nets, "ridge_diff": ridge_diff, "lasso_diff": lasso_diff,
            "net_diff": net_diff}


def checks(result):
    s, p = result["summary"], result["p"]
    zeros, same_zeros = s["lasso_zeros_at_smallest_scale"], s["lasso_zero_patterns_identical"]
    return [
        check("Normal-prior MAP = Ridge(alpha = sigma^2/b^2) at every prior scale b",
              f"max |w_MAP - w_Ridge| = {s['ridge_max_abs_diff']:.1e} (tolerance 1e-8)",
              s["ridge_max_abs_diff"] < 1e-8),
        check("Laplace-prior MAP = Lasso(alpha = sigma^2/(N b)) at every prior scale b",
              f"max |w_MAP - w_Lasso| = {s['lasso_max_abs_diff']:.1e} (tolerance 1e-6)",
              s["lasso_max_abs_diff"] < 1e-6),
        check("the Laplace-prior MAP has exact zeros, the same ones as Lasso",
              f"{zeros} of {p} exactly zero at the smallest scale; zero patterns identical at every scale: "
              f"{same_zeros}",
              zeros > 0 and same_zeros),
        check("ElasticNet(b, sqrt b)-prior MAP = ElasticNet(alpha = 2 sigma^2/(N b), l1_ratio = 1/2) at every b",
              f"max |w_MAP - w_ElasticNet| = {s['elastic_net_max_abs_diff']:.1e} (tolerance 1e-6); zero "
              f"patterns identical: {s['elastic_net_zero_patterns_identical']}",
              s["elastic_net_max_abs_diff"] < 1e-6 and s["elastic_net_zero_patterns_identical"]),
    ]


def figures(result):
    r = result
    return {"paths": (plot_paths(r["ridge_scales"], r["ridge_maps"], r["lasso_scales"], r["lasso_maps"],
                                 r["net_maps"], r["names"]),
                      "MAP coefficient paths over the prior scale; the lasso and elastic-net MAPs have exact zeros.")}


def tables(result):
    r, sigma, n = result, result["summary"]["sigma"], result["n"]
    points = len(r["ridge_scales"])
    shown = np.unique(np.linspace(0, points - 1, 4).astype(int))
    ridge_rows = [[float(r["ridge_scales"][i]), sigma**2 / r["ridge_scales"][i] ** 2, float(r["ridge_diff"][i])]
                  for i in shown]
    lasso_rows = [[float(r["lasso_scales"][i]), sigma**2 / (n * r["lasso_scales"][i]), float(r["lasso_diff"][i]),
                   int((r["lasso_maps"][i] == 0).sum()), int((r["lassos"][i] == 0).sum())] for i in shown]
    net_rows = [[float(r["lasso_scales"][i]), 2 * sigma**2 / (n * r["lasso_scales"][i]), float(r["net_diff"][i]),
                 int((r["net_maps"][i] == 0).sum()), int((r["nets"][i] == 0).sum())] for i in shown]
    return [
        table("Normal prior MAP vs sklearn Ridge",
              ["prior scale b", "Ridge alpha = sigma^2/b^2", "max |w_MAP - w_Ridge|"],
              ridge_rows),
        table("Laplace prior MAP vs sklearn Lasso",
              ["prior scale b", "Lasso alpha = sigma^2/(N b)", "max |w_MAP - w_Lasso|", "zeros (MAP)",
               "zeros (Lasso)"],
              lasso_rows),
        table("ElasticNet(l1_scale = b, l2_scale = sqrt b) prior MAP vs sklearn ElasticNet (l1_ratio = 1/2)",
              ["prior scale b", "ElasticNet alpha = 2 sigma^2/(N b)", "max |w_MAP - w_ElasticNet|", "zeros (MAP)",
               "zeros (ElasticNet)"],
              net_rows),
    ]


def text(result):
    s = result["summary"]
    return (
        f"On the diabetes data (sigma fixed at {s['sigma']:.2f}) the MAP under a Normal prior of scale b equals "
        f"scikit-learn's Ridge with alpha = sigma^2/b^2 at every b on the path (largest |difference| "
        f"{s['ridge_max_abs_diff']:.1e}), and the MAP under a Laplace prior equals Lasso with alpha = sigma^2/(N b) "
        f"(largest |difference| {s['lasso_max_abs_diff']:.1e}; the same coefficients are exactly zero on both sides: "
        f"{s['lasso_zero_patterns_identical']}). The prior is the penalty: -log N(w | 0, b^2) = w^2/(2 b^2) + const "
        "is weight decay, -log Laplace(w | 0, b) = |w|/b + const is the L1 penalty, whose kink at 0 gives the MAP "
        f"exact zeros ({s['lasso_zeros_at_smallest_scale']} of {result['p']} at the smallest scale). Both at once, "
        "the elastic-net prior exp(-|w|/b - w^2/(2 b)) gives scikit-learn's ElasticNet with alpha = 2 sigma^2/(N b) "
        f"and l1_ratio = 1/2 (largest |difference| {s['elastic_net_max_abs_diff']:.1e})."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
