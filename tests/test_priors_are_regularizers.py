"""Priors are regularizers: the analysis' checks on its own computation, and that they can fail."""

import pytest

from analyses import priors_are_regularizers


@pytest.fixture(scope="module")
def computed():
    """The quick paths (8 prior scales, about 2 s); the analysis draws no random numbers."""
    return priors_are_regularizers.compute(priors_are_regularizers.config(quick=True), rng=None)


def test_its_checks_hold_and_fail_when_their_numbers_do(computed):
    """All four checks hold; each turns False, alone, when its number is pushed past the tolerance."""
    assert [entry["ok"] for entry in priors_are_regularizers.checks(computed)] == [True] * 4
    summary = computed["summary"]
    perturbed = [
        {"ridge_max_abs_diff": 1e9 * summary["ridge_max_abs_diff"]},
        {"lasso_max_abs_diff": 1e9 * summary["lasso_max_abs_diff"]},
        {"lasso_zero_patterns_identical": False},
        {"elastic_net_max_abs_diff": 1e9 * summary["elastic_net_max_abs_diff"]},
    ]
    for failing, change in enumerate(perturbed):
        result = dict(computed, summary=dict(summary, **change))
        assert [entry["ok"] for entry in priors_are_regularizers.checks(result)] == [i != failing for i in range(4)]
