r"""A neural-network mean: the seed's model with :math:`y(x \mid w)` a small multilayer perceptron.

The generative story (row-vector convention, as in the code; :math:`a` is the activation):

.. math::

    z &= (x - m_x) / s_x \quad\text{(standardization, constants fixed on the training } x\text{)} \\
    h^{(0)} &= z, \qquad h^{(l+1)} = a\big(h^{(l)} W_l + b_l\big), \quad l = 0, \dots, L - 1 \\
    y(x \mid w) &= h^{(L)} W_L + b_L \\
    w = (W_0, b_0, \dots, W_L, b_L) &\sim p(w) \quad\text{(one prior on every weight and bias; Normal: weight decay)} \\
    \sigma &\sim p(\sigma) \quad\text{(when learned: HalfFlat, HalfNormal, HalfCauchy, Jeffreys)} \\
    t_n &\sim \mathcal N\big(y(x_n \mid w), \sigma^2\big)

so, exactly as for the linear builders, :math:`-\log p(t \mid x, w, \sigma) = \frac{N}{2\sigma^2}\mathrm{MSE}(w)
+ \frac N2 \log(2\pi\sigma^2)` (PRML eq. 5.12-5.14): with flat priors and a fixed ``sigma`` the MAP is the
MSE-trained network, and a Normal prior adds weight decay (PRML eq. 5.112). Unlike the linear case the
objective is not convex: the MAP is *a* local optimum, the one the optimizer reaches from its start.

Model variables: ``W0``, ``b0``, ..., ``W{L}``, ``b{L}`` (dims ``input``/``hidden_l``), ``sigma`` when learned,
the network output ``mu`` (a ``Deterministic``, dims ``obs_id``), observed ``t`` (dims ``obs_id``), data ``x``
and ``t_obs`` in ``pm.Data``. The standardization constants :math:`m_x, s_x` are numbers in the graph, not
functions of the data variable, so the same weights mean the same function after ``pm.set_data`` with new ``x``.

The model is a :class:`models.design.RegressionModel` whose ``design`` is the :class:`Network`. Helpers working
from the model alone (through ``model.design``): :func:`mlp_forward` (the NumPy forward
pass), :func:`mlp_initial_point` (a seeded Glorot/He start for :func:`models.fit_map` and
:func:`models.fit_advi`) and :func:`mlp_predictive` (draws of ``mu`` and ``t`` at new inputs).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ._checks import as_data, as_new_inputs, posterior_tree
from .design import RegressionModel, design_of
from .fit.results import value_point
from .likelihoods import Gaussian
from .priors import Flat, check_w_prior

if TYPE_CHECKING:
    import xarray as xr
    from numpy.typing import ArrayLike

    from .priors import Prior, ScalePrior

ACTIVATIONS = ("tanh", "relu")


@dataclass(frozen=True)
class Network:
    """The design of a network model: what :func:`mlp_regression` built (``model.design``)."""

    hidden: tuple  # units per hidden layer
    activation: str
    standardization: tuple  # (m_x, s_x): z = (x - m_x) / s_x, arrays of shape (D,)
    x_ndim: int  # 1 or 2, as the training x
    layer_names: tuple  # ((W0, b0), (W1, b1), ..., (W{L}, b{L}))
    likelihood: Gaussian
    prior: object

    @property
    def parameter_names(self):
        """The names of the weights and biases in layer order: W0, b0, W1, b1, ...

        Returns
        -------
        tuple of str
            ``W0``, ``b0``, ..., ``W{L}``, ``b{L}``.
        """
        return tuple(name for pair in self.layer_names for name in pair)

    def shapes(self, n_inputs):
        """The shape of every weight and bias, by name.

        Parameters
        ----------
        n_inputs : int
            The number of input columns D (1 for a 1-D x).

        Returns
        -------
        dict
            ``{name: shape}``: ``W{l}`` (fan-in, fan-out) and ``b{l}`` (fan-out,) for the hidden layers, ``W{L}``
            (H,) and ``b{L}`` () for the output.
        """
        sizes = (n_inputs, *self.hidden)
        shapes = {}
        for (weight, bias), fan_in, fan_out in zip(self.layer_names[:-1], sizes[:-1], sizes[1:]):
            shapes[weight], shapes[bias] = (fan_in, fan_out), (fan_out,)
        weight, bias = self.layer_names[-1]
        shapes[weight], shapes[bias] = (sizes[-1],), ()
        return shapes


def _check_hidden(hidden):
    if not isinstance(hidden, (tuple, list)):
        raise TypeError(f"hidden must be a tuple of positive integers (units per layer), got {type(hidden).__name__}")
    if len(hidden) == 0:
        raise ValueError("hidden must have at least one layer; for a linear mean use models.gaussian_regression")
    for units in hidden:
        if isinstance(units, bool) or not isinstance(units, numbers.Integral):
            raise TypeError(f"hidden must be a tuple of positive integers, got an entry {units!r}")
        if units < 1:
            raise ValueError(f"hidden must be a tuple of positive integers, got {tuple(hidden)}")
    return tuple(int(units) for units in hidden)


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def _check_prior(prior):
    prior = check_w_prior(Flat() if prior is None else prior)
    try:
        prior.check_size(1)
    except ValueError:
        raise ValueError("prior: mlp_regression puts one prior on every weight and bias; give scalar parameters, "
                         f"got {prior!r}") from None
    return prior


def _standardization(x):
    """(m_x, s_x) of the training inputs, per column; a constant column is refused."""
    columns = x.reshape(len(x), -1)
    mean, sd = columns.mean(axis=0), columns.std(axis=0)
    constant = np.nonzero(sd <= 1e-12 * np.maximum(np.abs(mean), 1.0))[0].tolist()
    if constant:
        raise ValueError(f"x: column(s) {constant} are constant on the training data, so they cannot be "
                         "standardized and carry no information; drop them")
    return mean, sd


def _activate(h, activation, xp):
    if activation == "tanh":
        return xp.tanh(h)
    return xp.maximum(h, 0.0)


def mlp_regression(x: ArrayLike, t: ArrayLike, *, hidden: tuple[int, ...] | list[int] = (8,), activation: str = "tanh",
                   prior: Prior | None = None, sigma: float | None = None,
                   sigma_prior: ScalePrior | None = None) -> RegressionModel:
    r"""Regression with an MLP mean: :math:`t_n \sim \mathcal N(y(x_n \mid w), \sigma^2)`, :math:`y` a small network.

    The network (see the module docstring for the full story):

    .. math::

        h^{(0)} = \frac{x - m_x}{s_x}, \qquad h^{(l+1)} = a\big(h^{(l)} W_l + b_l\big), \qquad
        y(x \mid w) = h^{(L)} W_L + b_L,

    with :math:`m_x, s_x` the mean and (population) sd of each column of the training ``x``, fixed numbers in the
    graph, so the weights keep their meaning after ``pm.set_data`` with new ``x``.

    With the default flat prior and a fixed ``sigma`` the negative log posterior is
    :math:`\frac{N}{2\sigma^2}\mathrm{MSE}(w)` + const, so the MAP is the MSE-trained network.
    With ``prior=priors.Normal(scale, loc)`` on every weight and bias (and a fixed ``sigma``) the MAP minimizes

    .. math::

        \mathrm{MSE}(w) + \frac{\sigma^2}{N\,\mathrm{scale}^2} \lVert w - \mathrm{loc} \rVert^2,

    i.e. weight decay with :math:`\lambda = \sigma^2 / (N\,\mathrm{scale}^2)` in this form, or
    :math:`\tfrac12 \mathrm{SSE} + \tfrac{\alpha}{2}\lVert w \rVert^2` with :math:`\alpha = \sigma^2/\mathrm{scale}^2`
    (PRML eq. 5.112), the biases included.

    Parameters
    ----------
    x : array of shape (N,) or (N, D), or a pandas Series/DataFrame
        Inputs. No column may be constant (it could not be standardized).
    t : array of shape (N,)
        Targets.
    hidden : tuple of positive int, default (8,)
        Units per hidden layer.
    activation : {"tanh", "relu"}, default "tanh"
        Hidden-layer nonlinearity. Only the smooth ``tanh`` suits NUTS and the Laplace approximation: ``relu``
        makes the log density kinked (its gradient jumps), which breaks the leapfrog integrator's assumptions;
        it is fine for the MAP.
    prior : models.priors.Prior, default ``Flat()``
        Prior on every weight and bias (scalar parameters), e.g. ``priors.Normal(scale)``: weight decay. The flat
        prior makes the posterior
        improper (the likelihood does not vanish as weights grow along saturated units): use it for the MAP
        only, and a Normal prior for ADVI or NUTS.
    sigma : float, optional
        A known noise sd. When omitted, ``sigma`` is learned under ``sigma_prior``.
    sigma_prior : models.priors.ScalePrior, default ``HalfFlat()``
        As in :class:`models.likelihoods.Gaussian`.

    Returns
    -------
    RegressionModel
        A ``pm.Model`` with weights ``W0``, ``b0``, ..., ``W{L}``, ``b{L}`` (and one Potential ``<name>_prior`` per
        weight when the prior adds a term), ``sigma`` when learned, the network output ``mu`` (dims ``obs_id``) and
        observed ``t`` (dims ``obs_id``); ``model.design`` is the :class:`Network`.

    Notes
    -----
    The posterior of a network is multimodal: permuting hidden units, or flipping the signs of a ``tanh``
    unit's in- and outgoing weights, gives the same function. Fits start from :func:`mlp_initial_point`.

    Examples
    --------
    The MSE-trained network with weight decay (under the flat prior this small network's valley is so flat, its
    output weights trading off against each other, that no optimizer reaches a stationary point: ``fit_map`` warns):

    >>> import numpy as np
    >>> from models import fit_map, priors
    >>> x = np.linspace(-1, 1, 20)
    >>> model = mlp_regression(x, np.sin(3 * x), hidden=(4,), sigma=0.1, prior=priors.Normal(1.0))
    >>> map_point = fit_map(model, start=mlp_initial_point(model, 0))
    >>> map_point["W0"].shape, map_point["mu"].shape
    ((1, 4), (20,))
    >>> bool(np.sqrt(np.mean((map_point["mu"] - np.sin(3 * x)) ** 2)) < 0.1)   # fits within the noise level
    True
    """
    hidden = _check_hidden(hidden)
    activation = _check_activation(activation)
    prior = _check_prior(prior)
    likelihood = Gaussian(sigma=sigma, sigma_prior=sigma_prior)
    x, t, columns = as_data(x, t)
    mean, sd = _standardization(x)
    n_inputs = 1 if x.ndim == 1 else x.shape[1]
    n_layers = len(hidden)
    layer_names = tuple((f"W{l}", f"b{l}") for l in range(n_layers + 1))
    network = Network(hidden, activation, (mean, sd), x.ndim, layer_names, likelihood, prior)
    n_parameters = sum(int(np.prod(shape)) for shape in network.shapes(n_inputs).values())
    penalty = prior.penalty(1)
    if penalty is not None and penalty.is_flat and likelihood.learns_sigma and len(t) <= n_parameters:
        raise ValueError(
            f"N = {len(t)} observations for {n_parameters} weights under a flat prior with a learned sigma: the "
            "network can fit t exactly, sigma -> 0 and there is no MAP; fix sigma, use fewer hidden units, or put "
            "a Normal prior on the weights"
        )

    units = [f"hidden_{l}" for l in range(n_layers)]
    coords = {"obs_id": np.arange(len(t)), "input": columns or (["x"] if x.ndim == 1 else
                                                               [f"x{j}" for j in range(n_inputs)])}
    coords.update({name: np.arange(size) for name, size in zip(units, hidden)})
    in_dims = ["input", *units]
    with RegressionModel(network, coords=coords) as model:
        x_data = pm.Data("x", x, dims=("obs_id",) if x.ndim == 1 else ("obs_id", "input"))
        t_data = pm.Data("t_obs", t, dims="obs_id")
        h = (x_data[:, None] if x.ndim == 1 else x_data) - pt.as_tensor(mean)
        h = h / pt.as_tensor(sd)
        for l, (weight, bias) in enumerate(layer_names):
            last = l == n_layers
            dims_w = (in_dims[l],) if last else (in_dims[l], units[l])
            dims_b = None if last else (units[l],)
            w_l = pm.Flat(weight, dims=dims_w)
            b_l = pm.Flat(bias, dims=dims_b)
            for name, value in ((weight, w_l), (bias, b_l)):
                logp = prior.logp(pt.atleast_1d(value))
                if logp is not None:
                    pm.Potential(f"{name}_prior", logp)
            h = pt.dot(h, w_l) + b_l
            if not last:
                h = _activate(h, activation, pt)
        mu = pm.Deterministic("mu", h, dims="obs_id")
        likelihood.observe(mu, t_data)
    return model.seal()


def _network(model):
    network = design_of(model, Network)
    if network is None:
        raise ValueError("model has no Network design: it was not made by models.mlp.mlp_regression (or was edited "
                         "since)")
    return network


def mlp_forward(params: dict, x: ArrayLike, *, activation: str = "tanh",
                standardization: tuple | None = None) -> np.ndarray:
    r"""The network's output :math:`y(x \mid w)` in NumPy, for one set of weights or a batch of them.

    Parameters
    ----------
    params : dict
        ``W0``, ``b0``, ..., ``W{L}``, ``b{L}`` as in the model (e.g. :func:`models.fit_map`'s result; other
        keys are ignored). Leading batch axes, the same on every entry, give one network per draw: e.g.
        ``W0`` of shape (chain, draw, D, H0).
    x : array of shape (M,) or (M, D)
        Inputs, on the original scale.
    activation : {"tanh", "relu"}
    standardization : tuple (m_x, s_x), optional
        The model's constants (``model.design.standardization``); None feeds ``x`` in as it is.

    Returns
    -------
    ndarray of shape (..., M)
        The batch axes of ``params`` followed by one value per input.
    """
    activation = _check_activation(activation)
    x = np.asarray(x, dtype=float)
    h = x.reshape(len(x), -1)
    if standardization is not None:
        mean, sd = standardization
        h = (h - mean) / sd
    n_layers = sum(1 for key in params if key.startswith("W") and key[1:].isdigit()) - 1
    if n_layers < 1 or any(f"{p}{l}" not in params for l in range(n_layers + 1) for p in "Wb"):
        raise ValueError(f"params must hold W0, b0, ..., W{{L}}, b{{L}} with L >= 1, got keys {sorted(params)}")
    for l in range(n_layers):
        weight, bias = np.asarray(params[f"W{l}"], float), np.asarray(params[f"b{l}"], float)
        h = _activate(h @ weight + bias[..., None, :], activation, np)
    weight, bias = np.asarray(params[f"W{n_layers}"], float), np.asarray(params[f"b{n_layers}"], float)
    return (h @ weight[..., None])[..., 0] + bias[..., None]


def mlp_initial_point(model: pm.Model, rng: np.random.Generator | int | None = None) -> dict:
    r"""A seeded starting point for :func:`models.fit_map` / :func:`models.fit_advi`: a dict of value-variable values.

    Weights are scaled normals, :math:`W_l \sim \mathcal N(0, 2/(\text{fan-in} + \text{fan-out}))` for ``tanh``
    (Glorot & Bengio 2010) and :math:`\mathcal N(0, 2/\text{fan-in})` for ``relu`` (He et al. 2015), on the
    standardized inputs; hidden biases are :math:`\mathcal N(0, 0.1^2)` (so kinks and centres are not all at
    0), the output bias is the mean of ``t`` and a learned ``sigma`` starts at the sd of ``t``.

    Parameters
    ----------
    model : pm.Model
        Made by :func:`mlp_regression`.
    rng : np.random.Generator or int, optional
        The generator, or a seed for one.

    Returns
    -------
    dict
        Values of the model's value variables (weights, biases, and the transformed ``sigma`` when learned).
    """
    spec = _network(model)
    rng = np.random.default_rng(rng)
    x, t = model["x"].get_value(), model["t_obs"].get_value()
    shapes = spec.shapes(1 if x.ndim == 1 else x.shape[1])
    point = {}
    for l, (weight, bias) in enumerate(spec.layer_names):
        shape = shapes[weight]
        fan_in, fan_out = shape[0], (shape[1] if len(shape) == 2 else 1)
        variance = 2.0 / fan_in if spec.activation == "relu" else 2.0 / (fan_in + fan_out)
        point[weight] = np.sqrt(variance) * rng.standard_normal(shape)
        last = l == len(spec.hidden)
        point[bias] = np.array(np.mean(t)) if last else 0.1 * rng.standard_normal(shapes[bias])
    if spec.likelihood.learns_sigma:
        point.update(value_point(model, {"sigma": float(np.std(t)) or 1.0}))  # through sigma's own transform
    return point


def _posterior_params(spec, posterior):
    missing = [name for name in spec.parameter_names if name not in posterior]
    if missing:
        raise ValueError(f"idata.posterior lacks the network's weights {missing}")
    return {name: posterior[name].values for name in spec.parameter_names}


def mlp_predictive(model: pm.Model, idata: xr.DataTree, x_new: ArrayLike, *,
                   random_seed: int | np.random.Generator | None = None) -> xr.DataTree:
    r"""Posterior predictive at new inputs: ``mu`` = :math:`y(x_{new} \mid w)` and ``t`` per posterior draw.

    ``mu`` is the NumPy forward pass (:func:`mlp_forward`) at every draw of the weights, ``t`` adds
    :math:`\mathcal N(0, \sigma^2)` noise with the fixed ``sigma`` or the draw's own. The spread of ``mu`` is the
    epistemic part of the predictive (the weights' uncertainty), the noise the aleatoric part.

    Parameters
    ----------
    model : pm.Model
        Made by :func:`mlp_regression` (its ``design`` gives the architecture and standardization).
    idata : xarray.DataTree
        With a ``posterior`` group holding ``W0``, ``b0``, ... (and ``sigma`` when learned), e.g. from
        :func:`models.sample_posterior` or :func:`models.fit_advi`.
    x_new : array of shape (M,) or (M, D)
        New inputs, with the training ``x``'s number of dimensions (and columns).
    random_seed : int or np.random.Generator, optional
        For the noise of ``t``.

    Returns
    -------
    xarray.DataTree
        A ``predictions`` group with ``mu`` and ``t`` (dims ``chain``, ``draw``, ``obs_id``) and a
        ``predictions_constant_data`` group with ``x`` = ``x_new``.
    """
    spec = _network(model)
    posterior_tree(idata)
    x_new = as_new_inputs(x_new, model["x"].get_value())
    params = _posterior_params(spec, idata.posterior)
    mu = mlp_forward(params, x_new, activation=spec.activation, standardization=spec.standardization)
    if spec.likelihood.learns_sigma:
        sigma = idata.posterior["sigma"].values[..., None]
    else:
        sigma = spec.likelihood.sigma
    rng = np.random.default_rng(random_seed)
    t = mu + sigma * rng.standard_normal(mu.shape)
    m = len(x_new)
    x_dims = ["obs_id"] if x_new.ndim == 1 else ["obs_id", "input"]
    coords = {"obs_id": np.arange(m)}
    if x_new.ndim == 2:
        coords["input"] = list(model.coords["input"])
    return az.from_dict({"predictions": {"mu": mu, "t": t}, "predictions_constant_data": {"x": x_new}},
                        pred_coords=coords, pred_dims={"mu": ["obs_id"], "t": ["obs_id"], "x": x_dims})
