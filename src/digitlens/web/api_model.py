"""The API for the model as a whole and the data it learned from.

    GET  /api/status       which model, which training job, whether the data is there, and what
                           the Compare tab compares it with
    GET  /api/model        the summary with the parameter arithmetic, and how it was trained
    GET  /api/weights      the first layer's weights, one 28x28 picture per neuron
    GET  /api/data         how many digits of each class, and a few samples of each
    GET  /api/evaluation   accuracy on the test set, the confusion matrix, the surest mistakes
    GET  /api/evaluation/cell?label=4&predicted=9   the test images behind one cell of the matrix
    GET  /api/colormap     the colours of weights and changes, as digitlens.viz paints them
"""

import numpy as np
from fastapi import APIRouter, Query, Request

from ..explain.evaluation import confusion_cell, evaluate
from ..explain.history import curves
from ..explain.neurons import weight_images
from ..explain.parameters import parameter_table
from ..nn.summary import summary_text
from ..viz.style import symmetric_limit
from .colors import LIMIT_PERCENTILE, diverging_table
from .api_timeline import timeline_info
from .common import need_pixel_weights, send, session_of
from .packing import pack
from .schemas import errors
from .session import NotFound

router = APIRouter(prefix="/api", tags=["model and data"])

SAMPLES_PER_CLASS = 12


def model_info(snapshot):
    """Who a model is, in a few fields every tab needs (None without a model): `snapshot` is the
    session's (session.py), taken once by the handler."""
    if snapshot is None:
        return None
    model = snapshot.model
    layers = [{**d.to_json(), "fully_connected": d.connectivity == "full"} for d in model.describe()]
    dense = [layer for layer in layers if layer["fully_connected"]]
    for k, layer in enumerate(dense):
        layer["index"] = k             # the number /api/neuron's "layer" takes (hidden layers only)
    return {"name": model.name, "origin": snapshot.origin, "version": snapshot.version,
            "input_shape": list(model.input_shape), "layers": layers, "hidden": dense[:-1],
            "outputs": model.output_shape[-1], "class_names": list(snapshot.class_names),
            "params": model.count_params(), "compiled": model.optimizer is not None,
            "optimizer": model.optimizer.name if model.optimizer is not None else None,
            "timeline": timeline_info(model)}


def compare_info(session):
    """What the Compare tab may compare the current model with: the second model chosen ({"origin",
    "version", "params", "layers" (its layers' labels, first to last)}, or None), and the origins
    of the models it could choose - the one the session's last change replaced ("previous") and
    the model the app started with ("start") - or None."""
    default, current, previous, second = (session.classroom.default, session.current, session.previous,
                                          session.second)
    start = default if default is not None and (current is None or current.model is not default.model) else None
    chosen = None
    if second is not None:
        chosen = {"origin": second.origin, "version": second.version, "params": second.model.count_params(),
                  "layers": [d.label for d in second.model.describe()]}
    return {"second": chosen, "previous": previous.origin if previous is not None else None,
            "start": start.origin if start is not None else None}


@router.get("/status", summary="The current model, training job and data")
def status(request: Request):
    session = session_of(request)
    snapshot = session.current
    version = snapshot.version if snapshot is not None else 0
    job = session.job
    training = None
    if job is not None:
        # "current": the job is queued or running, or its model is the one every tab uses now. A
        # finished job whose model was since replaced (a file loaded, an undo) is history: a page
        # need not replay it.
        training = {"state": job.state, "position": job.position, "events": len(job.events),
                    "current": job.active or job.model_version == version,
                    "undo": job.can_undo(version)}
    return send({"model": model_info(snapshot), "version": version, "training": training,
                 "compare": compare_info(session)})


@router.get("/model", summary="The model's summary and parameter arithmetic", responses=errors(409))
def model_summary(request: Request):
    """Keras's summary table as text, one row per layer with where its parameter count comes from,
    and the training curves if this model remembers how it was trained."""
    snapshot = session_of(request).snapshot()
    model = snapshot.model
    history = getattr(model, "history", None)
    result = {"info": model_info(snapshot), "summary": summary_text(model),
              "parameters": parameter_table(model),
              "history": curves(history) if history is not None and history.epoch else None}
    return send(result)


