"""NUTS on the builders' models samples exactly the stated density (checked against closed forms)."""

import arviz as az
import numpy as np
import pymc as pm
import pytest

from models import PolynomialBasis, gaussian_regression, priors


@pytest.mark.slow
def test_nuts_matches_the_conjugate_posterior(prml_data):
    """Fixed sigma, Normal prior: w | t ~ N(m_N, S_N), S_N^-1 = I/scale^2 + Phi^T Phi / sigma^2 (PRML eq. 3.53-3.54)."""
    x, t = prml_data
    sigma, scale = 0.3, 2.0
    basis = PolynomialBasis(5)
    model = gaussian_regression(x, t, basis=basis, sigma=sigma, prior=priors.Normal(scale))
    features = basis.features(x)
    precision = np.eye(6) / scale**2 + features.T @ features / sigma**2
    covariance = np.linalg.inv(precision)
    mean = covariance @ features.T @ t / sigma**2

    idata = pm.sample(draws=1000, tune=1000, chains=2, random_seed=11, progressbar=False, model=model,
                      compute_convergence_checks=False)
    w = idata.posterior["w"]
    summary = az.summary(idata, var_names=["w"], kind="all")
    assert int(idata.sample_stats["diverging"].sum()) == 0
    assert summary["r_hat"].max() <= 1.01
    # Monte Carlo error of the mean is sd / sqrt(ESS): allow 4 of them
    z = (w.mean(("chain", "draw")).values - mean) / summary["mcse_mean"].values
    assert np.all(np.abs(z) < 4), z
    # posterior sd within 10% (the sd's own Monte Carlo error at ESS ~1000 is ~2-3%)
    np.testing.assert_allclose(w.std(("chain", "draw")).values, np.sqrt(np.diag(covariance)), rtol=0.1)
