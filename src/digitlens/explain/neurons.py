"""What each neuron looks for, read from its weights.

A first-layer neuron has one weight per pixel, so its 784 incoming weights can be drawn as a 28x28
image: blue where ink makes it fire more, red where ink holds it back. `weight_images` gives all of
them at once, `neuron_detail` one neuron and one image in full.

An output neuron is not wired to the pixels directly, but through the hidden layer. Its effective
template (`output_templates`) is the 28x28 map of how much each pixel raises that output's score:

    template_k = d z_k / d pixels,  averaged over the images x

where z_k is output k's weighted sum (before softmax). For a ReLU network this is exact per image:
a hidden neuron passes its input on with slope 1 if it is active and 0 if not, so for one image
z_k = pixels . template_k + constant, with template_k = W1[:, active] @ W2[active, k]. Averaged
over many images, neuron j counts in proportion to how often it is active:
template_k = W1 @ (fraction_active * W2[:, k]). Without images, every neuron counts fully:
template_k = W1 @ W2[:, k] (for deeper networks, the product of all kernels).

A ReLU neuron whose weighted sum is never positive on the data is "dead" (`dead_neurons`): it
always outputs 0, so it never influences a prediction and, since its gradient is 0 too, it never
learns. For sigmoid or tanh neurons, dead means an output that never changes.
"""

import numpy as np

from ..errors import DigitlensError
from .common import check_unit, dense_layer, dense_layers, dense_outputs, image_shape, prepare_one, \
    require_pixels_into_first_dense, run_layer
from .path import pixel_contributions

CHUNK = 1000


def weight_images(model, layer=0):
    """Each neuron's incoming weights as an image: (units, 28, 28) float32.

    layer: which Dense layer (0, the first, is the one wired to the pixels). Image j is column j of
    the kernel, kernel[:, j], laid back out in the image's rows: entry (r, c) is the weight from
    pixel (r, c) to neuron j.
    """
    dense = dense_layer(model, layer)
    height, width = image_shape(model)
    require_pixels_into_first_dense(model)
    if dense.kernel.shape[0] != height * width:
        raise DigitlensError(f"layer {layer} ({dense.name}) receives {dense.kernel.shape[0]} values, not "
                             f"the {height}x{width} pixels: only the first Dense layer's weights are images")
    return np.ascontiguousarray(dense.kernel.T).reshape(dense.units, height, width)


def output_templates(model, x=None):
    """Each output's effective template through the hidden layers: (classes, 28, 28) float32.

    x: None (every hidden neuron counts fully: the product of the kernels, W1 @ W2), or images
    (N, 28, 28) to average d z_k / d pixels over; a batch of one image gives that image's exact
    template (see the module docstring).
    """
    dense = [layer for _, layer in dense_layers(model)]
    first, last = dense[0], dense[-1]
    height, width = image_shape(model)
    require_pixels_into_first_dense(model)
    if x is None:
        product = first.kernel
        for layer in dense[1:]:
            product = product @ layer.kernel        # (784, 256) @ (256, 10) -> (784, 10)
        return np.ascontiguousarray(product.T).reshape(last.units, height, width)

    x = model.prepare_inputs(x, "x")
    total = np.zeros((first.units, last.units), dtype=np.float64)
    for start in range(0, len(x), CHUNK):
        total += _through_hidden(model, x[start:start + CHUNK]).sum(axis=0)
    mean = (total / len(x)).astype(np.float32)          # mean over images of d z / d (first layer's a)
    return np.ascontiguousarray((first.kernel @ mean).T).reshape(last.units, height, width)


def _through_hidden(model, x):
    """d z_out / d z_first for each image, shape (N, units of the first layer, classes).

    Backpropagation of the identity through the hidden layers: start from the output kernel and,
    going back, multiply by each hidden activation's slope f'(z) and the kernel before it.
    """
    slopes = []                                   # f'(z) of each hidden Dense layer, (N, units)
    a = x
    dense = [layer for _, layer in dense_layers(model)]
    for layer in model.layers:
        if layer is dense[-1]:
            break
        a = run_layer(layer, a)
        if layer in dense:
            if layer.activation.name == "softmax":
                raise DigitlensError(f"hidden layer {layer.name!r} uses softmax: templates need "
                                     "one slope per neuron")
            slopes.append(layer.activation.backward(np.ones_like(a), a))
    grad = np.broadcast_to(dense[-1].kernel, (len(x),) + dense[-1].kernel.shape)  # (N, n_in, classes)
    for layer, slope in zip(reversed(dense[:-1]), reversed(slopes)):
        grad = slope[:, :, None] * grad                 # through the activation
        if layer is not dense[0]:
            grad = np.matmul(layer.kernel, grad)        # (in, units) @ (N, units, classes)
    return grad


