r"""Likelihoods, read as losses.

The seed's argument in one line: a regression network outputs the *mean* of a Gaussian,
:math:`t \sim \mathcal N(y(x \mid w), \sigma^2)`, and the negative log-likelihood of N independent targets is

.. math::

    -\log p(t \mid x, w, \sigma) = \frac{N}{2\sigma^2}\,\mathrm{MSE}(w) + \frac N2 \log(2\pi\sigma^2),
    \qquad \mathrm{MSE}(w) = \frac1N \sum_n \big(t_n - y(x_n \mid w)\big)^2

(PRML eq. 1.62 and 3.11), so maximizing the likelihood over ``w`` is minimizing the MSE, whatever
:math:`\sigma` is.

The argument generalizes: every common loss is the negative log-likelihood of a noise model, up to a positive
factor :math:`c_1` and a shift :math:`c_0` that do not depend on ``w``, so its maximum-likelihood ``w`` is the
classical estimator of that loss (McCullagh and Nelder 1989, *Generalized Linear Models*; PRML 4.3.2, 4.3.4):

=============  ==============  ==========  ==============================================================
likelihood     loss            link        NLL = c1 * N * loss + c0
=============  ==============  ==========  ==============================================================
Gaussian       MSE             identity    c1 = 1/(2 sigma^2), c0 = N/2 log(2 pi sigma^2)
Laplace        MAE             identity    c1 = 1/b, c0 = N log(2 b)
StudentT       Student-t loss  identity    c1 = (nu + 1)/2, c0 = N log(Gamma(nu/2) sqrt(nu pi) sigma / Gamma((nu+1)/2))
Bernoulli      cross-entropy   logit       c1 = 1, c0 = 0
Categorical    cross-entropy   softmax     c1 = 1, c0 = 0
Poisson        deviance        log         c1 = 1/2, c0 = sum_n (t_n - t_n log t_n + log t_n!)
Gamma          deviance        log         c1 = k/2, c0 = sum_n (log t_n + k - k log k + log Gamma(k))
=============  ==============  ==========  ==============================================================

``y`` below is always the linear predictor :math:`\Phi(x) w` (the network's output), and each loss takes it
directly: the mean for the first three, the logit, the logits of all classes, the log of the mean.

Every likelihood is a subclass of :class:`Likelihood` and owns its math: the observation in the PyMC model, its
loss and constants, its scikit-learn twin, the check that a MAP exists under a flat prior, and how its MAP is
found (:meth:`Likelihood.map_point`). The inference code asks the likelihood; it never asks which class it is.
A new likelihood is one subclass in this file.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import digamma, expit, gammaln, logsumexp, softmax, xlogy

from ._checks import positive_scalar
from .optimize import elastic_net, fixed_point, least_absolute, lstsq, ridge_rows
from .priors import HalfFlat, check_scale_prior

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

    from .design import Design
    from .fit.map import MapProblem
    from .priors import ScalePrior


def mse(t: ArrayLike, y: ArrayLike) -> float:
    """Mean squared error :math:`\\frac1N \\sum_n (t_n - y_n)^2`.

    Parameters
    ----------
    t : array_like (N,)
        Targets.
    y : array_like (N,)
        Linear predictors (the predicted means).

    Returns
    -------
    float
        The mean squared error.

    Examples
    --------
    >>> mse([1.0, 2.0], [1.0, 4.0])
    2.0
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((t - y) ** 2))


def gaussian_nll(t: ArrayLike, y: ArrayLike, sigma: float) -> float:
    """Negative log-likelihood of targets ``t`` under :math:`\\mathcal N(y, \\sigma^2)`, summed over observations.

    Written directly from the density (not through :func:`mse`), so that the identity with the MSE can be checked.

    Parameters
    ----------
    t : array_like (N,)
        Targets.
    y : array_like (N,)
        Linear predictors (the means).
    sigma : float
        The noise sd, > 0.

    Returns
    -------
    float
        :math:`-\\sum_n \\log \\mathcal N(t_n \\mid y_n, \\sigma^2)`.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    sigma = positive_scalar(sigma, "sigma")
    z = (t - y) / sigma
    return float(np.sum(0.5 * z**2 + np.log(sigma) + 0.5 * np.log(2 * np.pi)))


def heteroscedastic_nll(t: ArrayLike, y: ArrayLike, sigma: ArrayLike) -> float:
    """Gaussian NLL with one sd per observation:
    :math:`\\sum_n (t_n - y_n)^2 / (2\\sigma_n^2) + \\log\\sigma_n + \\log(2\\pi)/2`.

    Parameters
    ----------
    t : array_like (N,)
        Targets.
    y : array_like (N,)
        Linear predictors (the means).
    sigma : array_like (N,)
        The noise sd of each observation, > 0.

    Returns
    -------
    float
        The negative log-likelihood, summed over observations.
    """
    t, y, sigma = (np.asarray(a, dtype=float) for a in (t, y, sigma))
    return float(np.sum(0.5 * ((t - y) / sigma) ** 2 + np.log(sigma) + 0.5 * np.log(2 * np.pi)))


def mae(t: ArrayLike, y: ArrayLike) -> float:
    """Mean absolute error :math:`\\frac1N \\sum_n |t_n - y_n|`.

    Parameters
    ----------
    t : array_like (N,)
        Targets.
    y : array_like (N,)
        Linear predictors (the predicted medians).

    Returns
    -------
    float
        The mean absolute error.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.abs(t - y)))


def student_t_loss(t: ArrayLike, y: ArrayLike, sigma: float, nu: float) -> float:
    """The robust loss of the Student-t likelihood: :math:`\\frac1N \\sum_n \\log(1 + r_n^2 / (\\nu \\sigma^2))`.

    Parameters
    ----------
    t : array_like (N,)
        Targets.
    y : array_like (N,)
        Linear predictors (the locations).
    sigma : float
        The scale, > 0.
    nu : float
        The degrees of freedom, > 0.

    Returns
    -------
    float
        The mean of :math:`\\log(1 + r_n^2 / (\\nu \\sigma^2))`, :math:`r_n = t_n - y_n`.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.log1p(((t - y) / sigma) ** 2 / nu)))


def binary_cross_entropy(t: ArrayLike, y: ArrayLike) -> float:
    """Binary cross-entropy of 0/1 labels ``t`` given logits ``y``: mean of -t log p - (1 - t) log(1 - p),
    p = sigmoid(y).

    Parameters
    ----------
    t : array_like (N,)
        Labels, 0 or 1.
    y : array_like (N,)
        Linear predictors (the logits).

    Returns
    -------
    float
        The mean binary cross-entropy.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.logaddexp(0.0, y) - t * y))


def cross_entropy(t: ArrayLike, y: ArrayLike) -> float:
    """Cross-entropy of integer labels ``t`` given logits ``y`` of shape (N, K): mean of -log softmax(y_n)[t_n].

    Parameters
    ----------
    t : array_like (N,)
        Class labels 0, ..., K - 1.
    y : array_like (N, K)
        The logits of every class.

    Returns
    -------
    float
        The mean cross-entropy.
    """
    t, y = np.asarray(t), np.asarray(y, dtype=float)
    return float(np.mean(logsumexp(y, axis=1) - y[np.arange(len(t)), t.astype(int)]))


def poisson_deviance(t: ArrayLike, y: ArrayLike) -> float:
    """Mean Poisson deviance of counts ``t`` given log-means ``y``:
    :math:`\\frac2N \\sum_n (t_n \\log(t_n/\\mu_n) - t_n + \\mu_n)`.

    The same number as ``sklearn.metrics.mean_poisson_deviance(t, exp(y))``.

    Parameters
    ----------
    t : array_like (N,)
        Counts, >= 0.
    y : array_like (N,)
        Linear predictors (the log-means, :math:`\\mu_n = e^{y_n}`).

    Returns
    -------
    float
        The mean Poisson deviance.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    mu = np.exp(y)
    return float(np.mean(2 * (xlogy(t, t) - t * y - t + mu)))




def gamma_deviance(t: ArrayLike, y: ArrayLike) -> float:
    """Mean Gamma deviance of positive ``t`` given log-means ``y``:
    :math:`\\frac2N \\sum_n (t_n/\\mu_n - \\log(t_n/\\mu_n) - 1)`.

    The same number as ``sklearn.metrics.mean_gamma_deviance(t, exp(y))``.

    Parameters
    ----------
    t : array_like (N,)
        Targets, > 0.
    y : array_like (N,)
        Linear predictors (the log-means, :math:`\\mu_n = e^{y_n}`).

    Returns
    -------
    float
        The mean Gamma deviance.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ratio = t * np.exp(-y)
    return float(np.mean(2 * (ratio - np.log(t) + y - 1)))


