"""The MLP mean: the NLL/MSE identity, MAP == plain MSE training, and the bands of a Bayesian network."""

import arviz as az
import numpy as np
import pymc as pm
import pytensor
import pytest
from mlp_reference import flatten, hessian, mse_and_gradient, mse_objective, train_mse

from models import fit_map, priors, sample_posterior
from models.fit.backend import ONE_SHOT
from models.fit.results import free_from_values, value_point
from models.mlp import mlp_forward, mlp_initial_point, mlp_predictive, mlp_regression


def sine_data(n, low, high, sigma, seed, frequency):
    generator = np.random.default_rng(seed)
    x = np.sort(generator.uniform(low, high, n))
    return x, np.sin(frequency * x) + sigma * generator.normal(size=n)


# --- the model ------------------------------------------------------------------------------------------------


def test_model_variables_dims_and_standardization(rng):
    x, t = rng.uniform(2, 5, 12), rng.normal(size=12)
    model = mlp_regression(x, t, hidden=(4, 2), sigma=0.5)
    assert [v.name for v in model.free_RVs] == ["W0", "b0", "W1", "b1", "W2", "b2"]
    assert [v.name for v in model.observed_RVs] == ["t"]
    assert {v.owner.op.name for v in model.free_RVs} == {"flat"}
    dims = model.named_vars_to_dims
    assert dims["W0"] == ("input", "hidden_0") and dims["b0"] == ("hidden_0",)
    assert dims["W1"] == ("hidden_0", "hidden_1") and dims["W2"] == ("hidden_1",)
    assert "b2" not in dims  # the output bias is a scalar
    assert dims["t"] == dims["mu"] == ("obs_id",)
    assert list(model.coords["input"]) == ["x"]
    spec = model.design
    assert spec.hidden == (4, 2) and spec.activation == "tanh"
    assert spec.layer_names == (("W0", "b0"), ("W1", "b1"), ("W2", "b2"))
    np.testing.assert_array_equal(spec.standardization[0], [x.mean()])
    np.testing.assert_array_equal(spec.standardization[1], [x.std()])

    learned = mlp_regression(np.column_stack([x, x**2]), t, hidden=(3,), prior=priors.Normal(2.0),
                             sigma_prior=priors.HalfNormal(1.0))
    assert [v.name for v in learned.free_RVs] == ["W0", "b0", "W1", "b1", "sigma"]
    # the prior on every weight and bias is a Potential on a flat variable: the stated density, for any prior
    assert {learned[name].owner.op.name for name in ("W0", "b0", "W1", "b1")} == {"flat"}
    assert [p.name for p in learned.potentials] == ["W0_prior", "b0_prior", "W1_prior", "b1_prior"]
    assert learned.named_vars_to_dims["x"] == ("obs_id", "input")
    assert list(learned.coords["input"]) == ["x0", "x1"]


@pytest.mark.parametrize("activation, hidden, two_d, sigma, prior", [
    ("tanh", (3,), False, 0.3, None),
    ("relu", (4, 3), True, None, priors.Normal(1.0)),
], ids=["tanh, 1-D x, fixed sigma", "relu, 2-D x, two layers, learned sigma, Normal prior"])
def test_nll_is_scaled_mse_and_so_is_its_gradient(activation, hidden, two_d, sigma, prior, rng):
    """-log p(t | x, w, sigma) = N/(2 sigma^2) MSE(w) + N/2 log(2 pi sigma^2) at any w, and so are their gradients.

    The gradient of the NLL is PyTensor's; the MSE's is the hand-written backpropagation of ``mlp_reference``, times
    N/(2 sigma^2).
    """
    n = 17
    x = rng.normal(size=(n, 2)) if two_d else rng.uniform(-1, 2, n)
    t = rng.normal(size=n)
    model = mlp_regression(x, t, hidden=hidden, activation=activation, sigma=sigma, prior=prior)
    spec = model.design
    shapes = spec.shapes(x.shape[1] if two_d else 1)
    params = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    point = dict(params)
    noise_sd = sigma
    if sigma is None:
        noise_sd = 0.7
        point.update(value_point(model, {"sigma": noise_sd}))

    # one evaluation: NumPy, nothing compiled (numba, PyMC's default, would compile each graph for seconds)
    logp_fn = model.compile_logp(vars=model.observed_RVs, mode=ONE_SHOT)
    log_likelihood = float(logp_fn(point))
    mse, mse_gradient = mse_and_gradient(params, x, t, activation=activation, standardization=spec.standardization)
    expected = -(n / (2 * noise_sd**2) * mse + n / 2 * np.log(2 * np.pi * noise_sd**2))
    # two float64 sums of 17 terms of size ~10: rounding only
    np.testing.assert_allclose(log_likelihood, expected, rtol=1e-12)

    values = [model.rvs_to_values[model[name]] for name in shapes]
    nll = -model.logp(vars=model.observed_RVs)
    gradient_fn = model.compile_fn(pytensor.grad(nll, values), inputs=model.value_vars, on_unused_input="ignore",
                                   mode=ONE_SHOT)
    for name, gradient in zip(shapes, gradient_fn(point)):
        scaled = n / (2 * noise_sd**2) * mse_gradient[name]
        np.testing.assert_allclose(gradient, scaled, rtol=1e-10, atol=1e-12 * np.max(np.abs(scaled)), err_msg=name)


