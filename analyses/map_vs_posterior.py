r"""What the MAP leaves out: the ladder MAP -> Laplace -> Pathfinder -> ADVI -> NUTS -> exact, against a reference.

Data (PRML 1.1, N = 12 so that the posterior is wide): :math:`x_n \sim U(0, 1)`,
:math:`t_n = \sin(2\pi x_n) + \epsilon_n`, :math:`\epsilon_n \sim \mathcal N(0, 0.3^2)`. Model
:math:`t_n \sim \mathcal N(\sum_{k=0}^{3} w_k x_n^k, \sigma^2)` in three cases:

(a) :math:`\sigma = 0.3` known, :math:`w_k \sim \mathcal N(0, 2^2)`: the posterior is Gaussian,
    :math:`\mathcal N(m_N, S_N)` (PRML eq. 3.49-3.51), so its mode is its mean (MAP = :math:`m_N`) and the
    Laplace approximation is exact. Reference: iid draws from the closed form.
(b) :math:`\sigma` learned, flat prior on ``w``, ``HalfFlat`` on :math:`\sigma` (MAP = MLE,
    :math:`\hat\sigma^2 = \mathrm{SSE}/N`): :math:`\sigma^2 \mid t \sim
    \mathrm{InvGamma}((N - p - 1)/2, \mathrm{SSE}/2)` is skewed and ``w`` is Student-t (BDA3 section 14.2).
    Reference: iid draws from the closed form.
(c) :math:`\sigma = 0.3` known, :math:`w_k \sim \mathrm{Laplace}(0, 0.5)` (the lasso): the MAP has exact zeros, the
    posterior mean has none; there is no closed form. Reference: a long NUTS run.

The rungs: the MAP (a point, :func:`models.fit_map`); the Laplace approximation (a Gaussian at the mode of the
unconstrained parameters with the exact Hessian); Pathfinder (Zhang et al. 2022: Gaussians along L-BFGS paths with
the L-BFGS inverse-Hessian estimate, the best by ELBO, then Pareto-smoothed importance resampling); mean-field ADVI
(a factorized Gaussian fitted by stochastic gradient steps); NUTS; and, where there is a closed form,
independent exact draws, which show the Monte Carlo error of a sampled rung with nothing else wrong. The NUTS is
PyMC's own (config ``nuts_sampler``; why, for small models sampled once: :func:`models.sample_posterior`), its chains
one after another in the analysis' process.

Each rung is timed (``time.perf_counter`` around the fit) and measured per coordinate (``w_k`` and
:math:`\sigma`) against the reference draws: the largest error of the mean and the largest relative error of
the sd, both in units of the reference sd, and the 1-D Wasserstein distance
:math:`W_1` (``scipy.stats.wasserstein_distance``) averaged over coordinates, also in reference sds. The MAP is a
point mass: its :math:`W_1` is :math:`E\lvert\theta - \theta_{MAP}\rvert`, the spread it leaves out, and it has no sd.
Pathfinder also reports its own diagnostic, the Pareto :math:`\hat k` of its importance weights (above 0.7 they
cannot correct the approximation). The NUTS runs, the reference of case (c) included, are checked against the
convergence gates of :func:`models.convergence`.

Run alone: ``python -m analyses.map_vs_posterior [--quick] [--seed N] [--out DIR]``.
"""

import hashlib
import sys
import time

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from scipy.stats import wasserstein_distance

from models import (
    PolynomialBasis,
    convergence,
    exact_posterior,
    fit_advi,
    fit_laplace,
    fit_map,
    fit_pathfinder,
    gaussian_regression,
    priors,
    sample_posterior,
)

from . import runner
from .data import SIGMA, prml_data
from .report import cached_idata, check, table

NAME = "map_vs_posterior"
TITLE = "MAP vs posterior: what the MAP leaves out"
CLAIM = ("The MAP is a single point of the posterior: its mean when the posterior is Gaussian, off it otherwise, and "
         "it carries none of the spread.")
N = 12
DEGREE = 3
METHODS = ("MAP", "Laplace", "Pathfinder", "ADVI", "NUTS", "exact")
COLORS = {"MAP": "tab:red", "Laplace": "tab:orange", "Pathfinder": "tab:brown", "ADVI": "tab:green", "NUTS": "tab:blue",
          "exact": "tab:purple"}
