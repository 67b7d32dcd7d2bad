r"""NUTS: the reference for any model.

:func:`sample_posterior` runs nutpie's NUTS by default (as ``pm.sample`` does in PyMC 6 when nutpie is installed)
or PyMC's own with ``nuts_sampler="pymc"``. :func:`nuts_fitter` compiles a model once and samples it again for new
values of its ``pm.Data`` (simulation studies, data sets of one structure): the same draws as
:func:`sample_posterior` for the same seed, without the compilation.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm

from ..design import check_posterior
from .backend import compile_mode
from .results import check_draws, check_model, complete

if TYPE_CHECKING:
    from collections.abc import Callable

    import xarray as xr

NUTS_SAMPLERS = ("nutpie", "pymc")


@contextlib.contextmanager
def _pymc_log_level(level):
    """PyMC's logger at ``level`` at most (its own level and handlers otherwise unchanged), restored after."""
    logger = logging.getLogger("pymc")
    previous = logger.level
    logger.setLevel(max(level, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(previous)


def _nutpie_seed(random_seed):
    """nutpie's seed from ours (an int below 2**31; None stays None)."""
    return random_seed if random_seed is None else int(np.random.default_rng(random_seed).integers(2**31))


def sample_posterior(model: pm.Model, *, draws: int = 1000, tune: int = 1000, chains: int = 4,
                     random_seed: int | None = None, nuts_sampler: str = "nutpie", progressbar: bool = False,
                     log_likelihood: bool = True, **kwargs) -> xr.DataTree:
    """NUTS draws from ``model``'s posterior, by the NUTS implementation named in ``nuts_sampler``.

    Parameters
    ----------
    model : pm.Model
        Any PyMC model; the builders' models get their log-likelihood and data groups added.
    draws, tune, chains : int
        Draws kept per chain, tuning steps per chain, number of chains.
    random_seed : int, optional
        Seeds every draw: the same seed gives the same draws.
    nuts_sampler : {"nutpie", "pymc"}
        ``"nutpie"`` (the default, as ``pm.sample`` in PyMC 6 does when nutpie is installed): nutpie's NUTS on the
        model compiled by numba. ``"pymc"``: PyMC's own NUTS (``pm.sample(nuts_sampler="pymc")``), compiled with
        the fitters' backend (:mod:`models.fit.backend`): no compilation of its own for a model whose operations
        the fitters have compiled, so the faster choice for a small model sampled once in a new process; nutpie's
        steps are faster, which pays on hard posteriors and on long runs. PyMC's convergence warnings are off
        (``compute_convergence_checks=False``): the suite's gates are :func:`models.convergence`, for both.
        PyMC's NUTS gets ``early_max_treedepth=5`` unless you pass one (PyMC's default is 8; it bounds the trees of
        the first 200 tuning steps, the later ones keep ``max_treedepth=10``): until its first
        update of the mass matrix, after about 100 tuning steps, it scales every coordinate alike, and in the
        builders' models the weights are whitened while ``log sigma`` has a posterior sd near
        :math:`1/\\sqrt{2N}`; the step size then shrinks to fit ``log sigma`` and each of those early steps builds
        a tree of up to :math:`2^8` leapfrog steps across the weights. Measured on a 200-row, 4-weight Gaussian
        regression (4 chains of 500 + 500 steps): 65 leapfrog steps per step in the first 100, 60% of the run's
        work; with depth 5, 17,700 tuning leapfrog steps instead of 35,000, the same bulk and tail ESS and R-hat.
    progressbar : bool
        The sampler's progress bar; with ``False`` PyMC's NUTS also logs nothing below a warning (its lines
        "Initializing NUTS ...", "Sampling 4 chains ... took ..."), as nutpie prints nothing.
    log_likelihood : bool
        Add the pointwise log-likelihood (for ``az.loo``); ``False`` skips its compilation.
    **kwargs
        Passed to the sampler: ``target_accept``, and for nutpie e.g. ``adaptation="low_rank"`` (its low-rank
        mass matrix, for strongly correlated posteriors).

    Returns
    -------
    xarray.DataTree
        ``posterior``, ``sample_stats``, ``observed_data``, ``constant_data`` and ``log_likelihood``; the
        sampler that ran is named in ``posterior.attrs["nuts_sampler"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from models import gaussian_regression
    >>> model = gaussian_regression(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.1, 0.9, 2.1, 2.9]), sigma=0.2)
    >>> idata = sample_posterior(model, draws=100, tune=100, chains=2, random_seed=1, nuts_sampler="pymc")
    >>> idata.posterior.attrs["nuts_sampler"], dict(idata.posterior["w"].sizes)
    ('pymc', {'chain': 2, 'draw': 100, 'feature': 2})

    PyMC's own NUTS here: a small model sampled once, for which nutpie's numba compilation (20-40 s with empty
    caches) costs more than its faster steps save.
    """
    check_model(model)
    check_posterior(model)
    if kwargs.get("sampler") in NUTS_SAMPLERS:  # the suite's old keyword; nutpie's own sampler= ("mclmc") passes
        raise TypeError("sample_posterior takes nuts_sampler= (PyMC's name), not sampler=")
    draws, tune, chains = check_draws(draws, "draws"), check_draws(tune, "tune"), check_draws(chains, "chains")
    if nuts_sampler not in NUTS_SAMPLERS:
        raise ValueError(f"nuts_sampler must be one of {NUTS_SAMPLERS}, got {nuts_sampler!r}")
    if nuts_sampler == "nutpie":  # one call of a fresh fitter: the draws of nuts_fitter for the same seed
        return nuts_fitter(model, draws=draws, tune=tune, chains=chains, log_likelihood=log_likelihood,
                           progressbar=progressbar, **kwargs)(random_seed)
    # the pointwise log-likelihood is added by complete (on statistics, the rows', not the statistics')
    kwargs.setdefault("compute_convergence_checks", False)
    kwargs.setdefault("early_max_treedepth", 5)  # shallow trees until the first mass-matrix update (docstring)
    with compile_mode(), _pymc_log_level(logging.INFO if progressbar else logging.WARNING):
        # PyMC's NUTS compiles its density and gradient with the fitters' backend (models.fit.backend)
        idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=random_seed, model=model,
                          nuts_sampler="pymc", progressbar=progressbar, **kwargs)
    idata["posterior"].attrs["nuts_sampler"] = nuts_sampler
    return complete(model, idata, log_likelihood)


def nuts_fitter(model: pm.Model, *, draws: int = 1000, tune: int = 1000, chains: int = 4, log_likelihood: bool = False,
                progressbar: bool = False, **kwargs) -> Callable[..., xr.DataTree]:
    """nutpie's NUTS on ``model``, compiled once, for many data sets of the same structure.

    Parameters
    ----------
    model : pm.Model
        The model whose structure every data set shares; data sets differ only in its ``pm.Data`` values.
    draws, tune, chains : int
    log_likelihood : bool
        Whether each result gets its pointwise log-likelihood (off by default: simulation studies rarely need it).
    progressbar : bool
        nutpie's progress bar.
    **kwargs
        Passed to ``nutpie.sample`` (``target_accept``, ``adaptation``, ...).

    Returns
    -------
    callable
        ``fit(random_seed=None, **data) -> xarray.DataTree``: sets the ``pm.Data`` values in ``data`` (by name;
        e.g. ``t_obs=t``) in the compiled model and in ``model`` (``pm.set_data``, so the result's data groups
        are the new ones) and samples. For the same seed and data it returns the draws of
        ``sample_posterior(model, nuts_sampler="nutpie", ...)``.
    """
    import nutpie

    check_model(model)
    check_posterior(model)
    draws, tune, chains = check_draws(draws, "draws"), check_draws(tune, "tune"), check_draws(chains, "chains")
    compiled = nutpie.compile_pymc_model(model)
    kwargs.setdefault("save_warmup", False)
    names = {v.name for v in model.data_vars}

    def fit(random_seed=None, **data):
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{unknown} are not pm.Data of the model; they are {sorted(names)}")
        if data:
            pm.set_data(data, model=model)
        current = compiled.with_data(**{name: model[name].get_value() for name in data}) if data else compiled
        idata = nutpie.sample(current, draws=draws, tune=tune, chains=chains, seed=_nutpie_seed(random_seed),
                              progress_bar=progressbar, **kwargs)
        idata["posterior"].attrs["nuts_sampler"] = "nutpie"
        return complete(model, idata, log_likelihood)

    return fit
