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
`digitlens.json` that Keras ignores. Every array is read through hdf5_arrays.py, which refuses
data stored outside the file.

Left out: weights-only files (model.save_weights), which carry no model config.
"""

import io
import json
import os

import h5py
import numpy as np

from ..errors import ModelFileError
from . import extras, hdf5_arrays, keras_compile, keras_layers, optimizer_state
from ..atomic import write_bytes
from .keras_file import KERAS_VERSION
from .limits import MAX_EXTRAS_BYTES, MAX_MODEL_BYTES

ATTRIBUTE_LIMIT = 64512        # bytes HDF5 allows in one attribute's header, as Keras counts
# The HDF5 1.8 file format (2008; every h5py reads it) checksums the file's structure, and each
# array gets a checksum of its own, so a damaged digitlens .h5 is reported as damaged instead of
# being misread. HDF5's oldest format has no such checks; a few flipped bytes in it can even send
# the HDF5 library into an endless loop.
LIBVER = ("v108", "v108")


# ---- reading ----------------------------------------------------------------------------------

def read(path, model_class, max_bytes=MAX_MODEL_BYTES):
    """A built (and, if the file says so, compiled) model from a legacy .h5 file; its arrays may
    hold at most `max_bytes` in all (checked from their headers before any is read)."""
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
            # (get with getlink=True looks at the entry itself, without following a link)
            if ("layer_names" in h5.attrs or h5.get("layers", getlink=True) is not None
                    or h5.get("model_weights", getlink=True) is not None):
                raise ModelFileError(f"{where}: holds weights only, no model config; digitlens "
                                     "needs a whole model, saved with model.save()")
            raise ModelFileError(f"{where}: not a Keras model file: it has no model_config")
        config = keras_layers.json_object(raw, "the model_config attribute", where)
        parsed = keras_layers.parse_model(config, where)
        root = hdf5_arrays.get(h5, "model_weights", where)
        if not isinstance(root, h5py.Group):
            raise ModelFileError(f"{where}: the file has no model_weights group")
        reader = hdf5_arrays.ArrayReader(where, limit=max_bytes)
        model = keras_layers.build_model(parsed, _layer_datasets(root, parsed, where), where,
                                         model_class, read=reader.read)

        training = h5.attrs.get("training_config")
        compiled = training is not None and keras_compile.compile_from_config(
            model, keras_layers.json_object(training, "the training_config attribute", where), where)
        state = hdf5_arrays.get(h5, "optimizer_weights", where)
        if compiled and isinstance(state, h5py.Group):
            names = read_names(state, "weight_names")
            if len(names) > optimizer_state.state_size(model):
                names = []                # more than this optimizer can have: read none of them
            values = [reader.read(hdf5_arrays.get_dataset(state, name, where, "optimizer_weights")) for name in names]
            optimizer_state.restore_optimizer_state(model, values, where, names=names)
        extra = hdf5_arrays.get(h5, extras.ENTRY, where)
        if isinstance(extra, h5py.Dataset):
            if (extra.size or 0) * extra.dtype.itemsize > MAX_EXTRAS_BYTES:
                extras.warn_left_off(where, f"more than the {MAX_EXTRAS_BYTES // 2**20} MB digitlens reads")
            else:
                value = reader.read(extra)
                extras.apply(model, value.tobytes() if value.dtype == np.uint8 else None, where)
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


def _layer_datasets(root, parsed, where):
    """The datasets [kernel, bias] of each Dense of `parsed.layers`, [] for the others; unread."""
    groups = [hdf5_arrays.get(root, name, where) for name in read_names(root, "layer_names")]
    stored = [group for group in groups
              if isinstance(group, h5py.Group) and read_names(group, "weight_names")]
    weighted = [layer for layer in parsed.layers if keras_layers.weight_count(layer)]
    if len(stored) != len(weighted):
        raise ModelFileError(f"{where}: the file holds weights for {len(stored)} layers, but its "
                             f"config has {len(weighted)} layers with weights")
    groups = iter(stored)                 # Keras matches them by position, and so does digitlens
    datasets = []
    for layer in parsed.layers:
        count = keras_layers.weight_count(layer)
        if count == 0:
            datasets.append([])
            continue
        group = next(groups)
        path = group.name.lstrip("/")
        names = read_names(group, "weight_names")
        if len(names) != count:
            raise ModelFileError(f"{where}: {path} lists {len(names)} weights "
                                 f"for layer {layer.name!r}, expected {count} ({', '.join(layer.weight_names())})")
        datasets.append([hdf5_arrays.get_dataset(group, name, where, path) for name in names])
    return datasets


# ---- writing ----------------------------------------------------------------------------------

def write(model, path):
    """Save a built model as a legacy .h5 file that Keras 3 loads with keras.models.load_model.

    The whole HDF5 file is built in memory first and then written at once through the atomic
    writer: HDF5 writing straight to a disk that fills up fails inside the HDF5 library in ways
    Python cannot recover from cleanly (a dozen tracebacks, even a crash), whereas a failed write
    of plain bytes is one OSError, and the earlier file stays as it was.
    """
    write_bytes(path, h5_bytes(model, os.fspath(path)), error=ModelFileError)


def h5_bytes(model, where="the model"):
    """The legacy .h5 file of a built model, as bytes (a few MB for the lesson's network)."""
    config = keras_layers.legacy_model_config(keras_layers.model_config(model, where))
    compiled = model.optimizer is not None and model.loss is not None
    extra = extras.collect(model)
    extra = extras.encode(extra) if extra is not None else None
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=LIBVER) as h5:
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
            names = [f"{model.name}/{layer.name}/{key}" for key in layer.weight_shapes()]
            write_names(group, "weight_names", names)
            for name, key in zip(names, layer.weight_shapes()):
                _dataset_with_checksum(group, name, getattr(layer, key))
        write_names(root.create_group("top_level_model_weights"), "weight_names", [])
        if compiled:
            variables = optimizer_state.optimizer_variables(model)
            state = h5.create_group("optimizer_weights")
            write_names(state, "weight_names", [name for name, _ in variables])
            for name, value in variables:
                _dataset_with_checksum(state, name, value)
        if extra is not None:
            h5.create_dataset(extras.ENTRY, data=np.frombuffer(extra, dtype=np.uint8))
    return buffer.getvalue()


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
