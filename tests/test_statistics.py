"""A Gaussian model observed through its sufficient statistics is the row-wise model: same density, same answers.

References: the row-wise model built from the same arrays (PyMC's own Normal log density per row), and a single
QR of the whole design for the chunked statistics.
"""

import warnings

import numpy as np
import pytest

from models import (
    GaussianBasis,
    LinearBasis,
    PolynomialBasis,
    add_log_likelihood,
    exact_posterior,
    fit_map,
    gaussian_regression,
    likelihoods,
    log_evidence,
    loo_by_chunks,
    predict,
    priors,
    regression,
    sample_posterior,
)
from models import statistics as statistics_module
from models.builders import STATISTICS_MIN_ENTRIES, STATISTICS_MIN_ROWS
from models.fit.backend import ONE_SHOT
from models.fit.results import value_point
from models.statistics import ChunkedData, gaussian_statistics


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(sum(map(ord, "sufficient statistics")))
    x = rng.uniform(-3.0, 5.0, size=(3000, 2))
    t = 1.0 + 0.5 * x[:, 0] - np.sin(x[:, 1]) + 0.3 * rng.normal(size=3000)
    return x, t


def both(x, t, **kwargs):
    """The row-wise model and the one observed through statistics, from the same arrays."""
    return (gaussian_regression(x, t, sufficient_statistics=False, **kwargs),
            gaussian_regression(x, t, sufficient_statistics=True, **kwargs))


