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
# # Swap the likelihood, swap the loss
#
# **If the Gaussian is the MSE, what are the other losses?** Each noise model's negative log-likelihood is a loss:
# Laplace noise gives the MAE, Student-t noise a robust loss. Fitted by MAP to data with outliers, the Gaussian line
# is pulled towards them and the other two are not.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from models import LinearBasis, fit_map, likelihoods, regression

QUICK = os.environ.get("NOTEBOOK_QUICK") == "1"  # nothing is sampled here: quick and full runs are the same
rng = np.random.default_rng(sum(map(ord, "03_swap_the_likelihood")))

# %% [markdown]
# ## Data: a line, and three outliers
#
# $t_n = 1 + 2 x_n + \epsilon_n$, $\epsilon_n \sim \mathcal N(0, 0.15^2)$, 30 points on $[0, 1]$; three of them are
# then moved 3 to 4 units down.

# %%
x = np.linspace(0, 1, 30)
t = 1.0 + 2.0 * x + 0.15 * rng.normal(size=30)
outliers = [22, 25, 28]
t[outliers] -= [3.0, 4.0, 3.5]

# %% [markdown]
# ## Three likelihoods, three losses
#
# With $r_n = t_n - y(x_n \mid w)$ and $y(x \mid w) = w_0 + w_1 x$, the negative log-likelihoods are
#
# | noise | $-\log p(t \mid w, \cdot)$ | loss | classical estimator |
# |---|---|---|---|
# | Gaussian, sd $\sigma$ | $\frac{1}{2\sigma^2}\sum_n r_n^2 + N \log\sigma$ + const | MSE | least squares |
# | Laplace, scale $b$ | $\frac{1}{b}\sum_n \lvert r_n\rvert + N \log(2b)$ | MAE | median (least absolute deviations) regression |
# | Student-t, $\nu$, $\sigma$ | $\frac{\nu + 1}{2}\sum_n \log\big(1 + \frac{r_n^2}{\nu\sigma^2}\big) + N\log\sigma$ + const | a robust loss | the Student-t M-estimator |
#
# For any fixed scale, the $w$ that maximizes the likelihood minimizes the loss. Each likelihood is a class of
# `models.likelihoods`, given to `regression(x, t, likelihood=...)`; the scales ($\sigma$, $b$) are learned.

# %%
candidates = {
    "Gaussian (MSE)": likelihoods.Gaussian(),
    "Laplace (MAE)": likelihoods.Laplace(),
    "Student-t, nu = 2": likelihoods.StudentT(nu=2.0),
}
maps = {label: fit_map(regression(x, t, likelihood=likelihood)) for label, likelihood in candidates.items()}
for label, map_point in maps.items():
    print(f"{label:18s} w = {np.round(map_point['w'], 4)}", {k: round(float(v), 4) for k, v in map_point.items()
                                                             if np.ndim(v) == 0})  # the learned scale

# %% [markdown]
# ## Each MAP is the classical estimator of its loss
#
# A likelihood knows its estimator: `likelihood.sklearn_estimator()` gives scikit-learn's `LinearRegression` for the
# Gaussian and `QuantileRegressor(quantile=0.5, alpha=0)` for the Laplace, fitted on the features $(1, x)$.
# The Student-t has no scikit-learn twin; its classical computation is iteratively reweighted least squares, at the
# MAP's $\sigma$: the stationarity condition $\sum_n \frac{r_n}{\nu\sigma^2 + r_n^2}\phi(x_n) = 0$ is a weighted
# least-squares problem with weights $(\nu + 1)/(\nu + r_n^2/\sigma^2)$, solved again with the new residuals
# until nothing changes. The weights show how little the outliers count.

# %%
features = LinearBasis().features(x)  # columns 1, x


def student_t_irls(features, t, nu, sigma, max_iterations=10_000):
    """The Student-t M-estimator at a fixed sigma by IRLS, from least squares; returns (w, final weights)."""
    w = np.linalg.lstsq(features, t, rcond=None)[0]
    for _ in range(max_iterations):
        weights = (nu + 1) / (nu + ((t - features @ w) / sigma) ** 2)
        root = np.sqrt(weights)
        new = np.linalg.lstsq(features * root[:, None], t * root, rcond=None)[0]
        if np.max(np.abs(new - w)) <= 1e-15 * np.max(np.abs(new)):
            return new, weights
        w = new
    raise RuntimeError("IRLS did not converge")


