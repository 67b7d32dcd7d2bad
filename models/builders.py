r"""Model builders: arrays in, ``pm.Model`` out. No fitting, no I/O.

The generative story of every model here:

.. math::

    w &\sim p(w) \quad\text{(the prior: Flat, Normal, Laplace, ElasticNet)} \\
    \theta &\sim p(\theta) \quad\text{(the likelihood's own learned parameters: }\sigma\text{, }b\text{, }v\text{)} \\
    t_n &\sim \text{likelihood}\big(y(x_n \mid w), \theta\big), \qquad y(x \mid w) = \Phi(x)\, w

with the seed's case, the Gaussian :math:`t_n \sim \mathcal N(y(x_n \mid w), \sigma^2)`, as the default and
the other likelihoods of :mod:`models.likelihoods` (Laplace, StudentT, Bernoulli, Categorical, Poisson, Gamma) through
their link: ``y`` is the mean, the logit, the K - 1 free logits or the log of the mean.

Model variables: ``w`` (dims ``feature``, in the basis' own coordinates; ``feature, class`` for Categorical),
the likelihood's variables (``sigma``, ``scale``, ``shape``, ``v``), observed ``t`` (dims ``obs_id``), data ``x`` and
``t_obs`` in ``pm.Data``.

The sampler works in well-conditioned internal coordinates ``w_internal`` (Legendre / centred
features, then the QR factor of that design stacked with the prior's precision, which whitens the
posterior at a nominal noise level), with ``w = T @ w_internal`` a ``Deterministic``.
The map is linear, so a flat prior on ``w_internal`` is a flat prior on ``w``, and any other prior on
``w`` enters as a ``Potential`` on ``w`` itself: the density is exactly the stated model's.

A Gaussian likelihood with one sigma can instead be observed through its sufficient statistics
(``sufficient_statistics=``, :mod:`models.statistics`): the same density, with ``t_rotated`` and
``t_residual_ss`` in place of ``t`` and no ``x`` in the model, at a cost per gradient independent of N.

The builders return a :class:`models.design.RegressionModel`, a ``pm.Model`` that keeps its
:class:`models.design.Design` (what was decided here) for the inference functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ._checks import as_data, refuse_repeated_names
from .basis import LinearBasis
from .design import Design, RegressionModel, internal_coordinates
from .likelihoods import Gaussian, Likelihood
from .priors import Flat, check_w_prior
from .statistics import ChunkedData, gaussian_statistics, is_dask, is_out_of_core, ranges_and_factor, statistics_of

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .priors import Prior, ScalePrior


def feature_names(basis, x, columns):
    """``basis.feature_names(x, columns)``, refused when two features would share a name (the coordinate
    ``feature`` labels each weight: ``.sel`` and ``az.summary`` need them distinct)."""
    names = basis.feature_names(x, columns)
    if "1" in names and columns and "1" in columns:
        raise ValueError("x has a column named '1', the name of the intercept feature: rename the column (e.g. "
                         "x.add_prefix('x') for a DataFrame with integer column labels)")
    refuse_repeated_names(names, f"the features of {type(basis).__name__}")
    return names


def _dependent_features(r, names):
    """Names of the columns of Z = QR that are numerically combinations of the earlier ones (from R alone:
    QR of Z with unit-norm columns has diagonal |r_jj| / ||r_j||)."""
    p = r.shape[1]
    diagonal = np.zeros(p)
    norms = np.linalg.norm(r, axis=0).clip(min=np.finfo(float).tiny)
    k = min(r.shape)
    diagonal[:k] = np.abs(np.diag(r))[:k] / norms[:k]
    return [name for name, d in zip(names, diagonal) if d <= p * np.finfo(float).eps]


def _refuse_dependent(r, names, n, penalty):
    dependent = _dependent_features(r, names)
    if dependent and penalty is not None and penalty.is_flat:
        raise ValueError(
            f"the design is rank deficient: feature(s) {dependent} are linear combinations of the ones before "
            f"them on these x (N = {n}, p = {len(names)}), so under a flat prior the posterior is improper; "
            "drop them, use fewer features, or put a proper prior (priors.Normal, priors.Laplace) on w"
        )


def _check_parts(likelihood, basis, prior):
    if not isinstance(likelihood, Likelihood):
        raise TypeError(f"likelihood must be a models.likelihoods.Likelihood (Gaussian, Laplace, StudentT, Bernoulli, "
                        f"Categorical, Poisson, Gamma or your own subclass), got {likelihood!r}")
    if not all(hasattr(basis, name) for name in ("conditioned", "feature_names", "features", "check_inputs")):
        raise TypeError(f"basis must be a basis (LinearBasis, PolynomialBasis, GaussianBasis or an object with "
                        f"conditioned, feature_names, features and check_inputs), got {basis!r}")
    check_w_prior(prior)


def regression(x: ArrayLike, t: ArrayLike, *, likelihood: Likelihood, basis=None, prior: Prior | None = None,
               sufficient_statistics: bool | None = None) -> RegressionModel:
    r"""A regression model :math:`t_n \sim \text{likelihood}(y(x_n \mid w))` with :math:`y = \Phi(x) w`.

    Parameters
    ----------
    x : array of shape (N,) or (N, D), or a pandas Series/DataFrame
        Inputs. Column names of a DataFrame become feature names.
    t : array of shape (N,)
        Targets.
    likelihood : models.likelihoods.Likelihood
        The noise model, i.e. the loss (Gaussian, Laplace, StudentT, Bernoulli, Categorical, Poisson, Gamma).
        Targets must be in its support (0/1 labels, class labels, counts, positive numbers).
    basis : LinearBasis, PolynomialBasis or GaussianBasis, default ``LinearBasis()``
    prior : models.priors.Prior, default ``Flat()``
        Prior on ``w``, i.e. the regularizer (Flat, Normal, Laplace, ElasticNet).
    sufficient_statistics : bool or None, default None
        Observe a Gaussian likelihood with one sigma (fixed or learned) through its sufficient statistics
        (:mod:`models.statistics`): the same density, at a cost per gradient that does not grow with N. ``None``
        does so from ``STATISTICS_MIN_ROWS`` rows or ``STATISTICS_MIN_ENTRIES`` entries of x (rows times columns
        plus one) on, and always for memory-mapped or Dask arrays (read in chunks, never loaded whole);
        ``True`` / ``False`` force it on / off.

    Returns
    -------
    RegressionModel
        A ``pm.Model`` (:class:`models.design.RegressionModel`, which keeps the builder's design) with ``w``
        (dims ``feature``; ``feature, class`` for Categorical), the sampler's ``w_internal``, the likelihood's
        learned parameters (``sigma``, ``scale``, ``shape``, or ``v`` and ``sigma`` (obs_id) for sigma(x)),
        observed ``t`` (dims ``obs_id``).
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
    names = feature_names(basis, x, columns)
    prior.check_size(len(names))
    penalty = prior.penalty(len(names))

    # Internal coordinates, whitened for the posterior at a nominal noise level sigma0: with
    # R from the QR of [Z / sigma0; prior precision^(1/2) T], w_internal = R a has (near) identity
    # posterior covariance, mu = Z R^-1 w_internal and w = T R^-1 w_internal.
    conditioned = basis.conditioned(x)
    z = conditioned.transform(x, np)
    _refuse_dependent(np.linalg.qr(z, mode="r"), names, len(t), penalty)
    if penalty is not None and penalty.is_flat:
        likelihood.check_maximum(z, t, names, len(t))
    r_inverse = internal_coordinates(z, likelihood.whitening_scale(z, t), prior, conditioned)
    design = Design(basis, likelihood, prior, tuple(names), conditioned, r_inverse, prior_term=PRIOR_TERM)

    coords = {"feature": names, "feature_internal": np.arange(len(names)), "obs_id": np.arange(len(t))}
    if likelihood.n_outputs > 1:  # Categorical: one column of w per non-reference class
        coords["class"] = np.arange(1, likelihood.n_outputs + 1)
    x_dims = ("obs_id",) if x.ndim == 1 else ("obs_id", "input")
    if x.ndim == 2:
        coords["input"] = columns or [f"x{j}" for j in range(x.shape[1])]
    with RegressionModel(design, coords=coords) as model:
        x_data = pm.Data("x", x, dims=x_dims)
        t_data = pm.Data("t_obs", likelihood.data(t), dims="obs_id")
        w_internal = _weights(design.to_w, prior, likelihood)
        mu = pt.dot(conditioned.transform(x_data, pt), pt.dot(r_inverse, w_internal))
        likelihood.observe(mu, t_data, x_data=x_data, x=x)
    return model.seal()


PRIOR_TERM = "w_prior"  # the name of the Potential that holds a prior on w


def _weights(to_w, prior, likelihood):
    """``w_internal`` (flat), ``w = to_w @ w_internal`` and the prior on ``w`` as a Potential, in the model context."""
    w_dims, internal_dims = ("feature",), ("feature_internal",)
    if likelihood.n_outputs > 1:
        w_dims, internal_dims = ("feature", "class"), ("feature_internal", "class")
    w_internal = pm.Flat("w_internal", dims=internal_dims)
    w = pm.Deterministic("w", pt.dot(to_w, w_internal), dims=w_dims)
    prior_logp = prior.logp(w if w.ndim == 1 else w.T)  # per-feature scales broadcast along the last axis
    if prior_logp is not None:
        pm.Potential(PRIOR_TERM, prior_logp)
    return w_internal


STATISTICS_MIN_ROWS = 5_000  # from here on the statistics are cheaper than the rows by orders of magnitude
# ... and from this many entries of the design (N rows x p features): a row-wise gradient costs ~N p, one through
# the statistics ~p^2 (2000 rows x 300 columns: 600,000 against 90,000 per gradient, minutes against a quarter hour)
STATISTICS_MIN_ENTRIES = 50_000


def _uses_statistics(requested, likelihood, x, t):
    """Whether to observe the likelihood through its sufficient statistics (see ``regression``)."""
    if requested is not None and not isinstance(requested, bool):
        raise TypeError(f"sufficient_statistics must be True, False or None, got {requested!r}")
    one_sigma = hasattr(likelihood, "observe_statistics") and not getattr(likelihood, "heteroscedastic", False)
    if requested and not one_sigma:
        raise ValueError(f"sufficient_statistics=True needs a Gaussian likelihood with one sigma (fixed or learned); "
                         f"{likelihood!r} has none")
    dask = any(is_dask(v) for v in (x, t))
    if dask and not one_sigma:
        raise ValueError(f"Dask arrays are read through sufficient statistics, which {likelihood!r} does not have: "
                         "pass NumPy arrays (x.compute())")
    if dask and requested is False:
        raise ValueError("Dask arrays are read through sufficient statistics: pass sufficient_statistics=None or "
                         "True, or NumPy arrays for a row-wise model")
    if requested is not None:
        return requested
    try:
        n, shape = (np.shape(t) or (0,))[0], np.shape(x)
    except ValueError:  # ragged lists: refused, with their reason, by the row-wise builder's checks
        return False
    features = (shape[1] if len(shape) == 2 else 1) + 1  # with the intercept of the linear basis
    return one_sigma and (is_out_of_core(x, t) or n >= STATISTICS_MIN_ROWS or n * features >= STATISTICS_MIN_ENTRIES)


def _conditioning_guess(basis, data):
    """The basis' conditioning on the first chunk's range of x (None when that chunk does not give one)."""
    first = data.first_ranges()
    if first is None:
        return None
    try:
        basis.check_inputs(first)
        return basis.conditioned(first)
    except (ValueError, TypeError):  # e.g. a column constant in the first chunk: the whole range decides
        return None


def _statistics_regression(x, t, likelihood, basis, prior):
    """``regression`` for a Gaussian likelihood with one sigma, observed through its sufficient statistics."""
    columns = None
    if not (isinstance(x, np.ndarray) or is_dask(x)) or not (isinstance(t, np.ndarray) or is_dask(t)):
        x, t, columns = as_data(x, t)  # lists, pandas: checked and loaded here
    data = ChunkedData(x, t)
    columns = data.columns if data.frames else columns  # a Dask DataFrame's column names
    # one pass for the ranges (the bases' conditioning depends on the range of x only) and the statistics, in the
    # conditioning of the first chunk's range; read again only when the whole range conditions differently
    guess = _conditioning_guess(basis, data)
    if guess is not None:
        ranges, largest_target, factor = ranges_and_factor(data, guess)
    else:
        (ranges, largest_target), factor = data.ranges(), None
    likelihood.check_target_scale(largest_target, data.n)
    basis.check_inputs(ranges)
    names = feature_names(basis, ranges, columns)
    prior.check_size(len(names))
    penalty = prior.penalty(len(names))
    conditioned = basis.conditioned(ranges)
    if factor is not None and conditioned.to_w == guess.to_w:  # equal T: the same exact dyadic transform
        statistics = statistics_of(factor, data.n)
    else:
        statistics = gaussian_statistics(data, conditioned)
    n, p = statistics.n, len(names)
    _refuse_dependent(statistics.r, names, n, penalty)
    if penalty is not None and penalty.is_flat:
        likelihood.check_maximum(statistics.r, None, names, n)
    sigma0 = likelihood.sigma
    if sigma0 is None:
        sigma0 = float(np.sqrt(statistics.rss / (n - p))) if n > p and statistics.rss > 0 else 1.0
    r_inverse = internal_coordinates(statistics.r, sigma0, prior, conditioned)
    design = Design(basis, likelihood, prior, tuple(names), conditioned, r_inverse, statistics, data,
                    prior_term=PRIOR_TERM)

    # every number that depends on the data sits in pm.Data, so the graph depends only on the model's structure:
    # compiled functions are reused across data sets (PyTensor's cache; nutpie's with_data through nuts_fitter)
    coords = {"feature": names, "feature_internal": np.arange(p), "statistic": np.arange(p)}
    with RegressionModel(design, coords=coords) as model:
        to_w_data = pm.Data("to_w", design.to_w)
        rotated_design = pm.Data("rotated_design", statistics.r @ r_inverse)  # mu_rotated = R r_inverse w_internal
        z = pm.Data("t_rotated_obs", statistics.z, dims="statistic")
        rss = pm.Data("t_residual_ss_obs", np.float64(statistics.rss))
        dof = pm.Data("residual_dof", np.float64(n - p))
        w_internal = _weights(to_w_data, prior, likelihood)
        likelihood.observe_statistics(pt.dot(rotated_design, w_internal), z, rss, dof if n > p else None)
    return model.seal()


def gaussian_regression(x: ArrayLike, t: ArrayLike, *, basis=None, sigma: float | None = None,
                        prior: Prior | None = None, sigma_prior: ScalePrior | None = None,
                        sufficient_statistics: bool | None = None) -> RegressionModel:
    r"""The seed's model: :math:`t_n \sim \mathcal N(\Phi(x_n) w, \sigma^2)`.

    Its MAP with the default flat priors is least squares (for ``w``) and :math:`\sqrt{\mathrm{SSE}/N}`
    (for a learned ``sigma``). ``sigma`` fixes the noise sd; otherwise it is learned under
    ``sigma_prior`` (default ``HalfFlat()``). See :func:`regression` for the other arguments.

    Parameters
    ----------
    x : array of shape (N,) or (N, D), or a pandas Series/DataFrame
        Inputs. Column names of a DataFrame become feature names.
    t : array of shape (N,)
        Targets.
    basis : LinearBasis, PolynomialBasis or GaussianBasis, default ``LinearBasis()``
    sigma : float, optional
        A known noise sd. When omitted, ``sigma`` is a model variable with prior ``sigma_prior``.
    prior : models.priors.Prior, default ``Flat()``
        Prior on ``w``, i.e. the regularizer (Flat, Normal, Laplace, ElasticNet).
    sigma_prior : models.priors.ScalePrior, default ``HalfFlat()``
        Prior for a learned ``sigma``; not with a fixed ``sigma``.
    sufficient_statistics : bool or None, default None
        Observe the likelihood through its sufficient statistics, as in :func:`regression`.

    Returns
    -------
    RegressionModel
        ``regression(x, t, likelihood=likelihoods.Gaussian(sigma=sigma, sigma_prior=sigma_prior), ...)``: ``w``
        (dims ``feature``), ``w_internal``, ``sigma`` when learned and the observed ``t`` (or ``t_rotated`` and
        ``t_residual_ss`` through the statistics).

    Examples
    --------
    >>> import numpy as np
    >>> from models import PolynomialBasis, fit_map, least_squares
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 1, 10)
    >>> t = np.sin(2 * np.pi * x) + rng.normal(0, 0.3, 10)
    >>> model = gaussian_regression(x, t, basis=PolynomialBasis(3), sigma=0.3)
    >>> w = fit_map(model)["w"]
    >>> bool(np.allclose(w, least_squares(x, t, basis=PolynomialBasis(3)), rtol=1e-12, atol=0))  # MAP == least squares
    True
    """
    return regression(x, t, likelihood=Gaussian(sigma=sigma, sigma_prior=sigma_prior), basis=basis, prior=prior,
                      sufficient_statistics=sufficient_statistics)
