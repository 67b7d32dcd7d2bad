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

The other likelihoods (:mod:`models.likelihoods`):

- Laplace (the MAE) with a flat or Laplace prior on ``w``: a linear program (HiGHS), then the exact vertex
  (the square system of the residuals and prior terms that are zero there); a learned scale ``b`` maximizes
  :math:`-N\log b - \mathrm{SAE}/b + \log p(b)` (:math:`\hat b = \mathrm{SAE}/N` under ``HalfFlat``);
- StudentT, Bernoulli, Categorical, Poisson, and the Gaussian with :math:`\sigma(x)`: Newton's method with the
  exact Hessian of the compiled log density (trust region, then full Newton steps to machine precision),
  started at least squares for the identity links and at ``w = 0`` for the others.

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
from .likelihoods import Gaussian
from .likelihoods import Laplace as LaplaceLikelihood
from .priors import Flat, HalfFlat, Jeffreys, Laplace, Normal


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


def _gaussian_data(model, spec):
    """(z, t, features, n, extra_sse) for the closed forms of a Gaussian model with one sigma, such that
    ``|t_n - Phi(x_n) w|^2`` summed over the data is ``|t - features @ w|^2 + extra_sse`` = ``|t - z @ a|^2 +
    extra_sse`` (w = T a): the rows themselves (extra 0), or their sufficient statistics (``R``, ``Q^T t``,
    ``Q^T Phi = R T^-1`` and the residual sum of squares, :mod:`models.statistics`), for which every
    least-squares problem below has the same solution."""
    statistics = spec.statistics
    if statistics is None:
        x, t = _model_data(model)
        return spec.conditioned.transform(x, np), t, spec.basis.features(x), len(t), 0.0
    features = np.linalg.solve(spec.conditioned.T.T, statistics.r.T).T  # R T^-1
    return statistics.r, statistics.z, features, statistics.n, statistics.rss


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
        raise ValueError("start is for models optimized generically; a builder's model has its own MAP rule")
    likelihood = spec.likelihood
    if isinstance(likelihood, LaplaceLikelihood) and isinstance(spec.prior, (Flat, Laplace)):
        return _fit_map_least_absolute(model, spec)
    if not isinstance(likelihood, Gaussian) or likelihood.heteroscedastic:
        return _fit_map_newton(model, spec)
    z, t, features, n, extra_sse = _gaussian_data(model, spec)
    conditioned = spec.conditioned
    likelihood, prior = spec.likelihood, spec.prior
    if not likelihood.learns_sigma:
        return {"w": _w_step(prior, conditioned, z, features, t, likelihood.sigma)[0]}

    # learned sigma: start from least squares, then alternate w- and sigma-steps (one round when w's prior is flat)
    w, residual = _w_step(Flat(), conditioned, z, features, t, None)
    sse = float(residual @ residual) + extra_sse
    if n <= z.shape[1] or sse <= (64 * np.finfo(float).eps) ** 2 * (float(t @ t) + extra_sse):
        raise ValueError(
            "the data are fitted exactly (SSE = 0): the likelihood grows without bound as sigma -> 0, "
            "so there is no MAP; fix sigma or use fewer features"
        )
    sigma = likelihood.sigma_prior.map_sigma(n, sse)
    if isinstance(prior, Flat):
        return {"w": w, "sigma": np.float64(sigma)}
    for _ in range(10_000):
        w, residual = _w_step(prior, conditioned, z, features, t, sigma)
        new_sigma = likelihood.sigma_prior.map_sigma(n, float(residual @ residual) + extra_sse)
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
    if not isinstance(spec.likelihood, Gaussian) or spec.likelihood.heteroscedastic:
        raise ValueError(f"log_likelihood_at is for Gaussian models with one sigma, not {spec.likelihood!r}")
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
    """L-BFGS (then Newton steps) on the model's joint log density without the log-Jacobians of the transforms, so
    the mode is in the model's own variables (sigma itself, as ``pm.find_MAP`` reports it); values are returned
    in the model's variables."""
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
    function, _, _ = _newton_functions(model, start)  # without log-Jacobians: the mode in sigma, not log sigma

    def objective(flat):
        value, gradient = function(flat)
        return float(value), np.asarray(gradient, dtype=float)

    result = minimize(objective, x0.data, jac=True, method="L-BFGS-B", options={"maxiter": 100_000, "ftol": 1e-15, "gtol": 1e-10})
    theta, value, gradient = result.x, float(result.fun), np.asarray(result.jac, dtype=float)
    for _ in range(30):  # L-BFGS's line search stalls near 1e-4 on curved valleys: Newton steps finish the job
        if not gradient.size:
            break
        hessian = _hessian(lambda v: objective(v)[1], theta)
        try:
            np.linalg.cholesky(hessian)  # only at a (numerically) strict local minimum
        except np.linalg.LinAlgError:
            break
        step = np.linalg.solve(hessian, gradient)
        new_value, new_gradient = objective(theta - step)
        if not np.isfinite(new_value) or np.max(np.abs(new_gradient)) >= np.max(np.abs(gradient)):
            break
        theta, value, gradient = theta - step, new_value, new_gradient
        if np.max(np.abs(step)) <= 4 * np.finfo(float).eps * (1 + np.max(np.abs(theta))):
            break
    result.x, result.fun, result.jac = theta, value, gradient
    gradient_norm = float(np.max(np.abs(result.jac))) if result.jac.size else 0.0
    if gradient_norm > 1e-6 * (1 + abs(result.fun)):
        warnings.warn(
            f"fit_map: the optimizer stopped away from a stationary point ({result.message}; max |gradient| = "
            f"{gradient_norm:.3g}). Non-smooth densities (a Laplace prior, ReLU units) stop at kinks; the Laplace prior needs the builders' own models.",
            RuntimeWarning,
            stacklevel=3,
        )
    point = DictToArrayBijection.rmap(RaveledVars(result.x, x0.point_map_info), start_point=start)
    values = model.compile_fn(model.unobserved_value_vars, inputs=value_vars, on_unused_input="ignore", point_fn=False)(
        *(point[v.name] for v in value_vars)
    )
    names = [v.name for v in model.unobserved_value_vars]
    return {name: np.asarray(value) for name, value in zip(names, values) if not name.endswith(("_log__", "_interval__"))}


