r"""Every loss is a likelihood: each MAP is the classical estimator of the loss it is the negative log of.

The seed's argument, :math:`-\log p(t \mid w) = c_1 N\,\mathrm{loss}(w) + c_0`, holds for every common loss
(:mod:`models.likelihoods`): MSE <-> Gaussian, MAE <-> Laplace, a robust loss <-> Student-t, cross-entropy <->
Bernoulli / Categorical, Poisson deviance <-> Poisson, the "Gaussian NLL loss" of predicted variances <->
a Gaussian with :math:`\log\sigma(x) = \psi(x)^\top v`, and the MSE of a neural network <-> a Gaussian whose mean
is the network. Under a flat prior the MAP is therefore the estimator that minimizes that loss; the table
computes both at run time, on simulated data, and reports the largest difference.

Then the posterior, which the classical estimators do not give:

- robust regression: Gaussian, Laplace and Student-t fits of one line through data with outliers;
- heteroscedastic noise: NUTS on sigma(x) and on one sigma, predictive bands, and PSIS-LOO (``az.compare``) on
  heteroscedastic and on homoscedastic data;
- classification: NUTS on a logistic regression in 2-D, decision boundaries of posterior draws around the MAP's;
- a neural network: the MAP curve of a small ReLU MLP (the MSE-trained network) against its posterior predictive
  under a Normal prior (weight decay), by ADVI and NUTS. ReLU, because its units extrapolate linearly: with tanh
  units, mean-field ADVI around the MAP gives a band that hardly widens (the units saturate beyond the data and the
  output weights are pinned by it), while NUTS does widen (``tests/test_mlp.py``, NUTS on tanh; the ReLU network's
  ADVI band of this analysis: ``tests/test_loss_likelihood_table.py``).

Every NUTS run goes through the convergence gates, except the MLP's: a network's posterior is multimodal (hidden
units can swap and flip sign), so its R-hat across chains is not expected to be 1; it is reported, not gated.

The small models (sigma(x), one sigma, the logistic regression) are sampled by PyMC's own NUTS (config
``nuts_sampler``; why: :func:`models.sample_posterior`), the network by nutpie, whose faster steps repay its
compilation on that harder posterior (measured: 2 chains x 600 steps in 23 s by nutpie, 64 s by PyMC's NUTS).

Run alone: ``python -m analyses.loss_likelihood_table [--quick] [--seed N] [--out DIR]``.
"""

import hashlib
import sys
import warnings

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pytensor
import pytensor.tensor as pt
from scipy import optimize, special

from models import LinearBasis, convergence, fit_advi, fit_map, likelihoods, priors, regression, sample_posterior
from models.fit.backend import compile_mode
from models.mlp import mlp_forward, mlp_initial_point, mlp_predictive, mlp_regression
from models.optimize import newton

from . import runner
from .report import cached_idata, check, table

NAME = "loss_likelihood_table"
TITLE = "Every loss is a likelihood: MAP = the classical estimator of its loss"
CLAIM = ("Every common loss is the negative log of a likelihood, so its classical estimator is that model's MAP; "
         "the model adds a posterior.")
KINDS = ("heteroscedastic", "homoscedastic")


def config(quick=False, full=False):
    """Sizes of the run: data sets, NUTS draws and chains (and which NUTS samples the small models), the network's
    hidden units, NUTS draws and ADVI steps."""
    if quick:
        return {"n": 120, "n_het": 120, "draws": 1000, "tune": 1000, "chains": 2, "mlp_hidden": (3,), "mlp_draws": 300,
                "mlp_tune": 300, "advi_n": 5000, "nuts_sampler": "pymc"}
    return {"n": 300, "n_het": 200, "draws": 1000, "tune": 1000, "chains": 4, "mlp_hidden": (4,), "mlp_draws": 1000,
            "mlp_tune": 1000, "advi_n": 20_000, "nuts_sampler": "pymc"}


def _features(x):
    return np.column_stack([np.ones(len(x)), x])


def _labels(rng, logits):
    p = special.softmax(logits, axis=1)
    return np.array([rng.choice(p.shape[1], p=row) for row in p], dtype=float)


def _cached(cache, label, setting, compute):
    """``compute()`` stored under ``cache`` (:func:`analyses.report.cached_idata`); computed afresh without one."""
    return compute() if cache is None else cached_idata(cache, label, setting, compute, __file__)