def pixel_usage(model, x):
    """(28, 28): the fraction of the images x in which each pixel has any ink (value > 0).

    A weight from a pixel that is almost never inked hardly ever matters - and hardly ever learns,
    since its gradient is pixel x blame - so pictures fade those pixels out.
    """
    x = model.prepare_inputs(x, "x")
    return (x > 0).reshape(len(x), *image_shape(model)).mean(axis=0)


def neuron_activity(model, x, layer=0):
    """How the `layer`-th Dense layer's neurons behave on the images x.

    Returns {"fraction_active" (units,): share of images on which z > 0 (for ReLU: output > 0),
    "mean_activation" (units,), "max_activation" (units,), "dead" (units,) bool}, all arrays.
    """
    z, a = dense_outputs(model, x, layer)
    dense = dense_layer(model, layer)
    active = z > 0
    if dense.activation.name == "relu":
        dead = ~active.any(axis=0)
    else:
        dead = (a.max(axis=0) - a.min(axis=0)) < 1e-6
    return {"fraction_active": active.mean(axis=0), "mean_activation": a.mean(axis=0),
            "max_activation": a.max(axis=0), "dead": dead}


def dead_neurons(model, x, layer=0):
    """(units,) bool: True for each neuron of the `layer`-th Dense layer that is never active on x."""
    return neuron_activity(model, x, layer)["dead"]


def neuron_detail(model, image, neuron):
    """Everything about first-layer neuron `neuron` for one image.

    Returns {"neuron", "layer", "weights" (28, 28) array, "z", "bias", "activation",
    "pixel_contributions" (28, 28) array (pixel x weight; sums with the bias to z),
    "outgoing": its weights to the next Dense layer's units (list), "next_layer"}.
    """
    first = dense_layer(model, 0)
    neuron = check_unit(neuron, first.units, "neuron")
    contributions = pixel_contributions(model, image, neuron)
    bias = float(first.bias[neuron]) if first.use_bias else 0.0
    x = prepare_one(model, image)
    z, a = dense_outputs(model, x, 0)
    dense = [layer for _, layer in dense_layers(model)]
    following = dense[1] if len(dense) > 1 else None
    return {"neuron": neuron, "layer": first.name, "weights": weight_images(model, 0)[neuron],
            "z": float(z[0, neuron]), "bias": bias, "activation": float(a[0, neuron]),
            "pixel_contributions": contributions,
            "outgoing": following.kernel[neuron].tolist() if following is not None else [],
            "next_layer": following.name if following is not None else None}


def neuron_order(model, x=None, by="output"):
    """An order for drawing the first layer's neurons, and what each one is for.

    by: "output" groups neurons by the output they push up most (their largest outgoing weight),
    strongest first within a group; "activity" puts the most often active first (needs x);
    "index" keeps 0, 1, 2, ...
    Returns {"order": neuron numbers in drawing order, "favourite_output" (units,) (-1 when the
    next layer is not the output layer), "favourite_weight" (units,), "fraction_active" and
    "dead" ((units,) arrays, or None without x)}.
    """
    dense = [layer for _, layer in dense_layers(model)]
    first = dense[0]
    units = first.units
    if len(dense) == 2:
        outgoing = dense[1].kernel                       # (units, classes)
        favourite = outgoing.argmax(axis=1)
        strength = outgoing.max(axis=1)
    else:
        favourite, strength = np.full(units, -1), np.zeros(units, np.float32)
    activity = neuron_activity(model, x, 0) if x is not None else None
    if by == "output":
        order = np.lexsort((-strength, favourite))
    elif by == "activity":
        if activity is None:
            raise DigitlensError('by="activity": give images x to measure how often each neuron fires')
        order = np.argsort(-activity["fraction_active"], kind="stable")
    elif by == "index":
        order = np.arange(units)
    else:
        raise DigitlensError(f'by: expected "output", "activity" or "index", received {by!r}')
    return {"order": order, "favourite_output": favourite, "favourite_weight": strength,
            "fraction_active": None if activity is None else activity["fraction_active"],
            "dead": None if activity is None else activity["dead"]}
