"""The web app's JSON API, in process: every endpoint, and every kind of bad request.

The app is created with a model trained briefly on real MNIST (conftest's small_trained_model) and
the real MNIST files; each answer is checked against the same digitlens code the CLI uses.

No test judges how fast anything is (these machines are shared and noisy): the times measured on
the way are written to artifacts/web-timings.json for the notes. Tests that wait for the training
thread wait for its events, with generous timeouts and a message that says what never came.
"""

import base64
import datetime
import io
import json
import re
import socket
import statistics
import threading
import time
import zipfile

import numpy as np
import pytest
from conftest import FIXTURES, REPO
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from digitlens.datasets.images import prepare_image
from digitlens.errors import DigitlensError
from digitlens.nn.summary import summary_text
from digitlens.viz.style import colorize, symmetric_limit
from digitlens.web import api_files
from digitlens.web.app import create_app
from digitlens.web.colors import LIMIT_PERCENTILE
from digitlens.web.guard import allowed_host_names, host_name

from web_helpers import unpack

STATIC = REPO / "src" / "digitlens" / "web" / "static"
TIMINGS = REPO / "artifacts" / "web-timings.json"
BASE = "http://127.0.0.1:8000"
TRAINING_TIMEOUT = 300      # seconds: a short job takes a few; a busy shared machine may take many more


def png_data_url(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def drawn_seven():
    """A "7" as the page's canvas sends it: white strokes on black, 336x336."""
    image = Image.new("L", (336, 336), 0)
    ImageDraw.Draw(image).line([(80, 70), (250, 70), (180, 180), (150, 280)], fill=255, width=24, joint="curve")
    return image


@pytest.fixture(scope="module")
def data(mnist_dir):
    from digitlens.datasets import mnist

    return mnist.load_dataset(mnist_dir)


@pytest.fixture(scope="module")
def model(small_trained_model):
    return small_trained_model


@pytest.fixture
def client(model, data):
    return TestClient(create_app(model, dataset=data), base_url=BASE)


@pytest.fixture
def digit(data):
    return data.x_test[0]          # a 7


def session_of(client):
    """The server's Session for this test client's browser (its cookie)."""
    return client.app.state.classroom.session(client.cookies.get("digitlens_session", ""), create=True)


def upload(client, name, fixture=None, data=None):
    """POST a model file, the fixture's bytes unless `data` is given."""
    content = data if data is not None else (FIXTURES / fixture).read_bytes()
    return client.post("/api/model/upload", files={"file": (name, content)})


def record_timings(name, what, milliseconds):
    """Keep measured times in artifacts/web-timings.json, for people to report; never judged."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    try:
        record = json.loads(TIMINGS.read_text())
    except (OSError, ValueError):
        record = {}
    record[name] = {"what": what, "median_ms": round(statistics.median(milliseconds), 2),
                    "max_ms": round(max(milliseconds), 2), "count": len(milliseconds),
                    "measured": datetime.datetime.now().isoformat(timespec="seconds")}
    TIMINGS.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def server_ms(response):
    """The server's own time for a request, from its Server-Timing header."""
    return float(response.headers["server-timing"].split("dur=")[1])


def assert_error(response, status, *words):
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    for word in words:
        assert word in detail, detail
    return detail


# ---- the page ------------------------------------------------------------------------------

def test_the_page_and_its_assets_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for test_id in ("draw-canvas", "clear", "prediction", "train-start", "train-curve"):
        assert f'data-testid="{test_id}"' in page.text
    for asset in ("/static/js/main.js", "/static/css/app.css"):
        response = client.get(asset)
        assert response.status_code == 200 and response.content
    assert "javascript" in client.get("/static/js/main.js").headers["content-type"]


def test_no_asset_comes_from_the_network():
    """No src=, href=, import, url() or fetch() points off the server (works with no network)."""
    remote = re.compile(r"""(?:src|href|from|import|url\(|fetch\(|EventSource\()"""
                        r"""[ \t]*=?[ \t]*["'`]?[ \t]*(?:https?:)?//""")
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            assert not remote.search(path.read_text()), path


def test_the_page_cannot_be_framed_or_injected(client):
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]        # default-src 'self' covers scripts
    assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/status").headers["cache-control"] == "no-cache"


def test_openapi_schema_lists_every_endpoint(client):
    schema = client.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    for path in ("/api/predict", "/api/neuron", "/api/output", "/api/backprop", "/api/status", "/api/model",
                 "/api/weights", "/api/data", "/api/evaluation", "/api/train", "/api/train/events",
                 "/api/train/pause", "/api/train/resume", "/api/train/stop", "/api/model/upload",
                 "/api/model/download"):
        assert path in paths, path
    assert client.get("/docs").status_code == 404     # Swagger UI would load from a CDN


# ---- one digit -----------------------------------------------------------------------------

def test_predict_a_drawing_the_way_the_cli_does(client, model):
    image = drawn_seven()
    r = client.post("/api/predict", json={"image": png_data_url(image)})
    assert r.status_code == 200, r.text
    p = r.json()
    prepared = prepare_image(np.asarray(image))
    assert np.array_equal(np.array(p["image"], dtype=np.uint8), prepared)
    expected = model.predict(prepared[None])[0]
    np.testing.assert_allclose(p["probabilities"], expected, rtol=1e-5, atol=1e-7)
    assert p["prediction"] == 7 == int(expected.argmax())
    assert p["flatten"]["strip"] == prepared.reshape(-1).tolist() and p["flatten"]["starts"][:2] == [0, 28]
    hidden, output = p["layers"]
    assert len(hidden["z"]) == len(hidden["activation"]) == 256 and hidden["activation_name"] == "relu"
    assert min(hidden["activation"]) >= 0 and len(output["activation"]) == 10
    assert p["steps"]["cropped"].startswith("data:image/png;base64,") and len(p["steps"]["box"]) == 4
    assert p["steps"]["size"] == [336, 336] and p["steps"]["inverted"] is False
    assert abs(sum(p["softmax"]["probs"]) - 1) < 1e-5