def equivalences(n, rng):
    """One row per likelihood: MAP (``fit_map``) against the classical estimator of its loss, on simulated data."""
    x = rng.normal(size=(n, 2))
    features = _features(x)
    eta = features @ np.array([0.3, 0.8, -0.5])
    rows = []

    def row(likelihood, t, reference, label=None, compare=None):
        map_point = fit_map(regression(x, t, likelihood=likelihood))
        ours = map_point["w"] if compare is None else compare(map_point)
        difference = float(np.max(np.abs(ours - reference)))
        rows.append({"likelihood": label or repr(likelihood), "loss": likelihood.loss_name, "link": likelihood.link,
                     "estimator": likelihood.classical, "max_abs_diff": difference,
                     "max_abs_value": float(np.max(np.abs(reference)))})

    t = eta + 0.4 * rng.normal(size=n)
    row(likelihoods.Gaussian(), t, likelihoods.Gaussian().sklearn_estimator().fit(features, t).coef_)
    t = eta + rng.laplace(scale=0.5, size=n)
    row(likelihoods.Laplace(), t, likelihoods.Laplace().sklearn_estimator().fit(features, t).coef_)
    t = eta + 0.3 * rng.standard_t(3, size=n)
    student = likelihoods.StudentT(3.0, sigma=0.3)
    start = np.linalg.lstsq(features, t, rcond=None)[0]
    robust = optimize.minimize(lambda w: student.loss(t, features @ w), start, method="BFGS", options={"gtol": 1e-12}).x
    row(student, t, robust)
    t = (rng.uniform(size=n) < special.expit(eta)).astype(float)
    row(likelihoods.Bernoulli(), t, likelihoods.Bernoulli().sklearn_estimator().fit(features, t.astype(int)).coef_[0])
    logits = np.column_stack([np.zeros(n), eta, features @ np.array([-0.2, -0.6, 0.9])])
    t = _labels(rng, logits)
    categorical = likelihoods.Categorical(3)
    estimator = categorical.sklearn_estimator().fit(features, t.astype(int))
    row(categorical, t, estimator.predict_proba(features), label="Categorical(n_classes=3) [probabilities]",
        compare=lambda m: special.softmax(categorical.logits(features @ m["w"]), axis=1))
    t = rng.poisson(np.exp(eta)).astype(float)
    row(likelihoods.Poisson(), t, likelihoods.Poisson().sklearn_estimator().fit(features, t).coef_)
    t = rng.gamma(2.0, np.exp(eta) / 2.0)  # shape 2, mean exp(eta); the shape is learned by the model
    row(likelihoods.Gamma(), t, likelihoods.Gamma().sklearn_estimator().fit(features, t).coef_)

    x1 = x[:, 0]
    t = 0.5 - x1 + np.exp(-1.0 + 0.5 * x1) * rng.normal(size=n)
    hetero = likelihoods.Gaussian(sigma_basis=LinearBasis())
    map_point = fit_map(regression(x1, t, likelihood=hetero))
    f1 = _features(x1)

    def nll(theta):
        return likelihoods.heteroscedastic_nll(t, f1 @ theta[:2], np.exp(f1 @ theta[2:]))

    ours = np.concatenate([map_point["w"], map_point["v"]])
    reference = optimize.minimize(nll, ours + 0.01, method="BFGS", options={"gtol": 1e-10}).x
    rows.append({"likelihood": repr(hetero), "loss": "Gaussian NLL of predicted variances",
                 "link": "identity, log sigma", "estimator": "scipy BFGS on the Gaussian NLL loss (w, v)",
                 "max_abs_diff": float(np.max(np.abs(ours - reference))),
                 "max_abs_value": float(np.max(np.abs(reference)))})
    return rows


