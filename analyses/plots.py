"""Figure helpers shared by the analyses: ArviZ 1's plots (arviz-plots, matplotlib backend) with a reference point."""

import arviz as az
import numpy as np
import xarray as xr

REFERENCE_COLOR = "tab:red"
REFERENCE_COLOR_NAME = "red"  # as captions name it
REFERENCE_LINESTYLE = "--"  # dashed


class FlatLabeller(az.labels.BaseLabeller):
    """Panel titles on one line, ``w[a]``: ArviZ's flat label, where its titles stack the name over the coordinate
    (``w`` above ``a``), two lines that read as two names."""

    def make_label_vert(self, var_name, sel, isel):
        return self.make_label_flat(var_name, sel, isel)


def posterior_with_reference(idata, reference, *, var_names, ci_prob, title, columns=3, panel_size=(3.0, 2.4)):
    """``az.plot_dist`` of ``var_names`` (KDE, posterior mean and its ``ci_prob`` equal-tailed interval), one panel
    per coordinate (titled ``w[a]``: :class:`FlatLabeller`), with ``reference`` ({variable: value or array over its last
    dim}) drawn as a dashed red line.

    Returns the matplotlib Figure. Panels wrap after ``columns``, so a model with many weights stays readable at
    page width.
    """
    posterior = idata["posterior"]
    lines = {}
    for name in var_names:
        values = np.asarray(reference[name], dtype=float)
        dims = posterior[name].dims[2:]
        lines[name] = xr.DataArray(values, dims=dims, coords={d: posterior[name][d].values for d in dims})
    panels = sum(int(np.prod([posterior.sizes[d] for d in posterior[name].dims[2:]])) for name in var_names)
    columns = min(columns, panels)
    rows = -(-panels // columns)
    collection = az.plot_dist(
        idata, var_names=list(var_names), kind="kde", point_estimate="mean", ci_kind="eti", ci_prob=ci_prob,
        backend="matplotlib", labeller=FlatLabeller(), col_wrap=columns,
        figure_kwargs={"figsize": (panel_size[0] * columns, panel_size[1] * rows + 0.4), "layout": "constrained"},
    )
    az.add_lines(collection, xr.Dataset(lines),
                 visuals={"ref_line": {"color": REFERENCE_COLOR, "linestyle": REFERENCE_LINESTYLE}})
    figure = collection.viz["figure"].item()
    figure.suptitle(title, fontsize=10)
    return figure
