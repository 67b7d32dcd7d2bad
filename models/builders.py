r"""Model builders: arrays in, ``pm.Model`` out. No fitting, no I/O.

The generative story of every model here:

.. math::

    w &\sim p(w) \quad\text{(the prior: Flat, Normal, Laplace)} \\
    \sigma &\sim p(\sigma) \quad\text{(when learned: HalfFlat, HalfNormal, HalfCauchy)} \\
    t_n &\sim \mathcal N\big(y(x_n \mid w), \sigma^2\big), \qquad y(x \mid w) = \Phi(x)\, w

Model variables: ``w`` (dims ``feature``, in the basis' own coordinates), ``sigma`` (when learned),
observed ``t`` (dims ``obs_id``), data ``x`` and ``t_obs`` in ``pm.Data``.

The sampler works in well-conditioned internal coordinates ``w_internal`` (Legendre / centred
features, then the QR factor of that design stacked with the prior's precision, which whitens the
posterior at a nominal noise level), with ``w = T @ w_internal`` a ``Deterministic``.
The map is linear, so a flat prior on ``w_internal`` is a flat prior on ``w``, and any other prior on
``w`` enters as a ``Potential`` on ``w`` itself: the density is exactly the stated model's.
"""

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.linalg import solve_triangular

from ._checks import as_data
from .basis import GaussianBasis, LinearBasis, PolynomialBasis
from .likelihoods import LIKELIHOODS, Gaussian
from .priors import SIGMA_PRIORS, W_PRIORS, Flat

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

    def internal_design(self, x):
        """The design of the graph in the internal coordinates: mu = internal_design(x) @ w_internal."""
        return self.conditioned.transform(np.asarray(x, dtype=float), np) @ self.r_inverse

    @staticmethod
    def variable_names(model):
        return frozenset(v.name for v in model.free_RVs + model.observed_RVs + model.potentials)


def spec_of(model):
    """The builder's spec when ``model`` is still exactly what a builder made, else None."""
    spec = getattr(model, "regression_spec", None)
    if spec is None or RegressionSpec.variable_names(model) != spec.variables:
        return None
    return spec


def _dependent_features(z, names):
    """Names of the columns of z (unit-norm columns) that are numerically combinations of the earlier ones."""
    n, p = z.shape
    diagonal = np.zeros(p)
    r = np.linalg.qr(z, mode="r")
    diagonal[: min(n, p)] = np.abs(np.diag(r))
    return [name for name, d in zip(names, diagonal) if d <= p * np.finfo(float).eps]


def _nominal_sigma(likelihood, z, t, rank_deficient):
    """The noise sd used to whiten the internal coordinates: the fixed sigma, else the least-squares residual sd."""
    if getattr(likelihood, "sigma", None) is not None:
        return likelihood.sigma
    n, p = z.shape
    if not rank_deficient and n > p:
        coefficients = np.linalg.lstsq(z, t, rcond=None)[0]
        residual_sd = float(np.sqrt(np.sum((t - z @ coefficients) ** 2) / (n - p)))
        if residual_sd > 0:
            return residual_sd
    return float(np.std(t)) or 1.0


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


def regression(x, t, *, likelihood, basis=None, prior=None):
    r"""A regression model :math:`t_n \sim \text{likelihood}(y(x_n \mid w))` with :math:`y = \Phi(x) w`.

    Parameters
    ----------
    x : array of shape (N,) or (N, D), or a pandas Series/DataFrame
        Inputs. Column names of a DataFrame become feature names.
    t : array of shape (N,)
        Targets.
    likelihood : models.likelihoods.Gaussian
        The noise model, i.e. the loss.
    basis : LinearBasis, PolynomialBasis or GaussianBasis, default ``LinearBasis()``
    prior : Flat, Normal or Laplace, default ``Flat()``
        Prior on ``w``, i.e. the regularizer.

    Returns
    -------
    pm.Model
        With ``w`` (dims ``feature``), ``sigma`` when learned, observed ``t`` (dims ``obs_id``).
    """
    basis = LinearBasis() if basis is None else basis
    prior = Flat() if prior is None else prior
    _check_parts(likelihood, basis, prior)
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
    norms = np.linalg.norm(z, axis=0).clip(min=np.finfo(float).tiny)
    dependent = _dependent_features(z / norms, names)
    if dependent and isinstance(prior, Flat):
        raise ValueError(
            f"the design is rank deficient: feature(s) {dependent} are linear combinations of the ones before "
            f"them on these x (N = {len(t)}, p = {len(names)}), so under a flat prior the posterior is improper; "
            "drop them, use fewer features, or put a proper prior (priors.Normal, priors.Laplace) on w"
        )
    if isinstance(prior, Flat) and getattr(likelihood, "learns_sigma", False) and len(t) <= len(names):
        raise ValueError(
            f"N = {len(t)} observations for p = {len(names)} weights under a flat prior with a learned sigma: "
            "the features fit t exactly, sigma -> 0 and the posterior is improper; put a proper prior on w "
            "(priors.Normal), fix sigma, or use fewer features"
        )
    sigma0 = _nominal_sigma(likelihood, z, t, dependent)
    stacked = z / sigma0
    if not isinstance(prior, Flat):
        prior_sd = np.broadcast_to(prior.sd, (len(names),))
        stacked = np.vstack([stacked, conditioned.T / prior_sd[:, None]])
    r_inverse = solve_triangular(np.linalg.qr(stacked, mode="r"), np.eye(len(names)))
    to_w = conditioned.T @ r_inverse

    coords = {"feature": names, "feature_internal": np.arange(len(names)), "obs_id": np.arange(len(t))}
    x_dims = ("obs_id",) if x.ndim == 1 else ("obs_id", "input")
    if x.ndim == 2:
        coords["input"] = columns or [f"x{j}" for j in range(x.shape[1])]
    with pm.Model(coords=coords) as model:
        x_data = pm.Data("x", x, dims=x_dims)
        t_data = pm.Data("t_obs", t, dims="obs_id")
        w_internal = pm.Flat("w_internal", dims="feature_internal")
        w = pm.Deterministic("w", pt.dot(to_w, w_internal), dims="feature")
        prior_logp = prior.logp(w)
        if prior_logp is not None:
            pm.Potential("w_prior", prior_logp)
        mu = pt.dot(conditioned.transform(x_data, pt), pt.dot(r_inverse, w_internal))
        likelihood.observe(mu, t_data)
    model.regression_spec = RegressionSpec(
        basis, likelihood, prior, RegressionSpec.variable_names(model), conditioned, r_inverse, to_w
    )
    return model


def gaussian_regression(x, t, *, basis=None, sigma=None, prior=None, sigma_prior=None):
    r"""The seed's model: :math:`t_n \sim \mathcal N(\Phi(x_n) w, \sigma^2)`.

    Its MAP with the default flat priors is least squares (for ``w``) and :math:`\sqrt{\mathrm{SSE}/N}`
    (for a learned ``sigma``). ``sigma`` fixes the noise sd; otherwise it is learned under
    ``sigma_prior`` (default ``HalfFlat()``). See :func:`regression` for the other arguments.

    Examples
    --------
    >>> model = gaussian_regression(x, t, basis=PolynomialBasis(3), sigma=0.3)
    >>> fit_map(model)["w"]          # == least squares
    """
    return regression(x, t, likelihood=Gaussian(sigma=sigma, sigma_prior=sigma_prior), basis=basis, prior=prior)
