"""One image's path through the network, with every number on the way.

    t = trace(model, image)
    t["input"]                      # 784 pixel values 0-1, the flattened image
    t["layers"][1]["z"]             # dense: the 256 weighted sums x @ kernel + bias
    t["layers"][1]["activation"]    # dense: relu(z), what the next layer receives
    t["softmax"]["exp"]             # the softmax step by step: z - max, exp, / sum
    t["prediction"]                 # the digit with the highest probability

Then two ways to ask "why", for any layer of any depth:
  unit_contributions(model, image, 1, 26)  which inputs pushed unit 26 of Dense layer 1 up or down:
                                         its weighted sum is bias + sum over i of input_i * weight_i,
                                         so each term input_i * weight_i is input i's push (the
                                         inputs are the pixels for layer 0, else the neurons below).
  output_contributions(model, image, 3)  the same for output 3 and the last hidden layer's neurons.
  pixel_contributions(model, image, 17)  which pixels drove hidden neuron 17: a 28x28 map of
                                         pixel value * weight, which sums (with the bias) to its z;
                                         for a deeper layer, pixel * d z / d pixel (sensitivity.py).

Every number is computed by the model's own layers (`weighted_sum`, `activation.forward`), so the
trace's probabilities are the ones `model.predict` gives. Lists, not arrays, come back from trace(),
so it is ready for JSON; pixel_contributions returns a (28, 28) array.
"""

import numpy as np

from .common import check_unit, dense_index, dense_input, dense_layers, first_dense_input, image_shape, \
    is_fully_connected, prepare_one, run_layer, top_indices
from .sensitivity import pixel_weights


def trace(model, image, class_names=None):
    """Run one image through the model layer by layer and keep every intermediate number.

    image: (28, 28) or (784,), uint8 0-255 or floats 0-1.
    Returns {"input": 784 floats, "image_shape": [28, 28], "layers": [per layer: {"name", "type",
    "what", "output_shape", "fully_connected", "activation" (the layer's outputs, flattened), and for
    fully connected layers "units", "activation_name", "z" (weighted sums), "bias"}], "softmax":
    {"z", "z_minus_max", "exp", "sum", "probs"} (None if the last layer is not a softmax),
    "prediction", "probabilities", "class_names"}.
    """
    x = prepare_one(model, image)
    a = x
    layers = []
    for layer in model.layers:
        d = layer.describe()
        row = {"name": d.name, "type": d.type, "what": d.what, "output_shape": list(d.output_shape),
               "fully_connected": is_fully_connected(layer)}
        if row["fully_connected"]:
            z = layer.weighted_sum(a.reshape(1, -1))           # (1, inputs) @ (inputs, units)
            out = layer.activation.forward(z.copy())
            row.update(units=layer.units, activation_name=layer.activation.name, z=z[0].tolist(),
                       bias=(layer.bias.tolist() if layer.use_bias else [0.0] * layer.units))
        else:
            out = run_layer(layer, a)
        row["activation"] = np.ravel(out).tolist()
        layers.append(row)
        a = out
    probs = np.ravel(a)
    last = dense_layers(model)[-1][1]
    softmax = None
    if last.activation.name == "softmax":
        softmax = softmax_steps(np.asarray(layers[-1]["z"], dtype=np.float32))
    classes = len(probs)
    return {"input": x.reshape(-1).tolist(), "image_shape": list(image_shape(model)), "layers": layers,
            "softmax": softmax, "prediction": int(np.argmax(probs)), "probabilities": probs.tolist(),
            "class_names": list(class_names) if class_names is not None else [str(k) for k in range(classes)]}


def softmax_steps(z):
    """The softmax of one row of scores, one step at a time, as nn/activations.py computes it.

    z - max (so exp cannot overflow; it changes nothing else), exp, then divide by the sum.
    Returns {"z", "max", "z_minus_max", "exp", "sum", "probs"}; probs sum to 1.
    """
    z = np.asarray(z, dtype=np.float32)
    shifted = z - z.max()
    e = np.exp(shifted)
    total = e.sum()
    return {"z": z.tolist(), "max": float(z.max()), "z_minus_max": shifted.tolist(), "exp": e.tolist(),
            "sum": float(total), "probs": (e / total).tolist()}


