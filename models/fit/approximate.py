r"""The approximations between the MAP point and NUTS: Laplace, Pathfinder and ADVI.

- :func:`fit_laplace`: a Gaussian at the mode with the exact Hessian of the model's log density in the
  unconstrained space (PRML section 4.4), mapped back;
- :func:`fit_pathfinder`: pymc-extras' Pathfinder (Zhang et al. 2022), quasi-Newton paths and importance
  resampling;
- :func:`fit_advi`: mean-field ADVI (Kucukelbir et al. 2017), started at the MAP and its curvature;
  :func:`advi_fitter` compiles it once for many data sets of one structure (``fit_advi`` is one call of it).

Each returns an ``xarray.DataTree`` like :func:`models.sample_posterior`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor
from pymc.pytensorf import reseed_rngs
from pytensor.tensor.random.type import RandomType
from scipy.linalg import solve_triangular

from ..design import check_posterior, design_of
from ..optimize import hessian
from .backend import ONE_SHOT, in_compile_mode
from .map import fit_map
from .results import check_draws, check_model, complete, idata_from_values, raveled, value_point

if TYPE_CHECKING:
    from collections.abc import Callable

    import xarray as xr

with warnings.catch_warnings():
    # pymc-extras 0.15.1 imports better_optimize.constants.MINIMIZE_MODE_KWARGS when it is imported
    # (pymc_extras/inference/laplace_approx/scipy_interface.py), a name better_optimize has deprecated. It is
    # pymc-extras' own import, not something we call; a pymc-extras that drops it makes this filter a no-op.
    warnings.filterwarnings("ignore", message="better_optimize.constants.MINIMIZE_MODE_KWARGS is deprecated",
                            category=DeprecationWarning, module="pymc_extras")
    import pymc_extras


def _map_value_point(model):
    """The MAP of a builder's model as a point of its value variables (the model's initial point otherwise)."""
    return value_point(model, fit_map(model)) if design_of(model) is not None else model.initial_point()


def log_density_hessian(model: pm.Model):
    r"""The exact Hessian of ``model``'s log density (log-Jacobians included) in its value variables, raveled and
    concatenated in the order of ``model.value_vars``: a PyTensor graph, as ``model.d2logp(negate_output=False)``.

    Built as PyTensor's Jacobian of the gradient with ``vectorize=True``: one batched graph of the gradient's
    pullback, where PyMC's ``d2logp`` loops over the gradient's entries in a ``Scan``, whose inner function is
    compiled as C modules of its own in every process.

    Examples
    --------
    A straight line with a flat prior and a learned sigma (HalfFlat: log sigma is the value variable ``s``): with
    :math:`r = t - \Phi w`, the log density :math:`-N s - r^\top r\, e^{-2s}/2 + s` (the last term the log-Jacobian)
    has the Hessian :math:`-\Phi^\top\Phi/\sigma^2` in w, :math:`-2\Phi^\top r/\sigma^2` across w and s, and
    :math:`-2 r^\top r/\sigma^2` in s.

    >>> import numpy as np
    >>> from models.fit.backend import ONE_SHOT
    >>> x, t = np.linspace(0, 1, 8), np.linspace(0, 1, 8) ** 1.5
    >>> with pm.Model() as model:
    ...     w, sigma = pm.Flat("w", shape=2), pm.HalfFlat("sigma")
    ...     _ = pm.Normal("t", w[0] + w[1] * x, sigma, observed=t)
    >>> point = {"w": np.array([0.3, 1.1]), "sigma_log__": np.log(0.4)}
    >>> h = model.compile_fn(log_density_hessian(model), mode=ONE_SHOT)(point)
    >>> phi = np.column_stack([np.ones(8), x])
    >>> r = t - phi @ point["w"]
    >>> cross = -2 * phi.T @ r / 0.4**2
    >>> closed = np.block([[-phi.T @ phi / 0.4**2, cross[:, None]], [cross, -2 * r @ r / 0.4**2]])
    >>> bool(np.allclose(h, closed, rtol=1e-13, atol=0))
    True
    """
    import pytensor.tensor as pt
    from pymc.pytensorf import rewrite_pregrad
    from pytensor.gradient import jacobian

    value_vars = model.value_vars
    log_density = rewrite_pregrad(model.logp(jacobian=True))
    gradient = pt.concatenate([g.ravel() for g in pytensor.grad(log_density, value_vars)])
    blocks = jacobian(gradient, value_vars, vectorize=True)
    return pt.concatenate([block.reshape((gradient.shape[0], -1)) for block in blocks], axis=1)


def _mode_of_theta(model, point):
    """Newton steps from ``point`` to the mode of the density of the unconstrained theta (log-Jacobians included),
    with the exact Hessian (:func:`log_density_hessian`). Returns (theta, precision = -Hessian at the mode, unravel).

    The density, gradient and Hessian are evaluated a few times each (Newton steps: usually under ten), so they are
    compiled with :data:`models.fit.backend.ONE_SHOT` (NumPy, no C compilation). Measured on three Laplace fits of
    small models, new process, empty compile caches: 43-46 s with PyMC's Scan Hessian on the C backend, 38-40 s with
    this Hessian on it, 15 s in ``ONE_SHOT``; with warm caches 12, 8 and 8-9 s."""
    theta, unravel = raveled(model, point)
    hessian_fn = model.compile_fn(log_density_hessian(model), mode=ONE_SHOT)
    if any(model.rvs_to_transforms[rv] is not None for rv in model.free_RVs):  # the MAP in sigma is not this mode
        logp_fn = model.compile_logp(jacobian=True, mode=ONE_SHOT)
        dlogp_fn = model.compile_dlogp(vars=model.free_RVs, jacobian=True, mode=ONE_SHOT)
        previous = np.inf
        for _ in range(100):
            step = np.linalg.solve(-np.asarray(hessian_fn(unravel(theta))), np.asarray(dlogp_fn(unravel(theta))))
            size = float(np.max(np.abs(step)))
            if size <= 4 * np.finfo(float).eps * max(1.0, np.max(np.abs(theta))) or size >= previous:
                break  # at the mode to the last bits: the result does not depend on where Newton started
            current = logp_fn(unravel(theta))
            while logp_fn(unravel(theta + step)) < current and np.max(np.abs(step)) > 1e-14:
                step = step / 2
            theta, previous = theta + step, size
    return theta, -np.asarray(hessian_fn(unravel(theta)), dtype=float), unravel


@in_compile_mode
def fit_laplace(model: pm.Model, *, draws: int = 1000, random_seed: int | np.random.Generator | None = None,
                log_likelihood: bool = True) -> xr.DataTree:
    r"""Laplace approximation: :math:`\mathcal N(\hat\theta, H^{-1})` in the unconstrained space (PRML eq. 4.134).

    :math:`\theta` collects the model's value variables (``w_internal``; the log of a learned scale;
    ``v_internal`` for sigma(x)). :math:`\hat\theta` is the mode of the density of :math:`\theta` itself (the
    model's log density *with* the log-Jacobian of :math:`\sigma = e^{\log\sigma}`, reached by Newton steps from
    :func:`models.fit_map`; for a flat prior on ``sigma`` its :math:`\hat\sigma^2` is SSE/(N-1), not the SSE/N of
    the MAP in ``sigma``), and :math:`H = -\nabla^2 \log p(\theta \mid t)` is the exact Hessian there. Draws are
    mapped back (:math:`\sigma = e^{\log\sigma}`, ``w = T w_internal``). For a known sigma and a Gaussian or flat
    prior the posterior is Gaussian and this is exact; for the GLMs, :math:`H` at the MAP is
    :math:`\Phi^\top \mathrm{diag}(\mathrm{Var}[t_n]) \Phi` plus the prior's precision (PRML eq. 4.97).
    A prior with an L1 part has no curvature away from its kink, so the Gaussian sees only the likelihood's
    curvature there (too wide for coefficients the prior holds at 0). A likelihood that is not smooth in ``w``
    (the Laplace, i.e. the MAE) has no Hessian and is refused.

    Parameters
    ----------
    model : pm.Model
        A builder's model (started at its exact MAP), or any PyMC model (started at the generic MAP).
    draws : int
    random_seed : int, optional
    log_likelihood : bool
        Add the pointwise log-likelihood (for ``az.loo``); ``False`` skips its compilation.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (one chain of ``draws``), ``observed_data``, ``constant_data``, ``log_likelihood``.
    """
    check_model(model)
    check_posterior(model)
    draws = check_draws(draws, "draws")
    design = design_of(model)
    if design is not None and not design.likelihood.smooth:
        raise ValueError(f"fit_laplace: the {design.likelihood!r} likelihood is not smooth in w "
                         f"({design.likelihood.loss_name} is piecewise linear), so its Hessian is zero and there is "
                         "no Gaussian approximation; use sample_posterior")
    start = value_point(model, fit_map(model))
    theta, precision, unravel = _mode_of_theta(model, start)
    try:
        cholesky = np.linalg.cholesky(precision)
    except np.linalg.LinAlgError as error:
        raise ValueError("the Hessian at the mode is not positive definite: no Laplace approximation") from error
    rng = np.random.default_rng(random_seed)
    noise = rng.standard_normal((draws, theta.size))
    samples = [unravel(row) for row in theta + solve_triangular(cholesky.T, noise.T).T]
    values = {name: np.stack([s[name] for s in samples])[None] for name in samples[0]}
    return idata_from_values(model, values, log_likelihood)


@in_compile_mode
def mean_field_sds(model: pm.Model) -> Callable[[dict], dict]:
    """A function ``start -> {value variable: 1/sqrt(H_ii)}`` (H: Hessian of -log p with log-Jacobians at
    ``start``; log 2, PyMC's default, where H_ii <= 0), compiled once for ``model`` (its data may change).

    H is differenced from the exact compiled gradient (:func:`models.optimize.hessian`, relative error ~1e-10):
    these sds only start ADVI, and compiling the exact second derivatives cost more than ADVI itself (measured with
    empty caches: 21 of the 50 s of two ADVI fitters on a 3-parameter model, 27 of the 64 s of a network's ADVI).

    Parameters
    ----------
    model : pm.Model

    Returns
    -------
    callable
        ``sds(start: dict) -> dict`` over the value variables.
    """
    dlogp_fn = model.compile_dlogp(vars=model.free_RVs, jacobian=True, mode=ONE_SHOT)  # 2 x dim evaluations
    defaults = model.initial_point()

    def sds(start):
        theta, unravel = raveled(model, {**defaults, **start})
        theta = theta.astype(float)
        curvature = -np.diag(hessian(lambda point: np.asarray(dlogp_fn(unravel(point)), dtype=float), theta))
        values = np.full_like(theta, np.log(2.0))
        positive = curvature > 0
        values[positive] = 1 / np.sqrt(curvature[positive])
        return unravel(values)

    return sds


@in_compile_mode
def advi_fitter(model: pm.Model, *, n: int = 10_000, log_likelihood: bool = True,
                **step_kwargs) -> Callable[..., xr.DataTree]:
    r"""Mean-field ADVI on ``model`` compiled once, for many data sets of one structure.

    One ``pm.ADVI`` and its compiled step function (PyMC's defaults, as ``pm.fit``: ``adagrad_window``) serve
    every call. Each call restarts from scratch: the variational means at ``start`` (default: the MAP of the
    model's *current* data, so ``pm.set_data`` between calls gives a fit to the new data), the sds at
    ``start_sigma`` (default: the mean-field optimum for the curvature at ``start``, see :func:`fit_advi`), the
    optimizer's accumulators at their initial values, and the random streams of the step function seeded from
    ``random_seed`` (``reseed_rngs``); then ``n`` steps and ``draws`` draws (``Approximation.sample``, seeded
    from ``random_seed`` too). :func:`fit_advi` is one call of a fresh fitter, so the draws are the same.

    Parameters
    ----------
    model : pm.Model
    n : int
        Optimization steps per fit.
    log_likelihood : bool
        Whether each result gets its pointwise log-likelihood (its compilation dominates a replication study).
    **step_kwargs
        Passed to the objective's ``step_function`` as ``pm.fit`` would (e.g. ``obj_optimizer=pm.adam(...)``).

    Returns
    -------
    callable
        ``fit(random_seed=None, draws=1000, start=None, start_sigma=None, progressbar=False) -> xarray.DataTree``
        (one chain); ``progressbar`` prints a line at every tenth of the steps.
    """
    check_model(model)
    check_posterior(model)
    n = check_draws(n, "n")
    sds_at = mean_field_sds(model)
    inference = pm.ADVI(model=model, start=_map_value_point(model))
    step = inference.objective.step_function(score=True, **step_kwargs)
    mu, rho = inference.approx.params
    rngs = [i.variable for i in step.maker.inputs if isinstance(i.variable.type, RandomType)]
    states = {i.variable: i.variable.get_value(borrow=False) for i in step.maker.inputs
              if i.update is not None and not isinstance(i.variable.type, RandomType) and i.variable not in (mu, rho)}
    value_vars = model.value_vars

    @in_compile_mode
    def fit(random_seed=None, draws: int = 1000, start: dict | None = None, start_sigma: dict | None = None,
            progressbar: bool = False):
        draws = check_draws(draws, "draws")
        seeds = np.random.default_rng(random_seed).integers(2**31, size=2)
        start = _map_value_point(model) if start is None else {**model.initial_point(), **start}
        sds = sds_at(start) if start_sigma is None else {**sds_at(start), **start_sigma}
        reseed_rngs(rngs, int(seeds[0]))
        for variable, value in states.items():
            variable.set_value(value.copy())
        mu.set_value(np.concatenate([np.ravel(start[v.name]) for v in value_vars]).astype(mu.dtype))
        rho.set_value(np.log(np.expm1(np.concatenate([np.ravel(sds[v.name]) for v in value_vars]))).astype(rho.dtype))
        loss = np.nan
        for i in range(1, n + 1):
            loss = step()
            if progressbar and i % max(1, n // 10) == 0:
                print(f"ADVI: {i} of {n} steps, loss {float(np.asarray(loss)):.4g}", flush=True)
        if not np.isfinite(np.asarray(loss)).all():
            raise FloatingPointError(f"ADVI: the objective is {loss} after {n} steps (NaN or infinite)")
        # the draws: one call of a function of the variational parameters, evaluated without C compilation
        with pytensor.config.change_flags(mode=ONE_SHOT):
            idata = inference.approx.sample(draws, random_seed=int(seeds[1]))
        return complete(model, idata, log_likelihood)

    return fit


def fit_advi(model: pm.Model, *, n: int = 10_000, draws: int = 1000,
             random_seed: int | np.random.Generator | None = None, start: dict | None = None,
             start_sigma: dict | None = None, progressbar: bool = False, log_likelihood: bool = True,
             **step_kwargs) -> xr.DataTree:
    r"""Mean-field ADVI (Kucukelbir et al. 2017): ``n`` steps of PyMC's ADVI, then ``draws`` draws.

    The variational means start at ``start`` (a dict of value-variable values) when given, else at the MAP of
    :func:`models.fit_map` for the builders' models (the stochastic optimizer's small steps would otherwise spend
    most iterations travelling there), else at ``model.initial_point()``.

    The variational sds start at ``start_sigma`` (a dict like ``start``) when given. Otherwise they start at the
    mean-field optimum for a Gaussian with the curvature found at ``start``: :math:`1/\sqrt{H_{ii}}`, with
    :math:`H` the Hessian of the negative log density (with log-Jacobians) there (PRML eq. 10.12: a factorized
    Gaussian fitted by KL(q||p) takes the *diagonal of the precision*, not of the covariance). Where
    :math:`H_{ii} \le 0` (``start`` is not at a mode) PyMC's default sd, log 2, is used.

    Parameters
    ----------
    model : pm.Model
    n : int
        Optimization steps.
    draws : int
        Draws from the fitted Gaussian (one chain).
    random_seed : int, optional
        Seeds the optimizer's Monte Carlo gradients and the draws.
    start, start_sigma : dict, optional
        Starting means and sds, by value variable.
    progressbar : bool
        A line at every tenth of the steps.
    log_likelihood : bool
        Add the pointwise log-likelihood (for ``az.loo``); ``False`` skips its compilation.
    **step_kwargs
        As ``pm.fit`` passes them to the step function (e.g. ``obj_optimizer=pm.adam(learning_rate=0.01)``).

    Returns
    -------
    xarray.DataTree
        ``posterior``, ``observed_data``, ``constant_data``, ``log_likelihood``.
    """
    return advi_fitter(model, n=n, log_likelihood=log_likelihood, **step_kwargs)(random_seed=random_seed, draws=draws,
                                                                                 start=start,
                                                  start_sigma=start_sigma, progressbar=progressbar)


def fit_pathfinder(model: pm.Model, *, draws: int = 1000, random_seed: int | None = None, progressbar: bool = False,
                   **kwargs) -> xr.DataTree:
    r"""Multi-path Pathfinder variational inference (``pymc_extras.fit_pathfinder``), ``draws`` draws (one chain).

    Pathfinder follows L-BFGS from jittered initial points towards the mode of the density of the
    unconstrained parameters (log-Jacobians included). At each iterate it forms the Gaussian
    :math:`\mathcal N(\theta_l + \Sigma_l \nabla \log p(\theta_l), \Sigma_l)`, with :math:`\Sigma_l` the L-BFGS
    estimate of the inverse Hessian, and keeps the one with the highest ELBO. The draws of all paths are then
    importance-resampled with Pareto-smoothed weights :math:`p(\theta)/q(\theta)`, without replacement (PSIS, the
    default ``importance_sampling="psis"``).
    Draws are mapped back (:math:`\sigma = e^{\log\sigma}`) and the deterministics (``w = T w_internal``) are
    computed by pymc-extras.

    Parameters
    ----------
    model : pm.Model
        Any PyMC model; the builders' models get their log-likelihood and data groups added.
    draws : int, default 1000
        Draws returned (pymc-extras' ``num_draws``), all in one chain.
    random_seed : int, optional
        Seeds the jitter of the initial points, the draws and the resampling: the same seed gives the same draws.
    progressbar : bool, default False
        pymc-extras' progress bar (one row per path).
    **kwargs
        Passed to ``pymc_extras.fit_pathfinder``, e.g. ``num_paths`` (default 4), ``jitter`` (default 2.0),
        ``importance_sampling`` (default ``"psis"``). Three defaults differ from pymc-extras':

        - ``parallel=False``: the paths run one after the other in this process. The draws are the same either
          way for a given seed; worker processes cost more than the paths of a small model, and forking a
          process that already runs threads (nutpie, BLAS) can deadlock.
        - ``num_draws_per_path=max(1000, draws)``: the resampling picks ``draws`` out of
          ``num_paths x num_draws_per_path`` draws without replacement, so the pool stays at least
          ``num_paths`` times larger than ``draws`` (with a pool of exactly ``draws`` it would return every draw
          and the importance weights would change nothing).
        - ``compile_kwargs={"mode": ONE_SHOT}`` (:data:`models.fit.backend.ONE_SHOT`, PyTensor's stabilizing
          rewrites and its Python linker): the density, its gradient and the draws are evaluated by NumPy, operation by
          operation, with nothing compiled. A path makes hundreds of evaluations, which cost less than compiling
          the graphs (with the C backend and empty caches, 116 s against 16 s for the three models of
          ``map_vs_posterior``). With the default numba backend, a function compiled afresh and the same function
          loaded from numba's cache differ in their last bits, which L-BFGS carries into the draws (the 13th digit
          of the Pareto k); here nothing is cached, so the same seed gives the same draws bit for bit.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (``w`` with dims ``feature``, ``sigma`` when learned, ``w_internal`` with dims
        ``feature_internal``; dims ``chain`` = 1 and ``draw`` = ``draws``), ``observed_data``, ``constant_data``
        and ``log_likelihood`` as the other rungs, plus pymc-extras' diagnostics: ``pathfinder`` (the Pareto
        :math:`\hat k` of the importance weights, each path's status and ELBO, timings; its ``attrs["warnings"]``
        lists pymc-extras' notes on the run) and ``lbfgs`` (each path's L-BFGS status and iterations).

    References
    ----------
    Zhang, L., Carpenter, B., Gelman, A., & Vehtari, A. (2022). Pathfinder: Parallel quasi-Newton variational
    inference. Journal of Machine Learning Research, 23(306), 1-49.

    Examples
    --------
    A known noise sd and a Normal prior: the posterior is Gaussian, and Pathfinder recovers its mean.

    >>> import numpy as np
    >>> from models import PolynomialBasis, exact_posterior, gaussian_regression, priors
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 1, 20)
    >>> t = np.sin(2 * np.pi * x) + rng.normal(0, 0.3, 20)
    >>> model = gaussian_regression(x, t, basis=PolynomialBasis(3), sigma=0.3, prior=priors.Normal(2.0))
    >>> idata = fit_pathfinder(model, draws=1000, random_seed=1)
    >>> dict(idata.posterior["w"].sizes)
    {'chain': 1, 'draw': 1000, 'feature': 4}
    >>> exact = exact_posterior(model, draws=1000, random_seed=2).posterior["w"]
    >>> error = abs(idata.posterior["w"].mean(("chain", "draw")) - exact.mean(("chain", "draw")))
    >>> bool((error < 0.2 * exact.std(("chain", "draw"))).all())
    True
    """
    check_model(model)
    check_posterior(model)
    draws = check_draws(draws, "draws")
    kwargs.setdefault("parallel", False)
    kwargs.setdefault("num_draws_per_path", max(1000, draws))
    kwargs.setdefault("compile_kwargs", {"mode": ONE_SHOT})  # nothing compiled, nothing cached (above)
    idata = pymc_extras.fit_pathfinder(model=model, num_draws=draws, random_seed=random_seed, progressbar=progressbar,
                                       **kwargs)
    return complete(model, idata)
