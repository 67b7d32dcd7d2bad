"""A reference MLP trainer that knows nothing of PyMC: the MSE and its backpropagated gradient in NumPy, SciPy's
L-BFGS-B and Newton steps. It exists to check the library (``tests/test_mlp.py``): PyTensor's gradient of the
model's log density, and ``fit_map``'s MAP of a network, against an independent implementation.
"""

import numpy as np
from scipy import optimize


def mse_and_gradient(params, x, t, *, activation, standardization):
    """MSE(w) = mean((y(x|w) - t)^2) and dMSE/dw for every weight and bias, by backpropagation (PRML section 5.3).

    Parameters
    ----------
    params : dict
        ``W0``, ``b0``, ..., ``W{L}``, ``b{L}`` as in :func:`models.mlp.mlp_regression`.
    x : ndarray of shape (N,) or (N, D)
    t : ndarray of shape (N,)
    activation : {"tanh", "relu"}
    standardization : tuple (m_x, s_x)
        The model's constants (``model.design.standardization``).

    Returns
    -------
    tuple (float, dict)
        The MSE and its gradient by parameter name.
    """
    mean, sd = standardization
    n_layers = len(params) // 2 - 1
    activations, pre_activations = [(x.reshape(len(x), -1) - mean) / sd], []
    for l in range(n_layers):
        a = activations[-1] @ params[f"W{l}"] + params[f"b{l}"]
        pre_activations.append(a)
        activations.append(np.tanh(a) if activation == "tanh" else np.maximum(a, 0.0))
    residual = activations[-1] @ params[f"W{n_layers}"] + params[f"b{n_layers}"] - t
    d_y = 2 * residual / len(t)
    gradient = {f"W{n_layers}": activations[-1].T @ d_y, f"b{n_layers}": np.array(d_y.sum())}
    d_h = np.outer(d_y, params[f"W{n_layers}"])
    for l in reversed(range(n_layers)):
        a = pre_activations[l]
        d_a = d_h * (1 - np.tanh(a) ** 2 if activation == "tanh" else (a > 0).astype(float))
        gradient[f"W{l}"] = activations[l].T @ d_a
        gradient[f"b{l}"] = d_a.sum(axis=0)
        d_h = d_a @ params[f"W{l}"].T
    return float(np.mean(residual**2)), gradient


def flatten(params, names):
    """The arrays ``params[name]`` for ``name`` in ``names``, raveled into one vector."""
    return np.concatenate([np.ravel(params[name]) for name in names])


def unflatten(vector, shapes):
    """The inverse of :func:`flatten`: ``{name: array of shape}`` from the vector, in the order of ``shapes``."""
    params, start = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        params[name] = vector[start:start + size].reshape(shape)
        start += size
    return params


def mse_objective(model, *, decay=0.0):
    """MSE(w) + decay * ||w||^2 and its gradient as functions of the flat weight vector, with the shapes of w.

    Only the data and the design (sizes, activation, standardization) are read from ``model``.
    """
    spec = model.design
    x, t = model["x"].get_value(), model["t_obs"].get_value()
    shapes = spec.shapes(1 if x.ndim == 1 else x.shape[1])

    def objective(vector):
        value, gradient = mse_and_gradient(unflatten(vector, shapes), x, t, activation=spec.activation,
                                           standardization=spec.standardization)
        return value + decay * vector @ vector, flatten(gradient, list(shapes)) + 2 * decay * vector

    return objective, shapes


def hessian(objective, vector, step=1e-6):
    """The Hessian by central differences of the analytic gradient (error ~step^2 times third derivatives)."""
    columns = [(objective(vector + step * e)[1] - objective(vector - step * e)[1]) / (2 * step)
               for e in np.eye(len(vector))]
    return (np.array(columns) + np.array(columns).T) / 2


def train_mse(model, start, *, decay=0.0):
    """Minimize MSE(w) + decay * ||w||^2 with SciPy from ``start``, knowing nothing of PyMC.

    L-BFGS-B with the hand-written gradient, then Newton steps with :func:`hessian`, which take the gradient to
    rounding level. Returns the weights and the objective's gradient there.
    """
    objective, shapes = mse_objective(model, decay=decay)
    result = optimize.minimize(objective, flatten(start, list(shapes)), jac=True, method="L-BFGS-B",
                               options={"maxiter": 50_000, "maxfun": 50_000, "ftol": 0.0, "gtol": 1e-13})
    vector = result.x
    for _ in range(3):
        vector = vector - np.linalg.solve(hessian(objective, vector), objective(vector)[1])
    return unflatten(vector, shapes), objective(vector)[1]
