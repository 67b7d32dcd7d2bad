"""The scaling benchmark: its quick run measures every method and states what it skipped (no timed assertions)."""

import numpy as np
import pytest

from analyses import scaling


@pytest.mark.slow
def test_quick_run_measures_every_method(quick_results):
    out, _, records = quick_results
    summary = records["scaling"]["summary"]
    sizes = [row["n"] for row in summary["rows"]]
    assert sizes == scaling.config(quick=True)["sizes"]
    for row in summary["rows"]:
        for key in ("suite_default", "suite_fitted", "exact"):
            seconds, ess_per_second = row[key][:2]
            assert seconds > 0 and ess_per_second > 0
        # the row-wise pm.sample runs (PyMC's own NUTS, and pm.sample's default) are the default run's: the table
        # says so
        for key in ("pymc_rows", "pm_sample_rows"):
            assert row[key] is None and row[f"{key}_skipped"].startswith("not run in --quick")
        assert row["memmap_extra_mb"] >= 0 and row["file_mb"] > 0
    # nuts_fitter compiled once per model structure: the rows model (1e3) and the statistics model (1e4)
    compiled = [row["suite_fitted_compile_seconds"] for row in summary["rows"]]
    assert compiled[0] > 0 and compiled[1] > 0
    assert summary["ratios"]["suite_time_largest_over_smallest"] > 0
    assert summary["ratios"]["fitted_cpu_largest_over_smallest"] > 0
    # the rows model reads N-long arrays, the statistics model none
    assert summary["rows"][0]["suite_fitted_inputs"]["t_obs"] == [1_000]
    assert all(10_000 not in shape for shape in summary["ratios"]["fitted_inputs_at_largest"].values())
    assert (out / "scaling" / "scaling.png").exists()


def test_a_row_wise_run_past_its_cap_is_stopped_and_reports_none(tmp_path):
    """The capped row-wise pm.sample: a child process (importing PyMC alone takes seconds) is stopped at a 0.5 s cap
    and the run reports None, which the table shows as "stopped at the cap"."""
    scaling.write_data(tmp_path, 1_000, seed=1)
    assert scaling.row_wise_run(tmp_path, {"draws": 100, "tune": 100, "cap_seconds": 0.5}, 1, "pymc") is None


def test_simulated_data_follow_the_stated_model(tmp_path):
    """write_data: t = 1 + x @ linspace(-1, 1, 9) + N(0, 0.5^2), the same rows for the same seed."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        scaling.write_data(tmp_path / folder, 5000, seed=5)
    x, t = np.load(tmp_path / "a" / "x.npy"), np.load(tmp_path / "a" / "t.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "b" / "x.npy"), x)
    design = np.column_stack([np.ones(len(t)), x])
    w, sse = np.linalg.lstsq(design, t, rcond=None)[:2]
    # least squares: each weight within ~4 standard errors (0.5 / sqrt(5000) = 0.007); sigma^2 within ~4 * sqrt(2/N)
    np.testing.assert_allclose(w, np.concatenate([[1.0], np.linspace(-1, 1, scaling.P - 1)]), atol=0.03)
    assert abs(sse[0] / (len(t) - scaling.P) / 0.25 - 1) < 0.08


def test_the_ess_bound_is_the_largest_bulk_ess_arviz_returns():
    """A stopped row-wise run is bounded by S log10(S) draws' worth of ESS: ArviZ floors the autocorrelation time at
    1 / log10(S). Strongly antithetic chains reach the bound; iid chains stay below it."""
    import arviz as az

    rng = np.random.default_rng(sum(map(ord, "ess bound")))
    iid = rng.normal(size=(2, 1000))
    antithetic = iid.copy()
    antithetic[:, 1::2] = -0.999 * antithetic[:, ::2] + 0.001 * rng.normal(size=(2, 500))
    bound = scaling.ess_per_second_bound(2000, 1.0)
    assert bound == pytest.approx(2000 * np.log10(2000))
    assert float(az.ess(iid, method="bulk")) < bound
    assert float(az.ess(antithetic, method="bulk")) == pytest.approx(bound, rel=1e-12)


def benchmark_result(**ratios):
    """A full run's result as checks reads it, every target met; ``ratios`` override single numbers."""
    values = {"suite_time_largest_over_smallest": 0.6, "fitted_cpu_largest_over_smallest": 0.6,
              "sizes_compared": [1_000, 1_000_000],
              "suite_time_1e6_over_1e3": 0.6, "suite_ess_per_s_over_pymc_rows_at_1e5": 500.0,
              "exact_over_lstsq_at_1e6": 0.6, "warm_build_and_map_seconds_at_1e6": 0.3,
              "fitter_compile_seconds": [3.0, 3.0], "max_memmap_extra_mb": 6.0, "file_mb_of_largest": 76.3}
    values.update(ratios)
    rows = [{"n": n} for n in (1_000, 10_000, 100_000, 1_000_000)]
    return {"summary": {"ratios": values, "rows": rows, "settings": scaling.config(full=True)}}


