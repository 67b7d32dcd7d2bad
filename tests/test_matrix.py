r"""The MAP matrix: every likelihood x every prior on w x every prior on the likelihood's scale.

For each cell ``fit_map(model)`` is compared with a reference computed here, independently of the library and never
through PyMC: scikit-learn's classical estimator with the exact constants where one exists, otherwise
scipy.optimize on the same objective written below in NumPy. The MAP is the mode in the model's own variables
(``sigma`` itself, not ``log sigma``: no log-Jacobian), so every reference maximizes

    log p(t | w, s) + log p(w) + log p(s).

Priors on w as penalties (-log p(w), up to a constant):
    Flat 0;  Normal(s0) w^2 / (2 s0^2);  Laplace(b0) |w| / b0;  ElasticNet(l1, l2) |w| / l1 + w^2 / (2 l2^2).
Priors on a scale s as log p(s): HalfFlat 0; Jeffreys -log s; HalfNormal(h) -s^2 / (2 h^2);
HalfCauchy(c) -log(1 + s^2 / c^2).

The scikit-learn twins and their constants (N rows, design Phi = [1, x0, x1], fit_intercept=False so every
coefficient, the intercept included, is penalized as the prior penalizes every weight):

* Gaussian(sigma). MAP objective |r|^2 / (2 sigma^2) + penalty. Ridge minimizes |r|^2 + alpha |w|^2: multiply
  by 2 sigma^2 -> Ridge(alpha = sigma^2 / s0^2). Lasso and ElasticNet minimize |r|^2 / (2N) + alpha rho |w|_1
  + alpha (1 - rho) |w|^2 / 2: multiply by sigma^2 / N -> Lasso(alpha = sigma^2 / (N b0)), and ElasticNet with
  alpha rho = sigma^2 / (N l1), alpha (1 - rho) = sigma^2 / (N l2^2), i.e. alpha = sigma^2 / N (1/l1 + 1/l2^2),
  rho = (1/l1) / (1/l1 + 1/l2^2).
* Laplace(b) (the MAE). MAP objective sum|r| / b + penalty. QuantileRegressor minimizes (1/N) sum pinball_q(r)
  + alpha |w|_1 and pinball_0.5(r) = |r| / 2: multiply by b / (2N) -> QuantileRegressor(0.5, alpha=0) (Flat),
  alpha = b / (2 N b0) (Laplace). Normal / ElasticNet priors: no twin (a quadratic on top of the LP).
* Bernoulli. LogisticRegression minimizes C sum logloss + l1_ratio |w|_1 + (1 - l1_ratio) |w|^2 / 2 (sklearn's own
  note in _logistic.py). Multiply the MAP objective by C: Flat C = inf; Normal l1_ratio = 0, C = s0^2; Laplace
  l1_ratio = 1, C = b0; ElasticNet C / l1 = l1_ratio, C / l2^2 = 1 - l1_ratio, so C = 1 / (1/l1 + 1/l2^2),
  l1_ratio = C / l1.
* Categorical. sklearn's multinomial model keeps K columns and penalizes all of them: only Flat (C = inf) is the
  same model; its columns minus class 0's are the model's w.
* Poisson. PoissonRegressor minimizes (1/(2N)) sum deviance + alpha |w|^2 / 2, and deviance / 2 = NLL + const:
  divide the MAP objective by N -> alpha = 0 (Flat), alpha = 1 / (N s0^2) (Normal).
* Gamma(shape k), mean mu = exp(y). NLL = k sum(log mu + t / mu) + const = (k / 2) sum deviance + const, with the
  gamma deviance 2 (log(mu / t) + t / mu - 1): divide by k N -> GammaRegressor(alpha = 0) for any k (Flat),
  alpha = 1 / (k N s0^2) (Normal).
* No twin: StudentT; L1 priors on Poisson / Gamma / Categorical / StudentT; Normal and ElasticNet priors on
  Categorical and on the Laplace (MAE) likelihood; the heteroscedastic Gaussian. There the reference is
  scipy.optimize on the NumPy objective below: L-BFGS-B (the L1 part split as w = u - v, u, v >= 0, exact zeros on
  the bounds), or SLSQP for the MAE with a quadratic penalty (a QP with N equality constraints).

A learned scale s: the MAP (w*, s*) is the fixed point s* = mode(w(s*)), with w(s) the fixed-scale reference above
and mode(w) the maximizer of the 1-D objective in s at fixed w, the root of its derivative (``scale_score``, written
out). The reference solves s = mode(w(s)) by brentq, independently of the library, and the test also checks the
library's own point against both conditions (``fixed_point_at``).
"""

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import optimize, special
from sklearn import linear_model as sk
from threadpoolctl import threadpool_limits

