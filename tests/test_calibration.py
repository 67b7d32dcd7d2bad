"""Simulation-based calibration: the rank and chi-square helpers, the compiled-once fitters, and SBC itself."""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from analyses import calibration
from models import advi_fitter, fit_advi, nuts_fitter, sample_posterior


def test_rank_is_the_number_of_draws_below_the_truth():
    draws = np.array([0.3, -1.0, 2.0, 0.5, 0.5])
    assert calibration.rank_of(0.5, draws) == 2  # strictly below
    assert calibration.rank_of(-5.0, draws) == 0
    assert calibration.rank_of(5.0, draws) == len(draws)


def test_thin_takes_evenly_spaced_draws_across_chains():
    draws = np.arange(2 * 200).reshape(2, 200)  # (chain, draw), chain 1 continues where chain 0 stops
    thinned = calibration.thin(draws, 99)
    assert len(thinned) == 99 and thinned[0] == 0 and thinned[-1] == 399
    assert np.all(np.diff(thinned) >= 4) and np.all(np.diff(thinned) <= 5)
    assert calibration.thin(np.zeros((2, 200, 3)), 10).shape == (10, 3)
    with pytest.raises(ValueError, match="cannot thin"):
        calibration.thin(draws, 401)


def test_rank_counts_and_bins():
    every_rank = np.arange(100)  # each of the L + 1 = 100 rank values once
    np.testing.assert_array_equal(calibration.rank_counts(every_rank, 99, 20), np.full(20, 5))
    np.testing.assert_array_equal(calibration.rank_counts([0, 19, 20, 99], 99, 5), [2, 1, 0, 0, 1])
    with pytest.raises(ValueError, match="equal bins"):
        calibration.rank_counts(every_rank, 99, 7)
    with pytest.raises(ValueError, match="ranks must lie"):
        calibration.rank_counts([100], 99, 5)
    assert calibration.default_bins(30) == 5  # fewer than 10 expected per bin: the fewest bins
    assert calibration.default_bins(100) == 10
    assert calibration.default_bins(200) == 20


def test_chi_square_p_is_pearsons_test_and_the_band_is_binomial():
    counts = np.array([12, 7, 9, 14, 8])
    assert calibration.chi_square_p(counts) == pytest.approx(stats.chisquare(counts).pvalue, rel=1e-12)
    assert calibration.chi_square_p(np.full(10, 7)) == pytest.approx(1.0)
    low, high = calibration.uniform_band(200, 20)
    assert (low, high) == (stats.binom.ppf(0.005, 200, 0.05), stats.binom.ppf(0.995, 200, 0.05))
    assert low < 10 < high


def test_uniform_ranks_pass_and_miscalibrated_ranks_fail(rng):
    """Ranks of a truth among draws from its own distribution are uniform; from a too narrow or shifted one, not."""
    rank_draws, replications, bins = 99, 500, 20

    def p_value(draw_scale=1.0, draw_shift=0.0):
        truth = rng.normal(size=replications)
        draws = draw_shift + draw_scale * rng.normal(size=(replications, rank_draws))
        ranks = [calibration.rank_of(t, d) for t, d in zip(truth, draws)]
        return calibration.chi_square_p(calibration.rank_counts(ranks, rank_draws, bins))

    assert p_value() > 0.01
    assert p_value(draw_scale=0.7) < 1e-6  # too narrow: U shape
    assert p_value(draw_scale=1.5) < 1e-6  # too wide: hump
    assert p_value(draw_shift=0.5) < 1e-6  # biased: tilt
    point_mass = [calibration.rank_of(t, np.zeros(rank_draws)) for t in rng.normal(size=replications)]
    assert set(point_mass) == {0, rank_draws}
    assert calibration.chi_square_p(calibration.rank_counts(point_mass, rank_draws, bins)) < 1e-100


def test_simulate_draws_from_the_stated_prior(rng):
    x = calibration.fixed_inputs()
    w, sigma, t = calibration.simulate(x, 20_000, rng)
    assert w.shape == (20_000, 2) and t.shape == (20_000, len(x))
    # HalfNormal(1): mean sqrt(2/pi), variance 1 - 2/pi; Normal(0, 1) weights
    assert abs(sigma.mean() - np.sqrt(2 / np.pi)) < 5 * np.sqrt((1 - 2 / np.pi) / 20_000)
    assert np.all(np.abs(w.mean(axis=0)) < 5 / np.sqrt(20_000))
    residual = t - w @ np.vstack([np.ones_like(x), x])
    assert abs(np.mean((residual / sigma[:, None]) ** 2) - 1) < 0.02
    _, known, _ = calibration.simulate(x, 3, rng, sigma=0.5)
    np.testing.assert_array_equal(known, 0.5)


