r"""Model builders: arrays in, ``pm.Model`` out. No fitting, no I/O.

The generative story of every model here:

.. math::

    w &\sim p(w) \quad\text{(the prior: Flat, Normal, Laplace)} \\
    \theta &\sim p(\theta) \quad\text{(the likelihood's own parameters when learned: }\sigma\text{, a scale, } v\text{)} \\
    t_n &\sim \text{likelihood}\big(y(x_n \mid w), \theta\big), \qquad y(x \mid w) = \Phi(x)\, w

with the seed's case, the Gaussian :math:`t_n \sim \mathcal N(y(x_n \mid w), \sigma^2)`, as the default and
the other likelihoods of :mod:`models.likelihoods` (Laplace, StudentT, Bernoulli, Categorical, Poisson) through
their link: ``y`` is the mean, the logit, the K - 1 free logits or the log of the mean.

Model variables: ``w`` (dims ``feature``, in the basis' own coordinates; ``feature, class`` for Categorical),
the likelihood's variables (``sigma``, ``scale``, ``v``), observed ``t`` (dims ``obs_id``), data ``x`` and
``t_obs`` in ``pm.Data``.

The sampler works in well-conditioned internal coordinates ``w_internal`` (Legendre / centred
features, then the QR factor of that design stacked with the prior's precision, which whitens the
posterior at a nominal noise level), with ``w = T @ w_internal`` a ``Deterministic``.
The map is linear, so a flat prior on ``w_internal`` is a flat prior on ``w``, and any other prior on
``w`` enters as a ``Potential`` on ``w`` itself: the density is exactly the stated model's.

A Gaussian likelihood with one sigma can instead be observed through its sufficient statistics
(``sufficient_statistics=``, :mod:`models.statistics`): the same density, with ``t_rotated`` and
``t_residual_ss`` in place of ``t`` and no ``x`` in the model, at a cost per gradient independent of N.
"""

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.linalg import solve_triangular

from ._checks import as_data
from .basis import GaussianBasis, LinearBasis, PolynomialBasis
from .likelihoods import LIKELIHOODS, Bernoulli, Categorical, Gaussian, Poisson
from .priors import SIGMA_PRIORS, W_PRIORS, Flat
from .statistics import ChunkedData, _is_dask, gaussian_statistics, is_out_of_core

BASES = (LinearBasis, PolynomialBasis, GaussianBasis)


@dataclass(frozen=True)
class RegressionSpec:
    """What a builder made, attached to the model as ``model.regression_spec`` for the inference functions."""

    basis: object
    likelihood: object
    prior: object
    variables: frozenset  # names of the model's variables at build time, to notice later edits
    conditioned: object  # the basis' conditioned coordinates fixed on the training x (used by the graph)
    r_inverse: np.ndarray  # mu = Z(x) @ r_inverse @ w_internal
    to_w: np.ndarray  # w = to_w @ w_internal, the float64 matrix in the graph
    statistics: object = None  # GaussianStatistics when the likelihood is observed through them, else None
    data: object = None  # the ChunkedData behind the statistics (references to x and t, for log-likelihoods)

    def internal_design(self, x):
        """The design of the graph in the internal coordinates: mu = internal_design(x) @ w_internal."""
        return self.conditioned.transform(np.asarray(x, dtype=float), np) @ self.r_inverse

    def input_template(self, model):
        """A 0-row array shaped like the training inputs (to check new inputs against)."""
        return self.data.template if self.statistics is not None else model["x"].get_value()

    @staticmethod
    def variable_names(model):
        return frozenset(v.name for v in model.free_RVs + model.observed_RVs + model.potentials)


def spec_of(model):
    """The builder's spec when ``model`` is still exactly what a builder made, else None."""
    spec = getattr(model, "regression_spec", None)
    if spec is None or RegressionSpec.variable_names(model) != spec.variables:
        return None
    return spec


def _dependent_features(r, names):
    """Names of the columns of Z = QR that are numerically combinations of the earlier ones (from R alone:
    QR of Z with unit-norm columns has diagonal |r_jj| / ||r_j||)."""
    p = r.shape[1]
    diagonal = np.zeros(p)
    norms = np.linalg.norm(r, axis=0).clip(min=np.finfo(float).tiny)
    k = min(r.shape)
    diagonal[:k] = np.abs(np.diag(r))[:k] / norms[:k]
    return [name for name, d in zip(names, diagonal) if d <= p * np.finfo(float).eps]


def _refuse_dependent(r, names, n, prior):
    dependent = _dependent_features(r, names)
    if dependent and isinstance(prior, Flat):
        raise ValueError(
            f"the design is rank deficient: feature(s) {dependent} are linear combinations of the ones before "
            f"them on these x (N = {n}, p = {len(names)}), so under a flat prior the posterior is improper; "
            "drop them, use fewer features, or put a proper prior (priors.Normal, priors.Laplace) on w"
        )