CI_PROB, CI_KIND = 0.94, "hdi"  # the credible interval of the NUTS summary table and of the posterior figure
CASES = {
    "a_known_sigma_normal_prior": {
        "title": "(a) known sigma = 0.3, Normal(0, 2^2) prior on w",
        "model": {"sigma": SIGMA, "prior": priors.Normal(2.0)},
        "reference": "exact",
    },
    "b_learned_sigma_flat_prior": {
        "title": "(b) learned sigma (HalfFlat), flat prior on w",
        "model": {"sigma_prior": priors.HalfFlat()},
        "reference": "exact",
    },
    "c_known_sigma_laplace_prior": {
        "title": "(c) known sigma = 0.3, Laplace(0, 0.5) prior on w (lasso)",
        "model": {"sigma": SIGMA, "prior": priors.Laplace(0.5)},
        "reference": "NUTS",
    },
}


def config(quick=False, full=False):
    """Draws per rung (chains x draws for every method), ADVI iterations and the size of the references (``full``
    is the default run)."""
    if quick:
        # enough draws for every NUTS run to clear the ESS >= 400 gate (the lasso posterior's kink at 0
        # gives ~0.3 effective draws per draw)
        return {"draws": 1000, "tune": 500, "chains": 2, "advi_n": 2000, "reference_draws": 4000,
                "reference_nuts_draws": 1500, "reference_nuts_chains": 2, "nuts_sampler": "pymc"}
    return {"draws": 1000, "tune": 1000, "chains": 4, "advi_n": 10_000, "reference_draws": 20_000,
            "reference_nuts_draws": 4000, "reference_nuts_chains": 4, "nuts_sampler": "pymc"}


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def _fit(cache, label, data_key, function, model, **kwargs):
    """One rung's DataTree and its wall time, through the netCDF cache (keyed on code, data and settings); without
    a ``cache`` folder, computed and timed here."""
    if cache is None:
        return _timed(function, model, **kwargs)
    key = {"function": function.__name__, "data": data_key, **kwargs}
    idata = cached_idata(cache, label, key, lambda: function(model, **kwargs), __file__)
    return idata, float(idata.attrs["compute_seconds"])


def run_case(x, t, key, case, setting, rng, cache):
    """Every rung on one case: {"map_point", "idata": {method: DataTree}, "runtime_s", "reference", ...}.

    All sampling rungs draw chains x draws values; the reference is an independent, larger run
    (exact draws, or NUTS with ``reference_nuts_draws`` per chain when there is no closed form). Every
    DataTree goes through the cache, so a rerun with unchanged code and settings skips the sampling.
    """
    model = gaussian_regression(x, t, basis=PolynomialBasis(DEGREE), **case["model"])
    data_key = hashlib.sha256(x.tobytes() + t.tobytes() + repr(case["model"]).encode()).hexdigest()
    names = ("Laplace", "Pathfinder", "ADVI", "NUTS", "exact", "reference")
    seeds = {name: int(s) for name, s in zip(names, rng.integers(2**31, size=len(names)))}
    total = setting["draws"] * setting["chains"]
    map_point, map_time = _timed(fit_map, model)
    idata, runtime = {}, {"MAP": map_time}
    idata["Laplace"], runtime["Laplace"] = _fit(cache, f"{key}-Laplace", data_key, fit_laplace, model, draws=total,
                                                random_seed=seeds["Laplace"])
    idata["Pathfinder"], runtime["Pathfinder"] = _fit(cache, f"{key}-Pathfinder", data_key, fit_pathfinder, model,
                                                      draws=total, random_seed=seeds["Pathfinder"])
    idata["ADVI"], runtime["ADVI"] = _fit(cache, f"{key}-ADVI", data_key, fit_advi, model, n=setting["advi_n"],
                                          draws=total, random_seed=seeds["ADVI"])
    idata["NUTS"], runtime["NUTS"] = _fit(cache, f"{key}-NUTS", data_key, sample_posterior, model,
                                          draws=setting["draws"], tune=setting["tune"], chains=setting["chains"],
                                          random_seed=seeds["NUTS"], nuts_sampler=setting["nuts_sampler"], cores=1)
    if case["reference"] == "exact":
        idata["exact"], runtime["exact"] = _fit(cache, f"{key}-exact", data_key, exact_posterior, model, draws=total,
                                                random_seed=seeds["exact"])
        reference, reference_time = _fit(cache, f"{key}-reference", data_key, exact_posterior, model,
                                         draws=setting["reference_draws"], random_seed=seeds["reference"])
        reference_name = f"exact posterior, {setting['reference_draws']} iid draws"
    else:
        reference, reference_time = _fit(cache, f"{key}-reference", data_key, sample_posterior, model,
                                         draws=setting["reference_nuts_draws"], tune=setting["tune"],
                                         chains=setting["reference_nuts_chains"], random_seed=seeds["reference"],
                                         nuts_sampler=setting["nuts_sampler"], cores=1)
        reference_name = (f"NUTS, {setting['reference_nuts_chains']} chains x {setting['reference_nuts_draws']} draws "
                          "(no closed form)")
    return {"title": case["title"], "features": list(model.coords["feature"]), "map_point": map_point,
            "idata": idata, "runtime_s": runtime, "reference": reference, "reference_name": reference_name,
            "reference_runtime_s": reference_time, "draws": total}


