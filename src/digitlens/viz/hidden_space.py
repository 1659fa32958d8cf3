"""Pictures of the hidden space (explain/hidden_space.py): the test images as points on two maps.

    maps_figure(hidden_map(model, x, y))    raw pixels (left) and the last hidden layer (right),
                                            one colour per digit, each digit's name at its centre

Both maps are principal-component projections, so their axes are the two directions along which
the images differ most; the share of the variance each axis carries is on the axis label.
"""

import numpy as np

from ..explain.hidden_space import separation
from .style import TEXT, drawn_in_house_style, new_figure

DIGIT_COLOURS = "tab10"       # ten distinguishable colours, one per digit


@drawn_in_house_style
def maps_figure(maps, class_names=None, width=12.0):
    """Figure: the pixel map beside the hidden map, coloured by digit."""
    from matplotlib import colormaps

    labels = np.asarray(maps["labels"])
    classes = int(labels.max()) + 1 if len(labels) else 10
    names = class_names or [str(k) for k in range(classes)]
    colours = colormaps[DIGIT_COLOURS](np.arange(classes) % 10)
    fig = new_figure(width, 5.4)
    axes = fig.subplots(1, 2)
    for ax, key, title in ((axes[0], "pixels", "the raw pixels"),
                           (axes[1], "hidden", f"the hidden layer ({maps['hidden'].get('layer', '')})")):
        space = maps[key]
        points = np.asarray(space["points"])
        ax.scatter(points[:, 0], points[:, 1], s=4, c=colours[labels], alpha=0.55, linewidths=0)
        for k in range(classes):
            members = points[labels == k]
            if len(members):
                centre = np.median(members, axis=0)
                ax.text(centre[0], centre[1], names[k], fontsize=13, fontweight="bold", ha="center",
                        va="center", color=colours[k], bbox={"facecolor": "white", "alpha": 0.75,
                                                              "edgecolor": "none", "pad": 1.5})
        explained = space["explained"]
        ax.set_xlabel(f"first direction ({explained[0]:.0%} of the variation)")
        ax.set_ylabel(f"second direction ({explained[1]:.0%})")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{len(points):,} test images by {title}: separation "
                     f"{separation(points, labels):.2f}", fontsize=10)
    fig.suptitle("The same images, mapped by what they look like (left) and by what the network makes of "
                 "them (right): the hidden layer pulls the digits apart", x=0.01, ha="left", fontsize=10,
                 color=TEXT)
    return fig
