"""Keras layer configs <-> digitlens layers, shared by the .keras and the legacy .h5 formats.

A Keras file describes its model as JSON: a Sequential (or a functional Model) holding a list of
layers, each `{"class_name": "Dense", "config": {"name": "dense", "units": 256, "activation":
"relu", ...}}`. Reading turns that list into digitlens layers, refusing - in one line that names
the file - anything digitlens cannot compute exactly as Keras would. Writing produces the config
Keras 3 writes, with `dtype` as the plain string "float32", which every Keras 3 release reads.

Readers ignore config keys they do not know: every Keras release adds a few.

Left out: the weights themselves (keras_file.py and keras_h5.py), and compile settings
(keras_compile.py).
"""

import json
from dataclasses import dataclass, field

import numpy as np

from ..errors import DigitlensError, ModelFileError
from ..nn.layer import layer_class, snake_case, supported
from ..nn.layers import InputLayer


def json_object(raw, what, where):
    """The JSON object in `raw` (text or UTF-8 bytes): a Keras config; `what` names it in errors."""
    try:
        value = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelFileError(f"{where}: {what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: {what} does not hold a JSON object")
    return value

def supported_layers():
    """The sentence that ends a refusal: which layer types digitlens reads (from the registry)."""
    return f"digitlens supports {supported()}"


# ---- reading ----------------------------------------------------------------------------------

@dataclass
class ParsedModel:
    """A model config turned into digitlens layers, before any weights are read."""

    name: str
    input_shape: tuple | None      # per example, e.g. (28, 28); None if the file does not say
    input_layer: InputLayer | None
    layers: list = field(default_factory=list)   # digitlens layers, without the InputLayer
    groups: list = field(default_factory=list)   # the .keras weight group of each layer


def parse_model(model_config, where):
    """Digitlens layers from a serialized Keras model {"class_name": ..., "config": ...}."""
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise ModelFileError(f"{where}: the model config is not a serialized Keras model")
    kind = model_config["class_name"]
    config = model_config.get("config") or {}
    if not isinstance(config, (dict, list)):
        raise ModelFileError(f"{where}: the model config is not a serialized Keras model")
    if kind == "Sequential":
        # Keras 2.0-2.2 stored the layer list itself as the config.
        entries = config if isinstance(config, list) else config.get("layers", [])
        functional = False
    elif kind in ("Functional", "Model"):
        entries = _single_chain(config, where)
        functional = True
    else:
        raise ModelFileError(f"{where}: the model is a {kind}; digitlens reads Sequential models "
                             "and functional models that are a single chain of layers")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ModelFileError(f"{where}: the model config has no list of layers")

    name = config.get("name") if isinstance(config, dict) else None
    name = name if isinstance(name, str) and name else "sequential"
    parsed = ParsedModel(name=name, input_shape=None, input_layer=None)
    used = {}
    unsupported = []
    for entry in entries:
        layer = parse_layer(entry, where)
        kind = entry.get("class_name")
        if layer is None:
            layer_name = _config(entry).get("name") or entry.get("name")
            unsupported.append(f"layer {layer_name!r} is a {kind}")
            continue
        # The weight group Keras 3 files use: the class name in snake_case, made unique in
        # order. A Sequential model's list leaves its InputLayer out; a functional model's has it.
        if isinstance(layer, InputLayer):
            if functional:
                unique_name(snake_case(kind), used)
            if parsed.layers or parsed.input_layer is not None:
                raise ModelFileError(f"{where}: an InputLayer appears after other layers")
            parsed.input_layer = layer
            parsed.input_shape = layer.declared_input_shape
            continue
        parsed.groups.append(unique_name(snake_case(kind), used))
        parsed.layers.append(layer)
        if parsed.input_shape is None and len(parsed.layers) == 1:
            parsed.input_shape = layer.declared_input_shape
    if unsupported:
        listed = " and ".join([", ".join(unsupported[:-1]), unsupported[-1]] if len(unsupported) > 1
                              else unsupported)
        raise ModelFileError(f"{where}: {listed}; {supported_layers()}")
    if not parsed.layers:
        raise ModelFileError(f"{where}: the model has no layers")
    check_unique_names(([parsed.input_layer] if parsed.input_layer else []) + parsed.layers,
                       f"{where}: the model")
    if parsed.input_shape is None and isinstance(config, dict):
        parsed.input_shape = _shape_after_batch(config.get("build_input_shape"))
    if parsed.input_shape is None:
        build_config = _config(model_config, "build_config")
        parsed.input_shape = _shape_after_batch(build_config.get("input_shape"))
    return parsed