def draws_by_coordinate(idata):
    """{label: every draw of that coordinate}, labels as ``az.summary`` writes them: ``w[1]``, ``w[x]``, ...,
    ``sigma``."""
    posterior = idata.posterior
    values = {f"w[{name}]": posterior["w"].sel(feature=name).values.ravel() for name in posterior["feature"].values}
    if "sigma" in posterior:
        values["sigma"] = posterior["sigma"].values.ravel()
    return values


def map_by_coordinate(map_point, features):
    """The MAP point under the same labels as :func:`draws_by_coordinate`."""
    values = {f"w[{name}]": float(value) for name, value in zip(features, map_point["w"])}
    if "sigma" in map_point:
        values["sigma"] = float(map_point["sigma"])
    return values


def discrepancy(reference, approximation):
    r"""How far an approximation is from the reference draws, coordinate by coordinate, in reference sds.

    ``mean_error`` = :math:`\max_j \lvert \bar\theta_j - \bar\theta^{ref}_j\rvert / s^{ref}_j`, ``sd_error`` =
    :math:`\max_j \lvert s_j / s^{ref}_j - 1\rvert` (None for a point), ``wasserstein`` = mean over j of
    :math:`W_1(\theta_j, \theta^{ref}_j) / s^{ref}_j`. ``approximation`` maps labels to draws or to one number (a
    point mass, whose :math:`W_1` to the reference is :math:`E\lvert\theta^{ref}_j - \theta_j\rvert`).
    """
    mean_errors, sd_errors, distances = {}, [], []
    for label, ref in reference.items():
        values = np.atleast_1d(np.asarray(approximation[label], dtype=float))
        ref_sd = ref.std()
        mean_errors[label] = abs(values.mean() - ref.mean()) / ref_sd
        if values.size > 1:
            sd_errors.append(abs(values.std() / ref_sd - 1))
        distances.append(wasserstein_distance(values, ref) / ref_sd)
    worst = max(mean_errors, key=mean_errors.get)
    return {"mean_error": float(mean_errors[worst]), "worst_mean_coordinate": worst,
            "sd_error": float(max(sd_errors)) if sd_errors else None, "wasserstein": float(np.mean(distances))}


def compare(result):
    """:func:`discrepancy` and the runtime of every rung of one case, MAP first."""
    reference = draws_by_coordinate(result["reference"])
    rows = {"MAP": discrepancy(reference, map_by_coordinate(result["map_point"], result["features"]))}
    for method, idata in result["idata"].items():
        rows[method] = discrepancy(reference, draws_by_coordinate(idata))
    for method in rows:
        rows[method]["runtime_s"] = float(result["runtime_s"][method])
    return rows


def summary_with_map(result):
    """``az.summary`` of the NUTS rung (w and sigma; its ``CI_PROB`` ``CI_KIND`` interval) with the MAP and the
    reference mean and sd as extra columns."""
    var_names = ["w", "sigma"] if "sigma" in result["reference"].posterior else ["w"]
    frame = az.summary(result["idata"]["NUTS"], var_names=var_names, ci_prob=CI_PROB, ci_kind=CI_KIND,
                       round_to="none")
    point = map_by_coordinate(result["map_point"], result["features"])
    reference = draws_by_coordinate(result["reference"])
    frame["MAP"] = [point[label] for label in frame.index]
    frame["reference mean"] = [reference[label].mean() for label in frame.index]
    frame["reference sd"] = [reference[label].std() for label in frame.index]
    return frame