def test_predict_says_when_a_picture_does_not_look_like_one_digit(client, data):
    # The "doubt" field: null for a digit, one sentence for a dot, a line, ink at every edge...
    assert client.post("/api/predict", json={"image": png_data_url(drawn_seven())}).json()["doubt"] is None
    line = Image.new("L", (336, 336), 0)
    ImageDraw.Draw(line).line([(60, 170), (280, 170)], fill=255, width=24)
    p = client.post("/api/predict", json={"image": png_data_url(line)}).json()
    assert p["doubt"].startswith("this does not look like one digit: ") and "straight line" in p["doubt"]
    assert p["prediction"] in range(10)                       # the answer is still given, beside it
    photo = Image.new("L", (600, 450), 210)
    ImageDraw.Draw(photo).line([(240, 140), (360, 140), (290, 320)], fill=40, width=14)
    steps = client.post("/api/predict", json={"image": png_data_url(photo)}).json()["steps"]
    assert steps["inverted"] is True and steps["paper"].startswith("data:image/png;base64,")
    assert steps["ink"].startswith("data:image/png;base64,") and steps["ruled_lines"] == 0
    assert 0 < steps["stroke_width"] < 1 and isinstance(steps["redrawn"], bool)
    # An already prepared digit is judged too.
    assert client.post("/api/predict", json={"pixels": data.x_test[0].tolist()}).json()["doubt"] is None
    bar = np.zeros((28, 28), int)
    bar[13:16, 4:24] = 255
    assert "straight line" in client.post("/api/predict", json={"pixels": bar.tolist()}).json()["doubt"]


def test_predict_prepared_pixels(client, model, data):
    for index in range(3):
        r = client.post("/api/predict", json={"pixels": data.x_test[index].tolist()})
        expected = model.predict(data.x_test[index:index + 1])[0]
        np.testing.assert_allclose(r.json()["probabilities"], expected, rtol=1e-5, atol=1e-7)
        assert r.json()["steps"] is None
    flat = client.post("/api/predict", json={"pixels": data.x_test[0].reshape(-1).tolist()})
    assert flat.json()["prediction"] == int(data.y_test[0])


