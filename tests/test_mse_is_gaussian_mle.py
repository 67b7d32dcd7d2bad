"""MSE is the Gaussian MLE: the analysis' checks on its own computation, and that they can fail."""

import numpy as np
import pytest

from analyses import mse_is_gaussian_mle


@pytest.fixture(scope="module")
def computed():
    return mse_is_gaussian_mle.compute(mse_is_gaussian_mle.config(quick=True), np.random.default_rng(3))


@pytest.mark.slow
def test_its_checks_hold_and_fail_when_their_numbers_do(computed):
    """All four checks hold; each turns False, alone, when its number is pushed past the tolerance."""
    assert [entry["ok"] for entry in mse_is_gaussian_mle.checks(computed)] == [True] * 4
    summary = computed["summary"]
    train = summary["rms_train"].copy()
    train[9] = 1e-3
    perturbed = [
        {"max_rel_diff_map_vs_50_digit_reference": 1e6 * summary["max_rel_diff_map_vs_50_digit_reference"]},
        {"nll_identity_max_rel_diff": 1e6 * summary["nll_identity_max_rel_diff"]},
        {"gradient_ratio_max_rel_dev": 1e6 * summary["gradient_ratio_max_rel_dev"]},
        {"rms_train": train},
    ]
    for failing, change in enumerate(perturbed):
        result = dict(computed, summary=dict(summary, **change))
        assert [entry["ok"] for entry in mse_is_gaussian_mle.checks(result)] == [i != failing for i in range(4)]
