"""The Keras 3 model file, `.keras`: read one Keras wrote, write one Keras loads.

A .keras file is a zip archive whose entries are stored uncompressed:

    metadata.json       {"keras_version": "3.15.1", "date_saved": "2026-11-28@07:28:38"}
    config.json         the model as JSON (see keras_layers.py), with its compile_config
    model.weights.h5    HDF5: /layers/dense/vars/0 = kernel (784, 256), /vars/1 = bias (256,),
                        /layers/dense_1/vars/..., and /optimizer/vars/0, 1, ... when compiled
    digitlens.json      digitlens's own extras, which Keras ignores (see extras.py)

The weight groups are named after the layer's class, not the layer: the first Dense is `dense`,
the second `dense_1`, whatever the layers are called. Since Keras 3.6 each `vars` group also has a
`name` attribute with the layer's own name; the reader uses it when it is there.

Left out: weights saved as model.weights.npz (reading them would mean unpickling) and assets.
"""

import datetime
import io
import json
import os
import zipfile

import h5py
import numpy as np

from ..errors import ModelFileError
from . import extras, keras_compile, keras_layers
from .atomic import atomic_write

KERAS_VERSION = "3.15.1"       # the Keras release whose files these match; tests load them with it
CONFIG, WEIGHTS, METADATA = "config.json", "model.weights.h5", "metadata.json"
MAX_ENTRY_BYTES = 2**31        # a larger entry is not a model of this kind (or is a zip bomb)


# ---- reading ----------------------------------------------------------------------------------

def read(path, model_class):
    """A built (and, if the file says so, compiled) model from a .keras file."""
    where = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ModelFileError(f"{where}: not a .keras file: it is not a zip archive "
                             "(damaged, cut short, or another kind of file)") from None
    with archive:
        names = archive.namelist()
        if CONFIG not in names:
            raise ModelFileError(f"{where}: not a Keras model file: the archive has no {CONFIG}")
        if WEIGHTS not in names:
            if "model.weights.npz" in names:
                raise ModelFileError(f"{where}: the weights are in model.weights.npz, which "
                                     "digitlens does not read; save with Keras's default weights format")
            raise ModelFileError(f"{where}: the archive has no {WEIGHTS}")
        config = _json(_entry(archive, CONFIG, where), CONFIG, where)
        weights = _entry(archive, WEIGHTS, where)
        extra = _entry(archive, extras.ENTRY, where) if extras.ENTRY in names else None

    parsed = keras_layers.parse_model(config, where)
    with _open_h5(weights, where) as h5:
        arrays = _layer_arrays(h5, parsed, where)
        model = keras_layers.build_model(parsed, arrays, where, model_class)
        compiled = keras_compile.compile_from_config(model, config.get("compile_config"), where)
        state = h5.get("optimizer/vars")
        if compiled and isinstance(state, h5py.Group) and len(state):
            values = [_array(state, str(i), where, "optimizer/vars") for i in range(len(state))]
            keras_compile.restore_optimizer_state(model, values, where)
    if extra is not None:
        extras.apply(model, extra, where)
    return model


def _entry(archive, name, where):
    info = archive.getinfo(name)
    if info.file_size > MAX_ENTRY_BYTES:
        raise ModelFileError(f"{where}: {name} declares {info.file_size:,} bytes, too large for a model")
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:   # CRC errors, cut files
        raise ModelFileError(f"{where}: {name} is damaged inside the archive ({e})") from None


def _json(raw, name, where):
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ModelFileError(f"{where}: {name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: {name} does not hold a JSON object")
    return value


def _open_h5(raw, where):
    try:
        return h5py.File(io.BytesIO(raw), "r")
    except OSError:
        raise ModelFileError(f"{where}: {WEIGHTS} inside the archive is not an HDF5 file") from None


def _layer_arrays(h5, parsed, where):
    """[kernel, bias] for each Dense of `parsed.layers`, [] for the others."""
    root = h5.get("layers")
    if root is None:                      # Keras 2.13's .keras files (Keras 3 reads them so too)
        root = h5.get("_layer_checkpoint_dependencies")
    if not isinstance(root, h5py.Group):
        raise ModelFileError(f"{where}: {WEIGHTS} has no 'layers' group")
    by_name = {}                          # Keras 3.6+: vars groups carry the layer's name
    for group_name, group in root.items():
        vars_group = group.get("vars") if isinstance(group, h5py.Group) else None
        if vars_group is not None and "name" in vars_group.attrs:
            by_name[_text(vars_group.attrs["name"])] = group_name
    arrays = []
    for layer, group_name in zip(parsed.layers, parsed.groups):
        count = keras_layers.weight_count(layer)
        if count == 0:
            arrays.append([])
            continue
        group_name = by_name.get(layer.name, group_name)
        path = f"layers/{group_name}/vars"
        vars_group = root.get(f"{group_name}/vars")
        if not isinstance(vars_group, h5py.Group):
            raise ModelFileError(f"{where}: {WEIGHTS} has no weights for layer {layer.name!r} "
                                 f"(expected {path})")
        arrays.append([_array(vars_group, str(i), where, path) for i in range(count)])
        if len(vars_group) != count:      # more than kernel and bias: LoRA, quantization, ...
            raise ModelFileError(f"{where}: {WEIGHTS} holds {len(vars_group)} arrays for layer "
                                 f"{layer.name!r} at {path}, expected {count} (kernel, bias)")
    return arrays


def _array(group, key, where, path):
    dataset = group.get(key)
    if not isinstance(dataset, h5py.Dataset):
        raise ModelFileError(f"{where}: {WEIGHTS} is missing the dataset {path}/{key}")
    try:
        value = np.asarray(dataset[()])
    except (OSError, ValueError, TypeError) as e:
        raise ModelFileError(f"{where}: {WEIGHTS} dataset {path}/{key} cannot be read ({e})") from None
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        raise ModelFileError(f"{where}: {WEIGHTS} dataset {path}/{key} holds {value.dtype}, not numbers")
    return value.astype(np.float32) if np.issubdtype(value.dtype, np.floating) else value


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---- writing ----------------------------------------------------------------------------------

def write(model, path):
    """Save a built model as a .keras file that Keras 3 loads with keras.models.load_model."""
    config = keras_layers.model_config(model)
    compiled = model.optimizer is not None and model.loss is not None
    if compiled:
        config["compile_config"] = keras_compile.compile_config(model)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = _weights_h5(model, compiled)
    extra = extras.collect(model)
    extra = extras.encode(extra) if extra is not None else None
    with atomic_write(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA, json.dumps(metadata))
            archive.writestr(CONFIG, json.dumps(config))
            archive.writestr(WEIGHTS, weights)
            if extra is not None:
                archive.writestr(extras.ENTRY, extra)


def _weights_h5(model, compiled):
    """The bytes of model.weights.h5: every layer's weights and, if compiled, the optimizer's."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        used = {}
        for layer in model.layers:
            group_name = keras_layers.unique_name(keras_layers.snake_case(
                keras_layers.keras_class_name(layer)), used)
            vars_group = h5.create_group(f"layers/{group_name}/vars")
            vars_group.attrs["name"] = layer.name
            for i, key in enumerate(layer.param_shapes()):
                vars_group.create_dataset(str(i), data=getattr(layer, key))
        h5.create_group("vars").attrs["name"] = model.name
        if compiled:
            variables = keras_compile.optimizer_variables(model)
            state = h5.create_group("optimizer/vars")
            state.attrs["name"] = variables[0][0].split("/")[0]
            for i, (_, value) in enumerate(variables):
                state.create_dataset(str(i), data=value)
    return buffer.getvalue()
