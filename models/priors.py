r"""Priors, read as regularizers.

A prior :math:`p(w)` adds :math:`-\log p(w)` to the negative log-likelihood, so the MAP minimizes
loss + penalty (PRML section 1.2.5 and eq. 3.27). With a Gaussian likelihood of noise sd
:math:`\sigma` the MAP objective, multiplied by :math:`\sigma^2`, is

.. math::

    \tfrac12 \lVert t - \Phi w \rVert^2 + \sigma^2 \, \mathrm{penalty}(w),

which is what the classical estimators minimize, with the constants given on each class.

Every prior on ``w`` here is one member of one family: per weight,

.. math::

    -\log p(w_j) = \lambda_{1j} \, |w_j - m_j| + \tfrac12 \lambda_{2j} (w_j - m_j)^2 + \text{const},

with :math:`\lambda_1 = 0` and :math:`\lambda_2 = 0` for :class:`Flat`, :math:`\lambda_2 = 1/s^2` for
:class:`Normal`, :math:`\lambda_1 = 1/b` for :class:`Laplace` and both for :class:`ElasticNet`. A prior states its
:class:`Penalty` and the inference code solves for any penalty of this form; it never asks which class a prior is.
A new prior is one subclass of :class:`Prior`: ``logp`` (the model's density) and ``penalty`` (its weights of the
two parts; a prior that is not of this form returns None and is fitted generically where its density is smooth).

Priors on a positive scale (the Gaussian's ``sigma``, the Laplace's ``b``, the Gamma's shape) are subclasses of
:class:`ScalePrior`: they make the PyMC variable and know the mode of the scale given the data's energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.optimize import minimize_scalar
from scipy.special import erfcx

from ._checks import positive_scalar, scalar_or_vector

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Penalty:
    r""":math:`-\log p(w) = \sum_j \lambda_{1j}|w_j - m_j| + \tfrac12\lambda_{2j}(w_j - m_j)^2` + const, per feature.

    Attributes
    ----------
    loc : ndarray (p,)
        :math:`m`, the prior's centre.
    l1, l2 : ndarray (p,)
        :math:`\lambda_1 \ge 0` and :math:`\lambda_2 \ge 0`; zero where a part is absent.
    """

    loc: np.ndarray
    l1: np.ndarray
    l2: np.ndarray

    @property
    def has_l1(self) -> bool:
        """Whether the penalty has an absolute-value part (the density has a kink at ``loc``).

        Returns
        -------
        bool
            True when some :math:`\\lambda_{1j} > 0`.
        """
        return bool(np.any(self.l1 > 0))

    @property
    def is_flat(self) -> bool:
        """Whether there is no penalty at all.

        Returns
        -------
        bool
            True when every :math:`\\lambda_{1j}` and :math:`\\lambda_{2j}` is 0.
        """
        return not self.has_l1 and not np.any(self.l2 > 0)

    def value(self, w: ArrayLike) -> float:
        """The penalty at ``w`` (shape (p,) or (p, K): the weights broadcast along the first axis).

        Parameters
        ----------
        w : array_like (p,) or (p, K)
            Weights in the basis' own coordinates.

        Returns
        -------
        float
            :math:`\\sum_j \\lambda_{1j}|w_j - m_j| + \\tfrac12\\lambda_{2j}(w_j - m_j)^2`, summed over the columns.
        """
        w = np.asarray(w, dtype=float)
        shape = (-1,) + (1,) * (w.ndim - 1)
        d = w - self.loc.reshape(shape)
        return float(np.sum(self.l1.reshape(shape) * np.abs(d) + 0.5 * self.l2.reshape(shape) * d**2))


def _per_feature(value, p):
    """A scalar or (p,) parameter as a fresh (p,) array."""
    return np.broadcast_to(value, (p,)).astype(float)


class Prior:
    """A prior on the weights ``w``: the base class of the family.

    A subclass provides ``logp(w)`` (a PyTensor expression, or None for no term) and ``penalty(p)`` (a
    :class:`Penalty`, or None when its density is not of the L1 + L2 form). Optional: ``sd`` (a scale per
    feature to condition the sampler's coordinates), ``sklearn_estimator(sigma, n)`` (the scikit-learn twin of the
    Gaussian MAP with its exact constants), ``check_size(p)``.
    """

    name = "prior"
    regularizer = "a penalty"  # the classical name of what the prior adds to the loss

    def logp(self, w: pt.TensorVariable) -> pt.TensorVariable | None:
        """The log density of ``w`` as a PyTensor expression (added to the model as a Potential), or None.

        Parameters
        ----------
        w : pytensor TensorVariable (p,) or (K, p)
            The weights in the model; per-feature parameters broadcast along the last axis.

        Returns
        -------
        pytensor TensorVariable or None
            The scalar :math:`\\log p(w)` summed over the weights, or None when the prior adds no term (flat).

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define logp")

    def penalty(self, p: int) -> Penalty | None:
        """The L1 and L2 weights of :math:`-\\log p(w)` for ``p`` features, or None if it is not of that form.

        Parameters
        ----------
        p : int
            The number of features.

        Returns
        -------
        Penalty or None
            ``loc``, ``l1`` and ``l2`` as arrays of shape (p,); None (the base class) when :math:`-\\log p(w)` is
            not an L1 + L2 penalty, so that the MAP and the closed forms take the generic way or refuse.
        """
        return None

    @property
    def sd(self) -> float | np.ndarray | None:
        """A prior standard deviation per feature (or a scalar), used to condition the sampler; None if improper.

        Returns
        -------
        float or ndarray (p,) or None
            None in the base class.
        """
        return None

    def check_size(self, p: int) -> None:
        """Refuse per-feature parameters whose length is not ``p``.

        Does nothing in the base class; a prior with per-feature parameters raises a ValueError naming the one
        whose length differs.

        Parameters
        ----------
        p : int
            The number of features of the basis.
        """

    def sklearn_estimator(self, sigma: float, n: int):
        """The scikit-learn estimator whose fit equals the Gaussian-likelihood MAP with noise sd ``sigma`` on ``n``
        observations, or None when there is none.

        Parameters
        ----------
        sigma : float
            The Gaussian likelihood's noise sd.
        n : int
            The number of observations.

        Returns
        -------
        sklearn.base.RegressorMixin or None
            An unfitted estimator with ``fit_intercept=False`` (fit it on the features :math:`\\Phi(x)`), or None
            (the base class).
        """
        return None


