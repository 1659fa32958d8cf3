"""The training timeline as a record: snapshots of what the network looked like during training.

`TrainingTimeline` is to the network's pictures what History is to its loss curve: a record that
`fit` leaves on the model (as `model.timeline`) and that model files carry (io/extras.py). It is
recorded by digitlens.explain.timeline.Timeline, a callback, at log-spaced steps; see there for
what a snapshot holds.

Size. A snapshot keeps its pictures as 8-bit numbers with one scale per picture set (weight =
scale x value / 127, so each weight is kept to 1/254 of the largest one in that snapshot). The
bound: at most MAX_SNAPSHOTS snapshots of at most MAX_NEURONS neurons; for the lesson's model
(28x28 inputs, 10 outputs) that is at most 40 x (64 + 10) x 784 bytes = 2.3 MB, and a 5-epoch run
records about 19 snapshots, about 1.1 MB.
"""

import base64
import math

import numpy as np

MAX_SNAPSHOTS = 40
MAX_NEURONS = 64


def log_spaced_steps(last):
    """0, 1, 2, 5, 10, 20, 50, 100, ... up to `last` (the 1-2-5 sequence)."""
    steps, decade = [0], 1
    while decade <= last:
        steps += [s for s in (decade, 2 * decade, 5 * decade) if s <= last]
        decade *= 10
    return steps


class TrainingTimeline:
    """The recorded snapshots (see the module docstring); arrays are float32 once decoded."""

    def __init__(self, neurons, layer, image_shape, probe_indices, probe_images, probe_labels):
        self.neurons = [int(j) for j in neurons]          # which first-layer neurons are drawn
        self.layer = layer                                 # the first layer's name
        self.image_shape = tuple(image_shape)
        self.probe_indices = [int(i) for i in probe_indices]
        self.probe_images = np.asarray(probe_images)
        self.probe_labels = [int(k) for k in probe_labels]
        self.steps, self.epochs, self.loss, self.accuracy = [], [], [], []
        self._weights, self._templates, self._probs = [], [], []

    def __len__(self):
        return len(self.steps)

    @property
    def weights(self):
        """(snapshots, neurons, height, width): the recorded neurons' weight images."""
        return np.stack([_decode(w) for w in self._weights]) if self._weights else None

    @property
    def templates(self):
        """(snapshots, classes, height, width): each output's template at each step."""
        return np.stack([_decode(t) for t in self._templates]) if self._templates else None

    @property
    def probabilities(self):
        """(snapshots, probes, classes): what the network said about each probe image."""
        return np.asarray(self._probs, dtype=np.float32)

    def add(self, step, epoch, loss, accuracy, weights, templates, probs):
        self.steps.append(int(step))
        self.epochs.append(float(epoch))
        self.loss.append(None if loss is None else float(loss))
        self.accuracy.append(None if accuracy is None else float(accuracy))
        self._weights.append(_encode(weights))
        self._templates.append(_encode(templates))
        self._probs.append(np.round(np.asarray(probs, np.float32), 5))

    def drop(self, k):
        """Forget snapshot k (to make room; see Timeline._thin)."""
        for name in ("steps", "epochs", "loss", "accuracy", "_weights", "_templates", "_probs"):
            del getattr(self, name)[k]

    def snapshot_at(self, step):
        """The index of the last snapshot taken at or before `step`."""
        k = int(np.searchsorted(self.steps, step, side="right")) - 1
        return max(k, 0)

    def nbytes(self):
        """The size of the recorded pictures and numbers, in bytes (what the file stores, before base64)."""
        return sum(w[0].nbytes + t[0].nbytes for w, t in zip(self._weights, self._templates)) + \
            sum(p.size * 4 for p in self._probs)

    def to_dict(self):
        """Plain JSON: the pictures as base64 int8 with one scale each."""
        def pack(encoded):
            values, scale = encoded
            return {"shape": list(values.shape), "scale": scale,
                    "int8": base64.b64encode(values.tobytes()).decode("ascii")}

        return {"version": 1, "layer": self.layer, "neurons": self.neurons,
                "image_shape": list(self.image_shape), "probe_indices": self.probe_indices,
                "probe_labels": self.probe_labels,
                "probe_images": base64.b64encode(np.asarray(self.probe_images, np.uint8).tobytes()).decode("ascii"),
                "steps": self.steps, "epochs": self.epochs, "loss": self.loss, "accuracy": self.accuracy,
                "weights": [pack(w) for w in self._weights], "templates": [pack(t) for t in self._templates],
                "probabilities": [p.tolist() for p in self._probs]}

    @classmethod
    def from_dict(cls, data):
        """The timeline back from to_dict()'s JSON; raises ValueError naming what is wrong."""
        def unpack(item, what):
            shape, scale = tuple(item["shape"]), float(item["scale"])
            if len(shape) != 3 or math.prod(shape) > MAX_NEURONS * 4096 * 4 or not math.isfinite(scale):
                raise ValueError(f"{what}: a picture set of shape {shape}")
            values = np.frombuffer(base64.b64decode(item["int8"], validate=True), dtype=np.int8)
            return values.reshape(shape), scale

        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("not a digitlens timeline (version 1)")
        shape = tuple(int(d) for d in data["image_shape"])
        labels = [int(k) for k in data["probe_labels"]]
        images = np.frombuffer(base64.b64decode(data["probe_images"], validate=True), dtype=np.uint8)
        images = images.reshape((len(labels),) + shape)
        timeline = cls(data["neurons"], str(data["layer"]), shape, data["probe_indices"], images, labels)
        count = len(data["steps"])
        if count > MAX_SNAPSHOTS or not all(len(data[k]) == count for k in (
                "epochs", "loss", "accuracy", "weights", "templates", "probabilities")):
            raise ValueError(f"{count} snapshots with lists of other lengths (at most {MAX_SNAPSHOTS})")
        timeline.steps = [int(s) for s in data["steps"]]
        timeline.epochs = [float(e) for e in data["epochs"]]
        timeline.loss = [None if v is None else float(v) for v in data["loss"]]
        timeline.accuracy = [None if v is None else float(v) for v in data["accuracy"]]
        timeline._weights = [unpack(w, "weights") for w in data["weights"]]
        timeline._templates = [unpack(t, "templates") for t in data["templates"]]
        timeline._probs = [np.asarray(p, np.float32).reshape(len(labels), -1) for p in data["probabilities"]]
        return timeline

    def __repr__(self):
        return f"<TrainingTimeline: {len(self)} snapshots, steps {self.steps[:1]}..{self.steps[-1:]}>"


def _encode(pictures):
    """float pictures -> (int8 values, scale) with value = round(127 x picture / scale)."""
    pictures = np.asarray(pictures, np.float32)
    scale = float(np.abs(pictures).max()) if pictures.size else 0.0
    if not math.isfinite(scale):
        scale = 0.0
    values = np.zeros(pictures.shape, np.int8) if scale == 0 else np.round(
        np.clip(pictures / scale, -1, 1) * 127).astype(np.int8)
    return values, scale


def _decode(encoded):
    values, scale = encoded
    return values.astype(np.float32) * np.float32(scale / 127.0)
