r"""Simulation-based calibration: do the suite's posteriors have the right width? (Talts et al. 2018)

Model, with a *proper* prior so that it can be simulated from: a straight line on a fixed design of
N = 15 inputs, :math:`x_n` evenly spaced on [-1, 1],

.. math::

    w_j \sim \mathcal N(0, 1^2), \qquad \sigma \sim \mathrm{HalfNormal}(1), \qquad
    t_n \sim \mathcal N(w_0 + w_1 x_n, \sigma^2),

``gaussian_regression(x, t, basis=LinearBasis(), prior=Normal(1), sigma_prior=HalfNormal(1))``. It is not
conjugate (a Normal prior on ``w`` with a learned :math:`\sigma`), so no closed form is available for it.

Simulation-based calibration (SBC; Talts, Betancourt, Simpson, Vehtari and Gelman 2018, "Validating Bayesian
inference algorithms with simulation-based calibration", arXiv:1804.06788, Algorithm 1): draw
:math:`\tilde\theta = (\tilde w, \tilde\sigma)` from the prior (numpy, independently of the model's code), draw
:math:`\tilde t` from the likelihood at the fixed ``x``, fit, and take the rank of each true coordinate among
L = 99 posterior draws, :math:`r = \#\{\ell : \theta^{(\ell)} < \tilde\theta\} \in \{0, \dots, L\}`. If the draws are
from the exact posterior, :math:`\tilde\theta` and the draws are exchangeable given :math:`\tilde t`, so r is uniform
on :math:`\{0, \dots, L\}` (Talts et al., Theorem 1). The L + 1 = 100 rank values are pooled into B equal bins and
uniformity is tested by Pearson's chi-square with B - 1 degrees of freedom; a method passes when every
coordinate has p > 0.01. A posterior that is too narrow puts the truth in its tails (a U-shaped histogram), one
that is too wide puts it in the middle (a hump), a biased one tilts the histogram.

Methods, on the same simulated data sets:

- NUTS: ``sample_posterior(model, nuts_sampler="nutpie", target_accept=0.9)``, 4 chains x 1000 draws after 1000
  tuning steps, run through ``models.nuts_fitter``: the model compiled once and given each data set's targets (the
  very draws ``sample_posterior`` returns for the same seed, without its per-call compilation). Every one of these runs
  is held to the suite's convergence gates (``models.convergence``: R-hat <= 1.01, bulk and tail ESS >= 400, no
  divergences); the report shows the worst case over data sets. The 4000 draws are then thinned evenly to L, well
  below their ESS, as Talts et al. recommend (thinning by the effective sample size).
- ADVI: ``fit_advi`` (mean-field, started at the MAP, PyMC's default ``adagrad_window`` steps), run through
  ``models.advi_fitter``: one compiled ADVI objective whose parameters, optimizer state and random streams restart
  per data set (``fit_advi`` is one call of such a fitter: the same draws for the same seed), then L independent
  draws from the fitted Gaussian. Its sd per data set
  is set against NUTS's on the same data.
- MAP plug-in: the point mass at ``fit_map``, i.e. L copies of the MAP, so r = 0 or r = L; it must fail.
- exact draws: the conjugate variant with :math:`\sigma = 0.5` known (same prior on ``w``), L iid draws of
  ``exact_posterior`` (PRML eq. 3.49-3.51); this checks the SBC machinery itself and must pass.

The model is built once on the first simulated data set and only its observed data change
(``pm.set_data``): compiling costs seconds per fit, sampling tens of milliseconds. The builder whitens its internal
coordinates with the least-squares residual sd of the data it was built on; after ``pm.set_data`` the density is
still exactly the stated model's, but the coordinates are whitened for that first data set, not the current one.
NUTS adapts its mass matrix to that; ADVI starts its sds at the mean-field curvature at each data set's MAP, as
``fit_advi`` does, so the coordinates matter little to it. As a control, the full run also calls ``fit_advi`` on a
model built on each of a few data sets (its own whitening) and compares its sds with NUTS's.

Run alone: ``python -m analyses.calibration [--quick] [--seed N] [--out DIR]``.
"""

import sys
import time

import matplotlib.pyplot as plt
import numpy as np
import pymc as pm
from scipy import stats

from models import (
    LinearBasis,
    advi_fitter,
    convergence,
    exact_posterior,
    fit_advi,
    fit_map,
    gaussian_regression,
    nuts_fitter,
    priors,
    sample_posterior,
)

from . import runner
from .report import cached_arrays, check, table

