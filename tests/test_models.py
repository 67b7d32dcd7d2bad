"""The builders' models: structure, the NLL/MSE identity, MAP == its classical twin."""

import warnings

import numpy as np
import pymc as pm
import pytensor
import pytest
import scipy.stats
from scipy.optimize import minimize_scalar
from sklearn.datasets import load_diabetes

from models import (
    GaussianBasis,
    LinearBasis,
    PolynomialBasis,
    fit_map,
    gaussian_nll,
    gaussian_regression,
    least_squares,
    log_likelihood_at,
    mse,
    priors,
)
from models.fit.backend import ONE_SHOT


def test_model_variables_dims_and_coords(prml_data):
    x, t = prml_data
    model = gaussian_regression(x, t, basis=PolynomialBasis(3))
    assert {v.name for v in model.free_RVs} == {"w_internal", "sigma"}
    assert [v.name for v in model.observed_RVs] == ["t"]
    assert model.named_vars_to_dims["w"] == ("feature",)
    assert model.named_vars_to_dims["t"] == ("obs_id",)
    assert list(model.coords["feature"]) == ["1", "x", "x^2", "x^3"]
    assert set(model.data_vars) >= {model["x"], model["t_obs"]}
    fixed = gaussian_regression(x, t, sigma=0.3)
    assert "sigma" not in fixed.named_vars


def test_feature_names_follow_dataframe_columns(rng):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"age": rng.normal(size=8), "bmi": rng.normal(size=8)})
    model = gaussian_regression(frame, rng.normal(size=8))
    assert list(model.coords["feature"]) == ["1", "age", "bmi"]
    assert list(model.coords["input"]) == ["age", "bmi"]


@pytest.mark.parametrize(
    "basis",
    [LinearBasis(), LinearBasis(intercept=False), PolynomialBasis(6), PolynomialBasis(4, intercept=False),
     GaussianBasis(np.linspace(0, 1, 5), 0.2)],
    ids=repr,
)
def test_conditioned_coordinates_span_the_same_functions(basis, rng):
    """Phi(x) T == Z(x): the internal features are an exact change of coordinates of the basis."""
    x = rng.uniform(-2, 3, 30)
    conditioned = basis.conditioned(x)
    z = conditioned.transform(x, np)
    # rounding only: ~eps times the size of the terms summed
    np.testing.assert_allclose(basis.features(x) @ conditioned.T, z, rtol=0, atol=1e-11 * np.abs(z).max())


@pytest.mark.parametrize(("basis", "shape"), [
    (LinearBasis(), (40,)), (LinearBasis(), (40, 3)), (LinearBasis(intercept=False), (40, 3)),
    (PolynomialBasis(3), (40,)), (GaussianBasis(np.linspace(0, 1, 5), 0.2), (40,))], ids=repr)
def test_fill_writes_the_transform_into_a_buffer(basis, shape, rng):
    """Conditioned.fill writes exactly (bitwise) transform's features, into a column slice of a Fortran buffer as
    the statistics pass does; in place where the basis has ``into``."""
    x = rng.uniform(-2, 3, shape)
    conditioned = basis.conditioned(x)
    z = conditioned.transform(x, np)
    buffer = np.full((40, z.shape[1] + 1), np.nan, order="F")
    conditioned.fill(x, buffer[:, :-1])
    np.testing.assert_array_equal(buffer[:, :-1], z)
    assert np.isnan(buffer[:, -1]).all()  # nothing written past the features


def test_nll_is_scaled_mse_plus_constant_through_the_model(prml_data, rng):
    """-log p(t|w, sigma) = N/(2 sigma^2) MSE(w) + N/2 log(2 pi sigma^2), on random w, by the PyMC graph."""
    x, t = prml_data
    n, sigma = len(t), 0.7
    model = gaussian_regression(x, t, basis=PolynomialBasis(3), sigma=sigma)
    features = PolynomialBasis(3).features(x)
    ws = rng.normal(scale=3, size=(20, 4))
    model_nll = -log_likelihood_at(model, ws)
    for w, value in zip(ws, model_nll):
        y = features @ w
        identity = n / (2 * sigma**2) * mse(t, y) + n / 2 * np.log(2 * np.pi * sigma**2)
        assert value == pytest.approx(identity, rel=1e-12)
        assert gaussian_nll(t, y, sigma) == pytest.approx(-scipy.stats.norm(y, sigma).logpdf(t).sum(), rel=1e-13)