def mse_training(model, start):
    """The network of ``model`` trained on its MSE with SciPy from ``start``, without its likelihood.

    The loss is ``mean((y(x | w) - t)^2)`` of the model's network output ``mu`` (not its log density): L-BFGS-B,
    then Newton steps to the point where its gradient vanishes (:func:`models.optimize.newton`). The same MSE in
    NumPy with hand-written backpropagation is the tests' reference (``tests/mlp_reference.py``).

    Parameters
    ----------
    model : pm.Model
        A flat-prior :func:`models.mlp.mlp_regression` model.
    start : dict
        The initial weights and biases (:func:`models.mlp.mlp_initial_point`).

    Returns
    -------
    dict
        The trained weights and biases by name.
    """
    names = list(model.design.parameter_names)
    shapes = {name: np.shape(start[name]) for name in names}
    values = [model.rvs_to_values[model[name]] for name in names]
    mse = pt.mean((model.replace_rvs_by_values([model["mu"]])[0] - model["t_obs"]) ** 2)
    with compile_mode():  # the fitters' backend: the C operations other fits compiled already (models.fit.backend)
        function = model.compile_fn([mse, *pytensor.grad(mse, values)], inputs=values, on_unused_input="ignore")
    sizes = [int(np.prod(shape)) for shape in shapes.values()]

    def unflatten(vector):
        parts = np.split(vector, np.cumsum(sizes)[:-1])
        return {name: part.reshape(shape) for (name, shape), part in zip(shapes.items(), parts)}

    def value_and_gradient(vector):
        value, *gradient = function(unflatten(vector))
        return float(value), np.concatenate([np.ravel(g) for g in gradient])

    start_vector = np.concatenate([np.ravel(start[name]) for name in names])
    result = optimize.minimize(value_and_gradient, start_vector, jac=True, method="L-BFGS-B",
                               options={"maxiter": 50_000, "maxfun": 50_000, "ftol": 0.0, "gtol": 1e-13})
    return unflatten(newton(value_and_gradient, result.x)[0])


def mlp_equivalence():
    """The MLP row: ``fit_map`` from an initialization against MSE training (:func:`mse_training`) from the same one.

    A flat-prior network's MSE often has no isolated minimum (units saturate and weights drift to infinity along
    flat valleys), so the check uses data from a 2-unit "teacher" network, which the 2-unit model can fit with
    finite weights, and one fixed data set and initialization (a named seed, not ``--seed``).
    """
    rng = np.random.default_rng(sum(map(ord, "mlp equivalence")))
    x = np.sort(rng.uniform(-2, 2, size=60))
    t = 1.5 * np.tanh(1.2 * x - 0.5) - np.tanh(0.8 * x + 1.0) + 0.05 * rng.normal(size=60)
    model = mlp_regression(x, t, hidden=(2,), sigma=0.1)
    start = mlp_initial_point(model, rng)
    ours = fit_map(model, start=start)
    reference = mse_training(model, start)
    names = model.design.parameter_names
    difference = max(float(np.max(np.abs(ours[k] - reference[k]))) for k in names)
    largest = max(float(np.max(np.abs(reference[k]))) for k in names)
    return {"likelihood": "Gaussian(sigma=0.1), y = MLP(2,) tanh", "loss": "MSE of the network",
            "link": "identity",
            "estimator": "MSE training: SciPy L-BFGS + Newton on mean((y(x | w) - t)^2), same initialization",
            "max_abs_diff": difference, "max_abs_value": largest}


def robust_fits(rng):
    """One line through data with 3 outliers: the MAP under Gaussian, Laplace and Student-t noise."""
    x = np.linspace(0, 1, 30)
    t = 1.0 + 2.0 * x + 0.15 * rng.normal(size=30)
    t[[22, 25, 28]] -= np.array([3.0, 4.0, 3.5])
    fits = {}
    for label, likelihood in (("Gaussian (MSE)", likelihoods.Gaussian()), ("Laplace (MAE)", likelihoods.Laplace()),
                              ("Student-t, nu = 2", likelihoods.StudentT(2.0))):
        fits[label] = fit_map(regression(x, t, likelihood=likelihood))["w"]
    clean = np.delete(np.arange(30), [22, 25, 28])
    fits["least squares without the outliers"] = np.linalg.lstsq(_features(x[clean]), t[clean], rcond=None)[0]
    return {"x": x, "t": t, "outliers": [22, 25, 28], "fits": fits}


def _sample(cache, label, model, data, setting, seed):
    key = {"data": data, "draws": setting["draws"], "tune": setting["tune"], "chains": setting["chains"],
           "seed": seed, "nuts_sampler": setting["nuts_sampler"]}
    return _cached(cache, label, key, lambda: sample_posterior(
        model, draws=setting["draws"], tune=setting["tune"], chains=setting["chains"], random_seed=seed, cores=1,
        nuts_sampler=setting["nuts_sampler"]))


def _digest(*arrays):
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


