"""Regression as a probabilistic model: t ~ Normal(y(x|w), sigma), in PyMC.

The public names, a contract the analyses, notebooks and later work rely on::

    from models import gaussian_regression, regression, fit_map, least_squares
    from models import sample_posterior, exact_posterior, fit_laplace, fit_pathfinder, fit_advi, predict, add_log_likelihood
    from models import log_evidence, empirical_bayes, convergence
    from models import LinearBasis, PolynomialBasis, GaussianBasis
    from models import priors, likelihoods
    from models import mlp_regression, mlp_initial_point, mlp_forward, mlp_predictive
"""

from . import likelihoods, priors
from .basis import GaussianBasis, LinearBasis, PolynomialBasis
from .builders import gaussian_regression, regression
from .inference import fit_map, least_squares, log_likelihood_at
from .diagnostics import convergence
from .evidence import empirical_bayes, log_evidence
from .likelihoods import gaussian_nll, mse
from .mlp import mlp_forward, mlp_initial_point, mlp_predictive, mlp_regression
from .pathfinder import fit_pathfinder
from .posterior import add_log_likelihood, exact_posterior, fit_advi, fit_laplace, predict, sample_posterior

__all__ = [
    "add_log_likelihood",
    "convergence",
    "empirical_bayes",
    "exact_posterior",
    "fit_advi",
    "fit_laplace",
    "fit_pathfinder",
    "log_evidence",
    "predict",
    "sample_posterior",
    "GaussianBasis",
    "LinearBasis",
    "PolynomialBasis",
    "fit_map",
    "gaussian_nll",
    "gaussian_regression",
    "least_squares",
    "log_likelihood_at",
    "likelihoods",
    "mlp_forward",
    "mlp_initial_point",
    "mlp_predictive",
    "mlp_regression",
    "mse",
    "priors",
    "regression",
]