def test_log_likelihood_at_a_learned_sigma_per_row_is_scipys(prml_data, rng):
    """With a learned sigma, one value per row of w (or one for all): the sum of scipy's Normal log densities."""
    x, t = prml_data
    model = gaussian_regression(x, t, basis=PolynomialBasis(3))  # sigma learned (HalfFlat: a log transform)
    features = PolynomialBasis(3).features(x)
    ws, sigmas = rng.normal(scale=3, size=(20, 4)), rng.uniform(0.1, 5.0, 20)
    reference = [scipy.stats.norm(features @ w, s).logpdf(t).sum() for w, s in zip(ws, sigmas)]
    np.testing.assert_allclose(log_likelihood_at(model, ws, sigma=sigmas), reference, rtol=1e-12)
    np.testing.assert_allclose(log_likelihood_at(model, ws, sigma=0.7),
                               [scipy.stats.norm(features @ w, 0.7).logpdf(t).sum() for w in ws], rtol=1e-12)


def test_find_map_agrees_with_fit_map_on_well_conditioned_problems(prml_data):
    """fit_map is the mode of the model's own density: PyMC's optimizer finds the same point to its tolerance."""
    x, t = prml_data
    cases = [
        gaussian_regression(x, t, basis=PolynomialBasis(3)),
        gaussian_regression(x, t, basis=PolynomialBasis(3), prior=priors.Normal(1.5, loc=0.5),
                            sigma_prior=priors.HalfCauchy(1.0)),
        gaussian_regression(x, t, prior=priors.Normal([10.0, 2.0]), sigma_prior=priors.HalfNormal(0.5)),
    ]
    for model in cases:
        exact = fit_map(model)
        # L-BFGS's few dozen evaluations: NumPy, nothing compiled (numba would compile each new model, ~8 s cold)
        with pytensor.config.change_flags(mode=ONE_SHOT):
            found = pm.find_MAP(model=model, progressbar=False)
        # find_MAP stops where scipy's L-BFGS-B meets its default tolerances, ~1e-6 relative
        np.testing.assert_allclose(found["w"], exact["w"], rtol=1e-4, atol=1e-5)
        assert found["sigma"] == pytest.approx(exact["sigma"], rel=1e-5)


@pytest.mark.parametrize("prior", [priors.HalfFlat(), priors.HalfNormal(0.2), priors.HalfCauchy(0.05),
                                   priors.HalfCauchy(50.0)],
                         ids=repr)
def test_sigma_mode_closed_forms(prior):
    n, sse = 17, 2.3
    log_density = {
        "HalfFlat": lambda s: 0.0,
        "HalfNormal": lambda s: scipy.stats.halfnorm(scale=prior.scale).logpdf(s),
        "HalfCauchy": lambda s: scipy.stats.halfcauchy(scale=prior.scale).logpdf(s),
    }[type(prior).__name__]
    result = minimize_scalar(lambda s: n * np.log(s) + sse / (2 * s**2) - log_density(s),
                             bounds=(1e-3, 10), method="bounded", options={"xatol": 1e-12})
    # a flat optimum: Brent finds it to ~sqrt(eps)
    assert prior.mode(n, sse / 2) == pytest.approx(result.x, rel=1e-7)


@pytest.fixture(scope="module")
def diabetes():
    x, t = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    return x, t - t.mean()