def test_compiled_advi_gives_fit_advis_draws(rng):
    """The compiled-once ADVI after pm.set_data returns exactly what fit_advi returns on the same model and seed."""
    x = calibration.fixed_inputs()
    _, _, t = calibration.simulate(x, 2, rng)
    model = calibration.learned_sigma_model(x, t[0])
    fit = advi_fitter(model, n=300, log_likelihood=False)  # compiled on the first data set
    pm.set_data({"t_obs": t[1]}, model=model)
    fit(5, draws=50)  # a fit in between: its optimizer state and random streams must not leak into the next
    fast = fit(17, draws=50).posterior
    reference = fit_advi(model, n=300, draws=50, random_seed=17).posterior  # compiled afresh on the second
    np.testing.assert_array_equal(fast["w"].values, reference["w"].values)
    np.testing.assert_array_equal(fast["sigma"].values, reference["sigma"].values)


@pytest.mark.slow
def test_compiled_nuts_gives_sample_posteriors_draws(rng):
    """nutpie compiled once plus with_data gives the draws of sample_posterior(nuts_sampler="nutpie") on the new
    data."""
    x = calibration.fixed_inputs()
    _, _, t = calibration.simulate(x, 2, rng)
    model = calibration.learned_sigma_model(x, t[0])
    fit = nuts_fitter(model, draws=100, tune=100, chains=2, target_accept=0.9)  # compiled on the first data set
    fast = fit(23, t_obs=t[1]).posterior  # sets the second data set in the compiled model and in `model`
    assert np.array_equal(model["t_obs"].get_value(), t[1])
    reference = sample_posterior(model, draws=100, tune=100, chains=2, random_seed=23, nuts_sampler="nutpie",
                                 target_accept=0.9).posterior
    np.testing.assert_array_equal(fast["w"].values, reference["w"].values)
    np.testing.assert_array_equal(fast["sigma"].values, reference["sigma"].values)


@pytest.mark.slow
def test_the_quick_runs_sbc_has_power_and_every_nuts_run_passes_the_gates(quick_results):
    """SBC in the shared quick run: 200 data sets each for exact draws, NUTS and the MAP plug-in, ranks in 20 bins
    (the test's power; their verdicts are the analysis' checks, which hold: tests/test_analyses.py, among them the
    MAP plug-in failing), every coordinate tested (w and sigma for NUTS), and every one of the 200 NUTS runs through
    the convergence gates: one worst-case report (the run exits with status 1 when it fails)."""
    record = quick_results[2]["calibration"]
    summary = record["summary"]
    assert set(summary["p_values"]) == set(calibration.METHODS)
    for method in ("exact", "NUTS", "MAP plug-in"):
        assert summary["replications"][method] == 200 and summary["bins"][method] == 20, method
    assert set(summary["p_values"]["NUTS"]) == {"w[1]", "w[x]", "sigma"}
    assert set(summary["p_values"]["exact"]) == {"w[1]", "w[x]"}  # sigma known: the conjugate model draws w only
    assert "the MAP plug-in is not calibrated" in [c["claim"] for c in record["checks"]]
    (gate,) = summary["convergence"]
    assert gate["run"].startswith("NUTS on each of 200 simulated data sets")
    assert gate["ok"] and gate["divergences"] == 0 and not gate["problems"], gate
    assert summary["nuts_data_sets_failing_gates"] == 0


@pytest.mark.slow
def test_checks_can_fail(quick_results):
    """On the shared quick run's result: each check follows the smallest p-value of its method across the threshold,
    the others unchanged (checks read the summary only)."""
    result = {"summary": quick_results[2]["calibration"]["summary"]}
    for index, method, passing, failing in [(0, "exact", 0.5, 1e-6), (1, "NUTS", 0.5, 1e-6),
                                            (2, "MAP plug-in", 1e-6, 0.5)]:
        for p, ok in ((passing, True), (failing, False)):
            p_values = {**result["summary"]["p_values"]}
            p_values[method] = dict.fromkeys(p_values[method], 0.5) | {"w[x]": p}
            others = [c["ok"] for i, c in enumerate(calibration.checks(result)) if i != index]
            outcomes = calibration.checks({**result, "summary": {**result["summary"], "p_values": p_values}})
            assert outcomes[index]["ok"] is ok, (method, p)
            assert [c["ok"] for i, c in enumerate(outcomes) if i != index] == others
