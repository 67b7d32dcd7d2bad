"""Bad input: a clear ValueError/TypeError naming the argument, before any PyMC graph is built."""

import numpy as np
import pandas as pd
import pytest

import models
from models import (
    GaussianBasis,
    LinearBasis,
    PolynomialBasis,
    empirical_bayes,
    exact_posterior,
    fit_map,
    gaussian_regression,
    least_squares,
    priors,
    sample_posterior,
)
from models.likelihoods import Gaussian

X = np.linspace(0, 1, 8)
T = np.sin(X)


def with_value(array, index, value):
    array = array.astype(float).copy()
    array[index] = value
    return array


CASES = [
    ("NaN in x", lambda: gaussian_regression(with_value(X, 2, np.nan), T), ValueError, r"x has 1 non-finite"),
    ("inf in t", lambda: gaussian_regression(X, with_value(T, 0, np.inf), sigma=1.0), ValueError,
     r"t has 1 non-finite"),
    ("length mismatch", lambda: gaussian_regression(X, T[:5]), ValueError, r"same number of rows, got 8 and 5"),
    ("empty data", lambda: gaussian_regression(np.array([]), np.array([])), ValueError, r"x is empty"),
    ("2-D t", lambda: gaussian_regression(X, T[:, None]), ValueError, r"t must be 1-D"),
    ("string x", lambda: gaussian_regression(np.array(list("abcdefgh")), T), TypeError,
     r"x must be an array of real numbers"),
    ("object t", lambda: gaussian_regression(X, T.astype(object)), TypeError, r"t must be an array of real numbers"),
    ("bool x", lambda: gaussian_regression(X > 0.5, T), TypeError, r"x is a boolean array"),
    ("sigma = 0", lambda: gaussian_regression(X, T, sigma=0.0), ValueError, r"sigma must be finite and > 0"),
    ("sigma < 0", lambda: gaussian_regression(X, T, sigma=-1), ValueError, r"sigma must be finite and > 0"),
    ("sigma not a number", lambda: gaussian_regression(X, T, sigma="0.3"), TypeError, r"sigma must be a positive real"),
    ("sigma and sigma_prior", lambda: Gaussian(sigma=1.0, sigma_prior=priors.HalfNormal(1.0)), ValueError,
     r"either a fixed sigma"),
    ("negative degree", lambda: PolynomialBasis(-1), ValueError, r"degree must be >= 0"),
    ("fractional degree", lambda: PolynomialBasis(2.5), TypeError, r"degree must be an integer"),
    ("2-D x for a polynomial", lambda: gaussian_regression(np.ones((8, 2)), T, basis=PolynomialBasis(2)), ValueError,
     r"x must be 1-D for PolynomialBasis"),
    ("prior scale = 0", lambda: priors.Normal(0.0), ValueError, r"scale must be > 0"),
    ("prior scale < 0", lambda: priors.Laplace([1.0, -2.0]), ValueError, r"scale must be > 0"),
    ("sigma prior scale", lambda: priors.HalfCauchy(-1.0), ValueError, r"scale must be finite and > 0"),
    ("Gaussian width", lambda: GaussianBasis([0.0, 1.0], 0.0), ValueError, r"width must be finite and > 0"),
    ("per-feature scale of wrong length", lambda: gaussian_regression(X, T, prior=priors.Normal([1.0, 1.0, 1.0])),
     ValueError, r"scale has 3 entries but the basis has 2 features"),
    ("sigma prior as w prior", lambda: gaussian_regression(X, T, prior=priors.HalfNormal(1.0)), TypeError,
     r"prior is the prior on w"),
    ("w prior as sigma prior", lambda: gaussian_regression(X, T, sigma_prior=priors.Normal(1.0)), TypeError,
     r"sigma_prior must be a models.priors.ScalePrior"),
    ("basis not a basis", lambda: gaussian_regression(X, T, basis="poly"), TypeError, r"basis must be a basis"),
    ("N <= p, flat prior, learned sigma", lambda: gaussian_regression(X[:4], T[:4], basis=PolynomialBasis(3)),
     ValueError, r"N = 4 observations for p = 4 weights under a flat prior with a learned sigma"),
    ("constant column", lambda: gaussian_regression(np.column_stack([X, np.ones(8)]), T), ValueError,
     r"rank deficient: feature\(s\) \['x1'\]"),
    ("sigma of the wrong shape", lambda: gaussian_regression(X, T, sigma=np.array([0.3, 0.3])), TypeError,
     r"sigma must be a positive real number"),
    ("sigma NaN", lambda: gaussian_regression(X, T, sigma=float("nan")), ValueError, r"sigma must be finite and > 0"),
    ("prior loc NaN", lambda: priors.Normal(1.0, loc=np.nan), ValueError, r"loc must be finite"),
    ("fit_map of a non-model", lambda: fit_map("model"), TypeError, r"model must be a pm.Model, got str"),
    ("sample_posterior of a non-model", lambda: sample_posterior(None), TypeError, r"model must be a pm.Model"),
    ("exact_posterior of a non-model", lambda: exact_posterior([1, 2]), TypeError, r"model must be a pm.Model"),
    ("empirical_bayes NaN", lambda: empirical_bayes(X, with_value(T, 3, np.nan)), ValueError, r"t has 1 non-finite"),
    ("least_squares NaN", lambda: least_squares(X, with_value(T, 1, np.nan)), ValueError, r"t has 1 non-finite"),
    ("rank deficient", lambda: least_squares(np.column_stack([X, 2 * X]), T), ValueError, r"rank deficient"),
    ("duplicated column", lambda: gaussian_regression(np.column_stack([X, X]), T), ValueError,
     r"rank deficient: feature\(s\) \['x1'\]"),
    ("degree too high for N", lambda: gaussian_regression(X[:3], T[:3], basis=PolynomialBasis(4)), ValueError,
     r"rank deficient: feature\(s\) \['x\^3', 'x\^4'\]"),
    # names: every weight needs its own label on the coordinate "feature", never two merged into one
    ("pandas' integer column labels", lambda: gaussian_regression(pd.DataFrame(np.column_stack([X, X**2])), T),
     ValueError, r"x has a column named '1', the name of the intercept feature"),
    ("a column named like the intercept", lambda: gaussian_regression(pd.DataFrame({"1": X}), T), ValueError,
     r"x has a column named '1'"),
    ("a column named twice", lambda: gaussian_regression(
        pd.DataFrame(np.column_stack([X, X**2]), columns=["a", "a"]), T), ValueError,
     r"x's columns repeat a name: 'a'"),
    ("the same name as number and text", lambda: gaussian_regression(
        pd.DataFrame({0: X, "0": X**2}), T), ValueError, r"x's columns repeat a name: '0'"),
    ("repeated statistics columns", lambda: gaussian_regression(
        pd.DataFrame(np.column_stack([X, X**2]), columns=["b", "b"]), T, sufficient_statistics=True), ValueError,
     r"x's columns repeat a name: 'b'"),
    # shapes and kinds of x that are not a table of real numbers: named
    ("x with no columns", lambda: gaussian_regression(np.zeros((8, 0)), T), ValueError,
     r"x has 8 rows but no columns"),
    ("ragged rows", lambda: gaussian_regression([[1.0, 2.0], [3.0], [4.0, 5.0]], T[:3]), ValueError,
     r"x is ragged: its rows have different lengths \(1, 2\)"),
    ("categorical column", lambda: gaussian_regression(
        pd.DataFrame({"colour": pd.Categorical(list("rgbrgbrg")), "size": X}), T), TypeError,
     r"x's column 'colour' is categorical \(dtype category\)"),
    ("numbers as text", lambda: gaussian_regression(pd.DataFrame({"size": X, "price": X.astype(str)}), T),
     TypeError, r"x's column 'price' does not hold real numbers \(dtype (str|object)\)"),
    ("a boolean column", lambda: gaussian_regression(pd.DataFrame({"size": X, "sold": X > 0.5}), T), TypeError,
     r"x's column 'sold' is boolean"),
    ("dates", lambda: gaussian_regression(pd.DataFrame({"day": pd.date_range("2026-01-01", periods=8)}), T),
     TypeError, r"x's column 'day' does not hold real numbers \(dtype datetime64"),
    ("categorical target", lambda: gaussian_regression(X, pd.Series(pd.Categorical(list("abababab")))), TypeError,
     r"t is categorical"),
    # a scale float64 cannot square and sum: refused with the reason, not a singular matrix or an "exact fit"
    ("huge targets", lambda: gaussian_regression(X, 1e200 * (T + 1)), ValueError,
     r"t's largest \|value\| is 1.84e\+200: the sums of squares in the fits would overflow float64 .* t / 1e\+200"),
    ("tiny targets", lambda: gaussian_regression(X, 1e-200 * (T + 1)), ValueError,
     r"would underflow float64 \(at N = 8, max \|t\| must lie in \[1.0e-146, "),
    ("huge targets, statistics", lambda: gaussian_regression(X, 1e200 * (T + 1), sufficient_statistics=True),
     ValueError, r"t's largest \|value\| is 1.84e\+200: the sums of squares in the fits would overflow"),
    ("huge Laplace targets", lambda: models.regression(X, -1e170 * T, likelihood=models.likelihoods.Laplace()),
     ValueError, r"t's largest \|value\| is 8.41e\+169"),
    ("Poisson counts past 2^53", lambda: models.regression(X, np.round(1e17 * (T + 1)),
                                                            likelihood=models.likelihoods.Poisson()),
     ValueError, r"t holds a count of 1.84147e\+17, above 2\^53 = 9.007e\+15: float64 cannot tell such counts"),
    ("huge Student-t targets, learned sigma", lambda: models.regression(
        X, 1e100 * T, likelihood=models.likelihoods.StudentT(nu=4.0)), ValueError,
     r"t's largest \|value\| is 8.41e\+99: a learned Student-t sigma of that size leaves float64"),
    ("tiny Student-t targets, learned sigma", lambda: models.regression(
        X, 1e-120 * T, likelihood=models.likelihoods.StudentT(nu=4.0)), ValueError,
     r"must lie in \[1.0e-90, 1.0e\+90\]"),
    ("huge Gamma targets", lambda: models.regression(X, 1e200 * (T + 1), likelihood=models.likelihoods.Gamma()),
     ValueError, r"overflow float64 .* under the log link only the intercept changes"),
    ("identical Gaussian centres", lambda: gaussian_regression(X, T, basis=GaussianBasis([0.5, 0.5], 0.2)),
     ValueError, r"the features of GaussianBasis repeat a name: 'gauss\(0.5\)'"),
]


