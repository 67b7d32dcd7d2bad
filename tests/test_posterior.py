"""The posterior ladder: exact draws, NUTS, Laplace and ADVI against closed forms."""

import logging

import arviz as az
import numpy as np
import pytest
import scipy.stats

from models import (
    LinearBasis,
    PolynomialBasis,
    exact_posterior,
    fit_advi,
    fit_laplace,
    fit_map,
    gaussian_regression,
    likelihoods,
    log_likelihood_at,
    predict,
    priors,
    regression,
    sample_posterior,
)

SIGMA, SCALE = 0.3, 2.0


def conjugate_moments(features, t, sigma, scale, loc=0.0):
    """PRML eq. 3.53-3.54 in plain numpy: m_N and S_N for w ~ N(loc, scale^2 I), t ~ N(Phi w, sigma^2 I)."""
    p = features.shape[1]
    precision = np.eye(p) / scale**2 + features.T @ features / sigma**2
    covariance = np.linalg.inv(precision)
    mean = covariance @ (np.full(p, loc) / scale**2 + features.T @ t / sigma**2)
    return mean, covariance


@pytest.fixture
def conjugate_model(prml_data):
    x, t = prml_data
    basis = PolynomialBasis(3)
    model = gaussian_regression(x, t, basis=basis, sigma=SIGMA, prior=priors.Normal(SCALE))
    return model, conjugate_moments(basis.features(x), t, SIGMA, SCALE)


def draws_of(idata, name="w"):
    return idata.posterior[name].stack(sample=("chain", "draw")).values.T


def test_exact_posterior_matches_prml_closed_form(conjugate_model):
    model, (mean, covariance) = conjugate_model
    idata = exact_posterior(model, draws=20_000, random_seed=1)
    w = draws_of(idata)
    sd = np.sqrt(np.diag(covariance))
    # iid draws: the sample mean's error is sd / sqrt(draws); allow 4 of them
    assert np.all(np.abs(w.mean(0) - mean) < 4 * sd / np.sqrt(len(w)))
    # the sample covariance of 20000 iid draws is within ~3% (relative sd of a variance estimate ~ sqrt(2/n) = 1%)
    np.testing.assert_allclose(np.cov(w.T), covariance, rtol=0.05, atol=0.05 * np.outer(sd, sd).max() * 0.1)
    # with a Normal prior and a known sigma the MAP is the posterior mean
    np.testing.assert_allclose(fit_map(model)["w"], mean, rtol=1e-9)
    assert set(idata.children) >= {"posterior", "observed_data", "constant_data", "log_likelihood"}
    assert idata.log_likelihood["t"].dims == ("chain", "draw", "obs_id")
    assert np.isfinite(az.loo(idata).elpd)


def test_laplace_is_exact_for_a_known_sigma(conjugate_model):
    model, (mean, covariance) = conjugate_model
    laplace = draws_of(fit_laplace(model, draws=20_000, random_seed=2))
    sd = np.sqrt(np.diag(covariance))
    assert np.all(np.abs(laplace.mean(0) - mean) < 4 * sd / np.sqrt(len(laplace)))
    np.testing.assert_allclose(laplace.std(0), sd, rtol=0.03)  # 20000 iid draws: sd known to ~0.5%
    again = draws_of(fit_laplace(model, draws=20_000, random_seed=2))  # the seed fixes the draws, bit for bit
    np.testing.assert_array_equal(again, laplace)


def test_exact_posterior_with_learned_sigma(prml_data):
    """Flat w, Jeffreys sigma: sigma^2 | t ~ InvGamma((N-p)/2, SSE/2) and w | t is Student-t centred at least
    squares."""
    x, t = prml_data
    basis = PolynomialBasis(2)
    model = gaussian_regression(x, t, basis=basis, sigma_prior=priors.Jeffreys())
    idata = exact_posterior(model, draws=40_000, random_seed=3)
    features = basis.features(x)
    w_hat = np.linalg.lstsq(features, t, rcond=None)[0]
    sse = float(np.sum((t - features @ w_hat) ** 2))
    n, p = features.shape
    inverse_gamma = scipy.stats.invgamma((n - p) / 2, scale=sse / 2)
    sigma2 = draws_of(idata, "sigma") ** 2
    # Kolmogorov-Smirnov against the closed form; iid draws, so the test is exact
    assert scipy.stats.kstest(sigma2, inverse_gamma.cdf).pvalue > 1e-3
    student = scipy.stats.t(df=n - p, loc=w_hat[1],
                            scale=np.sqrt(sse / (n - p) * np.linalg.inv(features.T @ features)[1, 1]))
    assert scipy.stats.kstest(draws_of(idata)[:, 1], student.cdf).pvalue > 1e-3