def frame_rows(frame):
    """A DataFrame as table columns and rows (the index becomes the first column)."""
    columns = ["parameter", *frame.columns]
    rows = [[label, *(float(v) for v in values)] for label, values in zip(frame.index, frame.to_numpy())]
    return columns, rows


def _letter(key):
    """The case's letter, as the titles write it: "(a)", "(b)", "(c)"."""
    return f"({key[0]})"


def _share_below(draws, value):
    """The percentage of ``draws`` below ``value``."""
    return 100 * float(np.mean(draws < value))


def plot_nuts_posteriors(results):
    """``az.plot_dist`` of each case's NUTS rung (KDE, mean and ``CI_PROB`` ``CI_KIND``), one row per case (sigma of
    case (b) last), with the MAP as a reference line (``az.add_lines``) and the share of the posterior below it."""
    draws, maps = {}, {}
    for key, result in results.items():
        posterior = result["idata"]["NUTS"].posterior
        draws[f"{_letter(key)} w"] = posterior["w"]
        maps[f"{_letter(key)} w"] = xr.DataArray(np.asarray(result["map_point"]["w"]), dims=["feature"],
                                                 coords={"feature": posterior["feature"].values})
    for key, result in results.items():  # after every w, so that each row of the grid is one case's w
        if "sigma" in result["map_point"]:
            draws[f"{_letter(key)} sigma"] = result["idata"]["NUTS"].posterior["sigma"]
            maps[f"{_letter(key)} sigma"] = xr.DataArray(float(result["map_point"]["sigma"]))
    columns = DEGREE + 1
    rows = -(-sum(int(np.prod(values.shape[2:])) for values in draws.values()) // columns)
    collection = az.plot_dist(
        xr.DataTree.from_dict({"posterior": xr.Dataset(draws)}), kind="kde", point_estimate="mean",
        ci_kind=CI_KIND, ci_prob=CI_PROB, backend="matplotlib", col_wrap=columns,
        visuals={"title": False, "point_estimate_text": False},
        figure_kwargs={"figsize": (2.6 * columns, 2.1 * rows + 0.6), "layout": "constrained"},
    )
    az.add_lines(collection, xr.Dataset(maps), visuals={"ref_line": {"color": COLORS["MAP"]}})
    for name, values in draws.items():
        selections = [{"feature": f} for f in values["feature"].values] if "feature" in values.dims else [{}]
        for selection in selections:
            axis = collection.get_target(name, selection)
            label = f"{name}[{selection['feature']}]" if selection else name
            value = float(maps[name].sel(selection))
            below = _share_below(values.sel(selection).values, value)
            axis.set_title(f"{label}: MAP {value:.3g}\n{below:.0f}% below, {100 - below:.0f}% above", fontsize=9)
    figure = collection.viz["figure"].item()
    figure.suptitle(f"NUTS posteriors: KDE, mean (dot) and {CI_PROB:.0%} {CI_KIND.upper()} (bar); the MAP as a red "
                    "line\n" + "; ".join(result["title"] for result in results.values()), fontsize=9)
    return figure


def plot_pair(result):
    """``az.plot_pair`` of the learned-sigma case's NUTS draws, the MAP as a red point (a red line on the diagonal):
    the spread of w grows with sigma, sigma is skewed."""
    matrix = az.plot_pair(result["idata"]["NUTS"], var_names=["w", "sigma"], marginal=True, backend="matplotlib",
                          visuals={"scatter": {"alpha": 0.3, "size": 6, "width": 0}},
                          figure_kwargs={"figsize": (10, 10), "layout": "constrained"})
    point = map_by_coordinate(result["map_point"], result["features"])
    viz = matrix.viz
    labels = [f"w[{feature}]" if name == "w" else name  # sigma has no feature (NaN)
              for name, feature in zip(viz["var_name_x"].values, viz["feature_x"].values)]
    for row, y_label in enumerate(labels):
        for column, x_label in enumerate(labels[:row + 1]):
            axis = viz["plot"].values[row, column]
            if row == column:
                axis.axvline(point[x_label], color=COLORS["MAP"], linestyle="--", linewidth=1.5)
            else:
                axis.plot(point[x_label], point[y_label], "o", color=COLORS["MAP"], markersize=6)
    figure = viz["figure"].item()
    figure.suptitle(f"{result['title']}: NUTS draws, the MAP in red (a point; a dashed line on the diagonal)",
                    fontsize=11)
    return figure


def _density_coordinate(result):
    """The coordinate each case is plotted by: sigma when learned, else the first exact zero of the MAP, else w[x]."""
    point = map_by_coordinate(result["map_point"], result["features"])
    if "sigma" in point:
        return "sigma"
    zeros = [label for label, value in point.items() if value == 0.0]
    return zeros[0] if zeros else "w[x]"


def _kde_line(axis, values, **kwargs):
    """A KDE of ``values`` (``az.kde``) drawn as a line."""
    grid, density, _ = az.kde(np.asarray(values))
    axis.plot(grid, density, **kwargs)


def plot_densities(results):
    """One coordinate per case: KDEs of the reference and of every sampled rung, and the MAP (a vertical line).

    A rung whose sd is more than 3 times the reference's is flattened off the scale; a note in the panel says so.
    """
    figure, axes = plt.subplots(1, len(results), figsize=(3.7 * len(results), 3.6), layout="constrained")
    for axis, result in zip(np.atleast_1d(axes), results.values()):
        label = _density_coordinate(result)
        reference = draws_by_coordinate(result["reference"])[label]
        _kde_line(axis, reference, color="k", linewidth=4, alpha=0.3, label="reference")
        notes = []
        for method, idata in result["idata"].items():
            values = draws_by_coordinate(idata)[label]
            _kde_line(axis, values, color=COLORS[method], label=method, linewidth=1.5,
                      linestyle="--" if method == "exact" else "-")
            ratio = values.std() / reference.std()
            if ratio > 3:
                notes.append(f"{method}: sd x {ratio:.1f}, off scale")
        axis.axvline(map_by_coordinate(result["map_point"], result["features"])[label], color=COLORS["MAP"],
                     linestyle=":", linewidth=2, label="MAP")
        if notes:
            axis.text(0.02, 0.97, "\n".join(notes), transform=axis.transAxes, fontsize=8, va="top")
        low, high = np.quantile(reference, [0.001, 0.999])
        pad = 0.15 * (high - low)
        axis.set_xlim(low - pad, high + pad)
        axis.set_ylim(bottom=0)
        axis.set_xlabel(label)
        axis.set_title(result["title"].replace(", ", ",\n", 1), fontsize=9)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9, frameon=False)
    figure.suptitle("One coordinate per case: what each rung of the ladder returns (KDEs of the draws)", fontsize=11)
    return figure


