r"""Choosing the degree M: the evidence (PRML section 3.4, Fig. 3.14), LOO and WAIC, and empirical Bayes (3.5).

Data (PRML 1.1): N = 10, :math:`x_n \sim U(0, 1)`, :math:`t_n = \sin(2\pi x_n) + \epsilon_n`,
:math:`\epsilon_n \sim \mathcal N(0, 0.3^2)`. Model :math:`\mathcal M_M`:
:math:`t_n \sim \mathcal N(\sum_{k=0}^M w_k x_n^k, \beta^{-1})`, :math:`w \sim \mathcal N(0, \alpha^{-1} I)`,
with :math:`\alpha = 5\cdot10^{-3}` (prior scale :math:`1/\sqrt\alpha`) and :math:`\beta = 1/0.3^2` known.

1. The evidence, PRML eq. 3.86,

   .. math::

       \ln p(t \mid \mathcal M) = \ln \mathcal N\big(t \mid 0, \beta^{-1} I + \alpha^{-1}\Phi\Phi^\top\big)
       = \sum_n \ln p(t_n \mid t_1, \dots, t_{n-1}),

   against M, beside the training RMS that only falls (PRML Fig. 1.5).
2. PSIS-LOO (``az.loo``, ranked by ``az.compare``) and WAIC from iid draws of the exact posterior, next to the
   exact leave-one-out score of this conjugate model,
   :math:`\ln p(t_n \mid t_{-n}) = \ln\mathcal N\big(t_n \mid t_n - (C^{-1}t)_n/(C^{-1})_{nn},\ 1/(C^{-1})_{nn}\big)`,
   :math:`C = \beta^{-1} I + \alpha^{-1}\Phi\Phi^\top` (the conditional of a joint Gaussian). ArviZ 1 has no
   WAIC, so :func:`waic` computes it from its definition (BDA3 eq. 7.11-7.12) and ranks the models itself;
   :func:`exact_waic` is its closed form as the number of draws goes to infinity.
3. Empirical Bayes: the :math:`(\alpha, \beta)` maximizing the evidence for each M (PRML eq. 3.92, 3.95) and
   :math:`\gamma = \sum_i \lambda_i / (\alpha + \lambda_i)`, the effective number of parameters.

Run alone: ``python -m analyses.model_selection [--quick] [--seed N] [--out DIR]``.
"""

import hashlib
import sys
import warnings

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from models import (
    PolynomialBasis,
    empirical_bayes,
    exact_posterior,
    fit_map,
    gaussian_regression,
    least_squares,
    log_evidence,
    mse,
    priors,
)

from . import runner
from .data import SIGMA, prml_data
from .report import cached_idata, check, table

NAME = "model_selection"
TITLE = "Model selection: evidence, LOO, WAIC, empirical Bayes"
CLAIM = ("The evidence charges for every weight the data do not need: it does not pick the polynomial that "
         "interpolates the data, whose training MSE is zero.")
ALPHA = 5e-3  # prior precision of PRML Fig. 3.14
DEGREES = tuple(range(10))
PARETO_K_THRESHOLD = 0.7  # Pareto k above which PSIS is unreliable for any number of draws (Vehtari et al. 2024)
P_WAIC_THRESHOLD = 0.4  # p_waic_n above which WAIC is unreliable (Vehtari, Gelman & Gabry 2017)
PROFILE_DEGREE = 3  # the degree whose evidence is profiled over alpha


def config(quick=False, full=False):
    """Grid of the evidence profile over alpha, the degrees compared by LOO and WAIC, and their posterior draws."""
    if quick:
        return {"profile_points": 201, "compare_degrees": (1, 3, 9), "draws": 500}
    return {"profile_points": 401, "compare_degrees": (0, 1, 3, 5, 9), "draws": 4000}


def fixed_model(x, t, degree, alpha=ALPHA, sigma=SIGMA):
    """The model of Fig. 3.14: known sigma, w ~ Normal(0, 1/alpha) on every monomial coefficient."""
    return gaussian_regression(x, t, basis=PolynomialBasis(degree), sigma=sigma,
                               prior=priors.Normal(1 / np.sqrt(alpha)))


def marginal_covariance(x, degree, alpha=ALPHA, sigma=SIGMA):
    r""":math:`C = \sigma^2 I + \Phi\Phi^\top/\alpha`, the covariance of t under the prior predictive."""
    features = PolynomialBasis(degree).features(x)
    return sigma**2 * np.eye(len(x)) + features @ features.T / alpha


def exact_loo(x, t, degree, alpha=ALPHA, sigma=SIGMA):
    r"""Pointwise :math:`\ln p(t_n \mid t_{-n})` of the conjugate model from the inverse of C (no refits)."""
    factor = cho_factor(marginal_covariance(x, degree, alpha, sigma))
    precision = cho_solve(factor, np.eye(len(x)))
    variance = 1 / np.diag(precision)
    residual = (precision @ t) * variance  # t_n - E[t_n | t_-n]
    return -0.5 * (np.log(2 * np.pi * variance) + residual**2 / variance)


