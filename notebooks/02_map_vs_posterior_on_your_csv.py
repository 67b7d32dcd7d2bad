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
# # MAP vs posterior on your own CSV
#
# **What does the MAP leave out, on my own data?** Fit a linear regression with Gaussian noise to columns of a CSV
# file, and put its MAP point (least squares) next to the full posterior.
#
# Set `CSV`, `X_COLUMNS` and `T_COLUMN` below to your file. Left as they are, the notebook uses scikit-learn's
# bundled diabetes data (no download), written as a CSV file to a temporary folder.

# %%
import os
import tempfile
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from IPython.display import display

from models import exact_posterior, fit_map, gaussian_regression, sample_posterior

CSV = "diabetes.csv"  # path to your file (relative paths are read from the working directory)
X_COLUMNS = ["bmi", "bp", "s1", "s2", "s5"]  # the inputs: one column or several
T_COLUMN = "target"  # the target

QUICK = os.environ.get("NOTEBOOK_QUICK") == "1"  # small settings (the tests set it)
draws, tune, chains = (300, 300, 2) if QUICK else (1000, 1000, 4)

# %%
path = Path(CSV)
if not path.exists() and CSV == "diabetes.csv":  # the demonstration data, not left in the working directory
    from sklearn.datasets import load_diabetes

    path = Path(tempfile.gettempdir()) / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
frame = pd.read_csv(path)
print(f"{path}: {len(frame)} rows")
display(frame[X_COLUMNS + [T_COLUMN]].describe().round(3))

# %% [markdown]
# ## The model
#
# $$t_n \sim \mathcal N\big(w_0 + \textstyle\sum_j w_j x_{nj},\; \sigma^2\big), \qquad
# p(w) \propto 1, \quad p(\sigma) \propto 1 .$$
#
# With these flat priors the MAP is the maximum-likelihood point: least squares for $w$ and
# $\hat\sigma^2 = \mathrm{SSE}/N$. The posterior is known in closed form (the model is conjugate):
# $w \mid \sigma, t \sim \mathcal N\big(\hat w, \sigma^2 (\Phi^\top\Phi)^{-1}\big)$ and
# $\sigma^2 \mid t \sim \text{Inv-Gamma}\big(\tfrac{N - p - 1}{2}, \tfrac{\mathrm{SSE}}{2}\big)$,
# so `exact_posterior` draws from it directly; `sample_posterior` (NUTS) works for any model and should agree.
# The NUTS here is PyMC's own (`nuts_sampler="pymc"`), as in `python -m analyses --data`: for a small model sampled
# once its compilation (PyTensor's C backend, one module per operation, cached across runs) costs less than nutpie's,
# the default's, numba compilation of the model (10-20 s in a new kernel).
# A DataFrame gives the features their column names (dims `feature`: `1` for the intercept, then the columns).

# %%
model = gaussian_regression(frame[X_COLUMNS], frame[T_COLUMN])
map_point = fit_map(model)
idata = sample_posterior(model, draws=draws, tune=tune, chains=chains, random_seed=1, nuts_sampler="pymc",
                         progressbar=not QUICK)
exact = exact_posterior(model, draws=draws * chains, random_seed=2)

map_values = np.append(map_point["w"], map_point["sigma"])
exact_summary = az.summary(exact, var_names=["w", "sigma"], kind="stats", ci_prob=0.9, ci_kind="eti")
# ArviZ 1 shows an 89% equal-tailed interval unless told otherwise: the 90% one here, as in the figure below
summary = az.summary(idata, var_names=["w", "sigma"], ci_prob=0.9, ci_kind="eti").assign(
    MAP=map_values, exact_mean=exact_summary["mean"], exact_sd=exact_summary["sd"])
display(summary)

# %% [markdown]
# ## What the MAP leaves out
#
# The MAP is one point. The posterior adds, at least:
#
# 1. **How sure each coefficient is**: its sd and interval, and so whether even its sign is settled
#    ($P(w_j > 0 \mid t)$ below).
# 2. **How the coefficients depend on each other.** Correlated inputs give strongly correlated coefficients:
#    each is uncertain alone, while a combination of them is well determined. The MAP reports none of it.
# 3. **The noise level's uncertainty.** $\hat\sigma^2 = \mathrm{SSE}/N$ is the mode; the posterior of $\sigma$ sits a
#    little higher (its mean of $\sigma^2$ is $\mathrm{SSE}/(N - p - 3)$), which matters when $N$ is not much
#    larger than $p$.

# %%
samples = idata.posterior["w"].stack(sample=("chain", "draw")).transpose("sample", "feature")
features = list(model.coords["feature"])
display(pd.DataFrame({"MAP": map_point["w"], "P(w > 0)": (samples > 0).mean("sample").values}, index=features))

correlation = pd.DataFrame(np.corrcoef(samples.values.T), index=features, columns=features)
display(correlation.round(2))
print(f"sigma: MAP {map_point['sigma']:.4g}, posterior mean {float(idata.posterior['sigma'].mean()):.4g}")

# %% [markdown]
# The most strongly correlated pair of coefficients (the intercept left out), draw by draw, with the MAP point:

# %%
inputs = correlation.iloc[1:, 1:].to_numpy(copy=True)
np.fill_diagonal(inputs, 0)
i, j = np.unravel_index(np.argmax(np.abs(inputs)), inputs.shape)
first, second = features[1 + i], features[1 + j]
figure, axis = plt.subplots(figsize=(4.8, 4.2))
axis.scatter(samples.sel(feature=first), samples.sel(feature=second), s=3, alpha=0.3, label="posterior draws")
axis.scatter(map_point["w"][1 + i], map_point["w"][1 + j], color="tab:red", s=60, marker="x", label="MAP")
axis.set(xlabel=f"w[{first}]", ylabel=f"w[{second}]",
         title=f"correlation {correlation.loc[first, second]:.2f}")
axis.legend(fontsize=8)
figure.tight_layout()

# %% [markdown]
# ## From the command line
#
# The same comparison runs on your file without a notebook, into the suite's report (`results/index.html`):
#
#     python -m analyses --data FILE.csv --x COL[,COL] --t COL
#
# ## The posterior of every coefficient, with the MAP as reference
#
# Each panel is one marginal posterior (NUTS: density, mean and 90% equal-tailed interval, by arviz-plots'
# `plot_dist`); the dashed red line is the MAP, added with `az.add_lines`.

# %%
collection = az.plot_dist(idata, var_names=["w", "sigma"], ci_prob=0.9, ci_kind="eti", col_wrap=3,
                          figure_kwargs={"figsize": (10, 7), "layout": "constrained"})
map_lines = xr.Dataset({"w": xr.DataArray(map_point["w"], dims="feature", coords={"feature": features}),
                        "sigma": float(map_point["sigma"])})
az.add_lines(collection, map_lines, visuals={"ref_line": {"color": "tab:red"}})
figure = collection.viz["figure"].item()
figure.suptitle("Posterior (NUTS) of each coefficient; dashed red line: the MAP")
if "__file__" in globals():  # run as a script: nothing shows the figure, so it is saved next to this file
    figure.savefig(os.path.splitext(__file__)[0] + ".png", dpi=110)
    print(f"figure saved: {os.path.splitext(__file__)[0]}.png")
