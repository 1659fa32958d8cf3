"""Two models side by side in the web app (web/api_compare.py, and the session's previous and second
models in web/session.py), in process, on real MNIST.

A is the model the app starts with (conftest's small_trained_model); B comes from a real Keras file
(tests/fixtures), from an upload of a digitlens file, or is the model a training job replaced.
Every figure is checked against each model's own evaluate and predict.
"""

import time

import numpy as np
import pytest
from conftest import FIXTURES
from fastapi.testclient import TestClient

from digitlens import recipes
from digitlens.explain.evaluation import evaluate
from digitlens.explain.neurons import weight_images
from digitlens.io import load_model, save_model
from digitlens.web.app import create_app
from digitlens.web.session import COOKIE

from web_helpers import one_line_error, unpack

BASE = "http://127.0.0.1:8000"
TIMEOUT = 300


@pytest.fixture(scope="module")
def data(mnist_dir):
    from digitlens.datasets import mnist

    return mnist.load_dataset(mnist_dir)


@pytest.fixture
def app(small_trained_model, data):
    return create_app(small_trained_model, dataset=data, origin="the teacher's model")


@pytest.fixture
def client(app):
    return TestClient(app, base_url=BASE)


def session_of(app, client):
    return app.state.classroom.sessions.get(client.cookies.get(COOKIE))


def send_file(client, path, name=None, route="/api/compare/upload"):
    return client.post(route, files={"file": (name or path.name, path.read_bytes())})


def test_a_keras_file_as_b_agrees_with_each_models_own_evaluate(client, small_trained_model, data):
    keras_model = load_model(FIXTURES / "keras_small_tanh.keras")       # real Keras: 16 tanh -> 8 sigmoid
    r = send_file(client, FIXTURES / "keras_small_tanh.keras")
    assert r.status_code == 200, r.text
    status = client.get("/api/status").json()
    assert status["compare"]["second"]["origin"] == "loaded from keras_small_tanh.keras"
    assert status["compare"]["second"]["params"] == keras_model.count_params()
    assert status["model"]["origin"] == "the teacher's model"              # A stays
    c = client.get("/api/compare").json()
    for k, model in enumerate((small_trained_model, keras_model)):
        own = evaluate(model, data.x_test, data.y_test)
        assert c["accuracy"][k] == own["accuracy"] and c["confusion"][k] == own["confusion"]
        assert c["per_class_accuracy"][k] == own["per_class_accuracy"]
        assert c["loss"][k] == pytest.approx(own["loss"])
    assert c["accuracy"][0] == client.get("/api/evaluation").json()["accuracy"]      # what Model & data says
    pa = small_trained_model.predict(data.x_test).argmax(1)
    pb = keras_model.predict(data.x_test).argmax(1)
    truth = data.y_test
    assert c["agreement"] == pytest.approx(np.mean(pa == pb))
    assert c["only_a_count"] == int(np.sum((pa == truth) & (pb != truth)))
    assert c["only_b_count"] == int(np.sum((pb == truth) & (pa != truth)))
    assert c["both_wrong"] == int(np.sum((pa != truth) & (pb != truth)))
    assert np.array_equal(c["confusion_difference"], np.subtract(c["confusion"][0], c["confusion"][1]))
    for item in c["only_a"]:
        assert pa[item["index"]] == truth[item["index"]] != pb[item["index"]]
        np.testing.assert_array_equal(item["image"], data.x_test[item["index"]])
    for item in c["only_b"]:
        assert pb[item["index"]] == truth[item["index"]] != pa[item["index"]]
    # the parameters and their arithmetic, each model's own
    assert c["parameters"][1]["total"] == keras_model.count_params()
    assert [row["text"] for row in c["parameters"][1]["layers"]] == [d.arithmetic for d in keras_model.describe()]
    # their first-layer weights side by side
    np.testing.assert_array_equal(unpack(c["weights"][0]), weight_images(small_trained_model)[:32])
    np.testing.assert_array_equal(unpack(c["weights"][1]), weight_images(keras_model)[:16])


def test_one_digit_through_both_at_once(client, small_trained_model, data):
    send_file(client, FIXTURES / "keras_small_tanh.keras")
    keras_model = load_model(FIXTURES / "keras_small_tanh.keras")
    digit = data.x_test[11]
    r = client.post("/api/compare/predict", json={"pixels": digit.tolist()}).json()
    for key, model in (("a", small_trained_model), ("b", keras_model)):
        expected = model.predict(digit[None])[0]
        np.testing.assert_allclose(r[key]["probabilities"], expected, atol=1e-6)
        assert r[key]["prediction"] == int(expected.argmax())
    np.testing.assert_array_equal(r["image"], digit)
    one_line_error(client.post("/api/compare/predict", json={"pixels": [1, 2, 3]}), 422, "pixels")


