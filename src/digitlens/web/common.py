"""What every route shares: the browser's session, and answering with JSON quickly.

FastAPI would walk a big nested result (28x28 weight pictures, 784-value strips) through its
generic encoder; these results are already plain lists and numbers once `explain.common.to_json`
has converted the arrays, so they are written with json.dumps directly.

JSON has no NaN or infinity, and the browser's JSON.parse refuses Python's `NaN`: to_json turns
them into null (a training run that diverges reports a loss of NaN), and allow_nan=False makes sure
nothing slips past it. Every JSON the app sends - answers and the training stream - goes through
`json_text`.
"""

import json
import time

from fastapi import Request, Response

from ..errors import DigitlensError
from ..explain.common import require_pixels_into_first_dense, to_json
from .session import Conflict


def session_of(request: Request, create=False):
    """The browser's Session (session.py), found by its cookie. A request that only reads gets a
    passing session showing the teacher's model if the browser has none yet; `create` keeps one,
    for a request that changes something (a file, a training job)."""
    return request.app.state.classroom.session(request.scope.get("digitlens.session", ""), create=create)


def json_text(obj):
    """obj (dicts, lists, NumPy arrays, numbers) as compact JSON text; NaN and infinity become null."""
    return json.dumps(to_json(obj), separators=(",", ":"), allow_nan=False)


def send(obj, status=200, started=None):
    """obj as a JSON response (see json_text); `started` adds Server-Timing."""
    body = json_text(obj)
    headers = None
    if started is not None:
        headers = {"Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.2f}"}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def pixel_weights_reason(model, view):
    """None if the model's first Dense layer reads the image's pixels (so its weights can be drawn
    as 28x28 pictures), else the one line that says what it reads instead."""
    try:
        require_pixels_into_first_dense(model, view)
    except DigitlensError as error:
        return " ".join(str(error).split())
    return None


def need_pixel_weights(model, view):
    """Raise a Conflict (a 409: a fine request this model cannot answer) unless the first Dense
    layer reads the pixels: the views drawn from per-pixel weights need that."""
    reason = pixel_weights_reason(model, view)
    if reason is not None:
        raise Conflict(reason)