@pytest.mark.parametrize("build, error, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_before_any_graph(build, error, message, monkeypatch):
    import pymc

    def no_model(*args, **kwargs):
        raise AssertionError("a pm.Model was created before the input was checked")

    monkeypatch.setattr(pymc.Model, "__init__", no_model)
    with pytest.raises(error, match=message):
        build()


@pytest.fixture(scope="module")
def small_model():
    return gaussian_regression(X, T, sigma=0.3, prior=priors.Normal(1.0))


@pytest.mark.parametrize("call, error, message", [
    (lambda m: sample_posterior(m, draws=0), ValueError, r"draws must be a positive integer"),
    (lambda m: sample_posterior(m, chains=1.5), ValueError, r"chains must be a positive integer"),
    (lambda m: exact_posterior(m, draws=-3), ValueError, r"draws must be a positive integer"),
    (lambda m: models.predict(m, "not idata", X), TypeError, r"idata must be an xarray.DataTree"),
    (lambda m: models.fit_advi(m, n=0), ValueError, r"n must be a positive integer"),
    (lambda m: models.log_likelihood_at(m, np.ones(3)), ValueError, r"w must have shape \(2,\)"),
], ids=["draws=0", "chains=1.5", "exact draws<0", "predict idata", "advi n=0", "w shape"])
def test_fit_functions_refuse_bad_arguments(small_model, call, error, message):
    with pytest.raises(error, match=message):
        call(small_model)


def test_predict_refuses_bad_new_inputs(small_model):
    idata = exact_posterior(small_model, draws=10, random_seed=0, log_likelihood=False)
    with pytest.raises(ValueError, match=r"x_new has 1 non-finite"):
        models.predict(small_model, idata, np.array([0.5, np.inf]))
    with pytest.raises(TypeError, match=r"x_new must be an array of real numbers"):
        models.predict(small_model, idata, np.array(["a"]))


def test_pandas_missing_values_are_named(rng):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"a": [1.0, None, 3.0], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError,
                       match=r"x has 1 missing value\(s\) \(NaN/None\) in column\(s\) 'a', first at row\(s\) 1;"):
        gaussian_regression(frame, np.ones(3), basis=LinearBasis())
    with pytest.raises(ValueError, match=r"t has 2 missing value\(s\) \(NaN/None\), first at row\(s\) 10, 12;"):
        gaussian_regression(frame["b"], pandas.Series([1.0, None, None], index=[11, 10, 12]), basis=LinearBasis())


