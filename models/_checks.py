"""Input checks shared by the bases, priors, likelihoods and builders.

Every check raises a ``ValueError`` or ``TypeError`` that names the argument, before any PyMC or
PyTensor work. Nothing is dropped or coerced silently: integers become float64 (exactly, for
|value| < 2**53), everything else that is not a real number is refused.
"""

import numbers
from collections import Counter
from pathlib import Path

import numpy as np

# The package's folder: warnings name the first line outside it (``warnings.warn(..., skip_file_prefixes=(PACKAGE,))``),
# i.e. the user's call, however deep inside the package they are raised.
PACKAGE = str(Path(__file__).resolve().parent)


def refuse_repeated_names(names, what):
    """ValueError naming each name that occurs more than once in ``names`` (``what``: where they come from)."""
    repeated = [label for label, count in Counter(names).items() if count > 1]
    if repeated:
        raise ValueError(f"{what} repeat a name: {', '.join(repr(label) for label in repeated)} (as text, the way "
                         f"they label the model's coordinates); every one needs its own, e.g. rename the columns")


def _refuse_pandas_dtypes(value, name, columns):
    """A TypeError naming the first column of a pandas DataFrame (or the Series) that does not hold real numbers."""
    from pandas.api import types

    dtypes = value.dtypes.items() if columns is not None else [(None, value.dtypes)]
    for label, dtype in dtypes:
        where = f"{name}'s column {str(label)!r}" if label is not None else name
        if types.is_bool_dtype(dtype):
            raise TypeError(f"{where} is boolean (dtype {dtype}); pass numbers (e.g. .astype(float) if 0/1 is meant)")
        if isinstance(dtype, types.CategoricalDtype):
            raise TypeError(f"{where} is categorical (dtype {dtype}): encode it as numbers first (e.g. "
                            "pandas.get_dummies)")
        if not types.is_numeric_dtype(dtype) or types.is_complex_dtype(dtype):
            raise TypeError(f"{where} does not hold real numbers (dtype {dtype}): convert it first (e.g. "
                            "pandas.to_numeric for numbers stored as text)")


def as_real_array(value, name, *, ndim=(1,)):
    """Return ``value`` as a finite float64 array with ``ndim`` in ``ndim``, or raise naming ``name``."""
    columns = None
    if hasattr(value, "columns") and hasattr(value, "to_numpy"):  # pandas DataFrame
        columns = [str(c) for c in value.columns]
        refuse_repeated_names(columns, f"{name}'s columns")
    if hasattr(value, "dtypes") and hasattr(value, "to_numpy"):  # pandas: name the columns that are not numbers
        _refuse_pandas_dtypes(value, name, columns)
    if hasattr(value, "isna") and hasattr(value, "to_numpy"):  # pandas Series/DataFrame
        missing = np.asarray(value.isna()).reshape(len(value), -1)
        if missing.any():
            where = (f" in column(s) {', '.join(repr(columns[j]) for j in np.flatnonzero(missing.any(axis=0)))}"
                     if columns else "")
            rows = [str(label) for label in value.index[missing.any(axis=1)][:5]]
            raise ValueError(f"{name} has {int(missing.sum())} missing value(s) (NaN/None){where}, first at row(s) "
                             f"{', '.join(rows)}; drop or impute them first")
        value = value.to_numpy(dtype=np.float64)  # every column numeric (above): nullable Int64 too
    try:
        array = np.asarray(value)
    except ValueError as error:  # NumPy's "inhomogeneous shape"
        lengths = sorted({len(row) for row in value if hasattr(row, "__len__")})
        raise ValueError(f"{name} is ragged: its rows have different lengths ({', '.join(map(str, lengths))}); "
                         "every row needs one value per input") from error
    if array.dtype == bool:
        raise TypeError(f"{name} is a boolean array; pass numbers (e.g. {name}.astype(float) if 0/1 is meant)")
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
    if array.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {allowed}, got shape {array.shape}")
    if array.ndim == 2 and array.shape[1] == 0 and array.shape[0] > 0:
        raise ValueError(f"{name} has {array.shape[0]} rows but no columns: at least one input is needed")
    if array.size == 0 or array.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one observation is needed")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])[:5].tolist()
        raise ValueError(f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), first at row(s) {rows}")
    return array, columns


def as_data(x, t, *, x_ndim=(1, 2)):
    """Check a pair of inputs ``x`` and targets ``t``; return float arrays and the column names of ``x``."""
    x, columns = as_real_array(x, "x", ndim=x_ndim)
    t, _ = as_real_array(t, "t", ndim=(1,))
    if x.shape[0] != t.shape[0]:
        raise ValueError(f"x and t must have the same number of rows, got {x.shape[0]} and {t.shape[0]}")
    return x, t, columns


def positive_scalar(value, name, *, allow_none=False):
    """A finite positive real number (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value.item()
        else:
            raise TypeError(f"{name} must be a positive real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return np.float64(value)  # a float with a dtype: PyTensor takes it as float64 without trying float32 (which
    # overflows with a RuntimeWarning for a scale of 1e140)


def scalar_or_vector(value, name, *, positive):
    """A real scalar or 1-D vector (per feature); ``positive`` requires every entry > 0."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number or a 1-D array of them, got bool")
    array = np.asarray(value)
    if array.dtype == bool or array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number or a 1-D array of them, got dtype {array.dtype}")
    if array.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array (one entry per feature), got shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    if positive and np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got {array}")
    return array


def non_negative_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def as_new_inputs(x_new, x):
    """New inputs ``x_new`` shaped like the training inputs ``x`` (same number of dimensions and columns)."""
    x_new, _ = as_real_array(x_new, "x_new", ndim=(x.ndim,))
    if x.ndim == 2 and x_new.shape[1] != x.shape[1]:
        raise ValueError(f"x_new must have {x.shape[1]} columns like x, got {x_new.shape[1]}")
    return x_new


def check_model(model) -> None:
    """A TypeError unless ``model`` is a ``pm.Model`` (any subclass, e.g. a builder's RegressionModel)."""
    import pymc as pm

    if not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pm.Model, got {type(model).__name__}")


def posterior_tree(idata, name="idata"):
    """``idata`` if it is an ``xarray.DataTree`` with a ``posterior`` group (ArviZ 1's results), else a TypeError."""
    import xarray as xr

    if not isinstance(idata, xr.DataTree) or "posterior" not in idata.children:
        raise TypeError(f"{name} must be an xarray.DataTree with a posterior group (as sample_posterior returns), "
                        f"got {type(idata).__name__}")
    return idata
