"""The hidden space: where the network puts each image, flattened onto a page (a 2-D map).

A hidden layer turns every image into a list of activations - 256 numbers for the lesson's
network. Images the network finds alike get similar lists. To see that, the lists are projected
onto the two directions along which they vary most (principal component analysis, through NumPy's
SVD): each image becomes a point, coloured by its digit. Beside it, the same map of the raw
pixels (the course's PCA lesson): in pixel space the digits overlap; in the hidden space the
network has pulled them apart so that its last layer can tell them apart with straight lines.

    m = hidden_map(model, x_test[:2000], y_test[:2000])
    m["hidden"]["points"]        # (2000, 2): where each image lands in the hidden space
    m["pixels"]["points"]        # (2000, 2): the same images by their raw pixels
    project(m["hidden"], activations_of_a_new_digit)   # a drawn digit, on the same map

Left out: UMAP and t-SNE (they would need libraries digitlens does not depend on, and their
maps change from run to run); PCA's map is exact and repeatable.
"""

import numpy as np

from ..errors import DigitlensError
from .common import dense_layers, run_layer


def pca(values, components=2):
    """{"mean", "axes" (components, features), "points" (N, components), "explained" (share of
    variance along each axis)} for the rows of `values`, through np.linalg.svd of the centred data."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise DigitlensError(f"the map needs at least 2 images, received {len(values)}")
    mean = values.mean(axis=0)
    centred = values - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:components]
    # Fix each axis's sign (SVD may return either): the largest loading is positive, so the map
    # comes out the same way every time.
    axes = axes * np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular ** 2
    return {"mean": mean, "axes": axes, "points": centred @ axes.T,
            "explained": (variance[:components] / variance.sum()) if variance.sum() else np.zeros(components)}


def project(space, values):
    """Points (N, 2) of new rows `values` on a map made by pca()."""
    values = np.asarray(values, dtype=np.float64).reshape(-1, space["axes"].shape[1])
    return (values - space["mean"]) @ space["axes"].T


def hidden_activations(model, x, layer=-2):
    """The activations of fully connected layer `layer` (default: the last hidden one) for images x."""
    dense = dense_layers(model)
    if len(dense) < 2 and layer == -2:
        raise DigitlensError("this model has no hidden layer: its only Dense layer is the output")
    position = dense[layer][0]
    a = model.prepare_inputs(x, "x")
    for current in model.layers[:position + 1]:
        a = run_layer(current, a)
    return a.reshape(len(a), -1)


def hidden_map(model, x, y, layer=-2):
    """Maps of the images x (with labels y) in the hidden space and in pixel space.

    Returns {"labels", "hidden": pca(...) of the activations with "layer" (its name), "pixels":
    pca(...) of the pixels 0-1}.
    """
    x = model.prepare_inputs(x, "x")
    y = model.prepare_labels(y, len(x), "y")
    hidden = pca(hidden_activations(model, x, layer))
    hidden["layer"] = dense_layers(model)[layer][1].name
    pixels = pca(x.reshape(len(x), -1))
    return {"labels": y, "hidden": hidden, "pixels": pixels}


def separation(points, labels):
    """How far apart the digits are on a map: the mean distance between class centres divided by the
    mean spread within a class (larger = better separated). A number for the page to quote."""
    points, labels = np.asarray(points), np.asarray(labels)
    classes = np.unique(labels)
    centres = np.stack([points[labels == k].mean(axis=0) for k in classes])
    spread = np.mean([np.linalg.norm(points[labels == k] - centres[i], axis=1).mean()
                      for i, k in enumerate(classes)])
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(len(classes)) for j in range(i)]
    return float(np.mean(gaps) / spread) if spread > 0 and gaps else 0.0