class Flat(Prior):
    r"""Improper flat prior :math:`p(w) \propto 1`: no penalty, MAP = maximum likelihood = least squares.

    Examples
    --------
    >>> Flat().penalty(2).is_flat
    True
    """

    regularizer = "none"

    def __repr__(self):
        return "Flat()"

    def logp(self, w):
        return None

    def penalty(self, p):
        zeros = np.zeros(p)
        return Penalty(zeros, zeros, zeros)

    def sklearn_estimator(self, sigma=None, n=None):
        from sklearn.linear_model import LinearRegression

        return LinearRegression(fit_intercept=False)


class _LocationScale(Prior):
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
            raise ValueError("the scikit-learn twin needs a scalar scale and loc=0")
        return float(self.scale)


class Normal(_LocationScale):
    r"""Gaussian prior :math:`w_j \sim \mathcal N(\mathrm{loc}_j, \mathrm{scale}_j^2)`: ridge / weight decay.

    Penalty :math:`\sum_j (w_j - \mathrm{loc}_j)^2 / (2\,\mathrm{scale}_j^2)` (PRML eq. 3.52 with
    :math:`\alpha = 1/\mathrm{scale}^2`). With noise sd :math:`\sigma` the MAP equals
    ``sklearn.linear_model.Ridge(alpha=sigma**2 / scale**2, fit_intercept=False)`` on the features.

    Examples
    --------
    >>> Normal(2.0).sklearn_estimator(sigma=1.0, n=10).alpha
    0.25
    """

    regularizer = "L2 (ridge)"

    def logp(self, w):
        return pm.logp(pm.Normal.dist(mu=self.loc, sigma=self.scale), w).sum()

    def penalty(self, p):
        return Penalty(_per_feature(self.loc, p), np.zeros(p), _per_feature(self.scale**-2.0, p))

    @property
    def sd(self):
        return self.scale

    def sklearn_estimator(self, sigma, n=None):
        from sklearn.linear_model import Ridge

        return Ridge(alpha=sigma**2 / self._scalar_for_sklearn() ** 2, fit_intercept=False, solver="svd")


