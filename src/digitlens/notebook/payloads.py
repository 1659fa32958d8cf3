"""What the drawing pad sends to the browser: explain's numbers, packed small.

A widget's state is JSON for the few numbers and names, plus raw bytes for the arrays (the 784
pixels as uint8, weighted sums and activations as float32), which Jupyter carries as binary
buffers beside the JSON rather than as text: the lesson's network after one stroke is about 3 KB.
Every number here is computed by digitlens.explain, the same functions the web app's API and the
command line call; this module only picks what a view shows and packs it.

    prediction(model, image, steps)            the prepared digit and its flatten strip, every
                                               Dense layer's weighted sums and activations, the
                                               softmax, the prediction
    inspection(model, image, layer, unit)      one neuron (or output) and what drove it

Left out: drawing (the widgets' JavaScript) and preparing the drawing (datasets.images).
"""

import numpy as np

from ..explain.common import check_unit, dense_layers, top_indices
from ..explain.flatten import flatten_strip
from ..explain.neurons import neuron_detail
from ..explain.path import layer_contributions, trace
from ..viz.style import LIMIT_PERCENTILE, symmetric_limit
from ..web.colors import diverging_table

TOP = 10          # neurons listed as pushing a unit up (and down)


def floats(*arrays):
    """float32 arrays laid end to end as little-endian bytes (a JavaScript Float32Array)."""
    parts = [np.ascontiguousarray(a, dtype="<f4").ravel() for a in arrays]
    return np.concatenate(parts).tobytes() if parts else b""


def colour_table():
    """The 256 [r, g, b] rows colors.js paints weights with: the web app's own table (web.colors),
    computed from digitlens.viz's diverging scale, so a weight has one colour everywhere."""
    return diverging_table()["colors"]


def layer_list(model):
    """Each Dense layer as the views draw it: {"name", "units", "activation", "index"}, read from
    the layers' own descriptions. The last one is the output layer."""
    rows = []
    for k, (_, layer) in enumerate(dense_layers(model)):
        d = layer.describe()
        rows.append({"index": k, "name": d.name, "units": d.units, "activation": d.activation,
                     "label": d.label})
    return rows


def class_names(model):
    names = getattr(model, "class_names", None)
    return [str(n) for n in names] if names is not None else [str(k) for k in range(model.output_shape[-1])]


def prediction(model, image, steps=None):
    """One prepared digit through the model: (JSON-ready dict, {name: bytes}).

    image: (28, 28) uint8, prepared. steps: prepare_image's steps for a drawing, or None.
    The bytes: "strip" (the 784 inputs in order, uint8: the image's rows laid end to end, which is
    also the image), "layers" (for each Dense layer its z then its activation, float32, `units`
    values each), "steps" (the cropped then the scaled drawing, uint8, shapes in the JSON).
    """
    t = trace(model, image, class_names(model))
    strip = flatten_strip(image)
    dense = [row for row in t["layers"] if row["fully_connected"]]
    info = {"prediction": t["prediction"], "probabilities": t["probabilities"], "softmax": t["softmax"],
            "starts": strip["starts"], "width": strip["width"], "height": strip["height"],
            "layers": [{"name": row["name"], "units": row["units"], "activation": row["activation_name"]}
                       for row in dense],
            "steps": None}
    data = {"strip": np.ascontiguousarray(strip["strip"], dtype=np.uint8).tobytes(),
            "layers": floats(*[part for row in dense for part in (row["z"], row["activation"])]),
            "steps": b""}
    if steps is not None:
        info["steps"] = {"cropped": list(steps["cropped"].shape), "scaled": list(steps["scaled"].shape),
                         "box": list(steps["box"]), "inverted": bool(steps["inverted"])}
        data["steps"] = steps["cropped"].tobytes() + steps["scaled"].tobytes()
    return info, data


def inspection(model, image, layer, unit):
    """Neuron `unit` of Dense layer number `layer` (0 = the first; the last is the output layer)
    for one prepared digit: (JSON-ready dict, bytes).

    A first-layer neuron is wired to the pixels, so it comes with explain.neuron_detail: its 784
    weights and the pixel x weight map as float32 bytes (weights first), z, bias, activation, its
    outgoing weights. Any later unit (a deeper hidden neuron or an output) gets what pushed it:
    z = bias + sum over the previous layer's neurons of activation x weight, each term listed
    (explain.path.layer_contributions), the largest TOP up and down; bytes are empty.
    """
    layers = dense_layers(model)
    layer = check_unit(layer, len(layers), "layer")
    target = layers[layer][1]
    unit = check_unit(unit, target.units, "unit")
    last = layer == len(layers) - 1
    head = {"layer": layer, "layer_name": target.name, "unit": unit, "output": last,
            "activation_name": target.activation.name}
    if layer == 0:
        d = neuron_detail(model, image, unit)
        head.update(kind="pixels", z=d["z"], bias=d["bias"], activation=d["activation"],
                    outgoing=d["outgoing"], next_layer=d["next_layer"],
                    limits={"weights": symmetric_limit(d["weights"], LIMIT_PERCENTILE),
                            "pixel_contributions": symmetric_limit(d["pixel_contributions"])})
        return head, floats(d["weights"], d["pixel_contributions"])

    t = trace(model, image, class_names(model))
    position = layers[layer][0]
    inputs = np.asarray(t["layers"][position - 1]["activation"], dtype=np.float32)
    row = t["layers"][position]
    pushes = layer_contributions(inputs, target)[:, unit]     # (n_in,): activation_i x weight_i
    weights = target.kernel[:, unit]

    def listed(indices):
        return [{"neuron": int(i), "activation": float(inputs[i]), "weight": float(weights[i]),
                 "contribution": float(pushes[i])} for i in indices]

    head.update(kind="pushes", z=row["z"][unit], bias=row["bias"][unit], activation=row["activation"][unit],
                inputs_from=layers[layer - 1][1].name, inputs=len(inputs),
                top_up=listed([i for i in top_indices(pushes, TOP) if pushes[i] > 0]),
                top_down=listed([i for i in top_indices(pushes, TOP, largest=False) if pushes[i] < 0]),
                softmax=t["softmax"] if last else None)
    return head, b""
