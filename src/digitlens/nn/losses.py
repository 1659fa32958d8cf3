"""Cross-entropy: how wrong the predicted probabilities are, computed as Keras computes it.

For one image whose true digit is y the loss is -log(p[y]): 0 when the network gives the right
digit probability 1, large when it gives it almost 0. A batch's loss is the mean over its images.
The two spellings differ only in how the labels are written:

    sparse_categorical_crossentropy   labels are digits:        y = [3, 0, ...]             (N,)
    categorical_crossentropy          labels are one-hot rows:  y = [[0, 0, 0, 1, ...], ...] (N, classes)

With a row t the loss is -sum_k t[k] log p[k], the same number as -log p[y] when t is one-hot
(and still meaningful when t is a smoothed or soft label).

As in Keras:
- the outputs are first divided by their row's sum (a softmax's rows already sum to 1), then
  clipped to [1e-7, 1 - 1e-7], so a confident mistake costs at most -log(1e-7) = 16.1;
- with from_logits=True the outputs are scores, not probabilities (the last layer has no
  softmax): the loss applies the softmax itself, log p = z - log(sum_k exp z_k);
Every method takes the model's outputs first and the labels second: loss(probs, y). (Keras's
own loss objects are called the other way round, loss(y_true, y_pred); keras.losses wraps these.)

Gradients. `gradient(outputs, y)` is dL/d(outputs), (N, classes). When the last layer is a
softmax under a cross-entropy on probabilities, the model asks instead for the gradient with
respect to the softmax's input z (`logits_gradient`): the softmax's and the log's derivatives
cancel to dL/dz = (p * sum(t) - t) / N, which is (p - onehot) / N for one-hot labels - cheaper and
more accurate than going through both. (Keras's TensorFlow backend does the same; the clip then
plays no part.) With from_logits=True that formula is simply `gradient`.

Left out: every other Keras loss (mean squared error, binary cross-entropy, ...), label_smoothing,
sample weights and reductions other than the batch mean.
"""

import numpy as np

from ..errors import DigitlensError
from . import inputs

EPSILON = 1e-7


class CrossEntropy:
    """What both spellings share; subclasses say how the labels are written."""

    name = "crossentropy"

    def __init__(self, from_logits=False, name=None):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise ValueError(f"from_logits: expected True or False, received {from_logits!r}")
        self.from_logits = bool(from_logits)
        if name is not None:
            self.name = name

    def __call__(self, outputs, y):
        """The mean loss over the batch, a float. outputs (N, classes), y the labels."""
        return float(self.per_example(outputs, y).sum()) / len(outputs)

    @property
    def fuses_with_softmax(self):
        """True when a softmax output layer's backward may be folded into this loss (see above)."""
        return not self.from_logits

    def log_probabilities(self, outputs):
        """log p (N, classes) for the model's outputs, normalised and clipped as Keras does."""
        outputs = _outputs(outputs)
        if self.from_logits:
            z = outputs - outputs.max(axis=1, keepdims=True)      # exp never overflows
            return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = outputs / outputs.sum(axis=1, keepdims=True)
        return np.log(np.clip(p, EPSILON, 1.0 - EPSILON))

    def get_config(self):
        return {"name": self.name, "reduction": "sum_over_batch_size", "from_logits": self.from_logits}

    def __repr__(self):
        return f"<{type(self).__name__} from_logits={self.from_logits}>"


class SparseCategoricalCrossentropy(CrossEntropy):
    """Labels are class numbers, shape (N,): loss = -log p[y]."""

    name = "sparse_categorical_crossentropy"
    label_kind = "integer class labels"

    def per_example(self, outputs, y):
        """The loss of each example, shape (N,)."""
        outputs = _outputs(outputs, y)
        rows = np.arange(len(y))
        if self.from_logits:
            return -self.log_probabilities(outputs)[rows, y]
        p_true = outputs[rows, y]                                # (N,) probability of the truth,
        p_true /= outputs.sum(axis=1)                            # of the outputs made to sum to 1
        np.maximum(p_true, EPSILON, out=p_true)                  # clip to [1e-7, 1 - 1e-7]
        np.minimum(p_true, 1.0 - EPSILON, out=p_true)
        return -np.log(p_true)

    def gradient(self, outputs, y):
        """dL/d(outputs), (N, classes)."""
        outputs = _outputs(outputs, y)
        n, rows = len(y), np.arange(len(y))
        if self.from_logits:
            return self.logits_gradient(_softmax(outputs), y)
        # p = outputs / S with S the row sum; inside the clip dL/d(outputs_k) = 1/S - [k = y] / outputs_y
        sums = outputs.sum(axis=1)
        p_true = outputs[rows, y] / sums
        inside = (p_true > EPSILON) & (p_true < 1.0 - EPSILON)     # outside it the clip is flat
        doutputs = np.repeat(np.where(inside, 1.0 / sums, 0.0)[:, None], outputs.shape[1], axis=1)
        doutputs[rows, y] -= np.divide(1.0, outputs[rows, y], out=np.zeros(n), where=inside)
        doutputs /= n
        return doutputs.astype(outputs.dtype, copy=False)

    def logits_gradient(self, probs, y, out=None):
        """dL/dz for a softmax output: (probs - onehot(y)) / N, shape (N, classes)."""
        n = len(y)
        out = np.subtract(probs, 0.0, out=out) if out is not None else probs.copy()
        out[np.arange(n), y] -= 1.0
        out *= np.float32(1.0 / n)
        return out

    def targets(self, y, n, classes, argument="y"):
        """The labels as this loss takes them: integers 0..classes-1 of shape (n,)."""
        return inputs.prepare_labels(y, n, classes, argument)

    def true_classes(self, targets):
        """The true class of each example, (N,): the labels themselves."""
        return targets


