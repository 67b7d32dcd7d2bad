r"""Result assembly shared by every rung: points in the model's own variables, and DataTrees in ArviZ 1's schema.

- :func:`model_point`: every free variable and deterministic of a model at given values of its free variables;
- :func:`value_point`: the same point in the sampler's (transformed) value variables, through the model's own
  transforms (``model.rvs_to_transforms``), never through variable names;
- :func:`complete`: adds ``observed_data``, ``constant_data`` and the pointwise ``log_likelihood`` to a result;
- :func:`add_log_likelihood`: the pointwise log-likelihood, also for models observed through statistics;
- :func:`loo_by_chunks`: PSIS-LOO made chunk by chunk where the rows are, for data too large for that matrix.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr
from pymc.blocking import DictToArrayBijection, RaveledVars

from .._checks import PACKAGE, check_model, posterior_tree
from ..design import design_of
from .backend import ONE_SHOT, in_compile_mode

LOG_LIKELIHOOD_MAX_VALUES = 25_000_000  # 200 MB of float64: larger pointwise log-likelihoods only when asked


def check_draws(value, name: str) -> int:
    """``value`` as a positive int, or a ValueError naming ``name``.

    Parameters
    ----------
    value : object
        The argument to check (a bool is refused).
    name : str
        The argument's name, for the message.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    ValueError
        When ``value`` is not an integer >= 1.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def model_point(model, free_values: dict) -> dict:
    """Every free variable and deterministic of ``model`` (its own variables: ``sigma``, not its log), as NumPy
    arrays, from the values of its free variables; the deterministics are computed by the model's graph.

    Parameters
    ----------
    model : pm.Model
        The model.
    free_values : dict
        ``{name: value}`` for every free variable, in the model's own space.

    Returns
    -------
    dict
        ``{name: ndarray}`` for every free variable and deterministic.
    """
    free = {rv.name: np.asarray(free_values[rv.name], dtype=float) for rv in model.free_RVs}
    if model.deterministics:
        function = model.compile_fn(list(model.deterministics), inputs=list(model.free_RVs), on_unused_input="ignore",
                                    mode=ONE_SHOT,
                                    point_fn=False)
        values = function(*(free[rv.name] for rv in model.free_RVs))
        free.update({v.name: np.asarray(value) for v, value in zip(model.deterministics, values)})
    return free


def free_from_values(model, values: dict) -> dict:
    """The free variables' values (``sigma``) from a point of the value variables (the log of ``sigma``).

    Parameters
    ----------
    model : pm.Model
        The model.
    values : dict
        ``{value variable name: value}`` for every value variable (e.g. ``sigma_log__``).

    Returns
    -------
    dict
        ``{free variable name: ndarray}``, through each variable's backward transform.
    """
    outputs = model.replace_rvs_by_values(list(model.free_RVs))
    function = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore", point_fn=False,
                                mode=ONE_SHOT)
    results = function(*(values[v.name] for v in model.value_vars))
    return {rv.name: np.asarray(value) for rv, value in zip(model.free_RVs, results)}


def value_point(model, free_values: dict) -> dict:
    """The point of the value variables for given free-variable values (all or some), through each variable's
    transform.

    Parameters
    ----------
    model : pm.Model
        The model.
    free_values : dict
        ``{free variable name: value}`` in the model's own space, for some or all free variables (other keys,
        e.g. deterministics, are ignored).

    Returns
    -------
    dict
        ``{value variable name: ndarray}`` for the free variables given.
    """
    point = {}
    for rv in model.free_RVs:
        if rv.name not in free_values:
            continue
        value = np.asarray(free_values[rv.name], dtype=float)
        transform = model.rvs_to_transforms[rv]
        if transform is not None:
            value = np.asarray(transform.forward(value, *rv.owner.inputs).eval(mode=ONE_SHOT))
        point[model.rvs_to_values[rv].name] = value
    return point