def _predictive_band(idata, x, label):
    """Mean curve and 90% posterior predictive band of a sigma(x) or one-sigma fit at ``x``.

    The noise draws come from their own generator (seed 0), not from the run's.
    """
    posterior, features = idata.posterior, _features(x)
    w = posterior["w"].values.reshape(-1, 2)
    if label == "sigma(x)":
        sigma = np.exp(posterior["v"].values.reshape(-1, 2) @ features.T)
    else:
        sigma = posterior["sigma"].values.reshape(-1, 1) * np.ones(len(x))
    mean = w @ features.T
    draws = mean + sigma * np.random.default_rng(0).standard_normal(mean.shape)
    low, high = np.quantile(draws, [0.05, 0.95], axis=0)
    return {"mean": mean.mean(axis=0), "low": low, "high": high}


def heteroscedastic(setting, rng, cache):
    """sigma(x) vs one sigma by NUTS and PSIS-LOO, on heteroscedastic and on homoscedastic data."""
    n = setting["n_het"]
    x = np.sort(rng.uniform(-1, 1, size=n))
    true_v = np.array([-1.5, 1.2])
    data = {"heteroscedastic": 0.5 - x + np.exp(true_v[0] + true_v[1] * x) * rng.normal(size=n),
            "homoscedastic": 0.5 - x + 0.3 * rng.normal(size=n)}
    results = {}
    for kind, t in data.items():
        idatas, models = {}, {}
        for label, likelihood in (("sigma(x)", likelihoods.Gaussian(sigma_basis=LinearBasis())),
                                  ("one sigma", likelihoods.Gaussian())):
            models[label] = regression(x, t, likelihood=likelihood)
            idatas[label] = _sample(cache, f"{NAME}-{kind}-{label.replace(' ', '_').replace('(', '').replace(')', '')}",
                                    models[label], _digest(x, t) + label, setting, int(rng.integers(2**31)))
        compared = az.compare({label: az.loo(idata) for label, idata in idatas.items()})  # rank 0 first
        results[kind] = {"x": x, "t": t, "idata": idatas, "compare": compared,
                         "map": {label: fit_map(model) for label, model in models.items()},
                         "bands": {label: _predictive_band(idata, x, label) for label, idata in idatas.items()}}
    results["true_v"] = true_v
    return results


def loo_gap(compared):
    """How far ``az.compare``'s best model is ahead of the second: ``elpd_diff = elpd(best) - elpd(other) >= 0``.

    Computed from the ``elpd`` column, not from ``elpd_diff``, whose sign convention differs between ArviZ 0.x
    (``elpd_best - elpd_model``) and 1.x (``elpd_model - elpd_reference``); ``dse`` is the se of that difference.
    """
    best, other = compared.index[0], compared.index[1]
    return {"best": str(best), "other": str(other),
            "elpd_diff": float(compared.loc[best, "elpd"] - compared.loc[other, "elpd"]),
            "dse": float(compared.loc[other, "dse"])}


def loo_verdict(kind, gap):
    """The LOO check of ``kind`` ("heteroscedastic" or "homoscedastic") on ``gap`` (:func:`loo_gap`), in words.

    On heteroscedastic data LOO must prefer sigma(x) by more than 2 dse; on homoscedastic data it must not prefer
    it (one sigma ranks first, or sigma(x) by less than one dse).

    Returns
    -------
    tuple (bool, str)
        Whether the check holds, and what it found.
    """
    best, diff, dse = gap["best"], gap["elpd_diff"], gap["dse"]
    if kind == "heteroscedastic":
        ok = best == "sigma(x)" and diff > 2 * dse
        if ok:
            return ok, "LOO prefers sigma(x): it ranks first by more than 2 dse"
        if best == "sigma(x)":
            return ok, "LOO does not clearly prefer sigma(x): it ranks first by at most 2 dse"
        return ok, "LOO does not prefer sigma(x): one sigma ranks first"
    ok = best == "one sigma" or diff < dse
    if best == "one sigma":
        return ok, "LOO does not prefer sigma(x): one sigma ranks first"
    if ok:
        return ok, "LOO does not prefer sigma(x): it ranks first by less than one dse"
    return ok, "LOO prefers sigma(x): it ranks first by at least one dse"