def test_its_checks_hold_and_each_fails_when_its_number_does():
    assert [entry["ok"] for entry in scaling.checks(benchmark_result())] == [True] * 5
    for failing, change in enumerate([{"suite_time_1e6_over_1e3": 1.6}, {"suite_ess_per_s_over_pymc_rows_at_1e5": 90},
                                      {"exact_over_lstsq_at_1e6": 3.5}, {"warm_build_and_map_seconds_at_1e6": 2.0},
                                      {"max_memmap_extra_mb": 76.0}]):
        oks = [entry["ok"] for entry in scaling.checks(benchmark_result(**change))]
        assert oks == [i != failing for i in range(5)], change


def test_the_quick_runs_flatness_check_holds_for_statistics_and_fails_for_rows():
    """A quick run (N <= 1e4) checks no timing: the compiled density at its largest N must read no N-sized array.
    The statistics model's inputs pass; the rows model's (x and t, N long) fail, whatever the timings."""
    ratios = {"suite_time_largest_over_smallest": 0.5, "fitted_cpu_largest_over_smallest": 0.5,
              "sizes_compared": [1_000, 10_000], "fitter_compile_seconds": [3.0], "max_memmap_extra_mb": 0.5,
              "file_mb_of_largest": 0.76}
    rows = [{"n": 1_000}, {"n": 10_000}]
    statistics = {"to_w": [10, 10], "rotated_design": [10, 10], "t_rotated_obs": [10], "t_residual_ss_obs": [],
                  "residual_dof": []}
    for inputs, ok in ((statistics, True), ({"x": [10_000, 9], "t_obs": [10_000]}, False)):
        result = {"summary": {"ratios": dict(ratios, fitted_inputs_at_largest=inputs), "rows": rows,
                              "settings": scaling.config(quick=True)}}
        last = scaling.checks(result)[-1]
        assert last["claim"].startswith("the compiled posterior at N = 10,000 reads no N-sized array")
        assert last["ok"] is ok, inputs
    assert "212 numbers" in scaling.flat_cost_check(dict(ratios, fitted_inputs_at_largest=statistics))["measured"]


def test_memory_is_evidence_only_where_a_copy_would_fail():
    """With files smaller than twice the tolerance, holding them whole would pass: the check is then not
    measured, whatever it found."""
    small = scaling.memory_check({"max_memmap_extra_mb": 0.5, "file_mb_of_largest": 0.76})
    assert small["ok"] is None and small["measured"].startswith("not measured")
    assert scaling.memory_check({"max_memmap_extra_mb": 70.0, "file_mb_of_largest": 76.3})["ok"] is False


def test_the_default_run_leaves_the_capped_row_wise_runs_to_the_benchmark():
    default, full = scaling.config(), scaling.config(full=True)
    assert default["row_wise_max_n"] == 10_000 and max(default["sizes"]) == 1_000_000
    assert scaling.config(quick=True)["row_wise_max_n"] == 0
    assert full["row_wise_max_n"] >= 100_000 and max(full["sizes"]) == 10_000_000
