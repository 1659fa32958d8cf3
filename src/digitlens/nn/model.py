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

As in Keras, a model is built as soon as it knows its input shape - from an Input, or a first
layer given input_shape= - so summary(), weights and count_params() work before compile; adding
or popping a layer afterwards (stack.py) rebuilds it, keeping the weights the other layers have.
`input_shape` here is one example's shape, (28, 28), without Keras's leading None.

Inputs may be uint8 images (0-255, scaled here to 0-1 once) or floats (used as given, as Keras
does), shaped (N, 28, 28) or (N, 784). fit is in training.py; evaluate and predict in evaluation.py.
"""

import math

import numpy as np

from . import fusion, inputs, losses, metrics as metric_names, optimizers
from .stack import LayerStack
from ..errors import DigitlensError, NotBuiltError

PREDICT_BYTES = 16 * 2**20      # at most this much for any one layer's outputs in one forward pass

class Sequential(LayerStack):
    def __init__(self, layers=None, name="sequential", seed=None):
        self.name = name
        self.layers = []
        self.input_layer = None
        self.built = False
        self.input_shape = self.output_shape = None
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.history = None
        self.timeline = None              # a TrainingTimeline, if training recorded one (nn/timeline.py)
        self.stop_training = False
        self.last_batch = None
        self.jit_compile = "auto"       # compile(jit_compile=False): always the NumPy reference
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    # ---- building: one flat array for every number -----------------------------------------

    def _rebuild(self):
        """Build now if the input shape is known (Keras builds a Sequential as soon as it can)."""
        if self.layers and (self.built or self.declared_input_shape is not None):
            self.build(self.input_shape if self.built else None)

    def build(self, input_shape=None):
        """Fix every layer's shapes and create the weights (glorot_uniform kernels, zero biases).

        input_shape: one example's shape, (28, 28), or Keras's with the batch, (None, 28, 28);
        by default the declared one. Layers that were built before keep their weights."""
        shape = tuple(input_shape) if input_shape is not None else self.declared_input_shape
        if shape and shape[0] is None:
            shape = shape[1:]                  # Keras's (None, 28, 28)
        if shape is None:
            raise NotBuiltError("this model does not know its input shape: give the first layer "
                                "input_shape=(28, 28), start with Input((28, 28)), or call fit() first")
        if not self.layers:
            raise DigitlensError("this model has no layers: add some before building it")
        kept = {id(layer): layer.get_weights() for layer in self.layers if layer._bound()}
        self.input_shape = tuple(shape)
        layout = None
        for layer in self.layers:
            shape = layer.build(shape, layout)
            layout = layer.output_layout
        self.output_shape = shape

        # Two flat arrays hold every number of the model: `params`, which the optimizer trains
        # (with `grads` beside it), and `state`, which layers update themselves (moving averages).
        def allocate(shapes_of):
            total = sum(math.prod(s) for layer in self.layers for s in shapes_of(layer).values())
            try:
                return np.zeros(total, dtype=np.float32)
            except MemoryError:
                raise DigitlensError(f"this network has {total:,} parameters ({4 * total / 2**30:,.1f} GB "
                                     "as float32): more than this machine's memory can hold") from None

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
            layer.path = f"{self.name}/{layer.name}"
            old = kept.get(id(layer))
            if old is not None and [w.shape for w in old] == [w.shape for w in weights.values()]:
                layer.set_weights(old)         # rebuilt after add/pop: as it was
            else:
                for key, value in layer.initial_values(self.rng).items():
                    weights[key][...] = value
            layer.needs_input_grad = learned_before   # dx is only needed if something earlier learns
            learned_before = learned_before or layer.trainable
        # The layers as forward and backward run them: each one, but a Conv2D -> MaxPooling2D
        # pair as one compiled step (fusion.py), which computes the same numbers faster.
        self.steps = fusion.steps(self.layers)
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

    # ---- weights ---------------------------------------------------------------------------

    @property
    def weights(self):
        """Every weight, layer by layer, in Keras's order, as Variables (variables.py): views, so
        changing one changes the model."""
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self):
        """Copies of every weight array, layer by layer: [kernel, bias, kernel, bias, ...]."""
        self._require_built()
        return [w.numpy() for w in self.weights]

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
        """Choose the optimizer, the loss and the metrics (see optimizers.py, losses.py, metrics.py).
        jit_compile=False keeps fit and predict on the NumPy reference (no fast path, fast_dense.py)."""
        self.jit_compile = jit_compile
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss or "sparse_categorical_crossentropy")
        self.metrics = metric_names.names(metrics, self.loss)
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
                and isinstance(self.loss, losses.CrossEntropy) and self.loss.fuses_with_softmax)

    # ---- the forward and backward passes ---------------------------------------------------

    def forward(self, x, training=False):
        """Run a prepared batch through every layer; returns the last layer's output."""
        for layer in self.steps:          # self.layers, with a few neighbours run as one (fusion.py)
            x = layer.forward(x, training=training)
        return x

    def backward(self, probs, y):
        """Fill `grads` with dL/d(every weight): the forward pass run in reverse."""
        last, *earlier = reversed(self.steps)
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
        """Train until epoch `epochs` over (x, y); returns a History (see training.py)."""
        from .training import fit

        return fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                   validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                   initial_epoch=initial_epoch, augment=augment)

    def predict(self, x, batch_size=None, verbose=0, callbacks=None):
        """The outputs (N, classes) for a batch of images: probabilities for a softmax model."""
        from .evaluation import predict

        return predict(self, x, batch_size=batch_size, verbose=verbose, callbacks=callbacks)

    def predict_chunk(self, most=10_000):
        """How many images one forward pass takes when nobody watches batches: `most`, fewer when a
        layer's outputs are large - the course's CNN makes 26 x 26 x 32 numbers per image, 865 MB
        for 10,000 images at once, so it predicts 193 at a time (16 MB, which stays in the core's
        cache between one layer and the next: faster than larger pieces)."""
        self._require_built()
        widest = max([math.prod(layer.output_shape) for layer in self.layers] + [math.prod(self.input_shape)])
        return max(1, min(most, PREDICT_BYTES // (4 * widest)))

    def evaluate(self, x, y, batch_size=None, verbose=0, callbacks=None, return_dict=False):
        """Mean loss (and metrics): [loss, accuracy] as Keras returns, or a dict (evaluation.py)."""
        from .evaluation import evaluate

        return evaluate(self, x, y, batch_size=batch_size, verbose=verbose, callbacks=callbacks,
                        return_dict=return_dict)

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

    def prepare_targets(self, y, n, argument="y"):
        """The labels as the compiled loss takes them: digits (n,) or one-hot rows (n, classes)."""
        return self.loss.targets(y, n, self.output_shape[-1], argument)

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