def _values_at(model, point):
    """Every free variable and deterministic of ``model`` at a point of its value variables (numpy values)."""
    value_vars = model.value_vars
    values = model.compile_fn(model.unobserved_value_vars, inputs=value_vars, on_unused_input="ignore",
                              point_fn=False)(*(point[v.name] for v in value_vars))
    names = [v.name for v in model.unobserved_value_vars]
    return {name: np.asarray(value) for name, value in zip(names, values)
            if not name.endswith(("_log__", "_interval__")) and name not in ("w_internal", "v_internal")}


def _identity_link_start(model, spec):
    """Least squares for w_internal, and the residuals' scale for the likelihood's own parameters."""
    x, t = _model_data(model)
    design = spec.internal_design(x)
    a = np.linalg.lstsq(design, t, rcond=None)[0]
    residual = t - design @ a
    scale = float(np.sqrt(np.mean(residual**2))) or 1.0
    start = {"w_internal": a}
    likelihood = spec.likelihood
    if getattr(likelihood, "heteroscedastic", False):
        psi = likelihood.sigma_basis.conditioned(x).transform(x, np)
        # E log|e| = log sigma - 0.635 for Gaussian e: least squares of log|r| + 0.635 on psi
        start["v_internal"] = np.linalg.lstsq(psi, np.log(np.abs(residual) + 1e-3 * scale) + 0.635, rcond=None)[0]
    elif likelihood.learns_scale:
        start[f"{likelihood.scale_name}_log__"] = np.log(scale)
    return start


