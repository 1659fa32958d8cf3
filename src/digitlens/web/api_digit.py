"""The API for one digit: predict it with every number on the way, and ask why.

    POST /api/predict   a drawing, an image file or prepared pixels -> the preparation steps, the
                        flatten strip, every layer's weighted sums and activations, the softmax
    POST /api/neuron    one hidden neuron: its 784 weights as a picture, z, bias, activation, and
                        which pixels drove it
    POST /api/output    one output: which hidden neurons pushed it up or down
    POST /api/backprop  one real training step on this digit and a label: what changed

Each handler turns the request into a 28x28 digit (digits.py) and hands it to digitlens.explain,
which does all the arithmetic; the handler only picks what the page needs. It computes with the
snapshot of the browser's model it took at the start (session.py), without a lock: predictions
run side by side, and a model loaded meanwhile does not change an answer half-way.
"""

import time

from fastapi import APIRouter, Request

from ..datasets.images import doubt_of_prepared
from ..explain.backprop import backprop_step
from ..explain.flatten import flatten_strip, index_to_pixel
from ..explain.neurons import neuron_detail
from ..explain.path import output_contributions, trace
from ..viz.style import symmetric_limit
from . import digits
from .colors import LIMIT_PERCENTILE
from .common import send, session_of
from .packing import pack
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
    width), "ruled_lines" (how many were erased)), "doubt" (null, or one sentence beginning "this
    does not look like one digit: " saying why - a dot, a line, ink at every edge...),
    "flatten" ({"strip", "starts", "width"}), "layers" ([{"name", "type", "units",
    "activation_name", "z", "activation"}] for each Dense layer), "softmax", "probabilities",
    "prediction", "class_names", "ms" (server time)}.
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
    layers = [{key: layer[key] for key in ("name", "type", "units", "activation_name", "z", "activation")}
              for layer in path["layers"] if layer["fully_connected"]]
    result = {"version": version, "image": image, "steps": steps, "doubt": doubt,
              "flatten": {"strip": strip["strip"], "starts": strip["starts"], "width": strip["width"]},
              "layers": layers, "softmax": path["softmax"], "probabilities": path["probabilities"],
              "prediction": path["prediction"], "class_names": path["class_names"],
              "ms": round((time.perf_counter() - started) * 1000, 2)}
    return send(result, started=started)


@router.post("/neuron", summary="One hidden neuron and the current digit", responses=errors(400, 409, 422))
def neuron(body: NeuronQuestion, request: Request):
    """First-layer neuron `neuron` for the prepared digit `pixels`.

    Returns {"neuron", "layer", "weights" (28x28: its 784 incoming weights in the image's layout),
    "z" (its weighted sum), "bias", "activation", "pixel_contributions" (28x28: pixel x weight,
    which sums with the bias to z), "outgoing" (its weights to the next layer), "next_layer",
    "limits" (the ends of the colour scales of the two pictures, as digitlens.viz chooses them)}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    snapshot = session.snapshot()
    detail = neuron_detail(snapshot.model, image, body.neuron)
    detail["version"] = snapshot.version
    detail["limits"] = {"weights": symmetric_limit(detail["weights"], LIMIT_PERCENTILE),
                        "pixel_contributions": symmetric_limit(detail["pixel_contributions"])}
    detail["class_names"] = list(snapshot.class_names)
    return send(detail, started=started)


@router.post("/output", summary="Which hidden neurons pushed one output up or down", responses=errors(400, 409, 422))
def output(body: OutputQuestion, request: Request):
    """Output `output` for the prepared digit `pixels`: its weighted sum z = bias + sum of
    activation_j x weight_j over the hidden neurons j, each term listed.

    Returns {"output", "layer", "z", "bias", "contributions" (one per hidden neuron), "activations",
    "weights", "top_up", "top_down" ([{"neuron", "activation", "weight", "contribution"}])}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    snapshot = session.snapshot()
    result = output_contributions(snapshot.model, image, body.output, top=body.top)
    result["version"] = snapshot.version
    result["class_names"] = list(snapshot.class_names)
    return send(result, started=started)


@router.post("/backprop", summary="One real training step on this digit", responses=errors(400, 409, 422))
def backprop(body: BackpropStep, request: Request):
    """Take one training step on (pixels, label) - forward, loss, backward, optimizer - on a twin
    of the model (the model the other tabs use is not changed) and report what changed.

    Returns {"label", "loss_before", "loss_after", "probs_before", "probs_after",
    "prediction_before", "prediction_after", "optimizer", "note", "output_error" (probs - onehot),
    "layers" ([{"name", "kernel_shape", "blame" (dL/dz per unit)}]), "change_maps" (packed
    (units, 28, 28) float32: each first-layer neuron's weight changes as a picture), "output_delta"
    (packed (hidden, outputs) changes of the output layer's kernel), "top_strengthened",
    "top_weakened" ([{"layer", "from", "to", "pixel" ([row, col] for a pixel, else null), "delta"}])}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    optimizer = None if body.optimizer == "model" else body.optimizer
    snapshot = session.snapshot()
    step = backprop_step(snapshot.model, image, body.label, learning_rate=body.learning_rate, optimizer=optimizer)
    version = snapshot.version
    names = list(snapshot.class_names)
    first_layer = step["layers"][0]["name"]

    def connection(row):
        layer, source, target, delta = row
        pixel = list(index_to_pixel(source)) if layer == first_layer else None
        return {"layer": layer, "from": source, "to": target, "pixel": pixel, "delta": delta}

    last = step["layers"][-1]
    result = {key: step[key] for key in ("label", "loss_before", "loss_after", "probs_before", "probs_after",
                                         "prediction_before", "prediction_after", "optimizer", "note",
                                         "output_error")}
    result.update(version=version, class_names=names,
                  layers=[{"name": row["name"], "kernel_shape": row["kernel_shape"], "blame": row["blame"]}
                          for row in step["layers"]],
                  change_maps=pack(step["change_maps"]) if step["change_maps"] is not None else None,
                  output_delta=pack(last["delta"]["kernel"]) if len(step["layers"]) > 1 else None,
                  top_strengthened=[connection(row) for row in step["top_strengthened"]],
                  top_weakened=[connection(row) for row in step["top_weakened"]])
    return send(result, started=started)