def gates(results):
    """The convergence gates (``models.convergence``) of every NUTS run, the references included."""
    reports = []
    for key, result in results.items():
        runs = {"NUTS": result["idata"]["NUTS"]}
        if result["reference_name"].startswith("NUTS"):
            runs["reference NUTS"] = result["reference"]
        for label, idata in runs.items():
            reports.append({"run": f"{key}: {label}", **convergence(idata)})
    return reports


def pareto_k(idata):
    """The Pareto k of a Pathfinder run's importance weights (pymc-extras' ``pathfinder`` group)."""
    return float(idata["pathfinder"]["pareto_k"])


def _or_na(value):
    return "n/a" if value is None else value


def lasso_zeros(result):
    """Case (c): the coordinates where the MAP is exactly 0, and there the reference posterior's mean and sd:
    ``{label: (mean, sd)}``."""
    point = map_by_coordinate(result["map_point"], result["features"])
    reference = draws_by_coordinate(result["reference"])
    return {label: (float(reference[label].mean()), float(reference[label].std()))
            for label, value in point.items() if value == 0.0}


def compute(config, rng, cache=None, progressbar=False):
    """Every rung on the three cases of ``CASES`` (one data set of N = 12), compared with the references; the NUTS
    summaries and the convergence gates. Fits go through ``cache`` (a folder; None: computed afresh)."""
    setting = config
    x, t = prml_data(N, rng)
    results = {key: run_case(x, t, key, case, setting, rng, cache) for key, case in CASES.items()}
    comparisons = {key: compare(result) for key, result in results.items()}

    result_b, result_c = results["b_learned_sigma_flat_prior"], results["c_known_sigma_laplace_prior"]
    sigma_reference = result_b["reference"].posterior["sigma"].values.ravel()
    sigma_map = float(result_b["map_point"]["sigma"])
    lasso_map = np.asarray(result_c["map_point"]["w"])
    lasso_reference_mean = result_c["reference"].posterior["w"].mean(("chain", "draw")).values
    lasso_nuts_mean = result_c["idata"]["NUTS"].posterior["w"].mean(("chain", "draw")).values
    laplace_c_sd = (result_c["idata"]["Laplace"].posterior["w"].std(("chain", "draw")).values
                    / result_c["reference"].posterior["w"].std(("chain", "draw")).values)

    summary = {
        "n": N,
        "degree": DEGREE,
        "draws_per_method": results["a_known_sigma_normal_prior"]["draws"],
        "settings": setting,
        # timings stay in the tables: summary.json holds only what the seed determines
        **{key: {"reference": results[key]["reference_name"],
                 "methods": {method: {k: v for k, v in row.items() if k != "runtime_s"}
                             for method, row in comparisons[key].items()}} for key in CASES},
        "sigma_map": sigma_map,
        "sigma_reference_mean": float(sigma_reference.mean()),
        "sigma_reference_median": float(np.median(sigma_reference)),
        "lasso_map_exact_zeros": int(np.sum(lasso_map == 0.0)),
        "lasso_reference_mean_exact_zeros": int(np.sum(lasso_reference_mean == 0.0)),
        "lasso_nuts_mean_exact_zeros": int(np.sum(lasso_nuts_mean == 0.0)),
        "lasso_laplace_sd_ratio_max": float(laplace_c_sd.max()),
        # Pathfinder's own diagnostic: the Pareto k of its importance weights (above 0.7 they cannot be trusted)
        "pathfinder_pareto_k": {key: pareto_k(result["idata"]["Pathfinder"]) for key, result in results.items()},
    }
    pathfinder = results["a_known_sigma_normal_prior"]["idata"]["Pathfinder"]["pathfinder"]
    return {"summary": summary, "convergence": gates(results), "setting": setting, "results": results,
            "comparisons": comparisons, "laplace_c_sd": laplace_c_sd, "lasso_zeros": lasso_zeros(result_c),
            "nuts_summaries": {key: summary_with_map(result) for key, result in results.items()},
            "pathfinder_paths": int(pathfinder["num_paths"])}


