"""The library's shape: one Design per builder's model, families that own their math, edits recognized, reuse.

Every number here is checked against an independent computation (scipy's densities and quadrature, scikit-learn's
metrics) or is an identity between two code paths that share no step.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.integrate
import scipy.stats
from pymc.model.fgraph import clone_model
from scipy.optimize import minimize, minimize_scalar
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import mean_gamma_deviance

from models import (
    Design,
    LinearBasis,
    RegressionModel,
    design_of,
    fit_map,
    gaussian_regression,
    likelihoods,
    priors,
    regression,
)
from models.fit.backend import ONE_SHOT
from models.priors import Penalty, Prior

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def line_data():
    rng = np.random.default_rng(sum(map(ord, "design")))
    x = rng.uniform(-1, 1, 30)
    return x, 0.5 + 2.0 * x + 0.3 * rng.normal(size=30)


def test_a_builder_returns_a_pm_model_that_keeps_its_design(line_data):
    x, t = line_data
    model = gaussian_regression(x, t)
    assert isinstance(model, pm.Model) and isinstance(model, RegressionModel)
    design = design_of(model)
    assert isinstance(design, Design) and design.names == ("1", "x")
    # nothing patched onto the object: the design lives in the class' own attribute
    assert not any(name.endswith("_spec") for name in vars(model))
    # the maps between coordinates are inverse to each other
    w = np.array([0.3, -1.2])
    np.testing.assert_allclose(design.w_from_internal(design.internal_from_w(w)), w, rtol=1e-14)


@pytest.mark.parametrize("edit", ["deterministic", "potential", "free variable", "pm.do", "pm.observe", "clone_model"])
def test_an_edited_model_has_no_design_and_goes_the_generic_way(edit, line_data):
    x, t = line_data
    model = gaussian_regression(x, t, sigma=0.3)
    builder_point = fit_map(model)
    if edit == "deterministic":
        with model:
            pm.Deterministic("slope_squared", model["w"][1] ** 2)
        edited = model
    elif edit == "potential":
        with model:
            pm.Potential("nothing", 0.0 * model["w"].sum())
        edited = model
    elif edit == "free variable":
        with model:
            pm.Normal("unused", 0.0, 1.0)
        edited = model
    elif edit == "pm.do":
        edited = pm.do(model, {"w_internal": np.zeros(2)})
    elif edit == "pm.observe":
        edited = pm.observe(model, {"w_internal": np.zeros(2)})
    else:
        edited = clone_model(model)
    assert design_of(edited) is None
    if edit in ("deterministic", "potential", "clone_model"):  # the same density: the same MAP, found generically
        point = fit_map(edited)
        assert set(point) == set(builder_point) | ({"slope_squared"} if edit == "deterministic" else set())
        # L-BFGS then Newton steps on the compiled density: to ~1e-9 of the exact least squares
        np.testing.assert_allclose(point["w"], builder_point["w"], rtol=1e-8)
        if edit == "deterministic":
            assert point["slope_squared"] == pytest.approx(point["w"][1] ** 2, rel=1e-12)


@pytest.mark.parametrize("likelihood", [likelihoods.Gaussian(), likelihoods.Laplace(), likelihoods.Poisson(),
                                        likelihoods.Gaussian(sigma_basis=LinearBasis())], ids=repr)
def test_fit_map_returns_the_model_variables_with_the_same_keys_and_types_on_every_path(likelihood, line_data):
    x, t = line_data
    if likelihood.link == "log":
        t = np.random.default_rng(1).poisson(np.exp(0.3 * x)).astype(float)
    model = regression(x, t, likelihood=likelihood)
    point = fit_map(model)
    expected = {v.name for v in model.free_RVs} | {v.name for v in model.deterministics}
    assert set(point) == expected
    for name, value in point.items():  # arrays, and NumPy floats for the scalars
        assert isinstance(value, np.floating if np.ndim(value) == 0 else np.ndarray), name
    shapes = {v.name: tuple(int(d) for d in model.initial_point()[model.rvs_to_values[v].name].shape)
              for v in model.free_RVs}
    assert {name: np.shape(point[name]) for name in shapes} == shapes


class Horseshoeish(Prior):
    """A smooth prior that is not of the L1 + L2 form (penalty None): log(1 + w^2 / s^2), a Cauchy on each weight."""

    def __init__(self, scale):
        self.scale = scale

    def __repr__(self):
        return f"Horseshoeish({self.scale})"

    def logp(self, w):
        return -pm.math.sum(pm.math.log1p((w / self.scale) ** 2))


class DoubledRidge(Prior):
    """A new member of the L1 + L2 form, defined here and nowhere in models/: every solver must take it as it is."""

    def logp(self, w):
        return -pm.math.sum(w**2)  # Normal(0, 1/sqrt 2), up to its constant

    def penalty(self, p):
        return Penalty(np.zeros(p), np.zeros(p), np.full(p, 2.0))


def test_a_prior_defined_outside_the_library_is_fitted_through_its_penalty(line_data):
    x, t = line_data
    sigma = 0.3
    point = fit_map(gaussian_regression(x, t, sigma=sigma, prior=DoubledRidge()))
    features = LinearBasis().features(x)
    # closed form: (Phi^T Phi / sigma^2 + 2 I) w = Phi^T t / sigma^2
    expected = np.linalg.solve(features.T @ features / sigma**2 + 2 * np.eye(2), features.T @ t / sigma**2)
    np.testing.assert_allclose(point["w"], expected, rtol=1e-12)


def test_a_smooth_prior_without_a_penalty_goes_to_newton_and_a_nonsmooth_likelihood_refuses_it_by_name(line_data):
    x, t = line_data
    sigma, scale = 0.3, 0.5
    point = fit_map(gaussian_regression(x, t, sigma=sigma, prior=Horseshoeish(scale)))
    features = LinearBasis().features(x)

    def objective(w):  # the same posterior written in NumPy
        r = t - features @ w
        return r @ r / (2 * sigma**2) + np.sum(np.log1p((w / scale) ** 2))

    reference = minimize(objective, point["w"] + 0.05, method="BFGS", options={"gtol": 1e-12}).x
    np.testing.assert_allclose(point["w"], reference, rtol=1e-7)  # BFGS to gtol 1e-12 on an O(100) objective
    with pytest.raises(NotImplementedError, match=r"Laplace\(scale=0.3\) with the prior Horseshoeish\(0.5\)"):
        fit_map(regression(x, t, likelihood=likelihoods.Laplace(scale=0.3), prior=Horseshoeish(scale)))


class ExponentialScale(priors.ScalePrior):
    """A scale prior defined outside the library that gives only ``rv`` and ``log_density`` (no slope)."""

    def __init__(self, mean):
        self.mean = mean

    def __repr__(self):
        return f"ExponentialScale({self.mean})"

    def rv(self, name):
        return pm.Exponential(name, lam=1 / self.mean)

    def log_density(self, s):
        return -s / self.mean


class WithoutDerivatives:
    """Mixed into a library family: the family as one defined outside the library that does not give its NLL's
    derivatives (``nll_gradient`` None, the base class' answer)."""

    def nll_gradient(self, t, y, scale=None):
        return None


class PoissonWithoutDerivatives(WithoutDerivatives, likelihoods.Poisson):
    pass


@pytest.fixture
def pytensor_objectives(monkeypatch):
    """Counts the log densities fit_map takes from PyTensor (the way when a part has no NumPy derivatives)."""
    import models.fit.map as map_module

    calls = []
    original = map_module._objective

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(map_module, "_objective", counting)
    return calls


def test_a_family_or_scale_prior_without_derivatives_has_its_map_found_on_the_models_own_density(pytensor_objectives):
    rng = np.random.default_rng(sum(map(ord, "without derivatives")))
    x = rng.normal(size=(60, 2))
    features = np.column_stack([np.ones(60), x])
    counts = rng.poisson(np.exp(features @ [0.4, 0.5, -0.3])).astype(float)
    # PoissonRegressor minimizes deviance / (2N) + alpha |w|^2 / 2 = (NLL + const) / N + alpha |w|^2 / 2: the MAP under
    # Normal(1) when alpha = 1 / N; both solved to ~1e-12, so 1e-8 leaves a wide margin
    twin = PoissonRegressor(alpha=1 / 60, fit_intercept=False, tol=1e-14, max_iter=10_000).fit(features, counts).coef_
    for likelihood, compiled in ((likelihoods.Poisson(), 0), (PoissonWithoutDerivatives(), 1)):
        point = fit_map(regression(x, counts, likelihood=likelihood, prior=priors.Normal(1.0)))
        np.testing.assert_allclose(point["w"], twin, rtol=1e-8)
        assert len(pytensor_objectives) == compiled  # the library's Poisson knows its derivatives: NumPy only
    # a learned Student-t sigma under the outside prior, against scipy on the same posterior written in NumPy
    t = features @ [0.4, 0.5, -0.3] + 0.3 * rng.standard_t(4, size=60)
    model = regression(x, t, likelihood=likelihoods.StudentT(4.0, sigma_prior=ExponentialScale(0.5)),
                       prior=priors.Normal(1.0))
    point = fit_map(model)
    assert len(pytensor_objectives) == 2

    def objective(theta):  # -log p(w, sigma | t) + const, in (w, log sigma): the same stationary point
        w, sigma = theta[:3], np.exp(theta[3])
        return -scipy.stats.t.logpdf(t, 4.0, features @ w, sigma).sum() + w @ w / 2 + sigma / 0.5

    start = np.append(point["w"], np.log(point["sigma"])) + 0.05
    reference = minimize(objective, start, method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(point["w"], reference[:3], rtol=1e-6)  # BFGS to gtol 1e-10 on an O(100) objective
    assert point["sigma"] == pytest.approx(np.exp(reference[3]), rel=1e-6)


@pytest.mark.parametrize("case", ["sigma(x)", "Categorical, Normal prior", "learned Student-t sigma, ElasticNet"])
def test_the_numpy_density_and_the_models_own_give_the_same_map(case, pytensor_objectives):
    """Two code paths that share no step: the family's NumPy NLL and derivatives through the chain rules of
    MapProblem (log sigma(x) = Psi v, K - 1 columns of w with the prior in internal coordinates, log sigma and the
    proximal step), and PyMC's graph of the same model differentiated by PyTensor. Both are solved to machine
    precision (Newton), so they agree to rounding (observed ~1e-14)."""
    rng = np.random.default_rng(sum(map(ord, case)))
    x = rng.normal(size=(60, 2))
    eta = 0.5 - x[:, 0] + 0.3 * x[:, 1]
    if case == "sigma(x)":
        t = eta + np.exp(-1.0 + 0.5 * x[:, 0]) * rng.normal(size=60)
        family, arguments, prior = likelihoods.Gaussian, {"sigma_basis": LinearBasis()}, priors.Flat()
    elif case.startswith("Categorical"):
        logits = np.column_stack([np.zeros(60), eta, -eta + x[:, 1]])
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        t = np.array([rng.choice(3, p=row) for row in probabilities], dtype=float)
        family, arguments, prior = likelihoods.Categorical, {"n_classes": 3}, priors.Normal(1.0)
    else:
        t = eta + 0.3 * rng.standard_t(3, size=60)
        family, arguments = likelihoods.StudentT, {"nu": 3.0, "sigma_prior": priors.HalfCauchy(1.0)}
        prior = priors.ElasticNet(0.1, 1.0)
    numpy_point = fit_map(regression(x, t, likelihood=family(**arguments), prior=prior))
    assert not pytensor_objectives
    plain = type(f"Plain{family.__name__}", (WithoutDerivatives, family), {})(**arguments)
    pytensor_point = fit_map(regression(x, t, likelihood=plain, prior=prior))
    assert len(pytensor_objectives) == 1
    for name in pytensor_point:
        np.testing.assert_allclose(numpy_point[name], pytensor_point[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_proximal_newton_stops_at_a_map_with_every_weight_at_its_kink(monkeypatch):
    """A Laplace prior strong enough to hold every weight at exactly 0 (Student-t likelihood, learned sigma): the MAP is
    w = 0 with the subgradient condition |d(-log p(t | w, sigma)) / dw_j| <= 1 / b there, and sigma the 1-D mode of
    the Student-t likelihood of t itself under the HalfCauchy prior (both computed here from scipy's density). And the
    search ends there: proximal Newton's steps off a kink by rounding, snapped back, once ran its 500 iterations at
    this optimum (12,658 evaluations; a deterministic count, not a time)."""
    import models.fit.map as map_module

    evaluations = []
    original = map_module.proximal_newton

    def counting(value_and_gradient, *args, **kwargs):
        return original(lambda v: evaluations.append(1) or value_and_gradient(v), *args, **kwargs)

    monkeypatch.setattr(map_module, "proximal_newton", counting)
    rng = np.random.default_rng(sum(map(ord, "learned Student-t sigma, ElasticNet")))
    x = rng.normal(size=(60, 2))
    t = 0.5 - x[:, 0] + 0.3 * x[:, 1] + 0.3 * rng.standard_t(3, size=60)
    b = 0.02
    point = fit_map(regression(x, t, likelihood=likelihoods.StudentT(3.0, sigma_prior=priors.HalfCauchy(1.0)),
                               prior=priors.Laplace(b)))
    assert np.array_equal(point["w"], np.zeros(3))
    sigma = minimize_scalar(lambda s: -scipy.stats.t.logpdf(t, 3.0, 0.0, s).sum() + np.log1p(s**2),
                            bounds=(0.01, 10), method="bounded", options={"xatol": 1e-12}).x
    assert point["sigma"] == pytest.approx(sigma, rel=1e-7)  # Brent's bounded search: ~sqrt(eps) in the location
    features = np.column_stack([np.ones(60), x])
    h = 1e-6
    slope = [(scipy.stats.t.logpdf(t, 3.0, -h * f, sigma).sum() - scipy.stats.t.logpdf(t, 3.0, h * f, sigma).sum())
             / (2 * h) for f in features.T]  # d(-log p) / dw_j at w = 0, by central differences
    assert np.all(np.abs(slope) <= 1 / b)
    assert len(evaluations) < 1000


@pytest.mark.parametrize("prior", [priors.HalfNormal(0.4), priors.HalfCauchy(0.2), priors.Jeffreys(),
                                   priors.HalfFlat()], ids=repr)
def test_scale_prior_slope_is_the_derivative_of_its_log_density(prior):
    """Against scipy's log densities (not the suite's), by central differences: step 1e-6, error ~1e-10."""
    log_density = {"HalfNormal": lambda s: scipy.stats.halfnorm(scale=prior.scale).logpdf(s),
                   "HalfCauchy": lambda s: scipy.stats.halfcauchy(scale=prior.scale).logpdf(s),
                   "Jeffreys": lambda s: -np.log(s), "HalfFlat": lambda s: 0.0}[type(prior).__name__]
    for s in (0.05, 0.3, 2.0):
        difference = (log_density(s + 1e-6) - log_density(s - 1e-6)) / 2e-6
        assert prior.log_density_slope(s) == pytest.approx(difference, rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("l1_scale, l2_scale, loc", [(0.5, 1.0, 0.0), (2.0, 0.3, 1.5), (0.05, 4.0, -2.0)])
def test_elastic_net_density_is_normalized(l1_scale, l2_scale, loc):
    prior = priors.ElasticNet(l1_scale, l2_scale, loc=loc)
    w = pt.dvector("w")
    # evaluated by NumPy, nothing compiled (the suite's mode for functions evaluated a few hundred times)
    logp = pytensor.function([w], prior.logp(w), mode=ONE_SHOT)

    def density(value):
        return float(np.exp(logp(np.array([value]))))

    # the kink at loc splits the line into two smooth halves
    total = sum(scipy.integrate.quad(density, *bounds, limit=200)[0] for bounds in ((-np.inf, loc), (loc, np.inf)))
    assert total == pytest.approx(1.0, abs=1e-9)
    penalty = prior.penalty(1)
    assert penalty.value([loc + 0.7]) == pytest.approx(0.7 / l1_scale + 0.7**2 / (2 * l2_scale**2), rel=1e-14)


def test_gamma_likelihood_nll_loss_and_constants():
    rng = np.random.default_rng(3)
    y = rng.normal(size=12)
    t = rng.gamma(3.0, np.exp(y) / 3.0)
    for shape in (0.7, 3.0):
        gamma = likelihoods.Gamma(shape=shape)
        expected = -np.sum(scipy.stats.gamma.logpdf(t, a=shape, scale=np.exp(y) / shape))
        assert gamma.nll(t, y) == pytest.approx(expected, rel=1e-13)
        c1, c0 = gamma.loss_constants(len(t), t)
        assert c1 * len(t) * gamma.loss(t, y) + c0 == pytest.approx(expected, rel=1e-13)
    assert likelihoods.gamma_deviance(t, y) == pytest.approx(mean_gamma_deviance(t, np.exp(y)), rel=1e-13)
    with pytest.raises(ValueError, match=r"positive numbers for a Gamma likelihood; found \[0.0\] at row\(s\) \[2\]"):
        regression(np.arange(4.0), np.array([1.0, 2.0, 0.0, 1.0]), likelihood=likelihoods.Gamma())


@pytest.mark.parametrize("prior", [priors.HalfNormal(0.4), priors.HalfCauchy(0.2), priors.Jeffreys(),
                                   priors.HalfFlat()], ids=repr)
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_scale_mode_against_a_one_dimensional_search(prior, power):
    n, energy = 23, 3.7
    log_density = {"HalfNormal": lambda s: scipy.stats.halfnorm(scale=prior.scale).logpdf(s),
                   "HalfCauchy": lambda s: scipy.stats.halfcauchy(scale=prior.scale).logpdf(s),
                   "Jeffreys": lambda s: -np.log(s), "HalfFlat": lambda s: 0.0}[type(prior).__name__]
    result = minimize_scalar(lambda s: n * np.log(s) + energy * s**-power - log_density(s), bounds=(1e-4, 10),
                             method="bounded", options={"xatol": 1e-12})
    assert prior.mode(n, energy, power) == pytest.approx(result.x, rel=1e-7)  # Brent's bounded search: ~sqrt(eps)


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
