"""Model selection: the evidence against independent computations, empirical Bayes against scikit-learn.

The analysis runs once in quick mode; its numbers are checked against dense-Gaussian and brute-force
computations that share no code with ``models.evidence``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.stats
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from sklearn.datasets import load_diabetes
from sklearn.linear_model import BayesianRidge

from analyses import model_selection
from models import LinearBasis, PolynomialBasis, empirical_bayes, gaussian_regression, log_evidence, priors

SIGMA, ALPHA = 0.3, 5e-3


@pytest.fixture(scope="module")
def quick_run(quick_results):
    out, _, records = quick_results
    return out, records["model_selection"]


def _data(record):
    return np.array(record["summary"]["data"]["x"]), np.array(record["summary"]["data"]["t"])


@pytest.fixture(scope="module")
def computed():
    """The analysis' quick computation (about 5 s), without the shared run."""
    return model_selection.compute(model_selection.config(quick=True), np.random.default_rng(3))


def test_writes_its_figures(quick_run):
    out, _ = quick_run
    for stem in ("evidence", "compare", "empirical_bayes"):
        assert (out / "model_selection" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evidence_table_equals_the_dense_gaussian_marginal(quick_run):
    """ln p(t | M) = ln N(t | 0, sigma^2 I + Phi Phi^T / alpha) with Phi the raw monomial design (PRML eq. 3.86)."""
    _, record = quick_run
    x, t = _data(record)
    evidence_table = record["tables"][0]
    assert evidence_table["columns"][:2] == ["M", "ln p(t | M)"]
    for degree, value in [row[:2] for row in evidence_table["rows"]]:
        features = PolynomialBasis(degree).features(x)
        covariance = SIGMA**2 * np.eye(len(t)) + features @ features.T / ALPHA
        expected = scipy.stats.multivariate_normal(mean=np.zeros(len(t)), cov=covariance).logpdf(t)
        np.testing.assert_allclose(value, expected, rtol=1e-9)


def test_its_checks_hold_on_its_own_computation(computed):
    """The evidence does not pick the interpolating M = 9, empirical Bayes gains evidence everywhere and agrees with
    the PyMC model (the analysis' own checks); M = 9 alone interpolates."""
    assert [entry["ok"] for entry in model_selection.checks(computed)] == [True] * 3
    train_rms = [row["rms_train_least_squares"] for row in computed["rows"]]
    assert min(train_rms[:9]) > 1e-6


def test_its_checks_fail_when_their_numbers_do(computed):
    """Each check turns False when the number it is about is pushed past its tolerance, and only that check."""
    summary, rows = computed["summary"], computed["rows"]
    evidence = np.array(summary["log_evidence"])
    interpolating = dict(rows[9], rms_train_least_squares=1e-3)
    perturbed = [
        dict(computed, summary=dict(summary, evidence_argmax_degree=9)),
        dict(computed, rows=[*rows[:9], interpolating]),
        dict(computed, summary=dict(summary, empirical_bayes_log_evidence=list(evidence - 1e-3))),
        dict(computed, summary=dict(summary, empirical_bayes_vs_log_evidence_max_abs_diff=max(
            1e6 * summary["empirical_bayes_vs_log_evidence_max_abs_diff"], 1e-6))),
    ]
    for result, failing in zip(perturbed, (0, 0, 1, 2)):
        assert [entry["ok"] for entry in model_selection.checks(result)] == [i != failing for i in range(3)]


def test_exact_loo_equals_refitting_without_each_point(quick_run):
    """The closed-form LOO from C^-1 against N explicit posteriors on N - 1 points (PRML eq. 3.53-3.54, 3.58-3.59)."""
    _, record = quick_run
    x, t = _data(record)
    for degree in (1, 3, 9):
        features = PolynomialBasis(degree).features(x)
        refit = []
        for n in range(len(t)):
            keep = np.arange(len(t)) != n
            precision = ALPHA * np.eye(degree + 1) + features[keep].T @ features[keep] / SIGMA**2
            covariance = np.linalg.inv(precision)
            mean = covariance @ features[keep].T @ t[keep] / SIGMA**2
            variance = SIGMA**2 + features[n] @ covariance @ features[n]
            refit.append(scipy.stats.norm(features[n] @ mean, np.sqrt(variance)).logpdf(t[n]))
        np.testing.assert_allclose(model_selection.exact_loo(x, t, degree), refit, rtol=1e-8)
        np.testing.assert_allclose(record["summary"]["exact_loo"][degree], np.sum(refit), rtol=1e-8)


def test_compare_reports_arviz_ranking_and_pareto_k(quick_run):
    """ArviZ 1's table: best first, elpd_diff = elpd - elpd(best) (0 for the best, negative otherwise), k counts."""
    summary = quick_run[1]["summary"]
    loo_table = quick_run[1]["tables"][1]
    assert loo_table["columns"][:10] == ["model", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "p_worse",
                                         "weight", "ArviZ diag_elpd"]
    rows = loo_table["rows"]
    assert [row[1] for row in rows] == list(range(len(summary["compare_degrees"])))
    assert rows[0][0] == f"M = {summary['loo_best_degree']}"
    elpd = [row[2] for row in rows]
    assert elpd == sorted(elpd, reverse=True)
    assert rows[0][5] == 0 and rows[0][6] == 0 and rows[0][7] == ""  # the reference model
    for row in rows[1:]:
        assert row[5] == pytest.approx(row[2] - rows[0][2], abs=1e-12) and row[5] <= 0
        assert row[6] > 0 and 0 < row[7] < 1
    for row in rows:
        assert row[-1] == summary["pareto_k_above_0_7"][row[0]]
        assert (row[-2] > 0.7) == (row[-1] > 0)
    assert sum(row[8] for row in rows) == pytest.approx(1)  # stacking weights


def test_waic_table_ranks_by_elpd_waic_and_matches_the_closed_form(quick_run):
    """WAIC rank = order of elpd_waic; its infinite-draw value against the weight-space posterior (PRML eq. 3.53-3.54)
    of f_n: lppd_n = ln N(t_n | m_n, sigma^2 + v_n), p_waic_n = (v_n^2 + 2 (t_n - m_n)^2 v_n) / (2 sigma^4)."""
    _, record = quick_run
    x, t = _data(record)
    summary = record["summary"]
    waic_table = record["tables"][2]
    assert waic_table["columns"] == ["model", "WAIC rank", "elpd_waic", "se", "p_waic", "p_waic_n > 0.4",
                                     "elpd_waic, infinitely many draws", "exact LOO elpd", "WAIC - exact LOO",
                                     "PSIS-LOO - exact LOO"]
    rows = waic_table["rows"]
    assert {row[0] for row in rows} == {row[0] for row in record["tables"][1]["rows"]}
    by_rank = sorted(rows, key=lambda row: row[1])
    assert [row[1] for row in by_rank] == list(range(len(rows)))
    assert [row[2] for row in by_rank] == sorted((row[2] for row in rows), reverse=True)
    assert by_rank[0][0] == f"M = {summary['waic_best_degree']}"
    for name, _, elpd_waic, se, p_waic, n_large, infinite, exact_loo, waic_minus_loo, _ in rows:
        degree = int(name.split("=")[1])
        features = PolynomialBasis(degree).features(x)
        covariance = np.linalg.inv(ALPHA * np.eye(degree + 1) + features.T @ features / SIGMA**2)
        mean = features @ covariance @ features.T @ t / SIGMA**2
        variance = np.einsum("nk,kl,nl->n", features, covariance, features)
        lppd = scipy.stats.norm(mean, np.sqrt(SIGMA**2 + variance)).logpdf(t)
        penalty = (variance**2 + 2 * (t - mean) ** 2 * variance) / (2 * SIGMA**4)
        assert infinite == pytest.approx(np.sum(lppd - penalty), rel=1e-8)
        assert waic_minus_loo == pytest.approx(elpd_waic - exact_loo, abs=1e-12)
        assert p_waic > 0 and se > 0 and 0 <= n_large <= len(t)


def test_compare_degrees_uses_arviz_1_signs_and_ranks_waic_itself():
    """compare_degrees on 200 exact-posterior draws, without the quick run: ArviZ 1's elpd_diff is elpd minus the
    best elpd, WAIC is ranked by elpd_waic, and the figure lists the models best first in both panels."""
    generator = np.random.default_rng(11)
    x = generator.uniform(0, 1, 10)
    t = np.sin(2 * np.pi * x) + SIGMA * generator.normal(size=10)
    comparison = model_selection.compare_degrees(x, t, (1, 3, 9), draws=200, rng=generator)
    rows = comparison["rows"]
    assert [row["rank"] for row in rows] == [0, 1, 2]
    assert rows[0]["elpd_diff"] == 0 and rows[0]["p_worse"] is None
    for row in rows[1:]:
        assert row["elpd_loo"] < rows[0]["elpd_loo"]
        assert row["elpd_diff"] == pytest.approx(row["elpd_loo"] - rows[0]["elpd_loo"], abs=1e-12)
        assert 0 < row["p_worse"] < 1
    by_waic = sorted(rows, key=lambda row: row["waic_rank"])
    assert [row["elpd_waic"] for row in by_waic] == sorted((row["elpd_waic"] for row in rows), reverse=True)
    for row in rows:  # good_k = min(1 - 1/log10(S), 0.7) (Vehtari et al. 2024)
        assert row["good_k"] == pytest.approx(1 - 1 / np.log10(200))
        assert row["warning"] == (row["diag_elpd"] != "")
    figure = model_selection.plot_comparison(comparison)
    left, right = figure.axes[:2]
    for axis, ordered in ((left, rows), (right, by_waic)):
        labels = [label.get_text() for label in axis.get_yticklabels()]
        heights = list(axis.get_yticks())
        assert sorted(labels, key=lambda label: -heights[labels.index(label)]) == [row["name"] for row in ordered]
    plt.close(figure)


def test_evidence_optimum_on_the_boundary_is_the_noise_only_limit():
    """Zero-mean targets: for M = 0 the evidence rises all the way to alpha = infinity (w = 0, beta = N / t't)."""
    x = np.linspace(0, 1, 8)
    t = np.array([1.0, -1.0, 0.5, -0.5, 0.25, -0.25, 2.0, -2.0])
    result = model_selection.evidence_optimum(x, t, 0)
    assert result["boundary"] and np.isinf(result["alpha"]) and result["gamma"] == 0
    assert result["beta"] == pytest.approx(len(t) / (t @ t), rel=1e-12)
    noise_only = scipy.stats.norm(0, np.sqrt(t @ t / len(t))).logpdf(t).sum()
    assert result["log_evidence"] == pytest.approx(noise_only, rel=1e-12)
    finite = model_selection.profile_evidence(x, t, 0, np.logspace(-4, 6, 41))["log_evidence"]
    assert np.all(np.diff(finite) > 0) and finite.max() < result["log_evidence"]


def test_empirical_bayes_matches_sklearn_bayesian_ridge():
    """Hyper-priors off, every feature (the constant too) under the prior: lambda_ == alpha, alpha_ == beta."""
    x, t = load_diabetes(return_X_y=True)
    features = LinearBasis().features(x)
    result = empirical_bayes(x, t)
    # sklearn's tol is an absolute change in coef_ (~1e2 here): 1e-10 is already far below the 1e-6 compared
    ridge = BayesianRidge(alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, fit_intercept=False, tol=1e-10,
                          max_iter=100000).fit(features, t)
    np.testing.assert_allclose(result["alpha"], ridge.lambda_, rtol=1e-6)
    np.testing.assert_allclose(result["beta"], ridge.alpha_, rtol=1e-6)
    np.testing.assert_allclose(result["w_mean"], ridge.coef_, rtol=1e-6)
    covariance = np.eye(len(t)) / result["beta"] + features @ features.T / result["alpha"]
    expected = scipy.stats.multivariate_normal(mean=np.zeros(len(t)), cov=covariance).logpdf(t)
    np.testing.assert_allclose(result["log_evidence"], expected, rtol=1e-9)


def test_log_evidence_equals_the_integral_over_one_weight(rng):
    """p(t) = int prod_n N(t_n | w x_n, sigma^2) N(w | 0, scale^2) dw, by adaptive quadrature in a shifted log space."""
    x = rng.uniform(-2, 2, 8)
    sigma, scale = 0.5, 2.0
    t = 0.7 * x + sigma * rng.normal(size=8)
    model = gaussian_regression(x, t, basis=LinearBasis(intercept=False), sigma=sigma, prior=priors.Normal(scale))

    def log_joint(w):
        return scipy.stats.norm(w * x, sigma).logpdf(t).sum() + scipy.stats.norm(0, scale).logpdf(w)

    peak = minimize_scalar(lambda w: -log_joint(w), bracket=(-1, 1), tol=1e-12).x
    shift = log_joint(peak)
    pieces = [quad(lambda w: np.exp(log_joint(w) - shift), a, b, epsabs=0, epsrel=1e-13, limit=200)
              for a, b in ((-np.inf, peak), (peak, np.inf))]
    integral = sum(value for value, _ in pieces)
    assert max(error for _, error in pieces) < 1e-11 * integral
    np.testing.assert_allclose(np.exp(log_evidence(model)), np.exp(shift) * integral, rtol=1e-8)
