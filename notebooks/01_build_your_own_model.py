# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Build your own model
#
# **How do I extend one of the suite's models?** A builder returns an ordinary `pm.Model`, so you can add
# variables to it, intervene on it with `pm.do` and condition it with `pm.observe`, and the suite's
# inference functions keep working on the result.

# %%
import os

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from IPython.display import display

from models import PolynomialBasis, fit_map, gaussian_regression, least_squares, sample_posterior

QUICK = os.environ.get("NOTEBOOK_QUICK") == "1"  # small settings (the tests set it)
draws, tune, chains = (300, 300, 2) if QUICK else (1000, 1000, 4)
rng = np.random.default_rng(sum(map(ord, "01_build_your_own_model")))

# %% [markdown]
# ## The model as the builder makes it
#
# PRML section 1.1: $x_n \sim \mathcal U(0, 1)$, $t_n = \sin(2\pi x_n) + \epsilon_n$ with
# $\epsilon_n \sim \mathcal N(0, 0.3^2)$, $N = 10$. The model is a cubic polynomial with Gaussian noise,
#
# $$t_n \sim \mathcal N\big(y(x_n \mid w), \sigma^2\big), \qquad
# y(x \mid w) = \Phi(x)\,w = w_0 + w_1 x + w_2 x^2 + w_3 x^3,$$
#
# with flat priors on $w$ and on $\sigma$ (the builder's default, so that the MAP is the maximum-likelihood point).
# Its variables: `w` (dims `feature`: `1, x, x^2, x^3`, the raw monomial coefficients), `sigma`, the observed
# `t` (dims `obs_id`), and the data `x` and `t_obs` in `pm.Data`. The sampler moves in `w_internal`, better
# conditioned coordinates, and `w` is a `Deterministic` of them.

# %%
x = rng.uniform(0, 1, 10)
t = np.sin(2 * np.pi * x) + 0.3 * rng.normal(size=10)

basis = PolynomialBasis(3)
model = gaussian_regression(x, t, basis=basis)
print(model.str_repr())  # model.table() would fail here: PyMC 6.3 samples each variable to learn its shape, and a
# flat prior has no draws (pymc-devs/pymc#8024); see the table of the generative model in (c)
print({name: model.named_vars_to_dims.get(name) for name in ("w", "sigma", "t", "x", "t_obs")})

# %% [markdown]
# ## MAP = least squares
#
# The negative log-likelihood is
#
# $$-\log p(t \mid x, w, \sigma) = \frac{N}{2\sigma^2}\,\mathrm{MSE}(w) + \frac N2 \log(2\pi\sigma^2),$$
#
# so whatever $\sigma$ is, the $w$ that maximizes it minimizes the MSE: least squares. Setting the derivative in
# $\sigma$ to zero gives $\hat\sigma^2 = \mathrm{SSE}/N$.

# %%
map_point = fit_map(model)
w_ls = least_squares(x, t, basis=basis)
sse = np.sum((t - basis.features(x) @ w_ls) ** 2)
print("MAP w          ", map_point["w"])
print("least squares w", w_ls)
print(f"MAP sigma^2 = {map_point['sigma'] ** 2:.6f}, SSE/N = {sse / len(t):.6f}")

# %% [markdown]
# ## (a) Add variables inside `with model:`
#
# The builder's variables are there by name (`model["w"]`, `model["sigma"]`), so anything PyMC accepts can be added.
# Here, to a fresh copy of the model:
#
# - two `Deterministic`s recorded at every posterior draw: the curve $y(x \mid w)$ on a grid, and its slope
#   $\mathrm dy/\mathrm dx = w_1 + 2 w_2 x + 3 w_3 x^2$;
# - a prior the builders do not offer, a half-Student-t with $\nu = 3$ on $\sigma$. The builder's $\sigma$ already
#   has a (flat) prior, so the new one enters as a `pm.Potential` adding its log density: flat $\times$
#   half-Student-t $=$ half-Student-t.
#
# `fit_map` notices the `Potential` (the model is no longer the builder's) and optimizes the model's own log
# density instead, returning every variable. The prior is on $\sigma$ only, so the MAP of $w$ is still least squares;
# $\hat\sigma$ moves a little.

