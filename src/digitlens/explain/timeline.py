"""The training timeline: what the network looked like at step 0, 1, 2, 5, 10, 20, 50, ... of its training.

The lesson's story is a story in time: the network starts from random weights, and training
changes them a little at every step. `Timeline` is a callback that records that story while
`fit` runs, at log-spaced steps (0, 1, 2, 5, 10, 20, 50, 100, ...) and at the end of every epoch:

    weights     the first layer's weight images of a fixed set of neurons (the same neurons at
                every step, so each one can be watched from noise to strokes)
    templates   each output's effective template (d score / d pixels, explain/neurons.py)
    probes      the probabilities the network gives a fixed set of test images: one of each digit
                and a few hard ones, so "watch this digit get recognised" is one row of numbers
    loss, accuracy  of the training so far (the epoch's running means), as fit reports them

    timeline = Timeline(probes=choose_probes(x_test, y_test))
    model.fit(x_train, y_train, epochs=5, callbacks=[timeline])
    model.timeline.steps          # [0, 1, 2, 5, 10, ..., 9375]
    model.timeline.weights[3]     # (neurons, 28, 28) weights at the 4th recorded step

The record itself (TrainingTimeline: its size bound, how it is stored) is nn/timeline.py's; it is
kept in the model file with digitlens's extras (io/extras.py). Recording costs one small
prediction and a copy per snapshot, not per step. Left out: pictures (viz/timeline.py draws them).
"""

import time

import numpy as np

from ..errors import DigitlensError
from ..nn.callbacks import Callback
from ..nn.timeline import MAX_NEURONS, MAX_SNAPSHOTS, TrainingTimeline, log_spaced_steps
from .common import dense_layers, image_shape, require_pixels_into_first_dense
from .neurons import output_templates, weight_images

HARD_PROBES = 5


def choose_probes(x, y, hard=HARD_PROBES):
    """(indices, images, labels) of a fixed probe set: the first image of each class, then the
    `hard` images least like the average of their class (the largest distance from the class's mean
    image), chosen from the data alone, before any training."""
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) == 0:
        raise DigitlensError("probes: expected some images to choose probes from, received none")
    classes = np.unique(y)
    first = [int(np.flatnonzero(y == k)[0]) for k in classes]
    flat = x.reshape(len(x), -1).astype(np.float32)
    distance = np.zeros(len(x), np.float32)
    for k in classes:
        members = np.flatnonzero(y == k)
        mean = flat[members].mean(axis=0)
        distance[members] = np.linalg.norm(flat[members] - mean, axis=1)
    distance[first] = -1.0                                # already chosen
    hardest = [int(i) for i in np.argsort(-distance, kind="stable")[:hard]]
    indices = first + hardest
    return indices, x[indices], y[indices]


class Timeline(Callback):
    """Records the model's TrainingTimeline while fit runs; it ends up as `model.timeline`.

    probes: (indices, images, labels) from choose_probes, or None for no probe images.
    neurons: how many first-layer neurons to keep pictures of (evenly spread over the layer).
    A model that already has a timeline (trained before, or loaded) goes on adding to it.
    """

    def __init__(self, probes=None, neurons=MAX_NEURONS):
        self.probes = probes
        self.neuron_count = min(int(neurons), MAX_NEURONS)
        self.seconds = 0.0                   # time spent recording, to compare with the training's

    def on_train_begin(self, logs=None):
        model = self.model
        require_pixels_into_first_dense(model, "Timeline (a film of the first Dense layer's weights as pixels)")
        height, width = image_shape(model)
        first = dense_layers(model)[0][1]
        existing = getattr(model, "timeline", None)
        if isinstance(existing, TrainingTimeline) and existing.layer == first.name:
            self.timeline = existing
        else:
            units = first.units
            neurons = np.unique(np.linspace(0, units - 1, min(self.neuron_count, units)).round().astype(int))
            indices, images, labels = self.probes if self.probes is not None else ([], np.zeros(
                (0, height, width), np.uint8), [])
            self.timeline = TrainingTimeline(neurons, first.name, (height, width), indices, images, labels)
            model.timeline = self.timeline
        self.probe_x = model.prepare_inputs(self.timeline.probe_images, "probes") if len(
            self.timeline.probe_labels) else None
        steps = self.params.get("steps", 0) * (self.params.get("epochs", 1))
        self.schedule = set(log_spaced_steps(steps + model.optimizer.iterations))
        self.epoch = 0
        self.logs = {}
        if model.optimizer.iterations == 0 and not self.timeline.steps:
            self._snapshot(0, 0.0)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.first_step = self.model.optimizer.iterations     # steps trained before this epoch

    def step_boundaries(self, epoch, steps):
        """The batches after which a snapshot is due: the model must be as that step left it
        (the fast path may otherwise run several steps in one call)."""
        start = self.model.optimizer.iterations
        return [step - start - 1 for step in self.schedule if start < step <= start + steps]

    def on_train_batch_end(self, batch, logs=None):
        self.logs = logs or {}
        step = self.first_step + batch + 1
        if step in self.schedule:
            self._snapshot(step, self.epoch + (batch + 1) / max(self.params.get("steps", 1), 1))

    def on_epoch_end(self, epoch, logs=None):
        step = self.model.optimizer.iterations
        if self.timeline.steps and self.timeline.steps[-1] == step:
            return                                   # the step was just recorded
        self.logs = {**self.logs, **(logs or {})}
        self._snapshot(step, epoch + 1.0)

    def _snapshot(self, step, epoch):
        started = time.perf_counter()
        t = self.timeline
        if len(t) >= MAX_SNAPSHOTS:
            self._thin()
        model = self.model
        weights = weight_images(model)[t.neurons]
        templates = output_templates(model)
        probs = model.predict(self.probe_x) if self.probe_x is not None else np.zeros((0, 0))
        t.add(step, epoch, self.logs.get("loss"), self.logs.get("accuracy"), weights, templates, probs)
        self.seconds += time.perf_counter() - started

    def _thin(self):
        """Make room: drop the snapshot whose step is closest (in log steps) to its neighbours',
        keeping the first and the last, so the record stays spread from step 0 to now."""
        t = self.timeline
        position = np.log1p(np.asarray(t.steps, np.float64))
        gaps = position[2:] - position[:-2]                   # the span a snapshot's removal would leave
        t.drop(int(np.argmin(gaps)) + 1)