def parse_layer(entry, where):
    """One digitlens layer from one serialized Keras layer; None for a kind digitlens lacks.

    The layer class reads its own config (`from_config`, in nn); this only finds the class in the
    registry, takes the input shape a first layer may carry, and puts the file's name on errors.
    """
    kind = entry.get("class_name")
    config = entry.get("config")
    if not isinstance(config, dict):
        config = {}
    name = config.get("name") or entry.get("name")
    if name is not None and not isinstance(name, str):
        raise ModelFileError(f"{where}: a {kind} layer has the name {name!r}; expected a string")
    cls = layer_class(kind)
    if cls is None:
        return None                       # a layer digitlens does not have: parse_model says so
    label = f"layer {name!r}" if name else "a layer"
    try:
        layer = cls.from_config({**config, "name": name})
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise ModelFileError(f"{where}: {label} ({kind}) {_describe(e)}") from None
    input_shape = _shape_after_batch(config.get("batch_input_shape") or config.get("batch_shape"))
    if input_shape is not None and layer.declared_input_shape is None:
        layer.declared_input_shape = input_shape
    return layer


def check_unique_names(layers, what):
    """Keras refuses a model two of whose layers share a name (its files and its summary tell layers
    apart by name, and a legacy .h5 keeps each layer's weights under it): so does digitlens."""
    seen = set()
    for layer in layers:
        if layer.name is not None and layer.name in seen:
            raise ModelFileError(f"{what} has two layers named {layer.name!r}; "
                                 "a Keras model's layer names must be unique")
        seen.add(layer.name)


def weight_count(layer):
    """How many arrays a layer keeps in a Keras file (Dense: kernel and bias), from its config."""
    return len(layer.weight_names())


def build_model(parsed, stored, where, model_class, read=np.asarray):
    """The digitlens model, built and holding the file's weights.

    `stored` has one list per layer of `parsed.layers`: the file's [kernel, bias] for a Dense, []
    otherwise - h5py datasets (or arrays), which `read` turns into arrays. Their shapes are
    compared with the config's before anything is read or allocated, so a small file cannot
    make digitlens build a huge model: the config and the file must agree on every weight.
    """
    shape = parsed.input_shape
    if shape is None:                     # nothing says: the first kernel's rows are the inputs
        first = next((values[0].shape for values in stored if values), None)
        shape = (first[0],) if first is not None and len(first) == 2 else None
    if shape is None:
        raise ModelFileError(f"{where}: the file does not say the model's input shape")
    check_weight_shapes(parsed.layers, stored, shape, where)
    arrays = [[read(value) for value in values] for values in stored]
    layers = ([parsed.input_layer] if parsed.input_layer is not None else []) + parsed.layers
    model = model_class(layers, name=parsed.name)
    try:
        model.build(shape)
    except (DigitlensError, ValueError) as e:
        raise ModelFileError(f"{where}: {e}") from None
    for layer, values in zip(model.layers, arrays):
        for key, value in zip(layer.weight_shapes(), values):
            getattr(layer, key)[...] = value
    return model


def planned_weight_bytes(parsed, where):
    """The bytes of float32 weights the config's layers need, worked out from shapes alone (nothing
    is allocated); None if the config does not say the model's input shape."""
    if parsed.input_shape is None:
        return None
    shape, total = tuple(parsed.input_shape), 0
    for layer in parsed.layers:
        try:
            shape = layer.build(shape)
        except (DigitlensError, ValueError, OverflowError) as e:
            raise ModelFileError(f"{where}: {e}") from None
        total += 4 * layer.count_params()
    return total


def check_weight_shapes(layers, stored, input_shape, where):
    """Raise ModelFileError unless each layer's weights in the file have the shapes its config
    gives them for inputs of `input_shape`. Works out shapes only: nothing is allocated."""
    shape = tuple(input_shape)
    for layer, values in zip(layers, stored):
        try:
            shape = layer.build(shape)      # a layer's build fixes shapes; the model's allocates
        except (DigitlensError, ValueError) as e:
            raise ModelFileError(f"{where}: {e}") from None
        for (key, expected), value in zip(layer.weight_shapes().items(), values):
            if tuple(value.shape or ()) != expected:
                raise ModelFileError(f"{where}: layer {layer.name!r} {key} has shape "
                                     f"{tuple(value.shape or ())} in the file, but its config "
                                     f"makes it {expected}")


