r"""The numerical solvers behind the MAP, in one place: NumPy and SciPy only, no PyMC.

- :func:`triangular_factor`: R of a QR factorization with a non-negative diagonal (the same R from rows or from
  their sufficient statistics);
- :func:`lstsq`: least squares by equilibrated Householder QR with iterative refinement;
- :func:`ridge_rows`: the design stacked over a Gaussian prior's rows, the one "prior rows under the design" step;
- :func:`elastic_net`: exact coordinate descent for :math:`\tfrac12\lVert t - F w\rVert^2 + \sum_j \lambda_{1j}
  |w_j - m_j| + \tfrac12 \sum_j \lambda_{2j}(w_j - m_j)^2` (lasso, ridge, elastic net);
- :func:`least_absolute`: :math:`\min_a \sum_i c_i |b_i - A_i a| + \tfrac12 a^\top P a - q^\top a`, a linear
  program when P = 0 and a box-constrained dual otherwise, both finished at the exact vertex;
- :func:`newton`: a trust-region Newton method then full Newton steps, for smooth objectives;
- :func:`proximal_newton`: Newton steps for a smooth objective plus :math:`\sum_i \lambda_i |\phi_i - m_i|`
  (the lasso's kink in a GLM), with exact zeros;
- :func:`hessian`: central differences of an exact gradient.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import solve_triangular
from scipy.optimize import linprog, minimize

EPS = np.finfo(float).eps


def triangular_factor(rows: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """R of the QR factorization of ``rows`` (m x p), padded to p x p, with a non-negative diagonal.

    Flipping a row of R flips a column of Q: the factorization is the same, and the sign convention makes R
    unique, so rows and their sufficient statistics give the same R. ``overwrite`` lets LAPACK work in ``rows``.

    Parameters
    ----------
    rows : ndarray (m, p)
        The matrix to factor (Fortran order avoids a copy).
    overwrite : bool, default False
        Let LAPACK overwrite ``rows``.

    Returns
    -------
    ndarray (p, p)
        The upper triangular R, with zero rows appended when m < p.
    """
    width = rows.shape[1]
    # Householder (LAPACK geqrf) called directly: scipy.linalg.qr(mode="r") adds a workspace query and copies
    (geqrf,) = scipy.linalg.lapack.get_lapack_funcs(("geqrf",), (rows,))
    packed, _, _, info = geqrf(rows, overwrite_a=overwrite)
    if info != 0:
        raise ValueError(f"LAPACK geqrf failed (info = {info})")
    r = np.triu(packed[:width])
    if r.shape[0] < width:
        r = np.vstack([r, np.zeros((width - r.shape[0], width))])
    return np.where(np.diag(r) < 0, -1.0, 1.0)[:, None] * r


def lstsq(a_matrix: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``argmin |A a - b|`` by Householder QR with exact power-of-two column equilibration and two steps of iterative
    refinement. Accurate to ~eps * cond(A) for the well-conditioned A used here; refuses a rank-deficient A.

    Parameters
    ----------
    a_matrix : ndarray (m, p)
        The design A, of full column rank.
    b : ndarray (m,)
        The target.

    Returns
    -------
    ndarray (p,)
        The least-squares solution.

    Raises
    ------
    ValueError
        When A is numerically rank deficient.
    """
    norms = np.linalg.norm(a_matrix, axis=0)
    norms = 2.0 ** np.round(np.log2(np.where(norms > 0, norms, 1.0)))
    scaled = a_matrix / norms
    q, r = np.linalg.qr(scaled)
    diagonal = np.abs(np.diag(r))
    if diagonal.min() <= diagonal.max() * scaled.shape[1] * EPS:
        raise ValueError("the design is rank deficient (some features are linear combinations of others)")
    coefficients = solve_triangular(r, q.T @ b)
    for _ in range(2):
        coefficients = coefficients + solve_triangular(r, q.T @ (b - scaled @ coefficients))
    return coefficients / norms