def _waic_totals(lppd, p_waic):
    """Totals of pointwise lppd_n and p_waic_n: elpd_waic, p_waic, the standard error of elpd_waic."""
    pointwise = lppd - p_waic
    return {"elpd": float(np.sum(pointwise)), "p": float(np.sum(p_waic)),
            "se": float(np.sqrt(len(pointwise) * np.var(pointwise, ddof=1))),
            "pointwise": pointwise, "p_pointwise": p_waic}


def waic(idata, var_name="t"):
    r"""WAIC from its definition (Watanabe 2010; Gelman, Hwang & Vehtari 2014; BDA3 eq. 7.11-7.12).

    With :math:`S` posterior draws :math:`\theta_s` (all chains and draws pooled) and
    :math:`\ell_{sn} = \log p(t_n \mid \theta_s)`:

    .. math::

        \mathrm{lppd}_n = \log \frac1S \sum_s e^{\ell_{sn}}, \qquad
        p_{\mathrm{waic},n} = \frac{1}{S - 1} \sum_s (\ell_{sn} - \bar\ell_n)^2, \qquad
        \widehat{\mathrm{elpd}}_{\mathrm{waic}} = \sum_n (\mathrm{lppd}_n - p_{\mathrm{waic},n}),

    with standard error :math:`\sqrt{N\, V_n(\mathrm{lppd}_n - p_{\mathrm{waic},n})}` (sample variance over
    the N observations; Vehtari, Gelman & Gabry 2017, eq. 23). ArviZ 1 removed ``az.waic``.

    Parameters
    ----------
    idata : xarray.DataTree
        A result with a ``log_likelihood`` group holding ``var_name`` with dims ``chain, draw`` and the
        observation dims.
    var_name : str
        The pointwise log-likelihood variable.

    Returns
    -------
    dict
        ``elpd`` (elpd_waic), ``p`` (p_waic), ``se`` (standard error of elpd_waic), ``pointwise``
        (lppd_n - p_waic_n, one per observation) and ``p_pointwise`` (p_waic_n).
    """
    log_likelihood = idata["log_likelihood"][var_name].transpose("chain", "draw", ...)
    values = np.asarray(log_likelihood).reshape(log_likelihood.sizes["chain"] * log_likelihood.sizes["draw"], -1)
    lppd = logsumexp(values, axis=0) - np.log(len(values))
    return _waic_totals(lppd, np.var(values, axis=0, ddof=1))


def exact_waic(x, t, degree, alpha=ALPHA, sigma=SIGMA):
    r"""WAIC of the conjugate model in the limit of infinitely many posterior draws (closed form).

    The posterior of the noise-free mean :math:`f_n = \phi(x_n)^\top w` is :math:`\mathcal N(m_n, v_n)` with
    :math:`m = t - \sigma^2 C^{-1} t` and :math:`v_n = \sigma^2 - \sigma^4 (C^{-1})_{nn}`. Then
    :math:`\mathrm{lppd}_n = \ln\mathcal N(t_n \mid m_n, \sigma^2 + v_n)` (the posterior predictive) and, as
    :math:`t_n - f_n \sim \mathcal N(a_n, v_n)` with :math:`a_n = t_n - m_n`,
    :math:`p_{\mathrm{waic},n} = \mathrm{Var}[(t_n - f_n)^2] / (4\sigma^4) = (v_n^2 + 2 a_n^2 v_n) / (2\sigma^4)`.

    Returns
    -------
    dict
        The keys of :func:`waic`.
    """
    precision = cho_solve(cho_factor(marginal_covariance(x, degree, alpha, sigma)), np.eye(len(x)))
    residual = sigma**2 * (precision @ t)  # a_n = t_n - m_n
    variance = sigma**2 - sigma**4 * np.diag(precision)
    lppd = -0.5 * (np.log(2 * np.pi * (sigma**2 + variance)) + residual**2 / (sigma**2 + variance))
    return _waic_totals(lppd, (variance**2 + 2 * residual**2 * variance) / (2 * sigma**4))


def evidence_versus_degree(x, t, x_test, t_test, degrees):
    """Per degree: ln p(t | M) at the fixed (alpha, beta), exact LOO, and the RMS of least squares and of the
    posterior mean."""
    rows = []
    for degree in degrees:
        basis = PolynomialBasis(degree)
        model = fixed_model(x, t, degree)
        w_least_squares = least_squares(x, t, basis=basis)
        w_mean = fit_map(model)["w"]  # the posterior is Gaussian: its mean is the MAP
        rows.append({
            "degree": degree,
            "log_evidence": log_evidence(model),
            "exact_loo": float(np.sum(exact_loo(x, t, degree))),
            "rms_train_least_squares": float(np.sqrt(mse(t, basis.features(x) @ w_least_squares))),
            "rms_test_least_squares": float(np.sqrt(mse(t_test, basis.features(x_test) @ w_least_squares))),
            "rms_train_posterior_mean": float(np.sqrt(mse(t, basis.features(x) @ w_mean))),
        })
    return rows