def test_same_weights_same_function_after_set_data(rng):
    """Standardization constants are fixed on the training x, so pm.set_data with new x keeps w's meaning."""
    x, t = rng.uniform(0, 3, 10), rng.normal(size=10)
    model = mlp_regression(x, t, hidden=(5,), sigma=1.0)
    params = mlp_initial_point(model, rng)
    spec = model.design
    mu_fn = model.compile_fn(model.replace_rvs_by_values([model["mu"]])[0], inputs=model.value_vars, mode=ONE_SHOT)
    np.testing.assert_allclose(mu_fn(params), mlp_forward(params, x, activation="tanh",
                                                          standardization=spec.standardization), rtol=1e-13)
    x_new = np.array([-2.0, 0.5, 4.0, 10.0])
    pm.set_data({"x": x_new, "t_obs": np.zeros(4)}, model=model, coords={"obs_id": np.arange(4)})
    expected = mlp_forward(params, x_new, activation="tanh", standardization=spec.standardization)
    np.testing.assert_allclose(mu_fn(params), expected, rtol=1e-13)
    # ... and not the function of x_new standardized by its own mean and sd
    own = mlp_forward(params, x_new, activation="tanh", standardization=(x_new.mean(), x_new.std()))
    assert np.max(np.abs(own - expected)) > 0.1


def test_initial_point_is_seeded_and_complete(rng):
    x, t = rng.normal(size=(30, 2)), rng.normal(size=30)
    model = mlp_regression(x, t, hidden=(3,), activation="relu", sigma_prior=priors.HalfCauchy(1.0))
    first, again = mlp_initial_point(model, 4), mlp_initial_point(model, 4)
    assert set(first) == set(model.initial_point())
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
        assert np.shape(first[name]) == np.shape(model.initial_point()[name])
    assert first["b1"] == pytest.approx(t.mean())
    assert free_from_values(model, first)["sigma"] == pytest.approx(t.std())
    assert not np.array_equal(mlp_initial_point(model, 5)["W0"], first["W0"])


# --- MAP == MSE training --------------------------------------------------------------------------------------

# The data and the start are chosen so that the MSE descends to an isolated minimum (Hessian eigenvalues
# ~3e-4 to ~5 in the MSE, weights of size ~3). With a flat prior many (data, start) pairs have no minimum at all:
# a unit saturates and its weights grow without bound while the MSE keeps decreasing, and two optimizers then
# stop at different, arbitrary points. Seven of ten seeded starts reach this same minimum (up to permutations
# and sign flips of the hidden units), so the basin is wide.
MAP_DATA = {"n": 25, "low": -1.0, "high": 1.0, "sigma": 0.1, "seed": 3, "frequency": 1.5 * np.pi}
MAP_START_SEED = 7


