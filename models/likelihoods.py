r"""Likelihoods, read as losses.

The seed's argument in one line: a regression network outputs the *mean* of a Gaussian,
:math:`t \sim \mathcal N(y(x \mid w), \sigma^2)`, and the negative log-likelihood of N independent targets is

.. math::

    -\log p(t \mid x, w, \sigma) = \frac{N}{2\sigma^2}\,\mathrm{MSE}(w) + \frac N2 \log(2\pi\sigma^2),
    \qquad \mathrm{MSE}(w) = \frac1N \sum_n \big(t_n - y(x_n \mid w)\big)^2

(PRML eq. 1.62 and 3.11), so maximizing the likelihood over ``w`` is minimizing the MSE, whatever
:math:`\sigma` is.
"""

import numpy as np
import pymc as pm

from ._checks import positive_scalar
from .priors import SIGMA_PRIORS, HalfFlat


def mse(t, y):
    """Mean squared error :math:`\\frac1N \\sum_n (t_n - y_n)^2`."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((t - y) ** 2))


def gaussian_nll(t, y, sigma):
    """Negative log-likelihood of targets ``t`` under :math:`\\mathcal N(y, \\sigma^2)`, summed over observations.

    Written directly from the density (not through :func:`mse`), so that the identity with the MSE can be checked.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    sigma = positive_scalar(sigma, "sigma")
    z = (t - y) / sigma
    return float(np.sum(0.5 * z**2 + np.log(sigma) + 0.5 * np.log(2 * np.pi)))


class Gaussian:
    r"""Gaussian noise :math:`t_n \sim \mathcal N(y(x_n \mid w), \sigma^2)` <-> the MSE loss.

    Parameters
    ----------
    sigma : float, optional
        A known noise sd. When omitted, ``sigma`` is a model variable with prior ``sigma_prior``.
    sigma_prior : HalfFlat, HalfNormal or HalfCauchy
        Prior for a learned ``sigma``. The default ``HalfFlat()`` makes the MAP the maximum-likelihood
        estimate :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56).
    """

    loss_name = "MSE"
    link = "identity"

    def __init__(self, sigma=None, sigma_prior=None):
        self.sigma = positive_scalar(sigma, "sigma", allow_none=True)
        if sigma is not None and sigma_prior is not None:
            raise ValueError("give either a fixed sigma or a sigma_prior for a learned sigma, not both")
        sigma_prior = HalfFlat() if sigma_prior is None else sigma_prior
        if not isinstance(sigma_prior, SIGMA_PRIORS):
            names = ", ".join(c.__name__ for c in SIGMA_PRIORS)
            raise TypeError(f"sigma_prior must be one of {names}, got {sigma_prior!r}")
        self.sigma_prior = sigma_prior

    def __repr__(self):
        if self.sigma is not None:
            return f"Gaussian(sigma={self.sigma})"
        return f"Gaussian(sigma_prior={self.sigma_prior!r})"

    @property
    def learns_sigma(self):
        return self.sigma is None

    def loss(self, t, y):
        """The loss this likelihood is the negative log of (up to scale and shift): the MSE."""
        return mse(t, y)

    def nll(self, t, y, sigma=None):
        return gaussian_nll(t, y, self.sigma if sigma is None else sigma)

    def check_targets(self, t):
        """Any finite real target is in the support."""

    def observe(self, mu, observed):
        """Add ``sigma`` (when learned) and the observed ``t`` to the model in context."""
        sigma = self.sigma_prior.rv("sigma") if self.learns_sigma else self.sigma
        return pm.Normal("t", mu=mu, sigma=sigma, observed=observed, dims="obs_id")


LIKELIHOODS = (Gaussian,)