def compare_degrees(x, t, degrees, draws, rng, cache=None):
    """PSIS-LOO ranked by ``az.compare`` and WAIC ranked by elpd_waic, over exact-posterior draws.

    With ``cache`` (a folder), each degree's DataTree goes through the analyses' netCDF cache.

    ``elpd_diff`` is ArviZ 1's ``elpd(model) - elpd(best)``: 0 for the best model, negative for the others
    (ArviZ 0.x had the opposite sign). ``az.compare`` ranks only DataTrees (it computes PSIS-LOO for them) or
    LOO, K-fold and LFO results, so WAIC (:func:`waic`) is ranked here by sorting elpd_waic.

    ``az.loo`` warns (UserWarning) when some Pareto k exceeds ``good_k = min(1 - 1/log10(S), 0.7)`` (0.63 for
    S = 500 draws, 0.7 for S = 4000); with N = 10 and a flexible polynomial that is expected. It is not hidden:
    it is the ``warning`` flag, ArviZ's ``diag_elpd`` and the counts of k > 0.7 in the tables, so the warning
    itself is silenced here only.
    """
    loo, waics, idatas = {}, {}, {}
    for degree, seed in zip(degrees, rng.integers(2**32, size=len(degrees))):
        name = f"M = {degree}"
        def draw(degree=degree, seed=seed):
            return exact_posterior(fixed_model(x, t, degree), draws=draws, random_seed=int(seed))

        if cache is None:
            idatas[name] = draw()
        else:
            config = {"degree": degree, "seed": int(seed), "draws": draws, "alpha": ALPHA, "sigma": SIGMA,
                      "data": hashlib.sha256(x.tobytes() + t.tobytes()).hexdigest()}
            idatas[name] = cached_idata(cache, f"{NAME}-degree{degree}", config, draw, __file__)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto distribution",
                                    category=UserWarning)
            loo[name] = az.loo(idatas[name], pointwise=True)
        waics[name] = waic(idatas[name])
    compared_loo = az.compare(loo, round_to="none")
    waic_order = sorted(waics, key=lambda name: waics[name]["elpd"], reverse=True)
    rows = []
    for name, row in compared_loo.iterrows():
        degree = int(name.split("=")[1])
        pareto_k = np.asarray(loo[name].pareto_k)
        exact = exact_loo(x, t, degree)
        rows.append({
            "name": name, "degree": degree, "rank": int(row["rank"]), "elpd_loo": float(row["elpd"]),
            "se": float(row["se"]), "p_loo": float(row["p"]), "elpd_diff": float(row["elpd_diff"]),
            "dse": float(row["dse"]), "p_worse": _finite_or_none(row["p_worse"]), "weight": float(row["weight"]),
            "warning": bool(loo[name].warning), "good_k": float(loo[name].good_k), "diag_elpd": str(row["diag_elpd"]),
            "max_pareto_k": float(pareto_k.max()), "n_pareto_k_large": int(np.sum(pareto_k > PARETO_K_THRESHOLD)),
            "exact_loo": float(exact.sum()),
            "elpd_waic": waics[name]["elpd"], "se_waic": waics[name]["se"], "p_waic": waics[name]["p"],
            "waic_rank": waic_order.index(name),
            "n_p_waic_large": int(np.sum(waics[name]["p_pointwise"] > P_WAIC_THRESHOLD)),
            "exact_waic": exact_waic(x, t, degree)["elpd"],
        })
    return {"rows": rows, "compare_loo": compared_loo, "draws": draws}


def evidence_optimum(x, t, degree):
    """``empirical_bayes`` for one degree; ``boundary`` marks the limit alpha -> infinity (w = 0, noise only)."""
    result = empirical_bayes(x, t, basis=PolynomialBasis(degree))
    result = dict(result, degree=degree, boundary=not np.isfinite(result["alpha"]))
    if not result["boundary"]:  # the same number from the PyMC model at the optimum (PRML eq. 3.86)
        model = fixed_model(x, t, degree, alpha=result["alpha"], sigma=1 / np.sqrt(result["beta"]))
        result["log_evidence_model"] = log_evidence(model)
    return result


