"""The parameters as the matrices they are: each Dense layer's kernel drawn at one cell per
weight, its bias beneath, with the arithmetic of digitlens.explain.parameters.parameter_table.

    parameters_figure(model)

Kernels are drawn to the same scale (one row per input), so the first layer's 784 x 256 block
towers over the output layer's 256 x 10 strip: that is where 99% of the parameters are. (A kernel
with very few rows is stretched to stay visible.)
"""

import textwrap

import numpy as np

from ..explain.parameters import parameter_table
from .style import (DIVERGING, LIMIT_PERCENTILE, TEXT, diverging_colorbar, drawn_in_house_style, new_figure,
                    symmetric_limit)


@drawn_in_house_style
def parameters_figure(model, width=12.0):
    """Figure: every Dense layer's kernel (rows = inputs, columns = units) and bias, coloured by
    weight on one shared scale centred on zero, labelled with its counts."""
    from matplotlib.ticker import MaxNLocator

    table = parameter_table(model)
    dense = [(row, layer) for row, layer in zip(table["layers"], model.layers)
             if len(row["kernel_shape"] or ()) == 2]             # kernels that are (inputs, units) matrices
    tallest = max(row["kernel_shape"][0] for row, _ in dense)
    limit = symmetric_limit(np.concatenate([layer.kernel.ravel() for _, layer in dense]), LIMIT_PERCENTILE)
    fig = new_figure(width, 6.2)
    ratios = [max(row["kernel_shape"][1], tallest / 8) for row, _ in dense]
    axes = fig.subplots(1, len(dense), width_ratios=ratios, squeeze=False)[0]
    for ax, (row, layer) in zip(axes, dense):
        n_in, units = row["kernel_shape"]
        drawn = max(n_in, tallest * 0.15)   # a tiny kernel is stretched to stay visible
        shown = ax.imshow(layer.kernel, cmap=DIVERGING, vmin=-limit, vmax=limit, aspect="auto",
                          interpolation="nearest", extent=(-0.5, units - 0.5, drawn, 0))
        gap, thick = tallest * 0.02, tallest * 0.035
        ax.set_ylim(tallest + gap + thick + tallest * 0.06, 0)
        if row["biases"]:
            ax.imshow(np.asarray(layer.bias)[None], cmap=DIVERGING, vmin=-limit, vmax=limit,
                      aspect="auto", extent=(-0.5, units - 0.5, drawn + gap + thick, drawn + gap))
            ax.text(units / 2 - 0.5, drawn + gap + thick + gap * 0.5, f"bias: {units:,} values",
                    ha="center", va="top", fontsize=8.5)
        ax.set_xlabel(f"{units:,} columns: one per unit")
        ax.set_yticks([drawn / n_in * 0.5, drawn * (1 - 0.5 / n_in)], ["0", f"{n_in - 1}"])
        ax.set_ylabel(f"{n_in:,} rows: one per input", labelpad=-8)
        ax.set_title(f"{row['name']}\n" + textwrap.fill(row["text"], 36)
                     + f"\n{row['bytes']:,} bytes as float32", fontsize=9.5, pad=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        for spine in ax.spines.values():
            spine.set_visible(False)
    diverging_colorbar(fig, shown, limit, "weight", ax=list(axes), shrink=0.7, pad=0.01)
    fig.suptitle(f"Every parameter, drawn as its matrix: {table['sum_text']} parameters = "
                 f"{table['size']} (4 bytes each)", x=0.01, ha="left", fontsize=11, color=TEXT)
    return fig