def raveled(model, point: dict):
    """(theta, unravel): a point of the value variables as one flat vector, and its inverse.

    Parameters
    ----------
    model : pm.Model
        The model (its ``value_vars`` fix the order).
    point : dict
        ``{value variable name: value}`` for every value variable.

    Returns
    -------
    theta : ndarray (n,)
        The values, raveled and concatenated.
    unravel : callable
        ``unravel(vector) -> dict``, from a flat vector back to a point.
    """
    flat = DictToArrayBijection.map({v.name: point[v.name] for v in model.value_vars})
    info = flat.point_map_info
    return flat.data, lambda vector: DictToArrayBijection.rmap(RaveledVars(vector, info))


def _observed_value(variable):
    """The numbers behind an observed variable: a pm.Data's value or a constant's (``.eval()`` would compile)."""
    if hasattr(variable, "get_value"):
        return np.asarray(variable.get_value())
    if hasattr(variable, "data"):
        return np.asarray(variable.data)
    return np.asarray(variable.eval())


def complete(model, idata, log_likelihood: bool = True):
    """Add ``observed_data`` / ``constant_data`` (when missing) and, unless told not to, the pointwise
    log-likelihood (left out, with a warning, when it would exceed ``LOG_LIKELIHOOD_MAX_VALUES`` values).

    Parameters
    ----------
    model : pm.Model
        The model the draws are from.
    idata : xarray.DataTree
        With a ``posterior`` group; changed in place.
    log_likelihood : bool, default True
        Whether to add the pointwise log-likelihood (when not there yet).

    Returns
    -------
    xarray.DataTree
        ``idata`` itself.
    """
    if "observed_data" not in idata.children:
        observed = {rv.name: _observed_value(model.rvs_to_values[rv]) for rv in model.observed_RVs}
        constant = {v.name: np.asarray(v.get_value()) for v in model.data_vars}
        dims = {name: list(model.named_vars_to_dims[name]) for name in (*observed, *constant)
                if model.named_vars_to_dims.get(name)}
        coords = {k: np.asarray(v) for k, v in model.coords.items()}
        groups = {"observed_data": observed, "constant_data": constant}
        idata.update(az.from_dict({k: v for k, v in groups.items() if v}, coords=coords, dims=dims))
    if log_likelihood and "log_likelihood" not in idata.children:
        design = design_of(model)
        if design is not None and design.statistics is not None:
            size = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"] * design.statistics.n
            if size > LOG_LIKELIHOOD_MAX_VALUES:
                warnings.warn(f"the pointwise log-likelihood would hold {size:.3g} values ({size * 8 / 1e9:.3g} GB): "
                              "left out; add_log_likelihood(model, idata) adds it", UserWarning,
                              skip_file_prefixes=(PACKAGE,))
                return idata
        add_log_likelihood(model, idata)
    return idata


@in_compile_mode
def add_log_likelihood(model: pm.Model, idata: xr.DataTree) -> xr.DataTree:
    r"""Add the pointwise :math:`\log p(t_n \mid x_n, \theta^{(s)})` of every draw as ``idata.log_likelihood["t"]``.

    For a model observed through its sufficient statistics the rows are read again from the data behind them
    (NumPy, memory-mapped or Dask), chunk by chunk, so the extra memory is the result plus ~32 MB per chunk.
    Other models use ``pm.compute_log_likelihood``.

    Parameters
    ----------
    model : pm.Model
    idata : xarray.DataTree
        With a ``posterior`` group.

    Returns
    -------
    xarray.DataTree
        ``idata``, with ``log_likelihood["t"]`` (dims ``chain, draw, obs_id``), for ``az.loo`` / ``az.compare``.
    """
    check_model(model)
    posterior_tree(idata)
    design = design_of(model)
    if design is None or design.statistics is None:
        pm.compute_log_likelihood(idata, model=model, extend_inferencedata=True, progressbar=False)
        return idata
    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    pieces = _pointwise_pieces(design, posterior)
    values = np.concatenate(design.data.map(lambda x, t: np.concatenate(list(pieces(x, t)), axis=1)), axis=1)
    values = values.reshape(chains, draws, -1)
    idata["log_likelihood"] = xr.Dataset({"t": (("chain", "draw", "obs_id"), values)},
                                         coords={"chain": posterior["chain"], "draw": posterior["draw"],
                                                 "obs_id": np.arange(values.shape[-1])})
    return idata