def test_non_conjugate_models_are_refused_with_the_reason(prml_data):
    x, t = prml_data
    with pytest.raises(ValueError, match=r"the prior Laplace\(.*\) on w is not conjugate"):
        exact_posterior(gaussian_regression(x, t, sigma=SIGMA, prior=priors.Laplace(1.0)))
    with pytest.raises(ValueError, match="HalfCauchy"):
        exact_posterior(gaussian_regression(x, t, sigma_prior=priors.HalfCauchy(1.0)))
    with pytest.raises(ValueError, match="improper"):
        exact_posterior(gaussian_regression(x[:4], t[:4], basis=PolynomialBasis(2)))


def test_advi_reaches_the_mean_field_optimum(conjugate_model):
    """For a Gaussian posterior N(m, H^-1) the best factorized Gaussian (KL(q||p)) has mean m and sds
    1/sqrt(H_ii) in the coordinates it factorizes (PRML eq. 10.12-10.13): here ADVI's, w_internal, with
    w = T w_internal.
    """
    model, (mean, covariance) = conjugate_model
    to_w = model.design.to_w
    precision_internal = to_w.T @ np.linalg.inv(covariance) @ to_w
    mean_field_covariance = to_w @ np.diag(1 / np.diag(precision_internal)) @ to_w.T
    advi = draws_of(fit_advi(model, n=3000, draws=20_000, random_seed=4))
    sd = np.sqrt(np.diag(mean_field_covariance))
    # stochastic optimization leaves the variational mean jittering by a small fraction of an sd,
    # and 20000 draws estimate the mean to sd / 141 and an sd to ~0.5%
    assert np.all(np.abs(advi.mean(0) - mean) < 0.1 * sd)
    np.testing.assert_allclose(advi.std(0), sd, rtol=0.05)


def test_advi_keyword_arguments_reach_pm_fit(conjugate_model):
    """``start_sigma`` and extra keywords go to ``pm.fit``: a tiny learning rate leaves the given sds in place."""
    import pymc as pm

    model, _ = conjugate_model
    p = len(model.coords["feature_internal"])
    start_sigma = {"w_internal": np.full(p, 0.5)}
    advi = fit_advi(model, n=10, draws=20_000, random_seed=5, start_sigma=start_sigma,
                    obj_optimizer=pm.sgd(learning_rate=1e-12))
    internal = draws_of(advi, "w_internal")
    np.testing.assert_allclose(internal.std(0), 0.5, rtol=0.03)  # 20000 draws: an sd to ~0.5%


@pytest.mark.parametrize("likelihood", ["Bernoulli", "Poisson"])
def test_laplace_of_a_glm_has_the_fisher_precision(likelihood):
    """At the MAP of a GLM with a flat prior, -Hessian = Phi^T diag(Var[t_n]) Phi (PRML eq. 4.97): the draws,
    whitened by it, have identity covariance and mean at the MAP."""
    from scipy import special

    from models import likelihoods, regression

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 2))
    eta = 0.3 + x @ np.array([1.0, -0.5])
    if likelihood == "Bernoulli":
        t = (rng.uniform(size=300) < special.expit(eta)).astype(float)
        model = regression(x, t, likelihood=likelihoods.Bernoulli())
    else:
        t = rng.poisson(np.exp(eta))
        model = regression(x, t, likelihood=likelihoods.Poisson())
    w_map = fit_map(model)["w"]
    features = np.column_stack([np.ones(300), x])
    mean_t = special.expit(features @ w_map) if likelihood == "Bernoulli" else np.exp(features @ w_map)
    variance = mean_t * (1 - mean_t) if likelihood == "Bernoulli" else mean_t
    precision = features.T @ (variance[:, None] * features)
    w = draws_of(fit_laplace(model, draws=20_000, random_seed=8))
    z = (w - w_map) @ np.linalg.cholesky(precision)  # ~ N(0, I) when the draws' precision is `precision`
    # 20000 iid draws: each entry of the sample covariance has sd 1/sqrt(20000) = 0.007; allow 0.04
    np.testing.assert_allclose(np.cov(z.T), np.eye(3), atol=0.04)
    assert np.all(np.abs(z.mean(0)) < 0.04)


def test_laplace_refuses_the_laplace_likelihood(prml_data):
    from models import likelihoods, regression

    x, t = prml_data
    model = regression(x, t, likelihood=likelihoods.Laplace(scale=0.3))
    with pytest.raises(ValueError, match="Hessian is zero"):
        fit_laplace(model)


