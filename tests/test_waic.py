"""WAIC from its definition (``analyses.model_selection.waic``) and its closed form for the conjugate model.

ArviZ 1 has no WAIC; these tests check the analysis' own against a 50-digit reference (mpmath), an identity,
numerical integration over the exact posterior, and the known agreement with exact LOO when N is large.
"""

import mpmath
import numpy as np
import pytest
import xarray as xr
from scipy.integrate import quad

from analyses import model_selection
from models import PolynomialBasis, exact_posterior

SIGMA, ALPHA = 0.3, 5e-3


def _log_likelihood_tree(values):
    """A DataTree with only a ``log_likelihood`` group: ``t`` with dims (chain, draw, obs_id)."""
    return xr.DataTree.from_dict({"log_likelihood": xr.Dataset({"t": (("chain", "draw", "obs_id"), values)})})


def _weight_space_posterior_of_f(x, t, degree):
    """Mean and variance of f_n = phi(x_n)' w under w | t ~ N(m_N, S_N) (PRML eq. 3.53-3.54, raw monomials)."""
    features = PolynomialBasis(degree).features(x)
    covariance = np.linalg.inv(ALPHA * np.eye(degree + 1) + features.T @ features / SIGMA**2)
    mean = covariance @ features.T @ t / SIGMA**2
    return features @ mean, np.einsum("nk,kl,nl->n", features, covariance, features)


def test_waic_of_a_log_likelihood_constant_over_draws():
    """l_sn = c_n for every draw: lppd_n = c_n, p_waic_n = 0, so elpd_waic = sum(c), se = sqrt(N var(c))."""
    c = np.array([-0.3, -2.0, -11.5, 0.8, -1.25])
    result = model_selection.waic(_log_likelihood_tree(np.broadcast_to(c, (2, 300, len(c))).copy()))
    np.testing.assert_allclose(result["p_pointwise"], 0, atol=1e-12)
    assert result["p"] == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(result["pointwise"], c, rtol=1e-13)
    assert result["elpd"] == pytest.approx(c.sum(), rel=1e-13)
    assert result["se"] == pytest.approx(np.sqrt(len(c) * np.var(c, ddof=1)), rel=1e-12)


def test_waic_equals_a_50_digit_reference(rng):
    """Two chains of 7 draws, 4 observations, one near -1000 nats (exp underflows in float64) and one 40 nats wide."""
    values = rng.normal(size=(2, 7, 4)) * np.array([1.0, 0.2, 10.0, 3.0]) + np.array([-1000.0, -0.5, -20.0, 2.0])
    result = model_selection.waic(_log_likelihood_tree(values))
    samples = values.reshape(14, 4)
    with mpmath.workdps(50):
        pointwise, penalties = [], []
        for column in samples.T:
            draws = [mpmath.mpf(float(v)) for v in column]
            lppd = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in draws) / len(draws))
            mean = mpmath.fsum(draws) / len(draws)
            penalty = mpmath.fsum((v - mean) ** 2 for v in draws) / (len(draws) - 1)
            pointwise.append(lppd - penalty)
            penalties.append(penalty)
        total = mpmath.fsum(pointwise)
        spread = mpmath.fsum((v - total / len(pointwise)) ** 2 for v in pointwise) / (len(pointwise) - 1)
        se = mpmath.sqrt(len(pointwise) * spread)
        expected = [float(v) for v in pointwise], [float(v) for v in penalties], float(total), float(se)
    np.testing.assert_allclose(result["pointwise"], expected[0], rtol=1e-13)
    np.testing.assert_allclose(result["p_pointwise"], expected[1], rtol=1e-12)
    assert result["elpd"] == pytest.approx(expected[2], rel=1e-13)
    assert result["p"] == pytest.approx(sum(expected[1]), rel=1e-12)
    assert result["se"] == pytest.approx(expected[3], rel=1e-12)


@pytest.mark.parametrize("degree", [1, 3, 9])
def test_exact_waic_equals_integrals_over_the_weight_space_posterior(prml_data, degree):
    """lppd_n = ln E[N(t_n | f_n, sigma^2)], p_waic_n = Var[ln N(t_n | f_n, sigma^2)], f_n ~ its posterior, by quad."""
    x, t = prml_data
    mean, variance = _weight_space_posterior_of_f(x, t, degree)
    lppd, penalty = [], []
    for t_n, m_n, v_n in zip(t, mean, variance):
        def log_likelihood(f, t_n=t_n):
            return -0.5 * np.log(2 * np.pi * SIGMA**2) - (t_n - f) ** 2 / (2 * SIGMA**2)

        def expectation(g, m_n=m_n, v_n=v_n):
            width = 15 * np.sqrt(v_n)  # the posterior mass beyond is < 1e-50

            def integrand(f):
                return g(f) * np.exp(-(f - m_n) ** 2 / (2 * v_n)) / np.sqrt(2 * np.pi * v_n)

            return quad(integrand, m_n - width, m_n + width, epsabs=0, epsrel=1e-11, limit=200)[0]

        lppd.append(np.log(expectation(lambda f: np.exp(log_likelihood(f)))))
        mean_log = expectation(log_likelihood)
        penalty.append(expectation(lambda f, mean_log=mean_log: (log_likelihood(f) - mean_log) ** 2))
    result = model_selection.exact_waic(x, t, degree)
    np.testing.assert_allclose(result["p_pointwise"], penalty, rtol=1e-8)
    np.testing.assert_allclose(result["pointwise"], np.array(lppd) - np.array(penalty), rtol=1e-8)
    assert result["elpd"] == pytest.approx(np.sum(lppd) - np.sum(penalty), rel=1e-8)


def test_waic_of_exact_posterior_draws_converges_to_the_closed_form(prml_data):
    """20000 iid draws of M = 3: the Monte Carlo sd of elpd_waic is about 0.02 nats here (200 replicates), so 0.1
    is five sd, and below the 0.17 by which WAIC differs from the exact LOO for these 15 points."""
    x, t = prml_data
    idata = exact_posterior(model_selection.fixed_model(x, t, 3), draws=20000, random_seed=7)
    result = model_selection.waic(idata)
    expected = model_selection.exact_waic(x, t, 3)
    assert abs(result["elpd"] - expected["elpd"]) < 0.1
    np.testing.assert_allclose(result["p_pointwise"], expected["p_pointwise"], atol=0.05)
    assert result["se"] == pytest.approx(expected["se"], abs=0.05)
    assert abs(expected["elpd"] - np.sum(model_selection.exact_loo(x, t, 3))) > 0.1


def test_waic_agrees_with_exact_loo_when_the_data_outnumber_the_parameters():
    """Both estimate the same elpd; they agree as N grows (Watanabe 2010): within 0.05 nats at N = 200, M = 3."""
    generator = np.random.default_rng(200)
    x = generator.uniform(0, 1, 200)
    t = np.sin(2 * np.pi * x) + SIGMA * generator.normal(size=200)
    for degree in (1, 3):
        difference = model_selection.exact_waic(x, t, degree)["elpd"] - np.sum(model_selection.exact_loo(x, t, degree))
        assert abs(difference) < 0.05
