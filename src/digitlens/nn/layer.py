"""What every layer is: its shapes, its parameters, the sentence that explains them - and the registry.

A layer describes itself once, here and in its own class, and everything else reads that
description: the summary table and its arithmetic, the report, the diagram, the web app, the Keras
and ONNX files. Nothing outside nn/ and io/ asks "is this a Dense?"; it asks the layer.

    layer.describe()        a Description: type, shapes, parameter shapes and counts, the sentence
                            that says where the count comes from, its units and activation
    layer.get_config()      the layer's Keras 3 config (what keras.layers.Dense(...).get_config() gives)
    Dense.from_config(c)    the layer back from such a config (unknown keys ignored, as Keras does)
    LAYERS["Dense"]         the one registry of layer types, by Keras's class name

The parameters themselves are not owned by the layer: the model keeps every trainable parameter in
one flat float32 array, and non-trainable state (BatchNormalization's moving statistics) in a
second one, and gives each layer named views of both (`self.kernel`, `self.bias`). See model.py.

Prediction has no side effects: `forward(x, training=False)` keeps nothing on the layer, so two
threads may predict with one model at once. What `backward` needs is kept only while training.
"""

import copy
import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .variables import Variable

LAYERS = {}


def register(cls):
    """Add a layer class to the registry under its Keras class name (its `kind`)."""
    cls.kind = cls.__name__
    LAYERS[cls.kind] = cls
    return cls


def layer_class(kind):
    """The digitlens class for Keras class name `kind`, or None if digitlens has no such layer."""
    return LAYERS.get(kind) if isinstance(kind, str) else None