import models
from models import LinearBasis, fit_map, likelihoods, priors, regression

SEED = sum(map(ord, "matrix"))
N = 50
SIGMA, LAPLACE_B, NU, SHAPE = 0.3, 0.3, 4.0, 2.0  # the fixed scales, and the noise of the data
NORMAL_S, ELASTIC_L2 = 1.0, 1.0  # Normal(NORMAL_S); ElasticNet(l1_scale=L1_SCALE[...], l2_scale=ELASTIC_L2)
# Laplace(b0) and ElasticNet's l1_scale, per data set: strong enough for an exact zero in each L1 cell, weak enough to
# leave the other weights nonzero (the likelihoods' curvatures differ by orders of magnitude, so one b0 cannot)
L1_SCALE = {"Gaussian": 0.1, "Gaussian(sigma_basis)": 0.02, "Laplace": 0.05, "StudentT": 0.1, "Bernoulli": 0.3,
            "Categorical": 0.3, "Poisson": 0.05, "Gamma": 0.05}
HALF_NORMAL, HALF_CAUCHY = 1.0, 1.0  # the priors on a learned scale
SCALE_PRIOR_PARAMETERS = {"HalfFlat": {}, "Jeffreys": {}, "HalfNormal": {"scale": HALF_NORMAL},
                          "HalfCauchy": {"scale": HALF_CAUCHY}}

W_PRIORS = ("Flat", "Normal", "Laplace", "ElasticNet")
SCALE_PRIORS = ("HalfFlat", "Jeffreys", "HalfNormal", "HalfCauchy")
SCALE_NAME = {"Gaussian": "sigma", "Laplace": "scale", "StudentT": "sigma", "Gamma": "shape"}
FIXED_SCALE = {"Gaussian": SIGMA, "Laplace": LAPLACE_B, "StudentT": SIGMA, "Gamma": SHAPE}


# ---------------------------------------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    family: str  # Gaussian, Laplace, StudentT, Bernoulli, Categorical, Poisson, Gamma
    scale: str | None  # "fixed", "learned", "sigma_basis" (Gaussian only), None (no scale)
    w_prior: str
    scale_prior: str | None = None

    def __str__(self):
        name = self.family if self.scale is None else f"{self.family}({self.scale})"
        return "-".join(part for part in (name, self.w_prior, self.scale_prior) if part)

    @property
    def data_name(self):
        return "Gaussian(sigma_basis)" if self.scale == "sigma_basis" else self.family


def _cells():
    cells = []
    for family in ("Gaussian", "Laplace", "StudentT", "Gamma"):
        cells += [Cell(family, "fixed", w) for w in W_PRIORS]
        cells += [Cell(family, "learned", w, s) for w, s in itertools.product(W_PRIORS, SCALE_PRIORS)]
    for family in ("Bernoulli", "Categorical", "Poisson"):
        cells += [Cell(family, None, w) for w in W_PRIORS]
    cells += [Cell("Gaussian", "sigma_basis", w) for w in W_PRIORS]
    return cells


CELLS = _cells()


def library_model(cell, x, t):
    """The cell's model, built by the library (the constructors are called here, not at collection, so that a
    name the library does not have yet fails its own cells only)."""
    if cell.scale == "sigma_basis":
        likelihood = likelihoods.Gaussian(sigma_basis=LinearBasis())
    elif cell.scale is None:
        likelihood = likelihoods.Categorical(n_classes=3) if cell.family == "Categorical" else getattr(
            likelihoods, cell.family)()
    else:  # Gaussian(sigma= | sigma_prior=), Laplace(scale= | scale_prior=), StudentT(nu, ...), Gamma(shape= | ...)
        name = SCALE_NAME[cell.family]
        scale = ({name: FIXED_SCALE[cell.family]} if cell.scale == "fixed" else
                 {f"{name}_prior": getattr(priors, cell.scale_prior)(**SCALE_PRIOR_PARAMETERS[cell.scale_prior])})
        likelihood = getattr(likelihoods, cell.family)(**({"nu": NU} if cell.family == "StudentT" else {}), **scale)
    prior = getattr(priors, cell.w_prior)(**prior_parameters(cell))
    return regression(x, t, likelihood=likelihood, prior=prior, basis=LinearBasis())