@pytest.mark.slow
def test_nuts_agrees_with_exact_draws_for_learned_sigma(prml_data):
    x, t = prml_data
    model = gaussian_regression(x, t, basis=PolynomialBasis(3), sigma_prior=priors.Jeffreys())
    exact = exact_posterior(model, draws=40_000, random_seed=5)
    nuts = sample_posterior(model, draws=1000, tune=1000, chains=2, random_seed=6, nuts_sampler="pymc")
    summary = az.summary(nuts, var_names=["w", "sigma"])
    assert int(nuts.sample_stats["diverging"].sum()) == 0
    assert summary["r_hat"].max() <= 1.01
    reference = az.summary(exact, var_names=["w", "sigma"])
    z = (summary["mean"] - reference["mean"]) / np.hypot(summary["mcse_mean"], reference["mcse_mean"])
    assert np.all(np.abs(z) < 4.5), z  # Monte Carlo error of both means; 5 parameters


@pytest.mark.slow
def test_nuts_on_hard_designs_and_user_priors(rng):
    """Collinear intercept and slope (x ~ 4000), HalfCauchy sigma, per-feature Normal loc/scale: clean NUTS."""
    x = rng.uniform(3990, 4010, 30)
    t = 5.0 + 0.002 * x + 0.3 * rng.normal(size=30)
    model = gaussian_regression(x, t, basis=LinearBasis(), prior=priors.Normal([100.0, 1.0], loc=[0.0, 0.01]),
                                sigma_prior=priors.HalfCauchy(1.0))
    idata = sample_posterior(model, draws=500, tune=500, chains=2, random_seed=7, nuts_sampler="pymc")
    summary = az.summary(idata, var_names=["w", "sigma"])
    assert int(idata.sample_stats["diverging"].sum()) == 0
    assert summary["r_hat"].max() <= 1.01
    assert summary["ess_bulk"].min() > 300


@pytest.mark.slow
def test_nutpie_samples_the_same_posterior(conjugate_model):
    model, (mean, covariance) = conjugate_model
    idata = sample_posterior(model, draws=1000, tune=500, chains=2, random_seed=8, nuts_sampler="nutpie")
    summary = az.summary(idata, var_names=["w"])
    assert set(idata.children) >= {"posterior", "sample_stats", "observed_data", "log_likelihood"}
    z = (summary["mean"].values - mean) / summary["mcse_mean"].values
    assert np.all(np.abs(z) < 4), z


def test_pymcs_nuts_bounds_its_early_trees_unless_told_otherwise(rng):
    """sample_posterior gives PyMC's NUTS early_max_treedepth=5: on a 200-row regression with a learned sigma (log
    sigma's posterior sd ~ 1/sqrt(2N) beside whitened weights) the first tuning steps otherwise build deeper trees,
    as PyMC's own default (8), passed through, shows on the same seed."""
    from models import gaussian_regression, sample_posterior

    x = rng.normal(size=(200, 3))
    model = gaussian_regression(x, 1.0 + x @ [0.5, -1.0, 2.0] + 0.5 * rng.normal(size=200))

    def early_depths(**options):
        idata = sample_posterior(model, draws=10, tune=100, chains=1, random_seed=4, nuts_sampler="pymc",
                                 log_likelihood=False, discard_tuned_samples=False, **options)
        return idata.warmup_sample_stats["tree_depth"].values

    assert early_depths().max() <= 5
    assert early_depths(early_max_treedepth=8).max() > 5


def test_pymcs_nuts_logs_only_with_its_progress_bar(conjugate_model, caplog):
    """Without a progress bar PyMC's NUTS is as quiet as nutpie (no "Initializing NUTS" lines, no "at least 4
    chains" warning: the suite's gates are models.convergence); with one, PyMC's lines are back."""
    model, _ = conjugate_model
    caplog.set_level(logging.INFO, logger="pymc")
    sample_posterior(model, draws=100, tune=100, chains=2, random_seed=1, nuts_sampler="pymc", log_likelihood=False)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pymc")] == []
    sample_posterior(model, draws=100, tune=100, chains=2, random_seed=1, nuts_sampler="pymc", log_likelihood=False,
                     progressbar=True)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("pymc")]
    assert any(m.startswith("Initializing NUTS") for m in messages), messages
    assert logging.getLogger("pymc").level == logging.INFO  # the caller's level, restored


def test_sampler_name_and_draws_are_checked(conjugate_model):
    model, _ = conjugate_model
    with pytest.raises(ValueError, match=r"nuts_sampler must be one of \('nutpie', 'pymc'\), got 'stan'"):
        sample_posterior(model, nuts_sampler="stan")
    with pytest.raises(TypeError, match=r"takes nuts_sampler= \(PyMC's name\), not sampler="):
        sample_posterior(model, sampler="pymc")  # the keyword of the suite before PyMC 6
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        exact_posterior(model, draws=0)


