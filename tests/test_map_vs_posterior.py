"""The MAP-vs-posterior analysis runs (quick settings) and its numbers say what its paragraph claims."""

import json

import numpy as np
import pytest

from analyses import map_vs_posterior

pytestmark = [
    pytest.mark.slow,  # three cases x four samplers: ~45 s with a warm PyTensor cache
    # arviz 0.23.4's matplotlib backend passes a dict to matplotlib.cbook.normalize_kwargs, deprecated in
    # matplotlib 3.11 (works until 3.13); it comes from arviz's plotting, nothing in the analysis can act on it.
    pytest.mark.filterwarnings(
        "ignore:Passing a dict or None as alias_mapping to normalize_kwargs:matplotlib.MatplotlibDeprecationWarning"),
]


@pytest.fixture(scope="module")
def record(quick_results):
    out, _, records = quick_results
    return out, records["map_vs_posterior"]


def test_files_and_record(record):
    out, result = record
    assert [f["file"] for f in result["figures"]] == [f"map_vs_posterior/{stem}.png" for stem in
                                                      ("nuts_posteriors", "pair_learned_sigma", "densities")]
    for figure in result["figures"]:
        assert (out / figure["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "summary.json").read_text())["map_vs_posterior"] == json.loads(
        json.dumps(result["summary"]))
    assert len(result["tables"]) == 6 and result["paragraph"]


def test_known_sigma_normal_prior_map_is_the_mean_and_laplace_is_exact(record):
    summary = record[1]["summary"]
    case = summary["a_known_sigma_normal_prior"]["methods"]
    draws, reference_draws = summary["draws_per_method"], summary["settings"]["reference_draws"]
    # errors are in reference sds: Monte Carlo error of a mean of n draws is 1/sqrt(n) of them
    assert case["MAP"]["mean_error"] < 5 / np.sqrt(reference_draws)  # MAP == m_N, up to the reference's own noise
    assert case["MAP"]["sd_error"] is None
    assert case["MAP"]["wasserstein"] == pytest.approx(np.sqrt(2 / np.pi), abs=0.05)  # E|z| of a standard normal
    for method in ("Laplace", "exact"):
        assert case[method]["mean_error"] < 5 / np.sqrt(draws) + 5 / np.sqrt(reference_draws)
        assert case[method]["sd_error"] < 5 / np.sqrt(2 * draws) + 5 / np.sqrt(2 * reference_draws)
        assert case[method]["wasserstein"] < 0.2
    assert case["NUTS"]["mean_error"] < 0.25 and case["NUTS"]["wasserstein"] < 0.2


def test_learned_sigma_map_sits_below_a_skewed_posterior(record):
    summary = record[1]["summary"]
    case = summary["b_learned_sigma_flat_prior"]["methods"]
    assert summary["sigma_map"] < summary["sigma_reference_median"] < summary["sigma_reference_mean"]
    assert case["MAP"]["worst_mean_coordinate"] == "sigma"
    assert case["exact"]["wasserstein"] < 0.2 and case["NUTS"]["wasserstein"] < 0.2
    # a Gaussian at the MAP misses the Student-t / inverse-gamma spread by far more than Monte Carlo error
    assert case["Laplace"]["wasserstein"] > 2 * case["exact"]["wasserstein"]


def test_lasso_map_has_exact_zeros_the_posterior_mean_has_none(record):
    summary = record[1]["summary"]
    assert summary["lasso_map_exact_zeros"] >= 1
    assert summary["lasso_reference_mean_exact_zeros"] == 0
    assert summary["lasso_nuts_mean_exact_zeros"] == 0
    assert "exact" not in summary["c_known_sigma_laplace_prior"]["methods"]  # no closed form
    assert summary["lasso_laplace_sd_ratio_max"] > 3  # |w| has no curvature for the Laplace approximation to see


def test_discrepancy_of_a_point_mass_and_of_the_reference_itself():
    rng = np.random.default_rng(sum(map(ord, "discrepancy")))
    reference = {"w[1]": rng.normal(2.0, 3.0, 20_000)}
    point = map_vs_posterior.discrepancy(reference, {"w[1]": 2.0})
    assert point["sd_error"] is None
    assert point["wasserstein"] == pytest.approx(np.sqrt(2 / np.pi), rel=0.02)
    itself = map_vs_posterior.discrepancy(reference, reference)
    assert itself == {"mean_error": 0.0, "worst_mean_coordinate": "w[1]", "sd_error": 0.0, "wasserstein": 0.0}
