"""One image's path through the network, with every number on the way.

    t = trace(model, image)
    t["input"]                      # 784 pixel values 0-1, the flattened image
    t["layers"][1]["z"]             # dense: the 256 weighted sums x @ kernel + bias
    t["layers"][1]["activation"]    # dense: relu(z), what the next layer receives
    t["softmax"]["exp"]             # the softmax step by step: z - max, exp, / sum
    t["prediction"]                 # the digit with the highest probability

Then two ways to ask "why":
  output_contributions(model, image, 3)  which hidden neurons pushed output 3 up or down: output 3's
                                         weighted sum is bias + sum over j of activation_j * weight_j3,
                                         so each term activation_j * weight_j3 is neuron j's push.
  pixel_contributions(model, image, 17)  the same for hidden neuron 17 and the pixels: a 28x28 map of
                                         pixel value * weight, which sums (with the bias) to its z.

Every number is computed by the model's own layers (`weighted_sum`, `activation.forward`), so the
trace's probabilities are the ones `model.predict` gives. Lists, not arrays, come back from trace(),
so it is ready for JSON; pixel_contributions returns a (28, 28) array.
"""

import numpy as np

from .common import check_unit, dense_layers, first_dense_input, hidden_input, image_shape, \
    is_fully_connected, prepare_one, run_layer, top_indices


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


def output_contributions(model, image, output, top=10):
    """How much each neuron feeding the output layer pushed output `output` up or down.

    The output's weighted sum is z = bias + sum_j a_j * w_j (a_j the neuron's activation, w_j its
    weight to this output), so contribution_j = a_j * w_j: positive pushes this digit up, negative
    pushes it down, and a silent neuron (a_j = 0) contributes nothing whatever its weight.

    Returns {"output", "layer", "z", "bias", "contributions" (one per neuron, sums with bias to z),
    "activations", "weights", "top_up": [{"neuron", "activation", "weight", "contribution"}],
    "top_down": [...]} (top_up largest first, top_down most negative first, at most `top` each).
    """
    x = prepare_one(model, image)
    h, last = hidden_input(model, x)
    h = h[0]
    output = check_unit(output, last.units, "output")
    weights = last.kernel[:, output]                             # (n_in,) the column into `output`
    contributions = h * weights
    bias = float(last.bias[output]) if last.use_bias else 0.0
    z = float(last.weighted_sum(h[None])[0, output])

    def rows(indices):
        return [{"neuron": int(j), "activation": float(h[j]), "weight": float(weights[j]),
                 "contribution": float(contributions[j])} for j in indices]

    up = [j for j in top_indices(contributions, top) if contributions[j] > 0]
    down = [j for j in top_indices(contributions, top, largest=False) if contributions[j] < 0]
    return {"output": output, "layer": last.name, "z": z, "bias": bias,
            "contributions": contributions.tolist(), "activations": h.tolist(), "weights": weights.tolist(),
            "top_up": rows(up), "top_down": rows(down)}


def pixel_contributions(model, image, neuron):
    """Which pixels drove first-layer neuron `neuron`: pixel value x weight, as a (28, 28) array.

    The neuron's weighted sum is z = bias + sum over pixels of x_i * w_i, so the map sums (with the
    bias) to z. Blank pixels (x_i = 0) contribute nothing, whatever their weight.
    """
    x = prepare_one(model, image)
    pixels, first = first_dense_input(model, x)
    neuron = check_unit(neuron, first.units, "neuron")
    return (pixels[0] * first.kernel[:, neuron]).reshape(image_shape(model))


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
