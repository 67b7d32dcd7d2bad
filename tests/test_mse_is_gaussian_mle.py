"""MSE is the Gaussian MLE: the analysis' checks on the shared quick run's numbers, and that they can fail."""

import numpy as np
import pytest

from analyses import mse_is_gaussian_mle


@pytest.mark.slow
def test_its_checks_hold_and_fail_when_their_numbers_do(quick_results):
    """On the shared quick run's summary (the checks read nothing else): all four checks hold; each turns False,
    alone, when its number is pushed past the tolerance."""
    recorded = quick_results[2]["mse_is_gaussian_mle"]["summary"]
    summary = {**recorded, "rms_train": np.array(recorded["rms_train"]), "rms_test": np.array(recorded["rms_test"])}
    computed = {"summary": summary}
    assert [entry["ok"] for entry in mse_is_gaussian_mle.checks(computed)] == [True] * 4
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
