r"""What a builder decided, and the model class that keeps it.

A builder (:func:`models.regression`, :func:`models.gaussian_regression`) checks its inputs, chooses the basis'
well-conditioned coordinates and returns a :class:`RegressionModel`: a ``pm.Model`` (PyMC's class-based model)
that also holds its :class:`Design`. The inference functions find the design once per call with
:func:`design_of` and pass it down.

Three coordinate systems, and the maps between them written once, as the design's methods:

.. math::

    w = T a, \qquad a = R^{-1} w_{\text{internal}}, \qquad w = T R^{-1} w_{\text{internal}},

``w`` in the basis' own coordinates (what the user reads), ``a`` in its exactly conditioned coordinates
(:class:`models.basis.Conditioned`, :math:`T` exact rational), ``w_internal`` the sampler's whitened coordinates
(R from the QR of the conditioned design stacked over the prior's rows, at a nominal noise level).

A model edited after building (a variable, a Potential or a Deterministic added in its context) no longer matches
its design: :func:`design_of` then returns None and the inference code takes the generic way. ``pm.do``,
``pm.observe`` and ``clone_model`` return plain ``pm.Model`` objects, which have no design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm

from ._checks import check_model
from .optimize import triangular_factor

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .priors import Penalty


@dataclass(frozen=True)
class Design:
    """The decisions of a builder: basis, conditioned coordinates, prior, likelihood, and rows or statistics.

    Attributes
    ----------
    basis, likelihood, prior
        The model's parts (:mod:`models.basis`, :mod:`models.likelihoods`, :mod:`models.priors`).
    names : tuple of str
        The feature names (coordinate ``feature``).
    conditioned : models.basis.Conditioned
        The basis' exactly conditioned coordinates, fixed on the training x.
    r_inverse : ndarray (p, p)
        :math:`R^{-1}`: ``a = r_inverse @ w_internal``.
    statistics : models.statistics.GaussianStatistics or None
        The sufficient statistics when the likelihood is observed through them, else None (rows).
    data : models.statistics.ChunkedData or None
        The chunked x and t behind the statistics (read again for pointwise log-likelihoods).
    prior_term : str or None
        The name the builder gives the Potential that holds the prior on ``w`` (absent from the model when the
        prior adds no term, as a flat one).
    """

    basis: object
    likelihood: object
    prior: object
    names: tuple
    conditioned: object
    r_inverse: np.ndarray
    statistics: object = None
    data: object = None
    prior_term: str | None = None

    @property
    def p(self) -> int:
        """The number of features.

        Returns
        -------
        int
            ``len(names)``.
        """
        return len(self.names)

    @property
    def to_w(self) -> np.ndarray:
        """:math:`T R^{-1}`: ``w = to_w @ w_internal`` (float64).

        Returns
        -------
        ndarray (p, p)
            The map from the internal coordinates to the basis' own.
        """
        return self.conditioned.T @ self.r_inverse

    def check_posterior(self, model: pm.Model) -> None:
        """Under a flat prior on w, the likelihood's condition for a proper posterior
        (:meth:`models.likelihoods.Likelihood.check_posterior`): a ValueError before any sampling.

        Parameters
        ----------
        model : pm.Model
            The model this design belongs to (for its number of observations).
        """
        penalty = self.penalty
        if penalty is None or not penalty.is_flat:
            return
        n = self.statistics.n if self.statistics is not None else len(model["t_obs"].get_value())
        self.likelihood.check_posterior(n, self.p)

    @property
    def penalty(self) -> Penalty | None:
        """The prior's :class:`models.priors.Penalty` for this basis, or None when it is not of the L1 + L2 form.

        Returns
        -------
        models.priors.Penalty or None
            ``prior.penalty(p)``.
        """
        return self.prior.penalty(self.p)

    def w_from_internal(self, w_internal: ArrayLike) -> np.ndarray:
        """``w = T R^-1 w_internal``; the last axes may be (p,) or (p, K) (one column per class).

        Parameters
        ----------
        w_internal : array_like (..., p) or (..., p, K)
            Weights in the internal coordinates, with any leading axes (e.g. chain, draw).

        Returns
        -------
        ndarray
            The weights ``w`` in the basis' own coordinates, of the same shape.
        """
        w_internal = np.asarray(w_internal, dtype=float)
        if w_internal.ndim >= 2 and w_internal.shape[-2:-1] == (self.p,) and self.likelihood.n_outputs > 1:
            return np.einsum("ij,...jk->...ik", self.to_w, w_internal)
        return w_internal @ self.to_w.T

    def internal_from_w(self, w: ArrayLike) -> np.ndarray:
        """``w_internal = R T^-1 w`` for w of shape (p,) or (p, K).

        Parameters
        ----------
        w : array_like (p,) or (p, K)
            Weights in the basis' own coordinates.

        Returns
        -------
        ndarray (p,) or (p, K)
            The same weights in the internal coordinates.
        """
        return np.linalg.solve(self.to_w, np.asarray(w, dtype=float))

    def w_from_conditioned(self, a: ArrayLike) -> np.ndarray:
        """``w = T a`` computed exactly in rational arithmetic from the float64 ``a``, rounded once.

        Parameters
        ----------
        a : array_like (p,) or (p, K)
            Weights in the conditioned coordinates (one column per class for (p, K)).

        Returns
        -------
        ndarray (p,) or (p, K)
            The weights ``w`` in the basis' own coordinates.
        """
        a = np.asarray(a, dtype=float)
        if a.ndim == 2:
            return np.column_stack([self.conditioned.w_from(column) for column in a.T])
        return self.conditioned.w_from(a)

    def internal_from_conditioned(self, a: ArrayLike) -> np.ndarray:
        """``w_internal = R a``.

        Parameters
        ----------
        a : array_like (p,) or (p, K)
            Weights in the conditioned coordinates.

        Returns
        -------
        ndarray (p,) or (p, K)
            The same weights in the internal coordinates.
        """
        return np.linalg.solve(self.r_inverse, np.asarray(a, dtype=float))

    def conditioned_design(self, x: ArrayLike) -> np.ndarray:
        """The conditioned features :math:`Z(x)`: ``y(x | w) = Z(x) a``.

        Parameters
        ----------
        x : array_like (M,) or (M, D)
            Inputs, shaped like the training inputs.

        Returns
        -------
        ndarray (M, p)
            :math:`Z(x)`.
        """
        return self.conditioned.transform(np.asarray(x, dtype=float), np)

    def internal_design(self, x: ArrayLike) -> np.ndarray:
        """The design in the internal coordinates: ``y(x | w) = internal_design(x) @ w_internal``.

        Parameters
        ----------
        x : array_like (M,) or (M, D)
            Inputs, shaped like the training inputs.

        Returns
        -------
        ndarray (M, p)
            :math:`Z(x) R^{-1}`.
        """
        return self.conditioned_design(x) @ self.r_inverse

    def features(self, x: ArrayLike) -> np.ndarray:
        """The raw features :math:`\\Phi(x)` of the basis.

        Parameters
        ----------
        x : array_like (M,) or (M, D)
            Inputs, shaped like the training inputs.

        Returns
        -------
        ndarray (M, p)
            :math:`\\Phi(x)`, the design in the basis' own coordinates.
        """
        return self.basis.features(np.asarray(x, dtype=float))

    def rows(self, model: pm.Model) -> tuple[np.ndarray, np.ndarray]:
        """The model's current training data ``(x, t)`` (its ``pm.Data``); a model observed through sufficient
        statistics has no rows in it.

        Parameters
        ----------
        model : pm.Model
            The model this design belongs to.

        Returns
        -------
        tuple of ndarray
            ``(x, t)``: the current values of the model's ``x`` and ``t_obs``.

        Raises
        ------
        ValueError
            When the model is observed through sufficient statistics.
        """
        if self.statistics is not None:
            raise ValueError("this model sees the data through their sufficient statistics; it holds no rows")
        return model["x"].get_value(), model["t_obs"].get_value()

    def input_template(self, model: pm.Model) -> np.ndarray:
        """A 0-row array shaped like the training inputs (to check new inputs against).

        Parameters
        ----------
        model : pm.Model
            The model this design belongs to.

        Returns
        -------
        ndarray (0,) or (0, D)
            An empty array with the training inputs' trailing shape.
        """
        return self.data.template if self.statistics is not None else model["x"].get_value()[:0]

    def gaussian_data(self, model: pm.Model) -> GaussianData:
        """:class:`GaussianData` for the closed forms of a Gaussian model with one sigma: the rows themselves, or
        their sufficient statistics, for which every least-squares problem has the same solution.

        Parameters
        ----------
        model : pm.Model
            The model this design belongs to.

        Returns
        -------
        GaussianData
            ``design``, ``target``, ``features``, ``n`` and ``extra_sse`` of the least-squares problems.
        """
        if self.statistics is None:
            x, t = self.rows(model)
            return GaussianData(self.conditioned_design(x), t, self.features(x), len(t), 0.0)
        s = self.statistics
        features = np.linalg.solve(self.conditioned.T.T, s.r.T).T  # R T^-1
        return GaussianData(s.r, s.z, features, s.n, s.rss)


@dataclass(frozen=True)
class GaussianData:
    r"""What the Gaussian closed forms need, from rows or from sufficient statistics, such that for every ``a``

    .. math::

        \sum_n (t_n - \Phi(x_n) w)^2 = \lVert \mathrm{target} - \mathrm{design}\, a\rVert^2 + \mathrm{extra\_sse}
        = \lVert \mathrm{target} - \mathrm{features}\, w\rVert^2 + \mathrm{extra\_sse}, \qquad w = T a.

    Rows: ``design`` = Z (conditioned), ``target`` = t, ``features`` = :math:`\Phi`, ``extra_sse`` = 0.
    Statistics: ``design`` = R, ``target`` = :math:`Q^\top t`, ``features`` = :math:`R T^{-1}`, ``extra_sse`` =
    the least-squares residual sum of squares.
    """

    design: np.ndarray
    target: np.ndarray
    features: np.ndarray
    n: int
    extra_sse: float


def internal_coordinates(z, sigma0, prior, conditioned):
    """``r_inverse``: R from the QR of [Z / sigma0; T / prior sd] whitens the posterior at a nominal noise level
    sigma0, ``w_internal = R a``. Z may be replaced by any matrix with the same Z^T Z (the R of its QR, as the
    sufficient statistics hold), which gives the same R.

    Parameters
    ----------
    z : ndarray (N, p)
        The conditioned design :math:`Z` (or the R of the sufficient statistics).
    sigma0 : float
        The nominal noise level.
    prior : models.priors.Prior
        The prior on ``w``; its ``sd`` (None for an improper prior) adds the rows :math:`T / \\mathrm{sd}`.
    conditioned : models.basis.Conditioned
        The basis' conditioned coordinates (for :math:`T`).

    Returns
    -------
    ndarray (p, p)
        :math:`R^{-1}`, so that ``a = r_inverse @ w_internal``.
    """
    p = z.shape[1]
    rows = z / sigma0
    if prior.sd is not None:
        prior_sd = np.broadcast_to(prior.sd, (p,))
        rows = np.vstack([rows, conditioned.T / prior_sd[:, None]])
    r = triangular_factor(np.array(rows, order="F"))
    return np.linalg.solve(r, np.eye(p))


def _variables(model) -> frozenset:
    """Every named variable of the model with its kind: what an edit would change."""
    kinds = {"free": model.free_RVs, "observed": model.observed_RVs, "potential": model.potentials,
             "deterministic": model.deterministics, "data": model.data_vars}
    return frozenset((kind, v.name) for kind, variables in kinds.items() for v in variables)


class RegressionModel(pm.Model):
    """A ``pm.Model`` made by one of the suite's builders, which keeps the design it was built from.

    Use it like any ``pm.Model``. The builders call :meth:`seal` once the graph is complete; from then on the
    model's ``design`` is available as long as no variable is added (:func:`design_of`).
    """

    def __init__(self, design=None, coords=None):
        super().__init__(coords=coords)
        self._design = design
        self._sealed = None

    def seal(self) -> RegressionModel:
        """Record the model's variables: the design holds for exactly these.

        Returns
        -------
        RegressionModel
            The model itself.
        """
        self._sealed = _variables(self)
        return self

    @property
    def design(self):
        """The builder's design while the model is as built, else None.

        Returns
        -------
        Design or models.mlp.Network or None
            None once a variable was added after :meth:`seal` (or before it is called).
        """
        if self._design is None or self._sealed != _variables(self):
            return None
        return self._design


def check_posterior(model: pm.Model) -> None:
    """For a model a builder made (:func:`design_of`), refuse an improper posterior before any sampling
    (:meth:`Design.check_posterior`); other models are the user's to specify."""
    design = design_of(model)
    if design is not None:
        design.check_posterior(model)


def design_of(model: pm.Model, kind: type = Design):
    """The :class:`Design` (or another ``kind`` of design) of a model as a builder made it, else None.

    Parameters
    ----------
    model : pm.Model
    kind : type
        The kind of design asked for (``Design``; ``models.mlp.Network`` for a network).

    Returns
    -------
    Design or models.mlp.Network or None
        The model's design if it is a :class:`RegressionModel` as built and its design is a ``kind``, else None.

    Raises
    ------
    TypeError
        When ``model`` is not a ``pm.Model``.
    """
    check_model(model)
    design = model.design if isinstance(model, RegressionModel) else None
    return design if isinstance(design, kind) else None