# --- an improper posterior whose MAP exists: refused by every posterior fitter, before any sampling -------------
FITTERS = {
    "sample_posterior": lambda m: sample_posterior(m, draws=10, tune=10, chains=1),
    "sample_posterior pymc": lambda m: sample_posterior(m, draws=10, tune=10, chains=1, nuts_sampler="pymc"),
    "nuts_fitter": lambda m: models.nuts_fitter(m, draws=10, tune=10, chains=1),
    "exact_posterior": lambda m: exact_posterior(m, draws=10),
    "fit_laplace": lambda m: models.fit_laplace(m, draws=10),
    "fit_advi": lambda m: models.fit_advi(m, n=10, draws=10),
    "advi_fitter": lambda m: models.advi_fitter(m, n=10),
    "fit_pathfinder": lambda m: models.fit_pathfinder(m, draws=10),
}
# (N, p, scale prior, likelihood): the scale's marginal falls as s^-(N - p + k) under p(s) ~ s^-k
IMPROPER = {
    "HalfFlat, N = p + 1": lambda: gaussian_regression(X[:4], T[:4], basis=PolynomialBasis(2)),
    "HalfFlat, N = p + 1, statistics": lambda: gaussian_regression(X[:4], T[:4], basis=PolynomialBasis(2),
                                                                  sufficient_statistics=True),
    "HalfFlat, 2-D x": lambda: gaussian_regression(np.column_stack([X, X**2])[:4], T[:4]),
    "Laplace, HalfFlat scale": lambda: models.regression(
        X[:3], T[:3], likelihood=models.likelihoods.Laplace(scale_prior=priors.HalfFlat())),
}


