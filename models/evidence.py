r"""The marginal likelihood (evidence) of conjugate Gaussian models, and empirical Bayes (PRML section 3.5).

.. math::

    \ln p(t) = -\tfrac12\Big[N\ln 2\pi + N\ln\sigma^2 + \ln|\Lambda| + \ln|A|
               + \min_w\big(\lVert t - \Phi w\rVert^2/\sigma^2 + (w - m_0)^\top\Lambda^{-1}(w - m_0)\big)\Big],
    \qquad A = \Lambda^{-1} + \Phi^\top\Phi/\sigma^2,

which for the isotropic prior :math:`\Lambda = \alpha^{-1} I`, :math:`\beta = \sigma^{-2}` is PRML eq. 3.86.
"""

import numpy as np

from ._checks import as_data
from .basis import LinearBasis
from .builders import spec_of
from .inference import _gaussian_data
from .likelihoods import Gaussian
from .priors import Normal


def log_evidence(model):
    """:math:`\\ln p(t \\mid x)` of a builder's model with known ``sigma`` and a ``Normal`` prior on ``w``.

    Computed in the model's well-conditioned internal coordinates (w = T a, so
    :math:`\\ln|A_w| = \\ln|A_a| - 2\\ln|\\det T|`) with a QR factorization instead of forming normal equations.
    """
    spec = spec_of(model)
    if spec is None:
        raise ValueError("log_evidence needs a model made (and not edited since) by models.regression / gaussian_regression")
    if not isinstance(spec.likelihood, Gaussian) or spec.likelihood.sigma is None:
        raise ValueError("log_evidence is closed-form for a known sigma only: fix sigma (gaussian_regression(..., sigma=...))")
    if not isinstance(spec.prior, Normal):
        raise ValueError(f"log_evidence needs a proper Normal prior on w; with {spec.prior!r} the evidence is "
                         "not finite or has no closed form")
    z, t, _, n, extra_sse = _gaussian_data(model, spec)
    design = z @ spec.r_inverse
    p = design.shape[1]
    sigma = spec.likelihood.sigma
    sd = np.broadcast_to(spec.prior.scale, (p,))
    loc = np.broadcast_to(spec.prior.loc, (p,))
    stacked = np.vstack([design / sigma, spec.to_w / sd[:, None]])
    target = np.concatenate([t / sigma, loc / sd])
    q, r = np.linalg.qr(stacked)
    a = np.linalg.solve(r, q.T @ target)
    residual = target - stacked @ a
    log_det_a_internal = 2 * np.sum(np.log(np.abs(np.diag(r))))
    log_det_to_w = np.linalg.slogdet(spec.to_w)[1]
    log_det_a = log_det_a_internal - 2 * log_det_to_w
    log_det_prior = 2 * np.sum(np.log(sd))
    return float(-0.5 * (n * np.log(2 * np.pi) + n * np.log(sigma**2) + log_det_prior + log_det_a + residual @ residual + extra_sse / sigma**2))


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


def empirical_bayes(x, t, *, basis=None, alpha=1.0, beta=None, max_iter=100_000, tol=1e-13):
    r"""Maximize the evidence over the prior precision :math:`\alpha` and noise precision :math:`\beta` (PRML 3.5.2).

    Fixed point of PRML eq. 3.92 and 3.95: :math:`\gamma = \sum_i \lambda_i/(\alpha + \lambda_i)`,
    :math:`\alpha = \gamma / m_N^\top m_N`, :math:`1/\beta = \lVert t - \Phi m_N\rVert^2/(N - \gamma)`, with
    :math:`\lambda_i` the eigenvalues of :math:`\beta\Phi^\top\Phi` (from the SVD of :math:`\Phi`). The prior
    :math:`w \sim \mathcal N(0, \alpha^{-1} I)` covers every feature, including the constant one.
    scikit-learn's ``BayesianRidge`` with its hyper-priors off computes the same thing with ``alpha_`` = our
    :math:`\beta` and ``lambda_`` = our :math:`\alpha`.

    Returns a dict with ``"alpha"``, ``"beta"``, ``"log_evidence"``, ``"w_mean"``, ``"gamma"``, ``"iterations"``.
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
