r"""Bases: the features :math:`\phi(x)` of a model that is linear in its weights (PRML section 3.1).

.. math::

    y(x \mid w) = \sum_{j} w_j \phi_j(x) = \Phi(x)\, w

``w`` is always in the basis' own coordinates (for :class:`PolynomialBasis` the raw monomial
coefficients of :math:`1, x, \dots, x^M`, as PRML Table 1.1 reads them).

Each basis also knows a *well-conditioned* set of features :math:`Z(x)` spanning exactly the same
functions, with an exact rational map :math:`w = T a` between the two coordinate systems
(:class:`Conditioned`). Fitting and sampling happen in :math:`a`; results are reported in :math:`w`.
For a degree-10 polynomial on x in [-9, -3] the raw Vandermonde matrix has condition number ~1e15
and float64 least squares on it is all rounding error; Legendre polynomials of the centred, scaled
input have condition number ~1e3 on the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import TYPE_CHECKING

import numpy as np

from ._checks import PACKAGE, non_negative_int, positive_scalar, scalar_or_vector

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Conditioned:
    """Well-conditioned coordinates of a basis, fixed on some training inputs.

    ``transform(x, xp)`` gives the features :math:`Z(x)` (``xp`` is ``numpy`` or ``pytensor.tensor``, so
    the same code builds the PyMC graph); ``to_w`` is the exact matrix :math:`T` with
    :math:`\\Phi(x) = Z(x) T^{-1}`, i.e. ``w = T @ a``. ``into(x, out)``, optional, writes the same
    :math:`Z(x)` into a NumPy array without temporaries (the pass over many rows reuses one buffer).
    """

    transform: object
    to_w: tuple  # tuple of tuples of Fraction, shape (p, p)
    into: object = None

    def fill(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write :math:`Z(x)` into ``out``: with ``into`` when the basis has one, else from ``transform``.

        Parameters
        ----------
        x : ndarray (m,) or (m, D)
            Inputs, float64.
        out : ndarray (m, p)
            Where the features go (any memory layout, e.g. columns of a Fortran-ordered buffer).

        Examples
        --------
        >>> import numpy as np
        >>> from models.basis import LinearBasis
        >>> x = np.array([[0.0, 10.0], [1.0, 30.0], [2.0, 20.0]])
        >>> conditioned = LinearBasis().conditioned(x)
        >>> out = np.empty((3, 3))
        >>> conditioned.fill(x, out)
        >>> bool(np.array_equal(out, conditioned.transform(x, np)))
        True
        """
        if self.into is None:
            out[...] = self.transform(x, np)
        else:
            self.into(x, out)

    @property
    def T(self) -> np.ndarray:
        """``to_w`` rounded to float64.

        Returns
        -------
        ndarray (p, p)
            :math:`T`, with ``w = T @ a``.
        """
        return np.array([[float(v) for v in row] for row in self.to_w])

    def w_from(self, a: ArrayLike) -> np.ndarray:
        """``T @ a`` computed exactly in rational arithmetic from the float64 ``a``, rounded once.

        Parameters
        ----------
        a : array_like (p,)
            Weights in the conditioned coordinates.

        Returns
        -------
        ndarray (p,)
            The weights ``w`` in the basis' own coordinates.
        """
        a = [Fraction(float(v)) for v in np.asarray(a, dtype=float)]
        return np.array([float(sum(tj * ak for tj, ak in zip(row, a) if tj)) for row in self.to_w])