student = candidates["Student-t, nu = 2"]
w_irls, irls_weights = student_t_irls(features, t, student.nu, float(maps["Student-t, nu = 2"]["sigma"]))
classical = {
    "Gaussian (MSE)": candidates["Gaussian (MSE)"].sklearn_estimator().fit(features, t).coef_,
    "Laplace (MAE)": candidates["Laplace (MAE)"].sklearn_estimator().fit(features, t).coef_,
    "Student-t, nu = 2": w_irls,
}
display(pd.DataFrame({
    "MAP w": [np.round(maps[label]["w"], 6) for label in candidates],
    "estimator": [candidates[label].classical for label in candidates],
    "max |MAP - estimator|": [np.max(np.abs(maps[label]["w"] - classical[label])) for label in candidates],
}, index=list(candidates)))
print("IRLS weights of the outliers:", np.round(irls_weights[outliers], 4),
      "median weight of the others:", round(float(np.median(np.delete(irls_weights, outliers))), 3))

# %% [markdown]
# ## Each fit is best in its own loss
#
# Every likelihood's `.loss(t, y)` is the loss it is the negative log of. Evaluated on each MAP line (the Student-t
# loss at the Student-t MAP's $\sigma$), the smallest value in each column is on the diagonal: the Gaussian fit has the
# smallest MSE, the Laplace fit the smallest MAE, and so on. The MSE of the robust fits is larger, because the
# outliers' squared residuals dominate it.

# %%
sigma_student = float(maps["Student-t, nu = 2"]["sigma"])
fitted = {label: features @ map_point["w"] for label, map_point in maps.items()}
losses = pd.DataFrame({
    "MSE": {label: candidates["Gaussian (MSE)"].loss(t, y) for label, y in fitted.items()},
    "MAE": {label: candidates["Laplace (MAE)"].loss(t, y) for label, y in fitted.items()},
    "Student-t loss": {label: student.loss(t, y, sigma=sigma_student) for label, y in fitted.items()},
})
display(losses.round(4))

# %% [markdown]
# ## The losses, and the lines they give
#
# Left: the negative log-density of one residual under each noise model, at its MAP scale and shifted to 0 at
# $r = 0$. The square grows fastest, so the MSE lets the largest residuals decide (and the Gaussian's learned $\sigma$,
# inflated by the outliers, flattens its parabola); the absolute value grows linearly and the Student-t loss only
# logarithmically, so far-away points barely pull. Right: the data and the three MAP lines,
# with least squares on the data without the outliers for reference.

# %%
residual = np.linspace(-4, 4, 401)
sigma_gauss = float(maps["Gaussian (MSE)"]["sigma"])
scale_laplace = float(maps["Laplace (MAE)"]["scale"])
negative_log_density = {
    "Gaussian (MSE)": residual**2 / (2 * sigma_gauss**2),
    "Laplace (MAE)": np.abs(residual) / scale_laplace,
    "Student-t, nu = 2": (student.nu + 1) / 2 * np.log1p(residual**2 / (student.nu * sigma_student**2)),
}
colors = {"Gaussian (MSE)": "tab:red", "Laplace (MAE)": "tab:green", "Student-t, nu = 2": "tab:blue"}
clean = np.delete(np.arange(len(x)), outliers)
w_clean = np.linalg.lstsq(features[clean], t[clean], rcond=None)[0]

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for label, values in negative_log_density.items():
    left.plot(residual, values, color=colors[label], lw=2, label=label)
left.set(xlabel="residual r = t - y(x | w)", ylabel="-log p(r) + const", ylim=(0, 10),
         title="Each noise model's negative log-density is a loss")
left.legend(fontsize=8)

mask = np.isin(np.arange(len(x)), outliers)
right.scatter(x[~mask], t[~mask], s=16, color="k", label="data")
right.scatter(x[mask], t[mask], s=40, facecolor="none", edgecolor="crimson", label="outliers")
for label, y in fitted.items():
    right.plot(x, y, color=colors[label], lw=2, label=f"{label}: slope {maps[label]['w'][1]:.2f}")
right.plot(x, features @ w_clean, color="gray", ls=":", label=f"least squares without outliers: slope {w_clean[1]:.2f}")
right.set(xlabel="x", ylabel="t", title="The MAP line of each likelihood")
right.legend(fontsize=8)
figure.tight_layout()
if "__file__" in globals():  # run as a script: nothing shows the figure, so it is saved next to this file
    figure.savefig(os.path.splitext(__file__)[0] + ".png", dpi=110)
    print(f"figure saved: {os.path.splitext(__file__)[0]}.png")