def _separable(z, t, n_classes):
    """Whether labels ``t`` are completely separated by the columns of z: then the likelihood has no maximum.

    Linear program (feasibility): some W with z_n (w_{t_n} - w_k) >= 1 for every n and every other class k.
    """
    from scipy.optimize import linprog

    n, p = z.shape
    rows = []
    for k in range(n_classes):
        others = t != k
        if not others.any():
            continue
        block = np.zeros((int(others.sum()), p * n_classes))
        block[:, k * p:(k + 1) * p] = -z[others]  # -z_n w_k
        for c in range(n_classes):
            mine = t[others] == c
            block[mine, c * p:(c + 1) * p] += z[others][mine]  # + z_n w_{t_n}
        rows.append(block)
    a_ub = -np.vstack(rows)
    result = linprog(np.zeros(p * n_classes), A_ub=a_ub, b_ub=-np.ones(len(a_ub)), bounds=(None, None),
                     method="highs")
    return result.status == 0


def _check_flat_prior_has_a_maximum(likelihood, z, t, names, n):
    """Under a flat prior on w, refuse data for which the likelihood has no maximum (an improper posterior)."""
    p = len(names)
    if getattr(likelihood, "learns_scale", False) and not getattr(likelihood, "heteroscedastic", False) and n <= p:
        name = likelihood.scale_name
        raise ValueError(
            f"N = {n} observations for p = {p} weights under a flat prior with a learned {name}: "
            f"the features fit t exactly, {name} -> 0 and the posterior is improper; put a proper prior on w "
            f"(priors.Normal), fix {name}, or use fewer features"
        )
    if isinstance(likelihood, (Bernoulli, Categorical)):
        n_classes = 2 if isinstance(likelihood, Bernoulli) else likelihood.n_classes
        missing = sorted(set(range(n_classes)) - set(t.astype(int).tolist()))
        if missing:
            raise ValueError(f"class(es) {missing} never occur in t: under a flat prior on w their logits go to "
                             "-infinity and the posterior is improper; put a proper prior (priors.Normal) on w")
        if _separable(z, t.astype(int), n_classes):
            raise ValueError(
                f"the classes in t are separated by the features {names}: the likelihood grows without bound "
                "as |w| -> infinity, so under a flat prior there is no MAP and the posterior is improper; "
                "put a proper prior (priors.Normal) on w or use fewer features"
            )
    if isinstance(likelihood, Poisson) and not np.any(t > 0):
        raise ValueError("every count in t is 0: under a flat prior the log-mean goes to -infinity; "
                         "put a proper prior (priors.Normal) on w")


def _check_parts(likelihood, basis, prior):
    if not isinstance(likelihood, LIKELIHOODS):
        names = ", ".join(c.__name__ for c in LIKELIHOODS)
        raise TypeError(f"likelihood must be one of models.likelihoods.{names}, got {likelihood!r}")
    if not isinstance(basis, BASES):
        names = ", ".join(c.__name__ for c in BASES)
        raise TypeError(f"basis must be one of {names}, got {basis!r}")
    if isinstance(prior, SIGMA_PRIORS):
        raise TypeError(f"prior is the prior on w; {type(prior).__name__} is a prior for sigma (use sigma_prior)")
    if not isinstance(prior, W_PRIORS):
        names = ", ".join(c.__name__ for c in W_PRIORS)
        raise TypeError(f"prior must be one of models.priors.{names}, got {prior!r}")


