"""Pictures of how a model does on a test set (digitlens.explain.evaluation.evaluate).

    e = evaluate(model, x_test, y_test)
    confusion_figure(e)          # who is mistaken for whom
    per_class_figure(e)          # accuracy per digit
    mistakes_figure(e, x_test)   # the mistakes the model was most sure of
"""

import numpy as np

from .style import FOCUS, NEUTRAL, RIGHT, TEXT, drawn_in_house_style, image_axes, ink, new_figure


@drawn_in_house_style
def confusion_figure(e, width=7.0):
    """Figure: the confusion matrix, counts written in every cell. Rows: the true label; columns:
    what the model said. The diagonal (right answers) is green, mistakes orange to red."""
    from matplotlib.colors import LinearSegmentedColormap

    confusion = np.asarray(e["confusion"])
    names = e["class_names"]
    classes = len(confusion)
    mistakes = confusion * (1 - np.eye(classes, dtype=confusion.dtype))
    fig = new_figure(width, width * 0.9)
    ax = fig.add_subplot()
    reds = LinearSegmentedColormap.from_list("mistakes", ["#ffffff", "#fdae61", "#d73027"])
    shown = ax.imshow(np.sqrt(mistakes), cmap=reds, vmin=0, vmax=max(np.sqrt(mistakes.max()), 1))
    for k in range(classes):
        ax.add_patch(_square(k, "#d9f0d3"))
    for r in range(classes):
        for c in range(classes):
            n = confusion[r, c]
            if n:
                ax.text(c, r, f"{n:,}", ha="center", va="center", fontsize=8 if n < 1000 else 7,
                        color="white" if r != c and np.sqrt(n) > 0.6 * np.sqrt(mistakes.max()) else TEXT,
                        fontweight="bold" if r == c else "normal")
    ax.set_xticks(range(classes), names)
    ax.set_yticks(range(classes), names)
    ax.set_xlabel("the model said")
    ax.set_ylabel("the right answer")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_title(f"Confusion matrix: {e['count']:,} test images, accuracy {e['accuracy']:.2%}.\n"
                 "Green diagonal: right answers. Off the diagonal: mistakes (redder = more).",
                 fontsize=10, loc="left", pad=28)
    bar = fig.colorbar(shown, ax=ax, shrink=0.7)
    ticks = [t for t in (1, 5, 10, 25, 50, 100, 250, 500) if t <= mistakes.max()] or [0]
    bar.set_ticks(np.sqrt(ticks), labels=[str(t) for t in ticks])
    bar.set_label("mistakes in the cell")
    return fig


@drawn_in_house_style
def per_class_figure(e, width=7.0):
    """Figure: the share of each class's test images the model got right."""
    from matplotlib.ticker import PercentFormatter

    accuracy = [a if a is not None else 0.0 for a in e["per_class_accuracy"]]
    names = e["class_names"]
    worst = int(np.argmin(accuracy))
    fig = new_figure(width, 3.0)
    ax = fig.add_subplot()
    colours = [FOCUS if k == worst else NEUTRAL for k in range(len(accuracy))]
    ax.bar(range(len(accuracy)), accuracy, color=colours)
    low = max(0.0, min(accuracy) - 0.08)
    for k, a in enumerate(accuracy):         # written inside the bar's top: the axis ends at 100%
        ax.text(k, a - 0.012 * (1 - low), f"{a:.1%}", ha="center", va="top", fontsize=7.5, color="white",
                fontweight="bold")
    ax.axhline(e["accuracy"], color=RIGHT, lw=1.2, ls="--", zorder=0)
    ax.set_ylim(low, 1.0)
    ax.set_xticks(range(len(accuracy)), names)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("right answers")
    ax.set_title(f"Accuracy per class (the axis runs from {low:.0%} to 100%; green dashes: overall "
                 f"{e['accuracy']:.2%}). Hardest, in purple: {names[worst]}", loc="left", fontsize=10)
    return fig


@drawn_in_house_style
def mistakes_figure(e, x, columns=8, count=None, width=12.0):
    """Figure: the most confident mistakes, each with what it is, what the model said and how sure
    it was. x: the test images evaluate() was given (to draw them)."""
    names = e["class_names"]
    mistakes = e["confident_mistakes"][:count] if count else e["confident_mistakes"]
    rows = max(1, -(-len(mistakes) // columns))
    fig = new_figure(width, 1.95 * rows * width / 12 + 0.5)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        image_axes(ax)
    for ax, m in zip(axes.flat, mistakes):
        ax.imshow(ink(np.asarray(x[m["index"]])))
        ax.set_title(f"#{m['index']}: is {names[m['label']]}\nsaid {names[m['predicted']]} "
                     f"({m['confidence']:.1%})", fontsize=8.5, color=TEXT, fontweight="normal")
        ax.set_xlabel(f"p({names[m['label']]}) = {m['probability_of_label']:.2%}", fontsize=8)
    fig.suptitle("The mistakes the model was most sure of (test image number, the right answer, what "
                 "it said and its probability)", x=0.01, ha="left", fontsize=10)
    return fig


def _square(k, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((k - 0.5, k - 0.5), 1, 1, facecolor=colour, edgecolor="none", zorder=0.5)
