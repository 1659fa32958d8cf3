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

import numpy as np

from . import fast_dense, inputs, losses, optimizers
from .layer import snake_case
from .layers import InputLayer
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
        self.jit_compile = "auto"       # compile(jit_compile=False): always the NumPy reference
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
            layer.name = self._unique_name(snake_case(layer.kind))
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
        self.input_shape = tuple(shape)
        for layer in self.layers:
            shape = layer.build(shape)
        self.output_shape = shape

        # Two flat arrays hold every number of the model: `params`, which the optimizer trains
        # (with `grads` beside it), and `state`, which layers update themselves (moving averages).
        def allocate(shapes_of):
            total = sum(math.prod(s) for layer in self.layers for s in shapes_of(layer).values())
            return np.zeros(total, dtype=np.float32)

        self.params, self.grads = allocate(_params), allocate(_params)   # every weight, dL/d(weight)
        self.state = allocate(_state)
        offsets = {"params": 0, "state": 0}
        learned_before = False
        for layer in self.layers:
            weights, grads = {}, {}
            for buffer, shapes in (("params", layer.param_shapes()), ("state", layer.state_shapes())):
                for key, s in shapes.items():
                    start, size = offsets[buffer], math.prod(s)
                    weights[key] = getattr(self, buffer)[start:start + size].reshape(s)
                    if buffer == "params":
                        grads[key] = self.grads[start:start + size].reshape(s)
                    offsets[buffer] += size
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

    def describe(self):
        """Each layer's Description (see layer.py), in order."""
        return [layer.describe() for layer in self.layers]

    def count_params(self):
        """Every number the layers keep: trainable parameters and non-trainable state, as Keras counts."""
        self._require_built()
        return int(self.params.size + self.state.size)

    @property
    def weights(self):
        """Every weight array, layer by layer, in Keras's order (views: changing one changes the model)."""
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        """Copies of every weight array, layer by layer: [kernel, bias, kernel, bias, ...]."""
        self._require_built()
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self._require_built()
        targets = [(layer, key) for layer in self.layers for key in layer.weight_shapes()]
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
                "layers": [{"class_name": layer.kind, "config": layer.get_config()}
                           for layer in self.layers]}

    # ---- training set-up -------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, jit_compile="auto"):
        """jit_compile=False keeps fit and predict on the NumPy reference (no fast path, fast_dense.py)."""
        self.jit_compile = jit_compile
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
        activation = getattr(last, "activation", None)
        return (activation is not None and activation.name == "softmax"
                and hasattr(last, "backward_linear")
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
        """Train for `epochs` passes over (x, y); returns a History (see training.py)."""
        from .training import fit

        return fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                   validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                   initial_epoch=initial_epoch, augment=augment)

    def predict(self, x, batch_size=None, verbose=0):
        """Probabilities (N, classes) for a batch of images."""
        fast = fast_dense.predictor(self) if self.built else None   # compiled, when it covers the model
        x = self.prepare_inputs(x, "x", keep_uint8=fast is not None)
        if fast is not None:
            return fast(x)
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
        inner = " -> ".join(f"{d.type}({d.units})" if d.units else d.type for d in self.describe())
        return f"<Sequential {self.name!r}: {inner}>"


def _params(layer):
    return layer.param_shapes()


def _state(layer):
    return layer.state_shapes()