@pytest.mark.parametrize("fitter", FITTERS.values(), ids=FITTERS.keys())
@pytest.mark.parametrize("build", IMPROPER.values(), ids=IMPROPER.keys())
def test_an_improper_posterior_is_refused_before_any_sampling(build, fitter, monkeypatch):
    import nutpie
    import pymc

    model = build()
    fit_map(model)  # the MAP exists (N >= p + 1)

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampling started before the posterior was checked")

    for owner, name in ((pymc, "sample"), (pymc, "fit"), (pymc, "ADVI"), (nutpie, "compile_pymc_model")):
        monkeypatch.setattr(owner, name, no_sampling)
    with pytest.raises(ValueError, match=r"observations for p = \d+ weights under a flat prior on w and HalfFlat\(\) "
                                         r"on (sigma|scale): .* the posterior is improper \(this prior needs N >= "):
        fitter(model)


@pytest.mark.parametrize("build", [
    lambda: gaussian_regression(X[:4], T[:4], basis=PolynomialBasis(2), sigma_prior=priors.Jeffreys()),
    lambda: gaussian_regression(X[:5], T[:5], basis=PolynomialBasis(2)),
    lambda: gaussian_regression(X[:4], T[:4], basis=PolynomialBasis(2), sigma_prior=priors.HalfNormal(1.0)),
], ids=["Jeffreys, N = p + 1", "HalfFlat, N = p + 2", "HalfNormal, N = p + 1"])
def test_a_proper_posterior_at_the_edge_is_accepted(build):
    """A proper posterior one observation from the edge (or with a proper prior) goes to the fitters."""
    model = build()
    draws = models.fit_laplace(model, draws=20, random_seed=0, log_likelihood=False).posterior
    assert np.isfinite(draws["w"].values).all()


def test_nullable_integer_columns_are_numbers():
    frame = pd.DataFrame({"a": pd.array([1, 2, 3, 5, 4, 7, 6, 8], dtype="Int64"), "b": X**2})
    np.testing.assert_array_equal(fit_map(gaussian_regression(frame, T, sigma=0.3))["w"],
                                  fit_map(gaussian_regression(frame.astype(float), T, sigma=0.3))["w"])


