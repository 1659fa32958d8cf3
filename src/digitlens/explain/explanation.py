"""`explain(model, image)`: everything digitlens can say about a model and one image, in one object.

    e = explain(model, x_test[0], label=y_test[0])
    e.trace["prediction"], e.backprop["probs_after"]
    e.to_json()            # plain lists and numbers for json.dumps

Each part is computed when first asked for. explain computes and never draws: the pictures of an
Explanation are digitlens.viz's (viz.html.explanation_html, the report, the notebook's display).
"""

from functools import cached_property

import numpy as np

from .backprop import backprop_step
from .common import to_json
from .evaluation import evaluate
from .history import curves
from .neurons import neuron_activity
from .parameters import parameter_table
from .path import output_contributions, trace


class Explanation:
    """A model (and optionally one image, its label and a test set) with lazily computed parts."""

    def __init__(self, model, image=None, label=None, x=None, y=None, class_names=None, probs=None):
        model._require_built()
        self.model = model
        self.probs = probs              # model.predict(x), when the caller already has it
        self.image = None if image is None else np.asarray(image)
        self.label = None if label is None else int(label)
        self.x, self.y = x, y
        self.class_names = list(class_names) if class_names is not None else None

    @cached_property
    def parameters(self):
        return parameter_table(self.model)

    @cached_property
    def trace(self):
        return None if self.image is None else trace(self.model, self.image, self.class_names)

    @cached_property
    def contributions(self):
        """output_contributions for the predicted class (None without an image)."""
        if self.image is None:
            return None
        return output_contributions(self.model, self.image, self.trace["prediction"])

    @cached_property
    def backprop(self):
        if self.image is None or self.label is None:
            return None
        return backprop_step(self.model, self.image, self.label)

    @cached_property
    def activity(self):
        return None if self.x is None else neuron_activity(self.model, self.x)

    @cached_property
    def evaluation(self):
        if self.x is None or self.y is None:
            return None
        return evaluate(self.model, self.x, self.y, self.class_names, probs=self.probs)

    @cached_property
    def curves(self):
        history = getattr(self.model, "history", None)
        return curves(history) if history is not None else None

    def to_json(self):
        """All computed parts as plain Python, ready for json.dumps (large arrays left out)."""
        step = self.backprop
        if step is not None:
            step = {k: v for k, v in step.items() if k not in ("layers", "change_maps", "filters")}
        return to_json({"parameters": self.parameters, "trace": self.trace,
                        "contributions": self.contributions, "backprop": step,
                        "evaluation": self.evaluation, "curves": self.curves})

    def __repr__(self):
        what = f"image (label {self.label})" if self.image is not None else "no image"
        return f"<Explanation of {self.model.name!r}: {what}>"


def explain(model, image=None, label=None, x=None, y=None, class_names=None, probs=None):
    """An Explanation of `model`, and of `image` (with its right `label`, for the backprop step);
    probs: model.predict(x), if already known."""
    return Explanation(model, image, label, x, y, class_names, probs)