def _newton_functions(model, start):
    """(value_and_gradient(flat) -> (-logp, -gradient), x0, unravel) for the log density without Jacobians."""
    import pytensor
    from pymc.pytensorf import join_nonshared_inputs

    value_vars = model.value_vars
    logp = model.logp(jacobian=False)  # the mode in the model's own variables (sigma, not log sigma)
    [logp_flat], flat = join_nonshared_inputs(start, [logp], value_vars)
    gradient = pytensor.gradient.grad(logp_flat, flat)
    function = pytensor.function([flat], [-logp_flat, -gradient])
    sizes = [int(np.size(start[v.name])) for v in value_vars]
    shapes = [np.shape(start[v.name]) for v in value_vars]

    def unravel(vector):
        pieces = np.split(vector, np.cumsum(sizes)[:-1])
        return {v.name: piece.reshape(shape) for v, piece, shape in zip(value_vars, pieces, shapes)}

    x0 = np.concatenate([np.ravel(start[v.name]) for v in value_vars]).astype(float)
    return function, x0, unravel


def _hessian(gradient, theta):
    """Central differences of the exact gradient (relative error ~1e-10): enough for Newton steps, whose fixed
    point is where the exact gradient vanishes, so the optimum itself is not approximated."""
    hessian = np.empty((len(theta), len(theta)))
    for j in range(len(theta)):
        h = 1e-5 * (1 + abs(theta[j]))
        step = np.zeros_like(theta)
        step[j] = h
        hessian[:, j] = (gradient(theta + step) - gradient(theta - step)) / (2 * h)
    return (hessian + hessian.T) / 2


def _fit_map_newton(model, spec):
    """Newton's method on the model's log density (without Jacobians): exact gradient, differenced Hessian."""
    start = model.initial_point()
    start = {name: np.zeros_like(value, dtype=float) for name, value in start.items()}
    if spec.likelihood.link == "identity":
        start.update(_identity_link_start(model, spec))
    function, x0, unravel = _newton_functions(model, start)

    def value_and_gradient(v):  # one evaluation gives both
        value, gradient = function(v)
        return float(value), np.asarray(gradient, dtype=float)

    def hess(v):
        return _hessian(lambda u: value_and_gradient(u)[1], v)

    result = minimize(value_and_gradient, x0, jac=True, hess=hess, method="trust-exact",
                      options={"gtol": 1e-9, "maxiter": 1000})
    theta = result.x
    value, gradient = value_and_gradient(theta)
    for _ in range(30):  # Newton steps to the point where the exact gradient vanishes, to machine precision
        try:
            step = np.linalg.solve(hess(theta), gradient)
        except np.linalg.LinAlgError:
            break
        candidate = theta - step
        new_value, new_gradient = value_and_gradient(candidate)
        if not np.isfinite(new_value) or new_value > value + 1e-12 * abs(value):
            break
        theta, value, gradient = candidate, new_value, new_gradient
        if np.max(np.abs(step)) <= 4 * np.finfo(float).eps * (1 + np.max(np.abs(theta))):
            break
    if not np.all(np.isfinite(theta)) or np.max(np.abs(gradient)) > 1e-6 * (1 + abs(float(value))):
        raise ValueError(
            f"fit_map: no maximum found for {spec.likelihood!r} (max |gradient| = {np.max(np.abs(gradient)):.3g} after "
            f"{result.nit} iterations; |w_internal| up to {np.max(np.abs(theta)):.3g}). The likelihood may grow without "
            "bound (separable classes, a zero count pattern): put a proper prior (priors.Normal) on w"
        )
    return _values_at(model, unravel(theta))