def _residual_sd(z, t):
    """The least-squares residual sd of t on the columns of z (a noise scale to whiten the internal coordinates)."""
    n, p = z.shape
    if n > p:
        coefficients = np.linalg.lstsq(z, t, rcond=None)[0]
        residual_sd = float(np.sqrt(np.sum((t - z @ coefficients) ** 2) / (n - p)))
        if residual_sd > 0:
            return residual_sd
    return float(np.std(t)) or 1.0


COUNT_LIMIT = 2.0**53  # the largest count float64 carries with its neighbours: every integer up to it is exact


def _integer_targets(t, what, low, high=None):
    """Check that every target is an integer in [low, high]; name the first offending rows."""
    t = np.asarray(t, dtype=float)
    bad = (t != np.round(t)) | (t < low)
    if high is not None:
        bad |= t > high
    if bad.any():
        rows = np.nonzero(bad)[0][:5].tolist()
        raise ValueError(f"t must hold {what}; found {t[bad][:5].tolist()} at row(s) {rows}")


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


class Likelihood:
    """A noise model :math:`p(t_n \\mid y(x_n \\mid w), \\theta)`, read as a loss: the base class of the family.

    Class attributes: ``loss_name``, ``link``, ``classical`` (the classical estimator, in words), ``n_outputs``
    (columns of ``w``), ``scale_name`` (the name of its scale parameter, or None), ``rescaled`` (what dividing t by
    a factor does to the fit, for the advice of :meth:`check_target_scale`). A family with a scale keeps
    the fixed value in the attribute of that name and the prior for a learned one in ``<scale_name>_prior``.

    A subclass provides ``observe`` (the observed variable ``t`` in the model), ``loss``, ``nll``,
    ``loss_constants`` and ``check_targets``; it may override ``map_point`` (the MAP solver for the priors it
    knows; the default is Newton's method on the model's log density, proximal Newton when the prior has an L1
    part: in NumPy when the family gives ``nll_gradient``, else through PyTensor), ``map_start``,
    ``check_maximum`` and ``sklearn_estimator``.
    """

    loss_name = "loss"
    link = "identity"
    classical = "none"
    n_outputs = 1
    scale_name = None
    conjugate = False  # a closed-form posterior (exact_posterior) exists for some priors
    smooth = True  # the log density is twice differentiable in w (Newton, the Laplace approximation)
    unbounded_hint = "put a proper prior (priors.Normal) on w"
    rescaled = "the weights and the noise scale change by the same factor"  # what rescaling t does to the fit

    @property
    def fixed_scale(self) -> float | None:
        """The fixed value of the scale parameter, or None (learned, or no scale).

        Returns
        -------
        float or None
            The value of the attribute named ``scale_name``.
        """
        return None if self.scale_name is None else getattr(self, self.scale_name)

    @property
    def learns_scale(self) -> bool:
        """Whether the model learns the scale parameter.

        Returns
        -------
        bool
            True when the family has a scale and it is not fixed.
        """
        return self.scale_name is not None and self.fixed_scale is None

    @property
    def prior_of_scale(self) -> ScalePrior | None:
        """The prior of the learned scale (a :class:`models.priors.ScalePrior`), or None.

        Returns
        -------
        models.priors.ScalePrior or None
            The attribute ``<scale_name>_prior`` when the scale is learned, else None.
        """
        return getattr(self, f"{self.scale_name}_prior") if self.learns_scale else None

    def draw(self, mu: np.ndarray, posterior, rng: np.random.Generator) -> np.ndarray:
        """Draws of t at the linear predictor ``mu``, one per posterior draw, in NumPy (no compilation).

        Parameters
        ----------
        mu : numpy.ndarray (chain, draw, M)
            The linear predictor at M new inputs, per posterior draw.
        posterior : xarray.DataTree or Dataset
            The posterior draws (the learned scale is read from it).
        rng : numpy.random.Generator

        Returns
        -------
        numpy.ndarray
            t, shaped like ``mu``.

        Raises
        ------
        NotImplementedError
            For a family without a NumPy sampler here: :func:`models.predict` then draws through
            ``pm.sample_posterior_predictive``.
        """
        raise NotImplementedError(f"{type(self).__name__} draws its predictive through PyMC")

    def observe(self, mu: pt.TensorVariable, observed: pt.TensorVariable, **inputs) -> pt.TensorVariable:
        """Add the likelihood's learned parameters (its scale, with its prior) and the observed ``t`` to the model
        in context.

        Parameters
        ----------
        mu : pytensor TensorVariable (N,) or (N, K - 1)
            The linear predictor :math:`y(x_n \\mid w)` of every observation: the mean, the logit(s) or the
            log-mean, as the family's ``link`` says.
        observed : pytensor TensorVariable (N,)
            The targets (the model's ``pm.Data`` ``t_obs``).
        **inputs
            What a family needs besides (``x_data`` and ``x`` for :class:`Gaussian` with ``sigma_basis``); the
            others ignore them.

        Returns
        -------
        pytensor TensorVariable
            The observed variable ``t`` (dims ``obs_id``).

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define observe")

    def loss(self, t: ArrayLike, y: ArrayLike) -> float:
        """The loss this likelihood is the negative log of, up to a positive factor and a shift.

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,) or (N, K - 1)
            Linear predictors: the mean, the logit(s) or the log-mean, as the family's ``link`` says.

        Returns
        -------
        float
            The loss named ``loss_name`` (the MSE, the MAE, a cross-entropy, a deviance), averaged over
            observations, so that ``nll(t, y) = c1 * N * loss(t, y) + c0`` with ``(c1, c0)`` from
            :meth:`loss_constants`.

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define loss")

    def loss_constants(self, n: int) -> tuple[float, float]:
        """``(c1, c0)`` with NLL = c1 * N * loss + c0 (the table in the module docstring).

        A family with a scale also takes its value (default: the fixed one), and one whose ``c0`` depends on the
        targets takes ``t``.

        Parameters
        ----------
        n : int
            The number of observations N.

        Returns
        -------
        tuple of float
            ``c1 > 0`` and ``c0``, neither depending on ``w``.

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define loss_constants")

    def nll(self, t: ArrayLike, y: ArrayLike) -> float:
        """The negative log-likelihood :math:`-\\sum_n \\log p(t_n \\mid y_n, \\theta)`, summed over observations.

        Written from the density, so that the identity with ``c1 * N * loss + c0`` can be checked. A family with a
        scale also takes its value (default: the fixed one).

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,) or (N, K - 1)
            Linear predictors: the mean, the logit(s) or the log-mean, as the family's ``link`` says.

        Returns
        -------
        float
            The negative log-likelihood, constants included.

        Raises
        ------
        NotImplementedError
            In the base class: every subclass defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define nll")

    def nll_gradient(self, t: ArrayLike, y: ArrayLike, scale: float | np.ndarray | None = None):
        """The derivatives of :meth:`nll`, in NumPy: what ``fit_map``'s Newton steps use instead of compiling the
        model's log density.

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,) or (N, n_outputs)
            Linear predictors.
        scale : float or array_like (N,), optional
            The scale (``scale_name``): one value, or one per row; default the fixed one.

        Returns
        -------
        tuple or None
            ``(d nll / d y, d nll_n / d scale)``: the first shaped like ``y``, the second one value per row (None
            for a family without a scale). None in the base class: a family that does not know its derivatives
            has its MAP found on the model's own log density from PyTensor instead.
        """
        return None

    def log_scale_design(self, x: np.ndarray) -> tuple[str, np.ndarray] | None:
        """When the scale depends on x: the free variable of its weights and the design of :math:`\\log s(x)`.

        Parameters
        ----------
        x : ndarray (N,) or (N, D)
            The training inputs.

        Returns
        -------
        tuple or None
            ``(name, design)`` with ``log s(x_n) = (design @ model[name])_n``; None (the base class) for a scale
            that is fixed or one learned value.
        """
        return None

    def data(self, t: np.ndarray) -> np.ndarray:
        """The targets as stored in the model (integers for labels and counts).

        Parameters
        ----------
        t : ndarray (N,)
            The checked targets (float).

        Returns
        -------
        ndarray (N,)
            ``t`` itself in the base class; ``int64`` for labels and counts.
        """
        return t

    def check_targets(self, t: np.ndarray) -> None:
        """Any finite real target is in the support, at a scale whose squares float64 can sum.

        In the base class: a ValueError when ``max |t|`` is so large that the sum of the N squares overflows, or so
        small that the squares fall below float64's normal numbers (losing digits, then underflowing to 0); the
        fits would otherwise end in a singular matrix or an exact fit, which are not properties of the data.
        A family with a smaller support raises a ValueError naming the first offending rows.

        Parameters
        ----------
        t : ndarray (N,)
            The targets (already checked to be finite).

        Examples
        --------
        >>> Gaussian().check_targets(np.array([1e200, 2e200]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: t's largest |value| is 2e+200: ... would overflow float64 ...; rescale t (e.g. t / 1e+200: ...)
        """
        self.check_target_scale(float(np.max(np.abs(t))), len(t))

    def check_target_scale(self, largest: float, n: int) -> None:
        """A ValueError when targets with ``max |t| = largest`` lie outside :meth:`target_range` (:meth:`check_targets`;
        the sufficient statistics' builder calls it with the largest |t| of its pass), with a rescaling to try.

        Parameters
        ----------
        largest : float
            ``max |t|``.
        n : int
            The number of observations.
        """
        low, high, why = self.target_range(n)
        if largest > high or 0 < largest < low:
            power = 10.0 ** np.floor(np.log10(largest))
            raise ValueError(f"t's largest |value| is {largest:.3g}: {why(largest > high)} (at N = {n}, max |t| "
                             f"must lie in [{low:.1e}, {high:.1e}]); rescale t (e.g. t / {power:.0e}: {self.rescaled})")

    def target_range(self, n: int) -> tuple[float, float, Callable[[bool], str]]:
        """The range of ``max |t|`` the fits carry in float64: the N squares of t must sum without overflow and keep
        all 53 bits (above float64's normal numbers); a family whose PyMC density needs less narrows it.

        Parameters
        ----------
        n : int
            The number of observations.

        Returns
        -------
        tuple
            ``(low, high, why)``, ``why(too_large)`` the reason in words.
        """
        high = np.sqrt(np.finfo(float).max / n) * 1e-3  # margin for the other terms of the sums
        low = np.sqrt(np.finfo(float).tiny / np.finfo(float).eps)  # squares keep all 53 bits above this
        return low, high, lambda too_large: (f"the sums of squares in the fits would "
                                             f"{'overflow' if too_large else 'underflow'} float64")

    def whitening_scale(self, z: np.ndarray, t: np.ndarray) -> float:
        """A nominal noise scale of the linear predictor, to whiten the sampler's coordinates.

        Parameters
        ----------
        z : ndarray (N, p)
            The conditioned design.
        t : ndarray (N,)
            The targets.

        Returns
        -------
        float
            The fixed scale when there is one, else the residual sd of the least-squares fit of ``t`` on ``z``.
        """
        return self.fixed_scale if self.fixed_scale is not None else _residual_sd(z, t)

    def sklearn_estimator(self):
        """The scikit-learn estimator whose fit equals the flat-prior MAP, or None.

        Returns
        -------
        sklearn estimator or None
            An unfitted estimator with ``fit_intercept=False`` (fit it on the features :math:`\\Phi(x)`), or None
            (the base class).
        """
        return None

    def check_maximum(self, z: np.ndarray, t: np.ndarray | None, names: list[str], n: int) -> None:
        """Under a flat prior on w, refuse data for which the likelihood has no maximum (an improper posterior).

        ``z`` is the conditioned design (or the R of the statistics, with ``t`` None).

        Parameters
        ----------
        z : ndarray (N, p) or (p, p)
            The conditioned design, or the R of the sufficient statistics.
        t : ndarray (N,) or None
            The targets; None when the model sees the data through their sufficient statistics.
        names : list of str
            The feature names (for the message).
        n : int
            The number of observations.

        Raises
        ------
        ValueError
            In the base class: when the scale is learned and ``n <= p`` (the features fit ``t`` exactly). The
            families add their own cases (separable classes, all-zero counts).
        """
        p = len(names)
        if self.learns_scale and n <= p:
            name = self.scale_name
            raise ValueError(
                f"N = {n} observations for p = {p} weights under a flat prior with a learned {name}: "
                f"the features fit t exactly, {name} -> 0 and the posterior is improper; put a proper prior on w "
                f"(priors.Normal), fix {name}, or use fewer features"
            )

    def check_posterior(self, n: int, p: int) -> None:
        r"""Under a flat prior on w, refuse a posterior that does not integrate though the MAP exists.

        With w integrated out, a learned scale's marginal posterior falls as :math:`s^{-(n - p + k)}` for large
        :math:`s` under an improper prior :math:`p(s) \propto s^{-k}` (the prior's ``power_law``): integrable only
        for :math:`n - p + k > 1`, i.e. N >= p + 2 under ``HalfFlat`` (k = 0) and N >= p + 1 under ``Jeffreys``
        (k = 1). The MAP needs N >= p + 1 only (:meth:`check_maximum`), so this is checked by the posterior
        fitters, before any sampling.

        Parameters
        ----------
        n : int
            The number of observations.
        p : int
            The number of weights.

        Raises
        ------
        ValueError
            When the scale is learned under an improper power-law prior and ``n < p + 2 - k``.

        Examples
        --------
        >>> from models import priors
        >>> Gaussian(sigma_prior=priors.Jeffreys()).check_posterior(n=4, p=3)  # N = p + 1: proper
        >>> Gaussian().check_posterior(n=4, p=3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: N = 4 observations for p = 3 weights under a flat prior on w and HalfFlat() on sigma: ...
        """
        scale_prior = self.prior_of_scale
        k = None if scale_prior is None else scale_prior.power_law
        if k is not None and n < p + 2 - k:
            name = self.scale_name
            raise ValueError(
                f"N = {n} observations for p = {p} weights under a flat prior on w and {scale_prior!r} on {name}: "
                f"{name}'s marginal posterior falls as {name}^-{n - p + k} for large {name}, which does not "
                f"integrate, so the posterior is improper (this prior needs N >= {p + 2 - k}); put a proper prior on "
                f"{name} (priors.HalfNormal) or on w (priors.Normal), fix {name}, or use fewer features"
            )

    def map_start(self, x: np.ndarray, t: np.ndarray, design: Design) -> dict:
        """A starting point for the MAP search, in the model's own variables (``w_internal`` and the scale).

        Parameters
        ----------
        x : ndarray (N,) or (N, D)
            The training inputs.
        t : ndarray (N,)
            The training targets.
        design : models.design.Design
            The model's design (for its internal coordinates).

        Returns
        -------
        dict
            ``w_internal`` (zeros in the base class; a least-squares fit in several families) and, when learned,
            the scale by its name (1.0 in the base class).
        """
        start = {"w_internal": np.zeros((design.p, self.n_outputs)) if self.n_outputs > 1 else np.zeros(design.p)}
        if self.learns_scale:
            start[self.scale_name] = 1.0
        return start

    def map_point(self, problem: MapProblem) -> dict:
        """The MAP, in the model's own variables: Newton's method on the model's log density (proximal Newton
        for a prior with an L1 part), from :meth:`map_start`.

        Parameters
        ----------
        problem : models.fit.map.MapProblem
            The model and its design, with the data and the generic solvers (``rows``, ``gaussian_data``,
            ``smooth``, ``refuse``).

        Returns
        -------
        dict
            The free variables at the MAP (``w_internal`` and the learned scale), and optionally ``w`` when the
            solver has it exactly (``fit_map`` computes the rest with the model's graph).

        Raises
        ------
        NotImplementedError
            When the family has no solver for the prior (through ``problem.refuse``).
        ValueError
            When the MAP does not exist.
        """
        x, t = problem.rows()
        return problem.smooth(self.map_start(x, t, problem.design))