class Laplace(_LocationScale):
    r"""Laplace prior :math:`p(w_j) = \frac{1}{2 b_j} e^{-|w_j - \mathrm{loc}_j| / b_j}`, :math:`b` = ``scale``:
    the lasso.

    Penalty :math:`\sum_j |w_j - \mathrm{loc}_j| / b_j`. sklearn's Lasso minimizes
    :math:`\frac{1}{2N}\lVert t - \Phi w\rVert^2 + \alpha \lVert w \rVert_1`; multiplying the MAP objective
    by :math:`\sigma^2 / N` shows the MAP equals ``Lasso(alpha=sigma**2 / (N * scale), fit_intercept=False)``.
    The MAP has exact zeros; the posterior mean never does.

    Examples
    --------
    >>> Laplace(0.5).sklearn_estimator(sigma=1.0, n=10).alpha
    0.2
    """

    regularizer = "L1 (lasso)"

    def logp(self, w):
        return pm.logp(pm.Laplace.dist(mu=self.loc, b=self.scale), w).sum()

    def penalty(self, p):
        return Penalty(_per_feature(self.loc, p), _per_feature(1 / self.scale, p), np.zeros(p))

    @property
    def sd(self):
        return np.sqrt(2) * self.scale

    def sklearn_estimator(self, sigma, n):
        from sklearn.linear_model import Lasso

        return Lasso(alpha=sigma**2 / (n * self._scalar_for_sklearn()), fit_intercept=False, tol=1e-14,
                     max_iter=1_000_000)


