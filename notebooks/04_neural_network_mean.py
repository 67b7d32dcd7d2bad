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
# # A neural network's output is a mean
#
# **A neural network's output is the mean of a Gaussian: what uncertainty does it have?** Trained with the MSE, a
# network is the MAP of $t \sim \mathcal N(y(x \mid w), \sigma^2)$: one curve, with the same noise band everywhere.
# Its posterior over the weights adds the uncertainty of the curve itself, which grows away from the data.

# %%
import os

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from models import fit_map, priors, sample_posterior
from models.mlp import mlp_forward, mlp_initial_point, mlp_predictive, mlp_regression

QUICK = os.environ.get("NOTEBOOK_QUICK") == "1"  # small settings (the tests set it)
draws, tune, chains = (150, 150, 2) if QUICK else (1000, 1000, 4)
rng = np.random.default_rng(sum(map(ord, "04_neural_network_mean")))

# %% [markdown]
# ## Data with a gap
#
# $t_n = \sin(2.5\,x_n) + \epsilon_n$, $\epsilon_n \sim \mathcal N(0, 0.1^2)$: 20 points on $[-1, -0.2]$ and 10 on
# $[0.4, 0.8]$, nothing in between and nothing beyond.

# %%
x = np.concatenate([rng.uniform(-1.0, -0.2, size=20), rng.uniform(0.4, 0.8, size=10)])
t = np.sin(2.5 * x) + 0.1 * rng.normal(size=len(x))
sigma = 0.1  # the noise sd, known here

# %% [markdown]
# ## The model: one hidden layer of 8 tanh units
#
# $$z = \frac{x - m_x}{s_x}, \qquad h = \tanh(z\,W_0 + b_0), \qquad y(x \mid w) = h\,W_1 + b_1, \qquad
# t_n \sim \mathcal N\big(y(x_n \mid w), \sigma^2\big),$$
#
# with every weight and bias $\sim \mathcal N(0, 1)$. The negative log posterior is
# $\frac{N}{2\sigma^2}\big[\mathrm{MSE}(w) + \frac{\sigma^2}{N}\lVert w\rVert^2\big]$ + const, so the MAP is the network
# trained on the MSE with weight decay $\lambda = \sigma^2/N$. The objective is not convex: `fit_map` finds the local
# optimum reached from its start, a seeded Glorot initialization (`mlp_initial_point`).

# %%
model = mlp_regression(x, t, hidden=(8,), activation="tanh", sigma=sigma, prior=priors.Normal(1.0))
print(model.str_repr())
map_point = fit_map(model, start=mlp_initial_point(model, rng))
print(f"MSE of the MAP network: {np.mean((map_point['mu'] - t) ** 2):.5f} (noise variance {sigma**2:g})")

# %% [markdown]
# ## The posterior, by NUTS
#
# A network's posterior has many equivalent modes (hidden units can be permuted, and a tanh unit's weights flipped in
# sign, without changing the function). Chains that settle in different modes then give a large R-hat for the weights
# without anything being wrong, since the functions they give are the same: R-hat of the network's *output* is what
# to look at. `sample_posterior` runs nutpie's NUTS (as `pm.sample` does in PyMC 6), much faster than PyMC's own
# (`nuts_sampler="pymc"`) on this model; a higher
# `target_accept` avoids most divergences in the narrow regions of the weight space. The quick settings are too small
# for converged diagnostics.

# %%
# nutpie's low-rank mass matrix (adaptation="low_rank") follows the correlated directions of the weights: on
# this network (4 chains x 1000 draws) it took 35 s against 47 s for the diagonal one, with the same R-hat and
# ESS of y(x | w)
idata = sample_posterior(model, draws=draws, tune=tune, chains=chains, random_seed=1, target_accept=0.95,
                         adaptation="low_rank", progressbar=not QUICK)
print("divergences:", int(idata.sample_stats["diverging"].sum()))

x_grid = np.linspace(-1.6, 1.6, 161)
predictions = mlp_predictive(model, idata, x_grid, random_seed=2).predictions
output_r_hat = az.rhat(predictions["mu"])
weight_r_hat = az.rhat(idata.posterior.to_dataset()[["W0", "W1"]])
print(f"largest R-hat: weights {max(float(weight_r_hat[name].max()) for name in ('W0', 'W1')):.2f}, "
      f"network output y(x | w) {float(output_r_hat.max()):.2f}")

# %% [markdown]
# ## How wide is the band, where?
#
# `mlp_predictive` evaluates the network at every posterior draw: `mu` = $y(x \mid w)$ (the epistemic part,
# the weights' uncertainty) and `t` = `mu` plus $\mathcal N(0, \sigma^2)$ noise (the aleatoric part added). The sd of
# `mu`, averaged over three regions of $x$:

# %%
mu_sd = predictions["mu"].std(("chain", "draw")).values
distance = np.min(np.abs(x_grid[:, None] - x[None, :]), axis=1)
regions = {"at the data (within 0.05)": distance < 0.05, "in the gap": (x_grid > -0.15) & (x_grid < 0.35),
           "beyond the data (|x| > 1.3)": np.abs(x_grid) > 1.3}
display({region: round(float(mu_sd[mask].mean()), 3) for region, mask in regions.items()})

# %% [markdown]
# ## One curve, or a band
#
# The MAP network (the MSE-trained one) with its plug-in band $\pm 1.645\,\sigma$, the same width everywhere,
# against the posterior's 90% bands: of the network's output, and of a new $t$.

# %%
def band(values, level=0.9):
    return np.quantile(values.stack(sample=("chain", "draw")).transpose("sample", ...).values,
                       [(1 - level) / 2, (1 + level) / 2], axis=0)


spec = model.design
map_curve = mlp_forward(map_point, x_grid, activation=spec.activation, standardization=spec.standardization)
figure, axis = plt.subplots(figsize=(8, 4.5))
axis.fill_between(x_grid, *band(predictions["t"]), color="tab:blue", alpha=0.15, label="posterior: 90% band of a new t")
axis.fill_between(x_grid, *band(predictions["mu"]), color="tab:blue", alpha=0.35,
                  label="posterior: 90% band of y(x | w)")
axis.plot(x_grid, map_curve, color="tab:red", lw=2, label="MAP network (MSE + weight decay)")
axis.plot(x_grid, map_curve - 1.645 * sigma, color="tab:red", lw=1, ls="--", label="MAP plug-in: 90% band of t")
axis.plot(x_grid, map_curve + 1.645 * sigma, color="tab:red", lw=1, ls="--")
axis.plot(x_grid, np.sin(2.5 * x_grid), color="gray", ls=":", label="sin(2.5 x)")
axis.scatter(x, t, s=14, color="k", zorder=3, label="data")
axis.set(xlabel="x", ylabel="t", ylim=(-2.5, 2.5),
         title="The MAP network is one curve; the posterior widens away from the data")
axis.legend(fontsize=8, loc="lower right")
figure.tight_layout()
if "__file__" in globals():  # run as a script: nothing shows the figure, so it is saved next to this file
    figure.savefig(os.path.splitext(__file__)[0] + ".png", dpi=110)
    print(f"figure saved: {os.path.splitext(__file__)[0]}.png")
