"""The API for one digit: predict it with every number on the way, and ask why.

    POST /api/predict   a drawing, an image file or prepared pixels -> the preparation steps, the
                        flatten strip, every layer's weighted sums and activations, the softmax
    POST /api/neuron    one neuron of any hidden layer: what drove it from the layer below, which
                        pixels drove it (its weights, or d z / d pixels deeper up), z, bias,
                        activation, and what it pushes into the layer above
    POST /api/output    one output: which neurons of the last hidden layer pushed it up or down
    POST /api/backprop  one real training step on this digit and a label (or several in a row):
                        what changed in every layer

Each handler turns the request into a 28x28 digit (digits.py) and hands it to digitlens.explain,
which does all the arithmetic; the handler only picks what the page needs. It computes with the
snapshot of the browser's model it took at the start (session.py), without a lock: predictions
run side by side, and a model loaded meanwhile does not change an answer half-way.
"""

import time

from fastapi import APIRouter, Request

from ..datasets.images import doubt_of_prepared
from ..explain.backprop import backprop_step
from ..explain.feature_maps import maps_of
from ..explain.flatten import flatten_strip, index_to_pixel
from ..explain.neurons import neuron_detail
from ..explain import words
from ..explain.path import output_contributions, trace
from ..viz.style import symmetric_limit
from . import digits
from .colors import LIMIT_PERCENTILE
from .common import need_pixel_weights, pixel_weights_reason, send, session_of
from .packing import pack, pack_maps
from .schemas import BackpropStep, Digit, NeuronQuestion, OutputQuestion, errors

router = APIRouter(prefix="/api", tags=["one digit"])


@router.post("/predict", summary="Predict a digit, keeping every number on the way", responses=errors(409, 422))
def predict(body: Digit, request: Request):
    """The prediction with all activations: what the Draw tab shows, about ten times a second.

    Returns {"version" (of the model), "image" (the prepared 28x28 digit, 0-255), "steps" (for a
    picture: "paper" (the paper as estimated, lit as in the picture), "ink" (what was counted as
    ink, light on dark), "cropped", "scaled" as PNG data URLs, "box" [top, bottom, left, right] of
    the crop in the picture of "size" [height, width], "inverted", "stroke_width" (as a fraction of
    the digit's longer side; MNIST's is about 0.18), "redrawn" (the strokes were redrawn at MNIST's
    width), "ruled_lines" (how many were erased); None for prepared pixels, which need no
    preparation), "doubt" (null, or one sentence beginning "this does not look like one digit: "
    saying why - a dot, a line, ink at every edge...), "flatten" ({"strip", "starts", "width"}),
    "layers" ([{"name", "type", "index", "units", "activation_name", "z", "activation"}] for each
    Dense layer, index 0 first), "maps" ([{"position" (in the model's layers), "name", "type",
    "label", "what", "maps" ("feature maps", "pooled maps", ...), "kernels" (its maps come from
    kernels: /api/maps/detail shows them), "activation", "pixels" (packing.pack_maps: {"shape"
    [channels, height, width], "png" (one byte a value, the maps side by side), "signed", "limit"})}] for each layer whose outputs are
    maps, by its description; [] for a network of Dense layers), "pixel_weights" (null if the first
    Dense layer reads the pixels, else the line saying why the views of per-pixel weights are not
    shown), "blank" (no ink at all), "softmax", "probabilities", "prediction",
    "confidence" (how sure, in words), "class_names", "ms" (server time)}.
    """
    started = time.perf_counter()
    session = session_of(request)
    steps = None
    if body.image is not None:
        image, found = digits.from_picture(body.image)
        steps = {key: digits.png_data_url(found[key]) for key in ("paper", "ink", "cropped", "scaled")}
        steps.update({key: found[key] for key in ("box", "inverted", "stroke_width", "redrawn", "ruled_lines")},
                     size=found["grayscale"].shape)
        doubt = found["doubt"]
    else:
        image = digits.from_pixels(body.pixels)
        doubt = doubt_of_prepared(image)
    snapshot = session.snapshot()
    path = trace(snapshot.model, image, list(snapshot.class_names))
    version = snapshot.version
    strip = flatten_strip(image)
    found = maps_of(snapshot.model, [layer["activation"] for layer in path["layers"]])    # the trace's own outputs
    maps = [{**{key: row[key] for key in ("position", "name", "type", "label", "what", "maps", "kernels", "activation")},
             "pixels": pack_maps(row["values"])} for row in found]
    dense = [layer for layer in path["layers"] if layer["fully_connected"]]
    layers = [{"index": k, **{key: layer[key] for key in ("name", "type", "units", "activation_name", "z", "activation")}}
              for k, layer in enumerate(dense)]
    result = {"version": version, "image": image, "steps": steps, "doubt": doubt,
              "flatten": {"strip": strip["strip"], "starts": strip["starts"], "width": strip["width"]},
              "layers": layers, "maps": maps,
              "pixel_weights": pixel_weights_reason(snapshot.model, "Drawing each neuron's weights as pixels"),
              "blank": not image.any(), "softmax": path["softmax"],
              "probabilities": path["probabilities"], "prediction": path["prediction"],
              "confidence": words.confidence(path["probabilities"], path["class_names"]),
              "class_names": path["class_names"], "ms": round((time.perf_counter() - started) * 1000, 2)}
    return send(result, started=started)


@router.post("/neuron", summary="One neuron of any hidden layer and the current digit",
             responses=errors(400, 409, 422))
