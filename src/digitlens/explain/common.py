"""What every explanation needs from a model: its fully connected layers, its image shape, one
prepared image, and a way to turn results into JSON.

The explain functions work on any built Sequential (the lesson's network, other sizes, more hidden
layers, or a Keras file read by digitlens.io). Which layers are made of neurons wired to every
input is read from each layer's own description (`connectivity == "full"`), never from its class.
They only read the model: nothing here changes a weight, and every forward pass is a prediction,
which keeps nothing on the layers.

`to_json(result)` turns any result of this package into plain lists, floats, ints and strings
(NumPy arrays become nested lists, NaN becomes None), ready for `json.dumps`.
"""

import math

import numpy as np

from ..errors import DigitlensError


def is_fully_connected(layer):
    """True for a layer of units each wired to every input (a Dense), by its own description."""
    return layer.connectivity == "full"


def dense_layers(model):
    """The model's fully connected layers in order: [(position in model.layers, layer), ...]."""
    model._require_built()
    found = [(i, layer) for i, layer in enumerate(model.layers) if is_fully_connected(layer)]
    if not found:
        raise DigitlensError(f"model {model.name!r} has no Dense layers: there is nothing to explain")
    return found


def dense_index(model, layer=0, argument="layer"):
    """`layer` as a number from 0 (the first Dense layer) to L - 1 (the output layer); -1 counts
    from the end. Raises naming the argument if there is no such Dense layer."""
    count = len(dense_layers(model))
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -count <= layer < count:
        raise DigitlensError(f"{argument}: expected a Dense layer number from 0 to {count - 1} "
                             f"(or -1 for the output layer), received {layer!r}")
    return int(layer) % count


def dense_layer(model, layer=0):
    """The `layer`-th fully connected layer (0 = the first, -1 = the output layer)."""
    return dense_layers(model)[dense_index(model, layer)][1]


def hidden_index(model, layer=0, argument="layer"):
    """`layer` as the number of a hidden Dense layer: 0 (the first) to L - 2 (the one feeding the
    outputs); -1 is the last hidden layer. Raises naming the argument otherwise."""
    hidden = len(dense_layers(model)) - 1
    if hidden == 0:
        raise DigitlensError(f"model {model.name!r} has no hidden layer: its one Dense layer is the output")
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -hidden <= layer < hidden:
        raise DigitlensError(f"{argument}: expected a hidden layer number from 0 to {hidden - 1} "
                             f"(-1 for the last), received {layer!r}")
    return int(layer) % hidden


def image_shape(model):
    """(height, width) of the model's input images: (28, 28) for MNIST models.

    A model declared with a flat input of 784 values is read as 28 x 28 (any square size works),
    one declared for (28, 28, 1) - a convolutional network's one channel - as 28 x 28.
    """
    model._require_built()
    shape = tuple(model.input_shape)
    if len(shape) == 3 and shape[-1] == 1:
        shape = shape[:2]
    if len(shape) == 2:
        return shape
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    if side * side != shape[0]:
        raise DigitlensError(f"model input: expected images (H, W) or a square number of pixels, "
                             f"received input shape {shape}")
    return side, side


def prepare_one(model, image, argument="image"):
    """One image as the model sees it: a (1, *input_shape) float32 batch, pixels 0-1.

    image: (28, 28) or (784,) uint8 0-255 (scaled to 0-1) or floats (used as given), or a batch
    of one. Returns the batch.
    """
    image = np.asarray(image)
    size = math.prod(model.input_shape) if model.built else None
    if size is not None and image.size == size:
        image = image.reshape((1,) + tuple(model.input_shape))
    elif image.ndim in (1, 2):
        image = image[None]
    x = model.prepare_inputs(image, argument)
    if len(x) != 1:
        raise DigitlensError(f"{argument}: expected one image, received a batch of {len(x)}")
    return x


def run_layer(layer, a):
    """One layer's prediction-time output for the batch a (a prediction keeps nothing on the layer)."""
    return layer.forward(a, training=False)


