"""The loss_likelihood_table analysis: its checks can fail, its LOO words and titles follow its checks, and the
ADVI band of its quick run widens.

Whether its checks hold on the quick run is asserted with every other analysis' (tests/test_analyses.py); its
compute, even with few draws, takes about a minute, so the checks are perturbed on the shared quick run's summary.
"""

import copy

import matplotlib.pyplot as plt
import numpy as np
import pytest

from analyses import loss_likelihood_table as analysis


def _robust_unmoved(summary):
    slopes = summary["robust_slopes"]
    slopes["Gaussian (MSE)"] = slopes["least squares without the outliers"]  # the MSE fit unmoved by the outliers


def _homoscedastic_prefers_sigma_x(summary):
    summary["loo"]["homoscedastic"].update(best="sigma(x)", elpd_diff=3.0, dse=1.0)


def _flat_network_band(summary):
    summary["mlp_band_width_far_from_data"]["NUTS"] = summary["mlp_band_width_inside_data"]["NUTS"]


# each claim, and a change of its number that makes it false
PERTURBATIONS = {
    "every MAP (flat prior) equals the classical estimator of its loss":
        lambda summary: summary.update(largest_difference=1e-3),
    "the Laplace (MAE) and Student-t losses resist outliers, the MSE does not": _robust_unmoved,
    "PSIS-LOO prefers sigma(x) on heteroscedastic data":
        lambda summary: summary["loo"]["heteroscedastic"].update(best="one sigma"),
    "PSIS-LOO does not prefer sigma(x) on homoscedastic data": _homoscedastic_prefers_sigma_x,
    "the network's posterior band (NUTS) widens away from the data, which its MAP curve cannot show":
        _flat_network_band,
}


def _verdicts(summary):
    return {entry["claim"]: entry["ok"] for entry in analysis.checks({"summary": summary})}


def assert_each_check_can_fail(summary):
    """Each check turns False when the number it is about is made wrong, and only that check."""
    before = _verdicts(summary)
    assert set(before) == set(PERTURBATIONS)
    for claim, change in PERTURBATIONS.items():
        perturbed = copy.deepcopy(summary)
        change(perturbed)
        after = _verdicts(perturbed)
        assert after[claim] is False, claim
        assert {k: v for k, v in after.items() if k != claim} == {k: v for k, v in before.items() if k != claim}


@pytest.mark.slow
def test_quick_run_checks_can_fail(quick_results):
    summary = quick_results[2]["loss_likelihood_table"]["summary"]
    assert len(summary["max_abs_diff_map_vs_estimator"]) == 9  # seven likelihoods, sigma(x), the MLP
    assert_each_check_can_fail(summary)


@pytest.mark.slow
def test_quick_run_advi_band_widens_too(quick_results):
    """ADVI's band widens too (not a check of the analysis): around the MAP, ReLU units that are off beyond the data
    stay off (seed 3: 4x, NUTS 9x)."""
    summary = quick_results[2]["loss_likelihood_table"]["summary"]
    inside, far = summary["mlp_band_width_inside_data"], summary["mlp_band_width_far_from_data"]
    assert far["ADVI"] > 1.5 * inside["ADVI"]


@pytest.mark.parametrize("best", ["sigma(x)", "one sigma"])
@pytest.mark.parametrize("elpd_diff", [0.0, 0.5, 1.5, 2.5, 40.0])
def test_loo_words_never_contradict_the_check(best, elpd_diff):
    """The sentence says "LOO prefers sigma(x)" exactly when LOO does by the check's own rule."""
    gap = {"best": best, "other": "one sigma" if best == "sigma(x)" else "sigma(x)", "elpd_diff": elpd_diff,
           "dse": 1.0}
    ok, words = analysis.loo_verdict("heteroscedastic", gap)
    assert ok is (best == "sigma(x)" and elpd_diff > 2)
    assert words.startswith("LOO prefers sigma(x)") is ok
    ok, words = analysis.loo_verdict("homoscedastic", gap)
    assert ok is (best == "one sigma" or elpd_diff < 1)
    assert words.startswith("LOO does not prefer sigma(x)") is ok
    assert words.startswith("LOO prefers sigma(x)") is not ok


def test_loo_figure_titles_follow_the_checks():
    """The titles of the LOO figure are the checks' verdicts on the gaps passed in (one of each kind here)."""
    x = np.linspace(-1, 1, 5)
    band = {"mean": x, "low": x - 1, "high": x + 1}
    hetero = {kind: {"x": x, "t": x, "bands": {"sigma(x)": band, "one sigma": band}} for kind in analysis.KINDS}
    loo = {"heteroscedastic": {"best": "sigma(x)", "other": "one sigma", "elpd_diff": 1.5, "dse": 1.0},
           "homoscedastic": {"best": "sigma(x)", "other": "one sigma", "elpd_diff": 1.5, "dse": 1.0}}
    figure = analysis.plot_heteroscedastic(hetero, loo)
    try:
        titles = [axis.get_title() for axis in figure.axes]
    finally:
        plt.close(figure)
    # sigma(x) ahead by 1.5 dse: not enough for the heteroscedastic check, too much for the homoscedastic one
    assert titles[0].startswith("heteroscedastic data. LOO does not clearly prefer sigma(x)")
    assert titles[1].startswith("homoscedastic data. LOO prefers sigma(x)")
    for title, kind in zip(titles, analysis.KINDS):
        assert "elpd(sigma(x)) - elpd(one sigma) = 1.5 +- 1.0" in title
        assert analysis.loo_verdict(kind, loo[kind])[1] in title
