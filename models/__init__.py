"""Regression as a probabilistic model: t ~ Normal(y(x|w), sigma), in PyMC.

The public names, a contract the analyses, notebooks and later work rely on::

    from models import gaussian_regression, regression, fit_map, least_squares
    from models import LinearBasis, PolynomialBasis, GaussianBasis
    from models import priors, likelihoods
"""

from . import likelihoods, priors
from .basis import GaussianBasis, LinearBasis, PolynomialBasis
from .builders import gaussian_regression, regression
from .inference import fit_map, least_squares, log_likelihood_at
from .likelihoods import gaussian_nll, mse

__all__ = [
    "GaussianBasis",
    "LinearBasis",
    "PolynomialBasis",
    "fit_map",
    "gaussian_nll",
    "gaussian_regression",
    "least_squares",
    "log_likelihood_at",
    "likelihoods",
    "mse",
    "priors",
    "regression",
]