def _single_chain(config, where):
    """A functional model's layers, if each takes the previous one's output and nothing else."""
    entries = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(entries, list):
        raise ModelFileError(f"{where}: the functional model config has no list of layers")
    previous = None
    for entry in entries:
        if not isinstance(entry, dict):
            raise ModelFileError(f"{where}: the functional model config has a malformed layer entry")
        name = entry.get("name") or _config(entry).get("name")
        try:
            sources = _inbound_layer_names(entry.get("inbound_nodes") or [])
        except (AttributeError, IndexError, KeyError, TypeError):
            raise ModelFileError(f"{where}: layer {name!r} has malformed inbound_nodes") from None
        expected = [] if previous is None else [previous]
        if sources != expected:
            raise ModelFileError(f"{where}: the functional model is not a single chain of layers "
                                 f"(layer {name!r} takes {sources or 'no inputs'}); "
                                 "digitlens reads Sequential models and single chains")
        previous = name
    return entries


def _inbound_layer_names(nodes):
    """Names of the layers feeding a functional layer, in Keras 3's or tf.keras 2's notation."""
    names = []
    for node in nodes:
        if isinstance(node, dict):         # Keras 3: {"args": [{"config": {"keras_history": [...]}}]}
            for arg in node.get("args", []):
                history = (arg.get("config") or {}).get("keras_history") if isinstance(arg, dict) else None
                names.append(history[0] if history else "?")
        else:                              # tf.keras 2: [["flatten", 0, 0, {}]]
            names.extend(item[0] for item in node)
    return names


def _config(entry, key="config"):
    """entry[key] if it is a dict, else {}: a damaged file may hold anything there."""
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def unique_name(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _shape_after_batch(batch_shape):
    """[null, 28, 28] -> (28, 28)."""
    if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) < 2:
        return None
    return _tuple(batch_shape[1:])


def _tuple(shape):
    if not isinstance(shape, (list, tuple)) or not all(isinstance(d, int) and d > 0 for d in shape):
        return None
    return tuple(shape)


def _describe(error):
    """A layer's complaint about its config, as the end of a sentence that starts with the layer."""
    if isinstance(error, KeyError):
        return f"has no {error} in its config"
    text = str(error)
    starts = ("uses ", "has ", "does ", "is ", "needs ", "gives ")
    return text if text.startswith(starts) else f"has a config digitlens cannot read: {text}"


# ---- writing ----------------------------------------------------------------------------------

def model_config(model, where="the model"):
    """The Keras 3 config of a built digitlens Sequential: {"module", "class_name", "config", ...}.

    Input shapes come from the model, which is built: (None, 28, 28) for the lesson's model.
    `where` (the file being written) starts the error for a model Keras could not load.
    """
    check_unique_names(([model.input_layer] if model.input_layer is not None else []) + model.layers,
                       f"{where}: cannot save: the model")
    batch_shape = [None, *model.input_shape]
    input_name = model.input_layer.name if model.input_layer is not None else "input_layer"
    layers = [{"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": batch_shape, "dtype": "float32", "sparse": False,
                          "name": input_name},
               "registered_name": None}]
    for layer in model.layers:
        layers.append({"module": "keras.layers", "class_name": keras_class_name(layer),
                       "config": layer_config(layer), "registered_name": None,
                       "build_config": {"input_shape": [None, *layer.input_shape]}})
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": model.name, "trainable": True, "dtype": "float32",
                       "layers": layers, "build_input_shape": batch_shape},
            "registered_name": None, "build_config": {"input_shape": batch_shape}}


def keras_class_name(layer):
    """The Keras class name of a digitlens layer ("Dense"), also for subclasses (the facade's)."""
    if layer_class(layer.kind) is None:
        raise DigitlensError(f"cannot save a {type(layer).__name__} layer in a Keras file; "
                             f"{supported_layers()}")
    return layer.kind


def layer_config(layer):
    """What Keras 3's get_config() gives for the same layer: the layer's own get_config()."""
    return layer.get_config()


def legacy_model_config(config):
    """The same config as Keras 3 writes it into a legacy .h5: no module or build_config."""
    inner = dict(config["config"])
    inner["layers"] = [{"class_name": e["class_name"], "config": e["config"]} for e in inner["layers"]]
    return {"class_name": config["class_name"], "config": inner}