NAME = "calibration"
TITLE = "Simulation-based calibration: NUTS and exact draws pass, the MAP plug-in fails"
CLAIM = ("Exact and NUTS posteriors are calibrated (uniform ranks of the truth over data simulated from the prior); "
         "the MAP plug-in, a point with no width, is not.")
N = 15
W_SCALE = 1.0
SIGMA_SCALE = 1.0
KNOWN_SIGMA = 0.5
RANK_DRAWS = 99  # L: ranks take L + 1 = 100 values, which split evenly into 5, 10, 20, 25 or 50 bins
LEVEL = 0.99
METHODS = ("exact", "NUTS", "ADVI", "MAP plug-in")
LABELS = ("w[1]", "w[x]", "sigma")
COLORS = {"exact": "tab:purple", "NUTS": "tab:blue", "ADVI": "tab:green", "MAP plug-in": "tab:red"}


def config(quick=False, full=False):
    """Replications, NUTS run length, ADVI iterations (``fit_advi``'s default n in the full run) and extra checks
    (the same with or without ``full``).

    ``advi_controls``: data sets on which ``fit_advi`` also runs on a freshly built model; ``timing_fits``: calls of
    ``sample_posterior`` timed for comparison (each recompiles the model).
    """
    # The learned-sigma posterior (N = 15) is a mild funnel in (w, log sigma): with 2 chains and target_accept 0.8,
    # 2 to 4 of 200 runs had one divergence each, and which ones depended on the CPU's BLAS kernels (SkylakeX or
    # Haswell: the last bits of the model's constants). With 4 chains and target_accept 0.9: none of 200 on either,
    # worst R-hat 1.0055, lowest ESS 1688.
    common = {"draws": 1000, "tune": 1000, "chains": 4, "target_accept": 0.9, "rank_draws": RANK_DRAWS}
    if quick:
        # the full run's 200 data sets for exact draws, NUTS and the MAP plug-in (20 bins of 10 expected ranks: a
        # test with power; 30 data sets allow 5 bins), one compilation and ~0.2 s per NUTS run; ADVI on 30
        return {**common, "replications": 200, "advi_replications": 30, "advi_n": 2000, "advi_controls": 0,
                "timing_fits": 0}
    # ADVI has no check here (its ranks and widths are shown, not tested), and its 10,000 iterations per data set
    # were half of this analysis' time: 50 data sets and 3 fresh-model controls show the same under-dispersion
    return {**common, "replications": 200, "advi_replications": 50, "advi_n": 10_000, "advi_controls": 3,
            "timing_fits": 2}


def fixed_inputs(n=N):
    """The fixed design: n inputs evenly spaced on [-1, 1]."""
    return np.linspace(-1.0, 1.0, n)


def learned_sigma_model(x, t):
    """w ~ N(0, W_SCALE^2) per coefficient, sigma ~ HalfNormal(SIGMA_SCALE), straight line: not conjugate."""
    return gaussian_regression(x, t, basis=LinearBasis(), prior=priors.Normal(W_SCALE),
                               sigma_prior=priors.HalfNormal(SIGMA_SCALE))


def known_sigma_model(x, t):
    """The conjugate variant: sigma = KNOWN_SIGMA known, same prior on w; ``exact_posterior`` applies."""
    return gaussian_regression(x, t, basis=LinearBasis(), sigma=KNOWN_SIGMA, prior=priors.Normal(W_SCALE))


def simulate(x, replications, rng, sigma=None):
    r"""Prior draws and data sets: (w of shape (R, p), sigma of shape (R,), t of shape (R, N)).

    :math:`w_j \sim \mathcal N(0, \mathrm{W\_SCALE}^2)`; :math:`\sigma = |\epsilon|`, :math:`\epsilon \sim
    \mathcal N(0, \mathrm{SIGMA\_SCALE}^2)` (a HalfNormal draw) unless ``sigma`` fixes it; :math:`t = \Phi(x) w +
    \sigma\,\eta`, :math:`\eta \sim \mathcal N(0, I)`. Written in numpy from the model's definition, not from its code.
    """
    features = LinearBasis().features(x)
    w = rng.normal(0.0, W_SCALE, size=(replications, features.shape[1]))
    if sigma is None:
        sigmas = np.abs(rng.normal(0.0, SIGMA_SCALE, size=replications))
    else:
        sigmas = np.full(replications, float(sigma))
    t = w @ features.T + sigmas[:, None] * rng.standard_normal((replications, len(x)))
    return w, sigmas, t