class ElasticNet(Prior):
    r"""Elastic-net prior :math:`p(w_j) \propto \exp\!\big(-|w_j - m_j| / \ell_1 - (w_j - m_j)^2 / (2\ell_2^2)\big)`.

    The lasso's kink and the ridge's curvature at once (Zou and Hastie 2005). The MAP with a Gaussian likelihood
    of noise sd :math:`\sigma` minimizes :math:`\frac{1}{2N}\lVert t - \Phi w\rVert^2 + \alpha\rho\lVert w\rVert_1 +
    \frac{\alpha(1-\rho)}{2}\lVert w\rVert^2` (multiply the MAP objective by :math:`\sigma^2/N`) with

    .. math::

        \alpha\rho = \frac{\sigma^2}{N \ell_1}, \qquad \alpha(1 - \rho) = \frac{\sigma^2}{N \ell_2^2}, \qquad
        \alpha = \frac{\sigma^2}{N}\Big(\frac{1}{\ell_1} + \frac{1}{\ell_2^2}\Big), \quad
        \rho = \frac{1/\ell_1}{1/\ell_1 + 1/\ell_2^2},

    i.e. ``sklearn.linear_model.ElasticNet(alpha, l1_ratio=rho, fit_intercept=False)``.

    The normalizing constant, per weight, is :math:`Z = 2\int_0^\infty e^{-u/\ell_1 - u^2/(2\ell_2^2)}\,du
    = 2\ell_2\sqrt{\pi/2}\; e^{c^2/2}\,\mathrm{erfc}(c/\sqrt2)`, :math:`c = \ell_2/\ell_1`.

    Parameters
    ----------
    l1_scale, l2_scale : float or array (p,)
        :math:`\ell_1 > 0` and :math:`\ell_2 > 0`.
    loc : float or array (p,), default 0

    Examples
    --------
    >>> estimator = ElasticNet(l1_scale=0.5, l2_scale=1.0).sklearn_estimator(sigma=1.0, n=10)
    >>> round(estimator.alpha, 12), round(estimator.l1_ratio, 12)
    (0.3, 0.666666666667)
    """

    regularizer = "L1 + L2 (elastic net)"

    def __init__(self, l1_scale, l2_scale, loc=0.0):
        self.l1_scale = scalar_or_vector(l1_scale, "l1_scale", positive=True)
        self.l2_scale = scalar_or_vector(l2_scale, "l2_scale", positive=True)
        self.loc = scalar_or_vector(loc, "loc", positive=False)

    def __repr__(self):
        return (f"ElasticNet(l1_scale={self.l1_scale.tolist()}, l2_scale={self.l2_scale.tolist()}, "
                f"loc={self.loc.tolist()})")

    def check_size(self, p):
        for name in ("l1_scale", "l2_scale", "loc"):
            value = getattr(self, name)
            if value.ndim == 1 and value.size != p:
                raise ValueError(f"{name} has {value.size} entries but the basis has {p} features")

    def logp(self, w):
        d = w - self.loc
        c = self.l2_scale / self.l1_scale
        # log Z per weight, with erfcx(c/sqrt 2) = exp(c^2/2) erfc(c/sqrt 2) (stable for large c)
        log_z = np.log(2 * self.l2_scale * np.sqrt(np.pi / 2) * erfcx(c / np.sqrt(2)))
        return pt.sum(-pt.abs(d) / self.l1_scale - d**2 / (2 * self.l2_scale**2) - log_z)

    def penalty(self, p):
        return Penalty(_per_feature(self.loc, p), _per_feature(1 / self.l1_scale, p),
                       _per_feature(self.l2_scale**-2.0, p))

    @property
    def sd(self):
        return np.minimum(np.sqrt(2) * self.l1_scale, self.l2_scale)

    def sklearn_estimator(self, sigma, n):
        from sklearn.linear_model import ElasticNet as ElasticNetRegressor

        if self.l1_scale.ndim or self.l2_scale.ndim or self.loc.ndim or self.loc != 0:
            raise ValueError("the scikit-learn twin needs scalar scales and loc=0")
        l1, l2 = 1 / float(self.l1_scale), float(self.l2_scale) ** -2
        return ElasticNetRegressor(alpha=sigma**2 / n * (l1 + l2), l1_ratio=l1 / (l1 + l2), fit_intercept=False,
                                   tol=1e-14, max_iter=1_000_000)