def checks(result):
    """The MAP is the mean of a Gaussian posterior and the Laplace approximation and Pathfinder recover it (a); the
    MAP sigma sits below a skewed posterior that the Laplace approximation misses (b); the lasso's zeros (c)."""
    summary = result["summary"]
    a, b = (summary[key]["methods"] for key in ("a_known_sigma_normal_prior", "b_learned_sigma_flat_prior"))
    sigma_map = summary["sigma_map"]
    # errors are in reference sds: the Monte Carlo error of a mean of n draws is 1/sqrt(n) of them, of an sd 1/sqrt(2n)
    draws, reference_draws = summary["draws_per_method"], summary["settings"]["reference_draws"]
    map_tolerance = 5 / np.sqrt(reference_draws)
    mean_tolerance = 5 / np.sqrt(draws) + 5 / np.sqrt(reference_draws)
    sd_tolerance = 5 / np.sqrt(2 * draws) + 5 / np.sqrt(2 * reference_draws)
    return [
        check("(a) known sigma, Normal prior: the MAP is the posterior mean",
              f"|MAP - mean| = {a['MAP']['mean_error']:.3f} reference sd (tolerance {map_tolerance:.3f}, 5 Monte Carlo "
              "errors of the reference)", a["MAP"]["mean_error"] < map_tolerance),
        check("(a) known sigma, Normal prior: the Laplace approximation is exact",
              f"mean error {a['Laplace']['mean_error']:.3f} sd (tolerance {mean_tolerance:.3f}), sd error "
              f"{a['Laplace']['sd_error']:.3f} (tolerance {sd_tolerance:.3f}): 5 Monte Carlo errors",
              a["Laplace"]["mean_error"] < mean_tolerance and a["Laplace"]["sd_error"] < sd_tolerance),
        check("(a) known sigma, Normal prior: Pathfinder recovers the Gaussian posterior",
              f"mean error {a['Pathfinder']['mean_error']:.3f} sd (tolerance {mean_tolerance:.3f}), sd error "
              f"{a['Pathfinder']['sd_error']:.3f} (tolerance {sd_tolerance:.3f}): 5 Monte Carlo errors",
              a["Pathfinder"]["mean_error"] < mean_tolerance and a["Pathfinder"]["sd_error"] < sd_tolerance),
        check("(b) learned sigma: the MAP sigma sits below a right-skewed posterior",
              f"MAP {sigma_map:.3f} < posterior median {summary['sigma_reference_median']:.3f} < mean "
              f"{summary['sigma_reference_mean']:.3f}",
              sigma_map < summary["sigma_reference_median"] < summary["sigma_reference_mean"]),
        check("(b) learned sigma: the Laplace approximation at the MAP misses the posterior",
              f"W1 = {b['Laplace']['wasserstein']:.3f} sd, more than 2 x that of exact draws "
              f"({b['exact']['wasserstein']:.3f})", b["Laplace"]["wasserstein"] > 2 * b["exact"]["wasserstein"]),
        # only the MAP's zeros can fail here: a mean of continuous draws is never exactly 0.0, so the summary's
        # count of the posterior mean's exact zeros (always 0) is no evidence and is not part of this check
        check("(c) Laplace prior: the MAP has exact zeros (the lasso)",
              f"MAP exact zeros: {summary['lasso_map_exact_zeros']} of {DEGREE + 1}",
              summary["lasso_map_exact_zeros"] >= 1),
    ]