@pytest.mark.parametrize("scale", [1e-140, 1e-20, 1e20, 1e140])
def test_far_from_one_but_representable_targets_give_scaled_weights(scale):
    """Least squares is equivariant: t * c gives w * c and sigma * c (to rounding), however far c is from 1."""
    reference = fit_map(gaussian_regression(X, T + X**2))
    scaled = fit_map(gaussian_regression(X, scale * (T + X**2)))
    np.testing.assert_allclose(scaled["w"] / scale, reference["w"], rtol=1e-9)
    assert scaled["sigma"] / scale == pytest.approx(reference["sigma"], rel=1e-9)


SCALED = [  # (likelihood, prior, how w moves when t is multiplied by c): each family's own equivariance
    ("Laplace, learned scale", lambda c: models.likelihoods.Laplace(), lambda c: priors.Flat(), "times"),
    ("Laplace, fixed scale, Normal prior", lambda c: models.likelihoods.Laplace(scale=0.3 * c),
     lambda c: priors.Normal(0.5 * c), "times"),
    ("Laplace, L1 prior, learned scale", lambda c: models.likelihoods.Laplace(scale_prior=priors.HalfNormal(c)),
     lambda c: priors.Laplace(0.5 * c), "times"),
    ("Student-t, learned sigma", lambda c: models.likelihoods.StudentT(nu=4.0), lambda c: priors.Flat(), "times"),
    ("Gamma, fixed shape", lambda c: models.likelihoods.Gamma(shape=3.0), lambda c: priors.Flat(), "log"),
    ("Gamma, learned shape", lambda c: models.likelihoods.Gamma(), lambda c: priors.Flat(), "log"),
]


@pytest.mark.parametrize("scale", [1e-140, 1e-20, 1e20, 1e140])
@pytest.mark.parametrize("likelihood, prior, moves", [case[1:] for case in SCALED], ids=[c[0] for c in SCALED])
def test_every_likelihood_is_right_at_any_scale_it_accepts(likelihood, prior, moves, scale, rng):
    """t * c gives w * c (location families, with their scales and priors scaled alike) or the intercept + log c
    (log link), to rounding; a scale the family refuses (Student-t's learned sigma beyond 1e+-90) is skipped here
    and tested in CASES. HiGHS' absolute tolerances once made Laplace wrong at 1e-20 and fail at 1e20."""
    x = rng.uniform(-1, 1, (60, 2))
    t = 2 + x @ [1.0, -0.5] + 0.3 * rng.standard_normal(60)
    t = np.exp(t) if moves == "log" else t
    if moves == "times" and isinstance(likelihood(1.0), models.likelihoods.StudentT) and abs(np.log10(scale)) > 90:
        scale = 10.0 ** (80 * np.sign(np.log10(scale)))  # the nearest scale it accepts
    reference = np.asarray(fit_map(models.regression(x, t, likelihood=likelihood(1.0), prior=prior(1.0)))["w"])
    scaled = np.asarray(fit_map(models.regression(x, scale * t, likelihood=likelihood(scale),
                                                  prior=prior(scale)))["w"])
    expected = reference * scale if moves == "times" else reference + [np.log(scale), 0.0, 0.0]
    np.testing.assert_allclose(scaled, expected, rtol=1e-12)  # observed <= 2e-14: rounding of the solvers


def _poisson_mle_long_double(features, counts, w):
    """Newton's method for the Poisson log-likelihood in NumPy's extended precision (80-bit on x86), from w."""
    features, counts, w = (np.asarray(a, dtype=np.longdouble) for a in (features, counts, w))
    for _ in range(60):
        mean = np.exp(features @ w)
        gradient, hessian = features.T @ (mean - counts), (features.T * mean) @ features
        w = w - np.linalg.solve(hessian.astype(float), gradient.astype(float)).astype(np.longdouble)
    return w


