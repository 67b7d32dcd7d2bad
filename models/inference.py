r"""Inference around the builders' models: the MAP point and the least-squares reference.

:func:`fit_map` returns the mode of the model's posterior density (in the model's own variables, as
``pm.find_MAP`` reports it: the mode of ``sigma`` itself, not of ``log sigma``). For the Gaussian
models the builders make it solves the stationarity conditions of that density directly, in the
basis' well-conditioned coordinates, which is what makes it exact where a generic optimizer on the
raw design is not:

- flat prior on ``w``: least squares :math:`\hat w = \arg\min_w \lVert t - \Phi w\rVert^2` (PRML eq. 3.15);
- Normal prior: the ridge normal equations :math:`(\Phi^\top\Phi + \sigma^2 \Lambda^{-1}) w = \Phi^\top t + \sigma^2\Lambda^{-1} m`;
- Laplace prior: the lasso, by coordinate descent with exact zeros;
- learned ``sigma``: :math:`\sigma` maximizing :math:`-N\log\sigma - \mathrm{SSE}/(2\sigma^2) + \log p(\sigma)`,
  alternating with the ``w`` step when the two are coupled (any prior on ``w`` but a flat one).

A model the builders did not make (or one edited after building) gets a generic quasi-Newton
optimization of its compiled log density instead.
"""

import warnings

import numpy as np
import pymc as pm
from scipy.linalg import solve_triangular
from scipy.optimize import minimize

from ._checks import as_data, positive_scalar
from .basis import LinearBasis
from .builders import spec_of
from .priors import Flat, Laplace, Normal


def _lstsq(a_matrix, b):
    """Least squares ``argmin |A a - b|`` by Householder QR with exact power-of-two column equilibration
    and two steps of iterative refinement. Accurate to ~eps * cond(A) for the well-conditioned A used here."""
    norms = np.linalg.norm(a_matrix, axis=0)
    norms = 2.0 ** np.round(np.log2(np.where(norms > 0, norms, 1.0)))
    scaled = a_matrix / norms
    q, r = np.linalg.qr(scaled)
    diagonal = np.abs(np.diag(r))
    if diagonal.min() <= diagonal.max() * scaled.shape[1] * np.finfo(float).eps:
        raise ValueError("the design is rank deficient (some features are linear combinations of others)")
    coefficients = solve_triangular(r, q.T @ b)
    for _ in range(2):
        coefficients = coefficients + solve_triangular(r, q.T @ (b - scaled @ coefficients))
    return coefficients / norms


def _model_data(model):
    return model["x"].get_value(), model["t_obs"].get_value()


def least_squares(x, t, *, basis=None):
    r"""The exact least-squares weights :math:`\hat w = \arg\min_w \lVert t - \Phi(x) w \rVert^2` (PRML eq. 3.15).

    Solved in the basis' well-conditioned coordinates and mapped to ``w`` in exact rational arithmetic,
    so ``w`` is right to ~1e-12 relative even where the raw design has condition number 1e15.
    """
    basis = LinearBasis() if basis is None else basis
    x, t, _ = as_data(x, t)
    basis.check_inputs(x)
    conditioned = basis.conditioned(x)
    return conditioned.w_from(_lstsq(conditioned.transform(x, np), t))


def _lasso(features, t, penalty, loc, tol=1e-15, max_sweeps=100_000):
    r"""Coordinate descent for :math:`\tfrac12\lVert t - \Phi w\rVert^2 + \sum_j \lambda_j |w_j - m_j|`.

    Each coordinate step is the exact soft-threshold minimizer, so zeros are exact zeros.
    """
    target = t - features @ loc
    squared_norms = np.sum(features**2, axis=0)
    v = np.zeros(features.shape[1])
    residual = target.copy()
    for _ in range(max_sweeps):
        largest_step = 0.0
        for j in range(len(v)):
            rho = features[:, j] @ residual + squared_norms[j] * v[j]
            new = np.sign(rho) * max(abs(rho) - penalty[j], 0.0) / squared_norms[j]
            if new != v[j]:
                residual -= features[:, j] * (new - v[j])
                largest_step = max(largest_step, abs(new - v[j]))
                v[j] = new
        if largest_step <= tol * max(np.max(np.abs(v)), 1e-300):
            break
    return v + loc


def _w_step(prior, conditioned, z, features, t, sigma):
    """The MAP of ``w`` for a known ``sigma``, and the residual t - y(x|w) computed in the best-conditioned coordinates."""
    if isinstance(prior, Flat):
        a = _lstsq(z, t)
        return conditioned.w_from(a), t - z @ a
    p = z.shape[1]
    scale = np.broadcast_to(prior.scale, (p,))
    loc = np.broadcast_to(prior.loc, (p,))
    if isinstance(prior, Normal):
        # augmented least squares in the conditioned coordinates a (w = T a):
        # |t - Z a|^2 / sigma^2 + |(T a - loc) / scale|^2
        to_w = conditioned.T
        augmented = np.vstack([z / sigma, to_w / scale[:, None]])
        a = _lstsq(augmented, np.concatenate([t / sigma, loc / scale]))
        return conditioned.w_from(a), t - z @ a
    if isinstance(prior, Laplace):
        w = _lasso(features, t, sigma**2 / scale, loc)
        return w, t - features @ w
    raise TypeError(f"no MAP rule for prior {prior!r}")


