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

Reading checks the zip's directory first - at most MAX_ZIP_ENTRIES entries, each name once,
at most MAX_MODEL_BYTES unpacked, and a weights entry no larger than the config's layers need
(limits.py) - and reads the weights through hdf5_arrays.py, which refuses data stored outside
the file. Left out: weights saved as model.weights.npz (reading them would
mean unpickling) and assets.
"""

import datetime
import io
import json
import lzma
import os
import zipfile
import zlib

import h5py

from ..errors import ModelFileError
from . import extras, hdf5_arrays, keras_compile, keras_layers, optimizer_state
from ..atomic import atomic_write
from .limits import MAX_CONFIG_BYTES, MAX_EXTRAS_BYTES, MAX_MODEL_BYTES, MAX_ZIP_ENTRIES, weights_allowance

KERAS_VERSION = "3.15.1"       # the Keras release whose files these match; tests load them with it
CONFIG, WEIGHTS, METADATA = "config.json", "model.weights.h5", "metadata.json"


# ---- reading ----------------------------------------------------------------------------------

def read(path, model_class, max_bytes=MAX_MODEL_BYTES):
    """A built (and, if the file says so, compiled) model from a .keras file.

    Sizes are checked before anything is unpacked: the directory's (at most `max_bytes` in all),
    then config.json's, then model.weights.h5's against what the config's layers need - so a
    weights entry padded with zeros behind the real weights is refused, not unpacked.
    """
    where = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ModelFileError(f"{where}: not a .keras file: it is not a zip archive "
                             "(damaged, cut short, or another kind of file)") from None
    with archive:
        infos = _check_directory(archive, where, max_bytes)
        config = keras_layers.json_object(_entry(archive, infos[CONFIG], where, MAX_CONFIG_BYTES),
                                          CONFIG, where)
        parsed = keras_layers.parse_model(config, where)
        planned = keras_layers.planned_weight_bytes(parsed, where)
        if planned is not None:
            allowed = weights_allowance(planned, len(parsed.layers))
            weights = _entry(archive, infos[WEIGHTS], where, allowed,
                             f"but the model's config needs {planned:,} bytes of weights "
                             f"(at most {allowed:,} with an optimizer's state)")
        else:
            weights = _entry(archive, infos[WEIGHTS], where, max_bytes)
        extra = None
        if extras.ENTRY in infos:
            if infos[extras.ENTRY].file_size <= MAX_EXTRAS_BYTES:
                extra = _entry(archive, infos[extras.ENTRY], where, MAX_EXTRAS_BYTES)
            else:
                extras.warn_left_off(where, f"{infos[extras.ENTRY].file_size:,} bytes, more than the "
                                            f"{MAX_EXTRAS_BYTES // 2**20} MB digitlens reads")

    with _open_h5(weights, where) as h5:
        reader = hdf5_arrays.ArrayReader(where, limit=max_bytes)
        model = keras_layers.build_model(parsed, _layer_datasets(h5, parsed, where), where,
                                         model_class, read=reader.read)
        compiled = keras_compile.compile_from_config(model, config.get("compile_config"), where)
        state = hdf5_arrays.get(h5, "optimizer/vars", where)
        if compiled and isinstance(state, h5py.Group) and len(state):
            # More arrays than this optimizer can have would not fit anyway: read none of them.
            count = len(state) if len(state) <= optimizer_state.state_size(model) else 0
            values = [reader.read(hdf5_arrays.get_dataset(state, str(i), where, "optimizer/vars"))
                      for i in range(count)]
            optimizer_state.restore_optimizer_state(model, values, where)
    if extra is not None:
        extras.apply(model, extra, where)
    return model


def _check_directory(archive, where, max_bytes):
    """{name: ZipInfo} of the archive's entries, after checking its directory - before anything is
    unpacked."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ModelFileError(f"{where}: the archive has {len(infos):,} entries; a .keras file has a "
                             f"handful (at most {MAX_ZIP_ENTRIES})")
    names = [info.filename for info in infos]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:                             # which copy would be read is up to the zip library
        raise ModelFileError(f"{where}: the archive holds {twice[0]} more than once")
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise ModelFileError(f"{where}: the archive unpacks to {total:,} bytes, more than the "
                             f"{max_bytes // 2**20} MB a model file may hold")
    if CONFIG not in names:
        raise ModelFileError(f"{where}: not a Keras model file: the archive has no {CONFIG}")
    if WEIGHTS not in names:
        if "model.weights.npz" in names:
            raise ModelFileError(f"{where}: the weights are in model.weights.npz, which "
                                 "digitlens does not read; save with Keras's default weights format")
        raise ModelFileError(f"{where}: the archive has no {WEIGHTS}")
    return {info.filename: info for info in infos}


