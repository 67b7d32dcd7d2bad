r"""Sufficient statistics of the Gaussian likelihood, from one pass over chunks of the data.

For :math:`t_n \sim \mathcal N(z(x_n)^\top a, \sigma^2)` the likelihood sees the data only through
:math:`Z^\top Z`, :math:`Z^\top t`, :math:`t^\top t` and :math:`N`. They are kept here in the numerically stable
form of a QR factorization of the design with the targets appended (never as :math:`Z^\top Z`, whose condition
number is the square of :math:`Z`'s):

.. math::

    [\,Z \mid t\,] = Q \begin{bmatrix} R & z \\ 0 & \rho \end{bmatrix}, \qquad
    \lVert t - Z a \rVert^2 = \lVert z - R a \rVert^2 + \rho^2 ,

with :math:`R` upper triangular (p x p), :math:`z = Q^\top t` and :math:`\rho^2` the least-squares residual sum
of squares. The factor of the stacked rows of two chunks is the factor of their two factors stacked, so it is
accumulated chunk by chunk (the "TSQR" reduction: Demmel, Grigori, Hoemmen & Langou 2012, SIAM J. Sci. Comput.
34(1)) with O(p^2) memory beyond one chunk, from NumPy arrays, memory-mapped ``.npy`` files
(``np.load(path, mmap_mode="r")``), Dask arrays, whose blocks are reduced on Dask's scheduler (a
``distributed.Client`` when one is active), or the columns of a Dask DataFrame (``ddf[["x1", "x2"]]``,
``ddf["t"]``, e.g. from ``dd.read_parquet``), reduced partition by partition where each is read: p^2 numbers per
partition travel to the client, never rows.

Z is the basis' *conditioned* design (:meth:`Conditioned.transform`), whose centring and scaling depend only on
the range of each column of x, found in a first pass.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np

from .optimize import triangular_factor

CHUNK_ROWS = 65_536
PIECE_ROWS = 16_384  # rows of [Z | t] factored at a time, in one reused buffer (1.4 MB for 11 columns)
TARGET_COLUMN = "__t__"  # the target's name beside the inputs' columns, in one Dask DataFrame


@dataclass(frozen=True)
class GaussianStatistics:
    """``n`` observations summarized by ``r`` (p x p, upper triangular, diagonal >= 0), ``z = Q^T t`` and
    ``rss`` = :math:`\\rho^2`, the least-squares residual sum of squares on the conditioned design."""

    n: int
    r: np.ndarray
    z: np.ndarray
    rss: float


def is_dask(value) -> bool:
    """Whether ``value`` is a Dask collection (by its module, so Dask is imported only when used).

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True when the type of ``value`` comes from the ``dask`` package.
    """
    return type(value).__module__.split(".")[0] == "dask"


def is_out_of_core(x, t):
    """Whether ``x`` or ``t`` is a memory-mapped array or a Dask array (read in chunks, never loaded whole).

    Parameters
    ----------
    x, t : object
        The inputs and targets as given.

    Returns
    -------
    bool
        True when either is an ``np.memmap`` or a Dask collection.
    """
    return any(isinstance(v, np.memmap) or is_dask(v) for v in (x, t))


def is_dask_frame(value) -> bool:
    """Whether ``value`` is a Dask DataFrame or Series (columns of a table read by Dask, e.g. ``dd.read_parquet``).

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True for ``dask.dataframe`` DataFrames and Series.
    """
    if not is_dask(value):
        return False
    import dask.dataframe as dd

    return isinstance(value, (dd.DataFrame, dd.Series))


def _frame_columns(value, name):
    """The column names of a Dask DataFrame (None for a Series), its columns' dtypes checked from its metadata:
    real numbers only (no data is read)."""
    import dask.dataframe as dd

    frame = isinstance(value, dd.DataFrame)
    dtypes = value.dtypes if frame else {value.name: value.dtype}
    if frame and len(value.columns) == 0:
        raise ValueError(f"{name} has no columns")
    for column, dtype in dict(dtypes).items():
        where = f"{name}'s column {column!r}" if frame else name
        kind = getattr(dtype, "kind", "O")
        if kind == "b" or str(dtype) == "boolean":
            raise TypeError(f"{where} is boolean (dtype {dtype}): pass numbers (0/1 as float) if that is meant")
        if kind not in "iuf":
            raise TypeError(f"{where} does not hold real numbers (dtype {dtype})")
    return [str(column) for column in value.columns] if frame else None


def _check_array(value, name, ndim):
    dtype = np.dtype(value.dtype)
    if dtype.kind == "b":
        raise TypeError(f"{name} is a boolean array; pass numbers (e.g. {name}.astype(float) if 0/1 is meant)")
    if dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {dtype}")
    if value.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {allowed}, got shape {value.shape}")
    if 0 in value.shape:
        raise ValueError(f"{name} is empty: at least one observation is needed")


def _all_finite(values):
    """Whether every value is finite, mostly from one read: a NaN or an infinity makes its column's sum
    non-finite; only when a sum is not finite (or overflows from finite values) are the values looked at one by one."""
    with np.errstate(over="ignore", invalid="ignore"):
        sums = np.sum(values, axis=0)
    return bool(np.isfinite(sums).all()) or bool(np.isfinite(values).all())


def _finite_rows(values, name, start):
    """``values`` (rows from global row ``start``) as float64, refusing non-finite values with their row numbers."""
    values = np.asarray(values, dtype=np.float64)
    if not _all_finite(values):
        bad = ~np.isfinite(values)
        rows = (start + np.unique(np.nonzero(bad)[0])[:5]).tolist()
        raise ValueError(f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf) in rows {start} to "
                         f"{start + len(values) - 1}, first at row(s) {rows}")
    return values


def _checked_chunk(x, t, start):
    """The chunk as float64, refusing non-finite values with their global row numbers."""
    return _finite_rows(x, "x", start), _finite_rows(t, "t", start)


def _finite_partition(part, index, count, label):
    """A partition's columns as float64, refusing a missing or non-finite value by its column (``label(column)``
    names it) and the partition."""
    values = part.to_numpy(dtype=np.float64, na_value=np.nan)
    if not _all_finite(values):
        bad = ~np.isfinite(values)
        first = int(np.nonzero(bad.any(axis=0))[0][0])
        raise ValueError(f"{label(part.columns[first])} has {int(bad[:, first].sum())} missing or non-finite "
                         f"value(s) (NaN, NA or inf) in partition {index} (ddf.partitions[{index}], of {count}): "
                         "drop or fill them (ddf.dropna(), ddf.fillna(...))")
    return values


def _column_label(name, series, column):
    return name if series else f"{name}'s column {str(column)!r}"


class ChunkedData:
    """``x`` (N,) or (N, D) and ``t`` (N,) read in chunks of rows: NumPy or memory-mapped arrays, or Dask arrays.

    Shapes and dtypes are checked at once, values chunk by chunk as they are read; nothing is copied whole.
    """

    def __init__(self, x, t, *, chunk_rows=CHUNK_ROWS):
        self.frames = is_dask_frame(x) or is_dask_frame(t)
        self.columns = None
        if self.frames:
            self._init_frames(x, t)
            return
        for name, value in (("x", x), ("t", t)):
            if not (isinstance(value, np.ndarray) or is_dask(value)):
                raise TypeError(f"{name} must be a NumPy, memory-mapped or Dask array here, got {type(value).__name__}")
        _check_array(x, "x", (1, 2))
        _check_array(t, "t", (1,))
        if x.shape[0] != t.shape[0]:
            raise ValueError(f"x and t must have the same number of rows, got {x.shape[0]} and {t.shape[0]}")
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        self.dask = is_dask(x) or is_dask(t)
        if self.dask:
            import dask.array as da

            x, t = da.asarray(x), da.asarray(t)
            x = x.rechunk({1: -1}) if x.ndim == 2 else x  # whole rows in every block
            t = t.rechunk((x.chunks[0],))
        self.x, self.t, self.chunk_rows = x, t, int(chunk_rows)
        self.n = int(x.shape[0])
        self.template = np.empty((0,) + tuple(x.shape[1:]))  # shape of the inputs, for checking new inputs

    def _init_frames(self, x, t):
        """Columns of Dask DataFrames (``ddf[["x1", "x2"]]``, ``ddf["t"]``): mapped partition by partition on Dask's
        scheduler, where the partitions are read; N is known after the first pass (:meth:`ranges`)."""
        if not (is_dask_frame(x) and is_dask_frame(t)):
            raise TypeError("give x and t both as Dask DataFrame columns (ddf[[...]] and ddf[...]), or both as "
                            "arrays: a frame's partitions cannot be matched with an array's blocks")
        import dask.dataframe as dd

        if isinstance(t, dd.DataFrame):
            raise ValueError("t must be one column of a Dask DataFrame (ddf['t']), got a DataFrame")
        self.columns = _frame_columns(x, "x")
        _frame_columns(t, "t")
        # one collection, so that every partition holds the same rows of both (mapped separately, x and t would be
        # optimized separately, and Dask may group a one-column read of Parquet files into other partitions)
        self.one_input = isinstance(x, dd.Series)  # 1-D inputs, as a NumPy x of one column would be
        inputs = x.to_frame() if self.one_input else x
        if TARGET_COLUMN in inputs.columns:
            raise ValueError(f"x has a column named {TARGET_COLUMN!r}, the name the target takes here: rename it")
        try:
            self.frame = inputs.assign(**{TARGET_COLUMN: t})
        except (ValueError, NotImplementedError) as error:
            raise ValueError(f"x and t must be columns of the same Dask DataFrame (their partitions must hold the "
                             f"same rows): {error}") from None
        self.x, self.t, self.dask, self.chunk_rows = x, t, True, None
        self.n = None  # counted by the first pass
        width = len(self.columns) if self.columns is not None else None
        self.template = np.empty((0, width) if width is not None else (0,))

    def map(self, function):
        """``[function(x_chunk, t_chunk) for each chunk]``, the chunks checked and in float64; Dask blocks are
        mapped on Dask's scheduler.

        Parameters
        ----------
        function : callable
            ``function(x_chunk, t_chunk)`` on float64 arrays of up to ``chunk_rows`` rows (a Dask block's rows).

        Returns
        -------
        list
            The results, one per chunk, in row order.

        Raises
        ------
        ValueError
            When a chunk holds non-finite values (naming their global rows).
        """
        if self.dask:
            import dask

            return list(dask.compute(*self._tasks(function)))
        return [_apply(function, self.x[s:s + self.chunk_rows], self.t[s:s + self.chunk_rows], s)
                for s in range(0, self.n, self.chunk_rows)]

    def reduce(self, function, combine):
        """``combine`` folded over ``[function(x_chunk, t_chunk) for each chunk]``, as :meth:`map` reads them; Dask's
        chunks are combined pairwise on the workers, so one result travels to the client, however many chunks.

        Parameters
        ----------
        function : callable
            ``function(x_chunk, t_chunk)``, as in :meth:`map`.
        combine : callable
            ``combine(a, b)``: two results into one, associative (the order of the chunks is kept).

        Returns
        -------
        object
            The combined result.
        """
        if not self.dask:
            results = self.map(function)
            result = results[0]
            for other in results[1:]:
                result = combine(result, other)
            return result
        import dask

        tasks = self._tasks(function)
        while len(tasks) > 1:  # a balanced tree, in row order
            pairs = [dask.delayed(combine)(a, b) for a, b in zip(tasks[::2], tasks[1::2])]
            tasks = pairs + tasks[len(pairs) * 2:]
        (result,) = dask.compute(tasks[0])
        return result

    def _tasks(self, function):
        """One Dask task per block (Dask arrays) or partition (a Dask DataFrame's columns), in row order."""
        import dask

        if self.frames:
            parts = self.frame.to_delayed()
            return [dask.delayed(_apply_partition)(function, part, k, len(parts), self.one_input)
                    for k, part in enumerate(parts)]
        starts = np.concatenate([[0], np.cumsum(self.x.chunks[0])[:-1]])
        x_blocks, t_blocks = self.x.to_delayed().ravel(), self.t.to_delayed().ravel()
        return [dask.delayed(_apply)(function, xb, tb, int(s)) for xb, tb, s in zip(x_blocks, t_blocks, starts)]

    def ranges(self):
        """Column minima and maxima of x, as a 2-row array shaped like x (what the bases' conditioning needs), and
        the largest |t|, in one pass (which also counts the rows: ``n``).

        Returns
        -------
        ndarray (2,) or (2, D)
            The minima, then the maxima, of every column.
        float
            ``max |t|`` (for :meth:`models.likelihoods.Likelihood.check_target_scale`).
        """
        ranges, largest, self.n = _summary_or_refusal(self.reduce(_summary, _merged_summaries))
        return ranges, largest

    def first_ranges(self):
        """The ranges of x in the first chunk (Dask block, partition) alone, read by itself: a cheap guess at the
        whole data's, or None when that chunk is empty.

        Returns
        -------
        ndarray (2,) or (2, D), or None
            As :meth:`ranges`, over the first chunk's rows.
        """
        if self.dask:
            import dask

            (piece,) = dask.compute(self._tasks(_summary)[0])  # only the first partition is read
        else:
            piece = _apply(_summary, self.x[:self.chunk_rows], self.t[:self.chunk_rows], 0)
        return None if piece is None else piece[0]


def _summary(x, t):
    """Column minima and maxima of a chunk, its largest |t| and its number of rows (None for an empty chunk)."""
    if len(t) == 0:  # an empty partition (e.g. after a filter)
        return None
    return np.stack([x.min(axis=0), x.max(axis=0)]), float(max(t.max(), -t.min())), len(t)  # no |t| array


def _merged_summaries(a, b):
    if a is None or b is None:
        return a if b is None else b
    extremes = np.stack([np.minimum(a[0][0], b[0][0]), np.maximum(a[0][1], b[0][1])])
    return extremes, max(a[1], b[1]), a[2] + b[2]


def _summary_or_refusal(summary):
    if summary is None:
        raise ValueError("x is empty: at least one observation is needed")
    return summary


def _apply_partition(function, part, index, count, one_input):
    """``function`` on partition ``index`` (of ``count``) of the inputs' columns and the target's
    (:data:`TARGET_COLUMN`), as float64 arrays; a missing or non-finite value is refused naming its column and the
    partition (run where the partition is read)."""
    def label(column):
        return "t" if column == TARGET_COLUMN else _column_label("x", one_input, column)

    values = _finite_partition(part, index, count, label)
    inputs = values[:, 0] if one_input else values[:, :-1]
    return function(inputs, values[:, -1])


def input_blocks(x, name, template):
    """New inputs given as a Dask array or Dask DataFrame columns, as delayed float64 blocks of whole rows, each
    checked where it is read (missing or non-finite values refused, naming the column and partition or the rows).

    Parameters
    ----------
    x : dask.array.Array or dask.dataframe.DataFrame / Series
        Inputs shaped like the training inputs ``template``.
    name : str
        The argument's name, for the messages.
    template : ndarray (0,) or (0, D)
        The training inputs' shape.

    Returns
    -------
    list of dask.delayed.Delayed
        The blocks, in row order.
    list of int
        Their numbers of rows (counted in one pass over a DataFrame's partitions when Dask does not know them).
    """
    import dask
    import dask.array as da

    width = template.shape[1] if template.ndim == 2 else None
    if is_dask_frame(x):
        columns = _frame_columns(x, name)  # None for a Series
        got = 1 if columns is None else len(columns)
        if got != (width or 1):
            raise ValueError(f"{name} must have {width or 1} column(s) like the training inputs, got {got}")
        frame = x.to_frame() if columns is None else x
        lengths = [int(n) for n in frame.map_partitions(len).compute()]
        parts = frame.to_delayed()
        blocks = [dask.delayed(_inputs_of_partition)(part, k, len(parts), name, columns is None, width is None)
                  for k, part in enumerate(parts)]
        return blocks, lengths
    x = da.asarray(x)
    _check_array(x, name, (template.ndim,))
    if width is not None and x.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns like the training inputs, got {x.shape[1]}")
    x = x.rechunk({1: -1}) if x.ndim == 2 else x
    if any(np.isnan(c) for c in x.chunks[0]):
        x = x.compute_chunk_sizes()
    starts = np.concatenate([[0], np.cumsum(x.chunks[0])[:-1]])
    blocks = [dask.delayed(_finite_rows)(block, name, int(start)) for block, start in
              zip(x.to_delayed().ravel(), starts)]
    return blocks, [int(c) for c in x.chunks[0]]


def _inputs_of_partition(part, index, count, name, series, flat):
    values = _finite_partition(part, index, count, partial(_column_label, name, series))
    return values[:, 0] if flat else values


def _apply(function, x, t, start):
    x, t = _checked_chunk(x, t, start)
    return function(x, t)


def gaussian_statistics(data, conditioned):
    """One pass over ``data`` (:class:`ChunkedData`): the :class:`GaussianStatistics` of the conditioned features
    :math:`Z(x)` and t.

    Parameters
    ----------
    data : ChunkedData
        The rows, read chunk by chunk.
    conditioned : models.basis.Conditioned
        The basis' conditioned coordinates (its ``fill`` writes :math:`Z(x)`).

    Returns
    -------
    GaussianStatistics
        ``n``, ``r``, ``z`` and ``rss`` of the stacked rows ``[Z | t]``.
    """
    return statistics_of(data.reduce(partial(_factor_of_chunk, conditioned), _stacked), data.n)


def ranges_and_factor(data, conditioned):
    """One pass over ``data`` for both :meth:`ChunkedData.ranges` and the triangular factor of
    :func:`gaussian_statistics` in ``conditioned`` (a guess at the conditioning, e.g. from
    :meth:`ChunkedData.first_ranges`); the ranges are checked before :func:`statistics_of` makes the statistics.

    Parameters
    ----------
    data : ChunkedData
        The rows, read chunk by chunk.
    conditioned : models.basis.Conditioned
        The conditioned coordinates the factor is computed in.

    Returns
    -------
    ndarray (2,) or (2, D)
        The minima, then the maxima, of every column of x.
    float
        ``max |t|``.
    ndarray (p + 1, p + 1)
        R of ``[Z(x) | t]``: ``statistics_of(factor, data.n)`` equals :func:`gaussian_statistics`' result.
    """
    def both(x, t):
        return _summary(x, t), _factor_of_chunk(conditioned, x, t)

    def combined(a, b):
        return _merged_summaries(a[0], b[0]), _stacked(a[1], b[1])

    summary, factor = data.reduce(both, combined)
    ranges, largest, data.n = _summary_or_refusal(summary)
    return ranges, largest, factor


def _factor_of_chunk(conditioned, x, t):
    """R of a chunk's ``[Z | t]`` (None for no rows). A chunk (a Dask block or partition is often 1e6 rows) goes in
    pieces of PIECE_ROWS written into one reused Fortran-ordered buffer (LAPACK's layout) and factored there; the
    pieces' factors are stacked and factored once. The buffer keeps the Householder sweeps in the cache and asks
    for no new memory per piece: on a Dask worker glibc returns every freed block of more than 64 kB to the system
    (distributed sets MALLOC_TRIM_THRESHOLD_), and touching fresh pages again cost 4x the arithmetic."""
    if len(t) == 0:
        return None
    width = len(conditioned.to_w) + 1
    buffer = np.empty((min(PIECE_ROWS, len(t)), width), order="F")
    pieces = []
    for start in range(0, len(t), PIECE_ROWS):
        stop = min(start + PIECE_ROWS, len(t))
        rows = buffer if stop - start == len(buffer) else np.empty((stop - start, width), order="F")
        conditioned.fill(x[start:stop], rows[:, :-1])
        rows[:, -1] = t[start:stop]
        pieces.append(triangular_factor(rows, overwrite=True))
    if len(pieces) == 1:
        return pieces[0]
    return triangular_factor(np.asfortranarray(np.vstack(pieces)), overwrite=True)


def _stacked(upper, lower):
    """The factor of two chunks' rows is the factor of their two factors stacked."""
    if upper is None or lower is None:
        return upper if lower is None else lower
    return triangular_factor(np.asfortranarray(np.vstack([upper, lower])), overwrite=True)


def statistics_of(factor, n):
    """The :class:`GaussianStatistics` of ``n`` rows whose ``[Z | t]`` has the triangular factor ``factor``."""
    p = factor.shape[0] - 1
    return GaussianStatistics(n=n, r=factor[:p, :p], z=factor[:p, p], rss=float(factor[p, p] ** 2))