def figures(result):
    """The NUTS posteriors with the MAP, the pair plot of case (b), one coordinate per case against every rung."""
    results = result["results"]
    return {
        "nuts_posteriors": (plot_nuts_posteriors(results),
                            f"NUTS posterior of every coordinate, case by case (KDE, mean and {CI_PROB:.0%} "
                            f"{CI_KIND.upper()}), with the MAP as a red dashed line and the share of the posterior "
                            "below it."),
        "pair_learned_sigma": (plot_pair(results["b_learned_sigma_flat_prior"]),
                               "Case (b), NUTS draws with the MAP in red: the spread of each w grows with sigma; "
                               "sigma is skewed to the right."),
        "densities": (plot_densities(results),
                      "One coordinate per case, every rung of the ladder (KDEs of its draws) against the reference "
                      "(thick grey); the MAP as a red dotted line."),
    }


def tables(result):
    """Per case: every rung against the reference; then per case the NUTS summary with the MAP and the reference."""
    rendered = []
    for key, run in result["results"].items():
        rows = [[method, row["runtime_s"], row["mean_error"], row["worst_mean_coordinate"], _or_na(row["sd_error"]),
                 row["wasserstein"]] for method, row in result["comparisons"][key].items()]
        rendered.append(table(
            f"{run['title']}: each rung against the reference ({run['reference_name']}, "
            f"{run['reference_runtime_s']:.1f} s); {run['draws']} draws per sampled rung",
            ["method", "runtime (s)", "max |mean - ref mean| / ref sd", "worst coordinate",
             "max |sd / ref sd - 1|", "mean W1 / ref sd"],
            rows))
    for key, run in result["results"].items():
        columns, rows = frame_rows(result["nuts_summaries"][key])
        rendered.append(table(f"{run['title']}: az.summary of the NUTS rung ({CI_PROB:.0%} {CI_KIND.upper()}), with "
                              "the MAP and the reference", columns, rows))
    return rendered