@pytest.mark.parametrize("prior", [None, priors.Normal(2.0)], ids=["flat prior", "Normal prior (weight decay)"])
def test_map_is_the_mse_trained_network(prior):
    r"""fit_map(model, start) == SciPy minimizing MSE(w) + sigma^2 / (N scale^2) ||w||^2 from the same start."""
    x, t = sine_data(**MAP_DATA)
    sigma, n = 0.1, len(t)
    model = mlp_regression(x, t, hidden=(3,), sigma=sigma, prior=prior)
    spec = model.design
    start = mlp_initial_point(model, MAP_START_SEED)
    decay = 0.0 if prior is None else sigma**2 / (n * float(prior.scale) ** 2)

    map_point = fit_map(model, start=start)
    reference, reference_gradient = train_mse(model, start, decay=decay)

    names = list(spec.parameter_names)
    w_map, w_reference = flatten(map_point, names), flatten(reference, names)
    objective, _ = mse_objective(model, decay=decay)
    map_gradient = objective(w_map)[1]
    # both are stationary points of the same objective (the gradient's largest entry is ~0.5 at the start):
    # the reference to rounding, fit_map at least to L-BFGS's stopping rule (~3e-9 here without a Newton finish)
    assert np.max(np.abs(reference_gradient)) < 1e-12
    assert np.max(np.abs(map_gradient)) < 1e-7
    assert np.min(np.linalg.eigvalsh(hessian(objective, w_reference))) > 1e-5  # an isolated minimum
    # the same minimum: 1e-6 relative to the largest weight is the optimizer's precision (L-BFGS alone stops
    # within ~1e-7 here: a gradient of ~1e-9 over a smallest curvature of ~3e-4), not a difference in the objective
    np.testing.assert_allclose(w_map, w_reference, rtol=0, atol=1e-6 * np.max(np.abs(w_reference)))
    np.testing.assert_allclose(map_point["mu"], mlp_forward(reference, x, activation="tanh",
                                                            standardization=spec.standardization), atol=1e-6)


# --- bad input ------------------------------------------------------------------------------------------------

X = np.linspace(0, 1, 8)
T = np.sin(X)


def _with_nan(array, index):
    array = array.copy()
    array[index] = np.nan
    return array


CASES = [
    ("hidden=(0,)", dict(hidden=(0,)), ValueError, r"hidden must be a tuple of positive integers, got \(0,\)"),
    ("hidden='8'", dict(hidden="8"), TypeError, r"hidden must be a tuple of positive integers"),
    ("hidden=(8.0,)", dict(hidden=(8.0,)), TypeError, r"hidden must be a tuple of positive integers, got an entry"),
    ("hidden=()", dict(hidden=()), ValueError, r"hidden must have at least one layer"),
    ("activation", dict(activation="sigmoid2"), ValueError, r"activation must be one of \('tanh', 'relu'\)"),
    ("prior not a Prior", dict(prior="ridge"), TypeError, r"prior must be a models.priors.Prior"),
    ("sigma prior as prior", dict(prior=priors.HalfNormal(1.0)), TypeError, r"HalfNormal is a prior for a scale"),
    ("per-weight scale", dict(prior=priors.Normal([1.0, 2.0])), ValueError, r"give scalar parameters"),
    ("sigma=-1", dict(sigma=-1), ValueError, r"sigma must be finite and > 0"),
    ("sigma and sigma_prior", dict(sigma=1.0, sigma_prior=priors.HalfNormal(1.0)), ValueError, r"either a fixed sigma"),
    ("length mismatch", dict(t=T[:5]), ValueError, r"same number of rows, got 8 and 5"),
    ("NaN in t", dict(t=_with_nan(T, 3)), ValueError, r"t has 1 non-finite"),
    ("constant column", dict(x=np.column_stack([X, np.ones(8)])), ValueError, r"column\(s\) \[1\] are constant"),
    ("N <= weights", dict(hidden=(3,), sigma=None), ValueError, r"N = 8 observations for 10 weights under a flat"),
]


