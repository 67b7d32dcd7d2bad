r"""The MAP point, and the least-squares reference.

:func:`fit_map` returns the mode of the model's posterior density in the model's own variables, as
``pm.find_MAP`` reports it: the mode of ``sigma`` itself, not of ``log sigma``. For a model a builder made, the
likelihood finds it (:meth:`models.likelihoods.Likelihood.map_point`): each family knows the solvers for the
priors it can pair with, and refuses the others by name (``NotImplementedError``):

- Gaussian with one sigma, any prior of the L1 + L2 form (:class:`models.priors.Penalty`): least squares
  (PRML eq. 3.15), ridge normal equations solved as augmented least squares in the basis' conditioned
  coordinates, lasso and elastic net by exact coordinate descent; a learned ``sigma`` maximizes
  :math:`-N\log\sigma - \mathrm{SSE}/(2\sigma^2) + \log p(\sigma)`, alternating with the ``w`` step;
- Laplace (the MAE): a linear program (flat or Laplace prior) or a quadratic program through its dual (a prior
  with a Gaussian part), finished at the exact vertex; a learned scale maximizes
  :math:`-N\log b - \mathrm{SAE}/b + \log p(b)`;
- every smooth likelihood (StudentT, Bernoulli, Categorical, Poisson, Gamma, the Gaussian with :math:`\sigma(x)`):
  Newton's method with the exact gradient of the log density and its differenced Hessian (trust region, then full
  Newton steps to machine precision); proximal Newton, with exact zeros, when the prior has an L1 part (Laplace,
  ElasticNet). The log density is written in NumPy from the family's ``nll`` and ``nll_gradient``, the prior's
  penalty and the scale prior's ``log_density_slope`` (nothing compiled); a family or scale prior defined elsewhere
  that does not give its derivatives, or a prior on w not of the L1 + L2 form, has the model's own log density and
  its gradient from PyTensor instead (in ``ONE_SHOT``: evaluated op by op, nothing compiled).

A model the builders did not make (or one edited after building) gets a generic quasi-Newton optimization of its
log density and gradient from PyTensor instead, in ``ONE_SHOT`` too. Either way the result holds every free variable
and deterministic of the model.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, NoReturn

import numpy as np
from scipy.optimize import minimize

from .._checks import PACKAGE, as_data, positive_scalar
from ..basis import LinearBasis
from ..design import design_of
from ..optimize import hessian, lstsq, newton, proximal_newton
from .backend import ONE_SHOT, in_compile_mode
from .results import check_model, free_from_values, model_point, raveled, value_point

if TYPE_CHECKING:
    import pymc as pm
    from numpy.typing import ArrayLike

    from ..design import Design, GaussianData


def least_squares(x: ArrayLike, t: ArrayLike, *, basis=None) -> np.ndarray:
    r"""The exact least-squares weights :math:`\hat w = \arg\min_w \lVert t - \Phi(x) w \rVert^2` (PRML eq. 3.15).

    Solved in the basis' well-conditioned coordinates and mapped to ``w`` in exact rational arithmetic,
    so ``w`` is right to ~1e-12 relative even where the raw design has condition number 1e15.

    Parameters
    ----------
    x : array (N,) or (N, D)
    t : array (N,)
    basis : LinearBasis, PolynomialBasis or GaussianBasis, default ``LinearBasis()``

    Returns
    -------
    ndarray (p,)
        The weights in the basis' own coordinates.

    Examples
    --------
    >>> least_squares([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
    array([1., 2.])
    """
    basis = LinearBasis() if basis is None else basis
    x, t, _ = as_data(x, t)
    basis.check_inputs(x)
    conditioned = basis.conditioned(x)
    return conditioned.w_from(lstsq(conditioned.transform(x, np), t))


class MapProblem:
    """One MAP search of a builder's model: what the likelihoods' solvers ask for.

    Attributes
    ----------
    model : RegressionModel
    design : models.design.Design
    """

    def __init__(self, model: pm.Model, design: Design):
        self.model, self.design = model, design

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The training data ``(x, t)``.

        Returns
        -------
        tuple of ndarray
            ``(x, t)``, the model's current ``pm.Data`` values.

        Raises
        ------
        ValueError
            When the model is observed through sufficient statistics (it holds no rows).
        """
        return self.design.rows(self.model)

    def gaussian_data(self) -> GaussianData:
        """The rows or their sufficient statistics, as the Gaussian closed forms use them.

        Returns
        -------
        models.design.GaussianData
            ``design``, ``target``, ``features``, ``n`` and ``extra_sse``.
        """
        return self.design.gaussian_data(self.model)

    def refuse(self, reason: str) -> NoReturn:
        """Raise the NotImplementedError of a likelihood-prior pair without a solver, naming both.

        Parameters
        ----------
        reason : str
            Why the likelihood's solver cannot take this prior (ends the message).

        Raises
        ------
        NotImplementedError
            Always.
        """
        raise NotImplementedError(f"fit_map has no solver for the likelihood {self.design.likelihood!r} with the "
                                  f"prior {self.design.prior!r} on w: {reason}")

    def smooth(self, start: dict) -> dict:
        """The mode of the model's log density (without log-Jacobians: the mode in ``sigma`` itself) from
        ``start`` (model-space values of some free variables; the others from ``model.initial_point()``):
        Newton's method, or proximal Newton when the prior has an L1 part. Returns the free variables.

        The log density is the family's own NumPy one (:meth:`models.likelihoods.Likelihood.nll` and
        ``nll_gradient``, the prior's :class:`models.priors.Penalty`, the scale prior's ``log_density`` and
        ``log_density_slope``) when every part knows its derivatives, else the model's, from PyTensor.

        Parameters
        ----------
        start : dict
            ``{name: value}`` of some free variables, in the model's own space (``sigma``, not its log).

        Returns
        -------
        dict
            ``{name: ndarray}`` for every free variable of the model at the mode.

        Raises
        ------
        ValueError
            When the search ends away from a stationary point (the likelihood may grow without bound).
        """
        penalty = self.design.penalty
        with_l1 = penalty is not None and penalty.has_l1
        objective = self._numpy_objective(start, penalty, with_l1) or self._pytensor_objective(start, with_l1)
        function, x0, w_slice, to_free = objective
        if with_l1:
            theta = self._proximal(function, x0, w_slice, penalty)
        else:
            theta, value, gradient, message = newton(function, x0)
            self._check_stationary(theta, value, gradient, message)
        return to_free(theta)

    def _numpy_objective(self, start, penalty, with_l1):
        """(function, x0, w_slice, to_free) in (w_internal, log s | the weights of log s(x)), from the family's
        NumPy NLL and its derivatives; None when a part does not know its derivatives. The prior's L1 part is left
        out when ``with_l1`` (proximal Newton takes it exactly)."""
        design, likelihood = self.design, self.design.likelihood
        x, t = self.rows()
        scale_prior = likelihood.prior_of_scale
        if penalty is None or (scale_prior is not None and scale_prior.log_density_slope(1.0) is None):
            return None
        z = design.internal_design(x)
        to_w = design.to_w
        shape = (design.p, likelihood.n_outputs) if likelihood.n_outputs > 1 else (design.p,)
        size = int(np.prod(shape))
        columns = (-1,) + (1,) * (len(shape) - 1)
        loc, l2 = penalty.loc.reshape(columns), penalty.l2.reshape(columns)
        if with_l1:
            l2 = np.zeros_like(l2)  # _proximal adds the Gaussian part in its own coordinates
        scale_design = likelihood.log_scale_design(x)
        w0 = np.asarray(start.get("w_internal", np.zeros(shape)), dtype=float).ravel()
        if scale_design is not None:
            name, psi = scale_design
            x0 = np.concatenate([w0, np.asarray(start.get(name, np.zeros(psi.shape[1])), dtype=float)])
        elif scale_prior is not None:
            x0 = np.append(w0, np.log(float(start.get(likelihood.scale_name, 1.0))))
        else:
            x0 = w0

        def scale_at(theta):  # the learned scale (one, or one per row), None when fixed
            if scale_design is not None:
                return np.exp(psi @ theta[size:])
            return np.exp(theta[size]) if scale_prior is not None else None

        if likelihood.nll_gradient(t, z @ w0.reshape(shape), scale_at(x0)) is None:
            return None

        def function(theta):
            w_internal = theta[:size].reshape(shape)
            y = z @ w_internal
            with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
                scale = scale_at(theta)
                if scale is not None and not np.all(np.isfinite(scale) & (scale > 0)):
                    return np.inf, np.full(len(theta), np.nan)
                value = likelihood.nll(t, y) if scale is None else likelihood.nll(t, y, scale)
                d_y, d_scale = likelihood.nll_gradient(t, y, scale)
                d = to_w @ w_internal - loc
                value += 0.5 * float(np.sum(l2 * d**2))
                gradient = [(z.T @ d_y + to_w.T @ (l2 * d)).ravel()]
                if scale_design is not None:
                    gradient.append(psi.T @ (scale * d_scale))
                elif scale_prior is not None:
                    value -= scale_prior.log_density(scale)
                    gradient.append([scale * (np.sum(d_scale) - scale_prior.log_density_slope(scale))])
            return float(value), np.concatenate(gradient)

        def to_free(theta):
            free = {"w_internal": theta[:size].reshape(shape)}
            if scale_design is not None:
                free[name] = theta[size:]
            elif scale_prior is not None:
                free[likelihood.scale_name] = scale_at(theta)
            return free

        return function, x0, slice(0, size), to_free

    def _pytensor_objective(self, start, with_l1):
        """(function, x0, w_slice, to_free) on the model's own log density, without the prior on w when ``with_l1``; in
        ``ONE_SHOT`` (a few hundred evaluations of a small model: a C compilation would cost more than it saves)."""
        model, design = self.model, self.design
        point = model.initial_point()
        point.update(value_point(model, start))
        terms = None
        if with_l1:
            everything = (*model.free_RVs, *model.observed_RVs, *model.potentials)
            terms = [v for v in everything if v.name != design.prior_term]
        function, x0, unravel = _objective(model, point, terms)
        sizes = {v.name: int(np.size(point[v.name])) for v in model.value_vars}
        names = [v.name for v in model.value_vars]
        first = sum(sizes[name] for name in names[:names.index("w_internal")])
        return function, x0, slice(first, first + sizes["w_internal"]), lambda theta: free_from_values(
            model, unravel(theta))

    def _check_stationary(self, theta, value, gradient, message):
        if not np.all(np.isfinite(theta)) or np.max(np.abs(gradient), initial=0.0) > 1e-6 * (1 + abs(float(value))):
            likelihood = self.design.likelihood
            raise ValueError(
                f"fit_map: no maximum found for {likelihood!r} with the prior {self.design.prior!r} on w (max "
                f"|gradient| = {np.max(np.abs(gradient)):.3g}, {message}; parameters up to "
                f"{np.max(np.abs(theta)):.3g}). The likelihood may grow without bound: {likelihood.unbounded_hint}"
            )

    def _proximal(self, function, x0, w_slice, penalty):
        """Proximal Newton in the coordinates (w, the other parameters), with the L1 part on w exact; ``function``
        leaves the prior on w out."""
        outputs = self.design.likelihood.n_outputs
        jacobian = np.kron(self.design.to_w, np.eye(outputs))  # vec(w) = (T R^-1 kron I) vec(w_internal), row-major
        l1 = np.zeros(len(x0))
        loc = np.zeros(len(x0))
        l1[w_slice], loc[w_slice] = np.repeat(penalty.l1, outputs), np.repeat(penalty.loc, outputs)
        l2 = np.repeat(penalty.l2, outputs)
        w_loc = np.repeat(penalty.loc, outputs)

        def to_theta(phi):
            theta = phi.copy()
            theta[w_slice] = np.linalg.solve(jacobian, phi[w_slice])
            return theta

        def smooth(phi):  # f(phi) = -log p without the prior's term, plus the prior's Gaussian part
            value, gradient = function(to_theta(phi))
            w = phi[w_slice]
            gradient = gradient.copy()
            gradient[w_slice] = np.linalg.solve(jacobian.T, gradient[w_slice]) + l2 * (w - w_loc)
            return value + 0.5 * np.sum(l2 * (w - w_loc) ** 2), gradient

        phi0 = x0.copy()
        phi0[w_slice] = jacobian @ x0[w_slice]
        phi, value, gradient = proximal_newton(smooth, phi0, l1, loc)
        # optimality: |gradient| <= l1 where phi = loc, gradient = -l1 sign(phi - loc) elsewhere
        at_kink = (l1 > 0) & (phi == loc)
        residual = np.where(at_kink, np.maximum(np.abs(gradient) - l1, 0.0), gradient + l1 * np.sign(phi - loc))
        self._check_stationary(phi, value, residual, "proximal Newton")
        return to_theta(phi)


def _objective(model, point, terms=None):
    """(value_and_gradient(flat) -> (-logp, -gradient), x0, unravel) for the log density without log-Jacobians
    (the mode in the model's own variables), summed over ``terms`` (default: all), in ``ONE_SHOT`` (evaluated
    operation by operation with PyTensor's stabilizing rewrites, nothing compiled: an optimization takes tens to a
    few thousand evaluations, where a C compilation of a new model's density costs about 10 s)."""
    import pytensor
    from pymc.pytensorf import join_nonshared_inputs

    value_vars = model.value_vars
    logp = model.logp(vars=terms, jacobian=False)
    [logp_flat], flat = join_nonshared_inputs(point, [logp], value_vars)
    gradient = pytensor.gradient.grad(logp_flat, flat)
    compiled = pytensor.function([flat], [-logp_flat, -gradient], mode=ONE_SHOT)
    x0, unravel = raveled(model, point)

    def function(vector):
        value, grad = compiled(vector)
        return float(value), np.asarray(grad, dtype=float)

    return function, x0.astype(float), unravel


@in_compile_mode
def fit_map(model: pm.Model, *, start: dict | None = None) -> dict:
    r"""The MAP point of ``model``: every free variable and deterministic of the model, as NumPy values.

    Parameters
    ----------
    model : pm.Model
        A builder's model (its likelihood's solver runs; see the module docstring), or any PyMC model
        (L-BFGS then Newton steps on the model's log density with its gradient, tight tolerances).
    start : dict, optional
        For models optimized generically only: values of value variables (e.g. ``{"W0": ...}``); missing
        ones and the default come from ``model.initial_point()``.

    Returns
    -------
    dict
        ``{name: value}`` for every free variable and deterministic of the model (for a builder's model ``w``,
        ``w_internal`` and the learned scale, e.g. ``sigma``; ``v`` and ``sigma`` (per row) for sigma(x)), the
        same keys and types on every path: arrays, and NumPy floats for scalars.

    Raises
    ------
    NotImplementedError
        When the model's likelihood has no MAP solver for its prior (named, with the reason).
    ValueError
        When the MAP does not exist (data fitted exactly, separable classes, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from models import gaussian_regression
    >>> x, t = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.2, 4.9, 7.1])
    >>> point = fit_map(gaussian_regression(x, t))
    >>> sorted(point)
    ['sigma', 'w', 'w_internal']
    >>> bool(np.allclose(point["w"], np.polyfit(x, t, 1)[::-1], rtol=1e-12))   # least squares
    True
    >>> bool(np.isclose(point["sigma"] ** 2, np.mean((t - point["w"][0] - point["w"][1] * x) ** 2)))  # SSE / N
    True
    """
    check_model(model)
    design = design_of(model)
    if design is None:
        return _scalars(_fit_map_generic(model, start))
    if start is not None:
        raise ValueError("start is for models optimized generically; a builder's model has its own MAP rule")
    free = dict(design.likelihood.map_point(MapProblem(model, design)))
    exact_w = free.pop("w", None)  # from the conditioned coordinates in exact rational arithmetic, when known
    point = model_point(model, free)
    if exact_w is not None:
        point["w"] = np.asarray(exact_w, dtype=float)
    return _scalars(point)


def _scalars(point):
    return {name: (value[()] if np.ndim(value) == 0 else value) for name, value in point.items()}


@in_compile_mode
def log_likelihood_at(model: pm.Model, w: ArrayLike, sigma: float | None = None) -> float | np.ndarray:
    r"""The model's own :math:`\log p(t \mid x, w, \theta)`, summed over observations, at basis-coordinate ``w``.

    Evaluated by the PyMC graph of a builder's model.

    Parameters
    ----------
    model : RegressionModel
        Made by a builder.
    w : array (p,) or (K, p)
        Weights in the basis' coordinates; (K, p) gives K values (one compiled function for all).
    sigma : float or array (K,), optional
        The value of the likelihood's learned scale (``sigma``, ``scale``, ``shape``); required when it is learned.
        With a (K, p) ``w``, one value per row is allowed.

    Returns
    -------
    float or ndarray (K,)
        The log-likelihood at ``w``, or one per row of a (K, p) ``w``.
    """
    design = design_of(model)
    if design is None:
        raise ValueError("log_likelihood_at needs a model made (and not edited since) by models.regression / "
                         "gaussian_regression")
    likelihood = design.likelihood
    if likelihood.n_outputs > 1 or getattr(likelihood, "heteroscedastic", False):
        raise ValueError(f"log_likelihood_at takes one weight vector and one scale, not the parameters of "
                         f"{likelihood!r}")
    w = np.asarray(w, dtype=float)
    p = design.p
    if w.shape[-1:] != (p,) or w.ndim > 2:
        raise ValueError(f"w must have shape ({p},) or (K, {p}), got {w.shape}")
    internal = design.internal_from_w(np.atleast_2d(w).T).T
    scales = [{}] * len(internal)
    if likelihood.learns_scale:
        if sigma is None:
            raise ValueError(f"this model learns {likelihood.scale_name}: pass its value as sigma")
        if np.ndim(sigma) == 0:
            values = np.full(len(internal), positive_scalar(sigma, "sigma"))
        elif np.shape(sigma) == (len(internal),) and w.ndim == 2:
            values = np.array([positive_scalar(value, f"sigma[{i}]") for i, value in enumerate(sigma)])
        else:
            raise ValueError(f"sigma must be a number, or one per row of w ({len(internal)}), got shape "
                             f"{np.shape(sigma)}")
        # the K values through the scale's transform at once (an elementwise one: log, or an interval's)
        transformed = value_point(model, {likelihood.scale_name: values})
        scales = [{name: value[k] for name, value in transformed.items()} for k in range(len(internal))]
    elif sigma is not None:
        raise ValueError(f"this model has a fixed {likelihood.scale_name} = {likelihood.fixed_scale}; "
                         "do not pass sigma")
    logp = model.compile_logp(vars=model.observed_RVs, sum=True)
    values = np.array([float(logp({**value_point(model, {"w_internal": row}), **scale}))
                       for row, scale in zip(internal, scales)])
    return values if w.ndim == 2 else float(values[0])


def _fit_map_generic(model, start=None):
    """L-BFGS (then Newton steps) on the model's joint log density without the log-Jacobians of the transforms, so
    the mode is in the model's own variables (sigma itself, as ``pm.find_MAP`` reports it)."""
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
    function, x0, unravel = _objective(model, initial)
    result = minimize(function, x0, jac=True, method="L-BFGS-B",
                      options={"maxiter": 100_000, "ftol": 1e-15, "gtol": 1e-10})
    theta, value, gradient = result.x, float(result.fun), np.asarray(result.jac, dtype=float)
    for _ in range(30):  # L-BFGS's line search stalls near 1e-4 on curved valleys: Newton steps finish the job
        if not gradient.size:
            break
        curvature = hessian(lambda v: function(v)[1], theta)
        try:
            np.linalg.cholesky(curvature)  # only at a (numerically) strict local minimum
        except np.linalg.LinAlgError:
            break
        step = np.linalg.solve(curvature, gradient)
        new_value, new_gradient = function(theta - step)
        if not np.isfinite(new_value) or np.max(np.abs(new_gradient)) >= np.max(np.abs(gradient)):
            break
        theta, value, gradient = theta - step, new_value, new_gradient
        if np.max(np.abs(step)) <= 4 * np.finfo(float).eps * (1 + np.max(np.abs(theta))):
            break
    gradient_norm = float(np.max(np.abs(gradient))) if gradient.size else 0.0
    if gradient_norm > 1e-6 * (1 + abs(value)):
        warnings.warn(
            f"fit_map: the optimizer stopped away from a stationary point ({result.message}; max |gradient| = "
            f"{gradient_norm:.3g}). Non-smooth densities (a Laplace prior, ReLU units) stop at kinks, and a nearly "
            "flat valley (a network's weights under a flat prior) may have no point to stop at: a proper prior "
            "(priors.Normal) makes one; the builders' models have exact solvers for kinks.",
            RuntimeWarning,
            skip_file_prefixes=(PACKAGE,),
        )
    return model_point(model, free_from_values(model, unravel(theta)))

