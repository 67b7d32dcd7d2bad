"""Every loss is a likelihood: NLL = c1 * N * loss + c0, and each MAP is the classical estimator of its loss."""

import numpy as np
import pytest
from scipy import optimize, special, stats

from models import LinearBasis, fit_map, gaussian_regression, likelihoods, priors, regression
from models.fit.backend import ONE_SHOT


def two_inputs(rng, n):
    x = rng.normal(size=(n, 2))
    return x, np.column_stack([np.ones(n), x])  # LinearBasis() features: 1, x0, x1


def labels(rng, logits):
    """Draws of Categorical(softmax(logits)) per row (Bernoulli when logits has one column)."""
    if logits.ndim == 1:
        return (rng.uniform(size=len(logits)) < special.expit(logits)).astype(float)
    p = special.softmax(logits, axis=1)
    return np.array([rng.choice(p.shape[1], p=row) for row in p], dtype=float)


def data_for(name, rng, n=80):
    x, features = two_inputs(rng, n)
    eta = features @ np.array([0.3, 0.8, -0.5])
    if name == "Gaussian":
        return x, eta + 0.4 * rng.normal(size=n), likelihoods.Gaussian(sigma=0.4)
    if name == "Laplace":
        return x, eta + rng.laplace(scale=0.5, size=n), likelihoods.Laplace(scale=0.5)
    if name == "StudentT":
        return x, eta + 0.3 * rng.standard_t(3, size=n), likelihoods.StudentT(3.0, sigma=0.3)
    if name == "Bernoulli":
        return x, labels(rng, eta), likelihoods.Bernoulli()
    if name == "Categorical":
        logits = np.column_stack([np.zeros(n), eta, features @ np.array([-0.2, -0.6, 0.9])])
        return x, labels(rng, logits), likelihoods.Categorical(3)
    if name == "Poisson":
        return x, rng.poisson(np.exp(eta)).astype(float), likelihoods.Poisson()
    raise KeyError(name)


NAMES = ("Gaussian", "Laplace", "StudentT", "Bernoulli", "Categorical", "Poisson")


@pytest.mark.parametrize("name", NAMES)
def test_nll_is_an_affine_function_of_the_loss(name, rng):
    """At random w, the model's own log-likelihood is -(c1 * N * loss(t, y) + c0), with y = Phi w; and nll() is the
    density written independently (scipy.stats where it has it)."""
    x, t, likelihood = data_for(name, rng)
    model = regression(x, t, likelihood=likelihood)
    spec = model.design
    # three evaluations: NumPy, nothing compiled (numba, PyMC's default, would compile each graph for seconds)
    logp = model.compile_logp(vars=model.observed_RVs, jacobian=False, mode=ONE_SHOT)
    design = spec.internal_design(x)
    n = len(t)
    c1, c0 = likelihood.loss_constants(n, t) if name == "Poisson" else likelihood.loss_constants(n)
    model_nll, affine = [], []
    for _ in range(3):
        internal = rng.normal(size=model.initial_point()["w_internal"].shape)
        y = design @ internal
        model_nll.append(-float(logp({"w_internal": internal})))
        affine.append(c1 * n * likelihood.loss(t, y) + c0)
        # PyMC's Student-t normalizing constant differs from scipy's by 3.6e-9 per observation (not a function of w)
        tolerance = 1e-8 if name == "StudentT" else 1e-12
        assert model_nll[-1] == pytest.approx(likelihood.nll(t, y), rel=tolerance)
        independent = {  # the densities from scipy, not from the suite's formulas
            "Gaussian": lambda y=y: -stats.norm.logpdf(t, y, 0.4).sum(),
            "Laplace": lambda y=y: -stats.laplace.logpdf(t, y, 0.5).sum(),
            "StudentT": lambda y=y: -stats.t.logpdf(t, 3.0, y, 0.3).sum(),
            "Bernoulli": lambda y=y: -stats.bernoulli.logpmf(t, special.expit(y)).sum(),
            "Categorical": lambda y=y: -np.log(
                special.softmax(likelihood.logits(y), axis=1)[np.arange(n), t.astype(int)]).sum(),
            "Poisson": lambda y=y: -stats.poisson.logpmf(t, np.exp(y)).sum(),
        }[name]()
        assert model_nll[-1] == pytest.approx(independent, rel=max(tolerance, 1e-11))
        assert likelihood.nll(t, y) == pytest.approx(independent, rel=1e-12)  # the suite's formula, to rounding
    model_nll, affine = np.array(model_nll), np.array(affine)
    assert model_nll == pytest.approx(affine, rel=tolerance)
    # the part that depends on w is exact: differences between points agree to rounding
    np.testing.assert_allclose(np.diff(model_nll), np.diff(affine), rtol=0, atol=1e-12 * np.abs(model_nll).max())


