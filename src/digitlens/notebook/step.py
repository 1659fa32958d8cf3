"""`backprop(model, image, label)`: one real step of learning on one digit, and the next, and the next.

    dn.backprop(model, x_test[0], y_test[0])

The widget shows the digit, the probability of every class before and after the step (the right
one rises), the loss before and after, what the optimizer did, the change of the first layer's
784 x 256 weights as one 28 x 28 picture per neuron, the output layer's changes and the
connections that were strengthened and weakened most. "Another step" takes the next step from
where the last one left off, so you can watch the network learn this one digit; "Start again"
goes back to the model's weights. Another label button asks what the step would be if the
digit were that one.

Every number comes from digitlens.explain.backprop_step, the code the web app and the report
use: a twin of the model takes a real training step. The model you pass in is never changed; the
steps are taken on a copy (`widget.twin`), with the model's own optimizer and its state, or plain
SGD (learning rate 0.01) for a model without one (see explain/backprop.py).

Left out: choosing the optimizer or learning rate in the widget (pass optimizer= and
learning_rate= to backprop()), and batches of more than one digit.
"""

import anywidget
import numpy as np
import traitlets

from ..explain.backprop import backprop_step, make_twin
from ..explain.common import check_unit, prepare_one
from ..explain.flatten import index_to_pixel
from ..errors import DigitlensError
from ..viz.style import symmetric_limit
from . import assets, events, payloads
from .pad import as_digit


class BackpropStep(anywidget.AnyWidget):
    _esm = assets.module_text("notebook/static/step.js")
    _css = assets.style_text()

    setup = traitlets.Dict().tag(sync=True)         # class names, colours, the digit
    result = traitlets.Dict().tag(sync=True)        # the last step, JSON part
    maps = traitlets.Bytes(b"").tag(sync=True)      # float32 (units, 28, 28): first-layer changes
    output_delta = traitlets.Bytes(b"").tag(sync=True)   # float32 (hidden, classes)

    def __init__(self, model, image, label, learning_rate=None, optimizer=None, **kwargs):
        model._require_built()
        super().__init__(**kwargs)
        self.model = model
        self.digit = as_digit(image)
        self.x = prepare_one(model, self.digit)
        self.learning_rate, self.optimizer = learning_rate, optimizer
        self.label = check_unit(label, model.output_shape[-1], "label")
        self.setup = {"class_names": payloads.class_names(model), "colors": payloads.colour_table(),
                      "digit": self.digit.ravel().tolist(), "layers": payloads.layer_list(model)}
        self.on_msg(self._message)
        events.listen(self)
        self.reset()

    def reset(self, label=None):
        """Back to the model's own weights (with `label`, if given) and take the first step again."""
        if label is not None:
            self.label = check_unit(label, self.model.output_shape[-1], "label")
        self.twin, self.source = make_twin(self.model, self.optimizer, self.learning_rate)
        self.count = 0
        self.trail = []
        self.step()

    def step(self):
        """Take the next step; returns explain.backprop_step's result for it."""
        if self.count == 0:          # the first from the model itself: its own optimizer's note
            last = backprop_step(self.model, self.digit, self.label, self.learning_rate, self.optimizer)
        else:
            last = backprop_step(self.twin, self.digit, self.label)
        # The twin takes the same step (same weights, same optimizer state, no Dropout): it is now
        # where this step left the weights, ready for the next one.
        self.twin.train_step(self.x, np.array([self.label], dtype=np.intp))
        self.count += 1
        if not self.trail:
            self.trail.append(last["probs_before"][self.label])
        self.trail.append(last["probs_after"][self.label])
        self.last = last
        self._publish_step(last)
        return last

    def _publish_step(self, step):
        first = step["layers"][0]["name"]

        def connection(row):
            layer, source, target, delta = row
            pixel = list(index_to_pixel(source)) if layer == first and step["change_maps"] is not None else None
            return {"layer": layer, "from": source, "to": target, "pixel": pixel, "delta": delta}

        info = {key: step[key] for key in ("label", "loss_before", "loss_after", "probs_before", "probs_after",
                                           "prediction_before", "prediction_after", "optimizer", "note",
                                           "output_error")}
        maps = step["change_maps"]
        last = step["layers"][-1]
        info.update(number=self.count, trail=self.trail,
                    layers=[{"name": r["name"], "kernel_shape": r["kernel_shape"]} for r in step["layers"]],
                    maps=None if maps is None else {"count": len(maps), "shape": list(maps.shape[1:]),
                                                    "limit": symmetric_limit(maps)},
                    output_delta=list(last["delta"]["kernel"].shape) if len(step["layers"]) > 1 else None,
                    output_limit=symmetric_limit(last["delta"]["kernel"]) if len(step["layers"]) > 1 else None,
                    top_strengthened=[connection(r) for r in step["top_strengthened"]],
                    top_weakened=[connection(r) for r in step["top_weakened"]])
        with self.hold_sync():
            self.maps = payloads.floats(maps) if maps is not None else b""
            self.output_delta = payloads.floats(last["delta"]["kernel"]) if len(step["layers"]) > 1 else b""
            self.result = info

    def _message(self, widget, content, buffers):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "step":
                self.step()
            elif kind == "reset":
                self.reset()
            elif kind == "label":
                self.reset(int(content["label"]))
        except (DigitlensError, KeyError, TypeError, ValueError) as error:
            self.send({"type": "error", "message": str(error)})

    def __repr__(self):
        return f"<BackpropStep on {self.model.name!r}: label {self.label}, {self.count} steps>"


def backprop(model, image, label, learning_rate=None, optimizer=None):
    """The one-step-of-learning widget for `image` (a 28x28 digit) and its right `label`."""
    return BackpropStep(model, image, label, learning_rate=learning_rate, optimizer=optimizer)