def regression(x, t, *, likelihood, basis=None, prior=None, sufficient_statistics=None):
    r"""A regression model :math:`t_n \sim \text{likelihood}(y(x_n \mid w))` with :math:`y = \Phi(x) w`.

    Parameters
    ----------
    x : array of shape (N,) or (N, D), or a pandas Series/DataFrame
        Inputs. Column names of a DataFrame become feature names.
    t : array of shape (N,)
        Targets.
    likelihood : models.likelihoods.Gaussian, Laplace, StudentT, Bernoulli, Categorical or Poisson
        The noise model, i.e. the loss. Targets must be in its support (0/1 labels, class labels, counts).
    basis : LinearBasis, PolynomialBasis or GaussianBasis, default ``LinearBasis()``
    prior : Flat, Normal or Laplace, default ``Flat()``
        Prior on ``w``, i.e. the regularizer.
    sufficient_statistics : bool or None, default None
        Observe a Gaussian likelihood with one sigma (fixed or learned) through its sufficient statistics
        (:mod:`models.statistics`): the same density, at a cost per gradient that does not grow with N. ``None``
        does so from ``STATISTICS_MIN_ROWS`` rows on, and always for memory-mapped or Dask arrays (read in
        chunks, never loaded whole); ``True`` / ``False`` force it on / off.

    Returns
    -------
    pm.Model
        With ``w`` (dims ``feature``; ``feature, class`` for Categorical), the likelihood's learned parameters
        (``sigma``, ``scale``, or ``v`` and ``sigma`` (obs_id) for sigma(x)), observed ``t`` (dims ``obs_id``).
        Observed through the statistics, ``t`` is replaced by ``t_rotated`` (dims ``statistic``) and
        ``t_residual_ss`` (see ``likelihoods.Gaussian.observe_statistics``), and ``x`` is not in the model.
    """
    basis = LinearBasis() if basis is None else basis
    prior = Flat() if prior is None else prior
    _check_parts(likelihood, basis, prior)
    if _uses_statistics(sufficient_statistics, likelihood, x, t):
        return _statistics_regression(x, t, likelihood, basis, prior)
    x, t, columns = as_data(x, t)
    basis.check_inputs(x)
    likelihood.check_targets(t)
    names = basis.feature_names(x, columns)
    prior.check_size(len(names))

    # Internal coordinates, whitened for the posterior at a nominal noise level sigma0: with
    # R from the QR of [Z / sigma0; prior precision^(1/2) T], w_internal = R a has (near) identity
    # posterior covariance, mu = Z R^-1 w_internal and w = T R^-1 w_internal.
    conditioned = basis.conditioned(x)
    z = conditioned.transform(x, np)
    _refuse_dependent(np.linalg.qr(z, mode="r"), names, len(t), prior)
    if isinstance(prior, Flat):
        _check_flat_prior_has_a_maximum(likelihood, z, t, names, len(t))
    r_inverse, to_w = _internal_coordinates(z, likelihood.whitening_scale(z, t), prior, conditioned)

    coords = {"feature": names, "feature_internal": np.arange(len(names)), "obs_id": np.arange(len(t))}
    if likelihood.n_outputs > 1:  # Categorical: one column of w per non-reference class
        coords["class"] = np.arange(1, likelihood.n_outputs + 1)
    x_dims = ("obs_id",) if x.ndim == 1 else ("obs_id", "input")
    if x.ndim == 2:
        coords["input"] = columns or [f"x{j}" for j in range(x.shape[1])]
    with pm.Model(coords=coords) as model:
        x_data = pm.Data("x", x, dims=x_dims)
        t_data = pm.Data("t_obs", likelihood.data(t), dims="obs_id")
        w_internal = _weights(to_w, prior, likelihood)
        mu = pt.dot(conditioned.transform(x_data, pt), pt.dot(r_inverse, w_internal))
        likelihood.observe(mu, t_data, x_data=x_data, x=x)
    model.regression_spec = RegressionSpec(
        basis, likelihood, prior, RegressionSpec.variable_names(model), conditioned, r_inverse, to_w
    )
    return model


def _internal_coordinates(z, sigma0, prior, conditioned):
    """(r_inverse, to_w): R from the QR of [Z / sigma0; prior precision^(1/2) T] whitens the posterior at a nominal
    noise level sigma0; w_internal = R a, mu = Z R^-1 w_internal, w = T R^-1 w_internal. Z may be replaced by any
    matrix with the same Z^T Z (the R of its QR), which gives the same R."""
    p = z.shape[1]
    stacked = z / sigma0
    if not isinstance(prior, Flat):
        prior_sd = np.broadcast_to(prior.sd, (p,))
        stacked = np.vstack([stacked, conditioned.T / prior_sd[:, None]])
    r = np.linalg.qr(stacked, mode="r")
    r = np.where(np.diag(r) < 0, -1.0, 1.0)[:, None] * r  # a positive diagonal: the same coordinates from rows or statistics
    r_inverse = solve_triangular(r, np.eye(p))
    return r_inverse, conditioned.T @ r_inverse


def _weights(to_w, prior, likelihood):
    """``w_internal`` (flat), ``w = to_w @ w_internal`` and the prior on ``w`` as a Potential, in the model context."""
    w_dims, internal_dims = ("feature",), ("feature_internal",)
    if likelihood.n_outputs > 1:
        w_dims, internal_dims = ("feature", "class"), ("feature_internal", "class")
    w_internal = pm.Flat("w_internal", dims=internal_dims)
    w = pm.Deterministic("w", pt.dot(to_w, w_internal), dims=w_dims)
    prior_logp = prior.logp(w if w.ndim == 1 else w.T)  # per-feature scales broadcast along the last axis
    if prior_logp is not None:
        pm.Potential("w_prior", prior_logp)
    return w_internal