def _entry(archive, info, where, limit, why=None):
    """The bytes of one entry, if it declares at most `limit` bytes unpacked (zipfile never unpacks
    more than an entry declares); `why` ends the refusal."""
    if info.file_size > limit:
        raise ModelFileError(f"{where}: {info.filename} unpacks to {info.file_size:,} bytes, "
                             + (why or f"more than the {max(limit // 2**20, 1)} MB digitlens reads for it"))
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError,
            zlib.error, lzma.LZMAError) as e:   # CRC errors, cut files, encrypted or odd compression
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelFileError(f"{where}: {info.filename} is damaged inside the archive ({reason})") from None


def _open_h5(raw, where):
    try:
        return h5py.File(io.BytesIO(raw), "r")
    except OSError:
        raise ModelFileError(f"{where}: {WEIGHTS} inside the archive is not an HDF5 file") from None


def _layer_datasets(h5, parsed, where):
    """The datasets [kernel, bias] of each Dense of `parsed.layers`, [] for the others; unread."""
    root = hdf5_arrays.get(h5, "layers", where)
    if root is None:                      # Keras 2.13's .keras files (Keras 3 reads them so too)
        root = hdf5_arrays.get(h5, "_layer_checkpoint_dependencies", where)
    if not isinstance(root, h5py.Group):
        raise ModelFileError(f"{where}: {WEIGHTS} has no 'layers' group")
    by_name = {}                          # Keras 3.6+: vars groups carry the layer's name
    for group_name in root:
        vars_group = hdf5_arrays.get(root, f"{group_name}/vars", where)
        if isinstance(vars_group, h5py.Group) and "name" in vars_group.attrs:
            by_name[_text(vars_group.attrs["name"])] = group_name
    datasets = []
    for layer, group_name in zip(parsed.layers, parsed.groups):
        count = keras_layers.weight_count(layer)
        if count == 0:
            datasets.append([])
            continue
        group_name = by_name.get(layer.name, group_name)
        path = f"layers/{group_name}/vars"
        vars_group = hdf5_arrays.get(root, f"{group_name}/vars", where)
        if not isinstance(vars_group, h5py.Group):
            raise ModelFileError(f"{where}: {WEIGHTS} has no weights for layer {layer.name!r} "
                                 f"(expected {path})")
        datasets.append([hdf5_arrays.get_dataset(vars_group, str(i), where, path) for i in range(count)])
        if len(vars_group) != count:      # more than kernel and bias: LoRA, quantization, ...
            raise ModelFileError(f"{where}: {WEIGHTS} holds {len(vars_group)} arrays for layer "
                                 f"{layer.name!r} at {path}, expected {count} ({', '.join(layer.weight_names())})")
    return datasets


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---- writing ----------------------------------------------------------------------------------

def write(model, path):
    """Save a built model as a .keras file that Keras 3 loads with keras.models.load_model."""
    config = keras_layers.model_config(model, os.fspath(path))
    compiled = model.optimizer is not None and model.loss is not None
    if compiled:
        config["compile_config"] = keras_compile.compile_config(model)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = _weights_h5(model, compiled)
    extra = extras.collect(model)
    extra = extras.encode(extra) if extra is not None else None
    with atomic_write(path, error=ModelFileError) as tmp:
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
            for i, key in enumerate(layer.weight_shapes()):
                vars_group.create_dataset(str(i), data=getattr(layer, key))
        h5.create_group("vars").attrs["name"] = model.name
        if compiled:
            variables = optimizer_state.optimizer_variables(model)
            state = h5.create_group("optimizer/vars")
            state.attrs["name"] = variables[0][0].split("/")[0]
            for i, (_, value) in enumerate(variables):
                state.create_dataset(str(i), data=value)
    return buffer.getvalue()
