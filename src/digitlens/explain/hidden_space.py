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
    place(m, model, digit)       # {"pixels": (x, y), "hidden": (x, y)}: one digit on both maps

Left out: UMAP and t-SNE (they would need libraries digitlens does not depend on, and their
maps change from run to run); PCA's map is exact and repeatable.
"""

import numpy as np

from ..errors import DigitlensError
from ..nn.threads import batch_threads
from .common import dense_layers, prepare_one, run_layer


def pca(values, components=2):
    """{"mean", "axes" (components, features), "points" (N, components), "explained" (share of
    variance along each axis)} for the rows of `values`, through np.linalg.svd of the centred data."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise DigitlensError(f"the map needs at least 2 images, received {len(values)}")
    mean = values.mean(axis=0)
    centred = values - mean
    with batch_threads(len(values)):         # on a busy machine, one core: threads queueing for
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)    # cores made it 10x slower
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


def hidden_map(model, x, y, layer=-2, pixels=None):
    """Maps of the images x (with labels y) in the hidden space and in pixel space.

    layer: which fully connected layer's activations (-2: the last hidden one). pixels: the pixel
    map of these same images, if already made (pixel_map(x): it does not depend on the model).
    Returns {"labels", "hidden": pca(...) of the activations with "layer" (its name) and "index"
    (its number among the Dense layers), "pixels": pca(...) of the pixels 0-1, "layer_index"}.
    """
    x = model.prepare_inputs(x, "x")
    y = model.prepare_labels(y, len(x), "y")
    hidden = pca(hidden_activations(model, x, layer))
    dense = dense_layers(model)
    hidden["layer"] = dense[layer][1].name
    hidden["index"] = layer % len(dense)
    return {"labels": y, "hidden": hidden, "pixels": pixel_map(x) if pixels is None else pixels}


def pixel_map(x):
    """pca() of the images x by their raw pixels (0-1 if x is uint8 0-255): the course's PCA lesson."""
    x = np.asarray(x)
    values = x.reshape(len(x), -1).astype(np.float64)
    return pca(values / 255.0 if x.dtype == np.uint8 else values)


def place(maps, model, image):
    """Where one image (28x28 or 784, uint8 0-255 or floats 0-1) lands on both maps of
    hidden_map(): {"pixels": [x, y], "hidden": [x, y]}, by project() - the same centring and the
    same two directions as the images the maps were made of."""
    x = prepare_one(model, image)
    activations = hidden_activations(model, x, maps["hidden"]["index"])
    return {"pixels": project(maps["pixels"], x.reshape(1, -1))[0].tolist(),
            "hidden": project(maps["hidden"], activations)[0].tolist()}


def centres(points, labels, classes):
    """(classes, 2): each class's median point on a map (where its name is written); NaN for a
    class with no points."""
    points, labels = np.asarray(points), np.asarray(labels)
    return np.array([np.median(points[labels == k], axis=0) if np.any(labels == k) else [np.nan, np.nan]
                     for k in range(classes)])


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
