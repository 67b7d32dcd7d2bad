r"""From the MAP point to the full posterior: every rung returns an ``xarray.DataTree`` (ArviZ 1's schema).

- :func:`sample_posterior`: NUTS (nutpie's by default, as ``pm.sample`` does when nutpie is installed, or PyMC's
  own with ``nuts_sampler="pymc"``), the reference for any model;
- :func:`exact_posterior`: iid draws from the closed form where the model is conjugate
  (PRML eq. 3.49-3.51 for a known :math:`\sigma`; the Normal-inverse-gamma / Student-t case for a flat
  ``w`` and a flat or :math:`1/\sigma` prior on :math:`\sigma`, BDA3 section 14.2);
- :func:`fit_laplace`: a Gaussian at the MAP with the exact Hessian of the model's log density in the
  unconstrained space (PRML section 4.4), mapped back;
- :func:`models.fit_pathfinder` (in :mod:`models.pathfinder`): pymc-extras' Pathfinder, quasi-Newton paths and
  importance resampling;
- :func:`fit_advi`: mean-field ADVI through ``pm.fit``, started at the MAP and its curvature;
- :func:`predict`: the posterior predictive at new inputs through ``pm.set_data``.

Every result has the groups ``posterior`` (``w`` with dims ``feature``, ``sigma`` when learned, and the
sampler's ``w_internal``), ``observed_data``, ``constant_data`` and ``log_likelihood`` (for ``az.loo``);
NUTS adds ``sample_stats``.
"""

import warnings

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr
from pymc.blocking import DictToArrayBijection, RaveledVars
from pymc.model.fgraph import clone_model
from scipy.linalg import solve_triangular

from ._checks import as_new_inputs, posterior_tree
from .builders import spec_of
from .inference import _gaussian_data, fit_map
from .likelihoods import Gaussian
from .likelihoods import Laplace as LaplaceLikelihood
from .priors import Flat, HalfFlat, Jeffreys, Normal


def _check_model(model):
    if not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pm.Model, got {type(model).__name__}")


