r"""Priors, read as regularizers.

A prior :math:`p(w)` adds :math:`-\log p(w)` to the negative log-likelihood, so the MAP minimizes
loss + penalty (PRML section 1.2.5 and eq. 3.27). With a Gaussian likelihood of noise sd
:math:`\sigma` the MAP objective, multiplied by :math:`\sigma^2`, is

.. math::

    \tfrac12 \lVert t - \Phi w \rVert^2 + \sigma^2 \, \mathrm{penalty}(w),

which is what the classical estimators minimize, with the constants given on each class.

Priors on ``w`` (:class:`Flat`, :class:`Normal`, :class:`Laplace`) accept a scalar or a per-feature
``loc``/``scale``. Priors on ``sigma`` (:class:`HalfFlat`, :class:`HalfNormal`, :class:`HalfCauchy`)
create the PyMC variable and know the mode of :math:`\sigma` given the residual sum of squares.
"""

import numpy as np
import pymc as pm

from ._checks import positive_scalar, scalar_or_vector


class Flat:
    r"""Improper flat prior :math:`p(w) \propto 1`: no penalty, MAP = maximum likelihood = least squares."""

    penalty_name = "none"
    classical = "ordinary least squares: sklearn LinearRegression(fit_intercept=False)"

    def __repr__(self):
        return "Flat()"

    def check_size(self, p):
        pass

    def penalty(self, w):
        return 0.0

    def logp(self, w):
        """No term to add to the model."""
        return None

    def sklearn_estimator(self, sigma=None, n=None):
        from sklearn.linear_model import LinearRegression

        return LinearRegression(fit_intercept=False)


class _LocationScale:
    def __init__(self, scale, loc=0.0):
        self.scale = scalar_or_vector(scale, "scale", positive=True)
        self.loc = scalar_or_vector(loc, "loc", positive=False)

    def __repr__(self):
        return f"{type(self).__name__}(scale={self.scale.tolist()}, loc={self.loc.tolist()})"

    def check_size(self, p):
        for name in ("scale", "loc"):
            value = getattr(self, name)
            if value.ndim == 1 and value.size != p:
                raise ValueError(f"{name} has {value.size} entries but the basis has {p} features")

    def _scalar_for_sklearn(self):
        if self.scale.ndim or self.loc.ndim or self.loc != 0:
            raise ValueError("the sklearn twin needs a scalar scale and loc=0")
        return float(self.scale)


class Normal(_LocationScale):
    r"""Gaussian prior :math:`w_j \sim \mathcal N(\mathrm{loc}_j, \mathrm{scale}_j^2)`: ridge / weight decay.

    Penalty :math:`\sum_j (w_j - \mathrm{loc}_j)^2 / (2\,\mathrm{scale}_j^2)` (PRML eq. 3.52 with
    :math:`\alpha = 1/\mathrm{scale}^2`). With noise sd :math:`\sigma` the MAP equals
    ``sklearn.linear_model.Ridge(alpha=sigma**2 / scale**2, fit_intercept=False)`` on the features.
    """

    penalty_name = "L2 (ridge)"

    @property
    def sd(self):
        """Prior standard deviation per feature."""
        return self.scale
    classical = "sklearn Ridge(alpha = sigma^2 / scale^2, fit_intercept=False)"

    def penalty(self, w):
        return float(np.sum((np.asarray(w) - self.loc) ** 2 / (2 * self.scale**2)))

    def logp(self, w):
        return pm.logp(pm.Normal.dist(mu=self.loc, sigma=self.scale), w).sum()

    def sklearn_estimator(self, sigma, n=None):
        from sklearn.linear_model import Ridge

        scale = self._scalar_for_sklearn()
        return Ridge(alpha=sigma**2 / scale**2, fit_intercept=False, solver="svd")