# ----------------------------------------------------------------------------------------------------------- data


def features(x):
    """LinearBasis()'s features, written out: w = [intercept, x0, x1]."""
    return np.column_stack([np.ones(len(x)), x])


@functools.cache
def datasets():
    """One small data set per likelihood, all from one generator in a fixed order (so a cell's data do not depend on
    which cells run). Chosen so that every MAP exists: classes overlap (not separable), counts are not all zero,
    Gamma targets are positive, and the noise is moderate (the Student-t objective is unimodal there)."""
    rng = np.random.default_rng(SEED)
    data = {}

    def inputs():
        x = rng.normal(size=(N, 2))
        return x, features(x)

    x, phi = inputs()
    data["Gaussian"] = x, phi @ [0.5, 1.0, 0.05] + SIGMA * rng.normal(size=N)
    x, phi = inputs()
    data["Gaussian(sigma_basis)"] = x, phi @ [0.5, 1.0, 0.0] + np.exp(phi @ [-1.2, 0.5, 0.0]) * rng.normal(size=N)
    x, phi = inputs()
    data["Laplace"] = x, phi @ [0.5, 1.0, 0.05] + rng.laplace(scale=LAPLACE_B, size=N)
    x, phi = inputs()
    data["StudentT"] = x, phi @ [0.5, 1.0, 0.05] + SIGMA * rng.standard_t(NU, size=N)
    x, phi = inputs()
    data["Bernoulli"] = x, (rng.uniform(size=N) < special.expit(phi @ [0.3, 1.2, 0.1])).astype(float)
    x, phi = inputs()
    logits = np.column_stack([np.zeros(N), phi @ [0.2, 1.0, 0.0], phi @ [-0.3, -0.5, 0.8]])
    probabilities = special.softmax(logits, axis=1)
    data["Categorical"] = x, np.array([rng.choice(3, p=row) for row in probabilities], dtype=float)
    x, phi = inputs()
    data["Poisson"] = x, rng.poisson(np.exp(phi @ [0.5, 0.4, 0.05])).astype(float)
    x, phi = inputs()
    mean = np.exp(phi @ [0.5, 0.4, 0.05])
    data["Gamma"] = x, rng.gamma(SHAPE, mean / SHAPE, size=N)
    return data


# ------------------------------------------------------------------------------------------------ the objectives


def prior_parameters(cell):
    """The keyword arguments of the cell's prior on w."""
    b0 = L1_SCALE[cell.data_name]
    return {"Flat": {}, "Normal": {"scale": NORMAL_S}, "Laplace": {"scale": b0},
            "ElasticNet": {"l1_scale": b0, "l2_scale": ELASTIC_L2}}[cell.w_prior]


def prior_weights(cell):
    """(l1, l2): the penalty -log p(w) = l1 |w|_1 + l2 |w|^2 / 2, up to a constant."""
    parameters = prior_parameters(cell)
    if cell.w_prior == "Flat":
        return 0.0, 0.0
    if cell.w_prior == "Normal":
        return 0.0, 1 / parameters["scale"] ** 2
    if cell.w_prior == "Laplace":
        return 1 / parameters["scale"], 0.0
    return 1 / parameters["l1_scale"], 1 / parameters["l2_scale"] ** 2