def profile_evidence(x, t, degree, alphas):
    r""":math:`\max_\beta \ln p(t \mid \alpha, \beta)` and the maximizing :math:`\beta` at each prior precision.

    From the eigendecomposition :math:`\Phi\Phi^\top = U D U^\top`: :math:`t \sim \mathcal N(0, U(\beta^{-1} I +
    D/\alpha)U^\top)`, so every evaluation is a sum over N terms. Shows whether the evidence over alpha has
    more than one local maximum, which a fixed-point iteration cannot see.
    """
    features = PolynomialBasis(degree).features(x)
    eigenvalues, vectors = np.linalg.eigh(features @ features.T)
    eigenvalues = eigenvalues.clip(min=0)
    projected2 = (vectors.T @ t) ** 2

    def log_evidence_at(alpha, log_beta):
        variance = np.exp(-np.asarray(log_beta))[..., None] + eigenvalues / alpha
        return -0.5 * np.sum(np.log(2 * np.pi * variance) + projected2 / variance, axis=-1)

    log_betas = np.linspace(-10, 15, 501)
    values, betas = [], []
    for alpha in alphas:
        start = log_betas[np.argmax(log_evidence_at(alpha, log_betas))]
        best = minimize_scalar(lambda b, alpha=alpha: -log_evidence_at(alpha, b), bounds=(start - 0.05, start + 0.05),
                               method="bounded", options={"xatol": 1e-10})
        values.append(-best.fun)
        betas.append(np.exp(best.x))
    values = np.array(values)
    peaks = [i for i in range(1, len(alphas) - 1) if values[i] > values[i - 1] and values[i] >= values[i + 1]]
    return {"degree": degree, "alpha": np.asarray(alphas), "log_evidence": values, "beta": np.array(betas),
            "local_maxima": [{"alpha": float(alphas[i]), "beta": float(betas[i]), "log_evidence": float(values[i])}
                             for i in peaks]}


def plot_evidence(rows, optima):
    degrees = np.array([r["degree"] for r in rows])
    evidence = np.array([r["log_evidence"] for r in rows])
    best = int(degrees[np.argmax(evidence)])
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(degrees, evidence, "o-", color="tab:red", label=f"alpha = {ALPHA:g}, beta = 1/0.3^2 (Fig. 3.14)")
    left.plot(best, evidence.max(), "*", color="k", markersize=16, label=f"maximum: M = {best}")
    left.plot(degrees, [o["log_evidence"] for o in optima], "s--", color="tab:purple", alpha=0.7,
              label="at the empirical-Bayes (alpha, beta) of each M")
    shown = np.concatenate([evidence[1:], [o["log_evidence"] for o in optima]])
    bottom = shown.min() - 0.15 * (shown.max() - shown.min())
    if evidence[0] < bottom:  # M = 0 is far below the rest: keep the scale on the maximum and mark it off scale
        left.set_ylim(bottom, shown.max() + 0.1 * (shown.max() - shown.min()))
        left.plot(0, bottom, "v", color="tab:red", markersize=9, clip_on=False, linestyle="none",
                  label=f"M = 0: ln p = {evidence[0]:.1f}, below the axis")
    left.set_xlabel("M")
    left.set_ylabel("ln p(t | M)")
    left.set_title("Evidence vs polynomial degree (PRML Fig. 3.14)")
    left.set_xticks(degrees)
    left.legend(fontsize=8, loc="best")
    right.plot(degrees, [r["rms_train_least_squares"] for r in rows], "o-", color="tab:blue",
               label="train, least squares (Fig. 1.5)")
    right.plot(degrees, [r["rms_test_least_squares"] for r in rows], "o--", color="tab:blue", alpha=0.6,
               label="test (100 new points), least squares")
    right.plot(degrees, [r["rms_train_posterior_mean"] for r in rows], "^-", color="tab:orange",
               label="train, posterior mean")
    right.axhline(SIGMA, color="gray", linestyle=":", label="noise sd 0.3")
    right.axvline(best, color="k", linewidth=0.8, linestyle="--")
    right.set_ylim(0, 1.2)
    right.set_xlabel("M")
    right.set_ylabel("E_RMS = sqrt(MSE)")
    right.set_xticks(degrees)
    right.set_title("The training error only falls")
    right.legend(fontsize=8, loc="upper right")
    return figure