class Laplace(_LocationScale):
    r"""Laplace prior :math:`p(w_j) = \frac{1}{2 b_j} e^{-|w_j - \mathrm{loc}_j| / b_j}`, :math:`b` = ``scale``: the lasso.

    Penalty :math:`\sum_j |w_j - \mathrm{loc}_j| / b_j`. sklearn's Lasso minimizes
    :math:`\frac{1}{2N}\lVert t - \Phi w\rVert^2 + \alpha \lVert w \rVert_1`; multiplying the MAP objective
    by :math:`\sigma^2 / N` shows the MAP equals ``Lasso(alpha=sigma**2 / (N * scale), fit_intercept=False)``.
    The MAP has exact zeros; the posterior mean never does.
    """

    penalty_name = "L1 (lasso)"

    @property
    def sd(self):
        """Prior standard deviation per feature: sqrt(2) b."""
        return np.sqrt(2) * self.scale
    classical = "sklearn Lasso(alpha = sigma^2 / (N * scale), fit_intercept=False)"

    def penalty(self, w):
        return float(np.sum(np.abs(np.asarray(w) - self.loc) / self.scale))

    def logp(self, w):
        return pm.logp(pm.Laplace.dist(mu=self.loc, b=self.scale), w).sum()

    def sklearn_estimator(self, sigma, n):
        from sklearn.linear_model import Lasso

        scale = self._scalar_for_sklearn()
        return Lasso(alpha=sigma**2 / (n * scale), fit_intercept=False, tol=1e-14, max_iter=1_000_000)


# Priors on the noise sd sigma. ``map_sigma(n, sse)`` is the sigma maximizing
#   -n log(sigma) - sse / (2 sigma^2) + log p(sigma)
# i.e. the mode in sigma itself (as pm.find_MAP reports it: without the log-Jacobian of the transform).


class HalfFlat:
    r"""Improper flat prior on :math:`\sigma > 0`: the MAP is the MLE, :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56)."""

    def __repr__(self):
        return "HalfFlat()"

    def rv(self, name):
        return pm.HalfFlat(name)

    def map_sigma(self, n, sse):
        return float(np.sqrt(sse / n))


class HalfNormal:
    r""":math:`\sigma \sim \mathrm{HalfNormal}(s)`; mode :math:`\sigma^2 = \tfrac{s^2}{2}\left(\sqrt{N^2 + 4\,\mathrm{SSE}/s^2} - N\right)`."""

    def __init__(self, scale):
        self.scale = positive_scalar(scale, "scale")

    def __repr__(self):
        return f"HalfNormal(scale={self.scale})"

    def rv(self, name):
        return pm.HalfNormal(name, sigma=self.scale)

    def map_sigma(self, n, sse):
        # stationarity: -n/s + sse/s^3 - s/scale^2 = 0, a quadratic in v = s^2; the root written without cancellation
        s2 = self.scale**2
        v = 2 * sse / (n + np.sqrt(n**2 + 4 * sse / s2))
        return float(np.sqrt(v))


class HalfCauchy:
    r""":math:`\sigma \sim \mathrm{HalfCauchy}(s)`, the weakly informative default of Gelman (2006).

    Mode: the positive root v of :math:`(N+2) v^2 - (\mathrm{SSE} - N s^2) v - \mathrm{SSE}\, s^2 = 0`, :math:`\sigma = \sqrt v`.
    """

    def __init__(self, scale):
        self.scale = positive_scalar(scale, "scale")

    def __repr__(self):
        return f"HalfCauchy(scale={self.scale})"

    def rv(self, name):
        return pm.HalfCauchy(name, beta=self.scale)

    def map_sigma(self, n, sse):
        s2 = self.scale**2
        b = sse - n * s2
        # positive root of (n+2) v^2 - b v - sse s2 = 0, in the form without cancellation for either sign of b
        disc = np.sqrt(b**2 + 4 * (n + 2) * sse * s2)
        v = (b + disc) / (2 * (n + 2)) if b >= 0 else 2 * sse * s2 / (disc - b)
        return float(np.sqrt(v))


class Jeffreys:
    r"""Jeffreys' prior :math:`p(\sigma) \propto 1/\sigma` (flat in :math:`\log\sigma`); mode :math:`\sigma^2 = \mathrm{SSE}/(N+1)`.

    With a flat prior on ``w`` the posterior is conjugate: :math:`\sigma^2 \mid t \sim \mathrm{InvGamma}((N-p)/2, \mathrm{SSE}/2)`
    and ``w`` is Student-t (BDA3 section 14.2).
    """

    def __repr__(self):
        return "Jeffreys()"

    def rv(self, name):
        sigma = pm.HalfFlat(name)
        pm.Potential(f"{name}_jeffreys", -pm.math.log(sigma))
        return sigma

    def map_sigma(self, n, sse):
        return float(np.sqrt(sse / (n + 1)))


W_PRIORS = (Flat, Normal, Laplace)
SIGMA_PRIORS = (HalfFlat, Jeffreys, HalfNormal, HalfCauchy)