# %%
x_grid = np.linspace(0, 1, 101)
extended = gaussian_regression(x, t, basis=basis)
with extended:
    extended.add_coord("grid", x_grid)
    w, sigma = extended["w"], extended["sigma"]
    pm.Deterministic("y_grid", pt.dot(basis.features(x_grid), w), dims="grid")
    slope_features = np.column_stack([np.ones_like(x_grid), 2 * x_grid, 3 * x_grid**2])  # d/dx of x, x^2, x^3
    pm.Deterministic("dy_dx", pt.dot(slope_features, w[1:]), dims="grid")
    pm.Potential("sigma_prior", pm.logp(pm.HalfStudentT.dist(nu=3, sigma=1.0), sigma))

extended_map = fit_map(extended)
print("variables of the MAP:", sorted(extended_map))
print("max |MAP w - least squares| =", np.max(np.abs(extended_map["w"] - w_ls)))
print(f"MAP sigma: flat prior {map_point['sigma']:.4f}, half-Student-t prior {extended_map['sigma']:.4f}")

# %% [markdown]
# The posterior of the extended model, by NUTS, with the MAP next to it. The new deterministics come with it.
# PyMC's own NUTS here (`nuts_sampler="pymc"`): for a small model sampled once its C compilation (one module per
# operation, cached across runs) costs less than nutpie's, the default's, numba compilation of the model (10-30 s).

# %%
idata = sample_posterior(extended, draws=draws, tune=tune, chains=chains, random_seed=1, progressbar=not QUICK,
                         nuts_sampler="pymc")
# ArviZ 1's summary shows an 89% equal-tailed interval unless told otherwise: ask for the one you mean
display(az.summary(idata, var_names=["w", "sigma"], ci_prob=0.9, ci_kind="eti")
        .assign(MAP=np.append(extended_map["w"], extended_map["sigma"])))
print("dy_dx draws:", dict(idata.posterior["dy_dx"].sizes))

# %% [markdown]
# ## (b) Fix $\sigma$ with `pm.do`
#
# `pm.do(model, {"sigma": 0.3})` is an intervention: it returns a new model in which `sigma` is no longer a random
# variable but the value 0.3 (the original model is unchanged). The log density in $w$ becomes
# $-\mathrm{SSE}(w)/(2 \cdot 0.3^2)$ + const, and its maximum is again least squares, for any fixed $\sigma$.

# %%
fixed = pm.do(model, {"sigma": 0.3})
print(fixed.str_repr())
for sigma_value in (0.05, 0.3, 3.0):
    w_fixed = fit_map(pm.do(model, {"sigma": sigma_value}))["w"]
    print(f"sigma = {sigma_value}: max |MAP w - least squares| = {np.max(np.abs(w_fixed - w_ls)):.1e}")

# %% [markdown]
# ## (c) Simulate, then condition with `pm.observe`
#
# The builders always observe `t`, and their flat prior on $w$ has no draws to simulate from. To check that the
# posterior recovers a known truth, write the generative story itself, with proper priors:
#
# $$w_j \sim \mathcal N(0, 20^2), \qquad \sigma \sim \text{HalfNormal}(0.5), \qquad
# t_n \sim \mathcal N\big(\Phi(x_n)\,w, \sigma^2\big), \quad n = 1, \dots, 30.$$
#
# Here `t` is not observed: it is a random variable like the others. `pm.do` fixes the truth ($w$ = the cubic closest
# to $\sin 2\pi x$, $\sigma = 0.3$), `pm.sample_prior_predictive` draws one data set from it, and
# `pm.observe(generative, {"t": t_sim})` turns `t` into observed data.

# %%
x_sim = np.sort(rng.uniform(0, 1, 30))
coords = {"feature": basis.feature_names(x_sim), "obs_id": np.arange(len(x_sim))}
with pm.Model(coords=coords) as generative:
    w = pm.Normal("w", mu=0, sigma=20, dims="feature")
    sigma = pm.HalfNormal("sigma", sigma=0.5)
    pm.Normal("t", mu=pt.dot(basis.features(x_sim), w), sigma=sigma, dims="obs_id")