def fit_map(model, *, start=None):
    r"""The MAP point of ``model``: a dict of numpy values, ``"w"`` (basis coordinates) and ``"sigma"`` when learned.

    For the builders' Gaussian models, see the module docstring; ``w`` agrees with exact least squares
    (flat prior) to >= 9 significant digits even on designs with condition number 1e15. Other models are
    optimized generically (L-BFGS on the compiled log density with its gradient, tight tolerances) from
    ``start`` (a dict of value-variable values, e.g. ``{"w_internal": ...}``; missing ones and the default
    come from ``model.initial_point()``), and every free variable and deterministic is returned.
    """
    if not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pm.Model, got {type(model).__name__}")
    spec = spec_of(model)
    if spec is None:
        return _fit_map_generic(model, start)
    if start is not None:
        raise ValueError("start is for models optimized generically; a builder's Gaussian model has an exact MAP rule")
    x, t = _model_data(model)
    n = len(t)
    conditioned = spec.basis.conditioned(x)
    z = conditioned.transform(x, np)
    features = spec.basis.features(x)
    likelihood, prior = spec.likelihood, spec.prior
    if not likelihood.learns_sigma:
        return {"w": _w_step(prior, conditioned, z, features, t, likelihood.sigma)[0]}

    # learned sigma: start from least squares, then alternate w- and sigma-steps (one round when w's prior is flat)
    w, residual = _w_step(Flat(), conditioned, z, features, t, None)
    sse = float(residual @ residual)
    if n <= z.shape[1] or sse <= (64 * np.finfo(float).eps * np.linalg.norm(t)) ** 2:
        raise ValueError(
            "the data are fitted exactly (SSE = 0): the likelihood grows without bound as sigma -> 0, "
            "so there is no MAP; fix sigma or use fewer features"
        )
    sigma = likelihood.sigma_prior.map_sigma(n, sse)
    if isinstance(prior, Flat):
        return {"w": w, "sigma": np.float64(sigma)}
    for _ in range(10_000):
        w, residual = _w_step(prior, conditioned, z, features, t, sigma)
        new_sigma = likelihood.sigma_prior.map_sigma(n, float(residual @ residual))
        converged = abs(new_sigma - sigma) <= 4 * np.finfo(float).eps * sigma
        sigma = new_sigma
        if converged:
            break
    return {"w": w, "sigma": np.float64(sigma)}


def log_likelihood_at(model, w, sigma=None):
    r"""The model's own :math:`\log p(t \mid x, w, \sigma)`, summed over observations, at basis-coordinate ``w``.

    Evaluated by the PyMC graph of a builder's model. ``w`` of shape (p,) gives a float; shape (K, p)
    gives K values (one compiled function for all). ``sigma`` is required when the model learns it.
    """
    spec = getattr(model, "regression_spec", None)
    if spec is None:
        raise ValueError("log_likelihood_at needs a model made by models.regression / gaussian_regression")
    w = np.asarray(w, dtype=float)
    p = spec.to_w.shape[0]
    if w.shape[-1:] != (p,) or w.ndim > 2:
        raise ValueError(f"w must have shape ({p},) or (K, {p}), got {w.shape}")
    extra = {}
    if spec.likelihood.learns_sigma:
        if sigma is None:
            raise ValueError("this model learns sigma: pass sigma")
        extra["sigma_log__"] = np.log(positive_scalar(sigma, "sigma"))
    elif sigma is not None:
        raise ValueError(f"this model has a fixed sigma = {spec.likelihood.sigma}; do not pass sigma")
    logp = model.compile_logp(vars=model.observed_RVs, sum=True)
    internal = np.linalg.solve(spec.to_w, np.atleast_2d(w).T).T
    values = np.array([float(logp({"w_internal": row, **extra})) for row in internal])
    return values if w.ndim == 2 else float(values[0])


def _fit_map_generic(model, start=None):
    """L-BFGS on the model's joint log density (transformed space), then values back in the model's variables."""
    from pymc.blocking import DictToArrayBijection, RaveledVars

    value_vars = model.value_vars
    initial = model.initial_point()
    if start is not None:
        if not isinstance(start, dict):
            raise TypeError(f"start must be a dict of value-variable values, got {type(start).__name__}")
        unknown = sorted(set(start) - set(initial))
        if unknown:
            raise ValueError(f"start: {unknown} are not value variables of the model; they are {sorted(initial)}")
        for name, value in start.items():
            value = np.asarray(value, dtype=float)
            if value.shape != np.shape(initial[name]):
                raise ValueError(f"start[{name!r}] must have shape {np.shape(initial[name])}, got {value.shape}")
            initial[name] = value
    start = initial
    x0 = DictToArrayBijection.map({v.name: start[v.name] for v in value_vars})
    logp_dlogp = model.logp_dlogp_function(ravel_inputs=True)
    logp_dlogp.set_extra_values({})

    def objective(flat):
        logp, dlogp = logp_dlogp(flat)
        return -float(logp), -np.asarray(dlogp, dtype=float)

    result = minimize(objective, x0.data, jac=True, method="L-BFGS-B", options={"maxiter": 100_000, "ftol": 1e-15, "gtol": 1e-10})
    gradient_norm = float(np.max(np.abs(result.jac))) if result.jac.size else 0.0
    if not result.success and gradient_norm > 1e-6 * (1 + abs(result.fun)):
        warnings.warn(
            f"fit_map: the optimizer stopped away from a stationary point ({result.message}; max |gradient| = "
            f"{gradient_norm:.3g}). Non-smooth densities (a Laplace prior) need the builders' own models.",
            RuntimeWarning,
            stacklevel=3,
        )
    point = DictToArrayBijection.rmap(RaveledVars(result.x, x0.point_map_info), start_point=start)
    values = model.compile_fn(model.unobserved_value_vars, inputs=value_vars, on_unused_input="ignore", point_fn=False)(
        *(point[v.name] for v in value_vars)
    )
    names = [v.name for v in model.unobserved_value_vars]
    return {name: np.asarray(value) for name, value in zip(names, values) if not name.endswith(("_log__", "_interval__"))}