def test_predict_leaves_the_model_unchanged(conjugate_model):
    model, (mean, _) = conjugate_model
    x_before = model["x"].get_value().copy()
    idata = exact_posterior(model, draws=200, random_seed=9)
    x_new = np.linspace(0, 1, 7)
    predictions = predict(model, idata, x_new, random_seed=10)
    np.testing.assert_array_equal(model["x"].get_value(), x_before)
    assert predictions.predictions["t"].shape == (1, 200, 7)
    # mu is y(x_new | w) per draw: PolynomialBasis(3) features times the posterior w draws
    expected = draws_of(idata) @ PolynomialBasis(3).features(x_new).T
    np.testing.assert_allclose(predictions.predictions["mu"].values[0], expected, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="x_new has 1 non-finite"):
        predict(model, idata, np.array([0.1, np.nan]))


def test_gaussian_predictive_draws_in_numpy_are_mu_plus_sigma_noise(rng):
    """predict's NumPy sampler (Likelihood.draw) for a learned sigma: (t - mu) / sigma is standard normal
    (a Kolmogorov-Smirnov test at 1e-3 on 4000 x 5 draws; seeded, so it does not flake), and sigma(x) still goes
    through PyMC, which recomputes it at the new inputs."""
    from scipy import stats

    from models import LinearBasis, gaussian_regression, likelihoods, predict, regression, sample_posterior

    x = rng.uniform(-1, 1, 30)
    t = 0.5 + 2 * x + 0.3 * rng.normal(size=30)
    model = gaussian_regression(x, t)
    idata = exact_posterior(model, draws=4000, random_seed=1, log_likelihood=False)
    predictions = predict(model, idata, np.linspace(-1, 1, 5), random_seed=2).predictions
    z = (predictions["t"] - predictions["mu"]) / idata.posterior["sigma"]
    assert stats.kstest(z.values.ravel(), "norm").pvalue > 1e-3
    hetero = regression(x, t, likelihood=likelihoods.Gaussian(sigma_basis=LinearBasis()))
    draws = sample_posterior(hetero, draws=100, tune=200, chains=2, random_seed=3, log_likelihood=False,
                             nuts_sampler="pymc")  # any NUTS: predict is tested here (PyMC's compiles in C, cached)
    assert dict(predict(hetero, draws, np.array([0.0, 0.5]), random_seed=4).predictions["t"].sizes) == {
        "chain": 2, "draw": 100, "obs_id": 2}


def test_the_fitters_backend_gives_numbas_numbers(rng, monkeypatch):
    """The fitters compile with PyTensor's C backend where a C++ compiler exists (models.fit.backend); with
    COMPILE_MODE = None they follow PyTensor's configured mode (numba). The two give the same log-likelihood: the
    backends evaluate the same graph in float64 and may differ only in the order of summation (a few ulps of a sum of
    40 terms: rtol 1e-12). (Every fitter compiles through the same context; a numba compilation costs 10-15 s of CPU
    here, so one function is shown.)
    """
    import pytensor

    from models.fit import backend

    assert backend.COMPILE_MODE == ("CVM" if pytensor.config.cxx else None)
    x = rng.normal(size=(40, 2))
    t = rng.poisson(np.exp(0.3 + x @ [0.5, -0.4])).astype(float)
    model = regression(x, t, likelihood=likelihoods.Poisson())
    w = rng.normal(size=(3, 3)) * 0.3
    results = {}
    for mode in (backend.COMPILE_MODE, None):
        monkeypatch.setattr(backend, "COMPILE_MODE", mode)
        with backend.compile_mode():
            assert pytensor.config.mode == (mode or pytensor.config.mode)
        results[mode] = log_likelihood_at(model, w)
    c_loglik, default_loglik = results.values()
    np.testing.assert_allclose(c_loglik, default_loglik, rtol=1e-12)


def compile_a_new_module_with_the_header():
    """Inside compile_mode, compile a graph no other graph equals (a random constant: its module is not in the cache)
    with -Werror=invalid-pch, so that g++ fails if the precompiled header's options are not the module's; check its
    values. C's exp and log1p against NumPy's: each within an ulp or two of the true value (rtol 1e-15: ~5 ulps)."""
    import uuid

    import pytensor
    import pytensor.tensor as pt

    from models.fit import backend

    x = pt.dvector("x")
    scale = 1 + uuid.uuid4().int % 10**6 / 10**7
    with backend.compile_mode():
        flags = pytensor.config.gcc__cxxflags
        with pytensor.config.change_flags(gcc__cxxflags=f"{flags} -Werror=invalid-pch"):
            fresh = pytensor.function([x], pt.exp(x) * scale + pt.log1p(x))
    values = np.array([0.25, 1.5])
    np.testing.assert_allclose(fresh(values), np.exp(values) * scale + np.log1p(values), rtol=1e-15)