def classification(setting, rng, cache):
    """Logistic regression on 2-D inputs: MAP, NUTS posterior and the posterior mean P(t = 1) on a grid."""
    n = 80
    x = rng.normal(size=(n, 2))
    t = (rng.uniform(size=n) < special.expit(_features(x) @ np.array([0.5, 2.0, -1.5]))).astype(float)
    model = regression(x, t, likelihood=likelihoods.Bernoulli(), prior=priors.Normal(5.0))
    idata = _sample(cache, f"{NAME}-logistic", model, _digest(x, t), setting, int(rng.integers(2**31)))
    grid = np.linspace(-3, 3, 50)
    xx, yy = np.meshgrid(grid, grid)
    inputs = np.column_stack([np.ones(xx.size), xx.ravel(), yy.ravel()])
    w_draws = idata.posterior["w"].values.reshape(-1, 3)
    p_mean = special.expit(inputs @ w_draws[:: max(1, len(w_draws) // 400)].T).mean(axis=1).reshape(xx.shape)
    return {"x": x, "t": t, "map": fit_map(model), "idata": idata, "grid": grid, "p_mean": p_mean}


def network(setting, rng, cache, progressbar=False):
    """A ReLU MLP on data with a gap: its MAP (weight decay) and its posterior predictive by ADVI and NUTS.

    The longest sampling run of the analyses: ``progressbar`` shows PyMC's progress bars."""
    x = np.concatenate([rng.uniform(-1.0, -0.2, size=20), rng.uniform(0.4, 0.8, size=10)])
    t = np.sin(2.5 * x) + 0.1 * rng.normal(size=len(x))
    model = mlp_regression(x, t, hidden=setting["mlp_hidden"], activation="relu", sigma=0.1,
                           prior=priors.Normal(1.5))
    start = mlp_initial_point(model, rng)
    with warnings.catch_warnings():
        # ReLU units make the log density non-smooth: L-BFGS stops at a kink and fit_map says so. Expected here: this
        # MAP is the curve drawn and ADVI's start, not a stationary point that anything relies on.
        warnings.filterwarnings("ignore", message="fit_map: the optimizer stopped away from a stationary point",
                                category=RuntimeWarning)
        map_point = fit_map(model, start=start)
    seeds = rng.integers(2**31, size=2)
    data = _digest(x, t) + repr(setting["mlp_hidden"]) + "relu"
    nuts = _cached(cache, f"{NAME}-mlp-nuts", {"data": data, "draws": setting["mlp_draws"],
                                                "tune": setting["mlp_tune"], "seed": int(seeds[0])},
                   lambda: sample_posterior(model, draws=setting["mlp_draws"], tune=setting["mlp_tune"], chains=2,
                                            random_seed=int(seeds[0]), cores=1, progressbar=progressbar,
                                            nuts_sampler="nutpie"))
    advi = _cached(cache, f"{NAME}-mlp-advi", {"data": data, "n": setting["advi_n"], "seed": int(seeds[1])},
                   lambda: fit_advi(model, n=setting["advi_n"], random_seed=int(seeds[1]), progressbar=progressbar,
                                    start={k: map_point[k] for k in model.design.parameter_names}))
    x_grid = np.linspace(-1.6, 1.6, 161)
    bands = {label: mlp_predictive(model, idata, x_grid, random_seed=int(seeds[1])).predictions["mu"].values
             .reshape(-1, len(x_grid)) for label, idata in (("ADVI", advi), ("NUTS", nuts))}
    spec = model.design
    return {"x": x, "t": t, "x_grid": x_grid, "map_curve": mlp_forward(map_point, x_grid, activation=spec.activation,
                                                                        standardization=spec.standardization),
            "bands": bands, "nuts": nuts}


def _width(mu, mask):
    low, high = np.quantile(mu, [0.05, 0.95], axis=0)
    return float(np.mean((high - low)[mask]))


def compute(config, rng, cache=None, progressbar=False):
    """The loss table (each MAP against its classical estimator), the robust fits, NUTS and PSIS-LOO on sigma(x)
    against one sigma, the logistic regression's posterior and the network's MAP and posterior bands."""
    rows = equivalences(config["n"], rng)
    rows.append(mlp_equivalence())
    robust = robust_fits(rng)
    hetero = heteroscedastic(config, rng, cache)
    logistic = classification(config, rng, cache)
    net = network(config, rng, cache, progressbar=progressbar)

    gates = [{"run": f"{kind}: {label}", **convergence(idata)} for kind in KINDS
             for label, idata in hetero[kind]["idata"].items()]
    gates.append({"run": "logistic regression", **convergence(logistic["idata"])})
    mlp_gate = convergence(net["nuts"])
    x_grid = net["x_grid"]
    inside = np.min(np.abs(x_grid[:, None] - net["x"][None, :]), axis=1) < 0.05  # at the data, not in its gap
    outside = np.abs(x_grid) >= 1.3
    summary = {
        "max_abs_diff_map_vs_estimator": {r["likelihood"]: r["max_abs_diff"] for r in rows},
        "largest_difference": max(r["max_abs_diff"] for r in rows),
        "robust_slopes": {label: float(w[1]) for label, w in robust["fits"].items()},
        "loo": {kind: loo_gap(hetero[kind]["compare"]) for kind in KINDS},
        "sigma_x_map_v": hetero["heteroscedastic"]["map"]["sigma(x)"]["v"],
        "true_v": hetero["true_v"],
        "logistic_map_w": logistic["map"]["w"],
        "logistic_posterior_mean_w": logistic["idata"].posterior["w"].mean(("chain", "draw")).values,
        "mlp_band_width_inside_data": {label: _width(mu, inside) for label, mu in net["bands"].items()},
        "mlp_band_width_far_from_data": {label: _width(mu, outside) for label, mu in net["bands"].items()},
        "mlp_nuts_max_r_hat_reported_not_gated": mlp_gate["max_r_hat"],
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
    }
    return {"summary": summary, "convergence": gates, "rows": rows, "robust": robust, "hetero": hetero,
            "logistic": logistic, "net": net}


def _outlier_offsets(summary):
    """|slope - slope without the outliers| of the Gaussian, Laplace and Student-t fits."""
    slope = summary["robust_slopes"]
    clean = slope["least squares without the outliers"]
    return tuple(abs(slope[label] - clean) for label in ("Gaussian (MSE)", "Laplace (MAE)", "Student-t, nu = 2"))


def checks(result):
    """Every MAP equals its estimator; robust losses resist outliers; LOO picks sigma(x) only when the noise varies;
    the network's posterior band widens away from the data. From ``result["summary"]`` only."""
    s = result["summary"]
    n_rows = len(s["max_abs_diff_map_vs_estimator"])
    gaussian_off, laplace_off, student_off = _outlier_offsets(s)
    het, homo = s["loo"]["heteroscedastic"], s["loo"]["homoscedastic"]
    inside, far = s["mlp_band_width_inside_data"]["NUTS"], s["mlp_band_width_far_from_data"]["NUTS"]
    return [
        check("every MAP (flat prior) equals the classical estimator of its loss",
              f"largest |MAP - estimator| over the {n_rows} rows = {s['largest_difference']:.1e} "
              "(tolerance 1e-6)", s["largest_difference"] < 1e-6),
        check("the Laplace (MAE) and Student-t losses resist outliers, the MSE does not",
              f"|slope - slope without the outliers|: Gaussian {gaussian_off:.3f}, Laplace {laplace_off:.3f}, "
              f"Student-t {student_off:.3f} (the Gaussian's must exceed 3 x each other)",
              gaussian_off > 3 * laplace_off and gaussian_off > 3 * student_off),
        check("PSIS-LOO prefers sigma(x) on heteroscedastic data",
              f"best: {het['best']}, elpd difference {het['elpd_diff']:.1f} +- {het['dse']:.1f} (must exceed 2 dse)",
              loo_verdict("heteroscedastic", het)[0]),
        check("PSIS-LOO does not prefer sigma(x) on homoscedastic data",
              f"best: {homo['best']}, elpd difference {homo['elpd_diff']:.1f} +- {homo['dse']:.1f} (one sigma best, "
              "or sigma(x) by less than one dse)", loo_verdict("homoscedastic", homo)[0]),
        check("the network's posterior band (NUTS) widens away from the data, which its MAP curve cannot show",
              f"90% band width {far:.2f} far from the data against {inside:.2f} inside (must exceed 3x)",
              far > 3 * inside),
    ]


def plot_robust(robust, offsets):
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    x, t = robust["x"], robust["t"]
    mask = np.zeros(len(x), dtype=bool)
    mask[robust["outliers"]] = True
    axis.scatter(x[~mask], t[~mask], s=16, color="k", label="data")
    axis.scatter(x[mask], t[mask], s=40, facecolor="none", edgecolor="crimson", label="outliers")
    styles = {"Gaussian (MSE)": ("tab:red", "-"), "Laplace (MAE)": ("tab:green", "-"),
              "Student-t, nu = 2": ("tab:blue", "-"), "least squares without the outliers": ("gray", ":")}
    for label, w in robust["fits"].items():
        color, style = styles[label]
        axis.plot(x, _features(x) @ w, color=color, ls=style, lw=2, label=f"{label}: slope {w[1]:.2f}")
    axis.set_xlabel("x")
    axis.set_ylabel("t")
    axis.set_title("Three likelihoods, three losses: the MAP line through data with outliers\n"
                   "|slope - slope without the outliers|: Gaussian {:.2f}, Laplace {:.2f}, Student-t {:.2f}"
                   .format(*offsets), fontsize=10)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_heteroscedastic(hetero, loo):
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, kind in zip(axes, KINDS):
        result = hetero[kind]
        axis.scatter(result["x"], result["t"], s=8, color="k", alpha=0.6)
        for label, color in (("sigma(x)", "tab:blue"), ("one sigma", "tab:orange")):
            band = result["bands"][label]
            axis.fill_between(result["x"], band["low"], band["high"], color=color, alpha=0.25,
                              label=f"{label}: 90% predictive band")
            axis.plot(result["x"], band["mean"], color=color, lw=1)
        gap = loo[kind]
        axis.set_title(f"{kind} data. {loo_verdict(kind, gap)[1]}\nelpd({gap['best']}) - elpd({gap['other']}) = "
                       f"{gap['elpd_diff']:.1f} +- {gap['dse']:.1f}", fontsize=9)
        axis.set_xlabel("x")
        axis.legend(fontsize=8, loc="upper right")
    axes[0].set_ylabel("t")
    figure.tight_layout()
    return figure


def plot_classification(logistic):
    figure, axis = plt.subplots(figsize=(5.6, 5.0))
    x, t, grid = logistic["x"], logistic["t"], logistic["grid"]
    axis.scatter(*x[t == 1].T, s=18, marker="o", color="tab:blue", label="t = 1")
    axis.scatter(*x[t == 0].T, s=18, marker="s", color="tab:red", label="t = 0")
    w_draws = logistic["idata"].posterior["w"].values.reshape(-1, 3)
    for w in w_draws[np.linspace(0, len(w_draws) - 1, 60).astype(int)]:
        axis.plot(grid, -(w[0] + w[1] * grid) / w[2], color="gray", alpha=0.15, lw=1)
    w = logistic["map"]["w"]
    axis.plot(grid, -(w[0] + w[1] * grid) / w[2], color="k", lw=2, label="MAP boundary (= logistic regression)")
    contour = axis.contour(*np.meshgrid(grid, grid), logistic["p_mean"], levels=[0.1, 0.5, 0.9], colors="tab:purple",
                           linewidths=1)
    axis.clabel(contour, fmt="%.1f", fontsize=7)
    axis.plot([], [], color="gray", alpha=0.5, label="boundaries of posterior draws")
    axis.plot([], [], color="tab:purple", label="posterior mean P(t = 1)")
    axis.set_xlim(-3, 3)
    axis.set_ylim(-3, 3)
    axis.set_xlabel("x0")
    axis.set_ylabel("x1")
    axis.legend(fontsize=7, loc="lower left")
    axis.set_title("Cross-entropy's twin: the MAP boundary and the posterior's", fontsize=10)
    figure.tight_layout()
    return figure


def plot_network(net, inside, far):
    figure, axis = plt.subplots(figsize=(7, 4.2))
    x_grid = net["x_grid"]
    for label, color in (("NUTS", "tab:blue"), ("ADVI", "tab:green")):
        low, high = np.quantile(net["bands"][label], [0.05, 0.95], axis=0)
        axis.fill_between(x_grid, low, high, color=color, alpha=0.25, label=f"{label}: 90% band of y(x | w)")
    axis.plot(x_grid, net["map_curve"], color="tab:red", lw=2, label="MAP (MSE + weight decay)")
    axis.plot(x_grid, np.sin(2.5 * x_grid), color="gray", ls=":", label="sin(2.5 x)")
    axis.scatter(net["x"], net["t"], s=14, color="k", zorder=3, label="data")
    axis.set_ylim(-3, 3)
    axis.set_xlabel("x")
    axis.set_ylabel("t")
    axis.legend(fontsize=8, loc="lower right")
    axis.set_title("A neural network's MAP is one curve; its posterior band (NUTS)\n"
                   f"is {far / inside:.1f}x as wide far from the data (|x| >= 1.3) as at it", fontsize=10)
    figure.tight_layout()
    return figure


def figures(result):
    """The robust fits, the LOO comparison, the logistic posterior and the network's bands; titles and captions
    state what the checks measured."""
    s = result["summary"]
    loo = s["loo"]
    offsets = _outlier_offsets(s)
    inside, far = s["mlp_band_width_inside_data"], s["mlp_band_width_far_from_data"]
    het, homo = (loo_verdict(kind, loo[kind])[1] for kind in KINDS)
    return {
        "robust": (plot_robust(result["robust"], offsets),
                   "Gaussian, Laplace and Student-t MAP lines through data with outliers; their slopes are "
                   "{:.2f}, {:.2f} and {:.2f} off the least-squares slope without the outliers.".format(*offsets)),
        "heteroscedastic": (plot_heteroscedastic(result["hetero"], loo),
                            "90% posterior predictive bands (NUTS) of a sigma(x) model and a one-sigma model, on "
                            f"heteroscedastic data ({het}) and on homoscedastic data ({homo})."),
        "classification": (plot_classification(result["logistic"]), "Logistic regression (Normal(0, 5^2) prior): MAP "
                           "decision boundary, boundaries of 60 posterior draws and posterior mean probabilities."),
        "network": (plot_network(result["net"], inside["NUTS"], far["NUTS"]),
                    "A ReLU MLP with weight decay: MAP curve and 90% posterior bands of y(x | w) by NUTS and ADVI; the "
                    f"data have a gap at [-0.2, 0.4]. Mean band width far from the data (|x| >= 1.3) against at it: "
                    f"NUTS {far['NUTS']:.2f} and {inside['NUTS']:.2f}, ADVI {far['ADVI']:.2f} and "
                    f"{inside['ADVI']:.2f}."),
    }


def tables(result):
    """The loss table (MAP against the classical estimator, row by row) and the PSIS-LOO comparison."""
    rows = [[r["likelihood"], r["loss"], r["link"], r["estimator"], r["max_abs_diff"],
             "ok" if r["max_abs_diff"] <= 1e-6 * max(1.0, r["max_abs_value"]) else "DIFFERS"] for r in result["rows"]]
    loo = result["summary"]["loo"]
    return [table("MAP (flat prior) against the classical estimator of the loss, computed in this run",
                  ["likelihood", "loss", "link", "classical estimator", "max |MAP - estimator|", "verdict"], rows),
            table("PSIS-LOO (az.compare): sigma(x) against one sigma",
                  ["data", "preferred", "elpd difference", "dse"],
                  [[kind, v["best"], v["elpd_diff"], v["dse"]] for kind, v in loo.items()])]


def text(result):
    """The paragraph: the table's largest difference, the robust slopes, the LOO verdicts and the network's bands."""
    s = result["summary"]
    slope, loo = s["robust_slopes"], s["loo"]
    het, homo = loo["heteroscedastic"], loo["homoscedastic"]
    inside, far = s["mlp_band_width_inside_data"], s["mlp_band_width_far_from_data"]
    return (
        "Each likelihood's negative log is its loss times a positive constant plus a shift that does not depend on "
        "w, so the MAP under a flat prior is the estimator that minimizes that loss. The table fits both, at run "
        f"time, on simulated data: the largest difference over all rows is {s['largest_difference']:.1e} "
        "(the Categorical row compares predicted probabilities: scikit-learn's K coefficient columns are not "
        "identified, the model fixes class 0's logit at 0). "
        f"With three outliers the Gaussian (MSE) slope is {slope['Gaussian (MSE)']:.2f}, the Laplace (MAE) slope "
        f"{slope['Laplace (MAE)']:.2f} and the Student-t slope {slope['Student-t, nu = 2']:.2f}, against "
        f"{slope['least squares without the outliers']:.2f} without them. "
        f"On heteroscedastic data {loo_verdict('heteroscedastic', het)[1]} (elpd difference {het['elpd_diff']:.1f} "
        f"+- {het['dse']:.1f}); on homoscedastic data {loo_verdict('homoscedastic', homo)[1]} (difference "
        f"{homo['elpd_diff']:.1f} +- {homo['dse']:.1f}). "
        "The logistic regression's posterior boundaries fan out where there are few points. The MLP's MAP is a "
        "single curve; under a Normal prior on its weights the 90% band of y(x | w) is "
        f"{inside['NUTS']:.2f} wide inside the data and {far['NUTS']:.2f} far from it (NUTS). Mean-field ADVI "
        f"({s['settings']['advi_n']} iterations from the MAP and its curvature) gives {inside['ADVI']:.2f} and "
        f"{far['ADVI']:.2f}: "
        "it widens too, but its independent Gaussians cannot follow the correlations between a network's weights, "
        "so its band is not the posterior's. The network's NUTS chains are "
        f"not gated: its posterior is multimodal (max R-hat {s['mlp_nuts_max_r_hat_reported_not_gated']:.2f})."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
