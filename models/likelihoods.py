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
=============  ==============  ==========  ==============================================================

``y`` below is always the linear predictor :math:`\Phi(x) w` (the network's output), and each loss takes it
directly: the mean for the first three, the logit, the logits of all classes, the log of the Poisson mean.
"""

import numbers

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln, logsumexp, xlogy

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

    With ``sigma_basis`` the noise sd depends on the input (heteroscedastic), through its own basis
    :math:`\psi`:

    .. math::

        \log \sigma(x) = \psi(x)^\top v, \qquad
        -\log p(t \mid w, v) = \sum_n \Big[\frac{(t_n - y_n)^2}{2\sigma(x_n)^2} + \log \sigma(x_n)\Big]
        + \frac N2 \log 2\pi,

    the "Gaussian NLL loss" used in deep learning to learn predicted variances (Nix and Weigend 1994; PyTorch's
    ``GaussianNLLLoss`` is the same up to the constant). The model then has ``v`` (dims ``sigma_feature``, the
    coefficients of :math:`\psi`, flat prior) and the deterministic ``sigma`` (dims ``obs_id``).

    Parameters
    ----------
    sigma : float, optional
        A known noise sd. When omitted, ``sigma`` is a model variable with prior ``sigma_prior``.
    sigma_prior : HalfFlat, HalfNormal or HalfCauchy
        Prior for a learned ``sigma``. The default ``HalfFlat()`` makes the MAP the maximum-likelihood
        estimate :math:`\hat\sigma^2 = \mathrm{SSE}/N` (PRML eq. 1.56).
    sigma_basis : LinearBasis, PolynomialBasis or GaussianBasis, optional
        Learn :math:`\log\sigma(x)` on this basis instead of one ``sigma`` (flat prior on its coefficients).
    """

    loss_name = "MSE"
    link = "identity"
    classical = "ordinary least squares: LinearRegression(fit_intercept=False)"
    n_outputs = 1
    scale_name = "sigma"

    def __init__(self, sigma=None, sigma_prior=None, sigma_basis=None):
        self.sigma = positive_scalar(sigma, "sigma", allow_none=True)
        if sigma is not None and sigma_prior is not None:
            raise ValueError("give either a fixed sigma or a sigma_prior for a learned sigma, not both")
        if sigma_basis is not None:
            from .basis import GaussianBasis, LinearBasis, PolynomialBasis

            if not isinstance(sigma_basis, (LinearBasis, PolynomialBasis, GaussianBasis)):
                raise TypeError(f"sigma_basis must be a LinearBasis, PolynomialBasis or GaussianBasis, got {sigma_basis!r}")
            if sigma is not None or sigma_prior is not None:
                raise ValueError("sigma_basis learns sigma(x): give neither a fixed sigma nor a sigma_prior with it")
        sigma_prior = HalfFlat() if sigma_prior is None else sigma_prior
        if not isinstance(sigma_prior, SIGMA_PRIORS):
            names = ", ".join(c.__name__ for c in SIGMA_PRIORS)
            raise TypeError(f"sigma_prior must be one of {names}, got {sigma_prior!r}")
        self.sigma_prior = sigma_prior
        self.sigma_basis = sigma_basis

    def __repr__(self):
        if self.sigma is not None:
            return f"Gaussian(sigma={self.sigma})"
        if self.sigma_basis is not None:
            return f"Gaussian(sigma_basis={self.sigma_basis!r})"
        return f"Gaussian(sigma_prior={self.sigma_prior!r})"

    @property
    def learns_sigma(self):
        """A single learned sigma (not a fixed one, not sigma(x))."""
        return self.sigma is None and self.sigma_basis is None

    @property
    def learns_scale(self):
        return self.sigma is None

    @property
    def heteroscedastic(self):
        return self.sigma_basis is not None

    def loss(self, t, y):
        """The loss this likelihood is the negative log of (up to scale and shift): the MSE."""
        return mse(t, y)

    def loss_constants(self, n, sigma=None):
        """(c1, c0) with NLL = c1 * N * MSE + c0, for one sigma."""
        sigma = self.sigma if sigma is None else sigma
        return 1 / (2 * sigma**2), n / 2 * np.log(2 * np.pi * sigma**2)

    def nll(self, t, y, sigma=None):
        """Summed NLL; ``sigma`` may be one sd or one per observation (heteroscedastic)."""
        sigma = self.sigma if sigma is None else sigma
        if np.ndim(sigma) == 0:
            return gaussian_nll(t, y, sigma)
        return heteroscedastic_nll(t, y, sigma)

    def check_targets(self, t):
        """Any finite real target is in the support."""

    def data(self, t):
        return t

    def whitening_scale(self, z, t):
        return self.sigma if self.sigma is not None else _residual_sd(z, t)

    def observe(self, mu, observed, *, x_data=None, x=None):
        """Add ``sigma`` (when learned; ``v`` and ``sigma`` (obs_id) for sigma(x)) and the observed ``t``.

        ``x_data`` (the model's ``pm.Data``) and ``x`` (its training values) are needed for ``sigma_basis``.
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


def heteroscedastic_nll(t, y, sigma):
    """Gaussian NLL with one sd per observation: :math:`\\sum_n (t_n - y_n)^2 / (2\\sigma_n^2) + \\log\\sigma_n + \\log(2\\pi)/2`."""
    t, y, sigma = (np.asarray(a, dtype=float) for a in (t, y, sigma))
    return float(np.sum(0.5 * ((t - y) / sigma) ** 2 + np.log(sigma) + 0.5 * np.log(2 * np.pi)))


def mae(t, y):
    """Mean absolute error :math:`\\frac1N \\sum_n |t_n - y_n|`."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.abs(t - y)))


def student_t_loss(t, y, sigma, nu):
    """The robust loss of the Student-t likelihood: :math:`\\frac1N \\sum_n \\log(1 + r_n^2 / (\\nu \\sigma^2))`."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.log1p(((t - y) / sigma) ** 2 / nu)))


def binary_cross_entropy(t, y):
    """Binary cross-entropy of 0/1 labels ``t`` given logits ``y``: mean of -t log p - (1 - t) log(1 - p), p = sigmoid(y)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.logaddexp(0.0, y) - t * y))


