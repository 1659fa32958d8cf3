"""Sparse categorical cross-entropy: how wrong the predicted probabilities are.

For one image whose true digit is y, the loss is -log(p[y]): 0 when the network gives the right
digit probability 1, large when it gives it almost 0. A batch's loss is the mean over its images.
"Sparse" means the labels are digits (3), not one-hot rows ([0, 0, 0, 1, 0, ...]).

As in Keras, probabilities are clipped to [1e-7, 1 - 1e-7] before the log, so a confident
mistake costs at most -log(1e-7) = 16.1 instead of infinity.

When the last layer is a softmax, the model asks for the gradient with respect to the softmax's
input z instead (`logits_gradient`): the softmax's and the log's derivatives cancel to
dL/dz = (probs - onehot(y)) / N, cheaper and more accurate than going through both.
"""

import numpy as np

EPSILON = 1e-7


class SparseCategoricalCrossentropy:
    name = "sparse_categorical_crossentropy"

    def __call__(self, probs, y):
        """Mean loss over the batch. probs (N, classes), y (N,) integer labels -> float."""
        return float(self.per_example(probs, y).sum()) / len(y)

    def per_example(self, probs, y):
        """The loss of each example, shape (N,)."""
        p_true = probs[np.arange(len(y)), y]                       # (N,) probability of the truth
        np.maximum(p_true, EPSILON, out=p_true)                    # clip to [1e-7, 1 - 1e-7]
        np.minimum(p_true, 1.0 - EPSILON, out=p_true)
        return -np.log(p_true)

    def gradient(self, probs, y):
        """dL/dprobs (N, classes): -1 / (N * p[y]) at the true class, 0 elsewhere (inside the clip)."""
        n = len(y)
        rows = np.arange(n)
        p_true = probs[rows, y]
        inside = (p_true > EPSILON) & (p_true < 1.0 - EPSILON)
        dprobs = np.zeros_like(probs)
        dprobs[rows, y] = np.where(inside, -1.0 / (n * np.clip(p_true, EPSILON, None)), 0.0)
        return dprobs

    def logits_gradient(self, probs, y, out=None):
        """dL/dz for a softmax output: (probs - onehot(y)) / N, shape (N, classes)."""
        n = len(y)
        out = np.subtract(probs, 0.0, out=out) if out is not None else probs.copy()
        out[np.arange(n), y] -= 1.0
        out *= np.float32(1.0 / n)
        return out


LOSSES = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy}


def get(name):
    if isinstance(name, SparseCategoricalCrossentropy):
        return name
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}: expected one of {', '.join(LOSSES)}")
    return LOSSES[name]()
