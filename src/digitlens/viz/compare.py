"""Pictures of two models side by side (explain/compare.py), and the comparison as one HTML page.

    confusion_pair_figure(result)        A's and B's confusion matrices and their difference
    per_class_pair_figure(result)        accuracy per class, A beside B
    first_layers_figure(a, b)            the first layer's weight images of both models
    gallery_figure(result, x, "only_a")  images one reads right and the other wrong
    write_compare_report(models, result, "compare.html", x_test)

A and B keep their colours in every picture: A blue, B grey; a difference uses the diverging scale
(blue where A has more, red where B has more).
"""

from html import escape

import numpy as np

from ..atomic import write_bytes
from ..errors import DigitlensError
from . import html as h
from .style import DIVERGING, NEUTRAL, POSITIVE, TEXT, diverging_colorbar, drawn_in_house_style, \
    image_axes, ink, new_figure, symmetric_limit

COLOURS = (POSITIVE, NEUTRAL)


@drawn_in_house_style
def confusion_pair_figure(result, width=12.0):
    """Figure: A's and B's confusion matrices (counts, off-diagonal emphasised) and A minus B."""
    names, labels = result["names"], result["class_names"]
    fig = new_figure(width, 4.4)
    axes = fig.subplots(1, 3)
    for ax, matrix, name in zip(axes[:2], result["confusion"], names):
        matrix = np.asarray(matrix)
        off = matrix * (1 - np.eye(len(matrix), dtype=matrix.dtype))
        ax.imshow(off, cmap="Greys", vmin=0, vmax=max(1, off.max()))
        for (i, j), v in np.ndenumerate(matrix):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=6.5,
                        color="white" if off[i, j] > off.max() / 2 else TEXT)
        _matrix_axes(ax, labels, f"{name}: confusion matrix")
    difference = np.asarray(result["confusion_difference"])
    limit = symmetric_limit(difference * (1 - np.eye(len(difference))))
    shown = axes[2].imshow(difference, cmap=DIVERGING, vmin=-limit, vmax=limit)
    for (i, j), v in np.ndenumerate(difference):
        if v:
            axes[2].text(j, i, f"{v:+d}", ha="center", va="center", fontsize=6.5,
                         color="white" if abs(v) > limit / 2 else TEXT)
    _matrix_axes(axes[2], labels, f"{names[0]} minus {names[1]}")
    diverging_colorbar(fig, shown, limit, "count", ax=axes[2], shrink=0.8)
    return fig


def _matrix_axes(ax, labels, title):
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)


@drawn_in_house_style
def per_class_pair_figure(result, width=12.0):
    """Figure: accuracy on each class, A's bar beside B's."""
    names, labels = result["names"], result["class_names"]
    fig = new_figure(width, 3.2)
    ax = fig.subplots()
    x = np.arange(len(labels))
    for k, (name, values, colour) in enumerate(zip(names, result["per_class_accuracy"], COLOURS)):
        values = np.array([v if v is not None else np.nan for v in values])
        ax.bar(x + (k - 0.5) * 0.38, values, width=0.38, color=colour, label=f"{name} ({result['accuracy'][k]:.2%})")
    low = np.nanmin([v for values in result["per_class_accuracy"] for v in values if v is not None])
    ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_xticks(x, labels)
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right", fontsize=8.5)
    ax.set_title("Accuracy on each class", loc="left")
    return fig


@drawn_in_house_style
def first_layers_figure(models, names, count=16, width=12.0):
    """Figure: the first `count` first-layer neurons' weight images of each model, one row each."""
    from ..explain.neurons import weight_images
    from .style import colorize

    rows = []
    for model, name in zip(models, names):
        try:
            rows.append((name, weight_images(model)[:count]))
        except DigitlensError as error:
            rows.append((name, error))
    fig = new_figure(width, 1.3 * len(rows) + 0.5)
    axes = fig.subplots(len(rows), count, squeeze=False)
    for r, (name, images) in enumerate(rows):
        for c in range(count):
            ax = axes[r, c]
            image_axes(ax)
            if isinstance(images, Exception) or c >= len(images):
                if c == 0 and isinstance(images, Exception):
                    ax.text(0, 0.5, str(images)[:80], fontsize=8, transform=ax.transAxes)
                continue
            ax.imshow(colorize(images[c], symmetric_limit(images[c])))
            if c == 0:
                ax.set_ylabel(name, fontsize=8.5)
    fig.suptitle("The first layer's weights, neuron by neuron (blue: ink here raises the neuron's sum)",
                 x=0.01, ha="left", fontsize=10, color=TEXT)
    return fig


