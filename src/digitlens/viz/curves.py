"""Training curves (digitlens.explain.history.curves): loss and accuracy as training went on.

    curves_figure(curves(model.history))

Each panel shows every batch's own value (thin, pale: it jumps because every batch holds different
images), their moving average (darker), the epoch means (dots) and, if there was validation data,
its values measured at the end of each epoch (dashed, teal). digitlens trains with the test set as
its validation data, so that curve is called "test set" here, as on the web page.
"""

from .style import NEUTRAL, POSITIVE, TEST_SET, drawn_in_house_style, new_figure


@drawn_in_house_style
def curves_figure(c, width=12.0):
    """Figure: loss (left) and accuracy (right) against epochs, per batch and per epoch."""
    fig = new_figure(width, 3.6)
    axes = fig.subplots(1, 2)
    epoch, batch = c["epoch"], c["batch"]
    for ax, key, title in ((axes[0], "loss", "Loss (lower is better)"),
                           (axes[1], "accuracy", "Accuracy (higher is better)")):
        if batch["x"]:
            ax.plot(batch["x"], batch[key], color=NEUTRAL, lw=0.5, alpha=0.45, label="each batch")
            ax.plot(batch["x"], batch[f"smoothed_{key}"], color=NEUTRAL, lw=1.4,
                    label=f"batches, mean of {batch['window']}")
        if key in epoch:
            ax.plot(epoch["x"], epoch[key], "o-", color=POSITIVE, lw=1.8, label="training, epoch mean")
        if f"val_{key}" in epoch:
            ax.plot(epoch["x"], epoch[f"val_{key}"], "s--", color=TEST_SET, lw=1.8,
                    label="test set, end of epoch")
        ax.set_xlabel("epoch")
        ax.set_title(title, loc="left")
        ax.set_xlim(0, max(epoch["x"] or [1]) + 0.05)
        if key == "accuracy":
            ax.yaxis.set_major_formatter(_percent())
            ax.set_ylim(top=1.0)                # accuracy ends at 100%
        ax.grid(alpha=0.25)
        ax.legend(fontsize=8, frameon=False)
    return fig


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
