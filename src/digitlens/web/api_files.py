"""The API for model files: load the learner's own .keras (or .h5) file, save the current model.

    POST /api/model/upload     a .keras or .h5 file (multipart, field "file") becomes the model
    GET  /api/model/download   the current model as a .keras file

No API takes a path: files travel as bytes. An upload is written to a temporary folder and checked
before digitlens.io reads it - at most 64 MB sent (guard.py), at most io.MAX_MODEL_BYTES once
unzipped and decompressed, at most io.MAX_ZIP_ENTRIES zip entries: io's own limits, so the app
and the loader agree - because a small zip or HDF5 file can claim gigabytes. The checks read only
sizes from the zip directory and the HDF5 headers, never the arrays. digitlens.io itself never
unpickles anything.
"""

import os
import shutil
import tempfile
import zipfile
import zlib

import numpy as np
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from ..errors import ModelFileError
from ..explain.common import dense_layers, first_dense_input, image_shape
from ..io import MAX_MODEL_BYTES, MAX_ZIP_ENTRIES, SUFFIXES as MODEL_SUFFIXES, load_model, save_model
from .api_model import model_info
from .common import send, session_of

router = APIRouter(prefix="/api/model", tags=["model files"])

SUFFIXES = tuple(MODEL_SUFFIXES)


def check_zip(path, name):
    """Refuse a .keras zip whose entries would unpack to too much (a zip bomb) or are too many; then
    check its weights file, copied out beside it (the zip's own sizes bound the copy)."""
    from ..io.keras_file import WEIGHTS     # "model.weights.h5", the one entry io reads weights from

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise ModelFileError(f"{name}: a .keras file has a handful of entries, this one has {len(infos):,}")
            total = sum(info.file_size for info in infos)
            if total > MAX_MODEL_BYTES:
                raise ModelFileError(f"{name}: unpacks to {total:,} bytes, more than the "
                                     f"{MAX_MODEL_BYTES // 2**20} MB a model for 28x28 digits can need")
            if WEIGHTS in archive.namelist():
                weights = os.path.join(os.path.dirname(path), WEIGHTS)
                with archive.open(WEIGHTS) as packed, open(weights, "wb") as out:
                    shutil.copyfileobj(packed, out)
                check_h5(weights, name)
    except zipfile.BadZipFile:
        raise ModelFileError(f"{name}: not a .keras file (a .keras file is a zip archive)") from None
    except (EOFError, zlib.error, NotImplementedError) as error:    # cut short, corrupt, odd compression
        raise ModelFileError(f"{name}: the zip archive is damaged ({error})") from None


def check_h5(path, name):
    """Refuse an HDF5 file whose arrays add up to too much once decompressed (sizes from headers)."""
    import h5py

    total = 0

    def count(_, item):
        nonlocal total
        if isinstance(item, h5py.Dataset):
            total += item.size * item.dtype.itemsize

    try:
        with h5py.File(path, "r") as h5:
            h5.visititems(count)
    except OSError:
        raise ModelFileError(f"{name}: not a readable HDF5 weights file") from None
    if total > MAX_MODEL_BYTES:
        raise ModelFileError(f"{name}: holds {total:,} bytes of arrays, more than the "
                             f"{MAX_MODEL_BYTES // 2**20} MB a model for 28x28 digits can need")


def check_fits_app(model, name):
    """The app draws 28x28 pictures of first-layer weights: the model must read such images."""
    try:
        height, width = image_shape(model)
        dense_layers(model)
        first_dense_input(model, model.prepare_inputs(np.zeros((1, height * width), np.float32)))
    except Exception as error:
        raise ModelFileError(f"{name}: this app shows networks of Flatten and Dense layers that read 28x28 images; "
                             f"this model does not fit ({error}); digitlens summary, evaluate, predict, export "
                             "and explain work with it") from None


@router.post("/upload", summary="Load a .keras or .h5 model file; every tab then uses it")
def upload(request: Request, file: UploadFile = File(..., description="a .keras or .h5 model file")):
    name = os.path.basename(file.filename or "model.keras")
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in SUFFIXES:
        raise ModelFileError(f"{name}: expected a .keras or .h5 model file")
    with tempfile.TemporaryDirectory(prefix="digitlens-upload-") as folder:
        path = os.path.join(folder, "model" + suffix)
        with open(path, "wb") as out:
            shutil.copyfileobj(file.file, out)
        if os.path.getsize(path) == 0:
            raise ModelFileError(f"{name}: the file is empty")
        if suffix == ".keras":
            check_zip(path, name)
        else:
            check_h5(path, name)
        try:
            model = load_model(path)
        except ModelFileError as error:
            raise ModelFileError(str(error).replace(path, name)) from None
    check_fits_app(model, name)
    session = session_of(request)
    session.set_model(model, f"loaded from {name}")
    with session.lock:
        return send({"info": model_info(session), "version": session.version})


@router.get("/download", summary="The current model as a .keras file", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(request: Request):
    session = session_of(request)
    with tempfile.TemporaryDirectory(prefix="digitlens-download-") as folder:
        path = os.path.join(folder, "model.keras")
        with session.lock:
            save_model(session.require_model(), path)
        with open(path, "rb") as saved:
            data = saved.read()
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="digitlens-model.keras"'})
