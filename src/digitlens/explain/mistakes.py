"""The mistakes explorer: the images behind one cell of the confusion matrix, surest first.

    cell = confusion_cell(model, x_test, y_test, label=4, predicted=9)
    cell["count"], cell["images"][0]      # how many 4s were read as 9, and the surest of them

A cell on the diagonal (label == predicted) holds the images read right, least sure first, so the
explorer shows the ones that nearly went wrong. Everything comes from model.predict.
"""

import numpy as np

from .common import check_unit


def confusion_cell(model, x, y, label, predicted, limit=48, probs=None):
    """The images of class `label` that the model reads as `predicted`.

    Returns {"label", "predicted", "count", "images": [{"index", "confidence" (p of the prediction),
    "probability_of_label", "probabilities"}] (at most `limit`: mistakes surest first, right
    answers least sure first)}. probs: the model's predictions for x, if already computed.
    """
    probs = model.predict(x) if probs is None else np.asarray(probs)
    classes = probs.shape[1]
    y = model.prepare_labels(y, len(probs), "y")
    label = check_unit(label, classes, "label")
    predicted = check_unit(predicted, classes, "predicted")
    guesses = probs.argmax(axis=1)
    members = np.flatnonzero((y == label) & (guesses == predicted))
    confidence = probs[members, predicted]
    order = np.argsort(confidence if label == predicted else -confidence, kind="stable")
    chosen = members[order][:limit]
    return {"label": label, "predicted": predicted, "count": int(len(members)),
            "images": [{"index": int(i), "confidence": float(probs[i, predicted]),
                        "probability_of_label": float(probs[i, label]), "probabilities": probs[i].tolist()}
                       for i in chosen]}