CASES = {
    "fixed sigma, linear": dict(sigma=0.3),
    "learned sigma (HalfFlat), polynomial": dict(basis=PolynomialBasis(4)),
    "Jeffreys sigma, Normal prior": dict(sigma_prior=priors.Jeffreys(), prior=priors.Normal(2.0)),
    "HalfCauchy sigma, Laplace prior, Gaussian basis": dict(sigma_prior=priors.HalfCauchy(1.0),
                                                            prior=priors.Laplace(1.0),
                                                            basis=GaussianBasis(np.linspace(-3, 5, 4), 2.0)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_log_density_and_gradient_equal_the_row_wise_model(data, case):
    """At random points (in w, which both models share), logp and its gradient agree to ~1e-12 relative."""
    x, t = data
    x = x[:, 0] if isinstance(case.get("basis"), (PolynomialBasis, GaussianBasis)) else x
    rows, stats = both(x, t, **case)
    assert rows.design.statistics is None and stats.design.statistics is not None
    assert "t" not in stats.named_vars and "x" not in stats.named_vars
    w_map = fit_map(stats)["w"]
    rng = np.random.default_rng(1)
    # five evaluations each: NumPy, nothing compiled
    functions = [(m.compile_logp(mode=ONE_SHOT), m.compile_dlogp(mode=ONE_SHOT), m.design.to_w, m.initial_point())
                 for m in (rows, stats)]
    for _ in range(5):
        w = w_map + 0.05 * rng.normal(size=len(w_map))
        log_sigma = np.log(0.3) + 0.2 * rng.normal()
        values = []
        for (logp, dlogp, to_w, point), model in zip(functions, (rows, stats)):
            point = dict(point, w_internal=np.linalg.solve(to_w, w))
            point.update(value_point(model, {"sigma": np.exp(log_sigma)}) if "sigma" in model.named_vars else {})
            gradient = np.asarray(dlogp(point))
            p = len(w)
            # the gradient in w: d/dw = T^-T d/dw_internal (w_internal comes first in the value variables)
            values.append((float(logp(point)), np.concatenate([np.linalg.solve(to_w.T, gradient[:p]), gradient[p:]])))
        (logp_rows, gradient_rows), (logp_stats, gradient_stats) = values
        assert abs(logp_stats - logp_rows) <= 1e-10 * abs(logp_rows)
        np.testing.assert_allclose(gradient_stats, gradient_rows, rtol=1e-9, atol=1e-10 * np.max(np.abs(gradient_rows)))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_map_equals_the_row_wise_map(data, case):
    x, t = data
    x = x[:, 0] if isinstance(case.get("basis"), (PolynomialBasis, GaussianBasis)) else x
    rows, stats = (fit_map(m) for m in both(x[:600], t[:600], **case))  # 600 rows: the row-wise lasso is slow
    for name in rows:
        # exact rules on both (lasso: coordinate descent to 1e-15 relative steps)
        np.testing.assert_allclose(stats[name], rows[name], rtol=1e-10, atol=1e-12)


def test_exact_posterior_evidence_and_log_likelihood_equal_the_row_wise_model(data):
    x, t = data
    rows, stats = both(x, t, sigma_prior=priors.Jeffreys())
    exact_rows, exact_stats = (exact_posterior(m, draws=200, random_seed=5) for m in (rows, stats))
    # same internal coordinates and the same seed: the same draws, up to rounding
    np.testing.assert_allclose(exact_stats.posterior["w"].values, exact_rows.posterior["w"].values, rtol=1e-10)
    np.testing.assert_allclose(exact_stats.posterior["sigma"].values, exact_rows.posterior["sigma"].values, rtol=1e-12)
    # the pointwise log-likelihood is read back from the rows: PyMC's per-row value on the row-wise model
    np.testing.assert_allclose(exact_stats.log_likelihood["t"].values, exact_rows.log_likelihood["t"].values,
                               rtol=1e-12, atol=1e-12)
    rows, stats = both(x, t, sigma=0.3, prior=priors.Normal(1.0))
    assert log_evidence(stats) == pytest.approx(log_evidence(rows), rel=1e-13)


def test_predict_from_statistics(data):
    x, t = data
    rows, stats = both(x, t, sigma=0.3)
    idata = exact_posterior(stats, draws=2000, random_seed=6)
    x_new = np.array([[0.0, 1.0], [4.0, -2.0]])
    from_stats, from_rows = predict(stats, idata, x_new, random_seed=7), predict(rows, idata, x_new, random_seed=7)
    np.testing.assert_allclose(from_stats.predictions["mu"].values, from_rows.predictions["mu"].values, rtol=1e-12)
    for result in (from_stats, from_rows):  # the same schema on both paths: draws by new observation
        assert result.predictions["mu"].dims == result.predictions["t"].dims == ("chain", "draw", "obs_id")
    t_new = from_stats.predictions["t"].values.reshape(-1, 2)
    mu = from_stats.predictions["mu"].values.reshape(-1, 2)
    # t = mu + sigma * noise: the noise's sd is sigma to Monte Carlo precision (2000 draws: ~1.6%)
    np.testing.assert_allclose((t_new - mu).std(axis=0), 0.3, rtol=0.08)
    with pytest.raises(ValueError, match="x_new must have 2 columns"):
        predict(stats, idata, np.zeros((3, 3)))


def test_large_log_likelihoods_are_left_out_until_asked(data, monkeypatch):
    import models.fit.results

    x, t = data
    _, stats = both(x, t, sigma=0.3)
    monkeypatch.setattr(models.fit.results, "LOG_LIKELIHOOD_MAX_VALUES", 1000)
    with pytest.warns(UserWarning, match="add_log_likelihood"):
        idata = exact_posterior(stats, draws=10, random_seed=1)
    assert "log_likelihood" not in idata.children
    add_log_likelihood(stats, idata)
    assert idata.log_likelihood["t"].shape == (1, 10, len(t))


def two_chains(model, draws, seed):
    """Exact iid draws arranged as 2 chains (so that r_eff comes from the ESS, as az.loo makes it), with the
    pointwise log-likelihood az.loo needs."""
    import arviz as az

    posterior = exact_posterior(model, draws=2 * draws, random_seed=seed, log_likelihood=False).posterior
    arrays = {name: posterior[name].values.reshape(2, draws, *posterior[name].shape[2:])
              for name in ("w_internal", "sigma") if name in posterior}
    return add_log_likelihood(model, az.from_dict({"posterior": arrays}))


@pytest.mark.parametrize("outlier", [False, True])
def test_loo_by_chunks_equals_az_loo(data, outlier):
    """PSIS-LOO summed chunk by chunk (7 chunks here, merged pairwise) equals az.loo on the whole (draws x N)
    matrix: elpd, se and p_loo to rounding, the same good_k and warning; an outlier's high Pareto k is named by
    its row."""
    import arviz as az

    x, t = data[0][:800], data[1][:800].copy()  # 800 rows (ArviZ's PSIS costs ~1 ms per row), 600 draws
    if outlier:
        t[123] += 30.0  # 100 noise sd: LOO's importance weights for this row have a heavy tail
    model = gaussian_regression(x, t, sufficient_statistics=True)
    model.design.data.chunk_rows = 120
    idata = two_chains(model, 300, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # az.loo's own Pareto k warning
        expected = az.loo(idata, pointwise=True)
    if outlier:
        with pytest.warns(UserWarning, match=r"Pareto k above 0\.64 for 1 of 800 rows .* row 123\)"):
            result = loo_by_chunks(model, idata)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = loo_by_chunks(model, idata)
    # sums of 3000 terms in another order, through chunk means: ~1e-13 relative
    assert result.elpd == pytest.approx(expected.elpd, rel=1e-11)
    assert result.se == pytest.approx(expected.se, rel=1e-9)
    assert result.p == pytest.approx(expected.p, rel=1e-9)
    assert (result.n_samples, result.n_data_points, result.good_k, result.warning) == (
        expected.n_samples, expected.n_data_points, expected.good_k, expected.warning)
    assert result.warning == outlier
    if outlier:
        assert int(np.argmax(expected.pareto_k.values)) == 123  # good_k = 1 - 1/log10(600 draws) = 0.64


def test_loo_by_chunks_needs_a_model_observed_through_statistics(data):
    x, t = data
    model = gaussian_regression(x[:50], t[:50], sufficient_statistics=False)
    idata = exact_posterior(model, draws=10, random_seed=1)
    with pytest.raises(ValueError, match=r"use az.loo\(idata\)"):
        loo_by_chunks(model, idata)


@pytest.mark.parametrize("piece_rows", [5, 8_192])
def test_chunked_statistics_equal_one_qr(data, monkeypatch, piece_rows):
    """Any chunking, and any piece size inside a chunk, gives the factor of one QR of the whole [Z | t] (up to the
    signs fixed by a positive diagonal)."""
    x, t = data
    monkeypatch.setattr(statistics_module, "PIECE_ROWS", piece_rows)
    conditioned = LinearBasis().conditioned(x)
    whole = np.linalg.qr(np.column_stack([conditioned.transform(x, np), t]), mode="r")
    whole = np.where(np.diag(whole) < 0, -1.0, 1.0)[:, None] * whole
    for chunk_rows in (1, 7, 1000, 10_000):
        statistics = gaussian_statistics(ChunkedData(x, t, chunk_rows=chunk_rows), conditioned)
        np.testing.assert_allclose(statistics.r, whole[:3, :3], rtol=1e-12, atol=1e-12 * np.abs(whole).max())
        np.testing.assert_allclose(statistics.z, whole[:3, 3], rtol=1e-11, atol=1e-12 * np.abs(whole).max())
        assert statistics.rss == pytest.approx(whole[3, 3] ** 2, rel=1e-10)
        assert statistics.n == len(t)


@pytest.mark.parametrize("order", ["as drawn", "sorted by x"])
def test_one_pass_when_the_first_chunk_conditions_like_the_whole(data, monkeypatch, order):
    """The ranges and the statistics come from one pass in the conditioning of the first chunk's range when the
    whole range gives the same (exact dyadic) conditioning; otherwise the rows are read again. Either way the
    statistics are exactly those of the whole range's conditioning."""
    import dask.array as da

    x, t = data
    if order == "sorted by x":  # the first chunk covers a fraction of x's range: another conditioning
        rows = np.argsort(x[:, 0])
        x, t = x[rows], t[rows]
    passes = []
    reduce = ChunkedData.reduce

    def counted(self, function, combine):
        passes.append(function)
        return reduce(self, function, combine)

    monkeypatch.setattr(ChunkedData, "reduce", counted)
    model = gaussian_regression(da.from_array(x, chunks=(500, 2)), da.from_array(t, chunks=500))
    assert len(passes) == (1 if order == "as drawn" else 2)
    expected = gaussian_statistics(ChunkedData(da.from_array(x, chunks=(500, 2)), da.from_array(t, chunks=500)),
                                   LinearBasis().conditioned(x))
    statistics = model.design.statistics
    assert statistics.n == len(t)
    np.testing.assert_array_equal(statistics.r, expected.r)
    np.testing.assert_array_equal(statistics.z, expected.z)
    assert statistics.rss == expected.rss


def test_memory_mapped_files(data, tmp_path):
    x, t = data
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    x_map, t_map = np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "t.npy", mmap_mode="r")
    model = gaussian_regression(x_map, t_map)  # memory-mapped: statistics whatever N
    assert model.design.statistics is not None
    np.testing.assert_allclose(fit_map(model)["w"], fit_map(gaussian_regression(x, t))["w"], rtol=1e-12)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's start-up chatter (ports, resource limits)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_arrays_on_a_local_cluster(data, dask_client):
    """Blocks are reduced on the distributed scheduler's worker processes: the same statistics as NumPy's."""
    import dask.array as da

    x, t = data
    x_dask, t_dask = da.from_array(x, chunks=(700, 2)), da.from_array(t, chunks=1100)  # unaligned row chunks
    model = gaussian_regression(x_dask, t_dask)
    reference = gaussian_regression(x, t, sufficient_statistics=True)
    statistics, expected = model.design.statistics, reference.design.statistics
    np.testing.assert_allclose(statistics.r, expected.r, rtol=1e-12, atol=1e-12 * np.abs(expected.r).max())
    np.testing.assert_allclose(fit_map(model)["w"], fit_map(reference)["w"], rtol=1e-12)
    idata = exact_posterior(model, draws=20, random_seed=1)  # log-likelihood read back through Dask
    np.testing.assert_allclose(idata.log_likelihood["t"].values,
                               exact_posterior(reference, draws=20, random_seed=1).log_likelihood["t"].values,
                               rtol=1e-12)
    bad = x.copy()
    bad[2345, 1] = np.nan
    with pytest.raises(ValueError, match=r"x has 1 non-finite value.*row\(s\) \[2345\]"):
        gaussian_regression(da.from_array(bad, chunks=(700, 2)), t_dask)


def parquet_parts(folder, frame, parts):
    """``frame`` written as ``parts`` Parquet files (part-0, part-1, ...: Dask reads them in this order)."""
    folder.mkdir()
    for k, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[rows].to_parquet(folder / f"part-{k}.parquet")
    return folder


def test_dask_dataframe_columns_read_from_parquet_on_a_local_cluster(data, dask_client, tmp_path):
    """ddf[[...]] and ddf[...] from dd.read_parquet: each partition is read and reduced on a worker (the task graph
    holds file names, not rows), giving NumPy's statistics to 1e-12 and the columns' names; the pointwise
    log-likelihood is read back in the rows' order. Missing values name the column and the partition, a column of
    text is refused from the metadata alone."""
    import pickle

    import dask.dataframe as dd
    import pandas as pd

    x, t = data
    frame = pd.DataFrame({"u": x[:, 0], "v": x[:, 1], "y": t})
    ddf = dd.read_parquet(parquet_parts(tmp_path / "clean", frame, 3))
    assert len(pickle.dumps(dict(ddf.__dask_graph__()))) < frame.to_numpy().nbytes / 10  # names, not 72 kB of rows
    model = gaussian_regression(ddf[["u", "v"]], ddf["y"])
    reference = gaussian_regression(frame[["u", "v"]], frame["y"], sufficient_statistics=True)
    assert list(model.coords["feature"]) == list(reference.coords["feature"]) == ["1", "u", "v"]
    statistics, expected = model.design.statistics, reference.design.statistics
    assert statistics.n == expected.n == len(t)
    np.testing.assert_allclose(statistics.r, expected.r, rtol=1e-12, atol=1e-12 * np.abs(expected.r).max())
    np.testing.assert_allclose(statistics.z, expected.z, rtol=1e-12, atol=1e-12 * np.abs(expected.z).max())
    assert statistics.rss == pytest.approx(expected.rss, rel=1e-12)
    np.testing.assert_allclose(exact_posterior(model, draws=10, random_seed=1).log_likelihood["t"].values,
                               exact_posterior(reference, draws=10, random_seed=1).log_likelihood["t"].values,
                               rtol=1e-12)

    holed = frame.copy()
    holed.loc[2500, "v"] = np.nan
    ddf = dd.read_parquet(parquet_parts(tmp_path / "holed", holed, 3))
    with pytest.raises(ValueError, match=r"x's column 'v' has 1 missing or non-finite value\(s\) .* in partition 2 "
                                         r"\(ddf.partitions\[2\], of 3\)"):
        gaussian_regression(ddf[["u", "v"]], ddf["y"])
    worded = frame.assign(colour="red")
    ddf = dd.read_parquet(parquet_parts(tmp_path / "text", worded, 2))
    with pytest.raises(TypeError, match=r"x's column 'colour' does not hold real numbers"):
        gaussian_regression(ddf[["u", "colour"]], ddf["y"])
    with pytest.raises(TypeError, match=r"give x and t both as Dask DataFrame columns"):
        gaussian_regression(ddf[["u", "v"]], t)


def test_the_client_receives_no_rows_when_a_model_is_built_on_a_cluster(data, dask_client, tmp_path, monkeypatch):
    """Everything the distributed client gathers while building the model from Parquet (the pass for the ranges, the
    pass for the statistics) and while making PSIS-LOO is a few numbers per partition, never a partition's rows."""
    import pickle

    import arviz as az
    import dask.dataframe as dd
    import pandas as pd

    x, t = data
    frame = pd.DataFrame({"u": x[:, 0], "v": x[:, 1], "y": t})
    ddf = dd.read_parquet(parquet_parts(tmp_path / "parts", frame, 3))
    received = []
    gather = dask_client.gather

    def recording_gather(futures, *args, **kwargs):
        results = gather(futures, *args, **kwargs)
        received.append(len(pickle.dumps(results)))
        return results

    monkeypatch.setattr(dask_client, "gather", recording_gather)
    gaussian_regression(ddf[["u", "v"]], ddf["y"])
    partition_bytes = frame.iloc[:1000].to_numpy().nbytes  # 24 kB of rows in each partition
    assert len(received) >= 2  # the recording saw the passes (ranges, statistics)
    # ranges: 2 x 2 extremes, max |t| and a count per partition; statistics: one 3 x 3 factor, 3 + 1 numbers
    assert max(received) < partition_bytes / 10, received

    # PSIS-LOO reduced on the workers (600 rows: ArviZ's PSIS costs ~1 ms per row): seven numbers per partition
    # come back, equal to az.loo on the whole matrix
    small = frame.iloc[:600]
    ddf = dd.read_parquet(parquet_parts(tmp_path / "small", small, 3))
    model = gaussian_regression(ddf[["u", "v"]], ddf["y"])
    idata = two_chains(gaussian_regression(small[["u", "v"]], small["y"], sufficient_statistics=True), 200, seed=4)
    received.clear()
    result = loo_by_chunks(model, idata)
    assert received and max(received) < partition_bytes / 10, received
    expected = az.loo(idata)
    assert (result.elpd, result.se, result.p) == pytest.approx((expected.elpd, expected.se, expected.p), rel=1e-9)


def test_predict_on_dask_inputs_is_lazy_and_runs_block_by_block(data, dask_client):
    """predict at a Dask array or Dask DataFrame columns: mu equals NumPy's, t is mu plus N(0, sigma^2) noise drawn
    per block, reproducible from the seed; a reduction over draws comes back as one number per new input."""
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    x, t = data
    model = gaussian_regression(x, t)
    idata = exact_posterior(model, draws=100, random_seed=2, log_likelihood=False)
    x_new = np.random.default_rng(3).normal(size=(1000, 2))
    reference = predict(model, idata, x_new, random_seed=4).predictions
    frame = pd.DataFrame(x_new, columns=["u", "v"])
    for inputs in (da.from_array(x_new, chunks=(300, 1)), dd.from_pandas(frame, npartitions=3)):
        lazy = predict(model, idata, inputs, random_seed=4).predictions
        assert lazy["t"].chunks is not None and lazy["t"].dims == ("chain", "draw", "obs_id")
        np.testing.assert_allclose(lazy["mu"].values, reference["mu"].values, rtol=1e-13, atol=1e-13)
        draws = lazy["t"].values
        np.testing.assert_array_equal(draws, predict(model, idata, inputs, random_seed=4).predictions["t"].values)
        standardized = (draws - lazy["mu"].values) / idata.posterior["sigma"].values[..., None]
        # 1e5 standard normal values: the mean of their squares has sd sqrt(2 / 1e5) = 0.0045; 0.03 is ~7 sd
        assert abs(np.mean(standardized**2) - 1) < 0.03 and abs(np.mean(standardized)) < 0.02
        # a reduction over the draws runs on the lazy arrays: the NumPy mean of the same draws
        np.testing.assert_allclose(lazy["t"].mean(("chain", "draw")).compute().values, draws.mean(axis=(0, 1)),
                                   rtol=1e-12, atol=1e-12)

    holed = frame.copy()
    holed.loc[700, "v"] = np.nan
    with pytest.raises(ValueError, match=r"x_new's column 'v' has 1 missing .* in partition 2 \(ddf.partitions\[2\]"):
        predict(model, idata, dd.from_pandas(holed, npartitions=3)).predictions["t"].compute()
    with pytest.raises(ValueError, match=r"x_new must have 2 column\(s\) like the training inputs, got 1"):
        predict(model, idata, dd.from_pandas(frame, npartitions=3)[["u"]])
    bad = x_new.copy()
    bad[555, 0] = np.inf
    with pytest.raises(ValueError, match=r"x_new has 1 non-finite value.*row\(s\) \[555\]"):
        predict(model, idata, da.from_array(bad, chunks=(300, 2))).predictions["t"].compute()


def test_predict_on_dask_inputs_needs_a_family_that_draws_in_numpy(data):
    """A family whose draws go through PyMC (here a Poisson GLM) is refused with the way out: NumPy inputs."""
    import arviz as az
    import dask.array as da

    x, _ = data
    counts = np.random.default_rng(5).poisson(2.0, size=len(x))
    model = regression(x, counts, likelihood=likelihoods.Poisson())
    idata = az.from_dict({"posterior": {"w_internal": np.zeros((1, 4, 3))}})
    with pytest.raises(ValueError, match=r"needs a family that draws in NumPy .* pass NumPy inputs"):
        predict(model, idata, da.from_array(x[:10]))


def test_when_statistics_are_used(data):
    x, t = data
    rng = np.random.default_rng(2)
    big_x = rng.normal(size=STATISTICS_MIN_ROWS)
    big_t = big_x + rng.normal(size=STATISTICS_MIN_ROWS)
    assert gaussian_regression(big_x, big_t).design.statistics is not None
    assert gaussian_regression(big_x[:-1], big_t[:-1]).design.statistics is None
    heteroscedastic = likelihoods.Gaussian(sigma_basis=LinearBasis())
    assert regression(big_x, big_t, likelihood=heteroscedastic).design.statistics is None
    # by cost: few rows but many columns (a row-wise gradient ~ N p, through the statistics ~ p^2)
    wide = rng.normal(size=(500, 99))  # 500 x (99 + 1) = 50,000 entries
    wide_t = wide[:, 0] + rng.normal(size=500)
    assert 500 * 100 == STATISTICS_MIN_ENTRIES
    assert gaussian_regression(wide, wide_t).design.statistics is not None
    assert gaussian_regression(wide[:-1], wide_t[:-1]).design.statistics is None


@pytest.mark.parametrize("call, error, message", [
    (lambda x, t: gaussian_regression(x, t, sufficient_statistics="yes"), TypeError, "sufficient_statistics must be"),
    (lambda x, t: regression(x, (t > 1).astype(float), likelihood=likelihoods.Bernoulli(), sufficient_statistics=True),
     ValueError, "needs a Gaussian likelihood with one sigma"),
    (lambda x, t: regression(x, t, likelihood=likelihoods.Gaussian(sigma_basis=LinearBasis()),
                             sufficient_statistics=True), ValueError, "needs a Gaussian likelihood with one sigma"),
    (lambda x, t: gaussian_regression(x[:, 0].astype(str), t, sufficient_statistics=True), TypeError, "real numbers"),
    (lambda x, t: gaussian_regression(x[:5], t[:4], sufficient_statistics=True), ValueError, "same number of rows"),
    (lambda x, t: gaussian_regression(np.column_stack([x, x[:, 0]]), t, sufficient_statistics=True), ValueError,
     "rank deficient"),
    (lambda x, t: gaussian_regression(x[:3], t[:3], sufficient_statistics=True), ValueError, "improper"),
])
def test_bad_inputs(data, call, error, message):
    x, t = data
    with pytest.raises(error, match=message):
        call(x, t)


def test_dask_needs_statistics(data):
    import dask.array as da

    x, t = data
    with pytest.raises(ValueError, match="Dask arrays are read through sufficient statistics"):
        regression(da.from_array(x), da.from_array((t > 1).astype(float)), likelihood=likelihoods.Bernoulli())


@pytest.mark.slow
def test_nuts_on_statistics_matches_exact_draws(data):
    """NUTS on the statistics model against iid exact draws (Jeffreys sigma, flat w): means within Monte Carlo error."""
    x, t = data
    _, stats = both(x, t, sigma_prior=priors.Jeffreys())
    nuts = sample_posterior(stats, draws=1000, tune=1000, chains=2, random_seed=3, cores=1, nuts_sampler="pymc")
    exact = exact_posterior(stats, draws=20_000, random_seed=4, log_likelihood=False)
    for name in ("w", "sigma"):
        nuts_draws = nuts.posterior[name].values.reshape(2000, -1)
        exact_draws = exact.posterior[name].values.reshape(20_000, -1)
        sd = exact_draws.std(axis=0)
        # ~2000 nearly independent draws (a whitened posterior): the mean's error is ~sd/45; allow sd/8
        assert np.all(np.abs(nuts_draws.mean(axis=0) - exact_draws.mean(axis=0)) < sd / 8)
        np.testing.assert_allclose(nuts_draws.std(axis=0), sd, rtol=0.1)
    assert nuts.log_likelihood["t"].shape == (2, 1000, len(t))


@pytest.mark.parametrize("blocks", [1, 2, 5, 8])
def test_reduce_combines_every_chunk_once_in_row_order(blocks):
    """ChunkedData.reduce on a Dask array: a tree of pairwise combinations (on the workers, one result back) that
    keeps the rows' order, as the NumPy path's fold does; concatenation (associative, not commutative) shows it."""
    import dask.array as da

    n = 40
    x, t = np.arange(n, dtype=float), np.zeros(n)
    sizes = np.diff(np.linspace(0, n, blocks + 1).astype(int))
    data = ChunkedData(da.from_array(x, chunks=(tuple(sizes),)), da.from_array(t, chunks=(tuple(sizes),)))
    rows = data.reduce(lambda x, t: list(x), lambda a, b: a + b)
    assert rows == list(x)
    assert ChunkedData(x, t, chunk_rows=7).reduce(lambda x, t: list(x), lambda a, b: a + b) == list(x)