def text(result):
    """The paragraph: what the MAP leaves out in each case, and how each rung of the ladder does."""
    summary, setting, laplace_c_sd = result["summary"], result["setting"], result["laplace_c_sd"]
    a, b, c = (result["comparisons"][key] for key in CASES)
    sigma_map, sigma_median, sigma_mean = (summary[k] for k in ("sigma_map", "sigma_reference_median",
                                                                "sigma_reference_mean"))
    pathfinder_k, pathfinder_paths = summary["pathfinder_pareto_k"], result["pathfinder_paths"]
    zeros = result["lasso_zeros"]
    zeros_distance = (" (at the MAP's zeros it is " + ", ".join(f"{mean / sd:+.2f} posterior sd at {label}"
                                                               for label, (mean, sd) in zeros.items()) + ")"
                      if zeros else "")
    return (
        f"The MAP is one point; the posterior is a distribution, and the MAP has nothing to say about its spread: "
        f"measured as a 1-D Wasserstein distance to the reference posterior, the MAP is "
        f"{a['MAP']['wasserstein']:.2f}, {b['MAP']['wasserstein']:.2f} and {c['MAP']['wasserstein']:.2f} reference "
        f"sds away in cases (a), (b), (c) (a point at the mean of a Gaussian is sqrt(2/pi) = 0.80 sd away). "
        f"(a) With sigma known and a Normal prior the posterior is Gaussian: the MAP is its mean "
        f"(|MAP - mean| = {a['MAP']['mean_error']:.3f} sd, the Monte Carlo error of the reference) and the Laplace "
        f"approximation is exact (mean error {a['Laplace']['mean_error']:.3f} sd, sd error "
        f"{a['Laplace']['sd_error']:.3f}, W1 {a['Laplace']['wasserstein']:.3f}, the same as independent exact "
        f"draws: {a['exact']['wasserstein']:.3f}). "
        f"(b) With sigma learned the MAP sigma = sqrt(SSE/N) = {sigma_map:.3f} sits below the posterior median "
        f"{sigma_median:.3f} and mean {sigma_mean:.3f}: the sigma posterior is skewed "
        f"(InvGamma in sigma^2) and w is Student-t, so the Laplace approximation, a Gaussian in (w, log sigma) at "
        f"the MAP, misses the spread by up to {100 * b['Laplace']['sd_error']:.0f}% (W1 "
        f"{b['Laplace']['wasserstein']:.2f}) where NUTS is within {100 * b['NUTS']['sd_error']:.0f}% "
        f"(W1 {b['NUTS']['wasserstein']:.2f}). "
        f"(c) Under a Laplace prior the MAP is the lasso, with {summary['lasso_map_exact_zeros']} exact zero(s) "
        f"out of {DEGREE + 1}; the posterior mean has {summary['lasso_reference_mean_exact_zeros']}{zeros_distance}: "
        "the sparsity is "
        f"a property of the mode, not of the posterior. The Laplace approximation sees no curvature of |w| away "
        f"from its kink and overstates the sd up to {laplace_c_sd.max():.1f}-fold, where a short NUTS run has W1 "
        f"{c['NUTS']['wasserstein']:.2f}. "
        f"Pathfinder (L-BFGS from {pathfinder_paths} jittered starts, along each path the Gaussian with the L-BFGS "
        "inverse Hessian that has the best ELBO, then Pareto-smoothed importance resampling of the pooled draws) "
        f"has W1 {a['Pathfinder']['wasserstein']:.2f}, {b['Pathfinder']['wasserstein']:.2f}, "
        f"{c['Pathfinder']['wasserstein']:.2f} in (a), (b), (c), and its own diagnostic, the Pareto k of its "
        f"importance weights, is {pathfinder_k['a_known_sigma_normal_prior']:.2f}, "
        f"{pathfinder_k['b_learned_sigma_flat_prior']:.2f}, {pathfinder_k['c_known_sigma_laplace_prior']:.2f} (above "
        "0.7 the weights cannot correct the approximation). In (a) it recovers the Gaussian posterior (mean error "
        f"{a['Pathfinder']['mean_error']:.3f} sd, sd error {a['Pathfinder']['sd_error']:.3f}); in (b) its Gaussian in "
        "(w, log sigma) misses the skew as the Laplace approximation does "
        f"(sd error {b['Pathfinder']['sd_error']:.2f}); "
        "in (c) its curvature comes from gradient differences along the L-BFGS path, which see the kink of |w| that "
        f"the exact Hessian at the mode does not: its sd is off by at most {100 * c['Pathfinder']['sd_error']:.0f}%, "
        f"the Laplace approximation's by up to {laplace_c_sd.max():.1f}-fold. "
        f"ADVI, mean-field and fitted by stochastic gradient steps ({setting['advi_n']} iterations), has "
        f"W1 {a['ADVI']['wasserstein']:.2f}, {b['ADVI']['wasserstein']:.2f}, {c['ADVI']['wasserstein']:.2f} in "
        "(a), (b), (c); in (a) "
        "the posterior is exactly a standard normal in the sampler's whitened coordinates, so the mean-field family "
        f"contains it and its sd error {a['ADVI']['sd_error']:.2f} is optimisation and Monte Carlo noise. "
        f"Wall time in case (a), PyTensor compilation included: MAP {1000 * a['MAP']['runtime_s']:.0f} ms, exact draws "
        f"{a['exact']['runtime_s']:.1f} s, Laplace {a['Laplace']['runtime_s']:.1f} s, Pathfinder "
        f"{a['Pathfinder']['runtime_s']:.1f} s, ADVI {a['ADVI']['runtime_s']:.1f} s, "
        f"NUTS {a['NUTS']['runtime_s']:.1f} s."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