@pytest.mark.parametrize("arguments, error, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_before_any_graph(arguments, error, message, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("a pm.Model was created before the input was checked")

    monkeypatch.setattr(pm.Model, "__init__", no_model)
    with pytest.raises(error, match=message):
        mlp_regression(**{"x": X, "t": T, "sigma": 0.5, **arguments})


def test_helpers_refuse_other_models_and_bad_arguments(rng):
    x, t = rng.normal(size=(10, 2)), rng.normal(size=10)
    model = mlp_regression(x, t, hidden=(2,), sigma=1.0)
    with pytest.raises(ValueError, match=r"no Network design"):
        mlp_initial_point(pm.Model())
    with pytest.raises(TypeError, match=r"model must be a pm.Model"):
        mlp_initial_point("model")
    with pytest.raises(TypeError, match=r"idata must be an xarray.DataTree"):
        mlp_predictive(model, {"W0": 1}, x)
    idata = az.from_dict({"posterior": {name: value[None, None]
                                        for name, value in mlp_initial_point(model, 0).items()}})
    with pytest.raises(ValueError, match=r"x_new must have 2 columns like x, got 3"):
        mlp_predictive(model, idata, np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"x_new has 1 non-finite"):
        mlp_predictive(model, idata, np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match=r"activation must be one of"):
        mlp_forward(mlp_initial_point(model, 0), x, activation="sigmoid")


# --- predictive draws -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, None], ids=["fixed sigma", "learned sigma"])
def test_predictive_draws_are_the_forward_pass_plus_noise(sigma, rng):
    x, t = rng.uniform(-1, 1, 15), rng.normal(size=15)
    model = mlp_regression(x, t, hidden=(4,), sigma=sigma, prior=priors.Normal(1.0))
    chains, draws = 2, 2000
    shapes = model.design.shapes(1)
    posterior = {name: rng.normal(size=(chains, draws, *shape)) for name, shape in shapes.items()}
    if sigma is None:
        posterior["sigma"] = rng.uniform(0.2, 1.0, size=(chains, draws))
    x_new = np.linspace(-2, 2, 7)
    predictions = mlp_predictive(model, az.from_dict({"posterior": posterior}), x_new, random_seed=1).predictions
    assert predictions["mu"].dims == predictions["t"].dims == ("chain", "draw", "obs_id")
    mu, t_new = predictions["mu"].values, predictions["t"].values
    for chain, draw in [(0, 0), (1, 1234)]:
        one = {name: value[chain, draw] for name, value in posterior.items()}
        np.testing.assert_allclose(mu[chain, draw], mlp_forward(one, x_new, activation="tanh",
                                                                standardization=model.design.standardization),
                                   rtol=1e-13)
    noise_sd = sigma if sigma is not None else posterior["sigma"][..., None]
    z = (t_new - mu) / noise_sd
    # 28,000 standard normal draws: the sample mean and sd are within ~0.006 of 0 and 1; allow 5 of those
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


# --- the Bayesian network: bands that widen away from the data -----------------------------------------------

# Data on [-1, 0.3] only; the band is compared at x = 1.0 with its mean over the data's range.
BAND_DATA = {"n": 20, "low": -1.0, "high": 0.3, "sigma": 0.1, "seed": 11, "frequency": 3.0}
INSIDE = np.linspace(-1.0, 0.3, 14)


def band_sd(model, idata):
    sd = mlp_predictive(model, idata, np.append(INSIDE, 1.0), random_seed=0).predictions["mu"].std(("chain", "draw"))
    return float(sd[:-1].mean()), float(sd[-1])


@pytest.mark.slow
def test_nuts_band_widens_away_from_the_data():
    """NUTS (nutpie) on a tanh network with 10 weights: the sd of mu at x = 1.0 is several times the one inside.

    The posterior is multimodal (hidden units can be permuted and sign-flipped) and chains need not mix between
    modes, so no convergence gate is asserted: every mode gives the same functions, and the band is what is checked.
    Seen on three data sets: ratios 6 to 8.
    """
    pytest.importorskip("nutpie")
    x, t = sine_data(**BAND_DATA)
    model = mlp_regression(x, t, hidden=(3,), sigma=0.1, prior=priors.Normal(1.0))
    idata = sample_posterior(model, draws=300, tune=300, chains=2, random_seed=3, nuts_sampler="nutpie")
    inside, outside = band_sd(model, idata)
    assert outside > 3 * inside, (inside, outside)
