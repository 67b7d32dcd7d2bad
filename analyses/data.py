r"""The data sets the analyses share: PRML section 1.1's noisy sine, in one place.

Bishop's *Pattern Recognition and Machine Learning* (2006), section 1.1: inputs :math:`x_n \sim U(0, 1)`, targets
:math:`t_n = \sin(2\pi x_n) + \epsilon_n` with :math:`\epsilon_n \sim \mathcal N(0, \sigma^2)`, :math:`\sigma = 0.3`.

Examples
--------
>>> import numpy as np
>>> x, t = prml_data(10, np.random.default_rng(0))
>>> x.shape, t.shape, bool(((0 <= x) & (x < 1)).all())
((10,), (10,), True)
"""

import numpy as np

SIGMA = 0.3  # the noise sd of PRML 1.1's targets


def prml_data(n, rng):
    """``n`` points of PRML 1.1: x ~ U(0, 1), t = sin(2 pi x) + N(0, SIGMA^2).

    Parameters
    ----------
    n : int
        Number of points.
    rng : numpy.random.Generator
        The source of every draw (x first, then the noise).

    Returns
    -------
    x, t : numpy.ndarray
        Inputs and targets, shape ``(n,)`` each.
    """
    x = rng.uniform(0, 1, n)
    return x, np.sin(2 * np.pi * x) + SIGMA * rng.normal(size=n)
