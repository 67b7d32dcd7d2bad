r"""Closed forms: iid draws from conjugate posteriors, the evidence, and empirical Bayes (PRML sections 3.3, 3.5).

- :func:`exact_posterior`: iid draws where the model is conjugate (PRML eq. 3.49-3.51 for a known :math:`\sigma`;
  the Normal-inverse-gamma / Student-t case for a flat ``w`` and :math:`p(\sigma) \propto \sigma^{-k}`, BDA3
  section 14.2);
- :func:`log_evidence`:

  .. math::

      \ln p(t) = -\tfrac12\Big[N\ln 2\pi + N\ln\sigma^2 + \ln|\Lambda| + \ln|A|
                 + \min_w\big(\lVert t - \Phi w\rVert^2/\sigma^2 + (w - m_0)^\top\Lambda^{-1}(w - m_0)\big)\Big],
      \qquad A = \Lambda^{-1} + \Phi^\top\Phi/\sigma^2,

  which for the isotropic prior :math:`\Lambda = \alpha^{-1} I`, :math:`\beta = \sigma^{-2}` is PRML eq. 3.86;
- :func:`empirical_bayes`: the evidence maximized over :math:`\alpha` and :math:`\beta` (PRML 3.5.2).

Conjugacy is asked of the families: the likelihood says whether it is ``conjugate``, the prior's
:class:`models.priors.Penalty` whether it is Gaussian (no L1 part), the scale prior whether it is a power law.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import solve_triangular

from .._checks import as_data
from ..basis import LinearBasis
from ..design import check_posterior, design_of
from ..optimize import ridge_rows
from .results import check_draws, check_model, posterior_from_internal

if TYPE_CHECKING:
    import pymc as pm
    import xarray as xr
    from numpy.typing import ArrayLike


def _conjugate_case(model):
    """(design, "known" or "learned"), or a ValueError saying why the model is not conjugate."""
    design = design_of(model)
    if design is None:
        raise ValueError("the exact posterior needs a model made (and not edited since) by models.regression / "
                         "gaussian_regression")
    likelihood, prior, penalty = design.likelihood, design.prior, design.penalty
    if not likelihood.conjugate:
        raise ValueError(f"the {likelihood!r} likelihood has no conjugate posterior (use sample_posterior)")
    if not likelihood.learns_scale:
        if penalty is None or penalty.has_l1:
            raise ValueError(f"no closed form: the prior {prior!r} on w is not conjugate to the Gaussian likelihood "
                             "(use sample_posterior)")
        return design, "known"
    scale_prior = likelihood.prior_of_scale
    if penalty is None or not penalty.is_flat or scale_prior.power_law is None:
        raise ValueError(
            f"no closed form for a learned sigma with prior {prior!r} on w and {scale_prior!r} on sigma: "
            "the conjugate case is a Flat prior on w with HalfFlat or Jeffreys on sigma (use sample_posterior)"
        )
    return design, "learned"


def gaussian_posterior(design, data, sigma):
    """The Gaussian posterior of ``w_internal`` given ``sigma`` (PRML eq. 3.53-3.54 in internal coordinates):
    ``(mean, r, energy)`` with precision ``r.T @ r`` (r upper triangular with a positive diagonal, so rows and
    statistics give the same draws) and ``energy`` the minimized ``|t - D a|^2 / sigma^2 + prior terms``.

    Parameters
    ----------
    design : models.design.Design
        The model's design; its prior must have a penalty without an L1 part.
    data : models.design.GaussianData
        The rows or their sufficient statistics (``design.gaussian_data(model)``).
    sigma : float
        The noise sd.

    Returns
    -------
    mean : ndarray (p,)
        The posterior mean of ``w_internal``.
    r : ndarray (p, p)
        The upper triangular square root of the posterior precision.
    energy : float
        The minimized ``|t - D a|^2 / sigma^2 + prior terms`` (without ``data.extra_sse``).
    """
    penalty = design.penalty
    rows, target = ridge_rows(data.design @ design.r_inverse, data.target, sigma, design.to_w, penalty.loc, penalty.l2)
    q, r = np.linalg.qr(rows)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    q, r = q * signs, signs[:, None] * r
    mean = solve_triangular(r, q.T @ target)
    residual = target - rows @ mean
    return mean, r, float(residual @ residual)


def exact_posterior(model: pm.Model, *, draws: int = 1000, random_seed: int | np.random.Generator | None = None,
                    log_likelihood: bool = True) -> xr.DataTree:
    r"""IID draws from the closed-form posterior of a conjugate Gaussian model (one chain).

    - known :math:`\sigma`, a Gaussian or flat prior: :math:`w \mid t \sim \mathcal N(m_N, S_N)`,
      :math:`S_N^{-1} = \Lambda^{-1} + \Phi^\top\Phi/\sigma^2`,
      :math:`m_N = S_N(\Lambda^{-1} m_0 + \Phi^\top t/\sigma^2)`
      (PRML eq. 3.49-3.51);
    - learned :math:`\sigma` with a flat prior on ``w`` and :math:`p(\sigma) \propto \sigma^{-k}` (``HalfFlat``: k = 0,
      ``Jeffreys``: k = 1):
      :math:`\sigma^2 \mid t \sim \mathrm{InvGamma}\big(\tfrac{N + k - p - 1}{2}, \tfrac{\mathrm{SSE}}{2}\big)`,
      :math:`w \mid \sigma, t \sim \mathcal N(\hat w, \sigma^2 (\Phi^\top\Phi)^{-1})`; marginally ``w`` is Student-t.

    Parameters
    ----------
    model : RegressionModel
        A builder's conjugate model; any other raises a ``ValueError`` that names why it is not conjugate.
    draws : int
    random_seed : int, optional
    log_likelihood : bool
        ``False`` skips the pointwise log-likelihood (its compilation dominates the cost in replication studies).

    Returns
    -------
    xarray.DataTree
        ``posterior`` (``w``, ``w_internal``, ``sigma`` when learned; one chain), ``observed_data``,
        ``constant_data`` and ``log_likelihood``.

    Examples
    --------
    >>> import numpy as np
    >>> from models import gaussian_regression
    >>> model = gaussian_regression(np.array([0.0, 1.0, 2.0]), np.array([0.1, 0.9, 2.1]), sigma=0.5)
    >>> idata = exact_posterior(model, draws=10, random_seed=0, log_likelihood=False)
    >>> dict(idata.posterior["w"].sizes)
    {'chain': 1, 'draw': 10, 'feature': 2}
    """
    check_model(model)
    draws = check_draws(draws, "draws")
    check_posterior(model)
    design, case = _conjugate_case(model)
    data = design.gaussian_data(model)
    rng = np.random.default_rng(random_seed)
    p = design.p
    noise = rng.standard_normal((1, draws, p))
    if case == "known":
        mean, r, _ = gaussian_posterior(design, data, design.likelihood.fixed_scale)
        internal = mean + solve_triangular(r, noise[0].T).T[None]
        return posterior_from_internal(model, design, internal, log_likelihood=log_likelihood)
    k = design.likelihood.prior_of_scale.power_law
    shape = (data.n + k - p - 1) / 2
    if shape <= 0:
        raise ValueError(f"the posterior is improper: N = {data.n} observations are too few for p = {p} weights and a "
                         "learned sigma under this prior")
    mean, r, sse = gaussian_posterior(design, data, 1.0)
    sse += data.extra_sse
    variance = (sse / 2) / rng.gamma(shape, size=(1, draws))  # InvGamma(shape, sse/2)
    sigma = np.sqrt(variance)
    internal = mean + sigma[..., None] * solve_triangular(r, noise[0].T).T[None]
    return posterior_from_internal(model, design, internal, sigma, log_likelihood=log_likelihood)


def log_evidence(model: pm.Model) -> float:
    """:math:`\\ln p(t \\mid x)` of a builder's model with known ``sigma`` and a proper Gaussian prior on ``w``.

    Computed in the model's well-conditioned internal coordinates (w = T a, so
    :math:`\\ln|A_w| = \\ln|A_a| - 2\\ln|\\det T|`) with a QR factorization instead of forming normal equations.

    Parameters
    ----------
    model : RegressionModel
        Gaussian likelihood with a fixed sigma, ``priors.Normal`` on w.

    Returns
    -------
    float
        The log evidence (marginal likelihood) of the targets, constants included.
    """
    design = design_of(model)
    if design is None:
        raise ValueError("log_evidence needs a model made (and not edited since) by models.regression / "
                         "gaussian_regression")
    likelihood, penalty = design.likelihood, design.penalty
    if not likelihood.conjugate or likelihood.learns_scale:
        raise ValueError("log_evidence is closed-form for a Gaussian likelihood with a known sigma only: fix sigma "
                         "(gaussian_regression(..., sigma=...))")
    if penalty is None or penalty.has_l1 or not np.all(penalty.l2 > 0):
        raise ValueError(f"log_evidence needs a proper Gaussian prior on w (priors.Normal); with {design.prior!r} the "
                         "evidence is not finite or has no closed form")
    data = design.gaussian_data(model)
    sigma = likelihood.fixed_scale
    _, r, energy = gaussian_posterior(design, data, sigma)
    log_det_a = 2 * np.sum(np.log(np.abs(np.diag(r)))) - 2 * np.linalg.slogdet(design.to_w)[1]
    log_det_prior = -np.sum(np.log(penalty.l2))
    n = data.n
    return float(-0.5 * (n * np.log(2 * np.pi) + n * np.log(sigma**2) + log_det_prior + log_det_a + energy
                         + data.extra_sse / sigma**2))


def _evidence_parts(u, singular, ut, t_norm2, alpha, beta, n, p):
    """m_N in the right-singular basis, gamma and ln p(t | alpha, beta) (PRML eq. 3.84-3.86, 3.91) from the SVD."""
    lam = beta * singular**2
    coefficients = beta * singular * ut / (alpha + lam)  # m_N = V @ coefficients
    gamma = float(np.sum(lam / (alpha + lam)))
    fitted = singular * coefficients  # U^T Phi m_N
    sse = t_norm2 - 2 * fitted @ ut + fitted @ fitted
    energy = beta / 2 * sse + alpha / 2 * coefficients @ coefficients
    log_det_a = np.sum(np.log(alpha + lam)) + (p - len(singular)) * np.log(alpha)
    log_evidence = p / 2 * np.log(alpha) + n / 2 * np.log(beta) - energy - log_det_a / 2 - n / 2 * np.log(2 * np.pi)
    return coefficients, gamma, sse, float(log_evidence)


def empirical_bayes(x: ArrayLike, t: ArrayLike, *, basis=None, alpha: float = 1.0, beta: float | None = None,
                    max_iter: int = 100_000, tol: float = 1e-13) -> dict:
    r"""Maximize the evidence over the prior precision :math:`\alpha` and noise precision :math:`\beta` (PRML 3.5.2).

    Fixed point of PRML eq. 3.92 and 3.95: :math:`\gamma = \sum_i \lambda_i/(\alpha + \lambda_i)`,
    :math:`\alpha = \gamma / m_N^\top m_N`, :math:`1/\beta = \lVert t - \Phi m_N\rVert^2/(N - \gamma)`, with
    :math:`\lambda_i` the eigenvalues of :math:`\beta\Phi^\top\Phi` (from the SVD of :math:`\Phi`). The prior
    :math:`w \sim \mathcal N(0, \alpha^{-1} I)` covers every feature, including the constant one.
    scikit-learn's ``BayesianRidge`` with its hyper-priors off computes the same thing with ``alpha_`` = our
    :math:`\beta` and ``lambda_`` = our :math:`\alpha`.

    Parameters
    ----------
    x : array (N,) or (N, D)
    t : array (N,)
    basis : LinearBasis, PolynomialBasis or GaussianBasis, default ``LinearBasis()``
    alpha, beta : float
        Starting values (``beta`` defaults to 1 / Var t).
    max_iter : int
    tol : float
        Relative change of both at which the iteration stops.

    Returns
    -------
    dict
        ``"alpha"``, ``"beta"``, ``"log_evidence"``, ``"w_mean"``, ``"gamma"``, ``"iterations"``.
    When the evidence is maximized only in the limit :math:`\alpha \to \infty` (the data are better explained
    as noise), that limit is returned: ``alpha = inf``, ``w_mean = 0``, :math:`\beta = N / t^\top t`.
    """
    basis = LinearBasis() if basis is None else basis
    x, t, _ = as_data(x, t)
    basis.check_inputs(x)
    features = basis.features(x)
    n, p = features.shape
    u, singular, vt = np.linalg.svd(features, full_matrices=False)
    ut = u.T @ t
    t_norm2 = float(t @ t)
    beta = 1 / np.var(t) if beta is None else beta
    for iteration in range(1, max_iter + 1):
        coefficients, gamma, sse, _ = _evidence_parts(u, singular, ut, t_norm2, alpha, beta, n, p)
        if gamma <= 1e-12 * p or not np.any(coefficients):
            # the evidence keeps rising as alpha -> inf: the limit is w = 0 and beta = N / t.t
            return {"alpha": float("inf"), "beta": n / t_norm2, "w_mean": np.zeros(p), "gamma": 0.0,
                    "log_evidence": float(-n / 2 * (np.log(2 * np.pi * t_norm2 / n) + 1)), "iterations": iteration}
        new_alpha = gamma / float(coefficients @ coefficients)
        new_beta = (n - gamma) / sse
        converged = abs(new_alpha - alpha) <= tol * alpha and abs(new_beta - beta) <= tol * beta
        alpha, beta = new_alpha, new_beta
        if converged:
            break
    coefficients, gamma, _, log_evidence = _evidence_parts(u, singular, ut, t_norm2, alpha, beta, n, p)
    return {"alpha": float(alpha), "beta": float(beta), "log_evidence": log_evidence, "w_mean": vt.T @ coefficients,
            "gamma": gamma, "iterations": iteration}
