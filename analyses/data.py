r"""The data sets the analyses share: PRML section 1.1's noisy sine, in one place; and the reader of a user's CSV
file (``--data``).

Bishop's *Pattern Recognition and Machine Learning* (2006), section 1.1: inputs :math:`x_n \sim U(0, 1)`, targets
:math:`t_n = \sin(2\pi x_n) + \epsilon_n` with :math:`\epsilon_n \sim \mathcal N(0, \sigma^2)`, :math:`\sigma = 0.3`.

Examples
--------
>>> import numpy as np
>>> x, t = prml_data(10, np.random.default_rng(0))
>>> x.shape, t.shape, bool(((0 <= x) & (x < 1)).all())
((10,), (10,), True)
"""

import csv
import functools
import os
import re

import numpy as np
import pandas as pd

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


# 1,200 / 1.200,5 / 1'200 / 1 200, and a decimal comma: 2,5
THOUSANDS = re.compile(r"[+-]?(\d{1,3}([,.' ]\d{3})+([.,]\d*)?|\d+,\d+)")


def load_csv(path, x_columns, t_column):
    """The columns ``x_columns`` of the CSV file ``path`` (a DataFrame, so the weights are named after them) and the
    column ``t_column`` (a Series): the file of ``python -m analyses --data``, whose command reads it before any
    analysis imports PyMC, so that a bad cell is refused in a second.

    Read cell by cell: a cell that is not a finite number, a line with a field too many or too few, a blank line
    between rows (blank lines at the end are ignored) or a file without rows is refused with a ValueError naming
    the column and the file's line (1-based, as an editor shows it). Nothing is skipped, guessed or converted
    (pandas would skip blank lines and read "1,200" or "true" as text, leaving the line unnamed).
    """
    stamp = os.stat(path)
    x, t = _read(os.fspath(path), stamp.st_mtime_ns, stamp.st_size, tuple(x_columns), t_column)
    return x.copy(), t.copy()


@functools.lru_cache(maxsize=1)  # keyed on the file's modification time and size too: an edited file is read again
def _read(path, mtime_ns, size, x_columns, t_column):
    names = [*x_columns, t_column]
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        where = {name: header.index(name) for name in names}
        columns = {name: [] for name in names}
        line = reader.line_num + 1  # where the next record starts (a quoted cell may span lines)
        blank = None  # the first blank line: allowed at the end of the file only
        for record in reader:
            if not any(cell.strip() for cell in record):
                blank = line if blank is None else blank
                line = reader.line_num + 1
                continue
            if blank is not None:
                raise ValueError(f"line {blank} is blank: remove it (every line after the header is one row)")
            if len(record) != len(header):
                raise ValueError(f"line {line} has {len(record)} fields but the header has {len(header)}: a "
                                 "separator too many or too few (a decimal comma or a thousands separator needs "
                                 "the cell in quotes)")
            for name, index in where.items():
                columns[name].append(_number(record[index], name, line))
            line = reader.line_num + 1
    if not columns[t_column]:
        raise ValueError("the file has a header but no rows")
    frame = pd.DataFrame(columns, dtype=float)
    return frame[list(x_columns)], frame[t_column]


def _number(cell, column, line):
    """The float in ``cell`` of ``column`` on ``line``, or a ValueError saying what it is instead."""
    text = cell.strip()
    where = f"column {column!r}, line {line}: {cell!r}"
    if not text or text.lower() in ("na", "nan", "n/a", "null", "none"):
        raise ValueError(f"{where} is a missing value: fill it in or remove the line")
    if text.lower() in ("true", "false", "yes", "no"):
        raise ValueError(f"{where} is a boolean: write it as 1 or 0")
    if THOUSANDS.fullmatch(text) and not _is_float(text):
        raise ValueError(f"{where} has a thousands separator or a decimal comma: write it as a plain number "
                         "(1200.5)")
    if "_" in text or not _is_float(text):
        raise ValueError(f"{where} is not a number: correct it, or leave the column out of --x/--t")
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"{where} is {'a missing value (NaN)' if value != value else 'infinite'}: give a finite "
                         "number or remove the line")
    return value


def _is_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