def _least_squares_start(likelihood, x, t, design, target=None):
    """Least squares of ``target`` (default t) for w_internal, and the residuals' scale for a learned scale."""
    matrix = design.internal_design(x)
    target = t if target is None else target
    a = np.linalg.lstsq(matrix, target, rcond=None)[0]
    residual = target - matrix @ a
    start = {"w_internal": a}
    if likelihood.learns_scale:
        start[likelihood.scale_name] = float(np.sqrt(np.mean(residual**2))) or 1.0
    return start, residual


class Gaussian(Likelihood):
    r"""Gaussian noise :math:`t_n \sim \mathcal N(y(x_n \mid w), \sigma^2)` <-> the MSE loss.

    With ``sigma_basis`` the noise sd depends on the input (heteroscedastic), through its own basis
    :math:`\psi`:

    .. math::

        \log \sigma(x) = \psi(x)^\top v, \qquad
        -\log p(t \mid w, v) = \sum_n \Big[\frac{(t_n - y_n)^2}{2\sigma(x_n)^2} + \log \sigma(x_n)\Big]
        + \frac N2 \log 2\pi,

    the "Gaussian NLL loss" used in deep learning to learn predicted variances (Nix and Weigend 1994; PyTorch's
    ``GaussianNLLLoss`` is the same up to the constant). The model then has ``v`` (dims ``sigma_feature``, the
    coefficients of :math:`\psi`, flat prior) and the deterministic ``sigma`` (dims ``obs_id``).

    The MAP with one sigma is solved in closed form for every prior of the L1 + L2 form
    (:class:`models.priors.Penalty`): least squares, ridge by augmented least squares in the conditioned
    coordinates, lasso and elastic net by exact coordinate descent; a learned ``sigma`` alternates with the
    ``w`` step (one round when the prior on ``w`` is flat).

    Parameters
    ----------
    sigma : float, optional
        A known noise sd. When omitted, ``sigma`` is a model variable with prior ``sigma_prior``.
    sigma_prior : models.priors.ScalePrior, default ``HalfFlat()``
        Prior for a learned ``sigma``. ``HalfFlat()`` makes the MAP the maximum-likelihood estimate
        :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56).
    sigma_basis : LinearBasis, PolynomialBasis or GaussianBasis, optional
        Learn :math:`\log\sigma(x)` on this basis instead of one ``sigma`` (flat prior on its coefficients).

    Examples
    --------
    >>> c1, c0 = Gaussian(sigma=0.5).loss_constants(n=4)   # NLL = c1 * N * MSE + c0
    >>> float(c1), round(float(c0), 10)   # 1 / (2 sigma^2), N/2 log(2 pi sigma^2)
    (2.0, 0.9031654106)
    """

    loss_name = "MSE"
    classical = "ordinary least squares: LinearRegression(fit_intercept=False)"
    scale_name = "sigma"

    def __init__(self, sigma=None, sigma_prior=None, sigma_basis=None):
        self.sigma = positive_scalar(sigma, "sigma", allow_none=True)
        if sigma is not None and sigma_prior is not None:
            raise ValueError("give either a fixed sigma or a sigma_prior for a learned sigma, not both")
        if sigma_basis is not None:
            if not all(hasattr(sigma_basis, name) for name in ("conditioned", "feature_names", "features")):
                raise TypeError(f"sigma_basis must be a basis (LinearBasis, PolynomialBasis, GaussianBasis), "
                                f"got {sigma_basis!r}")
            if sigma is not None or sigma_prior is not None:
                raise ValueError("sigma_basis learns sigma(x): give neither a fixed sigma nor a sigma_prior with it")
        self.sigma_prior = check_scale_prior(HalfFlat() if sigma_prior is None else sigma_prior, "sigma_prior")
        self.sigma_basis = sigma_basis

    def __repr__(self):
        if self.sigma is not None:
            return f"Gaussian(sigma={self.sigma})"
        if self.sigma_basis is not None:
            return f"Gaussian(sigma_basis={self.sigma_basis!r})"
        return f"Gaussian(sigma_prior={self.sigma_prior!r})"

    @property
    def learns_sigma(self) -> bool:
        """A single learned sigma (not a fixed one, not sigma(x)).

        Returns
        -------
        bool
            True when neither ``sigma`` nor ``sigma_basis`` was given.
        """
        return self.sigma is None and self.sigma_basis is None

    @property
    def heteroscedastic(self) -> bool:
        """Whether sigma depends on x (``sigma_basis``).

        Returns
        -------
        bool
            True when ``sigma_basis`` was given.
        """
        return self.sigma_basis is not None

    @property
    def prior_of_scale(self):
        return self.sigma_prior if self.learns_sigma else None

    @property
    def conjugate(self):
        """Whether a closed-form posterior exists for some priors (:func:`models.exact_posterior`).

        Returns
        -------
        bool
            True for one sigma (fixed or learned), False for sigma(x).
        """
        return not self.heteroscedastic

    def loss(self, t, y):
        """The loss this likelihood is the negative log of (up to scale and shift): the MSE."""
        return mse(t, y)

    def loss_constants(self, n, sigma=None):
        """(c1, c0) with NLL = c1 * N * MSE + c0, for one sigma.

        Parameters
        ----------
        n : int
            The number of observations N.
        sigma : float, optional
            The noise sd; default the fixed one.

        Returns
        -------
        tuple of float
            :math:`c_1 = 1/(2\\sigma^2)` and :math:`c_0 = \\tfrac N2 \\log(2\\pi\\sigma^2)`.
        """
        sigma = self.sigma if sigma is None else sigma
        return 1 / (2 * sigma**2), n / 2 * np.log(2 * np.pi * sigma**2)

    def nll(self, t, y, sigma=None):
        """Summed NLL; ``sigma`` may be one sd or one per observation (heteroscedastic).

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,)
            Linear predictors (the means).
        sigma : float or array_like (N,), optional
            The noise sd, one or one per observation; default the fixed one.

        Returns
        -------
        float
            The negative log-likelihood, constants included.
        """
        sigma = self.sigma if sigma is None else sigma
        if np.ndim(sigma) == 0:
            return gaussian_nll(t, y, sigma)
        return heteroscedastic_nll(t, y, sigma)

    def nll_gradient(self, t, y, sigma=None):
        """``(-r / sigma^2, 1/sigma - r^2 / sigma^3)`` with ``r = t - y``: ``sigma`` one value or one per row."""
        sigma = self.sigma if sigma is None else sigma
        r = np.asarray(t, dtype=float) - np.asarray(y, dtype=float)
        return -r / sigma**2, 1 / sigma - r**2 / sigma**3

    def log_scale_design(self, x):
        """``("v_internal", Psi)`` for sigma(x) = exp(Psi v_internal), Psi the sigma basis' conditioned design."""
        if not self.heteroscedastic:
            return None
        return "v_internal", self.sigma_basis.conditioned(x).transform(x, np)

    def pointwise_log_likelihood(self, t, mu, sigma):
        """:math:`\\log \\mathcal N(t \\mid \\mu, \\sigma^2)` elementwise (NumPy, broadcasting).

        Parameters
        ----------
        t : ndarray
            Targets.
        mu : ndarray
            Means, broadcasting against ``t`` (e.g. (draws, N)).
        sigma : float or ndarray
            Noise sds, broadcasting against both (e.g. (draws, 1)).

        Returns
        -------
        ndarray
            The log density of every element, in the broadcast shape.
        """
        return -0.5 * np.log(2 * np.pi) - np.log(sigma) - 0.5 * ((t - mu) / sigma) ** 2

    def draw(self, mu, posterior, rng):
        """t = mu + sigma * e, e ~ N(0, 1), with sigma fixed or each draw's learned sigma (sigma(x) goes through
        PyMC, which recomputes it at the new inputs)."""
        if self.heteroscedastic:
            raise NotImplementedError("sigma(x) is recomputed at the new inputs by pm.sample_posterior_predictive")
        sigma = posterior["sigma"].values[..., None] if self.learns_sigma else self.sigma
        return mu + sigma * rng.standard_normal(mu.shape)

    def observe(self, mu, observed, *, x_data=None, x=None):
        """Add ``sigma`` (when learned; ``v`` and ``sigma`` (obs_id) for sigma(x)) and the observed ``t``.

        ``x_data`` (the model's ``pm.Data``) and ``x`` (its training values) are needed for ``sigma_basis``.

        Parameters
        ----------
        mu : pytensor TensorVariable (N,)
            The means :math:`y(x_n \\mid w)`.
        observed : pytensor TensorVariable (N,)
            The targets (the model's ``pm.Data`` ``t_obs``).
        x_data : pytensor TensorVariable, optional
            The model's ``pm.Data`` ``x`` (for ``sigma_basis``).
        x : ndarray, optional
            The training inputs (for ``sigma_basis``: its conditioned coordinates and feature names).

        Returns
        -------
        pytensor TensorVariable
            The observed variable ``t`` (dims ``obs_id``).
        """
        if self.sigma_basis is not None:
            conditioned = self.sigma_basis.conditioned(x)
            model = pm.modelcontext(None)
            names = self.sigma_basis.feature_names(x, list(model.coords.get("input", ())) or None)
            model.add_coord("sigma_feature", names)
            model.add_coord("sigma_feature_internal", np.arange(len(names)))
            v_internal = pm.Flat("v_internal", dims="sigma_feature_internal")
            pm.Deterministic("v", pt.dot(conditioned.T, v_internal), dims="sigma_feature")
            sigma = pm.Deterministic("sigma", pt.exp(pt.dot(conditioned.transform(x_data, pt), v_internal)),
                                     dims="obs_id")
        else:
            sigma = self.sigma_prior.rv("sigma") if self.learns_sigma else self.sigma
        return pm.Normal("t", mu=mu, sigma=sigma, observed=observed, dims="obs_id")

    def observe_statistics(self, mu_rotated, z, rss, dof):
        r"""The same likelihood observed through the sufficient statistics of :mod:`models.statistics`.

        Rotating t by the orthogonal :math:`[Q, Q_\perp]` of :math:`Z = QR` splits it into independent parts:

        .. math::

            z = Q^\top t \sim \mathcal N(R a, \sigma^2 I_p), \qquad
            Q_\perp^\top t \sim \mathcal N(0, \sigma^2 I_{N-p}), \quad \lVert Q_\perp^\top t\rVert^2 = \rho^2 ,

        so :math:`\log p(t \mid a, \sigma) = \log\mathcal N(z \mid Ra, \sigma^2 I_p)
        - \tfrac{N-p}{2}\log(2\pi\sigma^2) - \rho^2/(2\sigma^2)`, exactly, constants included. ``mu_rotated`` is
        :math:`R a`; ``z``, ``rss`` (:math:`\rho^2`) and ``dof`` (:math:`N - p`, None when N = p) are the model's
        ``pm.Data``. Observed: ``t_rotated`` (dims ``statistic``) and ``t_residual_ss``, whose density is that of
        the :math:`N-p` rotated residuals (its random draws are :math:`\sigma^2\chi^2_{N-p}`).

        Adds ``sigma`` (when learned) and both observed variables to the model in context; returns None.

        Parameters
        ----------
        mu_rotated : pytensor TensorVariable (p,)
            :math:`R a`, the rotated means.
        z : pytensor TensorVariable (p,)
            :math:`Q^\top t` (the model's ``pm.Data`` ``t_rotated_obs``).
        rss : pytensor TensorVariable
            :math:`\rho^2`, the least-squares residual sum of squares (``t_residual_ss_obs``).
        dof : pytensor TensorVariable or None
            :math:`N - p` (``residual_dof``), or None when N = p (then there is no ``t_residual_ss``).
        """
        sigma = self.sigma_prior.rv("sigma") if self.learns_sigma else self.sigma
        pm.Normal("t_rotated", mu=mu_rotated, sigma=sigma, observed=z, dims="statistic")
        if dof is not None:
            def residual_logp(value, sigma, dof):
                return -dof / 2 * np.log(2 * np.pi) - dof * pt.log(sigma) - value / (2 * sigma**2)

            def residual_random(sigma, dof, rng=None, size=None):
                return np.asarray(sigma) ** 2 * rng.chisquare(dof, size=size)

            pm.CustomDist("t_residual_ss", sigma, dof, logp=residual_logp, random=residual_random, observed=rss)

    def sklearn_estimator(self):
        from sklearn.linear_model import LinearRegression

        return LinearRegression(fit_intercept=False)

    def check_maximum(self, z, t, names, n):
        if not self.heteroscedastic:
            super().check_maximum(z, t, names, n)

    def map_start(self, x, t, design):
        start, residual = _least_squares_start(self, x, t, design)
        if self.heteroscedastic:
            psi = self.sigma_basis.conditioned(x).transform(x, np)
            scale = float(np.sqrt(np.mean(residual**2))) or 1.0
            # E log|e| = log sigma - 0.635 for Gaussian e: least squares of log|r| + 0.635 on psi
            start["v_internal"] = np.linalg.lstsq(psi, np.log(np.abs(residual) + 1e-3 * scale) + 0.635, rcond=None)[0]
            start.pop("sigma", None)
        return start

    def map_point(self, problem):
        """Closed forms for one sigma and a prior of the L1 + L2 form; otherwise the default (Newton)."""
        design = problem.design
        penalty = design.penalty
        if self.heteroscedastic or penalty is None:
            return super().map_point(problem)
        data = problem.gaussian_data()

        def w_step(sigma):
            """The MAP of w for a known sigma: (w, w_internal, residual sum of squares)."""
            if penalty.has_l1:
                w = elastic_net(data.features, data.target, sigma**2 * penalty.l1, sigma**2 * penalty.l2, penalty.loc)
                residual = data.target - data.features @ w
                internal = design.internal_from_w(w)
            else:
                if np.any(penalty.l2 > 0):
                    rows, target = ridge_rows(data.design, data.target, sigma, design.conditioned.T, penalty.loc,
                                              penalty.l2)
                    a = lstsq(rows, target)
                else:  # least squares does not depend on sigma: the same numbers whatever it is
                    a = lstsq(data.design, data.target)
                w, internal = design.w_from_conditioned(a), design.internal_from_conditioned(a)
                residual = data.target - data.design @ a
            return w, internal, float(residual @ residual) + data.extra_sse

        if not self.learns_sigma:
            w, internal, _ = w_step(self.sigma)
            return {"w": w, "w_internal": internal}
        # learned sigma: start from least squares, then alternate w- and sigma-steps (one round for a flat prior).
        # Under a proper prior the design may be rank deficient or wider than long: the smallest SSE decides whether
        # some w fits the data exactly (then sigma -> 0 and the density grows without bound, whatever the prior on w)
        if penalty.is_flat:
            a = lstsq(data.design, data.target)  # of full rank: the builder refuses dependent features here
        else:
            a = np.linalg.lstsq(data.design, data.target, rcond=None)[0]
        residual = data.target - data.design @ a
        sse = float(residual @ residual) + data.extra_sse
        few = penalty.is_flat and data.n <= data.design.shape[1]
        if few or sse <= (64 * np.finfo(float).eps) ** 2 * (float(data.target @ data.target) + data.extra_sse):
            raise ValueError("the data are fitted exactly (SSE = 0): the likelihood grows without bound as sigma -> 0, "
                             "so there is no MAP; fix sigma or use fewer features")
        sigma = self.sigma_prior.mode(data.n, sse / 2)
        if penalty.is_flat:
            return {"w": design.w_from_conditioned(a), "w_internal": design.internal_from_conditioned(a),
                    "sigma": sigma}
        # the fixed point of the alternation: sigma -> the MAP of w at sigma -> the mode of sigma given its SSE
        sigma = fixed_point(lambda s: self.sigma_prior.mode(data.n, w_step(s)[2] / 2), sigma)
        w, internal, _ = w_step(sigma)
        return {"w": w, "w_internal": internal, "sigma": sigma}