def negative_log_likelihood(family, y, t, s):
    """-log p(t | y, s) up to a constant in y, and its derivative in the linear predictor y ((N,), or (N, K - 1))."""
    if family == "Gaussian":
        r = t - y
        return r @ r / (2 * s**2), -r / s**2
    if family == "StudentT":  # (nu + 1) / 2 sum log(1 + r^2 / (nu s^2))
        r = t - y
        return (NU + 1) / 2 * np.sum(np.log1p(r**2 / (NU * s**2))), -(NU + 1) * r / (NU * s**2 + r**2)
    if family == "Bernoulli":  # sum log(1 + e^y) - t y
        return np.sum(np.logaddexp(0.0, y) - t * y), special.expit(y) - t
    if family == "Categorical":  # logits [0, y]: sum logsumexp - logit of the observed class
        logits = np.column_stack([np.zeros(len(y)), y])
        labels = t.astype(int)
        value = np.sum(special.logsumexp(logits, axis=1) - logits[np.arange(len(t)), labels])
        return value, special.softmax(logits, axis=1)[:, 1:] - np.eye(3)[labels][:, 1:]
    if family == "Poisson":  # sum e^y - t y
        return np.sum(np.exp(y) - t * y), np.exp(y) - t
    if family == "Gamma":  # shape k = s, mean e^y: k sum(y + t e^-y)
        return s * np.sum(y + t * np.exp(-y)), s * (1 - t * np.exp(-y))
    raise KeyError(family)


def scale_score(family, scale_prior, r_or_y, t, s):
    """d/ds [log p(t | w, s) + log p(s)] at fixed w, written out (the residuals r = t - y, or y for Gamma)."""
    n = len(t)
    prior = {"HalfFlat": 0.0, "Jeffreys": -1 / s, "HalfNormal": -s / HALF_NORMAL**2,
             "HalfCauchy": -2 * s / (HALF_CAUCHY**2 + s**2)}[scale_prior]
    if family == "Gaussian":  # -N log s - SSE / (2 s^2)
        return -n / s + r_or_y @ r_or_y / s**3 + prior
    if family == "Laplace":  # -N log s - SAE / s
        return -n / s + np.sum(np.abs(r_or_y)) / s**2 + prior
    if family == "StudentT":  # -N log s - (nu + 1) / 2 sum log(1 + r^2 / (nu s^2))
        r2 = r_or_y**2
        return -n / s + (NU + 1) * np.sum(r2 / (s * (NU * s**2 + r2))) + prior
    if family == "Gamma":  # sum [k log k - k y + (k - 1) log t - k t e^-y - lgamma(k)]
        mean = np.exp(r_or_y)
        return n * (np.log(s) + 1 - special.digamma(s)) + np.sum(np.log(t / mean) - t / mean) + prior
    raise KeyError(family)


def scale_mode(cell, phi, t, w):
    """The mode of the 1-D objective in the scale at fixed w: the root of its derivative. s * score(s) decreases in s
    for each family and prior here (so the root is unique), from > 0 at small s to < 0 at large s."""
    y = phi @ w
    r_or_y = y if cell.family == "Gamma" else t - y

    def h(u):  # in u = log s
        s = np.exp(u)
        return s * scale_score(cell.family, cell.scale_prior, r_or_y, t, s)

    lo, hi = -1.0, 1.0
    while h(lo) <= 0:
        lo -= 1.0
    while h(hi) >= 0:
        hi += 1.0
    return float(np.exp(optimize.brentq(h, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)))


def lbfgs_l1(smooth, x0, l1):
    r"""argmin smooth(x) + sum_j l1_j |x_j| by L-BFGS-B: the entries with l1_j > 0 are split, x = u - v with
    u, v >= 0, which makes the objective smooth and puts exact zeros on the bounds."""
    x0 = np.ravel(x0).astype(float)
    l1 = np.broadcast_to(np.asarray(l1, dtype=float), x0.shape)
    split = l1 > 0
    k, m = int((~split).sum()), int(split.sum())

    def unpack(z):
        x = np.empty_like(x0)
        x[~split] = z[:k]
        x[split] = z[k:k + m] - z[k + m:]
        return x

    def objective(z):
        value, gradient = smooth(unpack(z))
        g, c = gradient[split], l1[split]
        return value + c @ (z[k:k + m] + z[k + m:]), np.concatenate([gradient[~split], g + c, c - g])

    z0 = np.concatenate([x0[~split], np.maximum(x0[split], 0), np.maximum(-x0[split], 0)])
    bounds = [(None, None)] * k + [(0, None)] * 2 * m
    result = optimize.minimize(objective, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 0.0, "gtol": 1e-13, "maxiter": 100_000, "maxcor": 30, "maxls": 100})
    return unpack(result.x)