def plot_comparison(comparison):
    """PSIS-LOO by ``az.plot_compare`` (arviz-plots) beside WAIC drawn the same way; exact values marked on both.

    Both panels show elpd +- se per model on one shared x-axis, the best model on top and a dashed line at its
    elpd; the exact LOO (x) is on both and the closed-form WAIC of infinitely many draws (o) on the right.
    """
    rows = comparison["rows"]
    collection = az.plot_compare(comparison["compare_loo"], relative_scale=False, backend="matplotlib",
                                 figure_kwargs={"figsize": (11, 0.55 * len(rows) + 2.2)})
    figure, left = collection.viz["figure"].item(), collection.viz["plot"].item()
    grid = figure.add_gridspec(1, 2)
    left.set_subplotspec(grid[0])
    right = figure.add_subplot(grid[1], sharex=left)
    color = left.collections[0].get_facecolor()[0]  # arviz-plots' point colour, reused for WAIC
    by_waic = sorted(rows, key=lambda r: r["waic_rank"])
    positions = np.arange(len(rows), 0, -1)  # az.plot_compare's: the best model on top
    right.errorbar([r["elpd_waic"] for r in by_waic], positions, xerr=[r["se_waic"] for r in by_waic],
                   fmt="o", color=color, label="elpd +- se (left: PSIS-LOO, right: WAIC)")
    right.plot([r["exact_waic"] for r in by_waic], positions, "o", mfc="none", color="tab:orange", markersize=10,
               label="WAIC, infinitely many draws")
    right.axvline(by_waic[0]["elpd_waic"], color="dimgray", linestyle="--")
    right.set_yticks(positions, [r["name"] for r in by_waic])
    right.set_ylim(left.get_ylim())
    right.set_xlabel("ELPD (WAIC)")
    right.set_title("WAIC from its definition, ranked by elpd_waic\nhigher is better")
    by_loo = {label.get_text(): y for label, y in zip(left.get_yticklabels(), left.get_yticks())}
    for axis, ordered, ys in ((left, rows, [by_loo[r["name"]] for r in rows]), (right, by_waic, positions)):
        axis.plot([r["exact_loo"] for r in ordered], ys, "x", color="k", markersize=8, label="exact LOO")
    figure.legend(*right.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    left.set_title("PSIS-LOO: az.compare, az.plot_compare\nhigher is better")
    n_large_k = sum(r["n_pareto_k_large"] for r in rows)
    figure.suptitle(f"Out-of-sample fit, {comparison['draws']} iid posterior draws per M, N = 10 points: "
                    f"{n_large_k} of {10 * len(rows)} Pareto k > {PARETO_K_THRESHOLD}", fontsize=10)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    return figure


def plot_empirical_bayes(optima, profile):
    degrees = np.array([o["degree"] for o in optima])
    interior = np.array([not o["boundary"] for o in optima])
    noise_sd = np.array([1 / np.sqrt(o["beta"]) for o in optima])
    gamma = np.array([o["gamma"] for o in optima])
    figure, (first, left, right) = plt.subplots(1, 3, figsize=(11.5, 4.2), layout="constrained")
    optimum = optima[profile["degree"]]
    first.semilogx(profile["alpha"], profile["log_evidence"], color="tab:purple",
                   label="max over beta of ln p(t | alpha, beta)")
    if not optimum["boundary"]:
        first.plot(optimum["alpha"], optimum["log_evidence"], "*", color="k", markersize=13,
                   label=f"empirical Bayes: alpha = {optimum['alpha']:.3g}")
    first.axvline(ALPHA, color="tab:red", linestyle="--", label=f"alpha = {ALPHA:g} (Fig. 3.14)")
    first.set_xlabel("alpha (prior precision)")
    first.set_ylabel("profile ln evidence")
    first.set_title(f"M = {profile['degree']}: the evidence over alpha")
    noise_axis = first.twinx()
    noise_axis.semilogx(profile["alpha"], 1 / np.sqrt(profile["beta"]), color="tab:gray", linewidth=1)
    noise_axis.axhline(SIGMA, color="tab:gray", linestyle=":", linewidth=1)
    noise_axis.set_ylabel("its sqrt(1/beta) (gray; dotted: 0.3)", color="tab:gray")
    first.legend(fontsize=8, loc="upper left")
    left.plot(degrees[interior], noise_sd[interior], "o-", color="tab:purple",
              label="sqrt(1/beta) maximizing the evidence")
    if (~interior).any():
        left.plot(degrees[~interior], noise_sd[~interior], "o", mfc="none", color="tab:purple",
                  label="alpha -> infinity (w = 0): RMS of t")
    left.axhline(SIGMA, color="gray", linestyle=":", label="true noise sd 0.3")
    left.set_xlabel("M")
    left.set_ylabel("noise sd")
    left.set_xticks(degrees)
    left.set_title("Noise level learned by empirical Bayes")
    left.legend(fontsize=8)
    right.plot(degrees, gamma, "o-", color="tab:green", label="gamma (effective number of parameters)")
    right.plot(degrees, degrees + 1, "k:", label="M + 1 weights")
    right.set_xlabel("M")
    right.set_xticks(degrees)
    right.set_title("Well-determined parameters (PRML eq. 3.91)")
    right.legend(fontsize=8)
    return figure


def _finite_or_none(value):
    return float(value) if np.isfinite(value) else None


def compute(config, rng, cache=None, progressbar=False):
    """Evidence, exact LOO and RMS for M = 0..9 on N = 10 points (100 test points), empirical Bayes for each M, the
    evidence profile over alpha at M = 3, and PSIS-LOO and WAIC on ``config["draws"]`` exact-posterior draws of
    each M in ``config["compare_degrees"]`` (through the DataTree cache in ``cache``)."""
    x, t = prml_data(10, rng)
    x_test, t_test = prml_data(100, rng)
    rows = evidence_versus_degree(x, t, x_test, t_test, DEGREES)
    optima = [evidence_optimum(x, t, degree) for degree in DEGREES]
    profile = profile_evidence(x, t, PROFILE_DEGREE, np.logspace(-6, 4, config["profile_points"]))
    compare_set = tuple(config["compare_degrees"])
    comparison = compare_degrees(x, t, compare_set, draws=config["draws"], rng=rng, cache=cache)

    evidence = np.array([r["log_evidence"] for r in rows])
    loo_exact = np.array([r["exact_loo"] for r in rows])
    compared = comparison["rows"]
    interior = [o for o in optima if not o["boundary"]]
    summary = {
        "degrees": list(DEGREES),
        "alpha": ALPHA,
        "beta": 1 / SIGMA**2,
        "log_evidence": evidence,
        "evidence_argmax_degree": int(np.argmax(evidence)),
        "exact_loo": loo_exact,
        "exact_loo_argmax_degree": int(np.argmax(loo_exact)),
        "compare_degrees": list(compare_set),
        "loo_best_degree": compared[0]["degree"],
        "waic_best_degree": next(r["degree"] for r in compared if r["waic_rank"] == 0),
        "waic_infinite_draws_best_degree": max(compared, key=lambda r: r["exact_waic"])["degree"],
        "psis_loo_elpd": {r["name"]: r["elpd_loo"] for r in compared},
        "psis_loo_elpd_diff": {r["name"]: r["elpd_diff"] for r in compared},
        "waic_elpd": {r["name"]: r["elpd_waic"] for r in compared},
        "waic_elpd_infinite_draws": {r["name"]: r["exact_waic"] for r in compared},
        "pareto_k_above_0_7": {r["name"]: r["n_pareto_k_large"] for r in compared},
        "psis_loo_max_abs_error_vs_exact": max(abs(r["elpd_loo"] - r["exact_loo"]) for r in compared),
        "empirical_bayes_alpha": [_finite_or_none(o["alpha"]) for o in optima],
        "empirical_bayes_beta": [o["beta"] for o in optima],
        "empirical_bayes_gamma": [o["gamma"] for o in optima],
        "empirical_bayes_log_evidence": [o["log_evidence"] for o in optima],
        "empirical_bayes_alpha_infinite_at": [o["degree"] for o in optima if o["boundary"]],
        "empirical_bayes_vs_log_evidence_max_abs_diff":
            max((abs(o["log_evidence"] - o["log_evidence_model"]) for o in interior), default=0.0),
        "noise_rms_of_this_draw": float(np.sqrt(np.mean((t - np.sin(2 * np.pi * x)) ** 2))),
        "profile_evidence_m3_local_maxima": profile["local_maxima"],
        "data": {"x": x, "t": t},
    }
    return {"summary": summary, "rows": rows, "optima": optima, "profile": profile, "comparison": comparison,
            "max_abs_w_least_squares_m3": float(np.max(np.abs(least_squares(x, t, basis=PolynomialBasis(3)))))}


def checks(result):
    s, rows = result["summary"], result["rows"]
    evidence, best = np.asarray(s["log_evidence"]), s["evidence_argmax_degree"]
    eb_gain = np.array(s["empirical_bayes_log_evidence"]) - evidence
    eb_consistency = s["empirical_bayes_vs_log_evidence_max_abs_diff"]
    measured = len(s["empirical_bayes_alpha_infinite_at"]) < len(DEGREES)  # some optimum where the model exists
    return [
        check("the evidence is not maximized by M = 9, which interpolates the 10 points",
              f"argmax M = {best} (ln p = {evidence[best]:.2f}), M = 9: ln p = {evidence[9]:.2f} with training RMS "
              f"{rows[9]['rms_train_least_squares']:.1e} (tolerance 1e-6)",
              best != 9 and evidence[9] < evidence.max() and rows[9]["rms_train_least_squares"] < 1e-6),
        check("empirical Bayes: the optimal (alpha, beta) give at least the evidence of the fixed ones, for every M",
              f"smallest gain over M = 0..9: {eb_gain.min():.3g} nats (must be >= 0)", np.all(eb_gain >= 0)),
        check("the empirical-Bayes evidence equals log_evidence of the PyMC model at the optimum",
              f"max |difference| = {eb_consistency:.1e} (tolerance 1e-9)" if measured else
              "not measured: every optimum is at alpha = inf (w = 0), where the model has no finite prior",
              eb_consistency < 1e-9 if measured else None),
    ]


def figures(result):
    return {
        "evidence": (plot_evidence(result["rows"], result["optima"]),
                     "ln p(t | M) vs M with the maximum marked (PRML Fig. 3.14), beside the RMS error (Fig. 1.5)."),
        "compare": (plot_comparison(result["comparison"]),
                    "PSIS-LOO (az.plot_compare) and WAIC (from its definition): elpd +- se per model, with the "
                    "exact LOO (x) and the WAIC of infinitely many draws (o)."),
        "empirical_bayes": (plot_empirical_bayes(result["optima"], result["profile"]),
                            "The evidence of M = 3 over alpha (beta at its best for each alpha); the noise sd "
                            "and the effective number of parameters at the evidence optimum of each M."),
    }


def tables(result):
    rows, optima, compared = result["rows"], result["optima"], result["comparison"]["rows"]

    def alpha_cell(o):
        return "inf (w = 0)" if o["boundary"] else o["alpha"]

    return [
        table(f"Evidence and exact LOO vs M (alpha = {ALPHA:g}, beta = {1 / SIGMA**2:.4g})",
              ["M", "ln p(t | M)", "exact LOO elpd", "training RMS (least squares)", "test RMS (least squares)",
               "training RMS (posterior mean)"],
              [[r["degree"], r["log_evidence"], r["exact_loo"], r["rms_train_least_squares"],
                r["rms_test_least_squares"], r["rms_train_posterior_mean"]] for r in rows]),
        table("az.compare (PSIS-LOO), with the Pareto k of the 10 observations; elpd_diff = elpd - elpd of the "
              "best model (ArviZ 1: zero or negative)",
              ["model", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "p_worse", "weight",
               "ArviZ diag_elpd", "max Pareto k", "k > 0.7"],
              [[r["name"], r["rank"], r["elpd_loo"], r["se"], r["p_loo"], r["elpd_diff"], r["dse"],
                "" if r["p_worse"] is None else r["p_worse"], r["weight"], r["diag_elpd"], r["max_pareto_k"],
                r["n_pareto_k_large"]] for r in compared]),
        table("WAIC from its definition (BDA3 eq. 7.11-7.12), its value for infinitely many draws, and the exact "
              "LOO of the same models",
              ["model", "WAIC rank", "elpd_waic", "se", "p_waic", "p_waic_n > 0.4",
               "elpd_waic, infinitely many draws", "exact LOO elpd", "WAIC - exact LOO", "PSIS-LOO - exact LOO"],
              [[r["name"], r["waic_rank"], r["elpd_waic"], r["se_waic"], r["p_waic"], r["n_p_waic_large"],
                r["exact_waic"], r["exact_loo"], r["elpd_waic"] - r["exact_loo"], r["elpd_loo"] - r["exact_loo"]]
               for r in compared]),
        table("Empirical Bayes: (alpha, beta) maximizing the evidence, against the fixed (alpha, beta) of "
              "Fig. 3.14",
              ["M", "alpha", "beta", "sqrt(1/beta)", "gamma", "M + 1", "ln p(t) at optimum",
               f"ln p(t) at alpha = {ALPHA:g}, beta = {1 / SIGMA**2:.4g}", "iterations"],
              [[o["degree"], alpha_cell(o), o["beta"], 1 / np.sqrt(o["beta"]), o["gamma"], o["degree"] + 1,
                o["log_evidence"], r["log_evidence"], "" if o["iterations"] is None else o["iterations"]]
               for o, r in zip(optima, rows)]),
    ]


def text(result):
    s, rows, optima, comparison = result["summary"], result["rows"], result["optima"], result["comparison"]
    compared, n_points = comparison["rows"], len(s["data"]["t"])
    evidence, best = np.asarray(s["log_evidence"]), s["evidence_argmax_degree"]
    interior = [o for o in optima if not o["boundary"]]
    boundary = s["empirical_bayes_alpha_infinite_at"]
    noise_sd = [1 / np.sqrt(o["beta"]) for o in interior]
    eb_best = max(optima, key=lambda o: o["log_evidence"])
    large_k = ", ".join(f"{r['n_pareto_k_large']} at {r['name']}" for r in compared)
    boundary_note = (f" For M = {', '.join(map(str, boundary))} the evidence keeps rising as alpha -> infinity: the "
                     "data along the features are weaker than the noise, the supremum is the noise-only model w = 0 "
                     "(noise sd = RMS of t), which empirical_bayes returns as alpha = inf." if boundary else "")
    if not interior:
        noise_note = ""
    elif min(noise_sd) > 1.15 * SIGMA:
        noise_note = (" The estimate is high because one isotropic prior on the raw monomial coefficients cannot "
                      "allow the large weights a sine needs on [0, 1] (least squares at M = 3 has max |w| = "
                      f"{result['max_abs_w_least_squares_m3']:.1f}) without allowing them everywhere, so the evidence "
                      f"prefers a tight prior (median alpha {np.median([o['alpha'] for o in interior]):.2f}) and "
                      "books the misfit as noise.")
    elif max(noise_sd) < 0.85 * SIGMA:
        noise_note = " With ten points the estimate is low: part of this draw's noise is fitted."
    else:
        noise_note = " That is close to the truth."
    peaks = s["profile_evidence_m3_local_maxima"]
    if len(peaks) > 1:
        noise_note += (f" For M = {PROFILE_DEGREE} the evidence over alpha has {len(peaks)} local maxima: "
                       + "; ".join(f"alpha = {m['alpha']:.3g} with sqrt(1/beta) = {1 / np.sqrt(m['beta']):.3f}, "
                                   f"ln p = {m['log_evidence']:.2f}" for m in peaks)
                       + "; empirical Bayes reports the higher one.")
    if interior:
        learned = (
            f"the learned noise sd sqrt(1/beta) ranges {min(noise_sd):.3f} to {max(noise_sd):.3f} over "
            f"M = {interior[0]['degree']}..{interior[-1]['degree']} against the true 0.3, with N = 10 points and "
            f"gamma = {min(o['gamma'] for o in interior):.2f} to {max(o['gamma'] for o in interior):.2f} "
            "well-determined parameters, whatever the number M + 1 of weights (this draw's noise has RMS "
            f"{s['noise_rms_of_this_draw']:.3f}).{noise_note} The empirical-Bayes evidence agrees with log_evidence "
            f"of the PyMC model at the optimum to {s['empirical_bayes_vs_log_evidence_max_abs_diff']:.1e}.")
    else:  # every M at alpha = inf: no optimum where the PyMC model could be compared
        learned = (
            f"for every M that is the noise-only model w = 0, whose noise sd sqrt(1/beta) = RMS of t = "
            f"{1 / np.sqrt(optima[0]['beta']):.3f} against the true 0.3 (this draw's noise has RMS "
            f"{s['noise_rms_of_this_draw']:.3f}).{noise_note}")
    waic_excess = [r["exact_waic"] - r["exact_loo"] for r in compared]  # WAIC's own bias, free of Monte Carlo error
    n_p_waic_large = sum(r["n_p_waic_large"] for r in compared)
    waic_note = ("Even with infinitely many draws (its closed form) WAIC "
                 + (f"exceeds the exact LOO by {min(waic_excess):.2f} to {max(waic_excess):.2f} nats"
                    if min(waic_excess) > 0 else
                    f"differs from the exact LOO by {min(waic_excess):+.2f} to {max(waic_excess):+.2f} nats")
                 + f"; {n_p_waic_large} of the {len(compared) * n_points} p_waic_n exceed 0.4, above which WAIC is "
                 "unreliable (Vehtari, Gelman & Gabry 2017).")
    return (
        f"With alpha = {ALPHA:g} and beta = 1/0.3^2 fixed, the evidence ln p(t | M) of the N = 10 points peaks at "
        f"M = {best} ({evidence[best]:.2f}, against {evidence[9]:.2f} at M = 9) while the training RMS of least "
        f"squares falls all the way to {rows[9]['rms_train_least_squares']:.1e} at M = 9 (Fig. 1.5): the evidence "
        "is the probability of the data under the prior predictive, sum_n ln p(t_n | t_1..t_{n-1}), so it "
        "charges for every weight the data do not need (Occam's razor, PRML 3.4). "
        f"Leave-one-out predicts each point from the other nine: its exact value for this conjugate model peaks "
        f"at M = {s['exact_loo_argmax_degree']}. Among M = {', '.join(map(str, s['compare_degrees']))}, on "
        f"{comparison['draws']} iid posterior draws, az.compare ranks first M = {s['loo_best_degree']} by PSIS-LOO "
        f"and WAIC (computed here from its definition, as ArviZ 1 has none) ranks first M = {s['waic_best_degree']} "
        f"(with infinitely many draws: M = {s['waic_infinite_draws_best_degree']}; exact LOO: "
        f"M = {max(compared, key=lambda r: r['exact_loo'])['degree']}); {sum(r['n_pareto_k_large'] for r in compared)}"
        f" of {len(compared) * n_points} pointwise Pareto k exceed 0.7 ({large_k}), as expected with ten points, and "
        f"PSIS-LOO differs from the exact LOO by up to {s['psis_loo_max_abs_error_vs_exact']:.2f} nats. {waic_note} "
        f"Empirical Bayes (PRML 3.5.2) maximizes the evidence over alpha and beta for each M: the best is "
        f"M = {eb_best['degree']} (ln p = {eb_best['log_evidence']:.2f}); {learned}{boundary_note}"
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