def _center_scale(values):
    """A dyadic centre c and a power-of-two scale s with (values - c) / s in about [-1.1, 1.1].

    Both are exact binary fractions of few bits, so the division is exact and the subtraction is
    exact whenever the values lie within a factor 2 of c (the nearly-collinear case where it matters).
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    half = (hi - lo) / 2
    if half == 0:
        half = abs(lo) or 1.0
    scale = 2.0 ** np.ceil(np.log2(half))
    center = np.round((lo + hi) / 2 / scale * 8) / 8 * scale
    return float(center), float(scale)


def _legendre(u, degree, xp):
    """Legendre polynomials P_0..P_degree of u by the three-term recurrence (works on numpy and pytensor)."""
    columns = [u * 0 + 1, u]
    for n in range(1, degree):
        columns.append(((2 * n + 1) * u * columns[n] - n * columns[n - 1]) / (n + 1))
    return columns[: degree + 1]


def _legendre_coefficients(n):
    """Exact monomial coefficients of P_n(u) (Rodrigues' formula):
    P_n = 2^-n sum_k (-1)^k C(n,k) C(2n-2k,n) u^(n-2k)."""
    coefficients = [Fraction(0)] * (n + 1)
    for k in range(n // 2 + 1):
        coefficients[n - 2 * k] += Fraction((-1) ** k * comb(n, k) * comb(2 * n - 2 * k, n), 2**n)
    return coefficients


class LinearBasis:
    r"""Identity features: :math:`\Phi(x) = [1, x_1, \dots, x_D]` for ``x`` of shape (N,) or (N, D).

    Internally the columns are centred and scaled by exact dyadic numbers,
    :math:`z_j = (x_j - c_j)/s_j`, so :math:`w_j = a_j / s_j` and
    :math:`w_0 = a_0 - \sum_j c_j a_j / s_j` exactly.
    """

    def __init__(self, intercept: bool = True):
        if not isinstance(intercept, bool):
            raise TypeError(f"intercept must be True or False, got {intercept!r}")
        self.intercept = intercept

    def __repr__(self):
        return f"LinearBasis(intercept={self.intercept})"

    def check_inputs(self, x: np.ndarray) -> None:
        """Refuse inputs of the wrong shape: a ValueError unless ``x`` is 1-D or 2-D.

        Parameters
        ----------
        x : ndarray
            The inputs, already converted to an array.
        """
        if x.ndim not in (1, 2):
            raise ValueError(f"x must be 1-D or 2-D for LinearBasis, got shape {x.shape}")

    def feature_names(self, x: np.ndarray, columns: list[str] | None = None) -> list[str]:
        """The names of the features, one per column of :math:`\\Phi(x)` (the model's coordinate ``feature``).

        Parameters
        ----------
        x : ndarray (N,) or (N, D)
            The inputs (only their number of dimensions and columns is used).
        columns : list of str, optional
            Names of the input columns (a DataFrame's); by default ``x`` for 1-D inputs, else ``x0``, ``x1``, ...

        Returns
        -------
        list of str
            ``"1"`` for the intercept (when there is one), then the names of the inputs.
        """
        if x.ndim == 1:
            inputs = [columns[0] if columns else "x"]
        else:
            inputs = list(columns) if columns else [f"x{j}" for j in range(x.shape[1])]
        return (["1"] if self.intercept else []) + inputs

    def features(self, x: ArrayLike) -> np.ndarray:
        r"""The raw features :math:`\Phi(x)`: a column of ones (with an intercept), then the input columns.

        Parameters
        ----------
        x : array_like (N,) or (N, D)
            Inputs.

        Returns
        -------
        ndarray (N, p)
            The design matrix in the basis' own coordinates.
        """
        x = np.asarray(x, dtype=float)
        columns = x[:, None] if x.ndim == 1 else x
        if self.intercept:
            columns = np.column_stack([np.ones(len(x)), columns])
        return columns

    def conditioned(self, x: ArrayLike) -> Conditioned:
        r"""The well-conditioned coordinates fixed on the training inputs: :math:`z_j = (x_j - c_j)/s_j`.

        Parameters
        ----------
        x : array_like (N,) or (N, D)
            Training inputs; only the range of each column is used (the exact dyadic :math:`c_j` and :math:`s_j`).

        Returns
        -------
        Conditioned
            ``transform`` gives :math:`Z(x)` and ``to_w`` the exact :math:`T` with ``w = T @ a``.
        """
        x = np.asarray(x, dtype=float)
        columns = x[:, None] if x.ndim == 1 else x
        d = columns.shape[1]
        centers, scales = zip(*(_center_scale(columns[:, j]) for j in range(d)))
        if not self.intercept:
            centers = (0.0,) * d
        one_d, intercept = x.ndim == 1, self.intercept
        shift, divisor = np.array(centers), np.array(scales)

        def transform(x, xp):
            z = ((x[:, None] if one_d else x) - shift) / divisor
            return xp.concatenate([xp.ones_like(z[:, :1]), z], axis=1) if intercept else z

        def into(x, out):  # the same operations, written in place
            z = out[:, 1:] if intercept else out
            np.subtract(x[:, None] if one_d else x, shift, out=z)
            np.divide(z, divisor, out=z)
            if intercept:
                out[:, 0] = 1.0

        p = d + self.intercept
        to_w = [[Fraction(0)] * p for _ in range(p)]
        offset = int(self.intercept)
        for j in range(d):
            to_w[offset + j][offset + j] = 1 / Fraction(scales[j])
            if self.intercept:
                to_w[0][offset + j] = -Fraction(centers[j]) / Fraction(scales[j])
        if self.intercept:
            to_w[0][0] = Fraction(1)
        return Conditioned(transform, tuple(map(tuple, to_w)), into)


class PolynomialBasis:
    r"""Monomials :math:`\Phi(x) = [1, x, x^2, \dots, x^M]` of a scalar input (PRML eq. 1.1).

    ``w`` are the raw monomial coefficients. Internally the features are Legendre polynomials
    :math:`P_n(u)` of :math:`u = (x - c)/s` (exact dyadic c, s); the map to monomial coefficients is
    exact rational arithmetic (binomial expansion of :math:`((x - c)/s)^m`). Without intercept the
    features are :math:`x, \dots, x^M`, internally :math:`(x/s) P_n(u)` for n < M.
    """

    def __init__(self, degree: int, intercept: bool = True):
        self.degree = non_negative_int(degree, "degree")
        if not isinstance(intercept, bool):
            raise TypeError(f"intercept must be True or False, got {intercept!r}")
        if not intercept and self.degree == 0:
            raise ValueError("degree must be >= 1 when intercept=False (no features would remain)")
        self.intercept = intercept

    def __repr__(self):
        return f"PolynomialBasis(degree={self.degree}, intercept={self.intercept})"

    def check_inputs(self, x: np.ndarray) -> None:
        """Refuse inputs of the wrong shape: a ValueError unless ``x`` is 1-D (one scalar input per row).

        Parameters
        ----------
        x : ndarray
            The inputs, already converted to an array.
        """
        if x.ndim != 1:
            raise ValueError(f"x must be 1-D for PolynomialBasis (one scalar input per row), got shape {x.shape}")

    def _powers(self):
        return range(0 if self.intercept else 1, self.degree + 1)

    def feature_names(self, x: np.ndarray, columns: list[str] | None = None) -> list[str]:
        """The names of the features, one per column of :math:`\\Phi(x)` (the model's coordinate ``feature``).

        Parameters
        ----------
        x : ndarray (N,)
            The inputs (unused: the names depend on the degree only).
        columns : list of str, optional
            Ignored (the input is always called ``x``).

        Returns
        -------
        list of str
            ``"1"`` (with an intercept), ``"x"``, ``"x^2"``, ..., ``"x^M"``.
        """
        return [{0: "1", 1: "x"}.get(k, f"x^{k}") for k in self._powers()]

    def features(self, x: ArrayLike) -> np.ndarray:
        r"""The raw features :math:`\Phi(x)`: the monomials :math:`1, x, \dots, x^M` (without 1 when no intercept).

        Parameters
        ----------
        x : array_like (N,)
            Inputs.

        Returns
        -------
        ndarray (N, p)
            The Vandermonde matrix, in the basis' own (monomial) coordinates.
        """
        x = np.asarray(x, dtype=float)
        return np.stack([x**k for k in self._powers()], axis=1)

    def conditioned(self, x: ArrayLike) -> Conditioned:
        r"""The well-conditioned coordinates fixed on the training inputs: Legendre polynomials of
        :math:`u = (x - c)/s`.

        Parameters
        ----------
        x : array_like (N,)
            Training inputs; only their range is used (the exact dyadic :math:`c` and :math:`s`).

        Returns
        -------
        Conditioned
            ``transform`` gives :math:`Z(x)` and ``to_w`` the exact :math:`T` (Legendre to monomial coefficients)
            with ``w = T @ a``.
        """
        center, scale = _center_scale(np.asarray(x, dtype=float))
        m = self.degree if self.intercept else self.degree - 1  # highest Legendre degree used
        intercept = self.intercept

        def transform(x, xp):
            columns = _legendre((x - center) / scale, m, xp)
            if not intercept:
                columns = [(x / scale) * c for c in columns]
            return xp.stack(columns, axis=1)

        # coefficient of x^j in u^k = ((x - c)/s)^k is C(k, j) (-c)^(k-j) / s^k
        c, s = Fraction(center), Fraction(scale)
        shift = 0 if intercept else 1  # (x/s) * P_n(u) moves every power up by one
        p = self.degree + 1 - shift
        to_w = [[Fraction(0)] * p for _ in range(p)]
        for n in range(m + 1):
            for k, coefficient in enumerate(_legendre_coefficients(n)):
                if coefficient:
                    for j in range(k + 1):
                        value = coefficient * comb(k, j) * (-c) ** (k - j) / s**k
                        to_w[j][n] += value / s if shift else value
        _warn_if_coefficients_are_noise(self.degree, to_w, s, shift)
        return Conditioned(transform, tuple(map(tuple, to_w)))


def _warn_if_coefficients_are_noise(degree, to_w, scale, shift):
    """Warn when float64 cannot carry the raw monomial coefficients: ``w = T a`` with the exact T, but a (fitted in
    Legendre coordinates, to rounding) reaches w through a map whose condition number, on the inputs' own scale
    (coefficients of (x/s)^j), exceeds 1/eps, so no digit of w is assured. Fits and predictions are unaffected
    (they are computed in Legendre coordinates)."""
    shape = np.array([[float(value * scale ** (j + shift)) for value in row] for j, row in enumerate(to_w)])
    with np.errstate(all="ignore"):
        condition = np.linalg.cond(shape) if np.isfinite(shape).all() else np.inf
    if not condition * np.finfo(float).eps < 1:
        import warnings

        warnings.warn(f"PolynomialBasis({degree}): its raw monomial coefficients w are beyond float64 here "
                      f"(condition number {condition:.1e} from Legendre to monomial coefficients, on the inputs' "
                      f"scale; |w| up to ~{np.abs(shape).max():.0e} times the size of the curve): no digit of w is "
                      "assured. The fit and its predictions are computed in Legendre coordinates and stay "
                      "accurate; read predictions rather than w, or use a lower degree",
                      RuntimeWarning, skip_file_prefixes=(PACKAGE,))


class GaussianBasis:
    r"""Gaussian bumps :math:`\phi_j(x) = \exp\!\left(-\frac{(x - \mu_j)^2}{2 s^2}\right)` (PRML eq. 3.4).

    ``centers`` are the :math:`\mu_j`, ``width`` the common :math:`s`; an optional constant feature
    comes first. The features are already O(1), so the internal coordinates are the features themselves.
    """

    def __init__(self, centers: ArrayLike, width: float, intercept: bool = True):
        self.centers = scalar_or_vector(centers, "centers", positive=False).reshape(-1)
        self.width = positive_scalar(width, "width")
        if not isinstance(intercept, bool):
            raise TypeError(f"intercept must be True or False, got {intercept!r}")
        self.intercept = intercept

    def __repr__(self):
        return f"GaussianBasis(centers={self.centers.tolist()}, width={self.width}, intercept={self.intercept})"

    def check_inputs(self, x: np.ndarray) -> None:
        """Refuse inputs of the wrong shape: a ValueError unless ``x`` is 1-D.

        Parameters
        ----------
        x : ndarray
            The inputs, already converted to an array.
        """
        if x.ndim != 1:
            raise ValueError(f"x must be 1-D for GaussianBasis, got shape {x.shape}")

    def feature_names(self, x: np.ndarray, columns: list[str] | None = None) -> list[str]:
        """The names of the features, one per column of :math:`\\Phi(x)` (the model's coordinate ``feature``).

        Parameters
        ----------
        x : ndarray (N,)
            The inputs (unused: the names depend on the centres only).
        columns : list of str, optional
            Ignored.

        Returns
        -------
        list of str
            ``"1"`` (with an intercept), then ``"gauss(mu_j)"`` for each centre: 4 significant digits, or as many
            more as it takes to tell the centres apart.

        Examples
        --------
        >>> GaussianBasis([0.5, 1.0], width=0.2).feature_names(np.zeros(3))
        ['1', 'gauss(0.5)', 'gauss(1)']
        >>> GaussianBasis([0.10001, 0.10002], width=0.2).feature_names(np.zeros(3))
        ['1', 'gauss(0.10001)', 'gauss(0.10002)']
        """
        for digits in range(4, 18):
            labels = [f"gauss({c:.{digits}g})" for c in self.centers]
            if len(set(labels)) == len(labels):
                break
        return (["1"] if self.intercept else []) + labels

    def _columns(self, x, xp):
        columns = [xp.exp(-((x - c) ** 2) / (2 * self.width**2)) for c in self.centers]
        if self.intercept:
            columns = [x * 0 + 1] + columns
        return xp.stack(columns, axis=1)

    def features(self, x: ArrayLike) -> np.ndarray:
        r"""The raw features :math:`\Phi(x)`: a column of ones (with an intercept), then one bump per centre.

        Parameters
        ----------
        x : array_like (N,)
            Inputs.

        Returns
        -------
        ndarray (N, p)
            The design matrix in the basis' own coordinates.
        """
        return self._columns(np.asarray(x, dtype=float), np)

    def conditioned(self, x: ArrayLike) -> Conditioned:
        """The internal coordinates: the features themselves (already O(1)), with the identity as ``to_w``.

        Parameters
        ----------
        x : array_like (N,)
            Training inputs (unused: the features do not depend on their range).

        Returns
        -------
        Conditioned
            ``transform`` gives the features and ``to_w`` the identity, so ``w = a``.
        """
        p = len(self.centers) + self.intercept
        identity = tuple(tuple(Fraction(int(i == j)) for j in range(p)) for i in range(p))
        return Conditioned(self._columns, identity)
