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

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes

from models import LinearBasis, fit_map, gaussian_regression, least_squares, priors

from .report import check, parse_args, table, write_result

NAME = "priors_are_regularizers"


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
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.8), layout="constrained")
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


def main(argv=None):
    args = parse_args(argv, __doc__.splitlines()[0])
    x, t, names = diabetes()
    w_ls = least_squares(x, t)
    n, p = x.shape[0], x.shape[1] + 1
    sigma = float(np.sqrt(np.sum((t - LinearBasis().features(x) @ w_ls) ** 2) / (n - p)))
    points = 8 if args.quick else 30
    ridge_scales = np.logspace(-1.5, 2, points)
    lasso_scales = np.logspace(-1.5, 1.5, points)
    ridge_maps, ridges = path(x, t, names, sigma, priors.Normal, ridge_scales)
    lasso_maps, lassos = path(x, t, names, sigma, priors.Laplace, lasso_scales)
    net_maps, nets = path(x, t, names, sigma, elastic_net, lasso_scales)
    ridge_diff = np.max(np.abs(ridge_maps - ridges), axis=1)
    lasso_diff = np.max(np.abs(lasso_maps - lassos), axis=1)
    net_diff = np.max(np.abs(net_maps - nets), axis=1)
    same_zeros = bool(np.all((lasso_maps == 0) == (lassos == 0)))
    shown = np.unique(np.linspace(0, points - 1, 4).astype(int))

    summary = {
        "sigma": sigma,
        "ridge_max_abs_diff": float(ridge_diff.max()),
        "lasso_max_abs_diff": float(lasso_diff.max()),
        "lasso_zero_patterns_identical": same_zeros,
        "lasso_zeros_at_smallest_scale": int((lasso_maps[0] == 0).sum()),
        "elastic_net_max_abs_diff": float(net_diff.max()),
        "elastic_net_zero_patterns_identical": bool(np.all((net_maps == 0) == (nets == 0))),
    }
    paragraph = (
        f"On the diabetes data (sigma fixed at {sigma:.2f}) the MAP under a Normal prior of scale b equals "
        f"scikit-learn's Ridge with alpha = sigma^2/b^2 at every b on the path (largest |difference| "
        f"{ridge_diff.max():.1e}), and the MAP under a Laplace prior equals Lasso with alpha = sigma^2/(N b) "
        f"(largest |difference| {lasso_diff.max():.1e}; the same coefficients are exactly zero on both sides: "
        f"{same_zeros}). The prior is the penalty: -log N(w | 0, b^2) = w^2/(2 b^2) + const is weight decay, "
        "-log Laplace(w | 0, b) = |w|/b + const is the L1 penalty, whose kink at 0 gives the MAP exact zeros "
        f"({summary['lasso_zeros_at_smallest_scale']} of {p} at the smallest scale). Both at once, the elastic-net "
        "prior exp(-|w|/b - w^2/(2 b)) gives scikit-learn's ElasticNet with alpha = 2 sigma^2/(N b) and "
        f"l1_ratio = 1/2 (largest |difference| {net_diff.max():.1e})."
    )
    ridge_rows = [[float(ridge_scales[i]), sigma**2 / ridge_scales[i] ** 2, float(ridge_diff[i])] for i in shown]
    lasso_rows = [[float(lasso_scales[i]), sigma**2 / (n * lasso_scales[i]), float(lasso_diff[i]),
                   int((lasso_maps[i] == 0).sum()), int((lassos[i] == 0).sum())] for i in shown]
    net_rows = [[float(lasso_scales[i]), 2 * sigma**2 / (n * lasso_scales[i]), float(net_diff[i]),
                 int((net_maps[i] == 0).sum()), int((nets[i] == 0).sum())] for i in shown]
    zeros = summary["lasso_zeros_at_smallest_scale"]
    checks = [
        check("Normal-prior MAP = Ridge(alpha = sigma^2/b^2) at every prior scale b",
              f"max |w_MAP - w_Ridge| = {summary['ridge_max_abs_diff']:.1e} (tolerance 1e-8)",
              summary["ridge_max_abs_diff"] < 1e-8),
        check("Laplace-prior MAP = Lasso(alpha = sigma^2/(N b)) at every prior scale b",
              f"max |w_MAP - w_Lasso| = {summary['lasso_max_abs_diff']:.1e} (tolerance 1e-6)",
              summary["lasso_max_abs_diff"] < 1e-6),
        check("the Laplace-prior MAP has exact zeros, the same ones as Lasso",
              f"{zeros} of {p} exactly zero at the smallest scale; zero patterns identical at every scale: "
              f"{same_zeros}",
              zeros > 0 and same_zeros),
        check("ElasticNet(b, sqrt b)-prior MAP = ElasticNet(alpha = 2 sigma^2/(N b), l1_ratio = 1/2) at every b",
              f"max |w_MAP - w_ElasticNet| = {summary['elastic_net_max_abs_diff']:.1e} (tolerance 1e-6); zero "
              f"patterns identical: {summary['elastic_net_zero_patterns_identical']}",
              summary["elastic_net_max_abs_diff"] < 1e-6 and summary["elastic_net_zero_patterns_identical"]),
    ]
    return write_result(
        args.out, NAME, args=args,
        title="Priors are regularizers: Normal = ridge, Laplace = lasso, ElasticNet = elastic net",
        claim="A prior on w is a penalty added to the MSE: the Normal-prior MAP is ridge regression, the "
              "Laplace-prior MAP the lasso, the elastic-net prior's MAP the elastic net.",
        paragraph=paragraph,
        figures={"paths": (plot_paths(ridge_scales, ridge_maps, lasso_scales, lasso_maps, net_maps, names),
                           "MAP coefficient paths over the prior scale; the lasso and elastic-net MAPs have exact "
                           "zeros.")},
        tables=[
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
        ],
        summary=summary,
        checks=checks,
    )


if __name__ == "__main__":
    main()