def scipy_w(cell, phi, t, s):
    """The MAP of w at a fixed scale s, by scipy on the NumPy objective, from least squares for the identity links
    (the Student-t objective is not convex; its MAP here is the mode next to least squares) and from 0 for the
    others (convex)."""
    l1, l2 = prior_weights(cell)
    if cell.family == "Laplace":
        return least_absolute_deviations(phi, t, s, l1, l2)
    shape = (phi.shape[1], 2) if cell.family == "Categorical" else (phi.shape[1],)

    def smooth(flat):
        w = flat.reshape(shape)
        value, dy = negative_log_likelihood(cell.family, phi @ w, t, s)
        return value + l2 * np.sum(w**2) / 2, (phi.T @ dy + l2 * w).ravel()

    start = np.linalg.lstsq(phi, t, rcond=None)[0] if cell.family in ("Gaussian", "StudentT") else np.zeros(shape)
    return lbfgs_l1(smooth, start, l1).reshape(shape)


def least_absolute_deviations(phi, t, b, l1, l2):
    r"""argmin_w sum|t - phi w| / b + l1 |w|_1 + l2 |w|^2 / 2 for l2 > 0 (Normal, ElasticNet priors): a convex QP,
    non-smooth in w. Split r = e+ - e- (and w = w+ - w- for the L1 part), all >= 0, with the N linear equality
    constraints phi w + e+ - e- = t, solved by SLSQP (its subproblems carry these linear constraints exactly),
    on the objective times b (unit cost per residual; the same minimizer)."""
    n, p = phi.shape
    design = np.hstack([phi, -phi]) if l1 > 0 else phi  # columns for [w+, w-], or w free
    q = design.shape[1]
    l1, l2 = l1 * b, l2 * b

    def objective(z):
        w = z[:p] - z[p:q] if l1 > 0 else z[:p]
        gradient = np.concatenate([l1 + l2 * w, l1 - l2 * w] if l1 > 0 else [l2 * w])
        return l1 * np.sum(z[:q]) + l2 * w @ w / 2 + np.sum(z[q:]), np.concatenate([gradient, np.ones(2 * n)])

    a_eq = np.hstack([design, np.eye(n), -np.eye(n)])
    z0 = np.concatenate([np.zeros(q), np.maximum(t, 0), np.maximum(-t, 0)])  # w = 0, feasible
    bounds = [(0, None) if l1 > 0 else (None, None)] * q + [(0, None)] * 2 * n
    result = optimize.minimize(objective, z0, jac=True, method="SLSQP", bounds=bounds,
                               constraints=[{"type": "eq", "fun": lambda z: a_eq @ z - t, "jac": lambda z: a_eq}],
                               options={"ftol": 1e-16, "maxiter": 10_000})
    return result.x[:p] - result.x[p:q] if l1 > 0 else result.x[:p]


# ------------------------------------------------------------------------------------------------- the references


def sklearn_twin(cell, n, s):
    """scikit-learn's estimator with the same objective as the MAP at scale s (constants in the module docstring),
    or None where there is no twin."""
    family, prior = cell.family, cell.w_prior
    if prior != "Flat":
        parameters = prior_parameters(cell)
        s0 = parameters.get("scale")  # Normal's sd, Laplace's b0
        l1, l2 = parameters.get("l1_scale"), parameters.get("l2_scale")  # ElasticNet's
    tight = {"tol": 1e-15, "max_iter": 1_000_000}  # coordinate descent, to rounding
    newton = {"solver": "newton-cholesky", "tol": 1e-12, "max_iter": 1000}
    if family == "Gaussian":
        if prior == "Flat":
            return sk.LinearRegression(fit_intercept=False)
        if prior == "Normal":
            return sk.Ridge(alpha=s**2 / s0**2, fit_intercept=False, solver="svd")
        if prior == "Laplace":
            return sk.Lasso(alpha=s**2 / (n * s0), fit_intercept=False, **tight)
        alpha_l1, alpha_l2 = s**2 / (n * l1), s**2 / (n * l2**2)  # alpha rho, alpha (1 - rho)
        return sk.ElasticNet(alpha=alpha_l1 + alpha_l2, l1_ratio=alpha_l1 / (alpha_l1 + alpha_l2), fit_intercept=False,
                             **tight)
    if family == "Laplace" and prior in ("Flat", "Laplace"):
        alpha = 0.0 if prior == "Flat" else s / (2 * n * s0)
        return sk.QuantileRegressor(quantile=0.5, alpha=alpha, fit_intercept=False, solver="highs")
    if family == "Bernoulli" or (family == "Categorical" and prior == "Flat"):
        if prior == "Flat":
            return sk.LogisticRegression(C=np.inf, fit_intercept=False, **newton)
        if prior == "Normal":
            return sk.LogisticRegression(C=s0**2, l1_ratio=0.0, fit_intercept=False, **newton)
        if prior == "Laplace":
            return sk.LogisticRegression(C=s0, l1_ratio=1.0, solver="liblinear", fit_intercept=False, tol=1e-12,
                                         max_iter=1_000_000)
        c = 1 / (1 / l1 + 1 / l2**2)
        return sk.LogisticRegression(C=c, l1_ratio=c / l1, solver="saga", fit_intercept=False, tol=1e-13,
                                     max_iter=1_000_000)
    if family in ("Poisson", "Gamma") and prior in ("Flat", "Normal"):
        k = 1.0 if family == "Poisson" else s
        alpha = 0.0 if prior == "Flat" else 1 / (k * n * s0**2)
        regressor = sk.PoissonRegressor if family == "Poisson" else sk.GammaRegressor
        return regressor(alpha=alpha, fit_intercept=False, **newton)
    return None


