"""Two models side by side: what each one is, how each does, and where they disagree.

    c = compare(model_a, model_b, x_test, y_test)
    c["accuracy"]                       # [0.9812, 0.9431]
    c["agreement"]                      # the share of images both read as the same digit
    c["only_a"]                         # test images A reads right and B wrong, surest first
    c["confusion_difference"]           # A's confusion matrix minus B's
    c["shifted"]                        # each model's accuracy on the same digits moved 2 pixels

Typical pairs: 32 vs 256 hidden units, relu vs sigmoid, one vs two hidden layers, a model before
and after more training, digitlens's model vs the learner's Keras one. Every figure is each model's
own (`evaluate` in evaluation.py, `parameter_table` in parameters.py), so the comparison always
agrees with what each model says about itself.

The shifted digits are the lesson's point about neighbours: a dense network's first layer has a
weight per pixel position, so the same digit two pixels to the left lands on other weights; a
convolution slides the same filters everywhere and pooling forgets a pixel or so of position.
Each test image is moved by whole pixels (datasets/augment.py `shift`), and for each model the
accuracy on the moved images and the share of images whose answer the move changed are counted.
"""

import numpy as np

from ..datasets.augment import shift
from ..errors import DigitlensError
from .common import dense_layers, image_shape
from .evaluation import evaluate
from .parameters import parameter_table

GALLERY = 24
SHIFTS = (("2 pixels left", 0, -2), ("2 pixels right", 0, 2), ("2 pixels up", -2, 0), ("2 pixels down", 2, 0))


def compare(a, b, x, y, names=("A", "B"), class_names=None, gallery=GALLERY):
    """Compare two models on the images x (N, 28, 28) with labels y (N,).

    Returns {"names", "parameters": [parameter_table(a), parameter_table(b)], "accuracy", "loss",
    "per_class_accuracy": [list, list], "confusion": [matrix, matrix], "confusion_difference"
    (A minus B), "agreement" (share of images with the same prediction), "both_right",
    "both_wrong", "only_a" / "only_b" ([{"index", "label", "prediction_a", "prediction_b",
    "confidence_a", "confidence_b"}], the surest first, at most `gallery`), "first_layer": for
    each model its first Dense layer's name and units, "count", "shifted": [{"shift", "rows",
    "cols", "accuracy": [A's, B's] on the moved images, "changed": [the share of images whose
    answer the move changed, for A and B]}]}.
    """
    for model, name in zip((a, b), names):
        model._require_built()
    if a.output_shape[-1] != b.output_shape[-1]:
        raise DigitlensError(f"models {names[0]} and {names[1]} have {a.output_shape[-1]} and "
                             f"{b.output_shape[-1]} outputs: they do not answer the same question")
    if int(np.prod(a.input_shape)) != int(np.prod(b.input_shape)):
        raise DigitlensError(f"models {names[0]} and {names[1]} take inputs of shapes {a.input_shape} "
                             f"and {b.input_shape}: they cannot read the same images")
    reports = [evaluate(model, x, y, class_names) for model in (a, b)]
    probs = [model.predict(x) for model in (a, b)]
    y = a.prepare_labels(y, len(x), "y")
    predicted = [p.argmax(axis=1) for p in probs]
    right = [pred == y for pred in predicted]

    def gallery_of(mask, first, second):
        indices = np.flatnonzero(mask)
        confidence = probs[first][indices, y[indices]]       # how sure the right model was
        indices = indices[np.argsort(-confidence, kind="stable")][:gallery]
        return [{"index": int(i), "label": int(y[i]), "prediction_a": int(predicted[0][i]),
                 "prediction_b": int(predicted[1][i]), "confidence_a": float(probs[0][i, predicted[0][i]]),
                 "confidence_b": float(probs[1][i, predicted[1][i]])} for i in indices]

    confusion = [np.asarray(r["confusion"]) for r in reports]
    return {"names": list(names), "count": int(len(y)),
            "parameters": [parameter_table(a), parameter_table(b)],
            "accuracy": [r["accuracy"] for r in reports], "loss": [r["loss"] for r in reports],
            "per_class_accuracy": [r["per_class_accuracy"] for r in reports],
            "class_names": reports[0]["class_names"],
            "confusion": [c.tolist() for c in confusion],
            "confusion_difference": (confusion[0] - confusion[1]).tolist(),
            "agreement": float(np.mean(predicted[0] == predicted[1])) if len(y) else None,
            "both_right": int(np.sum(right[0] & right[1])), "both_wrong": int(np.sum(~right[0] & ~right[1])),
            "only_a": gallery_of(right[0] & ~right[1], 0, 1), "only_b": gallery_of(right[1] & ~right[0], 1, 0),
            "only_a_count": int(np.sum(right[0] & ~right[1])), "only_b_count": int(np.sum(right[1] & ~right[0])),
            "first_layer": [_first_layer(model) for model in (a, b)],
            "shifted": shifted_digits((a, b), x, y, predicted)}


def shifted_digits(models, x, y, predicted):
    """Each model's accuracy on the images x moved by SHIFTS, and how many answers the move changed."""
    x = np.asarray(x)
    if x.ndim < 3 or not len(y):
        return []                               # not images of rows and columns: nothing to move
    rows = []
    for words, down, right in SHIFTS:
        moved = shift(x, down, right)
        answers = [model.predict(moved).argmax(axis=1) for model in models]
        rows.append({"shift": words, "rows": down, "cols": right,
                     "accuracy": [float(np.mean(answer == y)) for answer in answers],
                     "changed": [float(np.mean(answer != before)) for answer, before in zip(answers, predicted)]})
    return rows


def _first_layer(model):
    """The first fully connected layer's name and units, and whether its weights are pictures."""
    try:
        index, layer = dense_layers(model)[0]
        height, width = image_shape(model)
    except DigitlensError:
        return None
    return {"name": layer.name, "units": layer.units,
            "pictures": layer.kernel.shape[0] == height * width}
