"""Inference by rung, from the MAP point to the full posterior.

=====================  =============================================================================
module                 holds
=====================  =============================================================================
``map.py``             ``fit_map`` (the likelihoods' solvers, or a generic optimizer), ``least_squares``
``exact.py``           ``exact_posterior``, ``log_evidence``, ``empirical_bayes``: the closed forms
``approximate.py``     ``fit_laplace``, ``fit_pathfinder``, ``fit_advi`` and ``advi_fitter``
``sample.py``          ``sample_posterior`` (NUTS) and ``nuts_fitter``
``predict.py``         ``predict``: the posterior predictive at new inputs
``results.py``         points in the model's variables, DataTrees, the pointwise log-likelihood
=====================  =============================================================================
"""

from .approximate import advi_fitter, fit_advi, fit_laplace, fit_pathfinder, mean_field_sds
from .exact import empirical_bayes, exact_posterior, log_evidence
from .map import fit_map, least_squares, log_likelihood_at
from .predict import predict
from .results import add_log_likelihood, loo_by_chunks
from .sample import nuts_fitter, sample_posterior

__all__ = ["add_log_likelihood", "advi_fitter", "empirical_bayes", "exact_posterior", "fit_advi", "fit_laplace",
           "fit_map", "fit_pathfinder", "least_squares", "log_evidence", "log_likelihood_at", "loo_by_chunks",
           "mean_field_sds", "nuts_fitter", "predict", "sample_posterior"]
