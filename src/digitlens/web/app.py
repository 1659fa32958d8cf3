"""The web app: one page (static/), a JSON API under /api, and the OpenAPI schema describing it.

    app = create_app(model, data_dir="~/mnist")      # for tests, or any ASGI server
    serve("digitlens-mnist.keras")                   # what `digitlens serve` runs (server.py)

Every number the page shows comes from an /api call into digitlens.explain, the same code the CLI
uses; the page itself only draws. Every error a learner can cause - a wrong shape, a file that is
not an image, no model yet, a number too large for a float - comes back as a 4xx with
{"detail": "one line"}, and the OpenAPI schema documents each one a route sends. A 500 is a bug.

Any model that reads 28x28 images and ends in Dense layers is served: the lesson's network, deeper
ones, a convolutional network (its Draw tab shows the feature maps, api_maps.py). A view drawn
from per-pixel first-layer weights answers a 409 with the reason for a model whose first Dense
layer reads something else, and the page shows that reason in the view's place.

Each browser has its own session (session.py): its model and its training job, starting from the
model the app was created with, which a teacher serving a class gives every student.
"""

import sys
import traceback
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import DataError, DigitlensError, ImageError, ModelFileError, NotBuiltError
from . import api_compare, api_digit, api_files, api_map, api_maps, api_model, api_timeline, api_train
from .guard import KB, MB, Guard, allowed_host_names
from .schemas import ERROR_MEANINGS, Error
from .session import Busy, Classroom, Conflict, NotFound, SessionCookies

STATIC = resources.files("digitlens.web") / "static"

# The largest body each path accepts; the first matching prefix wins.
BODY_LIMITS = [("/api/model/upload", 64 * MB), ("/api/compare/upload", 64 * MB), ("/api/predict", 12 * MB),
               ("/api/compare/predict", 12 * MB)]
DEFAULT_BODY_LIMIT = 256 * KB


def status_of(error):
    if isinstance(error, Busy):
        return 429          # try again in a moment
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, (Conflict, DataError, NotBuiltError)):
        return 409          # a fine request the app cannot answer in its current state
    if isinstance(error, (ImageError, ModelFileError)):
        return 422          # the content sent is not usable
    return 400


def one_line(text):
    """Any message as one line of valid UTF-8 (a damaged file's text may hold lone surrogates)."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return " ".join(text.split()) or "invalid request"


def create_app(model=None, data_dir=None, *, dataset=None, allowed_hosts=None, origin="given at start",
               after_training=None, max_sessions=None, training_slots=1):
    """The ASGI app.

    model: the Sequential every browser starts with (None: each learner trains or loads one).
    data_dir: where MNIST's files are (None: $DIGITLENS_DATA, then the cache; never downloads).
    dataset: an already loaded datasets.Dataset, instead of data_dir.
    allowed_hosts: the host names requests may be addressed to (default: this machine's loopback
        names); anything else is refused, which defeats DNS rebinding.
    after_training: called with each model a training job finishes (serve() saves it).
    max_sessions: how many browsers' sessions the app keeps (session.MAX_SESSIONS unless given).
    training_slots: how many training jobs run at once; the others wait in line (queue.py).
    """
    app = FastAPI(title="digitlens", version=__version__,
                  description="Draw a digit, watch the network think, train it live.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    extra = {"max_sessions": max_sessions} if max_sessions is not None else {}
    app.state.classroom = Classroom(model, data_dir=data_dir, dataset=dataset, origin=origin,
                                    after_training=after_training, training_slots=training_slots, **extra)

    @app.exception_handler(DigitlensError)
    async def digitlens_error(request: Request, error: DigitlensError):
        status = status_of(error)
        headers = {"Retry-After": "5"} if status == 429 else None
        return JSONResponse({"detail": one_line(error)}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        return JSONResponse({"detail": describe_validation(error)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        """FastAPI's and Starlette's own refusals, in the same shape as every other error."""
        status, headers = error.status_code, dict(error.headers or {})
        detail = one_line(error.detail)
        if status == 400:                 # FastAPI's: not JSON, not UTF-8, a broken multipart form
            status, detail = 422, (f"the request body cannot be read ({detail.rstrip('.')}): expected JSON, "
                                   "or a multipart form for uploads")
        if status == 405:                 # a path may have a route per method: name them all
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)

    @app.exception_handler(Exception)
    async def bug(request: Request, error: Exception):
        traceback.print_exception(error, file=sys.stderr)
        return JSONResponse({"detail": f"internal error ({type(error).__name__}): this is a bug in digitlens"},
                            status_code=500)

    for module in (api_digit, api_maps, api_model, api_files, api_train, api_timeline, api_compare, api_map):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.openapi = lambda: openapi_schema(app)
    app.add_middleware(SessionCookies)
    hosts = allowed_hosts if allowed_hosts is not None else allowed_host_names("127.0.0.1")
    app.add_middleware(Guard, allowed_hosts=hosts, limits=BODY_LIMITS, default_limit=DEFAULT_BODY_LIMIT)
    return app


def allowed_methods(app, path):
    """Every method some route of `path` answers, for a 405's Allow header."""
    from starlette.routing import Match

    scope = {"type": "http", "path": path, "method": "\0"}
    methods = set()
    for route in app.routes:
        match, _ = route.matches(scope)
        if match == Match.PARTIAL and getattr(route, "methods", None):
            methods |= route.methods
    return sorted(methods)


def openapi_schema(app):
    """FastAPI's schema, with the errors as this app really sends them: {"detail": "one line"} for
    every status (FastAPI's default says a 422's detail is a list of objects), and 403 and 413 on
    every operation, since guard.py may answer those before any route is reached."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["Error"] = Error.model_json_schema()
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in ("403", "413"):
                responses.setdefault(status, {"description": ERROR_MEANINGS[int(status)], **error})
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                responses["422"] = {"description": ERROR_MEANINGS[422], **error}
    app.openapi_schema = schema
    return schema


def describe_validation(error):
    """Pydantic's list of problems -> one line: "neuron: Input should be a valid integer; ..."."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path"))
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return one_line("; ".join(parts)[:2000])