class CategoricalCrossentropy(CrossEntropy):
    """Labels are rows of class probabilities, shape (N, classes), usually one-hot:
    loss = -sum_k t[k] log p[k]."""

    name = "categorical_crossentropy"
    label_kind = "one-hot label rows"

    def per_example(self, outputs, t):
        outputs = _outputs(outputs, t)
        return -(t * self.log_probabilities(outputs)).sum(axis=1)

    def gradient(self, outputs, t):
        """dL/d(outputs), (N, classes)."""
        outputs = _outputs(outputs, t)
        if self.from_logits:
            return self.logits_gradient(_softmax(outputs), t)
        # p = outputs / S; inside the clip dL/d(outputs_j) = -t_j / outputs_j + (sum_k t_k) / S
        sums = outputs.sum(axis=1, keepdims=True)
        p = outputs / sums
        weights = t * ((p > EPSILON) & (p < 1.0 - EPSILON))       # the clip is flat outside
        pulls = np.divide(weights, outputs, out=np.zeros(outputs.shape), where=weights != 0)
        doutputs = weights.sum(axis=1, keepdims=True) / sums - pulls
        return (doutputs / len(t)).astype(outputs.dtype, copy=False)

    def logits_gradient(self, probs, t, out=None):
        """dL/dz for a softmax output: (probs * sum(t) - t) / N, shape (N, classes)."""
        out = np.multiply(probs, t.sum(axis=1, keepdims=True), out=out)
        out -= t
        out *= np.float32(1.0 / len(t))
        return out

    def targets(self, y, n, classes, argument="y"):
        """The labels as this loss takes them: float32 rows of shape (n, classes)."""
        y = np.asarray(y)
        if y.shape != (n, classes):
            hint = (f"; for digit labels use loss='sparse_categorical_crossentropy' or "
                    f"keras.utils.to_categorical(y, {classes})") if y.shape == (n,) else ""
            raise DigitlensError(f"{argument}: categorical_crossentropy expects one-hot labels of shape "
                                 f"({n}, {classes}), received shape {y.shape}{hint}")
        if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)):
            raise DigitlensError(f"{argument}: expected one-hot label rows of finite numbers, received "
                                 f"{'non-finite values' if np.issubdtype(y.dtype, np.number) else y.dtype}")
        return y.astype(np.float32, copy=False)

    def true_classes(self, targets):
        """The true class of each example, (N,): the largest entry of its row, as Keras's accuracy reads it."""
        return targets.argmax(axis=1)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _outputs(outputs, labels=None):
    """Check that the outputs are (N, classes) - catching outputs and labels given the wrong way round."""
    if getattr(outputs, "ndim", 0) != 2 or (labels is not None and len(labels) != len(outputs)):
        raise ValueError(f"a digitlens loss is called loss(outputs, y) with outputs of shape (N, classes); "
                         f"received outputs of shape {np.shape(outputs)}"
                         + (f" for {len(labels)} labels" if labels is not None else ""))
    return outputs


# ---- Keras's names ----------------------------------------------------------------------------

def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's function form: the loss of each example, shape (N,)."""
    return SparseCategoricalCrossentropy(from_logits).per_example(np.asarray(y_pred), np.asarray(y_true))


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's function form: the loss of each example, shape (N,)."""
    return CategoricalCrossentropy(from_logits).per_example(np.asarray(y_pred),
                                                            np.asarray(y_true, dtype=np.float32))


LOSSES = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
          "categorical_crossentropy": CategoricalCrossentropy}
FUNCTIONS = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
             categorical_crossentropy: CategoricalCrossentropy}


def get(loss):
    """A loss object from a name ("categorical_crossentropy", or Keras's class name), a loss
    object, or one of the two functions above - what `compile(loss=...)` accepts."""
    if isinstance(loss, CrossEntropy):
        return loss
    if isinstance(getattr(loss, "digitlens_loss", None), CrossEntropy):   # keras.losses' objects
        return loss.digitlens_loss
    if callable(loss) and loss in FUNCTIONS:
        return FUNCTIONS[loss]()
    if isinstance(loss, str):
        from .layer import snake_case

        name = snake_case(loss) if loss[:1].isupper() else loss.lower()
        if name in LOSSES:
            return LOSSES[name]()
    raise ValueError(f"unknown loss {loss!r}: digitlens has {' and '.join(LOSSES)} "
                     "(as names, keras.losses objects or functions)")
