"""The legacy Keras HDF5 model file, `.h5`: what tf.keras 2.x saved, and Keras 3 still reads.

One HDF5 file. The model's JSON is a root attribute, the weights sit in groups per layer:

    attrs: keras_version, backend, model_config (JSON), training_config (JSON, if compiled)
    /model_weights                attrs: layer_names = [flatten, dense, dense_1]
    /model_weights/dense          attrs: weight_names = [the datasets below, kernel first]
        tf.keras 2.x:   dense/kernel:0, dense/bias:0
        Keras 3:        sequential/dense/kernel, sequential/dense/bias
    /optimizer_weights            attrs: weight_names = [adam/iteration, adam/learning_rate, ...]

The reader follows `layer_names` and `weight_names` rather than guessing paths. Those attributes
may be bytes or text, and a list too long for one HDF5 attribute (64 KB) is split into
weight_names0, weight_names1, ... The writer writes the layout Keras 3.15 writes, which Keras 3
loads with keras.models.load_model (tests check it), plus digitlens's extras as a byte dataset
`digitlens.json` that Keras ignores.

Left out: weights-only files (model.save_weights), which carry no model config.
"""

import json
import os

import h5py
import numpy as np

from ..errors import ModelFileError
from . import extras, keras_compile, keras_layers
from .atomic import atomic_write
from .keras_file import KERAS_VERSION

ATTRIBUTE_LIMIT = 64512        # bytes HDF5 allows in one attribute's header, as Keras counts
# The HDF5 1.8 file format (2008; every h5py reads it) checksums the file's structure, and each
# array gets a checksum of its own, so a damaged digitlens .h5 is reported as damaged instead of
# being misread. HDF5's oldest format has no such checks; a few flipped bytes in it can even send
# the HDF5 library into an endless loop.
LIBVER = ("v108", "v108")


# ---- reading ----------------------------------------------------------------------------------

def read(path, model_class):
    """A built (and, if the file says so, compiled) model from a legacy .h5 file."""
    where = os.fspath(path)
    if not h5py.is_hdf5(path):
        raise ModelFileError(f"{where}: not an HDF5 file (damaged, cut short, or another kind of file)")
    try:
        h5 = h5py.File(path, "r")
    except OSError as e:
        raise ModelFileError(f"{where}: the HDF5 file is damaged or cut short ({e})") from None
    with h5:
        raw = h5.attrs.get("model_config")
        if raw is None:
            if "layers" in h5 or "layer_names" in h5.attrs or "model_weights" in h5:
                raise ModelFileError(f"{where}: holds weights only, no model config; digitlens "
                                     "needs a whole model, saved with model.save()")
            raise ModelFileError(f"{where}: not a Keras model file: it has no model_config")
        config = _json(raw, "model_config", where)
        parsed = keras_layers.parse_model(config, where)
        root = h5.get("model_weights")
        if not isinstance(root, h5py.Group):
            raise ModelFileError(f"{where}: the file has no model_weights group")
        arrays = _layer_arrays(root, parsed, where)
        model = keras_layers.build_model(parsed, arrays, where, model_class)

        training = h5.attrs.get("training_config")
        compiled = training is not None and keras_compile.compile_from_config(
            model, _json(training, "training_config", where), where)
        state = h5.get("optimizer_weights")
        if compiled and isinstance(state, h5py.Group):
            names = read_names(state, "weight_names")
            values = [_dataset(state, name, where, "optimizer_weights") for name in names]
            keras_compile.restore_optimizer_state(model, values, where, names=names)
        extra = h5.get(extras.ENTRY)
        if isinstance(extra, h5py.Dataset):
            extras.apply(model, np.asarray(extra[()], dtype=np.uint8).tobytes(), where)
    return model