def rank_of(truth, draws):
    """The SBC rank: how many of the draws are below the true value (0 to len(draws))."""
    return int(np.sum(np.asarray(draws) < truth))


def thin(draws, size):
    """``size`` draws evenly spaced over all chains of a (chain, draw, ...) array, chains one after the other."""
    flat = np.asarray(draws).reshape(-1, *np.shape(draws)[2:])
    if size > len(flat):
        raise ValueError(f"cannot thin {len(flat)} draws to {size}")
    return flat[np.round(np.linspace(0, len(flat) - 1, size)).astype(int)]


def default_bins(replications, rank_draws=RANK_DRAWS):
    """The most bins that divide the L + 1 rank values evenly and leave >= 10 expected counts each (at least 5 bins)."""
    candidates = [b for b in range(2, rank_draws + 2) if (rank_draws + 1) % b == 0 and b >= 5]
    fitting = [b for b in candidates if replications / b >= 10]
    return max(fitting) if fitting else min(candidates)


def rank_counts(ranks, rank_draws, bins):
    """Histogram of ranks in {0, ..., L} over ``bins`` equal bins (L + 1 must be a multiple of ``bins``)."""
    ranks = np.asarray(ranks, dtype=int)
    if (rank_draws + 1) % bins:
        raise ValueError(f"{rank_draws + 1} rank values do not split into {bins} equal bins")
    if ranks.size and (ranks.min() < 0 or ranks.max() > rank_draws):
        raise ValueError(f"ranks must lie in 0..{rank_draws}")
    return np.bincount(ranks * bins // (rank_draws + 1), minlength=bins)


def chi_square_p(counts):
    r"""p-value of Pearson's :math:`X^2 = \sum_b (c_b - R/B)^2 / (R/B)` against :math:`\chi^2_{B-1}` (uniform ranks)."""
    counts = np.asarray(counts, dtype=float)
    expected = counts.sum() / len(counts)
    statistic = float(np.sum((counts - expected) ** 2) / expected)
    return float(stats.chi2.sf(statistic, len(counts) - 1))


def uniform_band(replications, bins, level=LEVEL):
    """Central ``level`` interval of one bin's count under uniform ranks: Binomial(R, 1/B) quantiles (pointwise)."""
    low, high = stats.binom.ppf([(1 - level) / 2, (1 + level) / 2], replications, 1 / bins)
    return float(low), float(high)


def _by_label(w, sigma):
    """Draws (or a point) under the coordinate labels: w[..., 0] is w[1] (intercept), w[..., 1] is w[x]."""
    return {"w[1]": w[..., 0], "w[x]": w[..., 1], "sigma": sigma}


def whitening_sigma(x, t):
    """The noise sd the builder whitens its internal coordinates with: the least-squares residual sd of (x, t)."""
    features = LinearBasis().features(x)
    residual = t - features @ np.linalg.lstsq(features, t, rcond=None)[0]
    return float(np.sqrt(residual @ residual / (len(t) - features.shape[1])))


def run_learned_sigma(x, setting, rng, methods=("NUTS", "ADVI", "MAP plug-in")):
    """SBC of the learned-sigma model for ``methods`` on the same simulated data sets (one model, data swapped).

    Returns ``ranks`` ({method: {label: int array}}), ``truth``, per-data-set NUTS diagnostics (bulk and tail ESS,
    R-hat, divergences and whether the run passes ``models.convergence``: arrays over data sets), posterior ``sd``
    per method and label (arrays over data sets), ``seeds``, the data ``t`` and timings. ADVI runs on the first
    ``advi_replications`` data sets.
    """
    replications, rank_draws = setting["replications"], setting["rank_draws"]
    w, sigma, t = simulate(x, replications, rng)
    seeds = rng.integers(2**31, size=(replications, 2))
    model = learned_sigma_model(x, t[0])
    truth = _by_label(w, sigma)
    ranks = {method: {label: [] for label in LABELS} for method in methods}
    sd = {method: {label: [] for label in LABELS} for method in methods if method != "MAP plug-in"}
    nuts = {"ess_bulk": [], "ess_tail": [], "r_hat": [], "divergences": [], "ok": []}
    runtime, setup = dict.fromkeys(methods, 0.0), dict.fromkeys(methods, 0.0)
    start = time.perf_counter()
    if "NUTS" in methods:
        fit_nuts = nuts_fitter(model, draws=setting["draws"], tune=setting["tune"], chains=setting["chains"],
                               target_accept=setting["target_accept"])
        setup["NUTS"] = time.perf_counter() - start
    if "ADVI" in methods:
        start = time.perf_counter()
        fit_advi_compiled = advi_fitter(model, n=setting["advi_n"], log_likelihood=False)
        setup["ADVI"] = time.perf_counter() - start
    began = time.perf_counter()
    for r in range(replications):
        if r and r % max(1, replications // 10) == 0:  # progress: about ten lines per run
            print(f"  {', '.join(methods)}: {r} of {replications} data sets ({time.perf_counter() - began:.0f} s)",
                  flush=True)
        pm.set_data({"t_obs": t[r]}, model=model)
        fitted = {}
        if "NUTS" in methods:
            start = time.perf_counter()
            idata = fit_nuts(int(seeds[r, 0]), t_obs=t[r])
            runtime["NUTS"] += time.perf_counter() - start
            posterior = idata.posterior
            all_draws = _by_label(posterior["w"].values, posterior["sigma"].values)
            fitted["NUTS"] = {label: thin(values, rank_draws) for label, values in all_draws.items()}
            for label, values in all_draws.items():
                sd["NUTS"][label].append(float(values.std()))
            gate = convergence(idata)  # every NUTS run is held to the gates, as everywhere in the suite
            for key, name in (("ess_bulk", "min_ess_bulk"), ("ess_tail", "min_ess_tail"), ("r_hat", "max_r_hat"),
                              ("divergences", "divergences"), ("ok", "ok")):
                nuts[key].append(gate[name])
        if "ADVI" in methods and r < setting["advi_replications"]:
            start = time.perf_counter()
            advi = fit_advi_compiled(int(seeds[r, 1]), draws=rank_draws).posterior
            values = {"w": advi["w"].values[0], "sigma": advi["sigma"].values[0]}
            runtime["ADVI"] += time.perf_counter() - start
            fitted["ADVI"] = _by_label(values["w"], values["sigma"])
            for label, draws in fitted["ADVI"].items():
                sd["ADVI"][label].append(float(draws.std()))
        if "MAP plug-in" in methods:
            start = time.perf_counter()
            map_point = fit_map(model)
            runtime["MAP plug-in"] += time.perf_counter() - start
            fitted["MAP plug-in"] = {label: np.full(rank_draws, value)  # L copies of the MAP: rank 0 or L
                                     for label, value in _by_label(map_point["w"], map_point["sigma"]).items()}
        for method, draws in fitted.items():
            for label in LABELS:
                ranks[method][label].append(rank_of(truth[label][r], draws[label]))
    return {"ranks": {m: {k: np.array(v, dtype=int) for k, v in ranks[m].items()} for m in methods},
            "truth": truth, "t": t, "seeds": seeds, "whitening_sigma": whitening_sigma(x, t[0]),
            "sd": {m: {k: np.array(v) for k, v in by_label.items()} for m, by_label in sd.items()},
            "nuts": {k: np.array(v) for k, v in nuts.items()},
            "runtime_s": runtime, "setup_s": setup, "fits": {m: len(ranks[m]["sigma"]) for m in methods}}


def advi_fresh_control(x, learned, setting, size):
    """``fit_advi`` on a model *built on* each of ``size`` data sets (its own whitening), against the shared model.

    The data sets are the ADVI ones nearest to evenly spaced quantiles of the true sigma. Returns their indices,
    true sigma and the sd of each label over ``fit_advi``'s draws (same seed as in the SBC run).
    """
    advi_sigma = learned["truth"]["sigma"][: setting["advi_replications"]]
    order = np.argsort(advi_sigma)
    chosen = np.unique(order[np.round(np.linspace(0, len(order) - 1, size)).astype(int)])
    sd = {label: [] for label in LABELS}
    for r in chosen:
        model = learned_sigma_model(x, learned["t"][r])
        idata = fit_advi(model, n=setting["advi_n"], draws=setting["rank_draws"],
                         random_seed=int(learned["seeds"][r, 1]))
        for label, values in _by_label(idata.posterior["w"].values, idata.posterior["sigma"].values).items():
            sd[label].append(float(values.std()))
    return {"index": chosen, "sigma": advi_sigma[chosen], "sd": {k: np.array(v) for k, v in sd.items()}}


def run_exact(x, setting, rng):
    """SBC of ``exact_posterior`` on the known-sigma model: {"ranks": {"exact": {label: ranks}}, "runtime_s", ...}."""
    replications, rank_draws = setting["replications"], setting["rank_draws"]
    w, sigma, t = simulate(x, replications, rng, sigma=KNOWN_SIGMA)
    seeds = rng.integers(2**31, size=replications)
    model = known_sigma_model(x, t[0])
    ranks = {"w[1]": [], "w[x]": []}
    start = time.perf_counter()
    for r in range(replications):
        pm.set_data({"t_obs": t[r]}, model=model)
        draws = exact_posterior(model, draws=rank_draws, random_seed=int(seeds[r]), log_likelihood=False)
        values = draws.posterior["w"].values[0]
        for j, label in enumerate(ranks):
            ranks[label].append(rank_of(w[r, j], values[:, j]))
    return {"ranks": {"exact": {k: np.array(v, dtype=int) for k, v in ranks.items()}},
            "runtime_s": {"exact": time.perf_counter() - start}, "setup_s": {"exact": 0.0},
            "fits": {"exact": replications}}


def time_sample_posterior(x, setting, rng, fits):
    """Seconds per call of ``sample_posterior(model, nuts_sampler="pymc")`` (PyMC's own NUTS) after ``pm.set_data``,
    the path not taken."""
    _, _, t = simulate(x, fits + 1, rng)
    model = learned_sigma_model(x, t[0])
    times = []
    for r in range(1, fits + 1):
        pm.set_data({"t_obs": t[r]}, model=model)
        start = time.perf_counter()
        sample_posterior(model, draws=setting["draws"], tune=setting["tune"], chains=setting["chains"],
                         random_seed=r, nuts_sampler="pymc", progressbar=False)
        times.append(time.perf_counter() - start)
    return times


def calibration_tests(ranks, rank_draws, bins=None):
    """Per method and coordinate: bins, counts, chi-square p; per method: replications and pass (all p > 0.01)."""
    results = {}
    for method, by_label in ranks.items():
        replications = len(next(iter(by_label.values())))
        b = default_bins(replications, rank_draws) if bins is None else bins
        counts = {label: rank_counts(values, rank_draws, b) for label, values in by_label.items()}
        p_values = {label: chi_square_p(c) for label, c in counts.items()}
        results[method] = {"replications": replications, "bins": b, "counts": counts, "p_values": p_values,
                           "band": uniform_band(replications, b),
                           "passed": all(p > 1 - LEVEL for p in p_values.values())}
    return results


def plot_rank_histograms(tests, rank_draws):
    """Rank histograms, one row per method and one column per coordinate, with the 99% band of uniform ranks."""
    methods = [m for m in METHODS if m in tests]
    figure, axes = plt.subplots(len(methods), len(LABELS), figsize=(3.6 * len(LABELS), 2.5 * len(methods)),
                                squeeze=False)
    for row, method in zip(axes, methods):
        result = tests[method]
        b, replications = result["bins"], result["replications"]
        edges = np.arange(b + 1) * (rank_draws + 1) / b
        low, high = result["band"]
        for axis, label in zip(row, LABELS):
            if label not in result["counts"]:
                axis.text(0.5, 0.5, f"sigma = {KNOWN_SIGMA} known:\nnot a parameter", ha="center", va="center",
                          transform=axis.transAxes, color="gray")
                axis.set_xticks([])
                axis.set_yticks([])
                continue
            axis.axhspan(low, high, color="gray", alpha=0.25, lw=0, label=f"{100 * LEVEL:.0f}% band, uniform ranks")
            axis.axhline(replications / b, color="gray", lw=1)
            axis.bar(edges[:-1], result["counts"][label], width=np.diff(edges), align="edge",
                     color=COLORS[method], alpha=0.8, edgecolor="white")
            p = result["p_values"][label]
            verdict = "ok" if p > 1 - LEVEL else "FAILS"
            axis.set_title(f"{method}: {label}   p = {p:.2g} ({verdict})", fontsize=9)
            axis.set_xlim(0, rank_draws + 1)
            axis.set_ylim(0, max(high, max(result["counts"][label])) * 1.08)
        row[0].set_ylabel(f"count of {replications}")
    for axis in axes[-1]:
        axis.set_xlabel(f"rank of the true value among L = {rank_draws} draws")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    figure.suptitle("Simulation-based calibration: ranks are uniform (inside the band) when the posterior is right",
                    fontsize=11)
    figure.tight_layout()
    return figure


def plot_advi_widths(learned, control):
    """ADVI's posterior sd over NUTS's on the same data, per data set, against its true sigma; one panel per label."""
    sigma = learned["truth"]["sigma"]
    figure, axes = plt.subplots(1, len(LABELS), figsize=(3.6 * len(LABELS), 3.6), sharey=True)
    for axis, label in zip(axes, LABELS):
        advi = learned["sd"]["ADVI"][label]
        ratio = advi / learned["sd"]["NUTS"][label][: len(advi)]
        axis.scatter(sigma[: len(advi)], ratio, s=14, alpha=0.7, color=COLORS["ADVI"],
                     label="fit_advi, shared model (the SBC run)")
        if len(control["index"]):
            axis.scatter(control["sigma"], control["sd"][label] / learned["sd"]["NUTS"][label][control["index"]],
                         s=60, marker="D", facecolor="none", edgecolor="k", label="fit_advi, model built on that data")
        axis.axhline(1.0, color="k", lw=1)
        axis.axvline(learned["whitening_sigma"], color="gray", ls=":", label="noise sd the shared model whitens for")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("true sigma of the simulated data set")
        axis.set_title(label, fontsize=10)
    axes[0].set_ylabel("ADVI sd / NUTS sd, same data")
    axes[0].legend(fontsize=7)
    figure.suptitle("ADVI's posterior sd over NUTS's on the same simulated data sets (1 = the same width)", fontsize=11)
    figure.tight_layout()
    return figure


def _quantiles(values):
    return [float(v) for v in np.quantile(values, [0.05, 0.5, 0.95])]


def nuts_gate(nuts):
    """One convergence report for the per-data-set NUTS runs: the worst case over data sets, ok when all pass."""
    failing = int(np.sum(~np.asarray(nuts["ok"], dtype=bool)))
    return {"run": f"NUTS on each of {len(nuts['ok'])} simulated data sets (worst case)", "ok": failing == 0,
            "max_r_hat": float(np.max(nuts["r_hat"])), "min_ess_bulk": float(np.min(nuts["ess_bulk"])),
            "min_ess_tail": float(np.min(nuts["ess_tail"])), "divergences": int(np.sum(nuts["divergences"])),
            "problems": [f"{failing} of {len(nuts['ok'])} data sets fail a gate"] if failing else []}


def compute(config, rng, cache=None, progressbar=False):
    """Every fit of the analysis (cached under ``cache``: the SBC runs, the ADVI control and the timing fits) and the
    rank tests of their results.

    ``progressbar`` is unused: the many short fits report one progress line per tenth of the data sets instead.
    """
    def fits():
        x = fixed_inputs()
        learned = run_learned_sigma(x, config, rng)
        exact = run_exact(x, config, rng)
        control = advi_fresh_control(x, learned, config, config["advi_controls"])
        timing = time_sample_posterior(x, config, rng, config["timing_fits"]) if config["timing_fits"] else []
        return {"learned": learned, "exact": exact, "control": control, "timing": np.array(timing, dtype=float)}

    # keyed on the generator's state, which the seed fixes
    computed = fits() if cache is None else cached_arrays(cache, NAME, {"rng": rng.bit_generator.state, **config},
                                                          fits, __file__)
    learned, exact, control = computed["learned"], computed["exact"], computed["control"]
    tests = calibration_tests({**exact["ranks"], **learned["ranks"]}, config["rank_draws"])
    runtime = {**exact["runtime_s"], **learned["runtime_s"]}
    fits_per_method = {**exact["fits"], **learned["fits"]}
    nuts = learned["nuts"]
    advi_ratio = {label: learned["sd"]["ADVI"][label] / learned["sd"]["NUTS"][label][: fits_per_method["ADVI"]]
                  for label in LABELS}
    control_ratio = {label: control["sd"][label] / learned["sd"]["NUTS"][label][control["index"]] for label in LABELS}
    summary = {
        "n": N,
        "settings": config,
        "replications": {m: tests[m]["replications"] for m in METHODS},
        "bins": {m: tests[m]["bins"] for m in METHODS},
        "p_values": {m: tests[m]["p_values"] for m in METHODS},
        "passed": {m: tests[m]["passed"] for m in METHODS},
        "whitening_sigma": learned["whitening_sigma"],
        "nuts_median_ess_bulk": float(np.median(nuts["ess_bulk"])),
        "nuts_data_sets_failing_gates": int(np.sum(~nuts["ok"].astype(bool))),
        "advi_sd_ratio_to_nuts_q05_q50_q95": {label: _quantiles(v) for label, v in advi_ratio.items()},
        "advi_fresh_model_control": {"true_sigma": control["sigma"],
                                     "sd_ratio_to_nuts": {k: v.tolist() for k, v in control_ratio.items()},
                                     "shared_model_sd_ratio_to_nuts": {
                                         k: v[control["index"]].tolist() for k, v in advi_ratio.items()}},
    }
    return {"summary": summary, "convergence": [nuts_gate(nuts)], "config": config, "tests": tests,
            "learned": learned, "control": control, "timing": computed["timing"],
            "advi_ratio": advi_ratio, "control_ratio": control_ratio, "fits": fits_per_method,
            "setup_s": {**exact["setup_s"], **learned["setup_s"]},
            "per_fit_s": {method: runtime[method] / fits_per_method[method] for method in runtime}}


def checks(result):
    """Exact draws and NUTS pass the chi-square test of uniform ranks (every p > 0.01); the MAP plug-in fails it."""
    s, threshold = result["summary"], 1 - LEVEL

    def smallest_p(method):
        return min(s["p_values"][method].values())

    return [
        check("exact draws are calibrated (the check of the check)",
              f"smallest chi-square p = {smallest_p('exact'):.2g} over {s['replications']['exact']} data sets "
              f"(pass: every p > {threshold:g})", smallest_p("exact") > threshold),
        check("NUTS is calibrated",
              f"smallest chi-square p = {smallest_p('NUTS'):.2g} over {s['replications']['NUTS']} data sets "
              f"(pass: every p > {threshold:g})", smallest_p("NUTS") > threshold),
        check("the MAP plug-in is not calibrated",
              f"smallest chi-square p = {smallest_p('MAP plug-in'):.2g} over {s['replications']['MAP plug-in']} "
              f"data sets (must be < {threshold:g})", smallest_p("MAP plug-in") < threshold),
    ]


def figures(result):
    """The rank histograms of every method, and ADVI's widths against NUTS's."""
    tests, learned = result["tests"], result["learned"]
    whitening = learned["whitening_sigma"]
    control = (" Black diamonds: fit_advi on a model built on that data set (its own whitening)."
               if len(result["control"]["index"]) else "")
    return {
        "rank_histograms": (
            plot_rank_histograms(tests, result["config"]["rank_draws"]),
            "Rank histograms of the true values among the posterior draws, one row per method (purple: exact draws, "
            "blue: NUTS, green: ADVI, red: the MAP plug-in) and one column per coordinate; grey band: the pointwise "
            f"{100 * LEVEL:.0f}% band of one bin's count under uniform ranks (binomial quantiles), grey line: the "
            "expected count."),
        "advi_widths": (
            plot_advi_widths(learned, result["control"]),
            "ADVI's posterior sd over NUTS's on the same simulated data, per data set (green dots: the shared model "
            f"of the SBC run), against the data set's true sigma; black line: equal widths, grey dotted line: the "
            f"noise sd the shared model whitens for ({whitening:.2f}).{control}"),
    }


def tables(result):
    """The chi-square p-values per method and coordinate, and the cost of the fits."""
    tests, fits, setup, per_fit, timing = (result[k] for k in ("tests", "fits", "setup_s", "per_fit_s", "timing"))
    p_rows = [[method, tests[method]["replications"], tests[method]["bins"],
               *(tests[method]["p_values"].get(label, "n/a") for label in LABELS),
               "pass" if tests[method]["passed"] else "FAIL"] for method in METHODS]
    timing_rows = [[method, fits[method], setup[method], per_fit[method]] for method in METHODS]
    timing_rows.append(["NUTS via sample_posterior (recompiled per call)", len(timing), "n/a",
                        float(np.mean(timing)) if len(timing) else "not measured in --quick"])
    return [
        table("Chi-square test of uniform ranks: p-value per method and coordinate (pass: all p > 0.01)",
              ["method", "replications", "bins", *(f"p {label}" for label in LABELS), "verdict"], p_rows),
        table("Cost: fits, one-time compilation and seconds per fit",
              ["method", "fits", "one-time setup (s)", "seconds per fit"], timing_rows),
    ]


def text(result):
    """The paragraph: the verdict of each method, ADVI's widths and the cost."""
    tests, learned, control, timing = (result[k] for k in ("tests", "learned", "control", "timing"))
    setting, summary, (gate,) = result["config"], result["summary"], result["convergence"]
    nuts, advi_ratio, control_ratio = learned["nuts"], result["advi_ratio"], result["control_ratio"]
    per_fit, setup = result["per_fit_s"], result["setup_s"]

    def p_text(method):
        return ", ".join(f"{label} {p:.2g}" for label, p in tests[method]["p_values"].items())

    def verdict(method):
        return "passes" if tests[method]["passed"] else "fails"

    ratio_text = ", ".join(f"{label} " + "/".join(f"{q:.2f}" for q in _quantiles(v)) for label, v in advi_ratio.items())
    both_ways = min(float(np.min(v)) for v in advi_ratio.values()) < 0.8 < 1.25 < max(
        float(np.max(v)) for v in advi_ratio.values())
    cancel_text = ("Errors of both signs, pooled over the prior, partly cancel in the rank histograms: SBC checks "
                   "calibration on average over the prior, not on each data set. "
                   if both_ways and tests["ADVI"]["passed"] else "")
    if len(control["index"]):
        fresh = np.concatenate(list(control_ratio.values()))
        shared = np.concatenate([v[control["index"]] for v in advi_ratio.values()])
        attribution = (": the large errors come from the coordinates ADVI starts in, not from the mean-field family"
                       if fresh.min() > 0.75 and fresh.max() < 1.33 and (shared.min() < 0.75 or shared.max() > 1.33)
                       else "")
        control_text = (f"Built on each data set instead (its own whitening; {len(control['index'])} data sets "
                        f"from sigma = {control['sigma'].min():.2g} to {control['sigma'].max():.2g}), fit_advi's sds "
                        f"are {fresh.min():.2f} to {fresh.max():.2f} times NUTS's, against {shared.min():.2f} to "
                        f"{shared.max():.2f} with the shared model on the same data sets{attribution}. ")
    else:
        control_text = ""
    speed = (f"; PyMC's own NUTS through sample_posterior, which compiles the model at every call, took "
             f"{np.mean(timing):.1f} s per fit" if len(timing) else "")
    return (
        f"Simulation-based calibration (Talts et al. 2018) of a straight line with w ~ N(0, 1), sigma ~ HalfNormal(1) "
        f"on N = {N} fixed inputs: draw (w, sigma) from the prior, simulate t, fit, and rank each true value among "
        f"L = {setting['rank_draws']} posterior draws; exact posteriors give uniform ranks, tested by chi-square "
        f"(pass: p > 0.01 for every coordinate). "
        f"The check of the check, exact draws of the conjugate variant (sigma = {KNOWN_SIGMA} known), "
        f"{verdict('exact')} ({tests['exact']['replications']} data sets, p: {p_text('exact')}). "
        f"NUTS {verdict('NUTS')} ({tests['NUTS']['replications']} data sets, p: {p_text('NUTS')}; "
        f"{setting['chains']} chains x {setting['draws']} draws, target_accept {setting['target_accept']}, "
        "thinned to L; every run held to the convergence gates: "
        f"{summary['nuts_data_sets_failing_gates']} of {len(nuts['ok'])} fail, worst R-hat {gate['max_r_hat']:.4f}, "
        f"lowest bulk/tail ESS {gate['min_ess_bulk']:.0f}/{gate['min_ess_tail']:.0f}, median bulk ESS "
        f"{np.median(nuts['ess_bulk']):.0f}, {gate['divergences']} divergences). "
        f"The MAP plug-in, a point mass (L copies of the MAP), {verdict('MAP plug-in')} (p: {p_text('MAP plug-in')}): "
        "every rank is 0 or L, a zero-width posterior never contains the truth; the true sigma lies above the MAP's in "
        f"{np.mean(learned['ranks']['MAP plug-in']['sigma'] == setting['rank_draws']):.0%} of the data sets, the "
        "downward bias of a maximized noise level (see learned_sigma). "
        f"Mean-field ADVI (fit_advi, {setting['advi_n']} iterations) {verdict('ADVI')} "
        f"({tests['ADVI']['replications']} data sets, p: {p_text('ADVI')}). Its sd over NUTS's on the same data "
        f"(5%, 50%, 95% over data sets): {ratio_text}. ADVI starts every sd at softplus(0) = 0.69 in the internal "
        f"coordinates, which the shared model whitens for noise sd {learned['whitening_sigma']:.2f} (posterior sds "
        "near 1 there): the further a data set's sigma is from it, the further ADVI's sds have to move. "
        f"{cancel_text}{control_text}"
        f"Speed: the model is compiled once and only its data change; a NUTS fit took "
        f"{1000 * per_fit['NUTS']:.0f} ms after a one-time nutpie compilation of {setup['NUTS']:.0f} s{speed}; "
        f"an ADVI fit {per_fit['ADVI']:.2f} s, exact draws {1000 * per_fit['exact']:.0f} ms."
    )


def main(argv=None):
    return runner.main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