def ridge_rows(design: np.ndarray, target: np.ndarray, sigma: float, to_w: np.ndarray, loc: np.ndarray,
               l2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The rows whose least squares is the Gaussian posterior's mode: :math:`[D/\sigma;\ \sqrt{\lambda_2} T]`
    over :math:`[t/\sigma;\ \sqrt{\lambda_2} m]`, so that :math:`\lVert\cdot\rVert^2 = \lVert t - D a\rVert^2/\sigma^2 +
    \sum_j \lambda_{2j}((T a)_j - m_j)^2` (features with :math:`\lambda_2 = 0` add no row).

    Parameters
    ----------
    design : ndarray (m, p)
        :math:`D`, the design in the coordinates ``a`` solved for.
    target : ndarray (m,)
        :math:`t`.
    sigma : float
        The noise sd.
    to_w : ndarray (p, p)
        :math:`T`, with ``w = T a``.
    loc : ndarray (p,)
        :math:`m`, the prior's centre.
    l2 : ndarray (p,)
        :math:`\lambda_2 \ge 0`, the prior's precisions.

    Returns
    -------
    rows : ndarray (m + k, p)
        The stacked rows (k = the number of features with :math:`\lambda_2 > 0`).
    target : ndarray (m + k,)
        The stacked target.
    """
    keep = l2 > 0
    root = np.sqrt(l2[keep])
    rows = np.vstack([design / sigma, to_w[keep] * root[:, None]])
    return rows, np.concatenate([target / sigma, loc[keep] * root])


def elastic_net(features: np.ndarray, t: np.ndarray, l1: np.ndarray, l2: np.ndarray, loc: np.ndarray, *,
                tol: float = 1e-15, max_sweeps: int = 100_000) -> np.ndarray:
    r"""Coordinate descent for :math:`\tfrac12\lVert t - F w\rVert^2 + \sum_j \lambda_{1j}|w_j - m_j| +
    \tfrac12\sum_j \lambda_{2j}(w_j - m_j)^2`.

    Each coordinate step is the exact minimizer (a soft threshold), so zeros of :math:`w - m` are exact zeros.

    Parameters
    ----------
    features : ndarray (N, p)
        :math:`F`.
    t : ndarray (N,)
        The target.
    l1, l2 : ndarray (p,)
        :math:`\lambda_1 \ge 0` and :math:`\lambda_2 \ge 0`.
    loc : ndarray (p,)
        :math:`m`.
    tol : float, default 1e-15
        Stop when no coordinate moved by more than ``tol`` times the largest :math:`|w_j - m_j|` in a sweep.
    max_sweeps : int, default 100_000
        The most sweeps over the coordinates.

    Returns
    -------
    ndarray (p,)
        The minimizer :math:`w`.

    Examples
    --------
    >>> features = np.eye(2)
    >>> elastic_net(features, np.array([3.0, 0.5]), l1=np.ones(2), l2=np.zeros(2), loc=np.zeros(2))
    array([2., 0.])
    """
    target = t - features @ loc
    squared_norms = np.sum(features**2, axis=0)
    v = np.zeros(features.shape[1])
    residual = target.copy()
    for _ in range(max_sweeps):
        largest_step = 0.0
        for j in range(len(v)):
            rho = features[:, j] @ residual + squared_norms[j] * v[j]
            new = np.sign(rho) * max(abs(rho) - l1[j], 0.0) / (squared_norms[j] + l2[j])
            if new != v[j]:
                residual -= features[:, j] * (new - v[j])
                largest_step = max(largest_step, abs(new - v[j]))
                v[j] = new
        if largest_step <= tol * max(np.max(np.abs(v)), 1e-300):
            break
    return v + loc


def least_absolute(a_rows: np.ndarray, b: np.ndarray, c: np.ndarray, p_matrix: np.ndarray | None = None,
                   q: np.ndarray | None = None, start: np.ndarray | None = None) -> np.ndarray:
    r"""``argmin_a sum_i c_i |b_i - A_i a| + a^T P a / 2 - q^T a`` (P = 0 when None).

    - P = 0: a linear program (HiGHS) for an optimal vertex;
    - P positive definite: the dual, :math:`\max_{|u_i| \le c_i} u^\top b - \tfrac12 (A^\top u + q)^\top P^{-1}
      (A^\top u + q)`, by L-BFGS-B, with :math:`a = P^{-1}(A^\top u + q)`.

    Either answer is then finished exactly: the LP's vertex is solved from its p zero terms as a square linear
    system (kept when it does not raise the objective), and the dual's point is the start of an active-set method
    (:func:`_active_set`) that ends at the optimum with its zero terms exact. Given ``start`` (the solution of the
    same rows with other weights, as the alternation with a learned scale has), the active set goes on from it.

    Parameters
    ----------
    a_rows : ndarray (m, p)
        :math:`A`, one row per absolute-value term.
    b : ndarray (m,)
        :math:`b`.
    c : ndarray (m,)
        :math:`c > 0`, the weights of the terms.
    p_matrix : ndarray (p, p), optional
        :math:`P`, positive definite; None for P = 0.
    q : ndarray (p,), optional
        :math:`q`; used with ``p_matrix`` only.
    start : ndarray (p,), optional
        A nearby solution; used with ``p_matrix`` only (the active set starts there instead of at the dual's point).

    Returns
    -------
    ndarray (p,)
        The minimizer :math:`a`.

    Raises
    ------
    ValueError
        When the linear program fails (P = 0).
    """
    # Solved at unit scale: each term c_i |b_i - A_i a| is (c_i s_i) |b_i / s_i - A_i a / s_i|, and the objective
    # divided by k has the same minimizer; with powers of two s_i (of row i's size) and k (of the weights') that is
    # exact in floating point. HiGHS' tolerances are absolute (1e-7) and its bounds end at 1e20: targets of 1e-20
    # or 1e20 came back wrong or as a "model error" before.
    size = np.maximum(np.abs(b), np.max(np.abs(a_rows), axis=1, initial=0.0))
    rows_scale = _powers_of_two(size)
    c = c * rows_scale
    k = float(_powers_of_two(np.max(c, initial=0.0)))
    if p_matrix is not None:
        p_matrix, q = p_matrix / k, np.asarray(q, dtype=float) / k
    start = None if start is None else np.asarray(start, dtype=float)
    return _least_absolute(a_rows / rows_scale[:, None], b / rows_scale, c / k, p_matrix, q, start)


def _powers_of_two(values):
    """The powers of two nearest ``values`` (1 for 0): scaling by them is exact in floating point."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, 2.0 ** np.round(np.log2(np.where(values > 0, values, 1.0))), 1.0)


def _least_absolute(a_rows, b, c, p_matrix, q, start):
    """:func:`least_absolute` for b and c of order one."""
    m, p = a_rows.shape

    def objective(a):
        value = np.sum(c * np.abs(b - a_rows @ a))
        return value if p_matrix is None else value + 0.5 * a @ p_matrix @ a - q @ a

    if p_matrix is None:
        # variables: a (free), u >= 0, v >= 0 with A a + u - v = b; minimize sum c (u + v)
        a_eq = np.hstack([a_rows, np.eye(m), -np.eye(m)])
        cost = np.concatenate([np.zeros(p), c, c])
        bounds = [(None, None)] * p + [(0, None)] * (2 * m)
        result = linprog(cost, A_eq=a_eq, b_eq=b, bounds=bounds, method="highs")
        if result.status != 0:
            raise ValueError(f"the least-absolute-deviations linear program failed: {result.message}")
        a = result.x[:p]
        # the vertex: the p terms closest to zero, if they determine a (a square, well-conditioned system)
        scale = np.abs(b) + np.linalg.norm(a_rows, axis=1) * np.abs(a).max() + 1e-300
        active = np.argsort(np.abs(b - a_rows @ a) / scale)[:p]
        square = a_rows[active]
        if np.linalg.cond(square) < 1e10:
            vertex = np.linalg.solve(square, b[active])
            if objective(vertex) <= objective(a) * (1 + 1e-9):
                a = vertex
        return a

    if start is not None:
        return _active_set(a_rows, b, c, p_matrix, q, start)
    cholesky = np.linalg.cholesky(p_matrix)
    bu = solve_triangular(cholesky, a_rows.T, lower=True)  # L^-1 A^T
    r = solve_triangular(cholesky, q, lower=True)

    def dual(u):
        v = bu @ u + r
        return 0.5 * v @ v - b @ u, bu.T @ v - b

    result = minimize(dual, np.zeros(m), jac=True, method="L-BFGS-B", bounds=list(zip(-c, c)),
                      options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 100_000, "maxcor": 30})
    u = result.x
    a = np.linalg.solve(p_matrix, a_rows.T @ u + q)
    return _active_set(a_rows, b, c, p_matrix, q, a)


def _active_set(a_rows, b, c, p_matrix, q, a, max_iterations=1000):
    r"""The exact minimizer of :math:`\sum_i c_i |b_i - A_i a| + \tfrac12 a^\top P a - q^\top a` (P positive
    definite) from a nearby ``a``, by the active-set method for piecewise-quadratic objectives.

    With Z the terms held at zero and s the signs of the others, the objective is a quadratic on the affine set
    :math:`A_Z a = b_Z`, minimized by one KKT solve; the step goes as far as it can before another residual reaches
    zero (which joins Z), and a term of Z whose multiplier leaves :math:`[-c_i, c_i]` is released with the sign
    the multiplier asks for. Every step lowers the objective, so it ends at the optimum, with the zero terms exact.
    """
    m, p = a_rows.shape
    scale = np.abs(b) + np.abs(a_rows) @ np.abs(a) + 1e-300
    zero = set(np.flatnonzero(np.abs(b - a_rows @ a) <= 1e-7 * scale).tolist())
    released = {}  # a term just released from Z: the sign it leaves zero with
    for _ in range(max_iterations):
        residual = b - a_rows @ a
        signs = np.sign(residual)
        for i, sign in released.items():
            signs[i] = sign
        free = np.array([i not in zero for i in range(m)])
        held = np.flatnonzero(~free)
        linear = q + a_rows[free].T @ (c[free] * signs[free])  # P a + A_Z^T mu = q + sum_free c_i s_i A_i
        kkt = np.block([[p_matrix, a_rows[held].T], [a_rows[held], np.zeros((len(held), len(held)))]])
        solution = np.linalg.lstsq(kkt, np.concatenate([linear, b[held]]), rcond=None)[0]
        target, multipliers = solution[:p], solution[p:]
        direction = target - a
        # the longest step before a free residual changes sign
        rate = a_rows @ direction  # the residual i moves by -step * rate_i
        crossing = free & (signs * rate > 0) & (np.abs(rate) > 0)
        steps = np.where(crossing, residual / np.where(rate == 0, 1.0, rate), np.inf)
        steps = np.where(crossing & (steps >= 0), steps, np.inf)
        step = min(1.0, float(steps.min(initial=np.inf)))
        released = {}
        if step < 1.0:
            a = a + step * direction
            zero.add(int(np.argmin(steps)))
            continue
        a = target
        # stationarity for a held term: its subgradient c_i v_i with v_i = -mu_i / c_i in [-1, 1]
        excess = np.abs(multipliers) / c[held] - 1
        if held.size == 0 or excess.max() <= 1e-10:
            return a
        worst = int(np.argmax(excess))
        zero.discard(int(held[worst]))
        released = {int(held[worst]): -np.sign(multipliers[worst])}
    return a


def fixed_point(update, x0: float, *, max_iterations: int = 200) -> float:
    r"""The fixed point :math:`x = g(x)` of a scalar map (the alternating scale and weight steps of a MAP), by
    Steffensen's acceleration of the iteration (Aitken's :math:`\Delta^2` on two plain steps): quadratic where the
    plain iteration is linear. Stops where a plain step moves ``x`` by at most 4 eps relative.

    Parameters
    ----------
    update : callable
        ``g``: float -> float, positive for positive arguments.
    x0 : float
        The starting point.
    max_iterations : int

    Returns
    -------
    float
    """
    x = float(x0)
    for _ in range(max_iterations):
        x1 = update(x)
        if abs(x1 - x) <= 4 * EPS * abs(x1):
            return x1
        x2 = update(x1)
        if abs(x2 - x1) <= 4 * EPS * abs(x2):
            return x2
        denominator = x2 - 2 * x1 + x
        accelerated = x - (x1 - x) ** 2 / denominator if denominator != 0 else x2
        x = accelerated if np.isfinite(accelerated) and accelerated > 0 else x2
    return x


def hessian(gradient, theta: np.ndarray) -> np.ndarray:
    """Central differences of the exact ``gradient`` (relative error ~1e-10): enough for Newton steps, whose fixed
    point is where the exact gradient vanishes, so the optimum itself is not approximated.

    Parameters
    ----------
    gradient : callable
        ``gradient(theta) -> ndarray (n,)``, exact.
    theta : ndarray (n,)
        The point.

    Returns
    -------
    ndarray (n, n)
        The symmetrized Hessian, by central differences with steps ``1e-5 * (1 + |theta_j|)``.
    """
    result = np.empty((len(theta), len(theta)))
    for j in range(len(theta)):
        h = 1e-5 * (1 + abs(theta[j]))
        step = np.zeros_like(theta)
        step[j] = h
        result[:, j] = (gradient(theta + step) - gradient(theta - step)) / (2 * h)
    return (result + result.T) / 2


def newton(value_and_gradient, x0: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, str]:
    """Minimize a smooth function: trust-region Newton (``trust-exact``) with the differenced Hessian of the exact
    gradient, then full Newton steps to the point where the exact gradient vanishes, to machine precision.

    Returns ``(x, value, gradient, message)``.

    Parameters
    ----------
    value_and_gradient : callable
        ``f(x) -> (value, gradient)``, the function to minimize and its exact gradient.
    x0 : ndarray (n,)
        The starting point.

    Returns
    -------
    x : ndarray (n,)
        The minimizer found.
    value : float
        The function's value there.
    gradient : ndarray (n,)
        Its gradient there (for the caller's stationarity check).
    message : str
        SciPy's message and the number of trust-region iterations.
    """
    def hess(v):
        return hessian(lambda u: value_and_gradient(u)[1], v)

    result = minimize(value_and_gradient, x0, jac=True, hess=hess, method="trust-exact",
                      options={"gtol": 1e-9, "maxiter": 1000})
    theta = result.x
    value, gradient = value_and_gradient(theta)
    for _ in range(30):
        try:
            step = np.linalg.solve(hess(theta), gradient)
        except np.linalg.LinAlgError:
            break
        candidate = theta - step
        new_value, new_gradient = value_and_gradient(candidate)
        # Near the minimum the value's rounding (a sum of terms much larger than their total, e.g. Poisson counts of
        # 1e12) can hide a real decrease: a step that halves the exact gradient is progress too.
        shrinks = np.max(np.abs(new_gradient), initial=0.0) <= 0.5 * np.max(np.abs(gradient), initial=0.0)
        if not np.isfinite(new_value) or (new_value > value + 1e-12 * abs(value) and not shrinks):
            break
        theta, value, gradient = candidate, new_value, new_gradient
        if np.max(np.abs(step), initial=0.0) <= 4 * EPS * (1 + np.max(np.abs(theta), initial=0.0)):
            break
    return theta, value, gradient, f"{result.message} ({result.nit} iterations)"


def _l1_quadratic(gradient, curvature, phi, l1, loc, tol=1e-15, max_sweeps=10_000):
    """argmin_d g^T d + d^T H d / 2 + sum_i l1_i |phi_i + d_i - loc_i|, by exact coordinate descent."""
    d = np.zeros_like(phi)
    hd = np.zeros_like(phi)  # H @ d, kept up to date
    for _ in range(max_sweeps):
        largest = 0.0
        for i in range(len(phi)):
            h = curvature[i, i]
            linear = gradient[i] + hd[i] - h * d[i]  # derivative of the rest at d_i = 0
            if l1[i] == 0:
                new = -linear / h
            else:
                # minimize linear * d + h d^2 / 2 + l1 |u|, u = phi + d - loc
                u = phi[i] - loc[i] - linear / h
                new = np.sign(u) * max(abs(u) - l1[i] / h, 0.0) + loc[i] - phi[i]
            change = new - d[i]
            if change != 0.0:
                hd += curvature[:, i] * change
                d[i] = new
                largest = max(largest, abs(change))
        if largest <= tol * (1 + np.max(np.abs(phi + d))):
            break
    return d


def proximal_newton(value_and_gradient, x0: np.ndarray, l1: np.ndarray, loc: np.ndarray, *,
                    max_iterations: int = 500) -> tuple[np.ndarray, float, np.ndarray]:
    r"""Minimize :math:`f(\phi) + \sum_i \lambda_i |\phi_i - m_i|`, ``f`` smooth (its exact gradient given).

    Proximal Newton (Lee, Sun and Saunders 2014): each step minimizes the quadratic model of ``f`` plus the exact
    L1 term by coordinate descent (zeros are exact), then a backtracking line search on the whole objective. Near
    the optimum the steps are Newton steps on the non-zero coordinates, so it converges quadratically.

    Returns ``(phi, value of f, gradient of f)``.

    Parameters
    ----------
    value_and_gradient : callable
        ``f(phi) -> (value, gradient)``, the smooth part and its exact gradient.
    x0 : ndarray (n,)
        The starting point.
    l1 : ndarray (n,)
        :math:`\lambda \ge 0` (0 for coordinates without an L1 term).
    loc : ndarray (n,)
        :math:`m`, where each L1 term has its kink.
    max_iterations : int, default 500
        The most proximal Newton steps.

    Returns
    -------
    phi : ndarray (n,)
        The minimizer found (exactly ``loc`` where the L1 term holds a coordinate at its kink).
    value : float
        :math:`f(\phi)`, without the L1 term.
    gradient : ndarray (n,)
        :math:`\nabla f(\phi)` (for the caller's optimality check).
    """
    phi = np.asarray(x0, dtype=float).copy()

    def total(v):
        value, gradient = value_and_gradient(v)
        return value + np.sum(l1 * np.abs(v - loc)), value, gradient

    objective, value, gradient = total(phi)
    for _ in range(max_iterations):
        curvature = hessian(lambda u: value_and_gradient(u)[1], phi)
        lowest = np.linalg.eigvalsh(curvature)[0]
        if lowest <= 1e-12 * max(1.0, np.abs(curvature).max()):  # not convex here: damp to a positive definite model
            curvature = curvature + (1e-8 * max(1.0, np.abs(curvature).max()) - lowest) * np.eye(len(phi))
        step = _l1_quadratic(gradient, curvature, phi, l1, loc)
        decrease = gradient @ step + np.sum(l1 * (np.abs(phi + step - loc) - np.abs(phi - loc)))
        if decrease >= 0 or np.max(np.abs(step)) <= 4 * EPS * (1 + np.max(np.abs(phi))):
            break
        length = 1.0
        while True:
            candidate = phi + length * step
            candidate = np.where(np.abs(candidate - loc) <= 4 * EPS * (1 + np.abs(loc)) * (l1 > 0), loc, candidate)
            new_objective, new_value, new_gradient = total(candidate)
            if np.isfinite(new_objective) and new_objective <= objective + 0.25 * length * decrease:
                break
            length /= 2
            if length < 1e-12:
                return phi, value, gradient
        if np.array_equal(candidate, phi):  # the step only left a kink by rounding, and went back to it: done
            break
        phi, objective, value, gradient = candidate, new_objective, new_value, new_gradient
    return phi, value, gradient
