"""Regression as a probabilistic model: t ~ Normal(y(x|w), sigma), in PyMC.

The public names, a contract the analyses, notebooks and later work rely on::

    from models import gaussian_regression, regression, mlp_regression          # arrays in, pm.Model out
    from models import fit_map, least_squares                                   # the MAP point
    from models import exact_posterior, log_evidence, empirical_bayes           # closed forms
    from models import fit_laplace, fit_pathfinder, fit_advi, advi_fitter       # approximations
    from models import sample_posterior, nuts_fitter, convergence               # NUTS and its gates
    from models import predict, add_log_likelihood, loo_by_chunks               # predictive, LOO
    from models import LinearBasis, PolynomialBasis, GaussianBasis, priors, likelihoods
    from models import Design, RegressionModel, design_of, check_posterior      # what a builder decided
    from models import mlp_initial_point, mlp_forward, mlp_predictive

Layout: ``basis``, ``priors``, ``likelihoods`` (the families), ``design`` (what a builder decided), ``builders`` and
``mlp`` (the models), ``statistics`` (sufficient statistics), ``optimize`` (the numerical solvers), ``fit/`` (one
module per rung) and ``diagnostics``.
"""

from . import likelihoods, priors
from .basis import GaussianBasis, LinearBasis, PolynomialBasis
from .builders import gaussian_regression, regression
from .design import Design, RegressionModel, check_posterior, design_of
from .diagnostics import convergence
from .fit import (
                  add_log_likelihood,
                  advi_fitter,
                  empirical_bayes,
                  exact_posterior,
                  fit_advi,
                  fit_laplace,
                  fit_map,
                  fit_pathfinder,
                  least_squares,
                  log_evidence,
                  log_likelihood_at,
                  loo_by_chunks,
                  mean_field_sds,
                  nuts_fitter,
                  predict,
                  sample_posterior,
)
from .likelihoods import gaussian_nll, mse
from .mlp import mlp_forward, mlp_initial_point, mlp_predictive, mlp_regression

__all__ = [
    "Design",
    "GaussianBasis",
    "LinearBasis",
    "PolynomialBasis",
    "RegressionModel",
    "add_log_likelihood",
    "advi_fitter",
    "check_posterior",
    "convergence",
    "design_of",
    "empirical_bayes",
    "exact_posterior",
    "fit_advi",
    "fit_laplace",
    "fit_map",
    "fit_pathfinder",
    "gaussian_nll",
    "gaussian_regression",
    "least_squares",
    "likelihoods",
    "log_evidence",
    "log_likelihood_at",
    "loo_by_chunks",
    "mean_field_sds",
    "mlp_forward",
    "mlp_initial_point",
    "mlp_predictive",
    "mlp_regression",
    "mse",
    "nuts_fitter",
    "predict",
    "priors",
    "regression",
    "sample_posterior",
]
