"""Networks by name, by a short spec, or from a Keras JSON config: what `--arch` takes.

    lesson        Flatten -> Dense(256, relu) -> Dense(10, softmax)                      203,530 parameters
    cnn           Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu)
                  -> Dense(10, softmax): the course's convolutional network              693,962 parameters
    a spec        layers as words, comma-separated: "conv32x3,pool2,flatten,dense128,dense10" is cnn
    a file        a Keras model config as JSON: what model.to_json() writes, or a .keras file's
                  config.json (only the layers are used; the weights start fresh)

The spec's words (SPEC_HELP below is the same text, shown by `digitlens train --help`):

    conv32x3          Conv2D(32, (3, 3), relu)            conv32x5x3   a 5 x 3 kernel
      ...s2           strides 2                           conv64x3s2
      ...same         "same" padding (default "valid")    conv32x3same
      ...:tanh        another activation                  conv32x3:tanh
    pool2             MaxPooling2D(2) (also maxpool2)     pool3s2same  window 3, strides 2, same
    avgpool2          AveragePooling2D(2)
    gap               GlobalAveragePooling2D
    bn                BatchNormalization
    flatten           Flatten
    dropout0.25       Dropout(0.25)
    reshape28x28x1    Reshape((28, 28, 1))
    dense128          Dense(128, relu); dense128:tanh; the last dense is softmax unless it says

Each word becomes the Keras config of its layer, which the layer registry's class reads
(nn.layer.LAYERS), so a spec gets exactly the checks a Keras file gets. The input is the dataset's
images, (28, 28); a network that starts with a layer that needs channels (a convolution, pooling,
batch normalization) is declared for (28, 28, 1), which (N, 28, 28) images fill. The last layer
must give one output per class.
"""

import json
import re
from pathlib import Path

from .errors import DigitlensError
from .nn import Sequential, cnn_model, lesson_model
from .nn.activations import ACTIVATIONS
from .nn.layer import LAYERS

NAMES = {"lesson": "Flatten -> Dense(256, relu) -> Dense(10, softmax)",
         "cnn": "Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu) -> Dense(10, softmax)"}

SPEC_HELP = """\
conv32x3 Conv2D(32, (3, 3), relu); conv32x5x3 a 5x3 kernel; add s2 for strides 2, same for
"same" padding, :tanh for another activation (conv64x3s2same:tanh); pool2 MaxPooling2D(2) (pool3s2,
pool2same); avgpool2 AveragePooling2D; gap GlobalAveragePooling2D; bn BatchNormalization; flatten;
dropout0.25; reshape28x28x1; dense128 Dense(128, relu), dense128:tanh (the last dense is softmax
unless it says)"""

_WINDOW = r"(?P<size>\d+)(?:x(?P<width>\d+))?(?:s(?P<strides>\d+))?(?P<padding>same|valid)?"
_ACTIVATION = r"(?::(?P<activation>[a-z]+))?"
WORDS = [   # (pattern, Keras class name, whether it needs images with a channel axis)
    (re.compile(rf"conv(?P<filters>\d+)x{_WINDOW}{_ACTIVATION}"), "Conv2D", True),
    (re.compile(rf"(?:max)?pool{_WINDOW}"), "MaxPooling2D", True),
    (re.compile(rf"avgpool{_WINDOW}"), "AveragePooling2D", True),
    (re.compile(r"gap"), "GlobalAveragePooling2D", True),
    (re.compile(r"bn|batchnorm"), "BatchNormalization", True),
    (re.compile(r"flatten"), "Flatten", False),
    (re.compile(r"dropout(?P<rate>0?\.\d+)"), "Dropout", False),
    (re.compile(r"reshape(?P<shape>\d+(?:x\d+)*)"), "Reshape", False),
    (re.compile(rf"dense(?P<units>\d+){_ACTIVATION}"), "Dense", False),
]


def build(arch, input_shape=(28, 28), classes=10, seed=None, argument="--arch"):
    """A new Sequential (weights drawn fresh) for `arch`: "lesson", "cnn", a spec or a JSON file.

    input_shape: one image of the data, (28, 28) for MNIST. Raises DigitlensError naming
    `argument` for anything that cannot become a network for this data.
    """
    text = str(arch).strip()
    if text == "lesson":
        model = lesson_model(classes=classes, input_shape=tuple(input_shape), seed=seed)
    elif text == "cnn":
        model = cnn_model(classes=classes, input_shape=with_channel(input_shape), seed=seed)
    elif text.lower().endswith(".json"):
        model = from_json_file(text, input_shape, seed, argument)
    else:
        model = from_spec(text, input_shape, classes, seed, argument)
    check_size(model, argument)
    try:
        model.build()
    except ValueError as error:
        raise DigitlensError(f"{argument}: {error}") from None
    if model.output_shape != (classes,):
        raise DigitlensError(f"{argument}: the network ends in outputs of shape {model.output_shape}; the data has "
                             f"{classes} classes, so end it with dense{classes}")
    return model


