r"""Pathfinder (Zhang et al. 2022) through pymc-extras, returned in the shape of the other rungs of the ladder.

Pathfinder runs L-BFGS from a few jittered starting points and, along each optimization path, fits a Gaussian
whose covariance is the L-BFGS inverse-Hessian estimate; it keeps the Gaussian of each path with the best ELBO
and importance-resamples the pooled draws of all paths (Pareto-smoothed). It sits between the Laplace
approximation (one Gaussian, exact Hessian, at the mode) and ADVI (a Gaussian fitted by stochastic gradients).
"""

import warnings

from .posterior import _check_draws, _check_model, _finish

with warnings.catch_warnings():
    # pymc-extras 0.15.1 imports better_optimize.constants.MINIMIZE_MODE_KWARGS when it is imported
    # (pymc_extras/inference/laplace_approx/scipy_interface.py), a name better_optimize has deprecated. It is
    # pymc-extras' own import, not something we call; a pymc-extras that drops it makes this filter a no-op.
    warnings.filterwarnings("ignore", message="better_optimize.constants.MINIMIZE_MODE_KWARGS is deprecated",
                            category=DeprecationWarning, module="pymc_extras")
    import pymc_extras


def fit_pathfinder(model, *, draws=1000, random_seed=None, progressbar=False, **kwargs):
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
        ``importance_sampling`` (default ``"psis"``). Two defaults differ from pymc-extras':

        - ``parallel=False``: the paths run one after the other in this process. The draws are the same either
          way for a given seed; worker processes cost more than the paths of a small model, and forking a
          process that already runs threads (nutpie, BLAS) can deadlock.
        - ``num_draws_per_path=max(1000, draws)``: the resampling picks ``draws`` out of
          ``num_paths x num_draws_per_path`` draws without replacement, so the pool stays at least
          ``num_paths`` times larger than ``draws`` (with a pool of exactly ``draws`` it would return every draw
          and the importance weights would change nothing).

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
    >>> from models import PolynomialBasis, exact_posterior, fit_pathfinder, gaussian_regression, priors
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
    _check_model(model)
    draws = _check_draws(draws, "draws")
    kwargs.setdefault("parallel", False)
    kwargs.setdefault("num_draws_per_path", max(1000, draws))
    idata = pymc_extras.fit_pathfinder(model=model, num_draws=draws, random_seed=random_seed, progressbar=progressbar,
                                       **kwargs)
    return _finish(model, idata)