class ScalePrior:
    r"""A prior on a positive scale :math:`s` (the base class of the family).

    A subclass provides ``rv(name)`` (the PyMC variable) and ``log_density(s)`` (NumPy, up to a constant), and
    may give ``log_density_slope(s)`` (then ``fit_map`` finds the MAP of a smooth likelihood in NumPy). The mode
    of the scale given the data, :meth:`mode`, maximizes

    .. math::

        -n \log s - E\, s^{-q} + \log p(s)

    (the Gaussian: :math:`q = 2`, :math:`E = \mathrm{SSE}/2`; the Laplace: :math:`q = 1`, :math:`E` = the sum of
    absolute residuals), in :math:`s` itself, as ``pm.find_MAP`` reports it: without the log-Jacobian of the
    transform. ``power_law`` is :math:`k` when :math:`p(s) \propto s^{-k}` (then the Gaussian with a flat prior on
    ``w`` is conjugate), else None.
    """

    power_law = None

    def rv(self, name: str) -> pt.TensorVariable:
        """Add the scale to the model in context as a PyMC variable with this prior.

        Parameters
        ----------
        name : str
            The variable's name (``sigma``, ``scale``, ``shape``).

        Returns
        -------
        pytensor TensorVariable
            The positive random variable (a subclass may also add a Potential, as :class:`Jeffreys` does).

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define rv")

    def log_density(self, s: float | np.ndarray) -> float | np.ndarray:
        """The log density :math:`\\log p(s)` in NumPy, up to an additive constant.

        Parameters
        ----------
        s : float or ndarray
            Values of the scale, > 0.

        Returns
        -------
        float or ndarray
            :math:`\\log p(s)` + const, elementwise.

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define log_density")

    def log_density_slope(self, s: float) -> float | None:
        """The derivative :math:`\\mathrm d \\log p(s) / \\mathrm d s`, in NumPy.

        Parameters
        ----------
        s : float
            A value of the scale, > 0.

        Returns
        -------
        float or None
            The slope; None in the base class: a prior that does not know it has the MAP of its models found on the
            model's own log density from PyTensor instead.
        """
        return None

    def mode(self, n: float, energy: float, power: float = 2.0) -> float:
        """The ``s`` maximizing ``-n log s - energy * s**-power + log p(s)`` (Brent's method on log s).

        A power-law prior (``power_law`` not None) has the closed form
        ``(power * energy / (n + power_law)) ** (1 / power)``; a subclass may override it with its own.

        Parameters
        ----------
        n : float
            The number of observations.
        energy : float
            :math:`E` > 0: SSE / 2 for the Gaussian, the sum of absolute residuals for the Laplace.
        power : float, default 2.0
            :math:`q`: 2 for the Gaussian's sd, 1 for the Laplace's scale.

        Returns
        -------
        float
            The mode of the scale, in :math:`s` itself.
        """
        if self.power_law is not None:
            return float((power * energy / (n + self.power_law)) ** (1 / power))
        guess = np.log(power * energy / n) / power

        def negative(log_s):
            s = np.exp(log_s)
            return n * log_s + energy * np.exp(-power * log_s) - self.log_density(s)

        result = minimize_scalar(negative, bracket=(guess - 1, guess + 1), tol=1e-14)
        return float(np.exp(result.x))


class HalfFlat(ScalePrior):
    r"""Improper flat prior on :math:`s > 0`: the MAP is the MLE, :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56).

    Examples
    --------
    >>> HalfFlat().mode(n=10, energy=4.0 / 2)   # sqrt(SSE / N) with SSE = 4
    0.6324555320336759
    """

    power_law = 0

    def __repr__(self):
        return "HalfFlat()"

    def rv(self, name):
        return pm.HalfFlat(name)

    def log_density(self, s):
        return 0.0

    def log_density_slope(self, s):
        return 0.0


class Jeffreys(ScalePrior):
    r"""Jeffreys' prior :math:`p(s) \propto 1/s` (flat in :math:`\log s`);
    Gaussian mode :math:`\sigma^2 = \mathrm{SSE}/(N+1)`.

    With a flat prior on ``w`` the Gaussian posterior is conjugate: :math:`\sigma^2 \mid t \sim
    \mathrm{InvGamma}((N-p)/2, \mathrm{SSE}/2)` and ``w`` is Student-t (BDA3 section 14.2).
    """

    power_law = 1

    def __repr__(self):
        return "Jeffreys()"

    def rv(self, name):
        s = pm.HalfFlat(name)
        pm.Potential(f"{name}_jeffreys", -pm.math.log(s))
        return s

    def log_density(self, s):
        return -np.log(s)

    def log_density_slope(self, s):
        return -1 / s