def test_b_can_be_the_model_a_training_run_replaced(app, client, small_trained_model, data):
    one_line_error(client.post("/api/compare/choose", json={"which": "previous"}), 409, "no previous model")
    assert client.get("/api/status").json()["compare"] == {"second": None, "previous": None, "start": None}
    assert client.post("/api/train", json={"hidden_units": 16, "epochs": 1, "batch_size": 50, "samples": 500,
                                           "seed": 0}).status_code == 202
    job = session_of(app, client).job
    deadline = time.monotonic() + TIMEOUT
    while job.active and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.state == "finished", job.state
    offered = client.get("/api/status").json()["compare"]
    assert offered["previous"] == "the teacher's model" and offered["start"] == "the teacher's model"
    assert client.post("/api/compare/choose", json={"which": "previous"}).status_code == 200
    c = client.get("/api/compare").json()
    assert c["b"]["origin"] == "the teacher's model" and "trained here" in c["a"]["origin"]
    trained = session_of(app, client).current.model
    assert c["accuracy"] == [evaluate(trained, data.x_test, data.y_test)["accuracy"],
                             evaluate(small_trained_model, data.x_test, data.y_test)["accuracy"]]
    # a new A is compared afresh with the same B
    send_file(client, FIXTURES / "keras_small_tanh.keras", route="/api/model/upload")
    again = client.get("/api/compare").json()
    assert again["a"]["origin"] == "loaded from keras_small_tanh.keras" and again["b"] == c["b"]
    assert again["accuracy"][0] == evaluate(load_model(FIXTURES / "keras_small_tanh.keras"), data.x_test,
                                            data.y_test)["accuracy"]
    # the previous one is now the model the job trained
    assert client.post("/api/compare/choose", json={"which": "previous"}).json()["second"]["origin"] == c["a"]["origin"]


def test_comparing_a_model_with_itself_finds_no_difference(client):
    assert client.post("/api/compare/choose", json={"which": "start"}).status_code == 200
    c = client.get("/api/compare").json()
    assert c["agreement"] == 1.0 and c["only_a_count"] == c["only_b_count"] == 0
    assert not np.any(c["confusion_difference"]) and c["only_a"] == c["only_b"] == []


def test_bad_requests_are_one_line_4xx(client, data, tmp_path):
    one_line_error(client.get("/api/compare"), 409, "no second model")
    one_line_error(client.post("/api/compare/predict", json={"pixels": data.x_test[0].tolist()}), 409, "no second model")
    one_line_error(client.post("/api/compare/choose", json={"which": "yesterday"}), 422, "which")
    one_line_error(client.post("/api/compare/choose", json={}), 422, "which")
    one_line_error(client.post("/api/compare/upload", files={"file": ("notes.txt", b"hello")}), 422, "notes.txt", ".keras")
    one_line_error(client.post("/api/compare/upload", files={"file": ("broken.keras", b"PK\x03\x04 not a zip")}), 422,
                   "broken.keras")
    three = recipes.build_model([(8, "relu")], classes=3, seed=0).build()
    save_model(three, tmp_path / "three.keras")
    one_line_error(send_file(client, tmp_path / "three.keras"), 422, "three.keras", "3 outputs", "10 classes")
    assert client.get("/api/status").json()["compare"]["second"] is None     # nothing half-chosen
    one_line_error(TestClient(create_app(None, dataset=data), base_url=BASE).post(
        "/api/compare/choose", json={"which": "start"}), 409, "without a model")


def test_the_models_a_session_keeps_for_comparing_count_against_the_budget(app, small_trained_model):
    classroom = app.state.classroom
    first, second = TestClient(app, base_url=BASE), TestClient(app, base_url=BASE)
    assert send_file(first, FIXTURES / "keras_small_tanh.keras").status_code == 200
    held = session_of(app, first).held_bytes()
    assert held == 4 * session_of(app, first).second.model.params.nbytes + session_of(app, first).second.model.state.nbytes
    classroom.model_budget = held + 1                     # room for first's B, not for another model too
    assert send_file(second, FIXTURES / "keras_small_tanh.keras", route="/api/model/upload").status_code == 200
    assert session_of(app, first).second is None and session_of(app, second).own
    assert first.get("/api/status").json()["compare"]["second"] is None
    one_line_error(first.get("/api/compare"), 409, "no second model")


def test_a_current_model_with_other_outputs_is_a_conflict_not_a_crash(client, data, tmp_path):
    send_file(client, FIXTURES / "keras_small_tanh.keras")                  # B: 10 outputs
    three = recipes.build_model([(8, "relu")], classes=3, seed=0).build()
    save_model(three, tmp_path / "three.keras")
    assert send_file(client, tmp_path / "three.keras", route="/api/model/upload").status_code == 200   # A: 3
    one_line_error(client.get("/api/compare"), 409, "cannot be compared")
    one_line_error(client.post("/api/compare/predict", json={"pixels": data.x_test[0].tolist()}), 409, "3 outputs")