STATISTICS_MIN_ROWS = 5_000  # from here on the statistics are cheaper than the rows by orders of magnitude


def _uses_statistics(requested, likelihood, x, t):
    """Whether to observe the likelihood through its sufficient statistics (see ``regression``)."""
    if requested is not None and not isinstance(requested, bool):
        raise TypeError(f"sufficient_statistics must be True, False or None, got {requested!r}")
    one_sigma = isinstance(likelihood, Gaussian) and not likelihood.heteroscedastic
    if requested and not one_sigma:
        raise ValueError(f"sufficient_statistics=True needs a Gaussian likelihood with one sigma (fixed or learned); "
                         f"{likelihood!r} has none")
    dask = any(_is_dask(v) for v in (x, t))
    if dask and not one_sigma:
        raise ValueError(f"Dask arrays are read through sufficient statistics, which {likelihood!r} does not have: "
                         "pass NumPy arrays (x.compute())")
    if dask and requested is False:
        raise ValueError("Dask arrays are read through sufficient statistics: pass sufficient_statistics=None or "
                         "True, or NumPy arrays for a row-wise model")
    if requested is not None:
        return requested
    return one_sigma and (is_out_of_core(x, t) or np.shape(t)[:1] >= (STATISTICS_MIN_ROWS,))


def _statistics_regression(x, t, likelihood, basis, prior):
    """``regression`` for a Gaussian likelihood with one sigma, observed through its sufficient statistics."""
    columns = None
    if not (isinstance(x, np.ndarray) or _is_dask(x)) or not (isinstance(t, np.ndarray) or _is_dask(t)):
        x, t, columns = as_data(x, t)  # lists, pandas: checked and loaded here
    data = ChunkedData(x, t)
    ranges = data.ranges()  # the bases' conditioning depends on the range of x only
    basis.check_inputs(ranges)
    names = basis.feature_names(ranges, columns)
    prior.check_size(len(names))
    conditioned = basis.conditioned(ranges)
    statistics = gaussian_statistics(data, conditioned.transform)
    n, p = statistics.n, len(names)
    _refuse_dependent(statistics.r, names, n, prior)
    if isinstance(prior, Flat):
        _check_flat_prior_has_a_maximum(likelihood, statistics.r, None, names, n)
    sigma0 = likelihood.sigma
    if sigma0 is None:
        sigma0 = float(np.sqrt(statistics.rss / (n - p))) if n > p and statistics.rss > 0 else 1.0
    r_inverse, to_w = _internal_coordinates(statistics.r, sigma0, prior, conditioned)

    # every number that depends on the data sits in pm.Data, so the graph depends only on the model's structure:
    # compiled functions are reused across data sets (PyTensor's cache; nutpie's with_data in sample_posterior)
    coords = {"feature": names, "feature_internal": np.arange(p), "statistic": np.arange(p)}
    with pm.Model(coords=coords) as model:
        to_w_data = pm.Data("to_w", to_w)
        rotated_design = pm.Data("rotated_design", statistics.r @ r_inverse)  # mu_rotated = R r_inverse w_internal
        z = pm.Data("t_rotated_obs", statistics.z, dims="statistic")
        rss = pm.Data("t_residual_ss_obs", np.float64(statistics.rss))
        dof = pm.Data("residual_dof", np.float64(n - p))
        w_internal = _weights(to_w_data, prior, likelihood)
        likelihood.observe_statistics(pt.dot(rotated_design, w_internal), z, rss, dof if n > p else None)
    model.regression_spec = RegressionSpec(basis, likelihood, prior, RegressionSpec.variable_names(model),
                                           conditioned, r_inverse, to_w, statistics, data)
    return model


def gaussian_regression(x, t, *, basis=None, sigma=None, prior=None, sigma_prior=None, sufficient_statistics=None):
    r"""The seed's model: :math:`t_n \sim \mathcal N(\Phi(x_n) w, \sigma^2)`.

    Its MAP with the default flat priors is least squares (for ``w``) and :math:`\sqrt{\mathrm{SSE}/N}`
    (for a learned ``sigma``). ``sigma`` fixes the noise sd; otherwise it is learned under
    ``sigma_prior`` (default ``HalfFlat()``). See :func:`regression` for the other arguments.

    Examples
    --------
    >>> model = gaussian_regression(x, t, basis=PolynomialBasis(3), sigma=0.3)
    >>> fit_map(model)["w"]          # == least squares
    """
    return regression(x, t, likelihood=Gaussian(sigma=sigma, sigma_prior=sigma_prior), basis=basis, prior=prior,
                      sufficient_statistics=sufficient_statistics)
