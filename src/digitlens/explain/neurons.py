"""What each neuron looks for, read from its weights.

A first-layer neuron has one weight per pixel, so its 784 incoming weights can be drawn as a 28x28
image: blue where ink makes it fire more, red where ink holds it back. `weight_images` gives all of
them at once, `neuron_detail` one neuron of any hidden layer and one image in full: what drove it
from the layer below, which pixels drove it, what it pushes into the layer above.

An output neuron is not wired to the pixels directly, but through the hidden layer. Its effective
template (`output_templates`) is the 28x28 map of how much each pixel raises that output's score:

    template_k = d z_k / d pixels,  averaged over the images x

where z_k is output k's weighted sum (before softmax). For a ReLU network this is exact per image:
a hidden neuron passes its input on with slope 1 if it is active and 0 if not, so for one image
z_k = pixels . template_k + constant, with template_k = W1[:, active] @ W2[active, k]. Averaged
over many images, neuron j counts in proportion to how often it is active:
template_k = W1 @ (fraction_active * W2[:, k]). Without images, every neuron counts fully:
template_k = W1 @ W2[:, k] (for deeper networks, the product of all kernels). Through more hidden
layers the same backpropagation runs layer by layer (explain.sensitivity).

A ReLU neuron whose weighted sum is never positive on the data is "dead" (`dead_neurons`): it
always outputs 0, so it never influences a prediction and, since its gradient is 0 too, it never
learns. For sigmoid or tanh neurons, dead means an output that never changes.
"""

import numpy as np

from ..errors import DigitlensError
from . import words
from .common import check_unit, dense_layer, dense_layers, dense_outputs, hidden_index, image_shape, prepare_one, \
    require_pixels_into_first_dense
from .path import pixel_contributions, unit_contributions
from .sensitivity import gradient_to_first, pixel_weights

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
    return layer_templates(model, x, -1)


def layer_templates(model, x=None, layer=-1):
    """What each unit of Dense layer `layer` looks for in the pixels, through the layers below it:
    its d z / d pixels averaged over the images x, (units, 28, 28) float32.

    For layer 0 these are the units' own weights, whatever x. For a deeper hidden layer it is the
    neurons' effective weights (explain.sensitivity) averaged over x; for the output layer (-1),
    output_templates. x None: every neuron below counts fully, the product of the kernels.
    """
    from .common import dense_index

    k = dense_index(model, layer)
    dense = [d for _, d in dense_layers(model)]
    first, target = dense[0], dense[k]
    height, width = image_shape(model)
    require_pixels_into_first_dense(model)
    if k == 0:
        return weight_images(model, 0)
    if x is None:
        product = first.kernel
        for current in dense[1:k + 1]:
            product = product @ current.kernel      # (784, 256) @ (256, 10) -> (784, 10)
        return np.ascontiguousarray(product.T).reshape(target.units, height, width)

    x = model.prepare_inputs(x, "x")
    seeds = np.eye(target.units, dtype=np.float32)       # one column per unit of the layer
    total = np.zeros((first.units, target.units), dtype=np.float64)
    for start in range(0, len(x), CHUNK):
        total += gradient_to_first(model, x[start:start + CHUNK], k, seeds).sum(axis=0)
    mean = (total / len(x)).astype(np.float32)          # mean over images of d z / d (first layer's z)
    return np.ascontiguousarray((first.kernel @ mean).T).reshape(target.units, height, width)


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


def neuron_detail(model, image, neuron, layer=0, top=10):
    """Everything about neuron `neuron` of hidden layer `layer` (0 = the first) for one image.

    What drove it from below: its weighted sum z = bias + sum_i input_i x w_i, each input's push
    input_i x w_i ("incoming"); for layer 0 the inputs are the pixels, for a deeper layer the
    neurons of the layer below. Which pixels drove it: "weights", its weights per pixel as a 28x28
    picture - its own for layer 0, its effective weights d z / d pixels for this image otherwise
    (explain.sensitivity) - and "pixel_contributions", pixel x those weights. What it pushes above:
    its weights to each unit of the next layer ("outgoing") and, for this image, activation x
    weight ("pushes").

    Returns {"neuron", "layer" (name), "layer_index", "activation_name", "z", "bias",
    "activation", "state" (a sentence saying what the activation means), "weights" (28, 28),
    "weights_exact" (True: z = pixels . weights + rest holds exactly near this image),
    "pixel_contributions" (28, 28), "pixel_rest" (z minus their sum: the bias for layer 0),
    "incoming": unit_contributions' dict (from the pixels or the layer below), "outgoing" (list),
    "pushes" (list), "next_layer" (name), "next_layer_index", "next_is_output"}.
    """
    k = hidden_index(model, layer)
    dense = [d for _, d in dense_layers(model)]
    current = dense[k]
    neuron = check_unit(neuron, current.units, "neuron")
    incoming = unit_contributions(model, image, k, neuron, top)
    x = prepare_one(model, image)
    z, a = dense_outputs(model, x, k)
    z, a = float(z[0, neuron]), float(a[0, neuron])
    weights, exact = pixel_weights(model, image, neuron, k)
    contributions = pixel_contributions(model, image, neuron, k)
    following = dense[k + 1]
    outgoing = following.kernel[neuron]                  # (units of the next layer,)
    blank = not np.any(x)
    return {"neuron": neuron, "layer": current.name, "layer_index": k,
            "activation_name": current.activation.name, "z": z, "bias": incoming["bias"], "activation": a,
            "state": words.neuron_state(current.activation.name, z, a, blank=blank, first=k == 0,
                                        bias=incoming["bias"]),
            "weights": weights, "weights_exact": exact, "pixel_contributions": contributions,
            "pixel_rest": z - float(contributions.sum()), "incoming": incoming,
            "outgoing": outgoing.tolist(), "pushes": (a * outgoing).tolist(),
            "next_layer": following.name, "next_layer_index": k + 1,
            "next_is_output": k + 1 == len(dense) - 1}


def neuron_order(model, x=None, by="output", layer=0):
    """An order for drawing the neurons of hidden layer `layer`, and what each one is for.

    by: "output" groups neurons by the output they push up most (their largest outgoing weight),
    strongest first within a group - for the last hidden layer, the one wired to the outputs;
    neurons of an earlier layer feed another hidden layer and keep their order; "activity" puts
    the most often active first (needs x); "index" keeps 0, 1, 2, ...
    Returns {"order": neuron numbers in drawing order, "favourite_output" (units,) (-1 when the
    next layer is not the output layer), "favourite_weight" (units,), "fraction_active" and
    "dead" ((units,) arrays, or None without x)}.
    """
    k = hidden_index(model, layer)
    dense = [d for _, d in dense_layers(model)]
    units = dense[k].units
    if k + 1 == len(dense) - 1:
        outgoing = dense[k + 1].kernel                   # (units, classes)
        favourite = outgoing.argmax(axis=1)
        strength = outgoing.max(axis=1)
    else:
        favourite, strength = np.full(units, -1), np.zeros(units, np.float32)
    activity = neuron_activity(model, x, k) if x is not None else None
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