def has_twin(cell):
    return cell.scale != "sigma_basis" and sklearn_twin(cell, N, 1.0) is not None


def w_given_scale(cell, phi, t, s):
    """The reference MAP of w at a fixed scale s: the twin where there is one, else scipy."""
    twin = sklearn_twin(cell, len(t), s)
    if twin is None:
        return scipy_w(cell, phi, t, s)
    classes = cell.family in ("Bernoulli", "Categorical")
    coefficients = twin.fit(phi, t.astype(int) if classes else t).coef_
    if cell.family == "Categorical":  # K columns -> differences from class 0's
        return (coefficients[1:] - coefficients[0]).T
    return np.ravel(coefficients)


def heteroscedastic_map(cell, phi, t):
    r"""log sigma(x) = psi(x) v with psi = phi (LinearBasis), flat prior on v: minimize
    sum[(t - phi w)^2 / (2 sigma^2) + log sigma] + penalty(w), from least squares and a constant log sigma."""
    l1, l2 = prior_weights(cell)
    p = phi.shape[1]

    def smooth(theta):
        w, v = theta[:p], theta[p:]
        r, log_sigma = t - phi @ w, phi @ v
        z2 = (r * np.exp(-log_sigma)) ** 2
        value = np.sum(z2 / 2 + log_sigma) + l2 * w @ w / 2
        return value, np.concatenate([-phi.T @ (r * np.exp(-2 * log_sigma)) + l2 * w, phi.T @ (1 - z2)])

    w0 = np.linalg.lstsq(phi, t, rcond=None)[0]
    start = np.concatenate([w0, [np.log(np.std(t - phi @ w0))], np.zeros(p - 1)])
    theta = lbfgs_l1(smooth, start, np.r_[np.full(p, l1), np.zeros(p)])
    return {"w": theta[:p], "v": theta[p:]}


def reference_map(cell, x, t):
    """The reference MAP of ``cell`` on (x, t), as fit_map names it: {"w": ..., and the learned scale or "v"}.

    One BLAS thread: these are 50-row problems, and with a second process on the machine OpenBLAS's threads made
    SLSQP 30x slower."""
    with threadpool_limits(limits=1):
        return _reference_map(cell, x, t)


def _reference_map(cell, x, t):
    phi = features(x)
    if cell.scale == "sigma_basis":
        return heteroscedastic_map(cell, phi, t)
    if cell.scale != "learned":
        return {"w": w_given_scale(cell, phi, t, FIXED_SCALE.get(cell.family))}
    # learned scale: the fixed point s = mode(w(s)), w(s) the reference at a fixed s. g(s) = mode(w(s)) - s is > 0 as
    # s -> 0 and < 0 as s -> infinity (the mode stays finite); its root by brentq, bracketed around one iteration
    # from s = 1 (a root finder, not the iteration itself: the iteration crawls when w and s are strongly coupled)
    def g(log_s):
        return np.log(scale_mode(cell, phi, t, w_given_scale(cell, phi, t, np.exp(log_s)))) - log_s

    guess = np.log(scale_mode(cell, phi, t, w_given_scale(cell, phi, t, 1.0)))
    lo, hi = guess - 0.25, guess + 0.25
    while g(lo) <= 0:
        lo -= 0.5
    while g(hi) >= 0:
        hi += 0.5
    s = float(np.exp(optimize.brentq(g, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)))
    return {"w": w_given_scale(cell, phi, t, s), SCALE_NAME[cell.family]: s}