@pytest.mark.parametrize("log10_mean", [0, 8, 10, 12, 15])
@pytest.mark.parametrize("spread", [0.3, 5.0], ids=["counts alike", "counts over 4 decades"])
def test_poisson_map_is_right_for_any_count_float64_carries(log10_mean, spread, rng):
    """Counts up to 2^53: the MAP equals an independent Newton in extended precision. Counts above 2^31 were
    wrapped by PyMC's int32 data (1e10 -> 1410065408), and counts of 1e8+ stopped Newton on the rounding of a value
    made of terms 1e10 times larger than their sum, with a false "zero counts" diagnosis."""
    x = rng.uniform(-1, 1, (100, 2))
    log_mean = np.minimum(log10_mean * np.log(10) + spread * (x[:, 0] - 0.5 * x[:, 1]), 36.0)
    t = rng.poisson(np.exp(log_mean)).astype(float)
    model = models.regression(x, t, likelihood=models.likelihoods.Poisson())
    np.testing.assert_array_equal(model["t_obs"].get_value(), t)
    w = np.asarray(fit_map(model)["w"])
    reference = _poisson_mle_long_double(np.c_[np.ones(len(t)), x], t, w)
    np.testing.assert_allclose(w, reference.astype(float), rtol=1e-13)  # observed <= 8e-15


@pytest.mark.parametrize("degree, low, high, warned", [
    (50, 0.0, 1.0, True), (25, 0.0, 1.0, True), (9, 0.0, 1.0, False), (9, 0.0, 1e4, False), (3, -1e6, 1e6, False),
    (40, -1.0, 1.0, False),  # centred: monomials of degree 40 on [-1, 1] keep digits (condition ~1e14)
], ids=["degree 50", "degree 25", "degree 9", "degree 9 on [0, 1e4]", "cubic on a wide range", "degree 40 centred"])
def test_a_degree_whose_monomial_coefficients_float64_cannot_carry_is_named(degree, low, high, warned):
    """The warning names the degree and the coefficient scale, at the user's line; the x scale alone is no reason."""
    import warnings

    x = np.linspace(low, high, 60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gaussian_regression(x, np.sin(6 * (x - low) / (high - low)), basis=PolynomialBasis(degree), sigma=0.1)
    mine = [w for w in caught if "raw monomial coefficients" in str(w.message)]
    assert len(mine) == int(warned), [str(w.message) for w in caught]
    if warned:
        assert str(mine[0].message).startswith(f"PolynomialBasis({degree}): its raw monomial coefficients w are "
                                                "beyond float64 here (condition number ")
        assert "|w| up to ~" in str(mine[0].message) and mine[0].filename == __file__


@pytest.mark.parametrize("shape", ["proportional inputs", "more weights than rows"])
def test_a_proper_prior_on_w_with_a_learned_sigma_takes_a_rank_deficient_design(shape, rng):
    """Under a Normal prior the MAP exists whenever no w fits t exactly (the smallest SSE > 0), whatever the rank:
    it is the ridge solution at sigma_MAP, with sigma_MAP^2 = SSE/N (HalfFlat). Least squares used to be the start
    and refused such a design ("rank deficient"), or failed inside SciPy when N < p."""
    if shape == "proportional inputs":
        x = np.column_stack([np.arange(1.0, 7.0), 2 * np.arange(1.0, 7.0)])
    else:
        x = rng.normal(size=(6, 8))
        x[:, 4:] = x[:, :4] @ rng.normal(size=(4, 4))  # rank 4 + intercept = 5 < N = 6: some SSE is left
    t = rng.normal(size=6)
    point = fit_map(gaussian_regression(x, t, prior=priors.Normal(3.0)))
    features, w, sigma = np.column_stack([np.ones(6), x]), point["w"], float(point["sigma"])
    assert sigma**2 == pytest.approx(np.sum((t - features @ w) ** 2) / 6, rel=1e-12)
    ridge = np.linalg.lstsq(np.vstack([features / sigma, np.eye(features.shape[1]) / 3.0]),
                            np.concatenate([t / sigma, np.zeros(features.shape[1])]), rcond=None)[0]
    np.testing.assert_allclose(w, ridge, rtol=1e-10, atol=1e-12)


def test_a_learned_sigma_on_data_some_w_fits_exactly_is_refused_whatever_the_prior(rng):
    """N < p (rank N): some w fits t exactly, so sigma -> 0 makes the density unbounded even under a Normal prior."""
    with pytest.raises(ValueError, match=r"the data are fitted exactly \(SSE = 0\)"):
        fit_map(gaussian_regression(rng.normal(size=(3, 5)), rng.normal(size=3), prior=priors.Normal(3.0)))
