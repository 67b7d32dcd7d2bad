"""The posterior predictive: ``predict`` draws against PRML eq. 3.58-3.59, and the predictive analysis' checks on its
own computation, and that they can fail."""

import copy

import numpy as np
import pytest

from analyses import predictive
from models import GaussianBasis, exact_posterior, gaussian_regression, predict, priors


def test_predict_matches_the_closed_form_predictive(prml_data):
    r"""Known sigma, Normal prior: t | x, data ~ N(m_N' phi(x), sigma^2 + phi(x)' S_N phi(x)) (PRML eq. 3.58-3.59).

    S_N^-1 = I/scale^2 + Phi' Phi / sigma^2 and m_N = S_N Phi' t / sigma^2 (PRML eq. 3.53-3.54), computed here
    from the basis' own features, independently of the model's internal coordinates.
    """
    x, t = prml_data
    sigma, scale, draws = 0.3, 0.7, 10_000
    basis = GaussianBasis(np.linspace(0, 1, 6), 0.15)
    model = gaussian_regression(x, t, basis=basis, sigma=sigma, prior=priors.Normal(scale))
    features = basis.features(x)
    covariance = np.linalg.inv(np.eye(features.shape[1]) / scale**2 + features.T @ features / sigma**2)
    m_n = covariance @ features.T @ t / sigma**2
    x_new = np.array([-0.3, 0.0, 0.25, 0.5, 0.8, 1.0, 1.4])  # inside the data and outside it, where S_N dominates
    phi = basis.features(x_new)
    epistemic = np.einsum("ij,jk,ik->i", phi, covariance, phi)

    idata = exact_posterior(model, draws=draws, random_seed=5)
    predictions = predict(model, idata, x_new, random_seed=6).predictions
    assert predictions["t"].dims == ("chain", "draw", "obs_id")
    t_draws = predictions["t"].values.reshape(draws, -1)
    mu_draws = predictions["mu"].values.reshape(draws, -1)

    # a sample variance of n iid normal draws has relative sd sqrt(2 / (n - 1)) = 0.014 here: allow 5 of them
    rtol = 5 * np.sqrt(2 / (draws - 1))
    np.testing.assert_allclose(t_draws.var(axis=0, ddof=1), sigma**2 + epistemic, rtol=rtol)
    np.testing.assert_allclose(mu_draws.var(axis=0, ddof=1), epistemic, rtol=rtol)
    # a sample mean has sd sqrt(variance / n): allow 5 of them
    z_t = (t_draws.mean(axis=0) - phi @ m_n) / np.sqrt((sigma**2 + epistemic) / draws)
    z_mu = (mu_draws.mean(axis=0) - phi @ m_n) / np.sqrt(epistemic / draws)
    assert np.all(np.abs(z_t) < 5), z_t
    assert np.all(np.abs(z_mu) < 5), z_mu


@pytest.fixture(scope="module")
def computed():
    """The analysis' quick computation on a seed of its own (no cache)."""
    return predictive.compute(predictive.config(quick=True), np.random.default_rng(sum(map(ord, "predictive"))))


def test_its_checks_hold_and_fail_when_their_numbers_do(computed):
    """All four checks hold on a quick computation; each turns False, alone, when its number is pushed past its
    tolerance."""
    assert [entry["ok"] for entry in predictive.checks(computed)] == [True] * 4
    summary = computed["summary"]

    def with_coverage(method, index, value):
        coverage = copy.deepcopy(summary["coverage"])
        coverage[method]["90%"][index] = value
        return {"coverage": coverage}

    post = summary["coverage"]["posterior_predictive"]["90%"]
    perturbed = [
        {"max_abs_diff_map_mean_vs_m_N": max(1e6 * summary["max_abs_diff_map_mean_vs_m_N"], 1e-6)},
        {"max_rel_diff_predictive_sd_draws_vs_eq_3_59_n25":
         1e6 * summary["max_rel_diff_predictive_sd_draws_vs_eq_3_59_n25"]},
        with_coverage("posterior_predictive", -1, 0.5),  # under-covers at the largest N
        with_coverage("plug_in_map", 0, post[0]),  # covers as well as the posterior predictive at the smallest N
    ]
    for failing, change in enumerate(perturbed):
        result = dict(computed, summary=dict(summary, **change))
        assert [entry["ok"] for entry in predictive.checks(result)] == [i != failing for i in range(4)], failing