def fixed_point_at(cell, x, t, point):
    """For a learned scale, what the MAP must be at its own scale s: w = the fixed-scale reference at s, and s = the
    mode of the 1-D objective at its w (keys "w (at its scale)", "<scale> (at its w)"); empty otherwise. The same
    conditions as the reference's root, checked at the library's point: a failure here and not in the reference
    comparison would point at a second fixed point, one here and there at the library's w- or scale-step."""
    if cell.scale != "learned":
        return {}
    name, phi = SCALE_NAME[cell.family], features(x)
    with threadpool_limits(limits=1):
        return {"w (at its scale)": w_given_scale(cell, phi, t, float(point[name])),
                f"{name} (at its w)": scale_mode(cell, phi, t, np.asarray(point["w"]))}


def tolerance(cell):
    """How close fit_map must be to the reference.

    Twins: a closed form or scikit-learn's solver run to tol 1e-12..1e-15 (normal equations, SVD, coordinate
    descent, Newton-Cholesky, liblinear / saga, the HiGHS vertex); observed agreement with the library is 1e-11 or
    better, so 1e-7 relative leaves a wide margin (and admits a 1-D mode found by Brent's method on function values,
    precise to ~sqrt(eps) ~ 1e-8). scipy references: L-BFGS-B stops when the objective stops decreasing in floating
    point, which leaves the gradient at ~sqrt(eps * |f| * curvature) and w within 1e-9 of the optimum
    (test_scipy_references_agree_with_the_twins measures it where both exist), and SLSQP on the MAE's QP gives
    ~1e-12 at a vertex (p zero residuals) but ~5e-9 when fewer residuals are zero: 1e-6 relative. The absolute part
    is for weights at or near 0: exact zeros of the L1 priors, and small weights known to ~1e-10 absolute only."""
    if has_twin(cell):
        return {"rtol": 1e-7, "atol": 1e-9}
    return {"rtol": 1e-6, "atol": 1e-8}


# ----------------------------------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_map_equals_the_independent_reference(cell):
    x, t = datasets()[cell.data_name]
    point = fit_map(library_model(cell, x, t))
    for name, value in {**reference_map(cell, x, t), **fixed_point_at(cell, x, t, point)}.items():
        np.testing.assert_allclose(point[name.split(" ")[0]], value, **tolerance(cell), err_msg=f"{cell}: {name}")


FIXED_GAUSSIAN = [cell for cell in CELLS if cell.family == "Gaussian" and cell.scale == "fixed"]


@pytest.mark.parametrize("cell", FIXED_GAUSSIAN, ids=str)
def test_fixed_sigma_gaussian_predicts_as_the_twin(cell):
    """Sanity: at new inputs, Phi(x_new) w_MAP is the twin's own prediction."""
    x, t = datasets()["Gaussian"]
    x_new = np.random.default_rng(SEED).normal(size=(7, 2))
    point = fit_map(library_model(cell, x, t))
    twin = sklearn_twin(cell, len(t), SIGMA).fit(features(x), t)
    np.testing.assert_allclose(features(x_new) @ point["w"], twin.predict(features(x_new)), rtol=1e-7, atol=1e-9)


CROSS_CHECKED = [cell for cell in CELLS if has_twin(cell) and cell.scale != "learned" and cell.family != "Laplace"]


@pytest.mark.parametrize("cell", CROSS_CHECKED, ids=str)
def test_scipy_references_agree_with_the_twins(cell):
    """The NumPy objectives and the L-BFGS-B route of the scipy references, checked where scikit-learn has a twin:
    this measures the precision the scipy cells' tolerance relies on (observed 1e-9 or better)."""
    x, t = datasets()[cell.data_name]
    phi, s = features(x), FIXED_SCALE.get(cell.family)
    np.testing.assert_allclose(scipy_w(cell, phi, t, s), w_given_scale(cell, phi, t, s), rtol=1e-7, atol=1e-8)


