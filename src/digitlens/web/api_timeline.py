"""The API for the training timeline: replay how the browser's model learned, step by step.

    GET /api/timeline                    what was recorded: the steps (0, 1, 2, 5, 10, ... and each
                                         epoch's end), their loss and accuracy, which first-layer
                                         neurons, the probe images and what the network said about
                                         each of them at every step ("watch this digit get recognised")
    GET /api/timeline/snapshot/{k}       snapshot k: the recorded neurons' weight pictures and each
                                         output's template, packed, with the ends of their colour scales
    GET /api/timeline/neuron/{neuron}    one recorded neuron's weights at every snapshot ("watch
                                         neuron N learn")

A model carries a timeline if it was trained with one - the Train tab's jobs and `digitlens train`
record one unless told not to - whether it was trained here or loaded from a file (nn/timeline.py
says what a snapshot holds, and how it is stored: 8-bit numbers with one scale per picture set,
which are what these answers decode). Without one, these answer 404, and /api/status's model says
"timeline": null, so the page does not ask.
"""

import numpy as np
from fastapi import APIRouter, Request

from ..errors import DigitlensError
from ..viz.style import symmetric_limit
from ..viz.timeline import hard_count, snapshot_words
from .colors import LIMIT_PERCENTILE
from .common import send, session_of
from .packing import pack
from .schemas import errors
from .session import NotFound

router = APIRouter(prefix="/api/timeline", tags=["training timeline"])


def timeline_of(snapshot):
    """The snapshot's model's TrainingTimeline, or a 404 saying how to get one."""
    timeline = getattr(snapshot.model, "timeline", None)
    if timeline is None or not len(timeline):
        raise NotFound("this model carries no training timeline: train one in the Train tab (it records one), "
                       "or load a file that 'digitlens train' saved")
    return timeline


def timeline_info(model):
    """A few words about a model's timeline for /api/status (None without one)."""
    timeline = getattr(model, "timeline", None)
    if timeline is None or not len(timeline):
        return None
    return {"snapshots": len(timeline), "first_step": timeline.steps[0], "last_step": timeline.steps[-1]}


@router.get("", summary="What the model's training timeline recorded", responses=errors(404, 409))
def overview(request: Request):
    """Returns {"version", "layer" (the first Dense layer's name), "neurons" (the recorded neurons'
    numbers in that layer), "snapshots", "steps", "epochs", "loss", "accuracy" (each one per
    snapshot; loss and accuracy are the epoch's running means so far, null at step 0), "words"
    (each snapshot in words: "step 50 (epoch 0.03): loss 0.512, accuracy 84.1%"), "probes":
    [{"index" (in the test set), "label", "typical" (false for the least typical ones), "image"
    (28x28)}], "probabilities" (snapshots x probes x classes), "class_names"}."""
    snapshot = session_of(request).snapshot()
    t = timeline_of(snapshot)
    typical = len(t.probe_labels) - hard_count(t)
    probes = [{"index": index, "label": label, "typical": i < typical, "image": np.asarray(image, np.uint8)}
              for i, (index, label, image) in enumerate(zip(t.probe_indices, t.probe_labels, t.probe_images))]
    return send({"version": snapshot.version, "layer": t.layer, "neurons": t.neurons, "snapshots": len(t),
                 "image_shape": list(t.image_shape), "steps": t.steps, "epochs": t.epochs, "loss": t.loss,
                 "accuracy": t.accuracy, "words": [snapshot_words(t, k) for k in range(len(t))],
                 "probes": probes, "probabilities": t.probabilities, "class_names": list(snapshot.class_names)})


@router.get("/snapshot/{k}", summary="One snapshot of the timeline: weights and templates",
            responses=errors(404, 409, 422))
def one_snapshot(k: int, request: Request):
    """Snapshot `k` (0 is the first, at step 0). Returns {"version", "k", "step", "epoch", "loss",
    "accuracy", "words", "neurons", "weights" (packed float32 (neurons, 28, 28) with "limit", the
    ends of one colour scale for them all, and "limits", each picture's own), "templates" (packed
    (classes, 28, 28), each output's d score / d pixels, with "limit"), "probabilities" (probes x
    classes)}."""
    snapshot = session_of(request).snapshot()
    t = timeline_of(snapshot)
    if not 0 <= k < len(t):
        raise NotFound(f"k: expected a snapshot from 0 to {len(t) - 1}, received {k}")
    weights, templates = t.weights_at(k), t.templates_at(k)
    return send({"version": snapshot.version, "k": k, "step": t.steps[k], "epoch": t.epochs[k], "loss": t.loss[k],
                 "accuracy": t.accuracy[k], "words": snapshot_words(t, k), "neurons": t.neurons,
                 "weights": {**pack(weights), "limit": symmetric_limit(weights, LIMIT_PERCENTILE),
                             "limits": [symmetric_limit(w) for w in weights]},
                 "templates": {**pack(templates), "limit": symmetric_limit(templates, LIMIT_PERCENTILE)},
                 "probabilities": t.probabilities[k]})


@router.get("/neuron/{neuron}", summary="One recorded neuron's weights at every step",
            responses=errors(400, 404, 409, 422))
def one_neuron(neuron: int, request: Request):
    """Neuron `neuron` of the first Dense layer (one of the recorded ones: /api/timeline's
    "neurons"). Returns {"version", "neuron", "layer", "steps", "words", "weights" (packed float32
    (snapshots, 28, 28) with "limits", each picture's own colour scale: early weights are small
    random numbers and would look blank on the scale of later ones)}."""
    snapshot = session_of(request).snapshot()
    t = timeline_of(snapshot)
    if neuron not in t.neurons:
        shown = ", ".join(map(str, t.neurons[:8])) + (", ..." if len(t.neurons) > 8 else "")
        raise DigitlensError(f"neuron: expected one of the {len(t.neurons)} recorded neurons ({shown}), "
                             f"received {neuron}")
    slot = t.neurons.index(neuron)
    pictures = np.stack([t.weights_at(k)[slot] for k in range(len(t))])
    return send({"version": snapshot.version, "neuron": neuron, "layer": t.layer, "steps": t.steps,
                 "words": [snapshot_words(t, k) for k in range(len(t))],
                 "weights": {**pack(pictures), "limits": [symmetric_limit(p) for p in pictures]}})
