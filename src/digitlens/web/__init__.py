"""The web app: draw a digit, watch the network think, train it live.

    digitlens serve [MODEL] [--host 127.0.0.1] [--port 8000] [--open]

    from digitlens.web import serve
    serve("digitlens-mnist.keras", port=8000)

app.py builds the FastAPI app (the page in static/ and the JSON API under /api), server.py runs
it on uvicorn. The API calls digitlens.explain, .io and .datasets for every number; the page only
draws what it gets. FastAPI and uvicorn are imported on first use.
"""


def serve(model_path=None, host="127.0.0.1", port=8000, open_browser=False, data_dir=None):
    """Start the web app at http://host:port/ (see server.serve)."""
    from .server import serve as run

    return run(model_path=model_path, host=host, port=port, open_browser=open_browser, data_dir=data_dir)


def create_app(model=None, data_dir=None, **options):
    """The ASGI app, for tests or another server (see app.create_app)."""
    from .app import create_app as build

    return build(model, data_dir, **options)


__all__ = ["serve", "create_app"]
