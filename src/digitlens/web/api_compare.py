"""The API for two models side by side: the browser's current model (A) and a second one (B).

    POST /api/compare/choose    B is the model the session's last change replaced ("previous": the
                                one before a training run or a loaded file), or the model the app
                                started with ("start")
    POST /api/compare/upload    B is a .keras or .h5 file (multipart, field "file"); A stays
    GET  /api/compare           both on the test set: parameters and the arithmetic of each,
                                accuracy overall and per class, the confusion matrices and their
                                difference, how often they agree, the images one reads right and
                                the other wrong, and their first-layer weight pictures
    POST /api/compare/predict   one digit - a drawing, a picture or prepared pixels - through both

Every figure is each model's own (explain/compare.py calls explain.evaluation.evaluate for each),
so the comparison agrees with what the Model & data tab says about either. The comparison of a
pair is computed once and kept on the session until A or B changes. B is this browser's alone, as
A is; /api/status's "compare" says which B is chosen and which could be.
"""

from typing import Literal

from fastapi import APIRouter, File, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ..datasets.images import doubt_of_prepared
from ..errors import DigitlensError, ModelFileError
from ..explain import words
from ..explain.compare import compare
from ..explain.feature_maps import first_kernels
from ..explain.neurons import weight_images
from ..explain.path import trace
from ..viz.style import symmetric_limit
from . import digits
from .api_files import receive
from .api_model import model_info
from .colors import LIMIT_PERCENTILE
from .common import pixel_weights_reason, send, session_of
from .packing import pack
from .schemas import Digit, errors
from .session import Conflict

router = APIRouter(prefix="/api/compare", tags=["two models"])

WEIGHT_PICTURES = 32        # first-layer neurons of each model shown side by side


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    which: Literal["previous", "start"] = Field(
        ..., description="previous: the model the session's last change replaced; start: the model the app started with")


def second_of(session):
    """The session's Snapshot of B, or a 409 saying how to choose one."""
    second = session.second
    if second is None:
        raise Conflict("there is no second model to compare with: choose one first (POST /api/compare/choose, "
                       "or upload a file to /api/compare/upload)")
    return second


def check_comparable(model, session, name):
    """B must answer the question A's test set asks: as many outputs as the data has classes."""
    classes = len(session.dataset().class_names)
    if model.output_shape[-1] != classes:
        raise ModelFileError(f"{name}: the model has {model.output_shape[-1]} outputs, but the test set has "
                             f"{classes} classes: the two cannot be compared on it")


@router.post("/choose", summary="Compare with the previous model, or with the one the app started with",
             responses=errors(409, 422, 429))        # 429: a new session, when every kept one is training
def choose(body: Choice, request: Request):
    session = session_of(request, create=True)
    snapshot = session.previous if body.which == "previous" else session.classroom.default
    if snapshot is None:
        raise Conflict("there is no previous model yet: train one or load a file, and the model it replaces can be "
                       "compared with it" if body.which == "previous" else
                       "the app started without a model: upload a file to compare with instead")
    check_comparable(snapshot.model, session, snapshot.origin)
    session.choose_second(snapshot)
    return send({"second": model_info(snapshot)})


@router.post("/upload", summary="Compare with a .keras or .h5 model file", responses=errors(409, 413, 422, 429))
def upload(request: Request, file: UploadFile = File(..., description="a .keras or .h5 model file")):
    session = session_of(request, create=True)

    def use(model, name):
        check_comparable(model, session, name)
        session.set_second(model, f"loaded from {name}")

    receive(file, session, use)
    return send({"second": model_info(session.second)})


@router.get("", summary="The current model and the second one side by side on the test set",
            responses=errors(409))
def comparison(request: Request):
    """Returns {"a", "b" (each model's info, as /api/status gives it), "count" (test images),
    "class_names", "parameters" ([A's, B's]: /api/model's parameter table, with each layer's
    arithmetic), "accuracy", "loss", "per_class_accuracy" ([A's, B's]), "confusion" ([A's, B's]),
    "confusion_difference" (A's minus B's), "agreement" (the share of test images both read as the
    same digit), "both_right", "both_wrong", "only_a_count", "only_b_count", "only_a" / "only_b"
    (images one reads right and the other wrong, the right one's surest first: [{"index", "label",
    "prediction_a", "prediction_b", "confidence_a", "confidence_b", "image"}]), "weights" ([A's,
    B's]: the first WEIGHT_PICTURES first-layer neurons' weight pictures, packed, with "limit" and
    "kind": "pixels"; for a CNN its first Conv2D's filters (kh x kw each), "kind": "kernels" and
    "layer"; or {"note"} saying why neither can be drawn)}."""
    session = session_of(request)
    ds = session.dataset()
    a, b = session.snapshot(), second_of(session)
    kept = session.comparison
    if kept is not None and kept[0] is a and kept[1] is b:
        return send(kept[2])
    try:
        result = compare(a.model, b.model, ds.x_test, ds.y_test, names=("A", "B"), class_names=list(ds.class_names))
    except DigitlensError as error:         # A changed since B was chosen: say so, as a state
        raise Conflict(f"the current model and the second one cannot be compared: {error}") from None
    for key in ("only_a", "only_b"):
        for item in result[key]:
            item["image"] = ds.x_test[item["index"]]
    result.update(a=model_info(a), b=model_info(b), weights=[_weights(a.model), _weights(b.model)])
    session.comparison = (a, b, result)
    return send(result)


def _weights(model):
    """What the model's first layer learnt: the first WEIGHT_PICTURES Dense neurons' weights as 28x28
    pictures, or - for a CNN - its first Conv2D's filters over the pixels ("layer", "kind":
    "kernels"); {"note"} says why when neither can be drawn."""
    reason = pixel_weights_reason(model, "Drawing the first layer's weights as pictures")
    if reason is None:
        images = weight_images(model)[:WEIGHT_PICTURES]
        return {**pack(images), "limit": symmetric_limit(images, LIMIT_PERCENTILE), "kind": "pixels"}
    found = first_kernels(model)
    if found is None or found[1].shape[1] != found[1].shape[2]:
        return {"note": reason}
    layer, kernels = found
    kernels = kernels[:WEIGHT_PICTURES]
    return {**pack(kernels), "limit": symmetric_limit(kernels), "kind": "kernels", "layer": layer.name}


@router.post("/predict", summary="One digit through both models at once", responses=errors(409, 422))
def predict_both(body: Digit, request: Request):
    """The digit is prepared once (a picture the MNIST way, as /api/predict does) and read by both.
    Returns {"image" (the prepared 28x28), "doubt", "class_names", "a", "b" (each {"version",
    "probabilities", "prediction", "confidence" (in words)})}."""
    session = session_of(request)
    if body.image is not None:
        image, found = digits.from_picture(body.image)
        doubt = found["doubt"]
    else:
        image = digits.from_pixels(body.pixels)
        doubt = doubt_of_prepared(image)
    a, b = session.snapshot(), second_of(session)
    if a.model.output_shape[-1] != b.model.output_shape[-1]:
        raise Conflict(f"the current model has {a.model.output_shape[-1]} outputs and the second one "
                       f"{b.model.output_shape[-1]}: they do not answer the same question")
    names = list(a.class_names)
    answers = {}
    for key, snapshot in (("a", a), ("b", b)):
        path = trace(snapshot.model, image, names)
        answers[key] = {"version": snapshot.version, "probabilities": path["probabilities"],
                        "prediction": path["prediction"],
                        "confidence": words.confidence(path["probabilities"], names)}
    return send({"image": image, "doubt": doubt, "class_names": names, **answers})