class Laplace(Likelihood):
    r"""Laplace noise :math:`t_n \sim \mathrm{Laplace}(y(x_n \mid w), b)` <-> the MAE loss: median regression.

    :math:`-\log p(t \mid w, b) = \frac{N}{b}\,\mathrm{MAE}(w) + N \log(2b)`, so for any ``b`` the
    maximum-likelihood ``w`` minimizes the sum of absolute residuals: the least-absolute-deviations fit,
    ``sklearn.linear_model.QuantileRegressor(quantile=0.5, alpha=0)``. For a learned ``b`` under a flat prior
    the MAP is :math:`\hat b = \mathrm{SAE}/N`, the mean absolute residual.

    The loss is piecewise linear, so the MAP is a linear program for a flat or Laplace prior on ``w`` and a
    quadratic program (solved through its dual) when the prior has a Gaussian part (Normal, ElasticNet); both are
    finished at the exact vertex. A prior not of the L1 + L2 form is refused by name.

    Parameters
    ----------
    scale : float, optional
        A known scale ``b``. When omitted it is the model variable ``scale`` with prior ``scale_prior``
        (default ``HalfFlat()``).
    scale_prior : models.priors.ScalePrior, optional
    """

    loss_name = "MAE"
    smooth = False
    classical = "QuantileRegressor(quantile=0.5, alpha=0): median (least absolute deviations) regression"
    scale_name = "scale"

    def __init__(self, scale=None, scale_prior=None):
        self.scale = positive_scalar(scale, "scale", allow_none=True)
        if scale is not None and scale_prior is not None:
            raise ValueError("give either a fixed scale or a scale_prior for a learned scale, not both")
        self.scale_prior = check_scale_prior(HalfFlat() if scale_prior is None else scale_prior, "scale_prior")

    def __repr__(self):
        if self.scale is not None:
            return f"Laplace(scale={self.scale})"
        return f"Laplace(scale_prior={self.scale_prior!r})"

    def loss(self, t, y):
        return mae(t, y)

    def loss_constants(self, n, scale=None):
        """(c1, c0) with NLL = c1 * N * loss + c0.

        Parameters
        ----------
        n : int
            The number of observations N.
        scale : float, optional
            The scale ``b``; default the fixed one.

        Returns
        -------
        tuple of float
            :math:`c_1 = 1/b` and :math:`c_0 = N \\log(2b)`.
        """
        b = self.scale if scale is None else scale
        return 1 / b, n * np.log(2 * b)

    def nll(self, t, y, scale=None):
        """The summed negative log-likelihood :math:`\\sum_n \\log(2b) + |t_n - y_n| / b`.

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,)
            Linear predictors (the locations).
        scale : float, optional
            The scale ``b``; default the fixed one.

        Returns
        -------
        float
            The negative log-likelihood, constants included.
        """
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        b = positive_scalar(self.scale if scale is None else scale, "scale")
        return float(np.sum(np.log(2 * b) + np.abs(t - y) / b))

    def whitening_scale(self, z, t):
        return np.sqrt(2) * self.scale if self.scale is not None else _residual_sd(z, t)

    def observe(self, mu, observed, **inputs):
        b = self.scale_prior.rv("scale") if self.learns_scale else self.scale
        return pm.Laplace("t", mu=mu, b=b, observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import QuantileRegressor

        return QuantileRegressor(quantile=0.5, alpha=0.0, fit_intercept=False, solver="highs")

    def map_point(self, problem):
        """The least-absolute-deviations program with the prior's L1 rows and Gaussian part, alternating with
        the scale's mode :math:`\\arg\\max_b -N\\log b - \\mathrm{SAE}/b + \\log p(b)` when it is learned."""
        design = problem.design
        penalty = design.penalty
        if penalty is None:
            problem.refuse("the MAE is piecewise linear, and this solver needs a prior whose -log density is an "
                           "L1 + L2 penalty (models.priors.Penalty)")
        x, t = problem.rows()
        matrix, to_w = design.internal_design(x), design.to_w
        n = len(t)
        kink = penalty.l1 > 0
        curved = penalty.l2 > 0
        p_matrix = q = None
        if curved.any():
            p_matrix = to_w.T @ (penalty.l2[:, None] * to_w)
            q = to_w.T @ (penalty.l2 * penalty.loc)
        if curved.any() and not curved.all():
            problem.refuse("a Gaussian part on only some features leaves the quadratic program's dual unbounded")

        rows = np.vstack([matrix, to_w[kink]])
        targets = np.concatenate([t, penalty.loc[kink]])
        last = {}  # the latest solution: the next weights' program starts from it

        def w_step(b):
            weights = np.concatenate([np.full(n, 1 / b), penalty.l1[kink]])
            a = least_absolute(rows, targets, weights, p_matrix, q, start=last.get("a"))
            last["a"] = a
            return a, float(np.sum(np.abs(t - matrix @ a)))

        if not self.learns_scale:
            a, _ = w_step(self.scale)
            return {"w_internal": a, "w": to_w @ a}

        def scale_step(b):  # the weights' MAP at b, then the scale's mode given their residuals
            _, sae = w_step(b)
            if sae <= 0:
                raise ValueError("the data are fitted exactly (sum of absolute residuals 0): no MAP for the scale; "
                                 "fix scale or use fewer features")
            return self.scale_prior.mode(n, sae, power=1)

        # a flat prior: the weights do not depend on b, one round; otherwise the fixed point of the alternation
        b = scale_step(1.0) if penalty.is_flat else fixed_point(scale_step, scale_step(1.0))
        a, _ = w_step(b)
        return {"w_internal": a, "w": to_w @ a, "scale": b}


class StudentT(Likelihood):
    r"""Student-t noise :math:`t_n \sim \mathrm{StudentT}_\nu(y(x_n \mid w), \sigma)` <-> a robust loss.

    .. math::

        -\log p(t \mid w, \sigma) = \frac{\nu + 1}{2} \sum_n \log\Big(1 + \frac{r_n^2}{\nu\sigma^2}\Big)
        + N \log \frac{\Gamma(\nu/2)\sqrt{\nu\pi}\,\sigma}{\Gamma((\nu+1)/2)}, \qquad r_n = t_n - y(x_n \mid w).

    The loss grows like :math:`\log r^2` instead of :math:`r^2`: an outlier's pull on ``w`` (the derivative
    :math:`2r/(\nu\sigma^2 + r^2)`) goes to zero as it moves away, where the MSE's (:math:`2r`) grows without
    bound. It is not convex, so the MAP is a local optimum (``fit_map`` starts at the least-squares fit).

    Parameters
    ----------
    nu : float > 0
        Degrees of freedom (small: heavy tails; nu -> infinity: the Gaussian).
    sigma : float, optional
        A known scale. When omitted it is the model variable ``sigma`` with prior ``sigma_prior``
        (default ``HalfFlat()``).
    sigma_prior : models.priors.ScalePrior, optional
    """

    loss_name = "Student-t loss"
    classical = "robust M-estimator of the Student-t loss (no scikit-learn twin; scipy.optimize on the loss)"
    scale_name = "sigma"

    def __init__(self, nu, sigma=None, sigma_prior=None):
        self.nu = positive_scalar(nu, "nu")
        self.sigma = positive_scalar(sigma, "sigma", allow_none=True)
        if sigma is not None and sigma_prior is not None:
            raise ValueError("give either a fixed sigma or a sigma_prior for a learned sigma, not both")
        self.sigma_prior = check_scale_prior(HalfFlat() if sigma_prior is None else sigma_prior, "sigma_prior")

    def __repr__(self):
        if self.sigma is not None:
            return f"StudentT(nu={self.nu}, sigma={self.sigma})"
        return f"StudentT(nu={self.nu}, sigma_prior={self.sigma_prior!r})"

    def loss(self, t, y, sigma=None):
        """The Student-t loss (:func:`student_t_loss`), which depends on the scale.

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,)
            Linear predictors (the locations).
        sigma : float, optional
            The scale; default the fixed one.

        Returns
        -------
        float
            :math:`\\frac1N \\sum_n \\log(1 + r_n^2 / (\\nu \\sigma^2))`.
        """
        return student_t_loss(t, y, positive_scalar(self.sigma if sigma is None else sigma, "sigma"), self.nu)

    def loss_constants(self, n, sigma=None):
        """(c1, c0) with NLL = c1 * N * loss + c0.

        Parameters
        ----------
        n : int
            The number of observations N.
        sigma : float, optional
            The scale; default the fixed one.

        Returns
        -------
        tuple of float
            :math:`c_1 = (\\nu + 1)/2` and
            :math:`c_0 = N \\log(\\Gamma(\\nu/2)\\sqrt{\\nu\\pi}\\,\\sigma / \\Gamma((\\nu+1)/2))`.
        """
        sigma = self.sigma if sigma is None else sigma
        nu = self.nu
        return (nu + 1) / 2, n * (gammaln(nu / 2) + 0.5 * np.log(nu * np.pi) + np.log(sigma) - gammaln((nu + 1) / 2))

    def nll(self, t, y, sigma=None):
        """The summed negative log-likelihood, the formula above (``fit_map`` evaluates it at every Newton step; a
        test checks it against ``scipy.stats.t``).

        Parameters
        ----------
        t : array_like (N,)
            Targets.
        y : array_like (N,)
            Linear predictors (the locations).
        sigma : float, optional
            The scale; default the fixed one.

        Returns
        -------
        float
            The negative log-likelihood, constants included.
        """
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        sigma = positive_scalar(self.sigma if sigma is None else sigma, "sigma")
        z = (t - y) / sigma
        c1, c0 = self.loss_constants(z.size, sigma)
        return float(c1 * np.sum(np.log1p(z**2 / self.nu)) + c0)

    def nll_gradient(self, t, y, sigma=None):
        """With :math:`d_n = \\nu\\sigma^2 + r_n^2`: :math:`-(\\nu+1) r_n / d_n` in y and
        :math:`1/\\sigma - (\\nu+1) r_n^2 / (\\sigma d_n)` in sigma."""
        sigma = self.sigma if sigma is None else sigma
        r = np.asarray(t, dtype=float) - np.asarray(y, dtype=float)
        d = self.nu * sigma**2 + r**2
        return -(self.nu + 1) * r / d, 1 / sigma - (self.nu + 1) * r**2 / (sigma * d)

    def target_range(self, n):
        r"""The base class' range and, for a learned sigma, at most [1e-90, 1e90]: PyMC's StudentT works with the
        precision :math:`\sigma^{-2}`, whose derivative :math:`-2\sigma^{-3}` leaves float64 when the learned sigma
        nears 1e+-103 (the gradient in sigma then vanishes and the fit stops where it started).

        Parameters
        ----------
        n : int
            The number of observations.

        Returns
        -------
        tuple
            ``(low, high, why)``, as :meth:`Likelihood.target_range`.
        """
        low, high, why = super().target_range(n)
        if not self.learns_scale:
            return low, high, why
        return max(low, 1e-90), min(high, 1e90), lambda too_large: (
            "a learned Student-t sigma of that size leaves float64 in PyMC's precision sigma^-2 and its derivative "
            "sigma^-3 (or fix sigma)")

    def observe(self, mu, observed, **inputs):
        sigma = self.sigma_prior.rv("sigma") if self.learns_scale else self.sigma
        return pm.StudentT("t", nu=self.nu, mu=mu, sigma=sigma, observed=observed, dims="obs_id")

    def map_start(self, x, t, design):
        return _least_squares_start(self, x, t, design)[0]


class Bernoulli(Likelihood):
    r"""Binary labels :math:`t_n \sim \mathrm{Bernoulli}(\mathrm{sigmoid}(y(x_n \mid w)))` <-> binary cross-entropy.

    :math:`-\log p(t \mid w) = \sum_n \big[\log(1 + e^{y_n}) - t_n y_n\big] = N\,\mathrm{BCE}(w)` (PRML eq. 4.90):
    the MAP under a flat prior is unpenalized logistic regression, ``LogisticRegression(C=np.inf)`` (scikit-learn's
    spelling of ``penalty=None`` since 1.8). It exists only when the classes are not separable by the features.
    """

    loss_name = "binary cross-entropy"
    link = "logit"
    classical = "LogisticRegression(C=inf): unpenalized logistic regression"
    unbounded_hint = ("the classes may be separable by the features: put a proper prior (priors.Normal) on w "
                      "or use fewer features")

    def __repr__(self):
        return "Bernoulli()"

    def loss(self, t, y):
        return binary_cross_entropy(t, y)

    def loss_constants(self, n):
        return 1.0, 0.0

    def nll(self, t, y):
        return len(np.atleast_1d(t)) * binary_cross_entropy(t, y)

    def nll_gradient(self, t, y, scale=None):
        """``sigmoid(y) - t`` (PRML eq. 4.91); no scale."""
        return expit(np.asarray(y, dtype=float)) - np.asarray(t, dtype=float), None

    def check_targets(self, t):
        _integer_targets(t, "0/1 labels for a Bernoulli likelihood", 0, 1)

    def data(self, t):
        return t.astype(np.int64)

    def whitening_scale(self, z, t):
        return 2.0  # the logistic's information at p = 1/2 is 1/4 per observation: sd 2 on the logit scale

    def observe(self, mu, observed, **inputs):
        return pm.Bernoulli("t", logit_p=mu, observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=1000)

    def check_maximum(self, z, t, names, n):
        _check_classes(z, t, names, 2)


def _check_classes(z, t, names, n_classes):
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


class Categorical(Likelihood):
    r"""Class labels :math:`t_n \sim \mathrm{Categorical}(\mathrm{softmax}(0, y_1, \dots, y_{K-1}))` <-> cross-entropy.

    :math:`-\log p(t \mid w) = \sum_n \big[\log \sum_k e^{y_{nk}} - y_{n t_n}\big] = N\,\mathrm{CE}(w)`
    (PRML eq. 4.108). Class 0 is the reference: its logit is fixed at 0 and ``w`` has one column per other
    class (dims ``feature``, ``class``), which makes the model identified under a flat prior. scikit-learn's
    multinomial ``LogisticRegression(C=np.inf)`` keeps K columns (a symmetric, unidentified parametrization):
    the two agree on the predicted probabilities, and on the differences of its columns from class 0's.

    Parameters
    ----------
    n_classes : int >= 2
    """

    loss_name = "cross-entropy"
    link = "softmax (multinomial logit)"
    classical = "multinomial LogisticRegression(C=inf): softmax regression"
    unbounded_hint = Bernoulli.unbounded_hint

    def __init__(self, n_classes):
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
            raise TypeError(f"n_classes must be an integer, got {type(n_classes).__name__}")
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        self.n_classes = int(n_classes)

    def __repr__(self):
        return f"Categorical(n_classes={self.n_classes})"

    @property
    def n_outputs(self):
        """The number of columns of ``w``: one per class but the reference class 0.

        Returns
        -------
        int
            K - 1.
        """
        return self.n_classes - 1

    @staticmethod
    def logits(y):
        """All K logits from the K - 1 free ones: a column of zeros (the reference class) in front.

        Parameters
        ----------
        y : array_like (N, K - 1)
            The free logits, classes 1 to K - 1.

        Returns
        -------
        ndarray (N, K)
            The logits of every class, class 0's being 0.
        """
        y = np.asarray(y, dtype=float)
        return np.concatenate([np.zeros((len(y), 1)), y], axis=1)

    def loss(self, t, y):
        """Cross-entropy given the K logits (N, K), or the K - 1 free ones (N, K - 1)."""
        y = np.asarray(y, dtype=float)
        return cross_entropy(t, self.logits(y) if y.shape[1] == self.n_classes - 1 else y)

    def loss_constants(self, n):
        return 1.0, 0.0

    def nll(self, t, y):
        return len(t) * self.loss(t, y)

    def nll_gradient(self, t, y, scale=None):
        """``softmax(logits) - one_hot(t)`` in the free logits, classes 1 to K - 1 (PRML eq. 4.109); no scale."""
        probabilities = softmax(self.logits(y), axis=1)[:, 1:]
        return probabilities - (np.asarray(t)[:, None] == np.arange(1, self.n_classes)), None

    def check_targets(self, t):
        _integer_targets(t, f"class labels 0, ..., {self.n_classes - 1} for Categorical(n_classes={self.n_classes})",
                         0, self.n_classes - 1)

    def data(self, t):
        return t.astype(np.int64)

    def whitening_scale(self, z, t):
        return 2.0

    def observe(self, mu, observed, **inputs):
        logits = pt.concatenate([pt.zeros((mu.shape[0], 1)), mu], axis=1)
        return pm.Categorical("t", logit_p=logits, observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=1000)

    def check_maximum(self, z, t, names, n):
        _check_classes(z, t, names, self.n_classes)


class Poisson(Likelihood):
    r"""Counts :math:`t_n \sim \mathrm{Poisson}(e^{y(x_n \mid w)})` <-> the Poisson deviance.

    :math:`-\log p(t \mid w) = \sum_n \big[e^{y_n} - t_n y_n + \log t_n!\big]
    = \frac N2 D(w) + \sum_n (t_n - t_n\log t_n + \log t_n!)`, with :math:`D` the mean Poisson deviance: the MAP
    under a flat prior is ``PoissonRegressor(alpha=0)``.
    """

    loss_name = "Poisson deviance"
    link = "log"
    classical = "PoissonRegressor(alpha=0): Poisson GLM"
    unbounded_hint = ("a pattern of zero counts may drive the log-mean to -infinity: put a proper prior "
                      "(priors.Normal) on w")

    def __repr__(self):
        return "Poisson()"

    def loss(self, t, y):
        return poisson_deviance(t, y)

    def loss_constants(self, n, t=None):
        """(c1, c0); c0 depends on the counts ``t`` (but not on ``w``).

        Parameters
        ----------
        n : int
            The number of observations N.
        t : array_like (N,), optional
            The counts; default N zeros.

        Returns
        -------
        tuple of float
            :math:`c_1 = 1/2` and :math:`c_0 = \\sum_n (t_n - t_n \\log t_n + \\log t_n!)`.
        """
        t = np.zeros(n) if t is None else np.asarray(t, dtype=float)
        return 0.5, float(np.sum(t - xlogy(t, t) + gammaln(t + 1)))

    def nll(self, t, y):
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        return float(np.sum(np.exp(y) - t * y + gammaln(t + 1)))

    def nll_gradient(self, t, y, scale=None):
        """``exp(y) - t`` (the log link); no scale."""
        return np.exp(np.asarray(y, dtype=float)) - np.asarray(t, dtype=float), None

    def check_targets(self, t):
        _integer_targets(t, "counts (integers >= 0) for a Poisson likelihood", 0)
        largest = float(np.max(t, initial=0.0))
        if largest > COUNT_LIMIT:
            raise ValueError(
                f"t holds a count of {largest:.6g}, above 2^53 = {COUNT_LIMIT:.4g}: float64 cannot tell such counts "
                f"from their neighbours, so their Poisson likelihood cannot be computed. At this size the Poisson "
                f"sd sqrt(mean) is below 1e-7 of the mean: fit log(t) with a Gaussian likelihood, or a Gamma "
                f"likelihood on t, instead")

    def data(self, t):
        # float64, not integers: pm.Data stores integer arrays as int32 (PyMC's intX), which wraps counts above
        # 2^31 silently; the observed Poisson casts the float counts (exact up to 2^53) to int64 in the graph.
        return np.asarray(t, dtype=np.float64)

    def whitening_scale(self, z, t):
        return 1 / np.sqrt(max(float(np.mean(t)), 0.5))  # information e^y ~ mean count per observation

    def observe(self, mu, observed, **inputs):
        return pm.Poisson("t", mu=pt.exp(mu), observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import PoissonRegressor

        return PoissonRegressor(alpha=0.0, fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=1000)

    def check_maximum(self, z, t, names, n):
        if t is not None and not np.any(t > 0):
            raise ValueError("every count in t is 0: under a flat prior the log-mean goes to -infinity; "
                             "put a proper prior (priors.Normal) on w")

    def map_start(self, x, t, design):
        return _least_squares_start(self, x, t, design, target=np.log(t + 0.5))[0]


class Gamma(Likelihood):
    r"""Positive targets :math:`t_n \sim \mathrm{Gamma}(k, \text{rate } k / \mu_n)`, :math:`\mu_n = e^{y(x_n \mid w)}`
    <-> the Gamma deviance.

    The mean is :math:`\mu_n` and the variance :math:`\mu_n^2 / k`: a constant coefficient of variation
    :math:`1/\sqrt k`, the noise of positive quantities measured on a relative scale (durations, costs, rainfall).

    .. math::

        -\log p(t \mid w, k) = \sum_n \Big[k\Big(\log\mu_n + \frac{t_n}{\mu_n}\Big) - (k - 1)\log t_n
        - k \log k + \log\Gamma(k)\Big] = \frac{k}{2} N D(w) + \sum_n \big(\log t_n + k - k\log k + \log\Gamma(k)\big),

    with :math:`D` the mean Gamma deviance (McCullagh and Nelder 1989, section 8.3). For any shape ``k`` the
    maximum-likelihood ``w`` minimizes the deviance: ``GammaRegressor(alpha=0)``; with a ``Normal(s)`` prior
    on ``w``, ``GammaRegressor(alpha=1 / (k N s^2))``.

    Parameters
    ----------
    shape : float, optional
        A known shape ``k``. When omitted it is the model variable ``shape`` with prior ``shape_prior``
        (default ``HalfFlat()``).
    shape_prior : models.priors.ScalePrior, optional

    Examples
    --------
    >>> c1, c0 = Gamma(shape=2.0).loss_constants(n=1, t=np.array([1.0]))
    >>> float(c1)
    1.0
    """

    loss_name = "Gamma deviance"
    link = "log"
    rescaled = "under the log link only the intercept changes, by the factor's log; the shape stays"
    classical = "GammaRegressor(alpha=0): Gamma GLM"
    scale_name = "shape"

    def __init__(self, shape=None, shape_prior=None):
        self.shape = positive_scalar(shape, "shape", allow_none=True)
        if shape is not None and shape_prior is not None:
            raise ValueError("give either a fixed shape or a shape_prior for a learned shape, not both")
        self.shape_prior = check_scale_prior(HalfFlat() if shape_prior is None else shape_prior, "shape_prior")

    def __repr__(self):
        return f"Gamma(shape={self.shape})" if self.shape is not None else f"Gamma(shape_prior={self.shape_prior!r})"

    def loss(self, t, y):
        return gamma_deviance(t, y)

    def loss_constants(self, n, t=None, shape=None):
        """(c1, c0) with NLL = c1 * N * deviance + c0; c0 depends on the targets ``t`` (not on ``w``).

        Parameters
        ----------
        n : int
            The number of observations N.
        t : array_like (N,), optional
            The targets; default N ones.
        shape : float, optional
            The shape ``k``; default the fixed one.

        Returns
        -------
        tuple of float
            :math:`c_1 = k/2` and :math:`c_0 = \\sum_n (\\log t_n + k - k\\log k + \\log\\Gamma(k))`.
        """
        k = self.shape if shape is None else shape
        t = np.ones(n) if t is None else np.asarray(t, dtype=float)
        return k / 2, float(np.sum(np.log(t) + k - k * np.log(k) + gammaln(k)))

    def nll(self, t, y, shape=None):
        """The summed negative log-likelihood of the Gamma with mean :math:`e^{y_n}` and shape ``k``.

        Parameters
        ----------
        t : array_like (N,)
            Targets, > 0.
        y : array_like (N,)
            Linear predictors (the log-means).
        shape : float, optional
            The shape ``k``; default the fixed one.

        Returns
        -------
        float
            The negative log-likelihood, constants included.
        """
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        k = positive_scalar(self.shape if shape is None else shape, "shape")
        return float(np.sum(k * (y + t * np.exp(-y)) - (k - 1) * np.log(t) - k * np.log(k) + gammaln(k)))

    def nll_gradient(self, t, y, shape=None):
        """With :math:`\\rho_n = t_n e^{-y_n}`: :math:`k(1 - \\rho_n)` in y and
        :math:`\\psi(k) - \\log k - 1 + y_n - \\log t_n + \\rho_n` in the shape (:math:`\\psi` the digamma)."""
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        k = self.shape if shape is None else shape
        ratio = t * np.exp(-y)
        return k * (1 - ratio), digamma(k) - np.log(k) - 1 + y - np.log(t) + ratio

    def check_targets(self, t):
        bad = np.asarray(t) <= 0
        if bad.any():
            rows = np.nonzero(bad)[0][:5].tolist()
            raise ValueError(f"t must hold positive numbers for a Gamma likelihood; found "
                             f"{np.asarray(t)[bad][:5].tolist()} at row(s) {rows}")
        self.check_target_scale(float(np.max(t)), len(t))

    def whitening_scale(self, z, t):
        if self.shape is not None:
            return 1 / np.sqrt(self.shape)  # the information of y per observation is k
        return _residual_sd(z, np.log(t))

    def observe(self, mu, observed, **inputs):
        k = self.shape_prior.rv("shape") if self.learns_scale else self.shape
        return pm.Gamma("t", alpha=k, beta=k * pt.exp(-mu), observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import GammaRegressor

        return GammaRegressor(alpha=0.0, fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=1000)

    def map_start(self, x, t, design):
        start, residual = _least_squares_start(self, x, t, design, target=np.log(t))
        if self.learns_scale:
            start["shape"] = 1 / max(float(np.var(residual)), 1e-6)  # Var log t ~ 1/k
        return start