def read_names(group, name):
    """A list-of-names attribute as text, whether stored whole, as bytes, or split in chunks."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.append(group.attrs[f"{name}{i}"])
            i += 1
    names = []
    for chunk in chunks:
        for item in np.atleast_1d(chunk):   # an empty list is written as an empty float array
            # A damaged name stays visibly damaged (U+FFFD) and then is "missing" when looked up.
            names.append(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item))
    return names


def _layer_arrays(root, parsed, where):
    """[kernel, bias] for each Dense of `parsed.layers`, [] for the others."""
    stored = [name for name in read_names(root, "layer_names")
              if isinstance(root.get(name), h5py.Group) and read_names(root[name], "weight_names")]
    weighted = [layer for layer in parsed.layers if keras_layers.weight_count(layer)]
    if len(stored) != len(weighted):
        raise ModelFileError(f"{where}: the file holds weights for {len(stored)} layers, but its "
                             f"config has {len(weighted)} layers with weights")
    groups = iter(stored)                 # Keras matches them by position, and so does digitlens
    arrays = []
    for layer in parsed.layers:
        count = keras_layers.weight_count(layer)
        if count == 0:
            arrays.append([])
            continue
        group_name = next(groups)
        names = read_names(root[group_name], "weight_names")
        if len(names) != count:
            raise ModelFileError(f"{where}: model_weights/{group_name} lists {len(names)} weights "
                                 f"for layer {layer.name!r}, expected {count} (kernel, bias)")
        arrays.append([_dataset(root[group_name], name, where, f"model_weights/{group_name}")
                       for name in names])
    return arrays


def _dataset(group, name, where, path):
    dataset = group.get(name)
    if not isinstance(dataset, h5py.Dataset):
        raise ModelFileError(f"{where}: the dataset {path}/{name} is missing")
    try:
        value = np.asarray(dataset[()])
    except (OSError, ValueError, TypeError) as e:
        reason = "its checksum does not match" if "filter returned failure" in str(e) else str(e)
        raise ModelFileError(f"{where}: the dataset {path}/{name} is damaged ({reason})") from None
    if not np.issubdtype(value.dtype, np.number):
        raise ModelFileError(f"{where}: the dataset {path}/{name} holds {value.dtype}, not numbers")
    return value.astype(np.float32) if np.issubdtype(value.dtype, np.floating) else value


def _json(raw, name, where):
    try:
        value = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    except (ValueError, UnicodeDecodeError):
        raise ModelFileError(f"{where}: the {name} attribute is not valid JSON") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: the {name} attribute does not hold a JSON object")
    return value


# ---- writing ----------------------------------------------------------------------------------

def write(model, path):
    """Save a built model as a legacy .h5 file that Keras 3 loads with keras.models.load_model."""
    config = keras_layers.legacy_model_config(keras_layers.model_config(model))
    compiled = model.optimizer is not None and model.loss is not None
    extra = extras.collect(model)
    extra = extras.encode(extra) if extra is not None else None
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w", libver=LIBVER) as h5:
            h5.attrs["keras_version"] = KERAS_VERSION
            h5.attrs["backend"] = "numpy"
            h5.attrs["model_config"] = json.dumps(config)
            if compiled:
                h5.attrs["training_config"] = json.dumps(_training_config(model))
            root = h5.create_group("model_weights")
            root.attrs["keras_version"] = KERAS_VERSION
            root.attrs["backend"] = "numpy"
            write_names(root, "layer_names", [layer.name for layer in model.layers])
            for layer in model.layers:
                group = root.create_group(layer.name)
                names = [f"{model.name}/{layer.name}/{key}" for key in layer.param_shapes()]
                write_names(group, "weight_names", names)
                for name, key in zip(names, layer.param_shapes()):
                    _dataset_with_checksum(group, name, getattr(layer, key))
            write_names(root.create_group("top_level_model_weights"), "weight_names", [])
            if compiled:
                variables = keras_compile.optimizer_variables(model)
                state = h5.create_group("optimizer_weights")
                write_names(state, "weight_names", [name for name, _ in variables])
                for name, value in variables:
                    _dataset_with_checksum(state, name, value)
            if extra is not None:
                h5.create_dataset(extras.ENTRY, data=np.frombuffer(extra, dtype=np.uint8))


def _dataset_with_checksum(group, name, value):
    """An array stored with HDF5's Fletcher-32 checksum (a standard filter every HDF5 reads), so
    flipped bytes in the weights are an error rather than a silently different model."""
    value = np.asarray(value)
    group.create_dataset(name, data=value, fletcher32=value.ndim > 0)   # scalars cannot have one


def _training_config(model):
    """Keras 3's training_config: its compile_config with the optimizer as {class_name, config}."""
    config = keras_compile.compile_config(model)
    optimizer = config.pop("optimizer")
    config["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
    return config


def write_names(group, name, names):
    """Store a list of names as Keras does, split into name0, name1, ... if it is too long."""
    data = np.array([n.encode("utf-8") for n in names]) if names else np.array([])
    chunks = 1
    while any(part.nbytes > ATTRIBUTE_LIMIT for part in np.array_split(data, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{name}{i}"] = part
