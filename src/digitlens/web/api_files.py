"""The API for model files: load the learner's own .keras (or .h5) file, save the current model.

    POST /api/model/upload     a .keras or .h5 file (multipart, field "file") becomes this
                               browser's model
    GET  /api/model/download   the browser's current model as a .keras file

No API takes a path: files travel as bytes. An upload is written to a temporary folder and read
by digitlens.io with the web's own limit, io.WEB_MODEL_BYTES (a file, its zip entries unpacked and
all its arrays, each checked from sizes the file declares before anything is allocated): a small
zip or HDF5 file can claim gigabytes, and anyone's browser can send one. It is read in a child
process with a deadline (io/isolated.py): a damaged HDF5 file can loop for ever inside the HDF5
library, and must not take an upload slot with it. At most UPLOAD_SLOTS
files are loaded at once (others wait up to UPLOAD_WAIT seconds, then get a 429), so a class
uploading together cannot fill the server's memory. digitlens.io itself never unpickles anything.
"""

import math
import os
import shutil
import tempfile
import threading

import numpy as np
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from ..errors import DigitlensError, ModelFileError
from ..explain.common import image_shape
from ..explain.path import trace
from ..io import SUFFIXES as MODEL_SUFFIXES, save_model
from ..io.isolated import load_isolated
from ..io.limits import WEB_MODEL_BYTES
from .api_model import model_info
from .common import send, session_of
from .schemas import errors
from .session import Busy

router = APIRouter(prefix="/api/model", tags=["model files"])

SUFFIXES = tuple(MODEL_SUFFIXES)
UPLOAD_SLOTS = threading.BoundedSemaphore(2)   # files being read at once, for every session together
UPLOAD_WAIT = 30                               # seconds an upload waits for a slot
READ_DEADLINE = 30                             # seconds a file may take to read (io/isolated.py)


def check_fits_app(model, name):
    """The app shows models that read one 28x28 image and give one score per class: the Draw tab's
    path through the model (explain.path.trace) must work for such an image. Views that need more (first-layer weights
    one per pixel) say so themselves, with a 409, when asked."""
    try:
        height, width = image_shape(model)
        if (height, width) != (28, 28):
            raise DigitlensError(f"it reads {height}x{width} images")
        out = trace(model, np.zeros((height, width), np.uint8))        # what the Draw tab asks, ten times a second
        if len(out["probabilities"]) < 2 or math.prod(model.output_shape) != len(out["probabilities"]):
            raise DigitlensError(f"its output is {tuple(model.output_shape)} per image, not one score per class")
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelFileError(f"{name}: this app shows networks that read 28x28 images and give one score per "
                             f"class; this model does not fit ({reason}); digitlens summary, evaluate, predict, "
                             "export and explain work with it") from None


def read_upload(file, name, suffix):
    """The model in an uploaded file, read from a temporary copy with the web's limits."""
    with tempfile.TemporaryDirectory(prefix="digitlens-upload-") as folder:
        path = os.path.join(folder, "model" + suffix)
        with open(path, "wb") as out:
            shutil.copyfileobj(file.file, out)
        if os.path.getsize(path) == 0:
            raise ModelFileError(f"{name}: the file is empty")
        try:
            model = load_isolated(path, max_bytes=WEB_MODEL_BYTES, timeout=READ_DEADLINE)
        except ModelFileError as error:
            raise ModelFileError(str(error).replace(path, name)) from None
    check_fits_app(model, name)
    return model


@router.post("/upload", summary="Load a .keras or .h5 model file; this browser's tabs then use it",
             responses=errors(409, 413, 422, 429))
def upload(request: Request, file: UploadFile = File(..., description="a .keras or .h5 model file")):
    session = session_of(request, create=True)
    receive(file, session, lambda model, name: session.set_model(model, f"loaded from {name}"))
    return send({"info": model_info(session.current), "version": session.current.version})


def receive(file, session, use):
    """Read an uploaded model file for `session` - one change at a time per browser, UPLOAD_SLOTS
    files at a time for everyone - and hand it to use(model, file name)."""
    name = os.path.basename(file.filename or "model.keras").replace("\n", " ")[:200] or "model.keras"
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in SUFFIXES:
        raise ModelFileError(f"{name}: expected a .keras or .h5 model file")
    if not session.changes.acquire(timeout=UPLOAD_WAIT):
        raise Busy("this browser is already loading a model or starting training: try again in a moment")
    try:
        if not UPLOAD_SLOTS.acquire(timeout=UPLOAD_WAIT):
            raise Busy("the server is loading as many model files as it takes at once: try again in a moment")
        try:
            model = read_upload(file, name, suffix)
        finally:
            UPLOAD_SLOTS.release()
        use(model, name)
    finally:
        session.changes.release()


@router.get("/download", summary="The current model as a .keras file", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                               "format": "binary"}}}},
                       **errors(409)})
def download(request: Request):
    snapshot = session_of(request).snapshot()
    with tempfile.TemporaryDirectory(prefix="digitlens-download-") as folder:
        path = os.path.join(folder, "model.keras")
        save_model(snapshot.model, path)
        with open(path, "rb") as saved:
            data = saved.read()
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="digitlens-model.keras"'})