def _pointwise_pieces(design, posterior):
    """``pieces(x, t)``: yields the (draws, rows) pointwise log-likelihood of a chunk of rows, in pieces whose
    (rows x draws) temporaries hold 32 MB."""
    internal = posterior["w_internal"].values
    internal = internal.reshape(-1, internal.shape[-1])
    likelihood = design.likelihood
    if likelihood.learns_scale:
        sigma = posterior[likelihood.scale_name].values.reshape(-1)
    else:
        sigma = np.full(len(internal), likelihood.fixed_scale)
    rows = max(1, 2**22 // len(sigma))

    def pieces(x, t):
        for start in range(0, len(t), rows):
            mu = internal @ design.internal_design(x[start:start + rows]).T  # (draws, rows)
            yield likelihood.pointwise_log_likelihood(t[start:start + rows], mu, sigma[:, None])

    return pieces


def loo_by_chunks(model: pm.Model, idata: xr.DataTree):
    r"""PSIS-LOO of a model observed through its sufficient statistics, made where the rows are: chunk by chunk
    (on the workers, partition by partition, for Dask data), each piece's pointwise log-likelihood is Pareto-smoothed
    (ArviZ's own ``array_stats.loo``) and summed at once; only a few numbers per chunk travel and the
    (draws x N) matrix is never held.

    The sums are combined exactly: :math:`\widehat{\mathrm{elpd}} = \sum_i \mathrm{elpd}_i`,
    :math:`p_\mathrm{loo} = \sum_i p_i` and :math:`\mathrm{se} = \sqrt{N\,\mathrm{var}(\mathrm{elpd}_i)}`
    (ddof 1, as ``az.loo``) from each chunk's count, mean and sum of squared deviations (Chan, Golub & LeVeque
    1979); ``r_eff`` is ``az.loo``'s (the mean relative ESS of the posterior's variables).

    Parameters
    ----------
    model : pm.Model
        A builder's model observed through sufficient statistics (NumPy, memory-mapped or Dask data).
    idata : xarray.DataTree
        Its posterior (``w_internal`` and, when learned, the noise scale).

    Returns
    -------
    arviz_stats.utils.ELPDDataLOO
        What ``az.loo(idata)`` returns with ``pointwise=False`` (elpd, se, p_loo, warning, good_k); a warning
        names how many rows have Pareto k above ``good_k`` and the worst row.

    Raises
    ------
    ValueError
        For a model that holds its rows in its graph (use ``az.loo`` after ``add_log_likelihood``).
    """
    from arviz_stats.base import array_stats
    from arviz_stats.utils import ELPDDataLOO

    check_model(model)
    posterior = posterior_tree(idata).posterior
    design = design_of(model)
    if design is None or design.statistics is None:
        raise ValueError("loo_by_chunks is for models observed through their sufficient statistics; this model "
                         "holds its rows: use az.loo(idata) (after add_log_likelihood(model, idata))")
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    samples = chains * draws
    r_eff = 1.0
    if chains > 1:
        ess = az.ess(posterior.to_dataset(), method="mean")
        r_eff = float(np.hstack([ess[v].values.ravel() for v in ess.data_vars]).mean() / samples)
    good_k = min(1 - 1 / np.log10(samples), 0.7) if samples > 1 else 0.7
    pieces = _pointwise_pieces(design, posterior)

    def chunk_summary(x, t):
        summary = None
        for values in pieces(x, t):
            elpd_i, k, p_i = array_stats.loo(values.reshape(chains, draws, -1), chain_axis=0, draw_axis=1,
                                             r_eff=r_eff)
            summary = _merged_loo(summary, _loo_summary(elpd_i, k, p_i, good_k))
        return summary

    n, mean, squares, p_loo, above, worst_k, worst_row = design.data.reduce(chunk_summary, _merged_loo)
    if above:
        warnings.warn(f"Pareto k above {good_k:.2f} for {above} of {n} rows (largest {worst_k:.2f}, row "
                      f"{worst_row}): importance sampling is unreliable there", UserWarning,
                      skip_file_prefixes=(PACKAGE,))
    se = float(np.sqrt(n * squares / (n - 1))) if n > 1 else 0.0
    return ELPDDataLOO(elpd=float(n * mean), se=se, p=float(p_loo), n_samples=samples, n_data_points=n,
                       scale="log", warning=bool(above), good_k=good_k)


def _loo_summary(elpd_i, k, p_i, good_k):
    """(count, mean, sum of squared deviations of elpd_i, sum of p_i, rows with k > good_k, largest k, its row)."""
    worst = int(np.argmax(k))
    return (len(elpd_i), float(np.mean(elpd_i)), float(np.sum((elpd_i - np.mean(elpd_i)) ** 2)), float(np.sum(p_i)),
            int(np.sum(k > good_k)), float(k[worst]), worst)


def _merged_loo(a, b):
    """Two consecutive chunks' summaries as one (Chan et al.'s pairwise update of the mean and squared
    deviations; ``b``'s rows come after ``a``'s)."""
    if a is None or b is None:
        return a if b is None else b
    n = a[0] + b[0]
    delta = b[1] - a[1]
    mean = a[1] + delta * b[0] / n
    squares = a[2] + b[2] + delta**2 * a[0] * b[0] / n
    worst = (a[5], a[6]) if a[5] >= b[5] else (b[5], a[0] + b[6])
    return n, mean, squares, a[3] + b[3], a[4] + b[4], *worst


def posterior_from_internal(model, design, internal, scale=None, log_likelihood: bool = True):
    """A DataTree from draws of ``w_internal`` (chain, draw, p) and of the learned scale (chain, draw).

    Parameters
    ----------
    model : pm.Model
        A builder's model (for its coordinates and data).
    design : models.design.Design
        Its design (``w = design.w_from_internal(internal)``).
    internal : ndarray (chain, draw, p)
        Draws of ``w_internal``.
    scale : ndarray (chain, draw), optional
        Draws of the learned scale, stored under the likelihood's ``scale_name``.
    log_likelihood : bool, default True
        Whether to add the pointwise log-likelihood.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (``w_internal``, ``w`` and the scale), completed by :func:`complete`.
    """
    posterior = {"w_internal": internal, "w": design.w_from_internal(internal)}
    if scale is not None:
        posterior[design.likelihood.scale_name] = scale
    idata = az.from_dict(
        {"posterior": posterior},
        coords={"feature": list(model.coords["feature"]), "feature_internal": list(model.coords["feature_internal"])},
        dims={"w": ["feature"], "w_internal": ["feature_internal"]},
    )
    return complete(model, idata, log_likelihood)


def idata_from_values(model, values: dict, log_likelihood: bool = True):
    """A DataTree from draws of the value variables, ``{name: (chain, draw, ...)}``: each is mapped back
    through its transform (``sigma`` = exp of its log) and the deterministics (``w``, ``v``, sigma(x)) are
    computed by the model itself.

    Parameters
    ----------
    model : pm.Model
        The model the draws are from.
    values : dict
        ``{value variable name: ndarray (chain, draw, ...)}`` for every free variable's value variable.
    log_likelihood : bool
        Whether :func:`complete` adds the pointwise log-likelihood.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (free variables and deterministics), completed by :func:`complete`.
    """
    posterior = {}
    for rv in model.free_RVs:
        value = values[model.rvs_to_values[rv].name]
        transform = model.rvs_to_transforms[rv]
        if transform is not None:
            value = np.asarray(transform.backward(value, *rv.owner.inputs).eval(mode=ONE_SHOT))
        posterior[rv.name] = value
    dims = {name: list(model.named_vars_to_dims[name]) for name in posterior if model.named_vars_to_dims.get(name)}
    coords = {name: list(labels) for name, labels in model.coords.items()}
    idata = az.from_dict({"posterior": posterior}, coords=coords, dims=dims)
    dataset = idata["posterior"].to_dataset()
    deterministics = pm.compute_deterministics(dataset, model=model, progressbar=False)
    idata["posterior"] = dataset.merge(deterministics)
    return complete(model, idata, log_likelihood)
