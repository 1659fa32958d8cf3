"""How a model does on a test set: accuracy, loss, the confusion matrix, accuracy per class and the
mistakes it was most sure of.

    report = evaluate(model, x_test, y_test)
    report["accuracy"]                  # 0.98
    report["confusion"][4][9]           # how many 4s were read as 9
    report["confident_mistakes"][0]     # the wrong answer given with the highest probability
    confusion_cell(probs, y_test, 4, 9) # the 4s read as 9, surest first

Loss is the model's own (sparse categorical cross-entropy: the mean of -log p[right digit]).
"""

import numpy as np

from ..errors import DigitlensError
from ..nn import losses


def evaluate(model, x, y, class_names=None, mistakes=24, probs=None):
    """Score the model on images x (N, 28, 28) with labels y (N,); probs: model.predict(x), if it
    is already known (the images are then not run through the model again).

    Returns {"count", "accuracy", "loss", "class_names", "per_class_accuracy" (None for a class
    with no examples), "per_class_count", "confusion" (classes x classes ints, row = true label,
    column = prediction), "top_confusions": [{"label", "predicted", "count"}] (the most common
    mistakes), "confident_mistakes": [{"index", "label", "predicted", "confidence", "probabilities"}]
    (at most `mistakes`, most confident first)}.
    """
    probs = model.predict(x) if probs is None else np.asarray(probs)
    y = model.prepare_labels(y, len(probs), "y")
    classes = probs.shape[1]
    predicted = probs.argmax(axis=1)
    loss = model.loss or losses.get("sparse_categorical_crossentropy")
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    counts = confusion.sum(axis=1)
    per_class = [float(confusion[k, k] / counts[k]) if counts[k] else None for k in range(classes)]

    wrong = np.flatnonzero(predicted != y)
    confidence = probs[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:mistakes]
    confident = [{"index": int(i), "label": int(y[i]), "predicted": int(predicted[i]),
                  "confidence": float(probs[i, predicted[i]]), "probability_of_label": float(probs[i, y[i]]),
                  "probabilities": probs[i].tolist()} for i in order]

    off_diagonal = confusion * (1 - np.eye(classes, dtype=np.int64))
    pairs = np.argsort(-off_diagonal, axis=None, kind="stable")[:10]
    top_confusions = [{"label": int(k // classes), "predicted": int(k % classes),
                       "count": int(off_diagonal.flat[k])} for k in pairs if off_diagonal.flat[k] > 0]
    names = list(class_names) if class_names is not None else [str(k) for k in range(classes)]
    return {"count": int(len(y)), "accuracy": float(np.mean(predicted == y)) if len(y) else None,
            "loss": float(loss.per_example(probs, y).mean()) if len(y) else None,
            "class_names": names, "per_class_accuracy": per_class, "per_class_count": counts.tolist(),
            "confusion": confusion.tolist(), "top_confusions": top_confusions,
            "confident_mistakes": confident}


def confusion_cell(probs, y, label, predicted, count=48):
    """The images behind one cell of the confusion matrix: true `label`, read as `predicted`.

    probs: (N, classes) the model's probabilities for the images; y: (N,) their labels.
    Mistakes (label != predicted) come most confident first, the ones the model was surest of;
    right answers (the diagonal) least confident first, the ones it nearly got wrong.
    Returns {"label", "predicted", "total" (images in the cell), "shown": [{"index", "confidence"
    (its probability for `predicted`), "probability_of_label"}] (at most `count`)}.
    """
    probs = np.asarray(probs)
    y = np.asarray(y)
    classes = probs.shape[1]
    for name, value in (("label", label), ("predicted", predicted)):
        if not 0 <= value < classes:
            raise DigitlensError(f"{name}: expected a class from 0 to {classes - 1}, received {value}")
    inside = np.flatnonzero((y == label) & (probs.argmax(axis=1) == predicted))
    confidence = probs[inside, predicted]
    order = np.argsort(-confidence if label != predicted else confidence, kind="stable")[:count]
    return {"label": int(label), "predicted": int(predicted), "total": int(len(inside)),
            "shown": [{"index": int(inside[i]), "confidence": float(confidence[i]),
                       "probability_of_label": float(probs[inside[i], label])} for i in order]}


def instructive_example(model, x, y, class_names=None, probs=None):
    """A test image whose backprop step has something to show, and why it was picked.

    An image the network already reads with 99.99% teaches nothing: its loss, and with it every
    gradient, is about zero. So: the mistake the network came closest to getting right (the
    highest probability for the right digit among the images it misreads - one step may well fix
    it); with no mistakes, the right answer it was least sure of.
    probs: model.predict(x), if it is already known. Returns (index, reason), reason a sentence
    such as "the network misreads it: this 4 is read as 9 (61.2%), with 30.5% for 4".
    """
    probs = model.predict(x) if probs is None else np.asarray(probs)
    y = model.prepare_labels(y, len(probs), "y")
    names = list(class_names) if class_names is not None else [str(k) for k in range(probs.shape[1])]
    predicted = probs.argmax(axis=1)
    right = probs[np.arange(len(y)), y]
    wrong = np.flatnonzero(predicted != y)
    if len(wrong):
        i = int(wrong[np.argmax(right[wrong])])
        return i, (f"the network misreads it: this {names[y[i]]} is read as {names[predicted[i]]} "
                   f"({probs[i, predicted[i]]:.1%}), with {right[i]:.1%} for {names[y[i]]}, so a step has "
                   "something to correct")
    i = int(np.argmin(right))
    return i, (f"the network reads it right but is least sure of it ({right[i]:.1%} for {names[y[i]]}), so a "
               "step has something to sharpen")
