"""How a neuron's weighted sum depends on the pixels through the layers below it: d z / d pixels.

A first-layer neuron computes z = bias + sum_i pixel_i x w_i, so its weight w_i *is* d z / d pixel_i,
the same for every image: that is why its weights can be drawn as a 28x28 picture of what it looks
for. A neuron further up sees the pixels only through the neurons below it, and those bend (relu cuts
at 0, tanh and sigmoid flatten out), so its d z / d pixels depends on the image. For one image,
backpropagation of the neuron's own z gives it, one layer at a time:

    g = kernel_k[:, unit]               d z / d (activations of layer k - 1)
    for each Dense layer j below, from k - 1 down to 0:
        g = f_j'(z_j) * g               through layer j's activation: d z / d z_j
        g = kernel_j @ g                through layer j's weights: d z / d (its inputs)

and the last g is d z / d pixels: the neuron's *effective weights* for this image, drawn like a
first-layer neuron's weights. When every layer below uses relu (or no activation) this is exact
near the image - each relu neuron below is either on (slope 1) or off (slope 0) - so

    z = sum_i pixel_i x effective_weight_i + rest

where `rest` collects the biases the active neurons below pass on. Through tanh or sigmoid it is
the tangent: right for small changes of ink, and `rest` also holds the curvature.

Left out: layers between the pixels and the neuron that change values at prediction time other
than Dense (Flatten reshapes and Dropout passes everything on, so both are fine); a model with one
is refused with a sentence, since these formulas would not describe it.
"""

import numpy as np

from ..errors import DigitlensError
from .common import dense_index, dense_layers, image_shape, prepare_one, require_pixels_into_first_dense, run_layer

PIECEWISE_LINEAR = ("relu", "linear")     # activations whose slope is constant between kinks


def slopes_below(model, x, layer):
    """f'(z) of every Dense layer below the `layer`-th, for the batch x: [(N, units_j), ...].

    Raises DigitlensError if a layer between two Dense layers changes its input at prediction time.
    """
    k = dense_index(model, layer)
    dense = dense_layers(model)
    stop = dense[k][0]
    positions = {position: j for j, (position, _) in enumerate(dense)}
    slopes = []
    a = x
    for position, current in enumerate(model.layers[:stop]):
        out = run_layer(current, a)
        if position in positions:
            if current.activation.name == "softmax":
                raise DigitlensError(f"layer {current.name!r} uses softmax below the output: d z / d pixels "
                                     "needs one slope per neuron")
            slopes.append(current.activation.backward(np.ones_like(out), out))
        elif out.size != a.size or not np.array_equal(np.ravel(out), np.ravel(a)):
            raise DigitlensError(f"layer {current.name!r} changes its input at prediction time: d z / d pixels "
                                 "is traced through Dense layers only")
        a = out
    return slopes


def gradient_to_first(model, x, layer, seeds):
    """d (seeds' combinations of the `layer`-th Dense layer's z) / d (the first Dense layer's z).

    x: a prepared batch (N, ...). seeds: (units of that layer, m): column c picks a combination
    of its weighted sums (an identity column picks one unit). Returns (N, units of layer 0, m).
    """
    k = dense_index(model, layer)
    dense = [d for _, d in dense_layers(model)]
    slopes = slopes_below(model, x, k)
    grad = np.broadcast_to(np.asarray(seeds, np.float32), (len(x),) + np.shape(seeds))
    for j in range(k - 1, -1, -1):
        grad = np.matmul(dense[j + 1].kernel, grad)      # (units_j, units_j+1) @ (N, units_j+1, m)
        grad = slopes[j][:, :, None] * grad              # through layer j's activation
    return np.array(grad)


def pixel_weights(model, image, unit, layer=0):
    """d z / d pixels of unit `unit` of the `layer`-th Dense layer, for one image: (28, 28) float32.

    For layer 0 these are the unit's own weights (kernel[:, unit]), whatever the image. Returns
    (weights, exact): exact is True when z = pixels . weights + rest holds exactly near the image
    (layer 0, or only relu / linear layers below).
    """
    k = dense_index(model, layer)
    dense = [d for _, d in dense_layers(model)]
    height, width = image_shape(model)
    first = dense[0]
    require_pixels_into_first_dense(model)
    if k == 0:
        return first.kernel[:, unit].reshape(height, width).copy(), True
    x = prepare_one(model, image)
    seed = np.zeros((dense[k].units, 1), np.float32)
    seed[unit, 0] = 1.0
    through = gradient_to_first(model, x, k, seed)[0, :, 0]        # d z / d z_0, (units_0,)
    weights = first.kernel @ through                               # (784, units_0) @ (units_0,) -> (784,)
    exact = all(d.activation.name in PIECEWISE_LINEAR for d in dense[:k])
    return weights.reshape(height, width).astype(np.float32), exact