def neuron(body: NeuronQuestion, request: Request):
    """Neuron `neuron` of hidden layer `layer` (0: the first, wired to the pixels) for the prepared
    digit `pixels` (explain.neurons.neuron_detail).

    Returns {"neuron", "layer" (name), "layer_index", "activation_name", "z", "bias", "activation",
    "state" (what the activation means, in words), "weights" (28x28: its incoming weights per pixel
    for layer 0; deeper, d z / d pixels for this digit), "weights_exact", "pixel_contributions"
    (28x28: pixel x those weights), "pixel_rest" (z minus their sum), "incoming" (what drove it
    from the layer below: "from_layer" (None: the pixels), "from_layer_name", "contributions",
    "activations", "weights" (one per neuron below; left out for layer 0, whose inputs are the
    pixels of the two pictures), "top_up", "top_down"), "outgoing" (its weights to the next layer's
    units), "pushes" (activation x outgoing weight), "next_layer", "next_layer_index",
    "next_is_output", "limits" (the ends of every colour scale, as digitlens.viz chooses them)}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    snapshot = session.snapshot()
    need_pixel_weights(snapshot.model, "Showing a neuron's weights and pixels")
    detail = neuron_detail(snapshot.model, image, body.neuron, layer=body.layer)
    detail["version"] = snapshot.version
    detail["class_names"] = list(snapshot.class_names)
    incoming = detail["incoming"]
    if incoming["from_layer"] is None:         # the pixels: the 28x28 pictures already show them
        for key in ("contributions", "activations", "weights"):
            incoming.pop(key)
    detail["limits"] = {"weights": symmetric_limit(detail["weights"], LIMIT_PERCENTILE),
                        "pixel_contributions": symmetric_limit(detail["pixel_contributions"]),
                        "incoming": symmetric_limit(incoming.get("contributions", [0.0])),
                        "outgoing": symmetric_limit(detail["outgoing"])}
    return send(detail, started=started)


@router.post("/output", summary="Which hidden neurons pushed one output up or down", responses=errors(400, 409, 422))
def output(body: OutputQuestion, request: Request):
    """Output `output` for the prepared digit `pixels`: its weighted sum z = bias + sum of
    activation_j x weight_j over the neurons j of the last hidden layer, each term listed.

    Returns {"output", "layer" (the output layer's name), "layer_index", "from_layer" (the number of
    the hidden layer the neurons belong to), "from_layer_name", "z", "bias", "contributions" (one
    per neuron), "activations", "weights", "top_up", "top_down" ([{"neuron", "activation",
    "weight", "contribution"}])}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    snapshot = session.snapshot()
    result = output_contributions(snapshot.model, image, body.output, top=body.top)
    result["version"] = snapshot.version
    result["class_names"] = list(snapshot.class_names)
    return send(result, started=started)


@router.post("/backprop", summary="One real training step on this digit (or several in a row)",
             responses=errors(400, 409, 422))
def backprop(body: BackpropStep, request: Request):
    """Take `steps` training steps in a row on (pixels, label) - forward, loss, backward, optimizer -
    on a twin of the model (the model the other tabs use is not changed) and report what the last
    one changed. The steps are repeatable, so the page takes "one more" by asking for steps + 1.

    Returns {"label", "loss_before", "loss_after", "probs_before", "probs_after",
    "prediction_before", "prediction_after", "optimizer", "note", "output_error" (probs - onehot),
    "steps", "losses" (before each step, then after the last), "label_probs", "layers" ([{"name",
    "index", "kernel_shape", "blame" (dL/dz per unit), "delta" (packed kernel changes; null for
    the first layer when its changes are the change maps)}]), "change_maps" (packed (units, 28, 28)
    float32: each first-layer neuron's weight changes as a picture; null when the first Dense layer
    does not read the pixels, and "change_maps_note" says why), "output_delta" (packed
    (hidden, outputs) changes of the output layer's kernel), "top_strengthened", "top_weakened"
    ([{"layer", "layer_index", "from", "to", "pixel" ([row, col] for a pixel, else null), "delta"}])}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    optimizer = None if body.optimizer == "model" else body.optimizer
    snapshot = session.snapshot()
    step = backprop_step(snapshot.model, image, body.label, learning_rate=body.learning_rate, optimizer=optimizer,
                         steps=body.steps)
    version = snapshot.version
    names = list(snapshot.class_names)
    index = {row["name"]: k for k, row in enumerate(step["layers"])}
    no_pixels = pixel_weights_reason(snapshot.model, "Drawing the first layer's weight changes as pixels")
    pictures = step["change_maps"] is not None and no_pixels is None

    def connection(row):
        layer, source, target, delta = row
        pixel = list(index_to_pixel(source)) if index[layer] == 0 and pictures else None
        return {"layer": layer, "layer_index": index[layer], "from": source, "to": target, "pixel": pixel,
                "delta": delta}

    last = step["layers"][-1]
    result = {key: step[key] for key in ("label", "loss_before", "loss_after", "probs_before", "probs_after",
                                         "prediction_before", "prediction_after", "optimizer", "note",
                                         "output_error", "steps", "losses", "label_probs")}
    result.update(version=version, class_names=names,
                  layers=[{"name": row["name"], "index": k, "kernel_shape": row["kernel_shape"], "blame": row["blame"],
                           "delta": pack(row["delta"]["kernel"]) if k > 0 or not pictures else None}
                          for k, row in enumerate(step["layers"])],
                  change_maps=pack(step["change_maps"]) if pictures else None, change_maps_note=no_pixels,
                  output_delta=pack(last["delta"]["kernel"]) if len(step["layers"]) > 1 else None,
                  top_strengthened=[connection(row) for row in step["top_strengthened"]],
                  top_weakened=[connection(row) for row in step["top_weakened"]])
    return send(result, started=started)
