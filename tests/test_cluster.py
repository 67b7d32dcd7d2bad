"""The cluster benchmark (analyses/cluster.py): its data are the stated simulation, and its checks fail when their
numbers do. Its measurement runs in ``make bench`` (a cluster per size, NUTS per size); the reading and reduction on
a local cluster are tested in tests/test_statistics.py."""

import copy

import numpy as np
import pytest

from analyses import cluster


def test_the_parquet_files_hold_the_stated_simulation(tmp_path):
    """t = 1 + x @ w + N(0, 0.5^2) in files of the stated size: least squares on the rows read back finds w within
    a few standard errors (0.5 / sqrt(N) = 0.005 here, hence 0.03) and the residual sd near 0.5."""
    import pandas as pd

    folder = cluster.write_parquet(tmp_path / "files", 10_000, 3_000, seed=1)
    assert len(list(folder.glob("*.parquet"))) == 4 and cluster.complete_marker(folder).exists()
    frame = pd.read_parquet(folder)
    assert list(frame.columns) == [*cluster.INPUTS, "t"] and len(frame) == 10_000
    design = np.column_stack([np.ones(len(frame)), frame[cluster.INPUTS].to_numpy()])
    w, *_ = np.linalg.lstsq(design, frame["t"].to_numpy(), rcond=None)
    np.testing.assert_allclose(w, cluster.W_TRUE, atol=0.03)
    assert np.std(frame["t"].to_numpy() - design @ w) == pytest.approx(0.5, rel=0.03)


def _row(n, plain, build, worker, client, nuts):
    return {"n": n, "plain_pass_s": plain, "build_s": build, "map_s": 0.05, "exact_s": 0.01, "nuts_s": nuts,
            "workers_peak_mb": [worker, worker], "client_peak_mb": client}


def test_the_checks_hold_and_fail_with_their_numbers():
    good = {"summary": {"rows": [_row(1e6, 1.0, 2.5, 500, 480, 6.0), _row(1e8, 40.0, 70.0, 900, 490, 6.5)]}}
    assert [c["ok"] for c in cluster.checks(good)] == [True, True, True, True]
    failing = copy.deepcopy(good)
    large = failing["summary"]["rows"][-1]
    large.update(build_s=90.0, workers_peak_mb=[900, 4000], client_peak_mb=600, nuts_s=12.0)
    assert [c["ok"] for c in cluster.checks(failing)] == [False, False, False, False]
