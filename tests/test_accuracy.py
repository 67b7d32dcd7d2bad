"""MAP with flat priors == exact least squares, to the digits the data allow.

The reference is least squares in mpmath at 50 digits (normal equations: at 50 digits their squared
condition number, <= 1e30 here, still leaves > 15 correct digits), from the same float64 x and t,
with the monomials x^k formed exactly. For comparison the test also records what
numpy.linalg.lstsq on the raw design gets. The same digits hold through the sufficient statistics
(models.statistics: a QR of the conditioned design, never its normal equations).
"""

import mpmath
import numpy as np
import pytest

from models import LinearBasis, PolynomialBasis, fit_map, gaussian_regression, least_squares

mpmath.mp.dps = 50


def reference_least_squares(rows, t):
    """Exact-to-50-digits least squares for the design given as rows of mpmath numbers; returns (w, sse)."""
    design = mpmath.matrix(rows)
    target = mpmath.matrix([mpmath.mpf(float(v)) for v in t])
    w = mpmath.lu_solve(design.T * design, design.T * target)
    residual = target - design * w
    sse = sum(r**2 for r in residual)
    return np.array([float(v) for v in w]), sse


def polynomial_rows(x, degree):
    return [[mpmath.mpf(float(v)) ** k for k in range(degree + 1)] for v in x]


def significant_digits(w, reference):
    return float(-np.log10(np.max(np.abs(w - reference) / np.abs(reference))))


def degree_10_far_from_zero(rng):
    x = np.sort(rng.uniform(-9, -3, 50))
    return x, np.sin(x) + 0.1 * rng.normal(size=50), 10


def degree_5_large_targets(rng):
    x = np.arange(21.0)  # t up to ~2e6, noise sd 1e4
    return x, 0.5 * x**5 + 3 * x**4 - 100 * x + 1e4 * rng.normal(size=21), 5


@pytest.mark.parametrize("statistics", [False, True], ids=["rows", "sufficient statistics"])
@pytest.mark.parametrize("problem", [degree_10_far_from_zero, degree_5_large_targets])
def test_polynomial_map_equals_exact_least_squares(problem, statistics, rng):
    x, t, degree = problem(rng)
    reference, sse = reference_least_squares(polynomial_rows(x, degree), t)
    raw = np.vander(x, degree + 1, increasing=True)
    naive = np.linalg.lstsq(raw, t, rcond=None)[0]

    map_point = fit_map(gaussian_regression(x, t, basis=PolynomialBasis(degree), sufficient_statistics=statistics))

    assert significant_digits(map_point["w"], reference) >= 9
    assert significant_digits(least_squares(x, t, basis=PolynomialBasis(degree)), reference) >= 9
    sigma_reference = float(mpmath.sqrt(sse / len(t)))
    assert abs(map_point["sigma"] / sigma_reference - 1) < 1e-6
    if degree == 10:  # the obvious tool gets no digit right on this design (cond ~1e15)
        assert significant_digits(naive, reference) < 3


@pytest.mark.parametrize("statistics", [False, True], ids=["rows", "sufficient statistics"])
def test_nearly_collinear_predictors_of_different_scales(statistics, rng):
    n = 60
    x1 = 1e5 + 1e3 * rng.normal(size=n)
    x2 = x1 / 1e4 + 1e-5 * rng.normal(size=n)  # ~1e1, correlation with x1 = 1 - 5e-9
    x = np.column_stack([x1, x2])
    t = 2.0 + 3e-3 * x1 - 5.0 * x2 + 0.1 * rng.normal(size=n)
    rows = [[1, mpmath.mpf(float(a)), mpmath.mpf(float(b))] for a, b in x]
    reference, sse = reference_least_squares(rows, t)
    assert np.linalg.cond(LinearBasis().features(x)) > 1e9

    map_point = fit_map(gaussian_regression(x, t, sufficient_statistics=statistics))

    # cond ~1e10: float64 data carry ~16 digits, QR with refinement loses ~log10(cond)/2 of them
    assert significant_digits(map_point["w"], reference) >= 9
    assert abs(map_point["sigma"] / float(mpmath.sqrt(sse / n)) - 1) < 1e-6


def test_learned_sigma_with_large_targets_and_fixed_sigma_agree_on_w(rng):
    x, t, degree = degree_5_large_targets(rng)
    learned = fit_map(gaussian_regression(x, t, basis=PolynomialBasis(degree)))
    fixed = fit_map(gaussian_regression(x, t, basis=PolynomialBasis(degree), sigma=1e4))
    # w does not depend on sigma under a flat prior: same computation, identical numbers
    np.testing.assert_array_equal(learned["w"], fixed["w"])
    assert "sigma" not in fixed
