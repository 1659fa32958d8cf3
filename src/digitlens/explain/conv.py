"""Inside a convolutional network: its filters, what they find in one image, pooling, receptive fields.

    filters(model, 0)                      the first convolution's kernels (F, KH, KW, C) and biases
    feature_maps(model, image, 0)          what each filter of it finds in one image: its map, the
                                           strongest responses and where they are
    pooling_step(model, image, 0)          the first pooling layer on that image: which value of each
                                           window survives (max) and where it was, or each window's mean
    receptive_field(model, "conv2d", 5, 7) the input pixels one unit of a layer's output depends on,
                                           traced back layer by layer
    batch_norm_statistics(model, x, 0)     a BatchNormalization's mean, variance, scale and shift for one
                                           batch, beside its moving averages

Which layers are convolutions, pools and normalisations is read from each layer's description
(`connectivity == "local"`, `pooling`, `normalization`), and every window from its `window`,
`strides` and `padding`: nothing here asks for a class. Feature maps and pooled maps are the
model's own layer outputs for the image (a prediction keeps nothing on the layers); what this
module adds is where things are - the winners' positions, the strongest responses, the pixels a
unit reads - worked out from those windows. Left out: dilated convolutions (digitlens has none)
and channels_first.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DigitlensError
from .common import check_unit, image_shape, prepare_one, run_layer, top_indices


def local_layers(model):
    """The model's convolutions (units that read a window of the input), by their descriptions:
    [(position in model.layers, layer), ...]."""
    model._require_built()
    return [(i, layer) for i, layer in enumerate(model.layers) if layer.describe().connectivity == "local"]


def pooling_layers(model):
    """The layers that summarise windows (max or mean), [(position, layer), ...]."""
    model._require_built()
    return [(i, layer) for i, layer in enumerate(model.layers) if layer.describe().pooling is not None]


def normalization_layers(model):
    """The layers that normalise each channel by batch statistics, [(position, layer), ...]."""
    model._require_built()
    return [(i, layer) for i, layer in enumerate(model.layers) if layer.describe().normalization is not None]


def _pick(found, layer, what, model, argument="layer"):
    """The `layer`-th of `found` (-1 counts from the end); raises naming what the model lacks."""
    if not found:
        raise DigitlensError(f"model {model.name!r} has no {what}")
    count = len(found)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -count <= layer < count:
        raise DigitlensError(f"{argument}: expected a number from 0 to {count - 1} for the model's {what}, "
                             f"received {layer!r}")
    return found[int(layer) % count]


def layer_outputs(model, image):
    """One image through every layer: (the image as the model reads it, [each layer's output]),
    each without the batch dimension - the model's own numbers."""
    x = prepare_one(model, image)
    outputs, a = [], x
    for layer in model.layers:
        a = run_layer(layer, a)
        outputs.append(a[0])
    return x[0], outputs


def _input_of(x, outputs, position):
    return x if position == 0 else outputs[position - 1]


def _as_maps(values):
    """(H, W, C) feature maps -> (C, H, W), one map per channel; (H, W) images -> (1, H, W)."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 2:
        return values[None]
    return np.moveaxis(values.reshape(values.shape[0], values.shape[1], -1), -1, 0)


def filters(model, layer=0):
    """The kernels of the `layer`-th convolution, one per filter.

    Returns {"name", "position", "kernel" (F, KH, KW, C), "bias" (F,), "window", "strides",
    "channels", "activation", "limit" (the largest |weight|, for one colour scale)}.
    """
    position, conv = _pick(local_layers(model), layer, "convolutional layers", model)
    d = conv.describe()
    kernel = np.array(conv.kernel, dtype=np.float32)                      # (KH, KW, C, F), Keras's layout
    units = d.units
    bias = np.array(conv.bias, dtype=np.float32) if "bias" in d.params else np.zeros(units, np.float32)
    return {"name": d.name, "position": position, "kernel": np.moveaxis(kernel, -1, 0), "bias": bias,
            "window": list(d.window), "strides": list(d.strides), "channels": kernel.shape[2],
            "activation": d.activation, "limit": float(np.abs(kernel).max()) if kernel.size else 0.0}


def feature_maps(model, image, layer=0, strongest=3):
    """What each filter of the `layer`-th convolution finds in one image.

    Returns {"name", "position", "input" (C_in, H, W): what the layer reads, "maps" (F, OH, OW): its
    outputs (after its activation), "peak" (F,): each map's largest value, "order": the filters
    from the strongest peak down, "active" (F,): the fraction of each map above 0, "strongest":
    per filter, its `strongest` largest responses [{"row", "col", "value", "rows", "cols"}] with
    the window of the input (rows, cols: first and last, inclusive) that made each one}.
    """
    position, conv = _pick(local_layers(model), layer, "convolutional layers", model)
    d = conv.describe()
    x, outputs = layer_outputs(model, image)
    maps = _as_maps(outputs[position])
    (kh, kw), (sh, sw), ((top, _), (left, _)) = d.window, d.strides, d.padding
    height, width = d.input_shape[:2]
    best = []
    for values in maps:
        rows = []
        for flat in top_indices(values.ravel(), strongest):
            r, c = divmod(int(flat), values.shape[1])
            rows.append({"row": r, "col": c, "value": float(values[r, c]),
                         "rows": [max(r * sh - top, 0), min(r * sh - top + kh - 1, height - 1)],
                         "cols": [max(c * sw - left, 0), min(c * sw - left + kw - 1, width - 1)]})
        best.append(rows)
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return {"name": d.name, "position": position, "input": _as_maps(_input_of(x, outputs, position)), "maps": maps,
            "peak": peak, "order": top_indices(peak, len(peak)).tolist(),
            "active": (maps > 0).reshape(len(maps), -1).mean(axis=1), "strongest": best}


def pooling_step(model, image, layer=0):
    """The `layer`-th pooling layer on one image, window by window.

    Returns {"name", "position", "pooling" ("max" or "mean"), "window", "strides", "padding",
    "input" (C, H, W),
    "output" (C, OH, OW): the model's own pooled maps, and for max pooling "winner_rows",
    "winner_cols" (C, OH, OW): where in the input each surviving value was (the first in reading
    order if several tie, as the layer keeps), else None; "kept": the fraction of values kept;
    "order": the maps from the strongest pooled value down; "example": one window worked out, the
    one behind the strongest pooled value - {"channel", "row", "col" (in the output), "rows",
    "cols" (first and last of the input it reads), "values" (the window), "value" (what was kept),
    "winner" ((row, col) in the input, or None for a mean)}}.
    """
    position, pool = _pick(pooling_layers(model), layer, "pooling layers", model)
    d = pool.describe()
    x, outputs = layer_outputs(model, image)
    before = _as_maps(_input_of(x, outputs, position))                   # (C, H, W)
    (ph, pw), (sh, sw), ((top, bottom), (left, right)) = d.window, d.strides, d.padding
    channels, height, width = before.shape
    oh = (height + top + bottom - ph) // sh + 1
    ow = (width + left + right - pw) // sw + 1
    after = np.asarray(outputs[position], np.float32).reshape(oh, ow, channels)
    result = {"name": d.name, "position": position, "pooling": d.pooling, "window": list(d.window),
              "strides": list(d.strides), "padding": d.padding, "input": before, "output": np.moveaxis(after, -1, 0),
              "winner_rows": None, "winner_cols": None, "kept": oh * ow / (height * width)}
    if d.pooling == "max":
        padded = np.full((channels, height + top + bottom, width + left + right), -np.inf, np.float32)
        padded[:, top:top + height, left:left + width] = before           # a padded position never wins
        windows = sliding_window_view(padded, (ph, pw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]   # (C, OH, OW, PH, PW)
        winner = windows.reshape(channels, oh, ow, ph * pw).argmax(axis=-1)                         # (C, OH, OW)
        result["winner_rows"] = np.arange(oh)[None, :, None] * sh - top + winner // pw
        result["winner_cols"] = np.arange(ow)[None, None, :] * sw - left + winner % pw
    strongest = after.reshape(-1, channels).max(axis=0)               # (C,)
    result["order"] = top_indices(strongest, channels).tolist()
    c = result["order"][0]
    r, col = divmod(int(np.argmax(result["output"][c])), ow)
    rows = [max(r * sh - top, 0), min(r * sh - top + ph, height) - 1]          # padded positions are no values
    cols = [max(col * sw - left, 0), min(col * sw - left + pw, width) - 1]
    result["example"] = {"channel": c, "row": r, "col": col, "rows": rows, "cols": cols,
                         "values": before[c, rows[0]:rows[1] + 1, cols[0]:cols[1] + 1],
                         "value": float(result["output"][c, r, col]),
                         "winner": None if result["winner_rows"] is None else
                         (int(result["winner_rows"][c, r, col]), int(result["winner_cols"][c, r, col]))}
    return result


def _position_of(model, layer):
    """A layer of the model by its name or its position in model.layers."""
    names = [lay.name for lay in model.layers]
    if isinstance(layer, str):
        if layer not in names:
            raise DigitlensError(f"layer: expected one of {', '.join(names)}, received {layer!r}")
        return names.index(layer)
    return check_unit(layer, len(names), "layer")


def receptive_field(model, layer, row, col):
    """The input pixels unit (row, col) of `layer`'s output depends on, traced back layer by layer.

    layer: a layer's name or its position in model.layers; its output must still be laid out as
    an image (H, W, channels) - a convolution, a pooling, a normalisation. Each layer with a window
    widens the range to every window its outputs read: rows r0..r1 of its output read rows
    r0 * stride - pad .. r1 * stride - pad + window - 1 of its input (cut to the input); a layer
    that keeps positions (an activation, BatchNormalization, a Reshape to channels) keeps it.
    Returns {"name", "row", "col", "rows" [first, last], "cols" [first, last], "size" [h, w],
    "steps": [{"name", "rows", "cols"}] from the unit's layer down to the pixels, "image_shape"}.
    """
    position = _position_of(model, layer)
    target = model.layers[position].describe()
    if len(target.output_shape) != 3:
        raise DigitlensError(f"layer: {target.name!r} ({target.type}) outputs {target.output_shape}, not feature "
                             "maps (height, width, channels): its units have no place in the image")
    row = check_unit(row, target.output_shape[0], "row")
    col = check_unit(col, target.output_shape[1], "col")
    rows, cols = [row, row], [col, col]
    steps = [{"name": target.name, "rows": list(rows), "cols": list(cols)}]
    for current in reversed(model.layers[:position + 1]):
        d = current.describe()
        if d.window is not None:
            (kh, kw), (sh, sw), ((top, _), (left, _)) = d.window, d.strides, d.padding
            height, width = d.input_shape[:2]
            rows = [max(rows[0] * sh - top, 0), min(rows[1] * sh - top + kh - 1, height - 1)]
            cols = [max(cols[0] * sw - left, 0), min(cols[1] * sw - left + kw - 1, width - 1)]
        elif len(d.input_shape) < 2 or tuple(d.input_shape[:2]) != tuple(d.output_shape[:2]):
            raise DigitlensError(f"the receptive field of {target.name!r} cannot be traced past {d.name!r} "
                                 f"({d.type}): its input {d.input_shape} is not laid out as the image is")
        below = model.layers.index(current) - 1
        steps.append({"name": model.layers[below].name if below >= 0 else "input pixels",
                      "rows": list(rows), "cols": list(cols)})
    if tuple(model.layers[0].describe().input_shape[:2]) != tuple(image_shape(model)):
        raise DigitlensError(f"the receptive field of {target.name!r}: the model's input is not an image")
    return {"name": target.name, "row": row, "col": col, "rows": rows, "cols": cols,
            "size": [rows[1] - rows[0] + 1, cols[1] - cols[0] + 1], "steps": steps,
            "image_shape": list(image_shape(model))}


def batch_norm_statistics(model, x, layer=0, chunk=256):
    """The `layer`-th normalisation layer's numbers for the batch of images x.

    While training it normalises each channel by the batch's own mean and (biased) variance over
    every image and position, then scales by gamma and shifts by beta; at prediction it uses its
    moving averages instead. Returns {"name", "position", "channels", "count" (values per channel
    in the batch), "mean", "variance" (the batch's, per channel), "gamma", "beta", "moving_mean",
    "moving_variance", "epsilon", "momentum", "output_mean", "output_std" (of the training-time
    output: ~beta and ~|gamma|), "moving_mean_after", "moving_variance_after" (what one training
    step on this batch would leave), "prediction_scale", "prediction_shift" (the y = scale * x +
    shift prediction uses)}, each per channel.
    """
    position, norm = _pick(normalization_layers(model), layer, "normalisation layers", model)
    d = norm.describe()
    x = model.prepare_inputs(x, "x")
    pieces = []
    for start in range(0, len(x), chunk):
        a = x[start:start + chunk]
        for current in model.layers[:position]:
            a = run_layer(current, a)
        pieces.append(np.asarray(a, np.float32))
    a = np.concatenate(pieces)
    channels = a.shape[-1]
    a = a.reshape(-1, channels)                                        # every image and position of a channel
    mean, variance = a.mean(axis=0), a.var(axis=0)                    # biased: divided by the count
    gamma = np.array(norm.gamma, np.float32) if "gamma" in d.params else np.ones(channels, np.float32)
    beta = np.array(norm.beta, np.float32) if "beta" in d.params else np.zeros(channels, np.float32)
    epsilon, momentum = float(norm.epsilon), float(norm.momentum)
    y = gamma * (a - mean) / np.sqrt(variance + np.float32(epsilon)) + beta
    moving_mean = np.array(norm.moving_mean, np.float32)
    moving_variance = np.array(norm.moving_variance, np.float32)
    scale = gamma / np.sqrt(moving_variance + np.float32(epsilon))
    return {"name": d.name, "position": position, "channels": channels, "count": len(a), "images": len(x),
            "mean": mean, "variance": variance, "gamma": gamma, "beta": beta, "moving_mean": moving_mean,
            "moving_variance": moving_variance, "epsilon": epsilon, "momentum": momentum,
            "output_mean": y.mean(axis=0), "output_std": y.std(axis=0),
            "moving_mean_after": momentum * moving_mean + (1 - momentum) * mean,
            "moving_variance_after": momentum * moving_variance + (1 - momentum) * variance,
            "prediction_scale": scale, "prediction_shift": beta - moving_mean * scale}


def before_dense(trace):
    """What the image became in each layer before the first Dense one, from explain.trace's outputs:
    [{"name", "type", "output_shape", "count", "smallest", "largest", "above_zero" (the fraction)}]."""
    rows = []
    for row in trace["layers"]:
        if row["fully_connected"]:
            break
        values = np.asarray(row["activation"], dtype=np.float32)
        rows.append({"name": row["name"], "type": row["type"], "output_shape": row["output_shape"],
                     "count": int(values.size), "smallest": float(values.min()), "largest": float(values.max()),
                     "above_zero": float((values > 0).mean())})
    return rows


def describe_field(field):
    """"rows 4-16, cols 0-12 (13 x 13 pixels of 28 x 28)": a receptive field in words."""
    (r0, r1), (c0, c1), (h, w) = field["rows"], field["cols"], field["size"]
    height, width = field["image_shape"]
    return f"rows {r0}-{r1}, columns {c0}-{c1} ({h} x {w} = {h * w:,} of the {height * width:,} pixels)"


__all__ = ["batch_norm_statistics", "before_dense", "describe_field", "feature_maps", "filters", "layer_outputs", "local_layers",
           "normalization_layers", "pooling_layers", "pooling_step", "receptive_field"]
