"""What a convolutional network's map layers make of one image: every feature map and pooled map.

    layers = map_layers(model)                 # [(position in model.layers, layer), ...]
    found = feature_maps(model, image)         # [{"position", "name", "maps" (H, W, C) float32, ...}]
    d = map_detail(model, image, position, 3)  # channel 3 of that layer: its map, and its kernel
    layer, kernels = first_kernels(model)      # the first Conv2D's filters over the pixels (F, kh, kw)

A layer's outputs are drawn as maps when its own description says they are (`Description.maps`:
"feature maps" for a Conv2D, "pooled maps" for a pooling layer, "normalised maps" for a
BatchNormalization after a convolution), never by its class. A layer with local connectivity has
kernels: one (kh, kw, channels in) kernel per output map, which `map_detail` hands back with the
map. A layer without weights that keeps the channels (pooling) hands back the map it was made from.

Every number comes from the model's own forward pass (`model.activations`), a prediction, which
keeps nothing on the layers. Left out (explain's CNN explanations and the report do these): the
receptive field of a unit, which window of a pooling step won, one backprop step through the convs.
"""

import numpy as np

from ..errors import DigitlensError
from .common import prepare_one


def map_layers(model):
    """The layers whose outputs are stacks of 2-D maps worth drawing: [(position, layer), ...]."""
    model._require_built()
    return [(k, layer) for k, layer in enumerate(model.layers) if layer.describe().maps]


def has_kernels(layer):
    """True for a layer whose every output map comes from a small kernel slid over its input."""
    d = layer.describe()
    return d.connectivity == "local" and "kernel" in d.params


def first_kernels(model):
    """The filters of the model's first layer with kernels, when it reads the one-channel image
    itself: (layer, (filters, kh, kw) float32 array), each filter's weights over the pixels; else None."""
    for _, layer in map_layers(model):
        if has_kernels(layer):
            kh, kw, channels, filters = layer.describe().params["kernel"]
            if channels != 1:
                return None
            return layer, np.ascontiguousarray(np.moveaxis(np.asarray(layer.kernel)[:, :, 0, :], -1, 0))
    return None


def feature_maps(model, image):
    """Each map layer's outputs for one image, by the model's own forward pass.

    Returns ([{"position" (in model.layers), "name", "type", "label", "what", "maps" (the kind,
    "feature maps" ...), "kernels" (has kernels), "activation", "shape" [H, W, C], "values" (H, W, C)
    float32}] first layer first, and the model's outputs for the image (classes,)).
    """
    x = prepare_one(model, image)
    outputs = [a[0] for _, a in model.activations(x)[1:]]      # one (...) array per layer, batch of one
    return maps_of(model, outputs), np.ravel(outputs[-1])


def maps_of(model, outputs):
    """feature_maps' list from every layer's outputs for one image (`outputs[k]` is layer k's, as
    explain.path.trace also computes them: the web app asks for both and runs the model once)."""
    found = []
    for position, layer in map_layers(model):
        d = layer.describe()
        values = np.asarray(outputs[position], dtype=np.float32).reshape(d.output_shape)     # (H, W, C)
        found.append({"position": position, "name": d.name, "type": d.type, "label": d.label, "what": d.what,
                      "maps": d.maps, "kernels": has_kernels(layer), "activation": d.activation,
                      "shape": list(values.shape), "values": values})
    return found


def map_detail(model, image, position, channel):
    """Map `channel` of the layer at `position` in model.layers, for one image, in full.

    Returns {"position", "name", "type", "label", "what", "maps", "channel", "channels", "map" (H, W)
    float32, "min", "max", "argmax" [row, col] (the strongest response), "kernel" (kh, kw, channels
    in) and "bias" for a layer with kernels (else None), "activation", "input_name" and "input_map"
    (the map it was made from, for a weightless layer that keeps the channels; else None),
    "stride", "window" (the input patch under the kernel at the strongest position, kh x kw x
    channels in; None with "same" padding) and "weighted_sum" (z there: window . kernel + bias)}.
    """
    layers = dict(map_layers(model))
    if position not in layers:
        names = ", ".join(f"{k} ({layer.name})" for k, layer in layers.items()) or "none"
        raise DigitlensError(f"layer: expected the position of a layer that makes maps ({names}), received {position}")
    layer = layers[position]
    d = layer.describe()
    channels = d.output_shape[-1]
    if not 0 <= channel < channels:
        raise DigitlensError(f"channel: expected a map number from 0 to {channels - 1}, received {channel}")
    x = prepare_one(model, image)
    outputs = [a for _, a in model.activations(x)]   # input first, then each layer's output
    below, here = outputs[position][0], outputs[position + 1][0]
    values = here[..., channel]                      # (H, W)
    row, col = np.unravel_index(int(np.argmax(values)), values.shape)
    result = {"position": position, "name": d.name, "type": d.type, "label": d.label, "what": d.what, "maps": d.maps,
              "channel": int(channel), "channels": int(channels), "map": values,
              "min": float(values.min()), "max": float(values.max()), "argmax": [int(row), int(col)],
              "activation": d.activation, "kernel": None, "bias": None, "weighted_sum": None,
              "input_name": model.layers[position - 1].name if position > 0 else "the image",
              "input_map": None}
    if has_kernels(layer):
        kernel = np.asarray(layer.kernel[..., channel], dtype=np.float32)      # (kh, kw, channels in)
        bias = float(layer.bias[channel]) if "bias" in d.params else 0.0
        window = input_window(layer, below, kernel, row, col)
        result.update(kernel=kernel, bias=bias, stride=list(layer.strides), window=window,
                      weighted_sum=float((window * kernel).sum() + bias) if window is not None else None)
    elif below.ndim == 3 and below.shape[-1] == channels:
        result["input_map"] = below[..., channel]
    return result


def input_window(layer, below, kernel, row, col):
    """The (kh, kw, channels in) patch of the layer's input under the kernel at output (row, col):
    window . kernel + bias is the z there, the sum a learner can check by hand. None when "same"
    padding may reach into the window (the padded zeros are not part of the input)."""
    (kh, kw), (sh, sw) = kernel.shape[:2], layer.strides
    if layer.padding != "valid":
        return None
    top, left = row * sh, col * sw
    return np.array(below[top:top + kh, left:left + kw, :], dtype=np.float32)