@drawn_in_house_style
def gallery_figure(result, x, which="only_a", count=16, width=12.0):
    """Figure: images one model reads right and the other wrong, with both answers."""
    items = result[which][:count]
    names, labels = result["names"], result["class_names"]
    columns = 8
    rows = max(1, -(-len(items) // columns))
    fig = new_figure(width, 1.75 * rows + 0.5)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        image_axes(ax)
    for ax, item in zip(axes.flat, items):
        ax.imshow(ink(x[item["index"]]))
        ax.set_title(f"#{item['index']}: {labels[item['label']]}\n{names[0][:10]}: "
                     f"{labels[item['prediction_a']]}, {names[1][:10]}: {labels[item['prediction_b']]}",
                     fontsize=7)
    right, wrong = (names[0], names[1]) if which == "only_a" else (names[1], names[0])
    fig.suptitle(f"Read right by {right}, wrong by {wrong}" + ("" if items else ": none"), x=0.01,
                 ha="left", fontsize=10, color=TEXT)
    return fig


def _shifted_section(result):
    """The same test digits moved by two pixels: each model's accuracy, and the answers that changed."""
    if not result.get("shifted"):
        return ""
    names = result["names"]
    rows = [(r["shift"], *[f"{a:.2%} ({c:.1%} changed)" for a, c in zip(r["accuracy"], r["changed"])])
            for r in result["shifted"]]
    return h.section("shifted", "The same digits, two pixels over", h.para(
        "Every test image moved by two whole pixels, nothing else changed. A dense network's first layer has "
        "one weight per pixel position, so a moved digit meets other weights; a convolution slides the same "
        "filters over every position, and pooling forgets a pixel or so of where a stroke was. Accuracy on "
        "the moved images, and the share of images whose answer the move changed:"),
        h.table(["moved", *names], rows, text_columns=(0,)))


def write_compare_report(models, result, path, x, data_name=None):
    """The comparison as one self-contained HTML page (no network), written atomically."""
    names = result["names"]
    a, b = result["parameters"]
    rows = [("parameters", f"{a['total']:,}", f"{b['total']:,}"),
            ("layers", " -> ".join(r["label"] for r in a["layers"]), " -> ".join(r["label"] for r in b["layers"])),
            ("test accuracy", f"{result['accuracy'][0]:.2%}", f"{result['accuracy'][1]:.2%}"),
            ("test loss", f"{result['loss'][0]:.4f}", f"{result['loss'][1]:.4f}")]
    arithmetic = [h.para(f"<b>{escape(name)}</b>: " + "; ".join(
        f"{escape(r['name'])} {escape(r['arithmetic'])}" for r in table["layers"] if r["params"]))
        for name, table in zip(names, (a, b))]
    body = [f"<h1>{escape(names[0])} vs {escape(names[1])}</h1>",
            h.para(f"On {result['count']:,} test images{' of ' + escape(data_name) if data_name else ''}: "
                   f"they agree on <b>{result['agreement']:.2%}</b> of them. Both right: "
                   f"{result['both_right']:,}; both wrong: {result['both_wrong']:,}; only "
                   f"{escape(names[0])} right: {result['only_a_count']:,}; only {escape(names[1])} right: "
                   f"{result['only_b_count']:,}."),
            h.table(["", *names], rows, text_columns=(0, 1, 2)),
            *arithmetic,
            h.section("confusion", "Confusion matrices", h.img(confusion_pair_figure(result), "confusion matrices")),
            h.section("per-class", "Accuracy per class", h.img(per_class_pair_figure(result), "accuracy per class")),
            h.section("disagreements", "Where they disagree",
                      h.img(gallery_figure(result, x, "only_a"), f"read right by {names[0]} only"),
                      h.img(gallery_figure(result, x, "only_b"), f"read right by {names[1]} only")),
            _shifted_section(result),
            h.section("first-layer", "What their first layers learnt",
                      h.img(first_layers_figure(models, names), "first-layer weight images"))]
    document = h.page(f"digitlens: {names[0]} vs {names[1]}", "\n".join(body))
    write_bytes(path, document.encode("utf-8"), error=DigitlensError, make_parents=True)
    return path