def test_losses_match_scikit_learn_metrics(rng):
    from sklearn.metrics import log_loss, mean_absolute_error, mean_poisson_deviance, mean_squared_error

    t, y = rng.normal(size=20), rng.normal(size=20)
    assert likelihoods.mse(t, y) == pytest.approx(mean_squared_error(t, y), rel=1e-14)
    assert likelihoods.mae(t, y) == pytest.approx(mean_absolute_error(t, y), rel=1e-14)
    labels01 = (t > 0).astype(float)
    assert likelihoods.binary_cross_entropy(labels01, y) == pytest.approx(
        log_loss(labels01, special.expit(y)), rel=1e-12)
    logits = rng.normal(size=(20, 3))
    classes = rng.integers(0, 3, size=20)
    assert likelihoods.cross_entropy(classes, logits) == pytest.approx(
        log_loss(classes, special.softmax(logits, axis=1), labels=[0, 1, 2]), rel=1e-12)
    counts = rng.poisson(2.0, size=20).astype(float)
    assert likelihoods.poisson_deviance(counts, y) == pytest.approx(mean_poisson_deviance(counts, np.exp(y)), rel=1e-12)


def gradient_case(name, rng, n=15):
    """(likelihood, t, y, scale): targets drawn near the linear predictors y; scale None for a family without one."""
    y = rng.normal(size=(n, 2) if name == "Categorical" else n)
    if name == "Gaussian":
        return likelihoods.Gaussian(sigma=0.4), y + 0.4 * rng.normal(size=n), y, 0.7
    if name == "StudentT":
        return likelihoods.StudentT(3.0, sigma=0.3), y + 0.3 * rng.standard_t(3, size=n), y, 0.5
    if name == "Bernoulli":
        return likelihoods.Bernoulli(), labels(rng, y), y, None
    if name == "Categorical":
        likelihood = likelihoods.Categorical(3)
        return likelihood, labels(rng, likelihood.logits(y)), y, None
    if name == "Poisson":
        return likelihoods.Poisson(), rng.poisson(np.exp(y)).astype(float), y, None
    return likelihoods.Gamma(shape=2.0), rng.gamma(2.0, np.exp(y) / 2.0), y, 1.3


@pytest.mark.parametrize("name", ("Gaussian", "StudentT", "Bernoulli", "Categorical", "Poisson", "Gamma"))
def test_nll_gradient_is_the_derivative_of_the_nll(name, rng):
    """``nll_gradient`` (fit_map's Newton steps run on it, nothing compiled) against central differences of ``nll``
    (itself checked against scipy's densities above), in every linear predictor and in the scale. Step 1e-6:
    truncation ~1e-12, rounding ~eps |nll| / h ~ 1e-9 for an NLL of O(10), so atol 1e-7."""
    likelihood, t, y, scale = gradient_case(name, rng)
    extra = () if scale is None else (scale,)
    d_y, d_scale = likelihood.nll_gradient(t, y, *extra)
    h = 1e-6
    numeric = np.zeros_like(y)
    for index in np.ndindex(y.shape):
        step = np.zeros_like(y)
        step[index] = h
        numeric[index] = (likelihood.nll(t, y + step, *extra) - likelihood.nll(t, y - step, *extra)) / (2 * h)
    np.testing.assert_allclose(d_y, numeric, rtol=0, atol=1e-7)
    if scale is None:
        assert d_scale is None
    else:
        numeric_scale = (likelihood.nll(t, y, scale + h) - likelihood.nll(t, y, scale - h)) / (2 * h)
        assert np.sum(d_scale) == pytest.approx(numeric_scale, abs=1e-7)
    if name == "Gaussian":  # sigma(x): one sigma per row, and one derivative per row
        sigma = np.exp(0.3 * rng.normal(size=len(t)))
        d_sigma = likelihood.nll_gradient(t, y, sigma)[1]
        for n in range(len(t)):
            step = np.zeros(len(t))
            step[n] = h
            difference = (likelihood.nll(t, y, sigma + step) - likelihood.nll(t, y, sigma - step)) / (2 * h)
            assert d_sigma[n] == pytest.approx(difference, abs=1e-7)
    assert likelihoods.Laplace(scale=0.5).nll_gradient(t, y) is None  # not smooth: its own solvers, never Newton's


