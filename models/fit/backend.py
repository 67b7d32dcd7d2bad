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

Functions evaluated a few times to a few thousand times (ADVI's start curvature, Pathfinder's paths, a point's
deterministics, the MAP of a model optimized generically) are evaluated in :data:`ONE_SHOT` instead: NumPy evaluates
them operation by operation, after PyTensor's stabilizing rewrites, and nothing is compiled at all.

To use PyTensor's configured mode (e.g. numba) in the fitters too, set the attribute::

    import models.fit.backend
    models.fit.backend.COMPILE_MODE = None

A cold C compilation costs about a second of g++ per operation, and a new model brings tens of new operations. Every
module PyTensor writes begins with the same headers (Python's and NumPy's C API, two of C++'s), whose parsing is about
half of g++'s time for a small module, and PyTensor asks g++ for debugging information (``-g``) and its highest
optimization level (``-O3``). Inside :func:`compile_mode` the C modules are therefore compiled with :data:`C_FLAGS`
and ``-include`` of those headers, precompiled once per compiler, flags and environment
(:func:`precompiled_header`, next to PyTensor's compile folders). g++ uses a precompiled header only when it was made
with the same options, and otherwise reads the header as text: the modules are the same either way, only their
compilation is faster. Set ``C_FLAGS = ""`` and ``PRECOMPILE = False`` to compile as PyTensor does by itself.

``-O1`` instead of ``-O3``: measured in new processes with empty compile folders, alternating (5 pairs, as
``tools/compile_benchmark.py`` does), the cold ``fit_map`` and short NUTS of a Student-t regression compiled 20% faster
(31.5 s -> 25.4 s in the median, PyTensor's graph work included), while 2000 steps of PyMC's NUTS on it took the
same time (4.2 s), as did 10,000 steps of ADVI on the calibration's model (1.2-1.7 s either way), and one log
density and gradient of a 1e5-row model was as fast within the noise: the suite's operations call ``exp``/``log``
and BLAS, which the optimization level does not change. ``-O1`` also forms no fused multiply-adds (``-O2`` and
``-O3`` contract ``a * b + c`` on CPUs that have FMA), one source fewer of last-bit differences between CPUs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytensor
from pytensor.compile.mode import Mode
from pytensor.link.c.cmodule import GCC_compiler, std_include_dirs
from pytensor.link.vm import VMLinker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: The PyTensor mode of the fitters' compilations: ``"CVM"`` (the C backend) with a C++ compiler, else ``None``
#: (PyTensor's configured mode).
COMPILE_MODE: str | None = "CVM" if pytensor.config.cxx else None

#: The PyTensor mode of functions evaluated a few times to a few thousand times: a point's deterministics, a
#: transform, the differenced curvature that starts ADVI and ADVI's draws (one call of a function of the variational
#: parameters), the Laplace approximation's Newton steps to its mode, Pathfinder's L-BFGS paths (hundreds of
#: evaluations) and its draws, and the log density that :func:`models.fit_map` optimizes generically. Each operation
#: is evaluated in Python with NumPy (PyTensor's VM linker without C thunks), so nothing is compiled: a new graph costs
#: its graph rewrites only, where the C backend compiles a module per new operation. The rewrites are those of
#: PyTensor's ``"stabilize"`` query: canonicalization and the numerical stabilizations (``log(sigmoid(z))`` ->
#: ``-softplus(-z)``: -800.05 at z = -800, where PyTensor's ``"FAST_COMPILE"`` mode, used here before, gives -inf),
#: none of the later ones (specialization, elementwise fusion, BLAS, in-place), which pay only in compiled code.
#: Measured with empty caches: ``fit_pathfinder`` on the three models of the analysis ``map_vs_posterior`` 116 s with
#: the C backend (its first model 95 s), 16 s without compilation (warm, 2.5-3.4 s against 2.8-4.1 s); the generic
#: MAP of a 2-unit network (``mlp_regression``) 14.4 s with the C backend, 3.9 s here (warm 1.2 s and 1.6 s). Its
#: results do not depend on what a compile cache holds, so a seed gives the same draws every time. Not for graphs with
#: a ``Scan`` (e.g. PyMC's ``d2logp``): a Scan's inner function is compiled to C in this mode too, as modules of its
#: own (the Laplace approximation's Hessian is built without one: :func:`models.fit.approximate.log_density_hessian`).
ONE_SHOT: Mode = Mode(linker=VMLinker(use_cloop=False, c_thunks=False), optimizer="stabilize")

#: Flags added to PyTensor's ``gcc__cxxflags`` inside :func:`compile_mode`: no debugging information, g++'s first
#: optimization level (they follow PyTensor's ``-O3`` on the command line, and the last ``-O`` counts).
C_FLAGS: str = "-g0 -O1"

#: Whether :func:`compile_mode` has g++ include the precompiled :data:`HEADERS` (:func:`precompiled_header`).
PRECOMPILE: bool = True

#: The headers every C module of PyTensor's includes first, in its order (Python's and NumPy's C API, C++'s vector
#: and algorithm); each has include guards, so a module's own ``#include`` of them is then a no-op.
HEADERS = ("Python.h", "math.h", "numpy/arrayobject.h", "numpy/arrayscalars.h", "numpy/npy_math.h", "vector",
           "algorithm")

_logger = logging.getLogger(__name__)


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
    header = precompiled_header() if PRECOMPILE else None
    ours = _joined(C_FLAGS, header and f"-include {header}")
    flags = pytensor.config.gcc__cxxflags
    if not flags.endswith(ours):  # not already inside compile_mode (the flags are part of a module's cache key)
        flags = _joined(flags, ours)
    with pytensor.config.change_flags(mode=COMPILE_MODE, gcc__cxxflags=flags), warnings.catch_warnings():
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


def _joined(*flags: str | None) -> str:
    """The non-empty ``flags``, separated by spaces (PyTensor's ``gcc__cxxflags`` is one string)."""
    return " ".join(flag for flag in flags if flag)


def _module_flags() -> list[str]:
    """The flags with which PyTensor's C backend compiles an elementwise operation (``CLinker.compile_args`` of one),
    followed by :data:`C_FLAGS`, in the order of PyTensor's command line (``g++ -shared -g <these>``)."""
    import pytensor.tensor as pt
    from pytensor.graph import FunctionGraph
    from pytensor.link.c.basic import CLinker

    x = pt.dvector("x")
    with pytensor.config.change_flags(gcc__cxxflags=_joined(pytensor.config.gcc__cxxflags, C_FLAGS)):
        return ["-g", *CLinker().accept(FunctionGraph([x], [pt.exp(x)])).compile_args(), "-fvisibility=hidden"]


@functools.cache
def precompiled_header() -> Path | None:
    """:data:`HEADERS` precompiled by g++ with the flags of PyTensor's C modules: the path to pass to ``-include``.

    Made once per compiler, flags, platform, Python, NumPy and PyTensor, in a folder next to PyTensor's compile
    folders (``pytensor.config.base_compiledir``), and written atomically, so that processes compiling at the same
    time (test workers, the analyses' pool) each see either no precompiled header or a whole one. Returns None when
    g++ is not PyTensor's compiler or fails: the modules are then compiled as PyTensor does by itself.

    The folder is named after the configured flags, this CPU's ``-march`` flags (PyTensor's detection, run here first in
    every process: made later, inside :func:`compile_mode`, it would see the ``-include`` flag and find none, and the
    modules' flags and cache keys would differ between the process that made the header and the others), PyTensor's
    compile folder for this platform (``pytensor.config.compiledir``) and the Python and NumPy installations, not
    after the flags and include folders PyTensor derives from them: those are computed only when the header is made.
    Should they ever differ from the header's, g++ reads the header as text, as without one. Measured: eight new
    elementwise functions in a process that did not make the header, 6.5 s with it, 10.0 s without.

    Examples
    --------
    >>> header = precompiled_header()
    >>> header is None or header.with_suffix(".h.gch").is_file()
    True
    """
    compiler = pytensor.config.cxx
    if not compiler or "g++" not in Path(compiler).name:
        return None
    # PyTensor adds the -march/-m flags of this CPU to every module's flags (and so to its cache key), detected once
    # per process by GCC_compiler.compile_args. Detected while the flags hold -include, they come out empty: the
    # detection runs here first, with the configured flags, so that every process compiles with the same flags,
    # whether or not it made the header (measured before: the process that made it and every other process each
    # compiled the same modules under two keys, and the others could not use the header).
    GCC_compiler.compile_args()
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
        text = "".join(f"#include <{name}>\n" for name in HEADERS)
        identity = repr((compiler, version, pytensor.config.gcc__cxxflags, C_FLAGS, GCC_compiler.march_flags,
                         pytensor.config.compiledir, sys.prefix, np.__file__, text, np.__version__,
                         pytensor.__version__))
        folder = Path(pytensor.config.base_compiledir) / (
            "precompiled_header_" + hashlib.sha256(identity.encode()).hexdigest()[:16])
        header = folder / "modules.h"
        if header.with_suffix(".h.gch").is_file():
            return header
        flags = _module_flags()
        includes = [f"-I{folder}" for folder in std_include_dirs()]  # PyTensor's own -I list for its modules
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            (Path(scratch) / "modules.h").write_text(text)
            os.replace(Path(scratch) / "modules.h", header)
            compiled = Path(scratch) / "modules.h.gch"
            subprocess.run([compiler, "-x", "c++-header", *flags, *includes, "-o", str(compiled), str(header)],
                           capture_output=True, text=True, check=True)
            os.replace(compiled, header.with_suffix(".h.gch"))
        return header
    except (OSError, subprocess.CalledProcessError) as error:
        _logger.info("no precompiled header for PyTensor's C modules (%s): they are compiled as PyTensor does", error)
        return None