def cross_entropy(t, y):
    """Cross-entropy of integer labels ``t`` given logits ``y`` of shape (N, K): mean of -log softmax(y_n)[t_n]."""
    t, y = np.asarray(t), np.asarray(y, dtype=float)
    return float(np.mean(logsumexp(y, axis=1) - y[np.arange(len(t)), t.astype(int)]))


def poisson_deviance(t, y):
    """Mean Poisson deviance of counts ``t`` given log-means ``y``: :math:`\\frac2N \\sum_n (t_n \\log(t_n/\\mu_n) - t_n + \\mu_n)`.

    The same number as ``sklearn.metrics.mean_poisson_deviance(t, exp(y))``.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    mu = np.exp(y)
    return float(np.mean(2 * (xlogy(t, t) - t * y - t + mu)))


def _residual_sd(z, t):
    """The least-squares residual sd of t on the columns of z (a noise scale to whiten the internal coordinates)."""
    n, p = z.shape
    if n > p:
        coefficients = np.linalg.lstsq(z, t, rcond=None)[0]
        residual_sd = float(np.sqrt(np.sum((t - z @ coefficients) ** 2) / (n - p)))
        if residual_sd > 0:
            return residual_sd
    return float(np.std(t)) or 1.0


def _scale_prior(value, prior, name):
    """A fixed positive scale or (None and) a prior from SIGMA_PRIORS for a learned one."""
    value = positive_scalar(value, name, allow_none=True)
    if value is not None and prior is not None:
        raise ValueError(f"give either a fixed {name} or a {name}_prior for a learned {name}, not both")
    prior = HalfFlat() if prior is None else prior
    if not isinstance(prior, SIGMA_PRIORS):
        names = ", ".join(c.__name__ for c in SIGMA_PRIORS)
        raise TypeError(f"{name}_prior must be one of {names}, got {prior!r}")
    return value, prior


def _integer_targets(t, what, low, high=None):
    """Check that every target is an integer in [low, high]; name the first offending rows."""
    t = np.asarray(t, dtype=float)
    bad = (t != np.round(t)) | (t < low)
    if high is not None:
        bad |= t > high
    if bad.any():
        rows = np.nonzero(bad)[0][:5].tolist()
        raise ValueError(f"t must hold {what}; found {t[bad][:5].tolist()} at row(s) {rows}")


class Laplace:
    r"""Laplace noise :math:`t_n \sim \mathrm{Laplace}(y(x_n \mid w), b)` <-> the MAE loss: median regression.

    :math:`-\log p(t \mid w, b) = \frac{N}{b}\,\mathrm{MAE}(w) + N \log(2b)`, so for any ``b`` the
    maximum-likelihood ``w`` minimizes the sum of absolute residuals: the least-absolute-deviations fit,
    ``sklearn.linear_model.QuantileRegressor(quantile=0.5, alpha=0)``. For a learned ``b`` under a flat prior
    the MAP is :math:`\hat b = \mathrm{SAE}/N`, the mean absolute residual.

    Parameters
    ----------
    scale : float, optional
        A known scale ``b``. When omitted it is the model variable ``scale`` with prior ``scale_prior``
        (default ``HalfFlat()``).
    """

    loss_name = "MAE"
    link = "identity"
    classical = "QuantileRegressor(quantile=0.5, alpha=0): median (least absolute deviations) regression"
    n_outputs = 1
    scale_name = "scale"

    def __init__(self, scale=None, scale_prior=None):
        self.scale, self.scale_prior = _scale_prior(scale, scale_prior, "scale")

    def __repr__(self):
        return f"Laplace(scale={self.scale})" if self.scale is not None else f"Laplace(scale_prior={self.scale_prior!r})"

    @property
    def learns_scale(self):
        return self.scale is None

    def loss(self, t, y):
        return mae(t, y)

    def loss_constants(self, n, scale=None):
        """(c1, c0) with NLL = c1 * N * loss + c0."""
        b = self.scale if scale is None else scale
        return 1 / b, n * np.log(2 * b)

    def nll(self, t, y, scale=None):
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        b = positive_scalar(self.scale if scale is None else scale, "scale")
        return float(np.sum(np.log(2 * b) + np.abs(t - y) / b))

    def check_targets(self, t):
        """Any finite real target is in the support."""

    def data(self, t):
        return t

    def whitening_scale(self, z, t):
        return np.sqrt(2) * self.scale if self.scale is not None else _residual_sd(z, t)

    def observe(self, mu, observed, **inputs):
        b = self.scale_prior.rv("scale") if self.learns_scale else self.scale
        return pm.Laplace("t", mu=mu, b=b, observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import QuantileRegressor

        return QuantileRegressor(quantile=0.5, alpha=0.0, fit_intercept=False, solver="highs")


class StudentT:
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
        A known scale. When omitted it is the model variable ``sigma`` with prior ``sigma_prior`` (default ``HalfFlat()``).
    """

    loss_name = "Student-t loss"
    link = "identity"
    classical = "robust M-estimator of the Student-t loss (no scikit-learn twin; scipy.optimize on the loss)"
    n_outputs = 1
    scale_name = "sigma"

    def __init__(self, nu, sigma=None, sigma_prior=None):
        self.nu = positive_scalar(nu, "nu")
        self.sigma, self.sigma_prior = _scale_prior(sigma, sigma_prior, "sigma")

    def __repr__(self):
        if self.sigma is not None:
            return f"StudentT(nu={self.nu}, sigma={self.sigma})"
        return f"StudentT(nu={self.nu}, sigma_prior={self.sigma_prior!r})"

    @property
    def learns_scale(self):
        return self.sigma is None

    def loss(self, t, y, sigma=None):
        return student_t_loss(t, y, positive_scalar(self.sigma if sigma is None else sigma, "sigma"), self.nu)

    def loss_constants(self, n, sigma=None):
        sigma = self.sigma if sigma is None else sigma
        nu = self.nu
        return (nu + 1) / 2, n * (gammaln(nu / 2) + 0.5 * np.log(nu * np.pi) + np.log(sigma) - gammaln((nu + 1) / 2))

    def nll(self, t, y, sigma=None):
        from scipy import stats

        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        sigma = positive_scalar(self.sigma if sigma is None else sigma, "sigma")
        return float(-np.sum(stats.t.logpdf(t, df=self.nu, loc=y, scale=sigma)))

    def check_targets(self, t):
        """Any finite real target is in the support."""

    def data(self, t):
        return t

    def whitening_scale(self, z, t):
        return self.sigma if self.sigma is not None else _residual_sd(z, t)

    def observe(self, mu, observed, **inputs):
        sigma = self.sigma_prior.rv("sigma") if self.learns_scale else self.sigma
        return pm.StudentT("t", nu=self.nu, mu=mu, sigma=sigma, observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        return None


class Bernoulli:
    r"""Binary labels :math:`t_n \sim \mathrm{Bernoulli}(\mathrm{sigmoid}(y(x_n \mid w)))` <-> binary cross-entropy.

    :math:`-\log p(t \mid w) = \sum_n \big[\log(1 + e^{y_n}) - t_n y_n\big] = N\,\mathrm{BCE}(w)` (PRML eq. 4.90):
    the MAP under a flat prior is unpenalized logistic regression, ``LogisticRegression(C=np.inf)`` (scikit-learn's
    spelling of ``penalty=None`` since 1.8). It exists only when the classes are not separable by the features.
    """

    loss_name = "binary cross-entropy"
    link = "logit"
    classical = "LogisticRegression(C=inf): unpenalized logistic regression"
    n_outputs = 1
    scale_name = None
    learns_scale = False

    def __repr__(self):
        return "Bernoulli()"

    def loss(self, t, y):
        return binary_cross_entropy(t, y)

    def loss_constants(self, n):
        return 1.0, 0.0

    def nll(self, t, y):
        return len(np.atleast_1d(t)) * binary_cross_entropy(t, y)

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


class Categorical:
    r"""Class labels :math:`t_n \sim \mathrm{Categorical}(\mathrm{softmax}(0, y_1, \dots, y_{K-1}))` <-> cross-entropy.

    :math:`-\log p(t \mid w) = \sum_n \big[\log \sum_k e^{y_{nk}} - y_{n t_n}\big] = N\,\mathrm{CE}(w)`
    (PRML eq. 4.108). Class 0 is the reference: its logit is fixed at 0 and ``w`` has one column per other
    class (dims ``feature``, ``class``), which makes the model identified under a flat prior. scikit-learn's
    multinomial ``LogisticRegression(C=np.inf)`` keeps K columns (a symmetric, unidentified parametrization):
    the two agree on the predicted probabilities, and on the differences of its columns from class 0's.
    """

    loss_name = "cross-entropy"
    link = "softmax (multinomial logit)"
    classical = "multinomial LogisticRegression(C=inf): softmax regression"
    scale_name = None
    learns_scale = False

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
        return self.n_classes - 1

    @staticmethod
    def logits(y):
        """All K logits from the K - 1 free ones: a column of zeros (the reference class) in front."""
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


class Poisson:
    r"""Counts :math:`t_n \sim \mathrm{Poisson}(e^{y(x_n \mid w)})` <-> the Poisson deviance.

    :math:`-\log p(t \mid w) = \sum_n \big[e^{y_n} - t_n y_n + \log t_n!\big] = \frac N2 D(w) + \sum_n (t_n - t_n\log t_n
    + \log t_n!)`, with :math:`D` the mean Poisson deviance: the MAP under a flat prior is
    ``PoissonRegressor(alpha=0)``.
    """

    loss_name = "Poisson deviance"
    link = "log"
    classical = "PoissonRegressor(alpha=0): Poisson GLM"
    n_outputs = 1
    scale_name = None
    learns_scale = False

    def __repr__(self):
        return "Poisson()"

    def loss(self, t, y):
        return poisson_deviance(t, y)

    def loss_constants(self, n, t=None):
        """(c1, c0); c0 depends on the counts ``t`` (but not on ``w``)."""
        t = np.zeros(n) if t is None else np.asarray(t, dtype=float)
        return 0.5, float(np.sum(t - xlogy(t, t) + gammaln(t + 1)))

    def nll(self, t, y):
        t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
        return float(np.sum(np.exp(y) - t * y + gammaln(t + 1)))

    def check_targets(self, t):
        _integer_targets(t, "counts (integers >= 0) for a Poisson likelihood", 0)

    def data(self, t):
        return t.astype(np.int64)

    def whitening_scale(self, z, t):
        return 1 / np.sqrt(max(float(np.mean(t)), 0.5))  # information e^y ~ mean count per observation

    def observe(self, mu, observed, **inputs):
        return pm.Poisson("t", mu=pt.exp(mu), observed=observed, dims="obs_id")

    def sklearn_estimator(self):
        from sklearn.linear_model import PoissonRegressor

        return PoissonRegressor(alpha=0.0, fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=1000)


LIKELIHOODS = (Gaussian, Laplace, StudentT, Bernoulli, Categorical, Poisson)