def snake_case(name):
    """Keras's name for a class in files and default layer names: "MaxPooling2D" -> "max_pooling2d"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def supported():
    """The layer types digitlens has, as a phrase for error messages."""
    return ", ".join(LAYERS)


@dataclass(frozen=True)
class Description:
    """Everything a summary, a report, a diagram or the web app needs to know about one layer."""

    name: str
    type: str                          # Keras's class name: "Dense"
    input_shape: tuple | None          # per example, without the batch; None until built
    output_shape: tuple | None
    params: dict = field(default_factory=dict)   # trainable: {"kernel": (784, 256), "bias": (256,)}
    state: dict = field(default_factory=dict)    # non-trainable: {"moving_mean": (32,), ...}
    trainable_count: int = 0
    non_trainable_count: int = 0
    arithmetic: str = ""               # "784 inputs x 256 units = 200,704 weights + 256 biases = 200,960"
    what: str = ""                     # what the layer does, in one line, for people
    label: str = ""                    # a few words for drawings: "Dense 256 relu", "Dropout 20%"
    units: int | None = None           # neurons (Dense) or filters (Conv2D) a learner can look at
    activation: str | None = None      # "relu", ...; None for layers without one
    connectivity: str | None = None    # "full": every input to every unit; "local": a window; None
    window: tuple | None = None        # (rows, cols) of the input each output position reads: a kernel, a pool
    strides: tuple | None = None       # (rows, cols) the window moves by from one output position to the next
    padding: tuple | None = None       # ((top, bottom), (left, right)): positions added around the input
    pooling: str | None = None         # "max" or "mean": what each window becomes, for a layer that pools
    normalization: str | None = None   # "batch": brings each channel to mean 0, variance 1 by batch statistics
    maps: str | None = None            # "feature maps", "pooled maps": what its outputs are, when they
                                       # are a stack of 2-D maps (H, W, C) worth drawing; else None
    built: bool = True

    @property
    def count(self):
        return self.trainable_count + self.non_trainable_count

    def to_json(self):
        data = asdict(self)
        for key in ("input_shape", "output_shape"):
            data[key] = list(data[key]) if data[key] is not None else None
        data["params"] = {k: list(v) for k, v in self.params.items()}
        data["state"] = {k: list(v) for k, v in self.state.items()}
        data["count"] = self.count
        return data


def shape_text(shape):
    """(13, 13, 32) -> "13 x 13 x 32"."""
    return " x ".join(f"{d:,}" for d in shape)


def plural(count, word):
    return f"{count:,} {word}" + ("" if count == 1 else "s")


class Layer:
    """What every layer has: a name, shapes, its parameters' shapes, forward and backward."""

    kind = "Layer"                # Keras's class name; set by @register
    trainable = False             # has parameters the optimizer changes
    connectivity = None           # "full" or "local" for layers of units with incoming weights
    rearranges = False            # only moves values around (Flatten, Reshape) or passes them on
    pooling = None                # "max" or "mean" for a layer that summarises windows (see Description)
    normalization = None          # "batch" for a layer that normalises by batch statistics
    maps = None                   # what its (H, W, C) outputs are called, if worth drawing as maps

    def __init__(self, name=None, input_shape=None):
        self.name = name                  # the model names unnamed layers: dense, dense_1, ...
        self.declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self.input_shape = None           # per example, without the batch: (28, 28)
        self.output_shape = None          # per example: (784,)
        self.input_layout = None          # the shape its inputs were laid out in (see build)
        self.needs_input_grad = True      # the first weighted layer need not compute dx
        self._buffers = {}

    # ---- shapes ----------------------------------------------------------------------------

    def build(self, input_shape, layout=None):
        """Fix the input shape (without the batch dimension) and return the output shape.

        layout: the shape the inputs had before layers that only rearrange values (Flatten,
        Reshape) - (13, 13, 32) for a Dense after Flatten of 32 feature maps of 13 x 13 - so a
        layer can say where its inputs come from. The model passes each layer's output_layout on.
        """
        self.input_shape = tuple(int(d) for d in input_shape)
        self.input_layout = tuple(layout) if layout is not None else self.input_shape
        self.output_shape = tuple(self.compute_output_shape(self.input_shape))
        return self.output_shape

    @property
    def output_layout(self):
        """The shape the outputs' values were laid out in: a rearranging layer keeps its input's."""
        return self.input_layout if self.rearranges else self.output_shape

    @property
    def built(self):
        return self.output_shape is not None

    def compute_output_shape(self, input_shape):
        return input_shape

    # ---- parameters ------------------------------------------------------------------------

    def param_shapes(self):
        """{name: shape} of the trainable parameters, in Keras's order; needs the input shape."""
        return {}

    def state_shapes(self):
        """{name: shape} of the non-trainable numbers (moving statistics), after the parameters."""
        return {}

    def weight_shapes(self):
        """Every array the layer keeps in a Keras file, in Keras's order: parameters, then state."""
        return {**self.param_shapes(), **self.state_shapes()}

    def weight_names(self):
        """The names of weight_shapes(), known from the config alone (before the layer is built)."""
        return list(self.weight_shapes())

    def count_params(self):
        return sum(math.prod(shape) for shape in self.weight_shapes().values())

    def bind(self, weights, grads):
        """Receive views of the model's flat arrays, by name: each weight, and each gradient as d<name>."""
        for key, view in weights.items():
            setattr(self, key, view)
        for key, view in grads.items():
            setattr(self, "d" + key, view)

    def initial_values(self, rng):
        """{name: array} for every entry of weight_shapes(), drawn as Keras's initializers draw."""
        return {}

    @property
    def weights(self):
        """The layer's weights in Keras's order, as Variables (views into the model's buffers)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        """The weights the optimizer changes (kernel, bias), as Variables."""
        return self._variables(self.param_shapes(), trainable=True) if self._bound() else []

    @property
    def non_trainable_weights(self):
        """The numbers the layer keeps that the optimizer does not change (moving statistics)."""
        return self._variables(self.state_shapes(), trainable=False) if self._bound() else []

    def _bound(self):
        return self.built and all(hasattr(self, key) for key in self.weight_shapes())

    def _variables(self, shapes, trainable):
        path = getattr(self, "path", None) or self.name
        return [Variable.of(getattr(self, key), key, f"{path}/{key}", trainable) for key in shapes]

    def get_weights(self):
        """Copies of the layer's weight arrays, in Keras's order."""
        return [np.array(w, copy=True) for w in self.weights]

    def set_weights(self, values):
        """Set every weight array at once, in Keras's order; shapes must match."""
        targets = self.weight_shapes() if self.built else {}
        if len(values) != len(targets):
            raise ValueError(f"layer {self.name!r} set_weights: expected {len(targets)} arrays "
                             f"({', '.join(targets) or 'none'}), received {len(values)}")
        for (key, shape), value in zip(targets.items(), values):
            value = np.asarray(value, dtype=np.float32)
            if value.shape != tuple(shape):
                raise ValueError(f"layer {self.name!r} set_weights: {key} expected shape {tuple(shape)}, "
                                 f"received {value.shape}")
            getattr(self, key)[...] = value

    # ---- describing itself -----------------------------------------------------------------

    def arithmetic(self):
        """The one sentence that says where the parameter count comes from (or what the shape does)."""
        return "no weights"

    def what(self):
        """What the layer does, in one line for people."""
        return ""

    def label(self):
        """A few words for a box in a drawing: "Dense 256 relu", "Flatten"."""
        return self.kind

    def neighbourhood(self):
        """(window, strides, padding) for a layer whose every output position reads a window of its
        input's positions (a convolution, a pooling): ((3, 3), (1, 1), ((0, 0), (0, 0))); None for a
        layer that reads one position per output (an activation, BatchNormalization) or does not
        keep positions at all (Dense, Flatten)."""
        return None

    def deterministic_copy(self):
        """A copy with the same settings that does the same thing every time it is run (Dropout
        switched off), without weights of its own: for a one-image backprop step on a twin model."""
        twin = copy.copy(self)
        twin._buffers = {}
        return twin

    def describe(self):
        """A Description of this layer (see the class above); works before the layer is built."""
        built = self.built
        params = self.param_shapes() if built else {}
        state = self.state_shapes() if built else {}
        window, strides, padding = (self.neighbourhood() if built else None) or (None, None, None)
        return Description(
            name=self.name, type=self.kind, input_shape=self.input_shape, output_shape=self.output_shape,
            params=params, state=state,
            trainable_count=sum(math.prod(s) for s in params.values()),
            non_trainable_count=sum(math.prod(s) for s in state.values()),
            arithmetic=self.arithmetic() if built else "not built yet: its shapes follow from its input",
            what=self.what() if built else "", label=self.label(), units=getattr(self, "units", None),
            activation=getattr(getattr(self, "activation", None), "name", None),
            connectivity=self.connectivity, window=window, strides=strides, padding=padding,
            pooling=self.pooling, normalization=self.normalization,
            maps=self.maps if built and len(self.output_shape) == 3 else None, built=built)

    # ---- Keras configs ---------------------------------------------------------------------

    def get_config(self):
        """The layer's Keras 3 config: name, trainable, dtype and the layer's own settings."""
        return {"name": self.name, "trainable": True, "dtype": "float32"}

    @classmethod
    def from_config(cls, config):
        """The layer from a Keras config; raises ValueError naming a setting digitlens cannot honour."""
        return cls(name=config.get("name"))

    # ---- helpers for the forward and backward passes ---------------------------------------

    def _buffer(self, key, shape, training):
        # While training, reuse one array per (key, shape) instead of allocating every batch.
        # Outside training, always hand out a fresh array: nothing is shared between callers.
        if not training:
            return np.empty(shape, dtype=np.float32)
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape:
            buf = self._buffers[key] = np.empty(shape, dtype=np.float32)
        return buf

    def __repr__(self):
        return f"<{self.kind} name={self.name}, built={self.built}>"     # as Keras 3 shows a layer