def _check_draws(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _observed_value(variable):
    """The numbers behind an observed variable: a pm.Data's value or a constant's (``.eval()`` would compile)."""
    if hasattr(variable, "get_value"):
        return np.asarray(variable.get_value())
    if hasattr(variable, "data"):
        return np.asarray(variable.data)
    return np.asarray(variable.eval())


def _finish(model, idata, log_likelihood=True):
    """Add observed_data / constant_data (when missing) and, unless told not to, the pointwise log-likelihood."""
    if "observed_data" not in idata.children:
        observed = {rv.name: _observed_value(model.rvs_to_values[rv]) for rv in model.observed_RVs}
        constant = {v.name: np.asarray(v.get_value()) for v in model.data_vars}
        dims = {name: list(model.named_vars_to_dims[name]) for name in (*observed, *constant)
                if model.named_vars_to_dims.get(name)}
        coords = {k: np.asarray(v) for k, v in model.coords.items()}
        groups = {"observed_data": observed, "constant_data": constant}
        idata.update(az.from_dict({k: v for k, v in groups.items() if v}, coords=coords, dims=dims))
    if log_likelihood and "log_likelihood" not in idata.children:
        spec = spec_of(model)
        if spec is not None and spec.statistics is not None:
            size = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"] * spec.statistics.n
            if size > LOG_LIKELIHOOD_MAX_VALUES:
                warnings.warn(f"the pointwise log-likelihood would hold {size:.3g} values ({size * 8 / 1e9:.3g} GB): "
                              "left out; add_log_likelihood(model, idata) adds it", UserWarning, stacklevel=3)
                return idata
        add_log_likelihood(model, idata)
    return idata


LOG_LIKELIHOOD_MAX_VALUES = 25_000_000  # 200 MB of float64: larger pointwise log-likelihoods only when asked


def add_log_likelihood(model, idata):
    r"""Add the pointwise :math:`\log p(t_n \mid x_n, \theta^{(s)})` of every draw as ``idata.log_likelihood["t"]``
    (dims ``chain, draw, obs_id``), for ``az.loo`` / ``az.compare``; returns ``idata``.

    For a model observed through its sufficient statistics the rows are read again from the data behind them
    (NumPy, memory-mapped or Dask), chunk by chunk, so the extra memory is the result plus ~32 MB per chunk.
    Other models use ``pm.compute_log_likelihood``.
    """
    _check_model(model)
    posterior_tree(idata)
    spec = spec_of(model)
    if spec is None or spec.statistics is None:
        pm.compute_log_likelihood(idata, model=model, extend_inferencedata=True, progressbar=False)
        return idata
    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    internal = posterior["w_internal"].values.reshape(chains * draws, -1)
    if spec.likelihood.learns_sigma:
        sigma = posterior["sigma"].values.reshape(-1)
    else:
        sigma = np.full(chains * draws, spec.likelihood.sigma)
    rows = max(1, 2**22 // len(sigma))  # (rows x draws) temporaries of 32 MB

    def log_likelihood(x, t):
        pieces = []
        for start in range(0, len(t), rows):
            mu = internal @ spec.internal_design(x[start:start + rows]).T  # (draws, rows)
            residual = (t[start:start + rows] - mu) / sigma[:, None]
            pieces.append(-0.5 * np.log(2 * np.pi) - np.log(sigma)[:, None] - 0.5 * residual**2)
        return np.concatenate(pieces, axis=1)

    values = np.concatenate(spec.data.map(log_likelihood), axis=1).reshape(chains, draws, -1)
    idata["log_likelihood"] = xr.Dataset({"t": (("chain", "draw", "obs_id"), values)},
                                         coords={"chain": posterior["chain"], "draw": posterior["draw"],
                                                 "obs_id": np.arange(values.shape[-1])})
    return idata


def _posterior_idata(model, internal, sigma=None, log_likelihood=True):
    """A DataTree from draws of ``w_internal`` (chain, draw, p) and ``sigma`` (chain, draw)."""
    spec = spec_of(model)
    posterior = {"w_internal": internal, "w": internal @ spec.to_w.T}
    if sigma is not None:
        posterior["sigma"] = sigma
    idata = az.from_dict(
        {"posterior": posterior},
        coords={"feature": list(model.coords["feature"]), "feature_internal": list(model.coords["feature_internal"])},
        dims={"w": ["feature"], "w_internal": ["feature_internal"]},
    )
    return _finish(model, idata, log_likelihood)


NUTS_SAMPLERS = ("nutpie", "pymc")


def sample_posterior(model, *, draws=1000, tune=1000, chains=4, random_seed=None, nuts_sampler="nutpie",
                     progressbar=False, **kwargs):
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
        model compiled by numba; for models observed through sufficient statistics a compiled model of the same
        structure is reused with the new data (``with_data``), so a new data set costs the sampling alone.
        ``"pymc"``: PyMC's own NUTS (``pm.sample(nuts_sampler="pymc")``).
    progressbar : bool
        The sampler's progress bar.
    **kwargs
        Passed to the sampler: ``target_accept``, and for nutpie e.g. ``adaptation="low_rank"`` (its low-rank
        mass matrix, for strongly correlated posteriors).

    Returns
    -------
    xarray.DataTree
        ``posterior``, ``sample_stats``, ``observed_data``, ``constant_data`` and ``log_likelihood``; the
        sampler that ran is named in ``posterior.attrs["nuts_sampler"]``.
    """
    _check_model(model)
    if kwargs.get("sampler") in NUTS_SAMPLERS:  # the suite's old keyword; nutpie's own sampler= ("mclmc") passes
        raise TypeError("sample_posterior takes nuts_sampler= (PyMC's name), not sampler=")
    draws, tune, chains = _check_draws(draws, "draws"), _check_draws(tune, "tune"), _check_draws(chains, "chains")
    if nuts_sampler not in NUTS_SAMPLERS:
        raise ValueError(f"nuts_sampler must be one of {NUTS_SAMPLERS}, got {nuts_sampler!r}")
    if nuts_sampler == "pymc":
        # the pointwise log-likelihood is added by _finish (on statistics, the rows', not the statistics')
        idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=random_seed, model=model,
                          nuts_sampler="pymc", progressbar=progressbar, **kwargs)
    else:
        import nutpie

        seed = random_seed if random_seed is None else int(np.random.default_rng(random_seed).integers(2**31))
        kwargs.setdefault("save_warmup", False)
        idata = nutpie.sample(_nutpie_compiled(model), draws=draws, tune=tune, chains=chains, seed=seed,
                              progress_bar=progressbar, **kwargs)
    idata["posterior"].attrs["nuts_sampler"] = nuts_sampler
    return _finish(model, idata)


_NUTPIE_COMPILED = {}  # structure of a statistics model -> its compiled nutpie model (the last 16)


def _nutpie_compiled(model):
    """``nutpie.compile_pymc_model(model)``; for a model observed through statistics, whose graph depends on the
    data only through pm.Data, a compiled model of the same structure is reused with the new data
    (``with_data``), which skips numba's compilation (seconds) on every new data set."""
    import nutpie

    spec = spec_of(model)
    if spec is None or spec.statistics is None:
        return nutpie.compile_pymc_model(model)
    key = (repr(spec.likelihood), repr(spec.prior), tuple(model.coords["feature"]), "t_residual_ss" in model.named_vars)
    data = {v.name: v.get_value() for v in model.data_vars}
    if key in _NUTPIE_COMPILED:
        return _NUTPIE_COMPILED[key].with_data(**data)
    compiled = nutpie.compile_pymc_model(model)
    if len(_NUTPIE_COMPILED) >= 16:
        _NUTPIE_COMPILED.pop(next(iter(_NUTPIE_COMPILED)))
    _NUTPIE_COMPILED[key] = compiled
    return compiled


def _conjugate_parts(model):
    """The spec and the conjugate case of a builder's model, or a ValueError saying why not."""
    spec = spec_of(model)
    if spec is None:
        raise ValueError("the exact posterior needs a model made (and not edited since) by models.regression / "
                         "gaussian_regression")
    likelihood, prior = spec.likelihood, spec.prior
    if not isinstance(likelihood, Gaussian) or likelihood.heteroscedastic:
        raise ValueError(f"the {likelihood!r} likelihood has no conjugate posterior (use sample_posterior)")
    if not likelihood.learns_sigma:
        if not isinstance(prior, (Flat, Normal)):
            raise ValueError(f"no closed form: a {type(prior).__name__} prior on w is not conjugate to the Gaussian "
                             "likelihood (use sample_posterior)")
        return spec, "known sigma"
    if not isinstance(prior, Flat) or not isinstance(likelihood.sigma_prior, (HalfFlat, Jeffreys)):
        raise ValueError(
            f"no closed form for a learned sigma with prior {prior!r} on w and {likelihood.sigma_prior!r} on sigma: "
            "the conjugate case is a Flat prior on w with HalfFlat or Jeffreys on sigma (use sample_posterior)"
        )
    return spec, "learned sigma"


def _gaussian_posterior(spec, design, t, sigma):
    """Mean and Cholesky factor of the precision of w_internal given sigma (PRML eq. 3.53-3.54 in internal coordinates)."""
    rows, targets = [design / sigma], [t / sigma]
    if isinstance(spec.prior, Normal):
        sd = np.broadcast_to(spec.prior.scale, (design.shape[1],))
        rows.append(spec.to_w / sd[:, None])
        targets.append(np.broadcast_to(spec.prior.loc, (design.shape[1],)) / sd)
    q, r = np.linalg.qr(np.vstack(rows))
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)  # a positive diagonal: the same draws from rows or statistics
    q, r = q * signs, signs[:, None] * r
    mean = solve_triangular(r, q.T @ np.concatenate(targets))
    return mean, r  # precision = r.T @ r


def exact_posterior(model, *, draws=1000, random_seed=None, log_likelihood=True):
    r"""IID draws from the closed-form posterior of a conjugate Gaussian model (one chain).

    - known :math:`\sigma`, prior ``Flat`` or ``Normal``: :math:`w \mid t \sim \mathcal N(m_N, S_N)`,
      :math:`S_N^{-1} = \Lambda^{-1} + \Phi^\top\Phi/\sigma^2`, :math:`m_N = S_N(\Lambda^{-1} m_0 + \Phi^\top t/\sigma^2)`
      (PRML eq. 3.49-3.51);
    - learned :math:`\sigma` with a flat prior on ``w`` and :math:`p(\sigma) \propto \sigma^{-k}` (``HalfFlat``: k = 0,
      ``Jeffreys``: k = 1): :math:`\sigma^2 \mid t \sim \mathrm{InvGamma}\big(\tfrac{N + k - p - 1}{2}, \tfrac{\mathrm{SSE}}{2}\big)`,
      :math:`w \mid \sigma, t \sim \mathcal N(\hat w, \sigma^2 (\Phi^\top\Phi)^{-1})`; marginally ``w`` is Student-t.

    Any other model raises a ``ValueError`` that names why it is not conjugate. ``log_likelihood=False`` skips
    the pointwise log-likelihood (its compilation dominates the cost in replication studies).
    """
    _check_model(model)
    draws = _check_draws(draws, "draws")
    spec, case = _conjugate_parts(model)
    z, t, _, n, extra_sse = _gaussian_data(model, spec)
    design = z @ spec.r_inverse
    rng = np.random.default_rng(random_seed)
    p = design.shape[1]
    noise = rng.standard_normal((1, draws, p))
    if case == "known sigma":
        mean, r = _gaussian_posterior(spec, design, t, spec.likelihood.sigma)
        internal = mean + solve_triangular(r, noise[0].T).T[None]
        return _posterior_idata(model, internal, log_likelihood=log_likelihood)
    k = 1 if isinstance(spec.likelihood.sigma_prior, Jeffreys) else 0
    shape = (n + k - p - 1) / 2
    if shape <= 0:
        raise ValueError(f"the posterior is improper: N = {n} observations are too few for p = {p} weights and a "
                         "learned sigma under this prior")
    mean, r = _gaussian_posterior(spec, design, t, 1.0)
    sse = float(np.sum((t - design @ mean) ** 2)) + extra_sse
    variance = (sse / 2) / rng.gamma(shape, size=(1, draws))  # InvGamma(shape, sse/2)
    sigma = np.sqrt(variance)
    internal = mean + sigma[..., None] * solve_triangular(r, noise[0].T).T[None]
    return _posterior_idata(model, internal, sigma, log_likelihood=log_likelihood)


def _value_point(model, map_point):
    """The MAP as a point of the model's value variables (w_internal, and sigma_log__, scale_log__, v_internal)."""
    spec = spec_of(model)
    value_names = {v.name for v in model.value_vars}
    point = {"w_internal": np.linalg.solve(spec.to_w, map_point["w"])}
    for name in ("sigma", "scale"):
        if f"{name}_log__" in value_names:
            point[f"{name}_log__"] = np.log(map_point[name])
    if "v_internal" in value_names:
        conditioned = spec.likelihood.sigma_basis.conditioned(model["x"].get_value())
        point["v_internal"] = np.linalg.solve(conditioned.T, map_point["v"])
    return point


def _raveled(model, point):
    """(theta, unravel): the value variables' point as one flat vector, and its inverse."""
    raveled = DictToArrayBijection.map({v.name: point[v.name] for v in model.value_vars})
    info = raveled.point_map_info
    return raveled.data, lambda flat: DictToArrayBijection.rmap(RaveledVars(flat, info))


def _mode_of_theta(model, point):
    """Newton steps from ``point`` to the mode of the density of the unconstrained theta (log-Jacobians included),
    with the exact Hessian. Returns (theta, precision = -Hessian at the mode, unravel)."""
    theta, unravel = _raveled(model, point)
    hessian_fn = model.compile_d2logp(vars=model.free_RVs, jacobian=True, negate_output=False)
    if any(model.rvs_to_transforms[rv] is not None for rv in model.free_RVs):  # the MAP in sigma is not this mode
        logp_fn = model.compile_logp(jacobian=True)
        dlogp_fn = model.compile_dlogp(vars=model.free_RVs, jacobian=True)
        for _ in range(100):
            step = np.linalg.solve(-np.asarray(hessian_fn(unravel(theta))), np.asarray(dlogp_fn(unravel(theta))))
            current = logp_fn(unravel(theta))
            while logp_fn(unravel(theta + step)) < current and np.max(np.abs(step)) > 1e-14:
                step = step / 2
            theta = theta + step
            if np.max(np.abs(step)) <= 1e-10 * max(1.0, np.max(np.abs(theta))):
                break
    return theta, -np.asarray(hessian_fn(unravel(theta)), dtype=float), unravel


def _idata_from_values(model, values):
    """A DataTree from draws of the value variables, ``{name: (chain, draw, ...)}``: each is mapped back
    through its transform (``sigma = exp(sigma_log__)``) and the deterministics (``w``, ``v``, sigma(x)) are
    computed by the model itself."""
    posterior = {}
    for rv in model.free_RVs:
        value = values[model.rvs_to_values[rv].name]
        transform = model.rvs_to_transforms[rv]
        posterior[rv.name] = value if transform is None else np.asarray(transform.backward(value).eval())
    dims = {name: list(model.named_vars_to_dims[name]) for name in posterior if model.named_vars_to_dims.get(name)}
    coords = {name: list(values) for name, values in model.coords.items()}
    idata = az.from_dict({"posterior": posterior}, coords=coords, dims=dims)
    dataset = idata["posterior"].to_dataset()
    deterministics = pm.compute_deterministics(dataset, model=model, progressbar=False)
    idata["posterior"] = dataset.merge(deterministics)
    return _finish(model, idata)


def fit_laplace(model, *, draws=1000, random_seed=None):
    r"""Laplace approximation: :math:`\mathcal N(\hat\theta, H^{-1})` in the unconstrained space (PRML eq. 4.134).

    :math:`\theta` collects the model's value variables (``w_internal``; ``sigma_log__`` or ``scale_log__`` for a
    learned scale; ``v_internal`` for sigma(x)). :math:`\hat\theta` is the mode of the density of :math:`\theta`
    itself (the model's log density *with* the log-Jacobian of :math:`\sigma = e^{\log\sigma}`, reached by Newton
    steps from :func:`fit_map`; for a flat prior on ``sigma`` its :math:`\hat\sigma^2` is SSE/(N-1), not the
    SSE/N of the MAP in ``sigma``), and :math:`H = -\nabla^2 \log p(\theta \mid t)` is the exact Hessian there.
    Draws are mapped back (:math:`\sigma = e^{\log\sigma}`, ``w = T w_internal``). For a known sigma and a Normal
    or flat prior the posterior is Gaussian and this is exact; for the GLMs, :math:`H` at the MAP is
    :math:`\Phi^\top \mathrm{diag}(\mathrm{Var}[t_n]) \Phi` plus the prior's precision (PRML eq. 4.97).
    A Laplace prior has no curvature away from its kink, so the Gaussian sees only the likelihood's curvature
    there (too wide for coefficients the prior holds at 0). The Laplace (MAE) likelihood has no curvature in
    ``w`` at all, and is refused.
    """
    _check_model(model)
    draws = _check_draws(draws, "draws")
    spec = spec_of(model)
    if spec is None:
        raise ValueError("fit_laplace needs a model made (and not edited since) by the builders")
    if isinstance(spec.likelihood, LaplaceLikelihood):
        raise ValueError("fit_laplace: the Laplace (MAE) likelihood is piecewise linear in w, so its Hessian is "
                         "zero and there is no Gaussian approximation; use sample_posterior")
    theta, precision, unravel = _mode_of_theta(model, _value_point(model, fit_map(model)))
    try:
        cholesky = np.linalg.cholesky(precision)
    except np.linalg.LinAlgError as error:
        raise ValueError("the Hessian at the mode is not positive definite: no Laplace approximation") from error
    rng = np.random.default_rng(random_seed)
    noise = rng.standard_normal((draws, theta.size))
    samples = [unravel(row) for row in theta + solve_triangular(cholesky.T, noise.T).T]
    return _idata_from_values(model, {name: np.stack([s[name] for s in samples])[None] for name in samples[0]})


def fit_advi(model, *, n=10_000, draws=1000, random_seed=None, progressbar=False, start=None, start_sigma=None,
             **fit_kwargs):
    r"""Mean-field ADVI (``pm.fit(method="advi")``, Kucukelbir et al. 2017), ``n`` iterations, then ``draws`` draws.

    The variational means start at ``start`` (a dict of value-variable values) when given, else at the MAP of
    :func:`fit_map` for the builders' models (the stochastic optimizer's small steps would otherwise spend most
    iterations travelling there), else at ``model.initial_point()``.

    The variational sds start at ``start_sigma`` (a dict like ``start``) when given. Otherwise they start at the
    mean-field optimum for a Gaussian with the curvature found at ``start``: :math:`1/\sqrt{H_{ii}}`, with
    :math:`H` the Hessian of the negative log density (with log-Jacobians) there (PRML eq. 10.12: a factorized
    Gaussian fitted by KL(q||p) takes the *diagonal of the precision*, not of the covariance). Where
    :math:`H_{ii} \le 0` (``start`` is not at a mode) PyMC's default sd, log 2, is used. From PyMC's default
    start everywhere, the sds shrink slowly under the default step size (thousands of iterations on a small
    network). Other keyword arguments go to ``pm.fit`` (e.g. ``obj_optimizer=pm.adam(learning_rate=0.01)``).
    """
    _check_model(model)
    n, draws = _check_draws(n, "n"), _check_draws(draws, "draws")
    seeds = np.random.default_rng(random_seed).integers(2**31, size=2)
    if start is None:
        start = _value_point(model, fit_map(model)) if spec_of(model) is not None else model.initial_point()
    if start_sigma is None:
        start_sigma = mean_field_sds(model)(start)
    approximation = pm.fit(n=n, method="advi", model=model, start=start, start_sigma=start_sigma,
                           random_seed=int(seeds[0]), progressbar=progressbar, **fit_kwargs)
    idata = approximation.sample(draws, random_seed=int(seeds[1]))
    return _finish(model, idata)


def mean_field_sds(model):
    """A function ``start -> {value variable: 1/sqrt(H_ii)}`` (H: Hessian of -log p with log-Jacobians at
    ``start``; log 2, PyMC's default, where H_ii <= 0), compiled once for ``model`` (its data may change)."""
    hessian_fn = model.compile_d2logp(vars=model.free_RVs, jacobian=True, negate_output=False)
    defaults = model.initial_point()

    def sds(start):
        theta, unravel = _raveled(model, {**defaults, **start})
        curvature = -np.diag(np.asarray(hessian_fn(unravel(theta)), dtype=float))
        values = np.full_like(theta, np.log(2.0))
        positive = curvature > 0
        values[positive] = 1 / np.sqrt(curvature[positive])
        return unravel(values)

    return sds


def predict(model, idata, x_new, *, random_seed=None):
    r"""Posterior predictive at new inputs: ``t`` and ``mu`` = y(x_new | w) per posterior draw.

    ``mu`` is the linear predictor: the mean for the identity links, the logit(s) or log-mean for the others
    (dims ``obs_id``, plus ``class`` for Categorical). Works on a clone of ``model`` (``pm.set_data`` on the
    clone; the model itself is not changed) and returns an ``xarray.DataTree`` whose ``predictions`` group
    holds ``t`` and ``mu`` (dims ``obs_id`` over x_new); the other deterministics that depend on x (sigma(x))
    are recomputed at x_new. For a
    known sigma and a conjugate prior, the variance of ``t`` is :math:`\sigma^2 + \phi(x)^\top S_N \phi(x)` (PRML eq. 3.59).
    """
    _check_model(model)
    spec = spec_of(model)
    if spec is None:
        raise ValueError("predict needs a model made (and not edited since) by the builders")
    posterior_tree(idata)
    x_new = as_new_inputs(x_new, spec.input_template(model))
    m = len(x_new)
    internal = idata.posterior["w_internal"].values  # (chain, draw, p), or (chain, draw, p, K - 1) for Categorical
    mu = np.einsum("np,cdp...->cdn...", spec.internal_design(x_new), internal)
    dims = ("chain", "draw", "obs_id") + (("class",) if mu.ndim == 4 else ())
    if spec.statistics is not None:  # no row-wise t in the model: t = mu + sigma * noise, drawn here
        sigma = idata.posterior["sigma"].values[..., None] if spec.likelihood.learns_sigma else spec.likelihood.sigma
        t = mu + sigma * np.random.default_rng(random_seed).standard_normal(mu.shape)
        return az.from_dict({"predictions": {"t": t, "mu": mu}}, pred_coords={"obs_id": np.arange(m)},
                            pred_dims={"t": ["obs_id"], "mu": ["obs_id"]})
    clone = clone_model(model)
    t_dtype = model["t_obs"].get_value().dtype  # integer labels and counts stay integers
    pm.set_data({"x": x_new, "t_obs": np.zeros(m, dtype=t_dtype)}, model=clone, coords={"obs_id": np.arange(m)})
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