class HalfNormal(ScalePrior):
    r""":math:`s \sim \mathrm{HalfNormal}(a)`, :math:`a` = ``scale``; Gaussian mode
    :math:`\sigma^2 = \tfrac{a^2}{2}\big(\sqrt{N^2 + 4\,\mathrm{SSE}/a^2} - N\big)`."""

    def __init__(self, scale):
        self.scale = positive_scalar(scale, "scale")

    def __repr__(self):
        return f"HalfNormal(scale={self.scale})"

    def rv(self, name):
        return pm.HalfNormal(name, sigma=self.scale)

    def log_density(self, s):
        return -0.5 * (s / self.scale) ** 2

    def log_density_slope(self, s):
        return -s / self.scale**2

    def mode(self, n, energy, power=2.0):
        if power != 2:
            return super().mode(n, energy, power)
        # stationarity: -n/s + 2E/s^3 - s/a^2 = 0, a quadratic in v = s^2; the root written without cancellation
        sse = 2 * energy
        return float(np.sqrt(2 * sse / (n + np.sqrt(n**2 + 4 * sse / self.scale**2))))


class HalfCauchy(ScalePrior):
    r""":math:`s \sim \mathrm{HalfCauchy}(\mathrm{scale})`, the weakly informative default of Gelman (2006).

    Gaussian mode: the positive root v of :math:`(N+2) v^2 - (\mathrm{SSE} - N a^2) v - \mathrm{SSE}\, a^2 = 0`,
    :math:`\sigma = \sqrt v`, :math:`a` = ``scale``.
    """

    def __init__(self, scale):
        self.scale = positive_scalar(scale, "scale")

    def __repr__(self):
        return f"HalfCauchy(scale={self.scale})"

    def rv(self, name):
        return pm.HalfCauchy(name, beta=self.scale)

    def log_density(self, s):
        return -np.log1p((s / self.scale) ** 2)

    def log_density_slope(self, s):
        return -2 * s / (self.scale**2 + s**2)

    def mode(self, n, energy, power=2.0):
        if power != 2:
            return super().mode(n, energy, power)
        sse, s2 = 2 * energy, self.scale**2
        b = sse - n * s2
        # positive root of (n+2) v^2 - b v - sse s2 = 0, in the form without cancellation for either sign of b
        disc = np.sqrt(b**2 + 4 * (n + 2) * sse * s2)
        v = (b + disc) / (2 * (n + 2)) if b >= 0 else 2 * sse * s2 / (disc - b)
        return float(np.sqrt(v))


def check_w_prior(prior) -> Prior:
    """``prior`` if it is a prior on ``w`` (a :class:`Prior`), else a TypeError naming what was given.

    Parameters
    ----------
    prior : object
        The argument to check.

    Returns
    -------
    Prior
        ``prior`` itself.

    Raises
    ------
    TypeError
        When ``prior`` is a :class:`ScalePrior` or anything else that is not a :class:`Prior`.
    """
    if isinstance(prior, ScalePrior):
        raise TypeError(f"prior is the prior on w; {type(prior).__name__} is a prior for a scale (use sigma_prior)")
    if not isinstance(prior, Prior):
        raise TypeError(f"prior must be a models.priors.Prior (Flat, Normal, Laplace, ElasticNet or your own "
                        f"subclass), got {prior!r}")
    return prior


def check_scale_prior(prior, name: str) -> ScalePrior:
    """``prior`` if it is a :class:`ScalePrior`, else a TypeError naming the argument ``name``.

    Parameters
    ----------
    prior : object
        The argument to check.
    name : str
        The argument's name, for the message (``sigma_prior``, ``scale_prior``, ``shape_prior``).

    Returns
    -------
    ScalePrior
        ``prior`` itself.

    Raises
    ------
    TypeError
        When ``prior`` is not a :class:`ScalePrior`.
    """
    if not isinstance(prior, ScalePrior):
        raise TypeError(f"{name} must be a models.priors.ScalePrior (HalfFlat, Jeffreys, HalfNormal, HalfCauchy or "
                        f"your own subclass), got {prior!r}")
    return prior
