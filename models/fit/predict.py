r"""The posterior predictive at new inputs."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr
from pymc.model.fgraph import clone_model

from .._checks import as_new_inputs, posterior_tree
from ..design import design_of
from ..statistics import input_blocks, is_dask
from .backend import in_compile_mode
from .results import check_model

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


@in_compile_mode
def predict(model: pm.Model, idata: xr.DataTree, x_new: ArrayLike, *, random_seed: int | None = None) -> xr.DataTree:
    r"""Posterior predictive at new inputs: ``t`` and ``mu`` = y(x_new | w) per posterior draw.

    ``mu`` is the linear predictor: the mean for the identity links, the logit(s) or log-mean for the others
    (dims ``obs_id``, plus ``class`` for Categorical). A family that can draw in NumPy (``Likelihood.draw``: the
    Gaussian with a fixed or learned sigma) draws ``t`` there, with nothing to compile; the others go through
    ``pm.sample_posterior_predictive`` on a clone of ``model`` (``pm.set_data`` on the clone; the model itself is
    not changed), where the deterministics that depend on x (sigma(x)) are recomputed at x_new. For a known sigma
    and a conjugate prior, the variance of ``t`` is :math:`\sigma^2 + \phi(x)^\top S_N \phi(x)` (PRML eq. 3.59).

    Parameters
    ----------
    model : RegressionModel
        Made by a builder (and not edited since).
    idata : xarray.DataTree
        With a ``posterior`` group holding ``w_internal`` (and the learned scale), as every rung returns.
    x_new : array (M,) or (M, D), or a Dask array or DataFrame columns
        New inputs, shaped like the training inputs. A Dask input (``da.from_zarr``, ``ddf[["x1", "x2"]]``) is
        predicted on Dask's workers, block by block, for a family with a NumPy sampler: ``t`` and ``mu`` come back
        lazy (Dask arrays chunked like the input's rows), so a reduction (``.mean("draw")``) runs where the rows
        are; each block's draws come from its own stream spawned from ``random_seed``.
    random_seed : int, optional
        For the draws of ``t``.

    Returns
    -------
    xarray.DataTree
        A ``predictions`` group with ``t`` and ``mu`` (dims ``chain``, ``draw``, ``obs_id`` over x_new).

    Examples
    --------
    >>> import numpy as np
    >>> from models import exact_posterior, gaussian_regression
    >>> model = gaussian_regression(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.9, 2.1]), sigma=0.5)
    >>> idata = exact_posterior(model, draws=50, random_seed=0, log_likelihood=False)
    >>> dict(predict(model, idata, np.array([3.0, 4.0]), random_seed=1).predictions["t"].sizes)
    {'chain': 1, 'draw': 50, 'obs_id': 2}
    """
    check_model(model)
    design = design_of(model)
    if design is None:
        raise ValueError("predict needs a model made (and not edited since) by the builders")
    posterior_tree(idata)
    if is_dask(x_new):
        return _predict_on_workers(design, idata, x_new, design.input_template(model), random_seed)
    x_new = as_new_inputs(x_new, design.input_template(model))
    m = len(x_new)
    internal = idata.posterior["w_internal"].values  # (chain, draw, p), or (chain, draw, p, K - 1) for Categorical
    mu = np.einsum("np,cdp...->cdn...", design.internal_design(x_new), internal)
    dims = ("chain", "draw", "obs_id") + (("class",) if mu.ndim == 4 else ())
    try:  # a family with a NumPy sampler: no compilation (and the only way for a model on statistics)
        t = design.likelihood.draw(mu, idata.posterior, np.random.default_rng(random_seed))
    except NotImplementedError:
        t = None
    if t is not None:
        return az.from_dict({"predictions": {"t": t, "mu": mu}}, pred_coords={"obs_id": np.arange(m)},
                            pred_dims={"t": ["obs_id"], "mu": ["obs_id"]})
    clone = clone_model(model)
    t_dtype = model["t_obs"].get_value().dtype  # integer labels and counts stay integers
    # a placeholder for t, in every likelihood's support (0 for labels and counts, 1 for positive targets)
    t_placeholder = np.zeros(m, dtype=t_dtype) if t_dtype.kind in "iu" else np.ones(m, dtype=t_dtype)
    pm.set_data({"x": x_new, "t_obs": t_placeholder}, model=clone, coords={"obs_id": np.arange(m)})
    with warnings.catch_warnings():
        # PyMC warns that Potentials are ignored when sampling forward. Ours is the prior on w, already in the
        # posterior draws; t given w does not involve it, so the predictive draws are exact.
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        predictions = pm.sample_posterior_predictive(idata, model=clone, var_names=["t"], predictions=True,
                                                     random_seed=random_seed, progressbar=False)
    group = predictions["predictions"].to_dataset()
    group["mu"] = xr.DataArray(mu, dims=dims, coords={d: group[d] for d in dims if d in group.coords})
    predictions["predictions"] = group
    return predictions


def _predict_block(x, internal_design, likelihood, internal, scales, seed):
    """``mu`` and ``t`` (chain, draw, rows) at one block of new inputs (run where the block is read)."""
    mu = np.einsum("np,cdp->cdn", internal_design(x), internal)
    return mu, likelihood.draw(mu, scales, np.random.default_rng(seed))


def _predict_on_workers(design, idata, x_new, template, random_seed):
    """:func:`predict` at a Dask input: one task per block of rows, the result lazy (see ``predict``)."""
    import dask
    import dask.array as da

    likelihood, posterior = design.likelihood, idata.posterior
    internal = posterior["w_internal"].values
    chains, draws = internal.shape[:2]
    try:  # the family says whether it draws in NumPy (at zero new inputs: nothing to draw)
        likelihood.draw(np.zeros((chains, draws, 0)), posterior, np.random.default_rng(0))
    except NotImplementedError as reason:
        raise ValueError(f"predict on a Dask input needs a family that draws in NumPy ({reason}): pass NumPy "
                         "inputs (x_new.compute())") from None
    blocks, lengths = input_blocks(x_new, "x_new", template)
    scales = posterior.to_dataset()[[likelihood.scale_name]] if likelihood.learns_scale else None
    # only what a block needs travels with its task (the design's training data stay behind)
    internal_design = replace(design, data=None, statistics=None).internal_design
    seeds = np.random.SeedSequence(random_seed).spawn(len(blocks))
    mu_blocks, t_blocks = [], []
    for block, rows, seed in zip(blocks, lengths, seeds):
        pair = dask.delayed(_predict_block, nout=2)(block, internal_design, likelihood, internal, scales, seed)
        mu_blocks.append(da.from_delayed(pair[0], (chains, draws, rows), dtype=np.float64))
        t_blocks.append(da.from_delayed(pair[1], (chains, draws, rows), dtype=np.float64))
    dims = ("chain", "draw", "obs_id")
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values, "obs_id": np.arange(sum(lengths))}
    group = xr.Dataset({"t": (dims, da.concatenate(t_blocks, axis=2)), "mu": (dims, da.concatenate(mu_blocks, axis=2))},
                       coords=coords)
    return xr.DataTree.from_dict({"predictions": group})
