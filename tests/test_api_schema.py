"""schemathesis against the live server's own OpenAPI schema: no 5xx, and every answer as documented.

A real `uvicorn` serves the app on a free port of 127.0.0.1 in a thread - the lesson's network
(untrained: only the answers' form matters here) and a few hundred real MNIST images, so that the
training jobs schemathesis starts finish in seconds. schemathesis reads /api/openapi.json and sends
each operation valid and invalid requests (Hypothesis-generated, seeded), checking every answer:

    not_a_server_error            never a 5xx
    status_code_conformance       every status is one the schema documents for that operation
    content_type_conformance      and the content type it documents
    response_schema_conformance   errors are {"detail": "one line"} as the schema's Error says
    response_headers_conformance  documented headers are present
    negative_data_rejection       a request the schema forbids is refused with a 4xx

`positive_data_acceptance` (every schema-valid request is accepted) runs too, except for the
operations where what is valid depends on the state the schema cannot describe: the current
model's size (a neuron, an output, a label or a hidden layer past its end), the test set's
length, whether the model carries a training timeline and whether a second model was chosen to
compare with, and the contents of a picture or a model file (a schema can say "a string", not "a
PNG of a digit"). Those get a 400, 404, 409 or 422 with one line, which the other checks hold.

The number of cases is bounded (MAX_EXAMPLES per operation) so the file runs in about a minute;
fuzz/run.py --api runs the same checks for as long as asked.
"""

import threading
import time

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a test dependency: ./dev test installs it")
from schemathesis.checks import load_all_checks  # noqa: E402

MAX_EXAMPLES = 20
STATE_DEPENDENT = {"/api/predict", "/api/neuron", "/api/maps/detail", "/api/output", "/api/backprop", "/api/model/upload",
                   "/api/data/test/{index}", "/api/evaluation/cell"}


@pytest.fixture(scope="module")
def server(mnist_dir):
    """(base URL, app) of a live digitlens server, stopped (and its jobs too) after the module."""
    import uvicorn

    from digitlens import recipes
    from digitlens.datasets import mnist
    from digitlens.web.app import create_app

    full = mnist.load_dataset(mnist_dir)
    small = mnist.Dataset(full.x_train[:300], full.y_train[:300], full.x_test[:200], full.y_test[:200],
                          info=full.info, path=full.path, origin=full.origin, verified=False)
    model = recipes.build_model(seed=0).build()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    app = create_app(model, dataset=small, max_sessions=50)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", timeout_graceful_shutdown=1)
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not live.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    port = live.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", app
    for session in list(app.state.classroom.sessions.values()):
        if session.job is not None:
            session.job.stop()
    live.should_exit = True
    thread.join(30)


# Also state-dependent: the model's timeline (this one has none), a second model to compare
# with (none chosen; an uploaded file's contents), a hidden layer past the model's last
STATE_DEPENDENT |= {"/api/timeline", "/api/timeline/snapshot/{k}", "/api/timeline/neuron/{neuron}",
                    "/api/compare", "/api/compare/choose", "/api/compare/upload", "/api/compare/predict",
                    "/api/map", "/api/map/project"}


def app_schema():
    """The schema as the app writes it; test_the_live_server_serves_this_schema holds it equal to
    what the live server sends (schemathesis needs it when tests are collected, before the server
    starts)."""
    from digitlens.web.app import create_app

    return create_app(None).openapi()


schema = schemathesis.openapi.from_dict(app_schema())


def test_the_live_server_serves_this_schema(server):
    import httpx

    base, _ = server
    assert httpx.get(f"{base}/api/openapi.json").json() == app_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, server):
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    base, _ = server
    load_all_checks()
    excluded = [positive_data_acceptance] if case.operation.path in STATE_DEPENDENT else []
    case.call_and_validate(base_url=base, excluded_checks=excluded, timeout=60)


def test_the_schema_documents_one_line_errors(server):
    """The schema itself: every operation documents 403 and 413 (guard.py answers them first) and
    no operation keeps FastAPI's default 422, whose `detail` would be a list."""
    import httpx

    base, _ = server
    document = httpx.get(f"{base}/api/openapi.json").json()
    assert "HTTPValidationError" not in str(document)
    assert document["components"]["schemas"]["Error"]["properties"]["detail"]["type"] == "string"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"403", "413"} <= set(operation["responses"]), (method, path)
    assert {"409", "422", "429"} <= set(document["paths"]["/api/model/upload"]["post"]["responses"])
    assert "404" in document["paths"]["/api/data/test/{index}"]["get"]["responses"]
