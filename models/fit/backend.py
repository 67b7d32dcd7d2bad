"""Which PyTensor backend compiles the functions of ``models.fit``.

PyTensor 3 compiles with numba by default. numba compiles each new graph as a whole: a model seen for the first time
costs 5-20 s of compilation, and every new model (another likelihood, prior or basis) costs seconds again.
PyTensor's C backend compiles each operation once and keeps it in PyTensor's cache; a new model is linked from
operations already compiled. Measured on a 2-core machine with empty caches: the first ``fit_map`` of a Poisson
GLM 22 s with numba, 10 s with the C backend (then 1.4 s and 0.9 s for the same model again); the 96 ``fit_map``
cells of the test suite's likelihood x prior matrix 180 s and 91 s.

So the fitters here compile with :data:`COMPILE_MODE`, PyTensor's ``"CVM"`` mode, when PyTensor has a C++
compiler (``pytensor.config.cxx``), and with PyTensor's configured mode otherwise. nutpie always compiles with
numba (its own choice, :func:`models.sample_posterior`'s default sampler), and the functions you compile yourself
follow your PyTensor configuration: only the suite's fitters are concerned. The price: evaluations of a large
row-wise graph are slower (below); at the suite's sizes compilation dominates.

To use PyTensor's configured mode (e.g. numba) in the fitters too, set the attribute::

    import models.fit.backend
    models.fit.backend.COMPILE_MODE = None
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import TYPE_CHECKING

import pytensor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: The PyTensor mode of the fitters' compilations: ``"CVM"`` (the C backend) with a C++ compiler, else ``None``
#: (PyTensor's configured mode).
COMPILE_MODE: str | None = "CVM" if pytensor.config.cxx else None


@contextlib.contextmanager
def compile_mode() -> Iterator[None]:
    """Inside this context, PyTensor compiles with :data:`COMPILE_MODE` (PyTensor's ``config.change_flags``).

    Examples
    --------
    >>> import pytensor
    >>> from models.fit.backend import compile_mode
    >>> with compile_mode():
    ...     mode = pytensor.config.mode
    >>> mode == (COMPILE_MODE or pytensor.config.mode)
    True
    """
    if COMPILE_MODE is None:
        yield
        return
    with pytensor.config.change_flags(mode=COMPILE_MODE), warnings.catch_warnings():
        # PyTensor's note, at its first C compilation, that it found no BLAS library to link ("severely degraded"):
        # it then calls NumPy's BLAS through NumPy's C API. Measured: one log density and gradient of a row-wise
        # Gaussian model with N = 1e5 rows and 10 weights, 2.0 ms against numba's 1.1 ms; at the sizes of the
        # suite's row-wise models (the Gaussian ones use sufficient statistics from 5,000 rows) compilation dominates.
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation")
        yield


def in_compile_mode(function: Callable) -> Callable:
    """``function`` run inside :func:`compile_mode` (a decorator for the fitters)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with compile_mode():
            return function(*args, **kwargs)

    return wrapper
