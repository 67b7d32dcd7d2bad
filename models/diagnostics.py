"""Convergence gates for MCMC runs: R-hat, bulk and tail ESS, divergences (Vehtari et al. 2021)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import arviz as az
import numpy as np

from ._checks import posterior_tree

if TYPE_CHECKING:
    import xarray as xr

R_HAT_MAX = 1.01
ESS_MIN = 400


def convergence(idata: xr.DataTree, var_names: list[str] | None = None, *, r_hat_max: float = R_HAT_MAX,
                ess_min: float = ESS_MIN) -> dict:
    """Check an MCMC run: rank-normalized R-hat <= ``r_hat_max``, bulk and tail ESS >= ``ess_min``, no divergences.

    Returns a dict of plain numbers: ``ok``, ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``
    and ``problems`` (one sentence per failed gate). ``var_names`` defaults to ``w`` and ``sigma`` where present.

    Parameters
    ----------
    idata : xarray.DataTree
        An MCMC run: a ``posterior`` group, and ``sample_stats`` with ``diverging`` when the sampler reports
        divergences (counted as 0 otherwise).
    var_names : list of str, optional
        The variables checked; default ``w`` and ``sigma`` where present, else every posterior variable.
    r_hat_max : float, default ``R_HAT_MAX`` (1.01)
        The largest rank-normalized split R-hat accepted.
    ess_min : float, default ``ESS_MIN`` (400)
        The smallest bulk and tail effective sample size accepted.

    Returns
    -------
    dict
        ``ok`` (bool: every gate passed), ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail`` (floats),
        ``divergences`` (int) and ``problems`` (list of str, one sentence per failed gate).
    """
    posterior_tree(idata)
    if var_names is None:
        var_names = ([name for name in ("w", "sigma") if name in idata["posterior"]]
                     or list(idata["posterior"].data_vars))
    # the three diagnostics alone (az.summary would add two MCSEs: 4x the time, which SBC's 200 runs feel), unrounded
    # (1.0149 is not 1.01), and a NaN kept (np.max/np.min propagate it, so a NaN fails its gate)
    posterior = idata["posterior"].to_dataset()[var_names]
    divergences = int(idata["sample_stats"]["diverging"].sum()) if "sample_stats" in idata.children and \
        "diverging" in idata["sample_stats"] else 0
    report = {
        "max_r_hat": float(np.max(_values(az.rhat(posterior)))),
        "min_ess_bulk": float(np.min(_values(az.ess(posterior, method="bulk")))),
        "min_ess_tail": float(np.min(_values(az.ess(posterior, method="tail")))),
        "divergences": divergences,
    }
    problems = []
    if not report["max_r_hat"] <= r_hat_max:
        problems.append(f"R-hat {report['max_r_hat']:.3f} > {r_hat_max}")
    for kind in ("bulk", "tail"):
        if not report[f"min_ess_{kind}"] >= ess_min:
            problems.append(f"{kind} ESS {report[f'min_ess_{kind}']:.0f} < {ess_min}")
    if divergences:
        problems.append(f"{divergences} divergent transition(s)")
    return {"ok": not problems, **report, "problems": problems}


def _values(dataset: xr.Dataset) -> np.ndarray:
    """Every value of every variable of ``dataset``, flattened into one array."""
    return np.concatenate([np.ravel(dataset[name].values) for name in dataset.data_vars])