@router.get("/weights", summary="The first layer's weights as pictures", responses=errors(409, 422))
def weights(request: Request, first: int = Query(0, ge=0, le=2**31 - 1), count: int = Query(4096, ge=1, le=4096)):
    """Neurons first..first+count of the first Dense layer, each neuron's 784 incoming weights laid
    out as the 28x28 image they look at. Packed: {"shape", "dtype", "base64"} of float32 values,
    with "limit", the end of their colour scale (digitlens.viz's choice). A 409 says why for a model
    whose first Dense layer does not read the pixels (a convolutional network)."""
    snapshot = session_of(request).snapshot()
    need_pixel_weights(snapshot.model, "Drawing the first layer's weights as pictures")
    images = weight_images(snapshot.model)[first:first + count]
    version = snapshot.version
    return send({"version": version, "first": first,
                 "weights": {**pack(images), "limit": symmetric_limit(images, LIMIT_PERCENTILE)}})


@router.get("/data", summary="The dataset: counts per class and samples", responses=errors(409))
def data(request: Request):
    """{"description", "class_names", "train_counts", "test_counts", "samples": per class a list of
    {"index" (in the test set), "image" (28x28)}}."""
    session = session_of(request)
    ds = session.dataset()
    classes = len(ds.class_names)
    samples = []
    for k in range(classes):
        indices = np.flatnonzero(ds.y_test == k)[:SAMPLES_PER_CLASS]
        samples.append([{"index": int(i), "image": ds.x_test[i]} for i in indices])
    return send({"description": ds.describe(), "name": ds.info.name, "class_names": list(ds.class_names),
                 "image_shape": list(ds.x_train.shape[1:]),
                 "train_counts": np.bincount(ds.y_train, minlength=classes),
                 "test_counts": np.bincount(ds.y_test, minlength=classes), "samples": samples})


@router.get("/data/test/{index}", summary="One digit of the test set", responses=errors(404, 409, 422))
def test_digit(index: int, request: Request):
    ds = session_of(request).dataset()
    if not 0 <= index < len(ds.x_test):
        raise NotFound(f"index: expected a test image number from 0 to {len(ds.x_test) - 1}, received {index}")
    return send({"index": index, "label": int(ds.y_test[index]), "image": ds.x_test[index]})


@router.get("/evaluation", summary="How the model does on the test set", responses=errors(409))
def evaluation(request: Request):
    """Accuracy, loss, the confusion matrix (row = true digit, column = prediction), accuracy per
    class, and the mistakes the model was surest of, each with its 28x28 image."""
    session = session_of(request)
    ds = session.dataset()
    snapshot = session.snapshot()

    def compute():
        report = evaluate(snapshot.model, ds.x_test, ds.y_test, class_names=list(snapshot.class_names))
        for mistake in report["confident_mistakes"]:
            mistake["image"] = ds.x_test[mistake["index"]]
        return report

    report = snapshot.cached("evaluation", compute)
    return send({"version": snapshot.version, **report})


@router.get("/evaluation/cell", summary="The test images behind one cell of the confusion matrix",
            responses=errors(400, 409, 422))
def evaluation_cell(request: Request, label: int = Query(..., ge=0, le=1000), predicted: int = Query(..., ge=0, le=1000),
                    count: int = Query(48, ge=1, le=200)):
    """The test images of true class `label` that the model read as `predicted`: mistakes surest
    first, right answers (label = predicted) least sure first (explain.evaluation.confusion_cell).

    Returns {"version", "label", "predicted", "total", "shown": [{"index", "confidence",
    "probability_of_label", "image" (28x28)}]}.
    """
    session = session_of(request)
    ds = session.dataset()
    snapshot = session.snapshot()
    probs = snapshot.cached("test_probabilities", lambda: snapshot.model.predict(ds.x_test))
    version = snapshot.version
    cell = confusion_cell(probs, ds.y_test, label, predicted, count)
    for row in cell["shown"]:
        row["image"] = ds.x_test[row["index"]]
    return send({"version": version, **cell})


@router.get("/colormap", summary="The diverging colour scale of weights, as digitlens.viz paints it")
def colormap():
    """{"name": "RdBu", "colors": 256 [r, g, b] rows from -limit (row 0) through white to +limit}:
    the page paints value v with row floor((v / limit + 1) / 2 * 256), as matplotlib does."""
    return send(diverging_table())