def test_predict_answers_the_same_every_time_and_reports_its_time(client, digit):
    """Asked again and again (the page asks ~10 times a second while drawing), predict gives the
    same answer each time; its server time goes to artifacts/web-timings.json."""
    bodies = {"drawing": {"image": png_data_url(drawn_seven())}, "pixels": {"pixels": digit.tolist()}}
    for kind, body in bodies.items():
        first = client.post("/api/predict", json=body).json()
        times = []
        for _ in range(15):
            r = client.post("/api/predict", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["probabilities"] == first["probabilities"]
            times.append(server_ms(r))
        assert all(t > 0 for t in times)
        record_timings(f"predict_{kind}", f"POST /api/predict of {kind}, with every activation: server time", times)


def test_neuron_detail(client, model, digit):
    r = client.post("/api/neuron", json={"pixels": digit.tolist(), "neuron": 17})
    assert r.status_code == 200
    d = r.json()
    kernel = model.layers[1].kernel
    np.testing.assert_array_equal(np.array(d["weights"], np.float32), kernel[:, 17].reshape(28, 28))
    contributions = np.array(d["pixel_contributions"])
    assert contributions.shape == (28, 28)
    assert d["z"] == pytest.approx(contributions.sum() + d["bias"], abs=1e-4)
    assert d["activation"] == pytest.approx(max(d["z"], 0.0), abs=1e-6)
    assert len(d["outgoing"]) == 10


def test_output_contributions(client, digit):
    r = client.post("/api/output", json={"pixels": digit.tolist(), "output": 7, "top": 5})
    d = r.json()
    assert sum(d["contributions"]) + d["bias"] == pytest.approx(d["z"], abs=1e-4)
    assert len(d["top_up"]) <= 5 and all(row["contribution"] > 0 for row in d["top_up"])
    assert all(row["contribution"] < 0 for row in d["top_down"])


def test_backprop_step_learns_without_touching_the_apps_model(client, model, digit):
    before = client.post("/api/predict", json={"pixels": digit.tolist()}).json()
    r = client.post("/api/backprop", json={"pixels": digit.tolist(), "label": 3, "optimizer": "sgd",
                                           "learning_rate": 0.05})
    assert r.status_code == 200, r.text
    step = r.json()
    assert step["loss_after"] < step["loss_before"]
    assert step["probs_after"][3] > step["probs_before"][3]
    maps = np.frombuffer(base64.b64decode(step["change_maps"]["base64"]), dtype="<f4")
    assert step["change_maps"]["shape"] == [256, 28, 28] and maps.size == 256 * 784
    # one image through ReLU: each neuron's change is the image scaled - zero where the image is blank
    assert np.all(maps.reshape(256, 784)[:, digit.reshape(-1) == 0] == 0)
    assert step["top_strengthened"][0]["delta"] > 0 and step["top_weakened"][0]["delta"] < 0
    first = [c for c in step["top_strengthened"] + step["top_weakened"] if c["pixel"] is not None]
    for c in first:
        assert c["from"] == 28 * c["pixel"][0] + c["pixel"][1]
    after = client.post("/api/predict", json={"pixels": digit.tolist()}).json()
    assert after["probabilities"] == before["probabilities"] and after["version"] == before["version"]


def test_a_model_with_two_hidden_layers_through_every_panel(client, data):
    """Keras's Dense(16, tanh) -> Dense(8, sigmoid) -> Dense(10): every hidden layer is listed and
    inspectable, and every answer refers to the right layer."""
    from digitlens.io import load_model

    keras_model = load_model(FIXTURES / "keras_small_tanh.keras")
    dense = [layer for layer in keras_model.layers if layer.connectivity == "full"]
    assert upload(client, "deep.keras", "keras_small_tanh.keras").status_code == 200
    info = client.get("/api/status").json()["model"]
    assert [(h["index"], h["units"], h["activation"]) for h in info["hidden"]] == [(0, 16, "tanh"), (1, 8, "sigmoid")]
    pixels = data.x_test[1].tolist()
    p = client.post("/api/predict", json={"pixels": pixels}).json()
    assert [(layer["index"], layer["units"]) for layer in p["layers"]] == [(0, 16), (1, 8), (2, 10)]
    # an output lists neurons of the LAST hidden layer, and says which layer that is
    out = client.post("/api/output", json={"pixels": pixels, "output": 3}).json()
    assert out["from_layer"] == 1 and out["from_layer_name"] == dense[1].name and len(out["contributions"]) == 8
    np.testing.assert_allclose(out["activations"], p["layers"][1]["activation"], atol=1e-6)
    for row in out["top_up"] + out["top_down"]:
        assert row["weight"] == pytest.approx(float(dense[2].kernel[row["neuron"], 3]))
    # a neuron of the second hidden layer: driven by the 16 below, pushing into the 10 outputs
    n = client.post("/api/neuron", json={"pixels": pixels, "neuron": 5, "layer": 1}).json()
    assert n["layer"] == dense[1].name and n["layer_index"] == 1 and n["activation_name"] == "sigmoid"
    assert n["z"] == pytest.approx(p["layers"][1]["z"][5], abs=1e-6)
    assert n["incoming"]["from_layer"] == 0 and len(n["incoming"]["contributions"]) == 16
    np.testing.assert_allclose(n["incoming"]["activations"], p["layers"][0]["activation"], atol=1e-6)
    np.testing.assert_array_equal(np.float32(n["incoming"]["weights"]), dense[1].kernel[:, 5])
    np.testing.assert_array_equal(np.float32(n["outgoing"]), dense[2].kernel[5])    # its weights to the outputs
    assert n["next_is_output"] and len(n["pushes"]) == 10
    blank = client.post("/api/neuron", json={"pixels": [0] * 784, "neuron": 2, "layer": 0}).json()
    assert blank["state"].startswith("The image is blank") and blank["z"] == pytest.approx(blank["bias"], abs=1e-6)
    assert client.post("/api/predict", json={"pixels": pixels}).json()["confidence"] in (
        p["confidence"],) and ("sure" in p["confidence"])
    assert np.array(n["weights"]).shape == (28, 28) and not n["weights_exact"]      # d z / d pixels via tanh
    assert set(n["limits"]) == {"weights", "pixel_contributions", "incoming", "outgoing"}
    # a first-layer neuron pushes into the 8 sigmoid neurons, not into the outputs
    first = client.post("/api/neuron", json={"pixels": pixels, "neuron": 3}).json()
    np.testing.assert_array_equal(np.float32(first["outgoing"]), dense[1].kernel[3])
    assert not first["next_is_output"] and first["next_layer"] == dense[1].name
    assert "weights" not in first["incoming"] and first["incoming"]["from_layer"] is None
    assert_error(client.post("/api/neuron", json={"pixels": pixels, "neuron": 0, "layer": 2}), 400,
                 "hidden layer number from 0 to 1")
    assert_error(client.post("/api/neuron", json={"pixels": pixels, "neuron": 8, "layer": 1}), 400, "0 to 7")
    # backprop: every layer's changes, the hidden ones too, and several steps in a row
    step = client.post("/api/backprop", json={"pixels": pixels, "label": 4, "optimizer": "sgd", "steps": 3}).json()
    assert [(row["index"], row["kernel_shape"]) for row in step["layers"]] == [(0, [784, 16]), (1, [16, 8]), (2, [8, 10])]
    assert step["layers"][0]["delta"] is None and unpack(step["layers"][1]["delta"]).shape == (16, 8)
    assert step["output_delta"]["shape"] == [8, 10] and step["change_maps"]["shape"] == [16, 28, 28]
    assert len(step["losses"]) == 4 and step["losses"] == sorted(step["losses"], reverse=True)
    for c in step["top_strengthened"] + step["top_weakened"]:
        assert (c["pixel"] is not None) == (c["layer_index"] == 0)
    one = client.post("/api/backprop", json={"pixels": pixels, "label": 4, "optimizer": "sgd"}).json()
    assert one["losses"] == step["losses"][:2]              # step 1 of the run is the single step


def test_train_a_deeper_network(client, digit):
    r = client.post("/api/train", json={"hidden": [{"units": 24, "activation": "tanh"}, {"units": 12, "activation": "relu"}],
                                        "samples": 500, "batch_size": 50, "seed": 3})
    assert r.status_code == 202, r.text
    events = read_events(client)
    assert events[-1]["state"] == "finished", events[-1]
    info = client.get("/api/status").json()["model"]
    assert [(h["units"], h["activation"]) for h in info["hidden"]] == [(24, "tanh"), (12, "relu")]
    assert "24 tanh \u2192 12 relu" in info["origin"]
    n = client.post("/api/neuron", json={"pixels": digit.tolist(), "neuron": 11, "layer": 1}).json()
    assert n["weights_exact"] is False and len(n["incoming"]["contributions"]) == 24
    assert_error(client.post("/api/train", json={"hidden": []}), 422, "hidden")


def test_a_confusion_matrix_cell_lists_its_images(client, model, data):
    e = client.get("/api/evaluation").json()
    probs = model.predict(data.x_test)
    predicted = probs.argmax(axis=1)
    confusion = np.array(e["confusion"])
    label, read_as = np.unravel_index(np.argmax(confusion * (1 - np.eye(10, dtype=int))), confusion.shape)
    cell = client.get("/api/evaluation/cell", params={"label": int(label), "predicted": int(read_as)}).json()
    assert cell["total"] == confusion[label, read_as] and 0 < len(cell["shown"]) <= 48
    for row in cell["shown"]:
        assert data.y_test[row["index"]] == label and predicted[row["index"]] == read_as
        np.testing.assert_array_equal(row["image"], data.x_test[row["index"]])
    surest = [row["confidence"] for row in cell["shown"]]
    assert surest == sorted(surest, reverse=True)                 # mistakes: surest first
    right = client.get("/api/evaluation/cell", params={"label": 3, "predicted": 3, "count": 5}).json()
    assert right["total"] == confusion[3, 3] and len(right["shown"]) == 5
    least = [row["confidence"] for row in right["shown"]]
    assert least == sorted(least) and least[0] == pytest.approx(probs[(data.y_test == 3) & (predicted == 3), 3].min())
    assert_error(client.get("/api/evaluation/cell", params={"label": 10, "predicted": 1}), 400, "label", "0 to 9")


# ---- the model and the data ----------------------------------------------------------------

def test_weights_are_coloured_as_digitlens_viz_colours_them(client, digit):
    """The page paints value v with row floor((v / limit + 1) / 2 * 256) of /api/colormap (colors.js):
    the same colour viz.style.colorize gives it in a report. Limits use one percentile."""
    table = np.array(client.get("/api/colormap").json()["colors"], dtype=np.uint8)
    assert table.shape == (256, 3)
    limit = 0.7
    values = np.linspace(-1.5, 1.5, 3001)
    rows = np.minimum(255, np.floor((np.clip(values / limit, -1, 1) + 1) / 2 * 256)).astype(int)
    np.testing.assert_array_equal(table[rows], colorize(values, limit))
    neuron = client.post("/api/neuron", json={"pixels": digit.tolist(), "neuron": 5}).json()
    assert neuron["limits"]["weights"] == pytest.approx(symmetric_limit(neuron["weights"], LIMIT_PERCENTILE))
    packed = client.get("/api/weights", params={"count": 16}).json()["weights"]
    images = np.frombuffer(base64.b64decode(packed["base64"]), dtype="<f4")
    assert packed["limit"] == pytest.approx(symmetric_limit(images, LIMIT_PERCENTILE))


def test_status_and_summary(client, model):
    status = client.get("/api/status").json()
    assert status["model"]["params"] == 203_530 and status["model"]["hidden"][0]["units"] == 256
    assert status["training"] is None
    summary = client.get("/api/model").json()
    assert summary["summary"] == summary_text(model)
    rows = {row["name"]: row for row in summary["parameters"]["layers"]}
    assert rows["dense"]["text"] == "784 inputs x 256 units = 200,704 weights + 256 biases = 200,960"
    assert summary["parameters"]["total"] == 203_530


def test_weight_pictures_are_the_kernel_columns(client, model):
    r = client.get("/api/weights", params={"first": 4, "count": 8}).json()
    packed = r["weights"]
    values = np.frombuffer(base64.b64decode(packed["base64"]), dtype="<f4").reshape(packed["shape"])
    np.testing.assert_array_equal(values, model.layers[1].kernel[:, 4:12].T.reshape(8, 28, 28))


def test_data_and_evaluation(client, model, data):
    d = client.get("/api/data").json()
    assert sum(d["train_counts"]) == 60_000 and sum(d["test_counts"]) == 10_000
    assert len(d["samples"]) == 10 and all(len(s) == 12 for s in d["samples"])
    sample = d["samples"][3][0]
    assert data.y_test[sample["index"]] == 3 and np.array_equal(sample["image"], data.x_test[sample["index"]])
    e = client.get("/api/evaluation").json()
    loss, accuracy = model.evaluate(data.x_test, data.y_test)
    assert e["accuracy"] == pytest.approx(accuracy) and e["loss"] == pytest.approx(loss, rel=1e-5)
    assert np.array(e["confusion"]).sum() == 10_000
    mistake = e["confident_mistakes"][0]
    assert np.array_equal(mistake["image"], data.x_test[mistake["index"]]) and mistake["label"] != mistake["predicted"]
    assert client.get("/api/data/test/5").json()["label"] == int(data.y_test[5])


# ---- training ------------------------------------------------------------------------------

def strict_json(text):
    """json.loads as the browser's JSON.parse reads: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON: the page's JSON.parse would fail on {text[:200]}")
    return json.loads(text, parse_constant=refuse)


def wait_for_event(client, accept, what, since=0, timeout=TRAINING_TIMEOUT):
    """The first event of the training job, numbered `since` or later, that accept(event) likes.

    Waits on the job itself (the events /api/train/events streams) and fails saying `what` never
    came, with the job's state and last events, after `timeout` seconds.
    """
    job = session_of(client).job
    assert job is not None, f"waiting for {what}, but no training job was started"
    deadline = time.monotonic() + timeout
    position, seen = since, []
    while (left := deadline - time.monotonic()) > 0:
        events, ended = job.events_since(position, timeout=min(left, 1.0))
        for event in events:
            if accept(event):
                return event
        seen = (seen + [event["type"] for event in events])[-10:]
        position += len(events)
        if ended and not events:
            break
    pytest.fail(f"waited up to {timeout} s for {what}; the job is {job.state}, its last events: {seen}")


def progress(event):
    return event["type"] == "progress"


def read_events(client, since=0):
    """Every event of the job from `since` on, through GET /api/train/events, once the job has ended."""
    wait_for_event(client, lambda event: event["type"] == "done", "the job to end")
    events = []
    with client.stream("GET", "/api/train/events", params={"since": since}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(strict_json(line[6:]))
    return events


def test_training_streams_progress_and_replaces_the_model(client, data, digit):
    version = client.get("/api/status").json()["version"]
    r = client.post("/api/train", json={"hidden_units": 32, "activation": "tanh", "epochs": 2, "batch_size": 10,
                                        "samples": 1000, "learning_rate": 0.003, "seed": 1})
    assert r.status_code == 202, r.text
    events = read_events(client)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 2
    assert [e["id"] for e in events] == list(range(len(events)))
    start = events[0]
    assert start["steps_per_epoch"] == 100 and start["total_steps"] == 200
    assert start["weights"]["shape"] == [32, 28, 28]
    points = [p for e in events if e["type"] == "progress" for p in e["points"]]
    assert [p[0] for p in points] == list(range(1, 201))          # every batch, once, in order
    assert events[-1]["state"] == "finished" and events[-1]["test_accuracy"] > 0.5
    # the live curve is the one the finished model's History draws, smoothed over the same window
    saved = client.get("/api/model").json()["history"]["batch"]
    assert saved["window"] > 1
    np.testing.assert_allclose([p[1] for p in points], saved["loss"], atol=1e-5)
    np.testing.assert_allclose([p[3] for p in points], saved["smoothed_loss"], atol=1e-5)
    np.testing.assert_allclose([p[4] for p in points], saved["smoothed_accuracy"], atol=1e-4)
    epoch = [e for e in events if e["type"] == "epoch"][-1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(epoch)

    status = client.get("/api/status").json()
    hidden = status["model"]["hidden"][0]
    assert status["version"] > version and {key: hidden[key] for key in (
        "name", "type", "units", "activation", "output_shape", "label")} == {
        "name": "dense", "type": "Dense", "units": 32, "activation": "tanh", "output_shape": [32],
        "label": "Dense 32 tanh"}
    p = client.post("/api/predict", json={"pixels": digit.tolist()}).json()
    assert len(p["layers"][0]["activation"]) == 32
    assert client.get("/api/train").json()["state"] == "finished"
    replay = read_events(client, since=len(events) - 1)
    assert [e["type"] for e in replay] == ["done"]


def test_one_job_at_a_time_pause_resume_stop(client):
    r = client.post("/api/train", json={"epochs": 3, "batch_size": 10, "samples": 6000, "hidden_units": 64})
    assert r.status_code == 202
    assert_error(client.post("/api/train", json={"epochs": 1}), 409, "already running")
    wait_for_event(client, progress, "the first progress event")
    assert client.post("/api/train/pause").json()["state"] == "paused"
    paused = wait_for_event(client, lambda e: e["type"] == "state" and e["state"] == "paused", "the 'paused' event")
    # pausing, the training thread reports the step where it stopped, then waits
    stopped = wait_for_event(client, progress, "the progress report of the step where it paused", since=paused["id"] + 1)
    later, _ = session_of(client).job.events_since(stopped["id"] + 1, timeout=1.0)
    assert all(e["step"] == stopped["step"] for e in later if e["type"] == "progress"), later   # paused: no steps
    assert client.get("/api/train").json()["progress"]["step"] == stopped["step"]
    assert client.post("/api/train/resume").json()["state"] == "running"
    wait_for_event(client, lambda e: progress(e) and e["step"] > stopped["step"], "a step after resuming",
                   since=stopped["id"] + 1)
    assert client.post("/api/train/stop").json()["state"] == "stopping"
    events = read_events(client)
    assert events[-1]["type"] == "done" and events[-1]["state"] == "stopped"
    assert "stopped after" in client.get("/api/status").json()["model"]["origin"]
    assert client.post("/api/train", json={"epochs": 1, "samples": 100}).status_code == 202
    read_events(client)


def test_predictions_keep_arriving_and_are_right_while_training(client, model, digit):
    """Training runs in its own thread on its own model: the other tabs keep their answers."""
    expected = model.predict(digit[None])[0]
    version = client.get("/api/status").json()["version"]
    client.post("/api/train", json={"epochs": 1, "batch_size": 16, "samples": 20000})
    first = wait_for_event(client, progress, "training to start")
    times = []
    for _ in range(20):
        r = client.post("/api/predict", json={"pixels": digit.tolist()})
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["probabilities"], expected, rtol=1e-5, atol=1e-7)
        assert r.json()["version"] == version           # still the app's model, not the one in training
        times.append(server_ms(r))
    # training went on meanwhile: all 20 answers came while it ran
    wait_for_event(client, lambda e: progress(e) and e["step"] > first["step"], "training to go on",
                   since=first["id"] + 1)
    assert client.get("/api/train").json()["state"] == "running"
    client.post("/api/train/stop")
    read_events(client)
    record_timings("predict_while_training", "POST /api/predict of pixels while a job trains: server time", times)


def test_starting_training_does_not_hold_the_model_while_the_data_loads(client, digit):
    """The dataset is read on the first POST /api/train (seconds from disk); other requests go on."""
    client.get("/api/status")                  # the browser's cookie, then its session
    session = session_of(client)
    loading, release = threading.Event(), threading.Event()
    read_dataset = session.dataset

    def slow_dataset():
        loading.set()
        release.wait(TRAINING_TIMEOUT)
        return read_dataset()

    session.dataset = slow_dataset
    started, answered = [], []
    starter = threading.Thread(target=lambda: started.append(client.post("/api/train", json={"samples": 100})))
    predictor = threading.Thread(target=lambda: answered.append(client.post("/api/predict", json={"pixels": digit.tolist()})))
    try:
        starter.start()
        assert loading.wait(60), "POST /api/train never asked for the dataset"
        predictor.start()
        predictor.join(60)
        assert answered, "a prediction waited for the dataset to load: POST /api/train held the model's lock"
        assert answered[0].status_code == 200
    finally:
        release.set()
        starter.join(60)
        predictor.join(60)
    assert started and started[0].status_code == 202, started
    read_events(client)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverging_run_streams_null_where_the_loss_is_not_a_number(client, digit):
    """A linear network, plain SGD and a learning rate of 10 overflow in a few steps: the loss is
    NaN. JSON has no NaN, so the stream says null, which the page draws as a gap."""
    r = client.post("/api/train", json={"hidden_units": 64, "activation": "linear", "optimizer": "sgd",
                                        "learning_rate": 10, "batch_size": 32, "samples": 1000, "seed": 0})
    assert r.status_code == 202, r.text
    events = read_events(client)                          # strict JSON: no NaN, no Infinity
    losses = [p[1] for e in events if e["type"] == "progress" for p in e["points"]]
    assert None in losses and all(loss is None or loss > 0 for loss in losses)
    assert events[-1]["state"] == "finished" and events[-1]["test_loss"] is None
    assert [e for e in events if e["type"] == "epoch"][0]["loss"] is None
    first_nan = next(i for i, loss in enumerate(losses, start=1) if loss is None)
    assert events[-1]["diverged_at"] == first_nan                 # the step where it diverged is marked
    assert f"diverged at step {first_nan}" in client.get("/api/status").json()["model"]["origin"]
    strict_json(client.get("/api/train").text)
    # the overflowed model is now the app's: every tab still gets JSON it can read
    for answer in (client.post("/api/predict", json={"pixels": digit.tolist()}), client.get("/api/model"),
                   client.get("/api/weights", params={"count": 4}), client.get("/api/evaluation"),
                   client.post("/api/neuron", json={"pixels": digit.tolist(), "neuron": 3})):
        assert answer.status_code == 200, answer.text
        strict_json(answer.text)


def test_undo_a_run_until_it_is_kept(client, digit):
    """The trained model replaces the one every tab uses, but the one before is kept until the learner
    keeps the new one: undo goes back to it. A job whose model was replaced is no longer current."""
    before = client.get("/api/status").json()
    assert before["model"]["params"] == 203_530
    client.post("/api/train", json={"hidden_units": 8, "samples": 200, "seed": 0})
    read_events(client)
    trained = client.get("/api/status").json()
    assert trained["model"]["hidden"][0]["units"] == 8
    assert trained["training"]["current"] and trained["training"]["undo"]
    undone = client.post("/api/train/undo").json()
    after = client.get("/api/status").json()
    assert after["model"]["params"] == 203_530 and after["model"]["origin"] == before["model"]["origin"]
    assert undone["version"] == after["version"] > trained["version"]
    assert not after["training"]["current"] and not after["training"]["undo"]    # a fresh page need not replay it
    p = client.post("/api/predict", json={"pixels": digit.tolist()}).json()
    assert len(p["layers"][0]["activation"]) == 256
    assert_error(client.post("/api/train/undo"), 409, "nothing to undo")
    # kept: no undo any more, and it stays current until another model comes
    client.post("/api/train", json={"hidden_units": 8, "samples": 200, "seed": 0})
    read_events(client)
    client.post("/api/train/keep")
    kept = client.get("/api/status").json()["training"]
    assert kept["current"] and not kept["undo"]
    assert_error(client.post("/api/train/undo"), 409)
    upload(client, "small.keras", "keras_small.keras")
    assert client.get("/api/status").json()["training"]["current"] is False


def test_paused_time_is_not_epoch_time_and_a_stopped_epoch_is_partial(client):
    client.post("/api/train", json={"epochs": 50, "batch_size": 10, "samples": 6000, "hidden_units": 16, "seed": 2})

    def pause(since):
        client.post("/api/train/pause")
        paused = wait_for_event(client, lambda e: e["type"] == "state" and e["state"] == "paused", "the 'paused' event",
                                since=since)
        return wait_for_event(client, progress, "the step where it paused", since=paused["id"] + 1)

    where = pause(wait_for_event(client, progress, "the first progress event")["id"])
    time.sleep(0.5)                     # the training thread is blocked: this half second is paused time
    client.post("/api/train/resume")
    epoch = wait_for_event(client, lambda e: e["type"] == "epoch", "the end of the epoch it paused in", since=where["id"])
    assert epoch["epoch"] == where["epoch"] and epoch["paused_seconds"] >= 0.45 and not epoch["partial"]
    where = pause(epoch["id"])          # then stop while paused: the epoch ends at that step
    client.post("/api/train/stop")
    events = read_events(client)
    last = [e for e in events if e["type"] == "epoch"][-1]
    assert last["epoch"] == where["epoch"] and last["epoch_steps"] == where["batch"]
    assert last["partial"] == (where["batch"] < 600) and last["steps_per_epoch"] == 600
    history = client.get("/api/model").json()["history"]["epoch"]
    assert history["seconds"] == pytest.approx([e["seconds"] for e in events if e["type"] == "epoch"])
    assert client.get("/api/status").json()["model"]["origin"].startswith("trained here: 16 relu, stopped after")


# ---- model files ---------------------------------------------------------------------------

def test_load_a_real_keras_file_and_every_endpoint_uses_it(client):
    expected = np.load(FIXTURES / "keras_expected.npz")
    loaded = upload(client, "my_model.keras", "keras_small.keras")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["info"]["origin"] == "loaded from my_model.keras"
    x = expected["x_uint8"]
    p = client.post("/api/predict", json={"pixels": x[0].tolist()}).json()
    np.testing.assert_allclose(p["probabilities"], expected["probs_keras_small"][0], atol=1e-5)
    assert len(p["layers"][0]["activation"]) == 16
    assert client.post("/api/neuron", json={"pixels": x[0].tolist(), "neuron": 15}).status_code == 200
    assert client.post("/api/output", json={"pixels": x[0].tolist(), "output": 2}).status_code == 200
    assert client.post("/api/backprop", json={"pixels": x[0].tolist(), "label": 2}).status_code == 200
    assert client.get("/api/model").json()["parameters"]["total"] == 12_730
    assert client.get("/api/evaluation").json()["count"] == 10_000
    assert_error(client.post("/api/neuron", json={"pixels": x[0].tolist(), "neuron": 16}), 400, "0 to 15")

    saved = client.get("/api/model/download")
    assert saved.status_code == 200 and saved.content[:2] == b"PK"
    again = upload(client, "again.keras", data=saved.content)
    assert again.status_code == 200
    q = client.post("/api/predict", json={"pixels": x[0].tolist()}).json()
    np.testing.assert_allclose(q["probabilities"], p["probabilities"], atol=1e-7)

    legacy = upload(client, "old.h5", "keras_small_legacy.h5")
    assert legacy.status_code == 200, legacy.text
    two_hidden = upload(client, "tanh.keras", "keras_small_tanh.keras")
    assert two_hidden.status_code == 200
    assert len(client.post("/api/predict", json={"pixels": x[0].tolist()}).json()["layers"]) == 3


def test_bad_model_files_are_refused_with_one_line(client, monkeypatch):
    unsupported = upload(client, "unsupported.keras", "keras_unsupported.keras")
    assert_error(unsupported, 422, "unsupported.keras")
    assert_error(client.post("/api/model/upload", files={"file": ("m.keras", b"not a zip")}), 422, "zip")
    assert_error(client.post("/api/model/upload", files={"file": ("m.pkl", b"\x80\x04")}), 422, ".keras or .h5")
    assert_error(client.post("/api/model/upload", files={"file": ("m.h5", b"\x89HDF\r\n\x1a\nrest")}), 422, "HDF5")
    assert_error(client.post("/api/model/upload", files={"file": ("m.keras", b"")}), 422, "empty")
    monkeypatch.setattr(api_files, "WEB_MODEL_BYTES", 4 * 2**20)       # the checks, not the number
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b"\0" * (5 * 2**20))       # 5 MB of zeros in 5 KB
    assert_error(client.post("/api/model/upload", files={"file": ("bomb.keras", bomb.getvalue())}), 422, "unpacks to")
    assert_error(client.post("/api/model/upload"), 422, "file")
    assert client.get("/api/status").json()["model"]["params"] == 203_530      # still the old model


def test_declared_sizes_are_checked_before_anything_is_unpacked(client, monkeypatch, tmp_path):
    """Small files that would cost gigabytes: arrays of compressed zeros declared by the HDF5
    headers (added up first, against the web's limit), and a weights entry padded with zeros
    behind the real weights (measured against what the config's layers need)."""
    import h5py

    from conftest import peak_memory
    from digitlens import recipes
    from digitlens.io import save_model

    monkeypatch.setattr(api_files, "WEB_MODEL_BYTES", 4 * 2**20)
    with zipfile.ZipFile(FIXTURES / "keras_small.keras") as real:
        config = json.loads(real.read("config.json"))
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["units"] = 200_000                         # 784 x 200,000 float32: 627 MB declared
    inflated = tmp_path / "inflated.h5"
    with h5py.File(inflated, "w") as h5:                       # compressed zeros: a few KB on disk
        for group, shapes in (("dense", [(784, 200_000), (200_000,)]), ("dense_1", [(200_000, 10), (10,)])):
            for i, shape in enumerate(shapes):
                h5.create_dataset(f"layers/{group}/vars/{i}", shape=shape, dtype="f4", compression="gzip")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.write(inflated, "model.weights.h5")
    assert len(packed.getvalue()) < 64 * 2**10
    assert_error(upload(client, "inflated.keras", data=packed.getvalue()), 422, "inflated.keras", "past the 4 MB")

    model = recipes.build_model(seed=0).build()
    save_model(model, tmp_path / "real.keras")
    padded = io.BytesIO()
    with zipfile.ZipFile(tmp_path / "real.keras") as real, zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as out:
        for info in real.infolist():
            data = real.read(info)
            out.writestr(info.filename, data + b"\0" * (64 * 2**20) if info.filename == "model.weights.h5" else data)
    monkeypatch.setattr(api_files, "WEB_MODEL_BYTES", 128 * 2**20)    # the padding, not the limit, is refused
    peak = peak_memory(lambda: assert_error(upload(client, "padded.keras", data=padded.getvalue()), 422,
                                            "padded.keras", "unpacks to", "needs 814,120 bytes of weights"))
    assert peak < 16 * 2**20, f"refusing a padded upload took {peak / 2**20:.0f} MB"
    assert client.get("/api/status").json()["model"]["params"] == 203_530      # still the old model


# ---- bad requests --------------------------------------------------------------------------

@pytest.mark.parametrize("body, status, words", [
    ({"pixels": [1, 2, 3]}, 422, ["pixels", "784", "(3,)"]),
    ({"pixels": [[0] * 28] * 27 + [[0] * 29]}, 422, ["pixels", "ragged"]),
    ({"pixels": [[0] * 29] * 28}, 422, ["pixels", "(28, 29)"]),
    ({"pixels": [300] * 784}, 422, ["0 to 255", "300"]),
    ({"pixels": [-1] * 784}, 422, ["0 to 255"]),
    ({"pixels": ["a"] * 784}, 422, ["pixels"]),
    ({"pixels": [0] * 785}, 422, ["pixels"]),
    ({"image": "aGVsbG8gd29ybGQ="}, 422, ["not an image"]),
    ({"image": "data:image/png;base64,%%%"}, 422, ["base64"]),
    ({"image": "data:text/plain,hello"}, 422, ["base64"]),
    ({"image": ""}, 422, ["image"]),
    ({}, 422, ["exactly one"]),
    ({"image": "x", "pixels": [0] * 784}, 422, ["exactly one"]),
    ({"pixels": [0] * 784, "extra": 1}, 422, ["extra"]),
])
def test_bad_predict_requests(client, body, status, words):
    assert_error(client.post("/api/predict", json=body), status, *words)


def test_blank_and_huge_pictures(client):
    blank = Image.new("L", (100, 100), 0)
    assert_error(client.post("/api/predict", json={"image": png_data_url(blank)}), 422, "blank")
    # a PNG header claiming 10000 x 7000 pixels is refused before any pixel is decoded
    huge = Image.new("1", (10000, 7000), 0)
    assert_error(client.post("/api/predict", json={"image": png_data_url(huge)}), 422, "10000x7000")
    bomb = Image.new("1", (20000, 20000), 0)      # past Pillow's own decompression-bomb limit
    assert_error(client.post("/api/predict", json={"image": png_data_url(bomb)}), 422, "too large")


@pytest.mark.parametrize("path, body, words", [
    ("/api/neuron", {"pixels": [0] * 784, "neuron": 256}, ["neuron", "0 to 255", "256"]),
    ("/api/neuron", {"pixels": [0] * 784, "neuron": -1}, ["neuron"]),
    ("/api/neuron", {"pixels": [0] * 784, "neuron": "seven"}, ["neuron"]),
    ("/api/neuron", {"pixels": [0] * 10, "neuron": 1}, ["pixels"]),
    ("/api/neuron", {"neuron": 1}, ["pixels", "required"]),
    ("/api/output", {"pixels": [0] * 784, "output": 10}, ["output", "0 to 9"]),
    ("/api/backprop", {"pixels": [0] * 784, "label": 10}, ["label", "0 to 9"]),
    ("/api/backprop", {"pixels": [0] * 784, "label": 1, "learning_rate": -1}, ["learning_rate"]),
    ("/api/backprop", {"pixels": [0] * 784, "label": 1, "optimizer": "magic"}, ["optimizer"]),
    ("/api/train", {"epochs": 0}, ["epochs"]),
    ("/api/train", {"batch_size": 100000}, ["batch_size"]),
    ("/api/train", {"activation": "softmax"}, ["activation"]),
    ("/api/train", {"learning_rate": 0}, ["learning_rate"]),
    ("/api/train", {"hidden_units": 1e9}, ["hidden_units"]),
])
def test_bad_requests_get_4xx_json_with_a_clear_message(client, path, body, words):
    r = client.post(path, json=body)
    assert 400 <= r.status_code < 500
    assert_error(r, r.status_code, *words)


def test_malformed_json_and_wrong_methods(client):
    r = client.post("/api/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(r, 422, "JSON")
    assert client.get("/api/predict").status_code == 405
    assert client.get("/api/nothing").status_code == 404
    assert_error(client.get("/api/weights", params={"count": 0}), 422, "count")
    assert_error(client.get("/api/data/test/10000"), 404, "0 to 9999")


def test_oversized_bodies_are_refused(client):
    assert_error(client.post("/api/neuron", content=b"x" * (300 * 1024), headers={"content-type": "application/json"}),
                 413, "/api/neuron", "256 KB")
    assert_error(client.post("/api/predict", content=b"x" * (13 * 2**20), headers={"content-type": "application/json"}),
                 413, "12 MB")

    def chunks():                       # no Content-Length: the guard counts as the body arrives
        for _ in range(40):
            yield b"x" * 2**20
    assert_error(client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"}), 413)
    r = client.post("/api/model/upload", files={"file": ("big.keras", b"\0" * (65 * 2**20))})
    assert_error(r, 413, "64 MB")


def test_requests_for_other_hosts_and_sites_are_refused(model, data):
    app = create_app(model, dataset=data)
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil:8000", ""):
        r = TestClient(app, base_url=BASE).get("/api/status", headers={"host": host})
        assert_error(r, 403, "Host")
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"):
        assert TestClient(app, base_url=BASE).get("/api/status", headers={"host": host}).status_code == 200
    client = TestClient(app, base_url=BASE)
    cross = client.post("/api/train/stop", headers={"origin": "http://evil.example"})
    assert_error(cross, 403, "other sites")
    assert_error(client.post("/api/train/stop", headers={"sec-fetch-site": "cross-site"}), 403)
    same = client.post("/api/predict", json={"pixels": [0] * 784}, headers={"origin": "http://127.0.0.1:8000"})
    assert same.status_code == 200


def test_allowed_host_names():
    assert allowed_host_names("127.0.0.1") >= {"localhost", "127.0.0.1", "::1"}
    assert "*ip" in allowed_host_names("0.0.0.0") and "*ip" not in allowed_host_names("127.0.0.1")
    assert host_name("[::1]:8000") == "::1" and host_name("Example.COM:80") == "example.com"


def test_no_model_and_no_data_are_409s_not_500s(model, tmp_path):
    client = TestClient(create_app(None, data_dir=tmp_path), base_url=BASE)
    assert client.get("/api/status").json()["model"] is None
    assert_error(client.post("/api/predict", json={"pixels": [0] * 784}), 409, "no model yet")
    assert_error(client.get("/api/model"), 409, "no model")
    assert_error(client.get("/api/train"), 409, "no training job")
    assert_error(client.post("/api/train/stop"), 409)
    assert_error(client.get("/api/data"), 409, str(tmp_path))
    assert_error(client.post("/api/train", json={}), 409, str(tmp_path))


def test_missing_data_says_how_to_get_it(model, clean_home, monkeypatch, capsys):
    # `digitlens serve MODEL` with no data anywhere and no network: it says so at start-up, and
    # Train and Model & data answer with what to do, not "downloading is turned off".
    from digitlens.web import server

    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", "http://127.0.0.1:9/")   # nothing listens there
    assert server.load_data_at_start(None) is None
    note = capsys.readouterr().err
    assert "MNIST" in note and "--data DIR" in note and "Train and Model & data" in note
    client = TestClient(create_app(model), base_url=BASE)
    for response in (client.get("/api/data"), client.post("/api/train", json={})):
        assert_error(response, 409, "--data DIR")
        assert "downloading is turned off" not in response.json()["detail"].split("(")[0]
    with pytest.raises(DigitlensError, match="^--data: "):
        server.load_data_at_start(clean_home / "nowhere")


def test_serve_downloads_the_data_at_start_up(clean_home, monkeypatch, mnist_dir, capsys):
    from digitlens.datasets import mnist
    from digitlens.web import server

    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", mnist_dir.as_uri())     # a mirror on this machine
    dataset = server.load_data_at_start(None)
    assert dataset.origin == "download" and dataset.verified and "downloaded to" in capsys.readouterr().out
    assert mnist.load_dataset(download=False).origin == "cache"        # kept for next time


def test_serve_starts_with_the_model_it_trained_last_time(model, clean_home):
    from digitlens.web import server

    server.keep_model(model)                 # what a training job in the app does when it ends
    assert server.saved_model_path().is_file() and str(clean_home) in str(server.saved_model_path())
    loaded, origin, dataset = server.get_model(None, None)
    assert origin == "the model this app trained last time" and dataset is None
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    given, origin, _ = server.get_model(server.saved_model_path(), None)
    assert origin == "loaded from last.keras"
    with pytest.raises(DigitlensError, match="no such file"):
        server.get_model(clean_home / "missing.keras", None)


def test_serve_refuses_a_port_in_use():
    from digitlens.web.server import check_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DigitlensError, match=f"port {port} .* in use"):
            check_port("127.0.0.1", port)
    with pytest.raises(DigitlensError, match="--port"):
        check_port("127.0.0.1", 70000)