def _least_absolute_deviations(design, t, to_w, prior, weight):
    r"""``argmin_a sum_n |t_n - d_n a| * weight + sum_j |(T a)_j - loc_j| / s_j`` (Laplace prior) by linear program.

    HiGHS finds an optimal vertex; the vertex is then solved exactly from the p zero terms (residuals or prior
    terms) that define it, so the answer does not carry the LP solver's feasibility tolerance.
    """
    from scipy.optimize import linprog

    n, p = design.shape
    rows, targets, costs = [design * weight], [t * weight], [np.ones(n)]
    if isinstance(prior, Laplace):
        scale = np.broadcast_to(prior.scale, (p,))
        rows.append(to_w / scale[:, None])
        targets.append(np.broadcast_to(prior.loc, (p,)) / scale)
        costs.append(np.ones(p))
    a_rows, b, cost = np.vstack(rows), np.concatenate(targets), np.concatenate(costs)
    m = len(b)
    # variables: a (free), u >= 0, v >= 0 with A a + u - v = b; minimize sum(u + v)
    a_eq = np.hstack([a_rows, np.eye(m), -np.eye(m)])
    c = np.concatenate([np.zeros(p), cost, cost])
    bounds = [(None, None)] * p + [(0, None)] * (2 * m)
    result = linprog(c, A_eq=a_eq, b_eq=b, bounds=bounds, method="highs")
    if result.status != 0:
        raise ValueError(f"fit_map: the least-absolute-deviations linear program failed: {result.message}")
    a = result.x[:p]
    # the vertex: the p terms closest to zero, if they determine a (a square, well-conditioned system)
    active = np.argsort(np.abs(b - a_rows @ a) / (np.abs(b) + np.linalg.norm(a_rows, axis=1) * np.abs(a).max() + 1e-300))[:p]
    square = a_rows[active]
    if np.linalg.cond(square) < 1e10:
        vertex = np.linalg.solve(square, b[active])
        if np.sum(np.abs(b - a_rows @ vertex)) <= np.sum(np.abs(b - a_rows @ a)) * (1 + 1e-9):
            a = vertex
    return a


def _fit_map_least_absolute(model, spec):
    """MAP of a Laplace likelihood (the MAE) with a flat or Laplace prior on w: LP, alternating with the scale."""
    x, t = _model_data(model)
    design = spec.internal_design(x)
    likelihood, prior = spec.likelihood, spec.prior
    n = len(t)

    def w_step(b):
        a = _least_absolute_deviations(design, t, spec.to_w, prior, 1.0 / b)
        return a, float(np.sum(np.abs(t - design @ a)))

    if not likelihood.learns_scale:
        a, _ = w_step(likelihood.scale)
        return {"w": spec.to_w @ a}
    scale_mode = _laplace_scale_mode(model, likelihood.scale_prior, n)
    b = 1.0
    a, sae = w_step(b)
    for _ in range(1000):
        if sae <= 0:
            raise ValueError("the data are fitted exactly (sum of absolute residuals 0): no MAP for the scale; "
                             "fix scale or use fewer features")
        new_b = scale_mode(sae, a)
        converged = abs(new_b - b) <= 4 * np.finfo(float).eps * new_b or isinstance(prior, Flat)
        b = new_b
        if converged:
            break
        a, sae = w_step(b)
    return {"w": spec.to_w @ a, "scale": np.float64(b)}


def _laplace_scale_mode(model, scale_prior, n):
    r"""``mode(sae, a)``: the ``b`` maximizing :math:`-N\log b - \mathrm{SAE}/b + \log p(b)` (in ``b`` itself).

    Closed form for ``HalfFlat`` (SAE/N) and ``Jeffreys`` (SAE/(N+1)); otherwise Brent's method on the model's
    log density at ``w_internal = a``, compiled once for all calls.
    """
    if isinstance(scale_prior, HalfFlat):
        return lambda sae, a: sae / n
    if isinstance(scale_prior, Jeffreys):
        return lambda sae, a: sae / (n + 1)
    from scipy.optimize import minimize_scalar

    logp = model.compile_logp(jacobian=False)

    def mode(sae, a):
        guess = np.log(sae / n)
        result = minimize_scalar(lambda log_b: -float(logp({"w_internal": a, "scale_log__": np.array(log_b)})),
                                 bracket=(guess - 1, guess + 1), tol=1e-12)
        return float(np.exp(result.x))

    return mode