@pytest.mark.parametrize("name", ("Laplace", "Bernoulli", "Categorical", "Poisson"))
def test_map_is_the_scikit_learn_estimator(name, rng):
    """Flat prior: MAP == QuantileRegressor(0.5, alpha=0), LogisticRegression(C=inf), PoissonRegressor(alpha=0).

    The suite solves the LAD linear program to its exact vertex and the smooth ones by Newton's method to machine
    precision; scikit-learn runs HiGHS / Newton-Cholesky with tol=1e-12, so 1e-6 relative leaves a wide margin
    (the observed differences are ~1e-12).
    """
    x, t, likelihood = data_for(name, rng, n=81)
    if name == "Laplace":
        likelihood = likelihoods.Laplace()  # learned scale: w's MAP does not depend on it
    map_point = fit_map(regression(x, t, likelihood=likelihood))
    _, features = two_inputs(np.random.default_rng(0), len(t))
    features[:, 1:] = x
    estimator = likelihood.sklearn_estimator().fit(features,
                                                   t.astype(int) if name in ("Bernoulli", "Categorical") else t)
    if name == "Categorical":  # compare probabilities: sklearn keeps K columns, the model fixes class 0's logit at 0
        ours = special.softmax(likelihood.logits(features @ map_point["w"]), axis=1)
        np.testing.assert_allclose(ours, estimator.predict_proba(features), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(map_point["w"], (estimator.coef_[1:] - estimator.coef_[0]).T, rtol=1e-6, atol=1e-9)
        return
    np.testing.assert_allclose(map_point["w"], np.ravel(estimator.coef_), rtol=1e-6, atol=1e-9)
    if name == "Laplace":  # b = SAE / N under the flat prior on the scale
        assert map_point["scale"] == pytest.approx(np.mean(np.abs(t - features @ map_point["w"])), rel=1e-12)


def test_student_t_map_is_the_robust_m_estimator_and_ignores_an_outlier(rng):
    """The Student-t MAP minimizes its loss (scipy.optimize, tight tolerance), and one gross outlier moves it far
    less than it moves least squares."""
    x = np.linspace(0, 1, 30)
    t = 1.0 + 2.0 * x + 0.1 * rng.normal(size=30)
    t_outlier = t.copy()
    t_outlier[-1] += 8.0
    likelihood = likelihoods.StudentT(2.0, sigma=0.1)
    features = LinearBasis().features(x)
    fits = {}
    for label, targets in (("clean", t), ("outlier", t_outlier)):
        robust = fit_map(regression(x, targets, likelihood=likelihood))["w"]
        reference = optimize.minimize(lambda w, targets=targets: likelihood.loss(targets, features @ w),
                                      robust + 0.05, method="BFGS", options={"gtol": 1e-12}).x
        np.testing.assert_allclose(robust, reference, rtol=1e-6)  # BFGS's precision on the loss
        fits[label] = {"robust": robust, "least_squares": fit_map(gaussian_regression(x, targets, sigma=0.1))["w"]}
    moved = {k: np.abs(fits["outlier"][k][1] - fits["clean"][k][1]) for k in ("robust", "least_squares")}
    assert moved["least_squares"] > 0.5  # the outlier drags the least-squares slope by ~1
    assert moved["robust"] < 0.05 * moved["least_squares"]


def test_heteroscedastic_map_minimizes_the_gaussian_nll_loss_and_recovers_sigma_x(rng):
    """log sigma(x) = v0 + v1 x: the MAP minimizes sum (t - y)^2 / (2 sigma(x)^2) + log sigma(x) (the deep-learning
    "Gaussian NLL loss"), and with N = 2000 it recovers the true v to a few standard errors."""
    n = 2000
    x = rng.uniform(-1, 1, size=n)
    true_w, true_v = np.array([0.5, -1.0]), np.array([-1.0, 0.8])
    t = true_w[0] + true_w[1] * x + np.exp(true_v[0] + true_v[1] * x) * rng.normal(size=n)
    model = regression(x, t, likelihood=likelihoods.Gaussian(sigma_basis=LinearBasis()))
    map_point = fit_map(model)
    features = LinearBasis().features(x)

    def loss(theta):
        return likelihoods.heteroscedastic_nll(t, features @ theta[:2], np.exp(features @ theta[2:]))

    reference = optimize.minimize(loss, np.concatenate([map_point["w"], map_point["v"]]) + 0.01, method="BFGS",
                                  options={"gtol": 1e-10}).x
    np.testing.assert_allclose(np.concatenate([map_point["w"], map_point["v"]]), reference, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(map_point["sigma"], np.exp(features @ map_point["v"]), rtol=1e-12)
    # standard errors ~ 1/sqrt(2N) per coefficient of log sigma: 0.016 and ~0.03; 0.1 is > 3 of them
    np.testing.assert_allclose(map_point["v"], true_v, atol=0.1)
    np.testing.assert_allclose(map_point["w"], true_w, atol=0.1)


def test_normal_prior_with_a_glm_is_penalized_logistic_regression(rng):
    """Normal(0, s^2) prior == L2 penalty w^2 / (2 s^2) == LogisticRegression(C = s^2) (its objective is
    C * sum(log-loss) + w^2 / 2 over all coefficients when fit_intercept=False)."""
    x, t, likelihood = data_for("Bernoulli", rng, n=60)
    map_point = fit_map(regression(x, t, likelihood=likelihood, prior=priors.Normal(0.7)))
    features = np.column_stack([np.ones(len(t)), x])
    estimator = likelihood.sklearn_estimator().set_params(C=0.7**2).fit(features, t.astype(int))
    np.testing.assert_allclose(map_point["w"], estimator.coef_[0], rtol=1e-6)


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda x: regression(x, np.r_[0.0, 1, 2, 0, 1, 0], likelihood=likelihoods.Bernoulli()), ValueError,
     r"t must hold 0/1 labels.*\[2\.0\] at row\(s\) \[2\]"),
    (lambda x: regression(x, np.r_[0.0, 1, 0.5, 0, 1, 0], likelihood=likelihoods.Bernoulli()), ValueError,
     "0/1 labels"),
    (lambda x: regression(x, np.r_[1.0, 2, -1, 0, 3, 1], likelihood=likelihoods.Poisson()), ValueError,
     r"counts \(integers >= 0\).*\[-1\.0\]"),
    (lambda x: regression(x, np.r_[1.0, 2, 1.5, 0, 3, 1], likelihood=likelihoods.Poisson()), ValueError, "counts"),
    (lambda x: regression(x, np.r_[0.0, 1, 3, 0, 1, 2], likelihood=likelihoods.Categorical(3)), ValueError,
     r"class labels 0, \.\.\., 2"),
    (lambda x: likelihoods.Categorical(1), ValueError, "n_classes must be >= 2"),
    (lambda x: likelihoods.Categorical(2.0), TypeError, "n_classes must be an integer"),
    (lambda x: likelihoods.StudentT(0.0), ValueError, "nu must be finite and > 0"),
    (lambda x: likelihoods.StudentT(-2), ValueError, "nu must be finite and > 0"),
    (lambda x: likelihoods.StudentT("3"), TypeError, "nu must be a positive real number"),
    (lambda x: likelihoods.Laplace(scale=0.0), ValueError, "scale must be finite and > 0"),
    (lambda x: likelihoods.Laplace(scale=1.0, scale_prior=priors.HalfNormal(1.0)), ValueError, "either a fixed scale"),
    (lambda x: likelihoods.Gaussian(sigma=1.0, sigma_basis=LinearBasis()), ValueError, "sigma_basis learns sigma"),
    (lambda x: likelihoods.Gaussian(sigma_basis=priors.Flat()), TypeError, "sigma_basis must be"),
    (lambda x: regression(x, np.r_[0.0, 0, 0, 1, 1, 1], likelihood=likelihoods.Bernoulli()), ValueError,
     "separated by the features"),
    (lambda x: regression(x, np.r_[0.0, 1, 0, 1, 0, 1], likelihood=likelihoods.Categorical(3)), ValueError,
     r"class\(es\) \[2\] never occur"),
    (lambda x: regression(x, np.zeros(6), likelihood=likelihoods.Poisson()), ValueError, "every count in t is 0"),
    (lambda x: regression(x[:2], np.r_[0.3, 0.4], likelihood=likelihoods.Laplace()), ValueError,
     "learned scale"),
])
def test_bad_inputs_to_the_new_likelihoods(make, error, match):
    x = np.arange(6.0)
    with pytest.raises(error, match=match):
        make(x)


def test_proper_prior_makes_separable_classes_fine(rng):
    x = np.arange(6.0)
    t = np.r_[0.0, 0, 0, 1, 1, 1]
    map_point = fit_map(regression(x, t, likelihood=likelihoods.Bernoulli(), prior=priors.Normal(2.0)))
    assert np.all(np.isfinite(map_point["w"])) and map_point["w"][1] > 0