def dense_input(model, x, layer):
    """What the `layer`-th Dense layer receives for the batch x, flattened: (N, n_in), and the layer.

    For layer 0 that is the image's pixels (after Flatten); for a later one, the activations of
    the layer below (after any Dropout, which does nothing at prediction time).
    """
    position, dense = dense_layers(model)[dense_index(model, layer)]
    a = x
    for current in model.layers[:position]:
        a = run_layer(current, a)
    return np.array(a, copy=True).reshape(len(x), -1), dense


def hidden_input(model, x):
    """What the output layer receives for the batch x: the last hidden layer's activations.

    Returns (inputs to the output layer (N, n_in), the output layer).
    """
    return dense_input(model, x, -1)


def first_dense_input(model, x):
    """The flattened pixels the first Dense layer receives, (N, 784), and that layer."""
    require_pixels_into_first_dense(model)
    return dense_input(model, x, 0)


def reads_pixels_first(model):
    """True when the model's first Dense layer receives the image's pixels (after Flatten or
    Reshape only), so that its weights are one per pixel - the lesson's pictures need that."""
    first_index, first = dense_layers(model)[0]
    return (first.input_shape[0] == math.prod(image_shape(model))
            and all(layer.describe().params == {} and layer.rearranges for layer in model.layers[:first_index]))


def require_pixels_into_first_dense(model, view="this view"):
    """Raise a DigitlensError saying what the first Dense layer reads, unless it reads the pixels."""
    if reads_pixels_first(model):
        return
    first_index, first = dense_layers(model)[0]
    before = " -> ".join(f"{layer.name} ({layer.kind})" for layer in model.layers[:first_index])
    raise DigitlensError(f"{view} needs a first Dense layer that reads the image's pixels, but the first Dense layer "
                         f"of model {model.name!r}, {first.name!r}, reads the {first.input_shape[0]:,} outputs of "
                         f"{before} instead")


def check_unit(unit, units, argument):
    """unit as an int, checked to be one of 0..units-1."""
    unit = int(unit)
    if not 0 <= unit < units:
        raise DigitlensError(f"{argument}: expected a number from 0 to {units - 1}, received {unit}")
    return unit


def top_indices(values, k, largest=True):
    """Indices of the k largest (or smallest) values, best first; ties keep index order."""
    values = np.asarray(values)
    order = np.argsort(-values if largest else values, kind="stable")
    return order[:min(k, len(order))]


def to_json(obj):
    """Any explain result -> plain Python (lists, floats, ints, str, None) for json.dumps."""
    if isinstance(obj, dict):
        return {str(key): to_json(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(value) for value in obj]
    if isinstance(obj, np.ndarray):
        # tolist() already gives plain ints, bools and floats; only NaN and infinity need a walk
        # (to None), so a finite array skips it - the web app sends ~10 arrays a prediction.
        if obj.dtype.kind in "biu" or (obj.dtype.kind == "f" and np.isfinite(obj).all()):
            return obj.tolist()
        return to_json(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "to_json"):
        return obj.to_json()
    raise TypeError(f"to_json: cannot convert {type(obj).__name__}")


def dense_outputs(model, x, layer=0, chunk=None):
    """The weighted sums z and activations a of the `layer`-th Dense layer for a batch of images.

    x: images (N, 28, 28) / (N, 784), uint8 or float. Returns (z, a), each (N, units) float32.
    chunk: images per pass (default: as many as model.predict takes at once).
    """
    x = model.prepare_inputs(x, "x")
    chunk = chunk or model.predict_chunk()
    position = dense_layers(model)[layer][0]
    zs, outs = [], []
    for start in range(0, len(x), chunk):
        a = x[start:start + chunk]
        for current in model.layers[:position]:
            a = run_layer(current, a)
        target = model.layers[position]
        z = target.weighted_sum(a)
        zs.append(z)
        outs.append(target.activation.forward(z.copy()))
    return np.concatenate(zs), np.concatenate(outs)