@pytest.mark.parametrize("scale", [0.5, 5.0, 50.0])
def test_normal_prior_map_is_sklearn_ridge(diabetes, scale):
    x, t = diabetes
    sigma = 50.0
    prior = priors.Normal(scale)
    map_point = fit_map(gaussian_regression(x, t, sigma=sigma, prior=prior))
    ridge = prior.sklearn_estimator(sigma).fit(LinearBasis().features(x), t)
    # both are direct solves of a system with condition number < 1e3
    np.testing.assert_allclose(map_point["w"], ridge.coef_, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("scale", [0.02, 0.2, 2.0])
def test_laplace_prior_map_is_sklearn_lasso(diabetes, scale):
    x, t = diabetes
    sigma, n = 50.0, len(t)
    prior = priors.Laplace(scale)
    map_point = fit_map(gaussian_regression(x, t, sigma=sigma, prior=prior))
    lasso = prior.sklearn_estimator(sigma, n).fit(LinearBasis().features(x), t)
    # both are coordinate descents run to tol ~1e-14 on the same convex objective
    np.testing.assert_allclose(map_point["w"], lasso.coef_, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(map_point["w"] == 0, lasso.coef_ == 0)
    if scale == 0.02:
        assert np.sum(map_point["w"] == 0) >= 3  # the lasso's exact zeros


def test_learned_sigma_with_a_prior_on_w_is_a_joint_stationary_point(diabetes):
    """Coupled case: w is ridge at the MAP sigma and sigma is the HalfFlat mode at that w."""
    x, t = diabetes
    prior = priors.Normal(2.0)
    map_point = fit_map(gaussian_regression(x, t, prior=prior))
    sigma = map_point["sigma"]
    ridge = prior.sklearn_estimator(sigma).fit(LinearBasis().features(x), t)
    np.testing.assert_allclose(map_point["w"], ridge.coef_, rtol=1e-8, atol=1e-8)
    residual = t - LinearBasis().features(x) @ map_point["w"]
    assert sigma**2 == pytest.approx(np.mean(residual**2), rel=1e-12)


def test_fit_map_follows_pm_set_data(prml_data):
    x, t = prml_data
    model = gaussian_regression(x, t, basis=PolynomialBasis(2))
    pm.set_data({"x": x[:10], "t_obs": t[:10]}, model=model, coords={"obs_id": np.arange(10)})
    np.testing.assert_allclose(fit_map(model)["w"], least_squares(x[:10], t[:10], basis=PolynomialBasis(2)), rtol=1e-12)


def test_edited_model_gets_the_generic_optimizer(prml_data):
    x, t = prml_data
    model = gaussian_regression(x, t, sigma=0.3)
    with model:
        offset = pm.Normal("offset", 0.0, 1.0)
        pm.Normal("extra", offset, 1.0, observed=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = fit_map(model)
    assert result["offset"] == pytest.approx(0.5, abs=1e-6)  # N(0,1) prior and one N(offset,1) observation at 1
    np.testing.assert_allclose(result["w"], least_squares(x, t), rtol=1e-6)


def test_exactly_fitted_data_with_learned_sigma_has_no_map():
    x = np.linspace(0, 1, 6)
    with pytest.raises(ValueError, match="SSE = 0"):
        fit_map(gaussian_regression(x, 2 * x + 1))  # noise-free line: the likelihood is unbounded as sigma -> 0


def test_generic_map_of_an_edited_model_is_the_mode_in_sigma_itself(rng):
    """An edited model goes through the generic optimizer, which must drop the log-Jacobian of sigma's log
    transform as the exact rule does (sigma^2 = SSE/N, not SSE/(N-1))."""
    x = rng.uniform(size=30)
    t = np.sin(6 * x) + 0.2 * rng.normal(size=30)
    model = gaussian_regression(x, t, basis=PolynomialBasis(3))
    exact = fit_map(model)
    with model:
        pm.Potential("nothing", 0 * model["sigma"])  # an edit: the builder's spec no longer applies
    generic = fit_map(model)
    assert generic["sigma"] == pytest.approx(exact["sigma"], rel=1e-9)  # optimizer tolerance (Newton-polished)
    np.testing.assert_allclose(generic["w"], exact["w"], rtol=1e-8, atol=1e-10)
