"""The posterior predictive: ``predict`` draws against PRML eq. 3.58-3.59, and the predictive analysis end to end."""

import numpy as np
import pytest

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


@pytest.mark.slow
def test_predictive_analysis_quick_run(quick_results):
    record = quick_results[2]["predictive"]
    summary = record["summary"]
    # the MAP of a Gaussian posterior is its mean m_N (fit_map is exact, not an optimizer's tolerance)
    assert summary["max_abs_diff_map_mean_vs_m_N"] < 1e-8
    # max over a 200-point grid of strongly correlated sample sds: 5 Monte Carlo sds is a generous bound
    assert summary["max_rel_diff_predictive_sd_draws_vs_eq_3_59_n25"] < 5 * summary["mc_relative_sd_of_a_sample_sd"]
    posterior, plug_in = (summary["coverage"][m]["90%"] for m in ("posterior_predictive", "plug_in_map"))
    # a few data sets of N = 50: the coverage of one data set varies by ~0.05 with its sigma estimate
    assert 0.75 <= posterior[-1] <= 0.98
    # at N = 5 with 4 weights, sigma_MAP^2 = SSE/N has one degree of freedom behind it: the plug-in under-covers badly
    assert plug_in[0] < posterior[0] - 0.3
