"""Model files: Keras's .keras and legacy .h5 to read and write, and ONNX to export.

    from digitlens import io
    model = io.load_model("mnist.keras")        # a file Keras 3 (or digitlens) saved
    io.save_model(model, "mnist.keras")          # a file keras.models.load_model reads
    io.save_model(model, "mnist.h5")             # the legacy HDF5 format
    io.export_onnx(model, "mnist.onnx")          # for onnxruntime and other ONNX runtimes

The format follows the file's suffix: .keras (Keras 3's zip), .h5 or .hdf5 (legacy HDF5). A file
carries the network, its compile settings and optimizer state (so training can go on where it
stopped) and digitlens's extras: model.history, model.class_names, model.dataset, model.recipe.

Every problem - a missing or damaged file, a layer or activation digitlens does not have - is a
ModelFileError whose message is one line naming the file. Files are read with zipfile, json and
h5py only: nothing in a model file is ever unpickled, nothing outside it is read (hdf5_arrays.py),
and nothing larger than MAX_MODEL_BYTES is unpacked or allocated (limits.py). Saving writes a
temporary file beside the destination and renames it into place, so a failed save leaves any
earlier file untouched; the new file gets the permissions any newly created file would.

keras_layers.py and keras_compile.py translate between Keras configs and digitlens objects,
optimizer_state.py between Keras's optimizer variables and digitlens's; keras_file.py and
keras_h5.py handle the two containers, reading arrays through hdf5_arrays.py; extras.py holds
digitlens's own additions; onnx_export.py builds the ONNX graph; atomic.py writes all or nothing.
"""

import lzma
import os
import struct
import zipfile
import zlib

from ..errors import DigitlensError, ModelFileError, NotBuiltError
from .limits import MAX_MODEL_BYTES, MAX_ZIP_ENTRIES

SUFFIXES = {".keras": "keras", ".h5": "h5", ".hdf5": "h5"}   # the model files digitlens reads and writes
EXPORT_SUFFIXES = (".onnx", *SUFFIXES)                          # what `digitlens export` writes
# What a damaged file makes h5py, zipfile, zlib, json and NumPy raise (json's errors are
# ValueErrors; RuntimeError covers RecursionError and NotImplementedError).
DAMAGED = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, ArithmeticError,
           EOFError, struct.error, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
           lzma.LZMAError)


def load_model(path, *, model_class=None, max_bytes=MAX_MODEL_BYTES):
    """The model saved in `path` (.keras, .h5 or .hdf5), built and, if it was, compiled.

    model_class: the class to create, nn.Sequential or a subclass (the Keras facade passes its
    own, which can save()). max_bytes: the most the file, its unpacked entries and its arrays
    may hold (the web app passes a lower limit than MAX_MODEL_BYTES). Raises ModelFileError with
    one line naming the file on any problem.
    """
    from ..nn import Sequential
    from ..paths import reason, require_file

    where = os.fspath(path)
    kind = _kind(where)
    size = require_file(where, "a model file", ModelFileError)
    if size > max_bytes:
        raise ModelFileError(f"{where}: {size:,} bytes, more than the "
                             f"{max(max_bytes // 2**20, 1)} MB a model file may hold")
    try:
        if kind == "keras":
            from . import keras_file
            return keras_file.read(where, model_class or Sequential, max_bytes)
        from . import keras_h5
        return keras_h5.read(where, model_class or Sequential, max_bytes)
    except PermissionError as e:
        raise ModelFileError(f"{where}: cannot read: {reason(e)}") from None
    except DAMAGED as e:
        # The readers turn the problems they expect into clearer lines; this is the net under
        # them. Errors only a mistake in digitlens can cause (AttributeError, NameError, ...)
        # stay bugs, and the original error stays attached as the cause.
        reason = (str(e).strip().splitlines() or [""])[0] or type(e).__name__
        raise ModelFileError(f"{where}: the file is damaged ({reason})") from e


def save_model(model, path):
    """Save `model` to `path`; the suffix picks the format (.keras, .h5 or .hdf5).

    The model must be built (trained, loaded, or given an input shape). A compiled model's
    optimizer settings and state are saved with it.
    """
    where = os.fspath(path)
    kind = _kind(where)
    _require_built(model, where)
    if kind == "keras":
        from . import keras_file
        keras_file.write(model, where)
    else:
        from . import keras_h5
        keras_h5.write(model, where)


def export_onnx(model, path, opset=13):
    """Write `model` as an ONNX graph for inference (input float32 [N, 28, 28], output probs).

    See onnx_export.py for the graph. Raises ModelFileError if the file cannot be written.
    """
    from . import onnx_export

    where = os.fspath(path)
    _require_built(model, where)
    onnx_export.export(model, where, opset=opset)


def _kind(where):
    suffix = os.path.splitext(where)[1].lower()
    if suffix not in SUFFIXES:
        raise ModelFileError(f"{where}: unknown model file type {suffix or '(no suffix)'!r}: "
                             "expected .keras, .h5 or .hdf5")
    return SUFFIXES[suffix]


def _require_built(model, where):
    if not getattr(model, "built", False):
        try:
            model.build()
        except DigitlensError:
            raise NotBuiltError(f"cannot save {where}: this model has not been built: call fit() "
                                "or give the first layer an input_shape first") from None


__all__ = ["load_model", "save_model", "export_onnx", "ModelFileError", "MAX_MODEL_BYTES",
           "MAX_ZIP_ENTRIES", "SUFFIXES", "EXPORT_SUFFIXES"]