w_true = least_squares(x_grid, np.sin(2 * np.pi * x_grid), basis=basis)
sigma_true = 0.3
truth = pm.do(generative, {"w": w_true, "sigma": sigma_true})
t_sim = pm.sample_prior_predictive(draws=1, model=truth, random_seed=2).prior["t"].values[0, 0]

conditioned = pm.observe(generative, {"t": t_sim})
display(conditioned.table())  # PyMC 6: each variable, its expression and dims, and the parameter count

# %% [markdown]
# Raw monomial coefficients on $[0, 1]$ are strongly correlated in the posterior (the builders avoid this with
# their internal coordinates). `sample_posterior` runs nutpie's NUTS (as `pm.sample` does in PyMC 6 when nutpie is
# installed); here it gets nutpie's low-rank mass matrix (`adaptation="low_rank"`), which learns the few directions
# along which the posterior is stretched; with the default diagonal one it mixes slowly. In the plots the dashed red
# line is the truth, which should sit well inside each posterior.

# %%
idata_sim = sample_posterior(conditioned, draws=draws, tune=tune, chains=chains, random_seed=3,
                             progressbar=not QUICK, adaptation="low_rank")
print("NUTS by:", idata_sim.posterior.attrs["nuts_sampler"], "| divergences:",
      int(idata_sim.sample_stats["diverging"].sum()))
display(az.summary(idata_sim, var_names=["w", "sigma"], ci_prob=0.9, ci_kind="eti")
        .assign(true=np.append(w_true, sigma_true)))
# arviz-plots: one panel per coordinate (density, mean, 90% interval), then the truth as reference lines
collection = az.plot_dist(idata_sim, var_names=["w", "sigma"], ci_prob=0.9, ci_kind="eti", col_wrap=3,
                          figure_kwargs={"figsize": (10, 5), "layout": "constrained"})
truth_lines = xr.Dataset({"w": xr.DataArray(w_true, dims="feature", coords={"feature": coords["feature"]}),
                          "sigma": sigma_true})
az.add_lines(collection, truth_lines, visuals={"ref_line": {"color": "tab:red"}})

# %% [markdown]
# ## The extended model: data, MAP curve, posterior bands
#
# Left: the MAP curve (least squares) and the 90% band of $y(x \mid w)$ over the posterior, from the `y_grid`
# deterministic added in (a); far from the data the band widens. Right: the slope `dy_dx`, which the MAP gives as one
# curve and the posterior as a band.

# %%
def band(samples, level=0.9):
    values = samples.stack(sample=("chain", "draw")).transpose("sample", ...).values
    return np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)


figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
left.fill_between(x_grid, *band(idata.posterior["y_grid"]), color="tab:blue", alpha=0.3,
                  label="posterior: 90% band of y(x | w)")
left.plot(x_grid, basis.features(x_grid) @ extended_map["w"], color="tab:red", lw=2, label="MAP = least squares")
left.plot(x_grid, np.sin(2 * np.pi * x_grid), color="gray", ls=":", label="sin(2 pi x)")
left.scatter(x, t, color="k", zorder=3, label="data")
left.set(xlabel="x", ylabel="t", ylim=(-2, 2), title="Data, MAP curve and posterior band")
left.legend(fontsize=8)

right.fill_between(x_grid, *band(idata.posterior["dy_dx"]), color="tab:blue", alpha=0.3,
                   label="posterior: 90% band of dy/dx")
right.plot(x_grid, slope_features @ extended_map["w"][1:], color="tab:red", lw=2, label="MAP slope")
right.plot(x_grid, 2 * np.pi * np.cos(2 * np.pi * x_grid), color="gray", ls=":", label="2 pi cos(2 pi x)")
right.set(xlabel="x", ylabel="dy/dx", ylim=(-30, 30), title="The added Deterministic: the slope")
right.legend(fontsize=8)
figure.tight_layout()
if "__file__" in globals():  # run as a script: nothing shows the figure, so it is saved next to this file
    figure.savefig(os.path.splitext(__file__)[0] + ".png", dpi=110)
    print(f"figure saved: {os.path.splitext(__file__)[0]}.png")