def test_the_c_modules_use_the_precompiled_header():
    """Inside compile_mode, PyTensor's g++ includes models.fit.backend's precompiled header; g++ takes a precompiled
    header only when it was made with the options of the compilation, and reads the header as text otherwise (as
    fast as without it): a new module compiled with -Werror=invalid-pch shows it is taken. Nested contexts leave
    the flags as they are (they are part of every module's cache key)."""
    import pytensor
    import pytensor.tensor as pt

    from models.fit import backend

    if backend.COMPILE_MODE is None or "g++" not in pytensor.config.cxx:
        pytest.skip("PyTensor's compiler is not g++: the fitters' modules are compiled without a precompiled header")
    assert backend.precompiled_header() is not None  # g++ made it (a failure is logged and would cost speed only)
    x = pt.dvector("x")
    with backend.compile_mode():
        flags = pytensor.config.gcc__cxxflags
        assert flags.endswith(f"-include {backend.precompiled_header()}")
        with backend.compile_mode():
            assert pytensor.config.gcc__cxxflags == flags
        pytensor.function([x], pt.exp(x))  # PyTensor's own support modules, compiled with other options, exist
    compile_a_new_module_with_the_header()


# in a new process: the header it finds is the one the test's process made, and a new module compiles with it
_IN_A_NEW_PROCESS = """
import sys
from models.fit import backend
assert str(backend.precompiled_header()) == sys.argv[1]
sys.path.insert(0, "tests")
import test_posterior
test_posterior.compile_a_new_module_with_the_header()
"""


def test_a_process_that_did_not_make_the_header_uses_it():
    """The header made by one process serves the others (test workers, the analyses' pool): a new process compiles a
    new module with it (-Werror=invalid-pch, as above). PyTensor adds this CPU's -march flags to a module's flags,
    detected once per process; detected inside compile_mode (-include among the flags) they came out empty, so the
    modules of every process but the header's maker had other flags than the header, and other cache keys."""
    import subprocess
    import sys
    from pathlib import Path

    import pytensor

    from models.fit import backend

    if backend.COMPILE_MODE is None or "g++" not in pytensor.config.cxx:
        pytest.skip("PyTensor's compiler is not g++: the fitters' modules are compiled without a precompiled header")
    header = backend.precompiled_header()
    completed = subprocess.run([sys.executable, "-c", _IN_A_NEW_PROCESS, str(header)], capture_output=True, text=True,
                               cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_one_shot_compiles_nothing_and_keeps_pytensors_stabilizations(monkeypatch):
    """ONE_SHOT (the generic MAP, Pathfinder, Laplace's steps) neither compiles nor loads a C module (PyTensor's
    module cache, through which every C thunk comes, refuses here, in this process only), and rewrites log(sigmoid(z))
    as -softplus(-z) as the compiled modes do: finite and right at z = -800, where the naive expression is log(0)
    (PyTensor's FAST_COMPILE, the suite's ONE_SHOT before, gave -inf there), against scipy's log_expit (rtol 1e-15: a
    few ulps)."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.link.c.cmodule import ModuleCache
    from scipy.special import expit, log_expit

    from models.fit.backend import COMPILE_MODE, ONE_SHOT

    def refuse(*args, **kwargs):
        raise AssertionError("a C module was asked for")

    z = pt.dvector("z")
    value = pt.log(pt.sigmoid(z)).sum()
    outputs = [value, pytensor.grad(value, z)]
    monkeypatch.setattr(ModuleCache, "module_from_key", refuse)
    if COMPILE_MODE is not None:  # the check can fail: the C backend asks the cache for its modules
        with pytest.raises(AssertionError, match="a C module was asked for"):
            pytensor.function([z], outputs, mode=COMPILE_MODE)
    function = pytensor.function([z], outputs, mode=ONE_SHOT)
    points = np.array([-800.0, -30.0, 0.5, 40.0])
    log_density, gradient = function(points)
    np.testing.assert_allclose(log_density, log_expit(points).sum(), rtol=1e-15)
    np.testing.assert_allclose(gradient, expit(-points), rtol=1e-15)  # d/dz log sigmoid(z) = sigmoid(-z)