def check_size(model, argument, input_shape=None):
    """Refuse, before any weight is allocated, a network too big for digitlens to train and save:
    its float32 weights may take at most io.MAX_MODEL_BYTES (134 million parameters). Returns the
    number of parameters.

    model: an unbuilt model (built models have allocated already, and pass); input_shape: its
    inputs', if it does not declare them."""
    from .io.limits import MAX_MODEL_BYTES

    if model.built:
        return model.count_params()
    shape, params = input_shape or model.declared_input_shape, 0
    try:
        for layer in model.layers:
            shape = layer.build(shape)        # shapes only: the model's build() allocates
            params += layer.count_params()
    except ValueError as error:
        raise DigitlensError(f"{argument}: {error}") from None
    if 4 * params > MAX_MODEL_BYTES:
        raise DigitlensError(f"{argument}: this network would have {params:,} parameters "
                             f"({4 * params / 2**30:,.1f} GB of float32 weights); digitlens trains and saves "
                             f"networks of at most {MAX_MODEL_BYTES // 4:,} ({MAX_MODEL_BYTES // 2**20} MB)")
    return params


def with_channel(shape):
    """(28, 28) -> (28, 28, 1): images as a convolution takes them."""
    shape = tuple(shape)
    return shape + (1,) if len(shape) == 2 else shape


def from_spec(text, input_shape=(28, 28), classes=10, seed=None, argument="--arch"):
    """The Sequential a spec like "conv32x3,pool2,flatten,dense128,dense10" describes (unbuilt)."""
    words = [word.strip().lower() for word in text.split(",")]
    if not text.strip() or not all(words):
        raise DigitlensError(f"{argument}: expected lesson, cnn, a file ending in .json or layers like "
                             f"conv32x3,pool2,flatten,dense128,dense10, received {text!r}")
    configs = [_word_config(word, argument) for word in words]
    last_dense = max((i for i, (kind, _, _) in enumerate(configs) if kind == "Dense"), default=None)
    layers = []
    for i, (kind, config, _) in enumerate(configs):
        if kind == "Dense" and "activation" not in config:
            config["activation"] = "softmax" if i == last_dense and i == len(configs) - 1 else "relu"
        try:
            layers.append(LAYERS[kind].from_config(config))
        except ValueError as error:
            raise DigitlensError(f"{argument}: {words[i]!r}: {error}") from None
    model = Sequential(layers, seed=seed)
    # declared after the model is made, which would otherwise build (allocate) at once
    layers[0].declared_input_shape = with_channel(input_shape) if configs[0][2] else tuple(input_shape)
    return model


def _word_config(word, argument):
    """(Keras class name, its config, needs channels) for one word of a spec."""
    for pattern, kind, needs_channels in WORDS:
        match = pattern.fullmatch(word)
        if match is None:
            continue
        part = {k: v for k, v in match.groupdict().items() if v is not None}
        config = {}
        if "size" in part:
            window = [int(part["size"]), int(part.get("width", part["size"]))]
            config["kernel_size" if kind == "Conv2D" else "pool_size"] = window
            config["padding"] = part.get("padding", "valid")
            if "strides" in part:
                config["strides"] = [int(part["strides"])] * 2
        if "filters" in part:
            config["filters"] = int(part["filters"])
        if "units" in part:
            config["units"] = int(part["units"])
        if "activation" in part:
            if part["activation"] not in ACTIVATIONS:
                raise DigitlensError(f"{argument}: {word!r}: unknown activation {part['activation']!r}; "
                                     f"expected one of {', '.join(ACTIVATIONS)}")
            config["activation"] = part["activation"]
        elif kind == "Conv2D":
            config["activation"] = "relu"
        if "rate" in part:
            config["rate"] = float(part["rate"])
        if "shape" in part:
            config["target_shape"] = [int(d) for d in part["shape"].split("x")]
        return kind, config, needs_channels
    raise DigitlensError(f"{argument}: {word!r} is not a layer digitlens knows: expected words like conv32x3, "
                         "pool2, avgpool2, gap, bn, flatten, dropout0.25, reshape28x28x1, dense128 "
                         "(see digitlens train --help)")


def from_json_file(path, input_shape=(28, 28), seed=None, argument="--arch"):
    """The Sequential a Keras model config in a JSON file describes (unbuilt, fresh weights)."""
    from .io.keras_layers import parse_model
    from .io.limits import MAX_MODEL_BYTES

    where = Path(path)
    if not where.is_file():
        raise DigitlensError(f"{argument}: {path}: no such file (a Keras model config as JSON, e.g. model.to_json())")
    if where.stat().st_size > MAX_MODEL_BYTES:
        raise DigitlensError(f"{argument}: {path}: {where.stat().st_size:,} bytes is far more than a model config")
    try:
        config = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as error:
        raise DigitlensError(f"{argument}: {path}: not a JSON file ({type(error).__name__})") from None
    parsed = parse_model(config, str(path))        # a ModelFileError (a DigitlensError) names the file
    layers = ([parsed.input_layer] if parsed.input_layer is not None else []) + parsed.layers
    model = Sequential(name=parsed.name, seed=seed)
    for layer in layers:
        model.add(layer, rebuild=False)         # built once its size is checked (build above)
    shape = parsed.input_shape
    if shape is None:                               # the file does not say: the data's images
        shape = tuple(input_shape)
        try:
            Sequential([_fresh_copy(layer) for layer in parsed.layers]).build(shape)
        except ValueError:
            shape = with_channel(shape)             # one channel, for a first layer that wants it
        model.layers[0].declared_input_shape = shape
    return model


def _fresh_copy(layer):
    return type(layer).from_config(layer.get_config())
