"""Sequential: a stack of layers that learns by backpropagation, with Keras's API.

    model = Sequential([Flatten(input_shape=(28, 28)), Dense(256, "relu"), Dense(10, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test))
    probs = model.predict(x_test)                     # (10000, 10)

One training step (`train_step`) is the whole lesson in four lines: run the batch forward through
the layers, measure the loss, run the gradient backward through the layers in reverse order, and
let the optimizer move every weight against its gradient.

Where the numbers live: `build` counts every layer's parameters, allocates ONE flat float32 array
`params` for all of them (and one `grads` of the same size) and hands each layer named views into
it - the lesson's `dense.kernel` is params[0:200704] seen as (784, 256). The layers read and write
their own views; the optimizer updates the whole flat array at once.

Inputs may be uint8 images (0-255, scaled here to 0-1 once) or floats (used as given, as Keras
does), shaped (N, 28, 28) or (N, 784).
"""

import math
import time

import numpy as np

from . import callbacks as callbacks_module
from . import inputs, losses, optimizers
from .threads import training_threads
from .layers import Dense, InputLayer
from ..errors import DigitlensError, NotBuiltError

METRIC_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy"}
PREDICT_CHUNK = 10_000


class Sequential:
    def __init__(self, layers=None, name="sequential", seed=None):
        self.name = name
        self.layers = []
        self.input_layer = None
        self.built = False
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.history = None
        self.stop_training = False
        self.last_batch = None
        for layer in layers or []:
            self.add(layer)

    # ---- structure -------------------------------------------------------------------------

    def add(self, layer):
        if self.built:
            raise DigitlensError("cannot add layers to a model that has been built")
        if isinstance(layer, InputLayer):
            if self.layers or self.input_layer is not None:
                raise DigitlensError("an Input can only be the first entry of a Sequential model")
            self.input_layer = layer
            layer.name = layer.name or "input_layer"
            return
        if layer.name is None:
            layer.name = self._unique_name(_snake_case(type(layer).__name__))
        self.layers.append(layer)

    def _unique_name(self, base):
        taken = {layer.name for layer in self.layers}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    @property
    def declared_input_shape(self):
        if self.input_layer is not None:
            return self.input_layer.declared_input_shape
        if self.layers and self.layers[0].declared_input_shape is not None:
            return self.layers[0].declared_input_shape
        return None

    def build(self, input_shape=None):
        """Fix every layer's shapes and create the weights (glorot_uniform kernels, zero biases)."""
        shape = tuple(input_shape) if input_shape is not None else self.declared_input_shape
        if shape is None:
            raise NotBuiltError("this model does not know its input shape: give the first layer "
                                "input_shape=(28, 28), start with Input((28, 28)), or call fit() first")
        if not self.layers:
            raise DigitlensError("this model has no layers: add some before building it")
        self.input_shape = shape
        for layer in self.layers:
            shape = layer.build(shape)
        self.output_shape = shape

        sizes = [math.prod(s) for layer in self.layers for s in layer.param_shapes().values()]
        self.params = np.zeros(sum(sizes), dtype=np.float32)  # every weight of the model
        self.grads = np.zeros(sum(sizes), dtype=np.float32)   # dL/d(every weight)
        offset = 0
        learned_before = False
        for layer in self.layers:
            weights, grads = {}, {}
            for key, s in layer.param_shapes().items():
                size = math.prod(s)
                weights[key] = self.params[offset:offset + size].reshape(s)
                grads[key] = self.grads[offset:offset + size].reshape(s)
                offset += size
            layer.bind(weights, grads)
            for key, value in layer.initial_values(self.rng).items():
                weights[key][...] = value
            layer.needs_input_grad = learned_before   # dx is only needed if something earlier learns
            learned_before = learned_before or layer.trainable
        self.built = True
        if self.optimizer is not None:
            self.optimizer.build(self.params.size)
        return self

    def _require_built(self):
        if not self.built:
            raise NotBuiltError("this model has not been built: call fit() or load a trained model first")

    def count_params(self):
        self._require_built()
        return int(self.params.size)

    def get_weights(self):
        """Copies of every weight array, layer by layer: [kernel, bias, kernel, bias, ...]."""
        self._require_built()
        return [getattr(layer, key).copy() for layer in self.layers for key in layer.param_shapes()]

    def set_weights(self, weights):
        self._require_built()
        targets = [(layer, key) for layer in self.layers for key in layer.param_shapes()]
        if len(weights) != len(targets):
            raise DigitlensError(f"set_weights: expected {len(targets)} arrays, received {len(weights)}")
        for (layer, key), value in zip(targets, weights):
            view = getattr(layer, key)
            value = np.asarray(value, dtype=np.float32)
            if value.shape != view.shape:
                raise DigitlensError(f"set_weights: layer {layer.name!r} {key} expected shape "
                                     f"{view.shape}, received {value.shape}")
            view[...] = value

    def get_config(self):
        return {"name": self.name, "input_shape": list(self.input_shape if self.built
                                                      else self.declared_input_shape or []),
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    # ---- training set-up -------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss or "sparse_categorical_crossentropy")
        self.metrics = []
        for metric in metrics or []:
            if metric not in METRIC_NAMES:
                raise ValueError(f"unknown metric {metric!r}: expected 'accuracy'")
            self.metrics.append("accuracy")
        if self.built:
            self.optimizer.build(self.params.size)
        return self

    @property
    def softmax_cross_entropy(self):
        """True when the output is a softmax under cross-entropy: then dL/dz = probs - onehot."""
        last = self.layers[-1]
        return (isinstance(last, Dense) and last.activation.name == "softmax"
                and isinstance(self.loss, losses.SparseCategoricalCrossentropy))

    # ---- the forward and backward passes ---------------------------------------------------

    def forward(self, x, training=False):
        """Run a prepared batch through every layer; returns the last layer's output."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, probs, y):
        """Fill `grads` with dL/d(every weight): the forward pass run in reverse."""
        last, *earlier = reversed(self.layers)
        if self.softmax_cross_entropy:
            grad = last.backward_linear(self.loss.logits_gradient(probs, y))
        else:
            grad = last.backward(self.loss.gradient(probs, y))
        for layer in earlier:
            if grad is None:        # no layer further back has weights to learn: stop here
                break
            grad = layer.backward(grad)

    def train_step(self, x, y):
        """One step of learning on a prepared batch; returns (loss, probabilities before the step)."""
        probs = self.forward(x, training=True)     # 1. predict
        loss = self.loss(probs, y)                  # 2. measure how wrong
        self.backward(probs, y)                     # 3. blame every weight: gradients
        self.optimizer.apply(self.params, self.grads)  # 4. nudge every weight downhill
        return loss, probs

    # ---- fit / evaluate / predict ----------------------------------------------------------

    def fit(self, x, y, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0, augment=None):
        """Train for `epochs` passes over (x, y); returns a History (also kept as model.history).

        As in Keras: batch_size defaults to 32, the data is shuffled every epoch, and
        validation_split holds out the last fraction of the data (before shuffling).
        `augment(x_batch, rng) -> x_batch`, if given, changes each batch before the step
        (digitlens's own addition, for random shifts and rotations).
        """
        if self.optimizer is None:
            raise NotBuiltError("this model has not been compiled: call compile(optimizer, loss) first")
        x = self.prepare_inputs(x, "x", keep_uint8=True)   # scaled batch by batch: 4x less memory
        y = self.prepare_labels(y, len(x), "y")
        if validation_split and validation_data is None:
            keep = int(len(x) * (1.0 - validation_split))
            validation_data = (x[keep:], y[keep:])
            x, y = x[:keep], y[:keep]
        if validation_data is not None:
            val_x = self.prepare_inputs(validation_data[0], "validation_data x")
            val_y = self.prepare_labels(validation_data[1], len(val_x), "validation_data y")
        batch_size = int(batch_size or 32)
        if batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, received {batch_size}")
        n = len(x)
        steps = math.ceil(n / batch_size)

        history = callbacks_module.History()
        hooks = [history] + list(callbacks or [])
        if verbose == "auto" or verbose == 1:
            hooks.append(callbacks_module.ProgressPrinter())
        for hook in hooks:
            hook.set_model(self)
            hook.set_params({"epochs": initial_epoch + epochs, "steps": steps, "batch_size": batch_size,
                             "samples": n})
        self.history = history
        self.stop_training = False
        for hook in hooks:
            hook.on_train_begin()

        x_batch = np.empty((batch_size,) + x.shape[1:], dtype=np.float32)
        with training_threads(batch_size, self.optimizer):
            for epoch in range(initial_epoch, initial_epoch + epochs):
                for hook in hooks:
                    hook.on_epoch_begin(epoch)
                order = self.rng.permutation(n) if shuffle else np.arange(n)
                total_loss = total_correct = seen = 0.0
                started = time.perf_counter()
                for step in range(steps):
                    idx = order[step * batch_size:(step + 1) * batch_size]
                    xb = x_batch[:len(idx)]
                    if x.dtype == np.uint8:
                        np.multiply(x[idx], np.float32(1.0 / 255.0), out=xb)   # pixels 0-255 -> 0-1
                    else:
                        np.take(x, idx, axis=0, out=xb)
                    yb = y[idx]
                    if augment is not None:
                        xb = augment(xb, self.rng)
                    loss, probs = self.train_step(xb, yb)
                    correct = int(np.count_nonzero(probs.argmax(axis=1) == yb))
                    total_loss += loss * len(idx)
                    total_correct += correct
                    seen += len(idx)
                    logs = {"loss": total_loss / seen, "accuracy": total_correct / seen,
                            "batch_loss": loss, "batch_accuracy": correct / len(idx)}
                    for hook in hooks:
                        hook.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
                seconds = time.perf_counter() - started
                logs = {"loss": total_loss / max(seen, 1)}
                if self.metrics:
                    logs["accuracy"] = total_correct / max(seen, 1)
                if validation_data is not None:
                    val_loss, val_accuracy = self._loss_and_accuracy(val_x, val_y)
                    logs["val_loss"] = val_loss
                    if self.metrics:
                        logs["val_accuracy"] = val_accuracy
                logs["seconds"] = seconds
                for hook in hooks:
                    hook.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        if epochs > 0 and steps > 0:
            self.last_batch = {"x": xb.copy(), "y": yb.copy()}   # for explaining after training
        for hook in hooks:
            hook.on_train_end()
        return history

    def predict(self, x, batch_size=None, verbose=0):
        """Probabilities (N, classes) for a batch of images."""
        x = self.prepare_inputs(x, "x")
        chunk = int(batch_size or PREDICT_CHUNK)
        if len(x) <= chunk:
            return self.forward(x)
        return np.concatenate([self.forward(x[i:i + chunk]) for i in range(0, len(x), chunk)])

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False):
        """Mean loss (and accuracy, if compiled with it): [loss, accuracy] as Keras returns."""
        if self.loss is None:
            raise NotBuiltError("this model has not been compiled: call compile(optimizer, loss) first")
        x = self.prepare_inputs(x, "x")
        y = self.prepare_labels(y, len(x), "y")
        loss, accuracy = self._loss_and_accuracy(x, y)
        if return_dict:
            return {"loss": loss, **({"accuracy": accuracy} if self.metrics else {})}
        return [loss, accuracy] if self.metrics else loss

    def _loss_and_accuracy(self, x, y):
        probs = self.predict(x)
        loss = float(self.loss.per_example(probs, y).mean())
        accuracy = float(np.mean(probs.argmax(axis=1) == y))
        return loss, accuracy

    def activations(self, x):
        """Each layer's output for x: a list of (layer name, array), input first as ("input", x)."""
        a = self.prepare_inputs(x, "x")
        result = [("input", a)]
        for layer in self.layers:
            a = layer.forward(a, training=False)
            result.append((layer.name, np.array(a, copy=True)))
        return result

    def last_batch_activations(self):
        """Each layer's output for the last batch fit() trained on (None before any training)."""
        return None if self.last_batch is None else self.activations(self.last_batch["x"])

    # ---- checking inputs -------------------------------------------------------------------

    def prepare_inputs(self, x, argument="x", keep_uint8=False):
        """float32 images of the model's input shape (see inputs.py); builds the model if needed."""
        x = np.asarray(x)
        if not self.built:
            self.build(self.declared_input_shape or x.shape[1:])
        return inputs.prepare_inputs(x, self.input_shape, argument, keep_uint8)

    def prepare_labels(self, y, n, argument="y"):
        """Integer class labels of shape (n,), each in 0..classes-1 (see inputs.py)."""
        return inputs.prepare_labels(y, n, self.output_shape[-1], argument)

    # ---- showing itself --------------------------------------------------------------------

    def summary(self, print_fn=None):
        """Print Keras's summary table, then where each parameter count comes from."""
        from .summary import summary_text

        (print_fn or print)(summary_text(self))

    def _repr_html_(self):
        """In Jupyter, a model shows its summary table (with the arithmetic)."""
        from .summary import summary_html

        return summary_html(self)

    def __repr__(self):
        inner = " -> ".join(f"{type(l).__name__}({l.get_config().get('units', '')})".replace("()", "")
                            for l in self.layers)
        return f"<Sequential {self.name!r}: {inner}>"


def _snake_case(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