def unit_contributions(model, image, layer, unit, top=10):
    """How much each input of the `layer`-th Dense layer pushed its unit `unit` up or down.

    The unit's weighted sum is z = bias + sum_i a_i * w_i, where a_i is what input i carries (a
    pixel for layer 0, else the activation of neuron i of the layer below) and w_i its weight into
    this unit, so contribution_i = a_i * w_i: positive pushes z up, negative pushes it down, and
    an input carrying 0 (a blank pixel, a silent relu neuron) contributes nothing whatever its
    weight. The contributions and the bias add up to z exactly.

    Returns {"layer" (the layer's name), "layer_index", "unit", "from_layer" (index of the Dense
    layer below, None for the pixels), "from_layer_name", "z", "bias", "contributions" (one per
    input), "activations" (what each input carries), "weights", "top_up": [{"neuron",
    "activation", "weight", "contribution"}] (largest first), "top_down" (most negative first),
    at most `top` each}.
    """
    x = prepare_one(model, image)
    k = dense_index(model, layer)
    inputs, dense = dense_input(model, x, k)
    inputs = inputs[0]
    unit = check_unit(unit, dense.units, "output" if k == len(dense_layers(model)) - 1 else "neuron")
    weights = dense.kernel[:, unit]                              # (n_in,) the column into `unit`
    contributions = inputs * weights
    bias = float(dense.bias[unit]) if dense.use_bias else 0.0
    z = float(dense.weighted_sum(inputs[None])[0, unit])
    below = dense_layers(model)[k - 1][1] if k > 0 else None

    def rows(indices):
        return [{"neuron": int(j), "activation": float(inputs[j]), "weight": float(weights[j]),
                 "contribution": float(contributions[j])} for j in indices]

    up = [j for j in top_indices(contributions, top) if contributions[j] > 0]
    down = [j for j in top_indices(contributions, top, largest=False) if contributions[j] < 0]
    return {"layer": dense.name, "layer_index": k, "unit": unit,
            "from_layer": k - 1 if below is not None else None,
            "from_layer_name": below.name if below is not None else None, "z": z, "bias": bias,
            "contributions": contributions.tolist(), "activations": inputs.tolist(), "weights": weights.tolist(),
            "top_up": rows(up), "top_down": rows(down)}


def output_contributions(model, image, output, top=10):
    """How much each neuron of the last hidden layer pushed output `output` up or down.

    unit_contributions for the output layer: z = bias + sum_j a_j * w_j over the neurons j of the
    layer that feeds the outputs (the last hidden layer, whatever the depth), contribution_j =
    a_j * w_j. Returns unit_contributions' dict with "output" as well as "unit"; "from_layer" is
    the number of the hidden layer those neurons belong to.
    """
    result = unit_contributions(model, image, -1, output, top)
    result["output"] = result["unit"]
    return result


def pixel_contributions(model, image, neuron, layer=0):
    """Which pixels drove neuron `neuron` of the `layer`-th Dense layer: a (28, 28) array.

    Layer 0: pixel value x weight, which sums (with the bias) to the neuron's z exactly; blank
    pixels (x_i = 0) contribute nothing, whatever their weight. A deeper layer: pixel value x
    d z / d pixel (its effective weight for this image, explain.sensitivity): each inked pixel's
    push through the layers below, which sums to z minus what the biases pass on (exactly for
    relu layers below, to first order through tanh or sigmoid).
    """
    x = prepare_one(model, image)
    k = dense_index(model, layer)
    if k == 0:
        pixels, first = first_dense_input(model, x)
        neuron = check_unit(neuron, first.units, "neuron")
        return (pixels[0] * first.kernel[:, neuron]).reshape(image_shape(model))
    neuron = check_unit(neuron, dense_layers(model)[k][1].units, "neuron")
    pixels, _ = first_dense_input(model, x)
    weights, _ = pixel_weights(model, image, neuron, k)
    return pixels[0].reshape(image_shape(model)) * weights


def first_layer_contributions(model, image):
    """pixel x weight for every connection of the first Dense layer: (784, units) array.

    Column j is pixel_contributions(model, image, j) flattened; entry (i, j) is how much input i
    pushed neuron j's weighted sum for this image.
    """
    x = prepare_one(model, image)
    pixels, first = first_dense_input(model, x)
    return layer_contributions(pixels[0], first)


def layer_contributions(inputs, layer):
    """input x weight for every connection of a Dense layer: entry (i, j) is how much input i
    pushed unit j's weighted sum. inputs (n_in,) -> (n_in, units)."""
    return inputs[:, None] * layer.kernel                 # (784, 1) * (784, 256) -> (784, 256)