def test_the_matrix_has_every_cell():
    assert len(CELLS) == len({str(cell) for cell in CELLS}) == 96
    assert "Gaussian(learned)-ElasticNet-HalfCauchy" in {str(cell) for cell in CELLS}


# ------------------------------------------------------------------------------------------- posteriors (slow)


def _slow_cells():
    """One cell per likelihood, the priors rotated: each prior on w meets two likelihoods, each scale prior one of
    the learned-scale likelihoods. The samplers and approximations are generic in the model (they see a log density);
    every cell of the matrix is fitted above, and sampling all 96 would cost ~20 minutes of compilation."""
    families = [("Gaussian", "learned"), ("Laplace", "learned"), ("StudentT", "learned"), ("Gamma", "learned"),
                ("Bernoulli", None), ("Categorical", None), ("Poisson", None), ("Gaussian", "sigma_basis")]
    cells = []
    for i, (family, scale) in enumerate(families):
        scale_prior = SCALE_PRIORS[i] if scale == "learned" else None
        cells.append(Cell(family, scale, W_PRIORS[i % len(W_PRIORS)], scale_prior))
    return cells


SLOW_CELLS = _slow_cells()


@pytest.mark.slow
@pytest.mark.parametrize("cell", SLOW_CELLS, ids=str)
def test_posterior_medians_are_near_the_map(cell):
    """NUTS, ADVI and (smooth posteriors) the Laplace approximation run on every (likelihood, prior on w) pair, predict
    draws in the likelihood's support at new inputs, and each posterior's median of w is near the MAP's w."""
    x, t = datasets()[cell.data_name]
    model = library_model(cell, x, t)
    w_map = fit_map(model)["w"]
    seed = sum(map(ord, str(cell)))
    # PyMC's own NUTS: nutpie 0.16.11 fails to initialize on the MAE likelihood with a learned scale for some seeds
    # ("bad initial gradient: Invalid initial point", then a Rust panic), where PyMC's sampler and PyMC's log density
    # are fine at nutpie's starting points; its compilation is also the slower one here (8 s against 3 s)
    # no pointwise log-likelihoods: they are not checked here, and each costs a compilation
    fits = {"NUTS": models.sample_posterior(model, draws=200, tune=300, chains=2, random_seed=seed,
                                            nuts_sampler="pymc", log_likelihood=False),
            "ADVI": models.fit_advi(model, n=3000, draws=200, random_seed=seed, log_likelihood=False)}
    if cell.family != "Laplace":  # the MAE likelihood has no curvature in w: no Laplace approximation
        fits["Laplace"] = models.fit_laplace(model, draws=200, random_seed=seed, log_likelihood=False)
    x_new = np.random.default_rng(seed).normal(size=(5, 2))
    predictions = models.predict(model, fits["NUTS"], x_new, random_seed=seed)["predictions"]

    t_new = predictions["t"].values
    assert t_new.shape == (2, 200, 5) and np.all(np.isfinite(t_new))
    assert predictions["mu"].values.shape[:3] == (2, 200, 5)
    support = {"Bernoulli": lambda v: np.isin(v, (0, 1)), "Categorical": lambda v: np.isin(v, (0, 1, 2)),
               "Poisson": lambda v: (v >= 0) & (v == np.round(v)), "Gamma": lambda v: v > 0}
    assert np.all(support.get(cell.family, np.isfinite)(t_new))

    for method, idata in fits.items():
        draws = idata.posterior["w"].values.reshape(-1, *w_map.shape)
        median, sd = np.median(draws, axis=0), draws.std(axis=0)
        # N = 50 rows: the MAP and the marginal medians of a smooth posterior differ by O(1/sqrt(N)) sd (the skew
        # of a GLM or Student-t posterior, the effect of a learned scale on w); observed <= 0.5 sd (NUTS, ADVI). An
        # L1 prior's MAP sets small weights to exactly 0 and shrinks the others by the threshold, which the posterior
        # (a density, no point mass at 0) does not: its medians sit off the MAP towards the data, by up to ~1 sd for
        # a strong prior (observed <= 0.7 sd), hence 6 sd there. 0.02 absorbs the Monte Carlo error of the median.
        bound = 6 if cell.w_prior in ("Laplace", "ElasticNet") else 4
        assert np.all(np.abs(median - w_map) <= bound * sd + 0.02), (method, median, sd, w_map)
