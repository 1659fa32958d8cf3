"""The API for a convolutional network's maps: one feature map or pooled map, and its kernel.

    POST /api/maps/detail   {pixels, layer (its position in the model), channel} -> that map in
                            full (float32 values, its strongest response), and for a Conv2D the
                            filter's kernel and bias; for a pooling layer the map it pooled

The Draw tab already has every map as a small picture (/api/predict's "maps", one byte a value);
this is the click on one of them. The numbers come from explain/feature_maps.py, which runs the
model's own forward pass. A network of Dense layers has no maps: a 409 says so.
"""

import time

from fastapi import APIRouter, Request
from pydantic import Field

from ..explain.feature_maps import map_detail, map_layers
from . import digits
from .common import send, session_of
from .schemas import PreparedDigit, Whole, errors
from .session import Conflict

router = APIRouter(prefix="/api/maps", tags=["one digit"])


class MapQuestion(PreparedDigit):
    layer: Whole = Field(..., ge=0, le=256, description="the layer's position in the model (as /api/predict's maps say)")
    channel: Whole = Field(..., ge=0, le=4096, description="which of its maps (a filter, for a Conv2D), from 0")


@router.post("/detail", summary="One feature map or pooled map in full, with its filter's kernel",
             responses=errors(400, 409, 422))
def detail(body: MapQuestion, request: Request):
    """Map `channel` of the layer at position `layer` for the prepared digit `pixels`
    (explain.feature_maps.map_detail).

    Returns {"version", "position", "name", "type", "label", "what", "maps", "channel",
    "channels", "map" (H x W floats), "min", "max", "argmax" ([row, col] of the strongest
    response), "activation", "kernel" (kh x kw x channels-in floats) and "bias" (null without
    kernels), "stride", "window" (the input patch under the kernel at the strongest response) and
    "weighted_sum" (window . kernel + bias there; both null with "same" padding), "input_name",
    "input_map" (for a pooling layer: the map it pooled)}.
    """
    started = time.perf_counter()
    session = session_of(request)
    image = digits.from_pixels(body.pixels)
    snapshot = session.snapshot()
    if not map_layers(snapshot.model):
        raise Conflict(f"model {snapshot.model.name!r} has no layers that make maps (no Conv2D or pooling layer): "
                       "its Dense layers are shown as neurons instead")
    result = map_detail(snapshot.model, image, body.layer, body.channel)
    result["version"] = snapshot.version
    return send(result, started=started)
