"""The API for the hidden space: where the network puts each test image, on a map of two numbers.

    GET  /api/map?layer=-1     2,000 test images as points: by their raw pixels, and by the
                               activations of a hidden layer (the last one unless told), each
                               projected onto its two principal directions (explain/hidden_space.py)
    POST /api/map/project      where one digit lands on both maps: the Draw tab's digit, as it is
                               drawn

The maps are PCA through NumPy's SVD, exact and the same every time. The pixel map does not depend
on the model, so the class shares it; the hidden map is made once per model (a second or two) and
kept with it. Left out: UMAP and t-SNE (explain/hidden_space.py says why).
"""

from fastapi import APIRouter, Query, Request
from pydantic import Field

from ..explain.common import hidden_index
from ..explain.hidden_space import centres, hidden_map, pixel_map, place, separation
from ..viz.hidden_space import digit_colours
from . import digits
from .common import send, session_of
from .schemas import PreparedDigit, Whole, errors

router = APIRouter(prefix="/api/map", tags=["hidden space"])

MAP_IMAGES = 2000


class Placing(PreparedDigit):
    layer: Whole = Field(-1, ge=-64, le=64, description="which hidden layer's map: 0 is the first, -1 the last")


def maps_of(session, snapshot, layer):
    """The maps of the first MAP_IMAGES test images for hidden layer `layer` (checked), made once."""
    ds = session.dataset()
    k = hidden_index(snapshot.model, layer)
    x, y = ds.x_test[:MAP_IMAGES], ds.y_test[:MAP_IMAGES]
    pixels = session.classroom.cached(("pixel map", MAP_IMAGES), lambda: pixel_map(x))
    return snapshot.cached(("map", k), lambda: hidden_map(snapshot.model, x, y, layer=k, pixels=pixels))


@router.get("", summary="The test images on a map of their pixels and of a hidden layer",
            responses=errors(400, 409, 422))
def hidden_space(request: Request, layer: int = Query(-1, ge=-64, le=64,
                                                       description="hidden layer: 0 is the first, -1 the last")):
    """Returns {"version", "count", "labels" (test images 0..count-1's digits), "class_names",
    "colors" (each digit's [r, g, b], as the report's maps paint it), "layer" (the hidden layer's
    name), "layer_index" (0 = the first hidden layer), "pixels" and "hidden": {"points" (count x 2),
    "explained" (the share of the variation along each direction), "separation" (the distance
    between digits' centres over the spread within a digit), "centres" (each digit's median point,
    where its name goes; null for a digit with no images)}}."""
    session = session_of(request)
    snapshot = session.snapshot()
    maps = maps_of(session, snapshot, layer)
    labels = maps["labels"]
    classes = len(snapshot.class_names)
    spaces = {key: {"points": maps[key]["points"].astype("float32"), "explained": maps[key]["explained"],
                    "separation": separation(maps[key]["points"], labels),
                    "centres": centres(maps[key]["points"], labels, classes)} for key in ("pixels", "hidden")}
    return send({"version": snapshot.version, "count": int(len(labels)), "labels": labels,
                 "class_names": list(snapshot.class_names), "colors": digit_colours(len(snapshot.class_names)),
                 "layer": maps["hidden"]["layer"], "layer_index": maps["hidden"]["index"], **spaces})


@router.post("/project", summary="Where one digit lands on both maps", responses=errors(400, 409, 422))
def project_digit(body: Placing, request: Request):
    """The prepared digit `pixels` placed on the pixel map and on hidden layer `layer`'s map, by
    the same centring and directions as the test images. Returns {"version", "layer_index",
    "pixels": [x, y], "hidden": [x, y]}."""
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    snapshot = session.snapshot()
    maps = maps_of(session, snapshot, body.layer)
    return send({"version": snapshot.version, "layer_index": maps["hidden"]["index"],
                 **place(maps, snapshot.model, image)})
