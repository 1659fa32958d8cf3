"""The web app's training timeline (web/api_timeline.py, and the recording in web/training.py), in process.

A model trained briefly on real MNIST with the Timeline callback is what the app starts with. The
answers are checked against the timeline itself (every snapshot decoded, every probe) and against
the network: the last snapshot is the weights the model ends with, its probe probabilities what the
model predicts for the probe images. A job the app trains records a timeline that a page can replay
and that goes with the model into the .keras file; "timeline": false records none.
"""

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from digitlens import recipes
from digitlens.explain.neurons import weight_images
from digitlens.explain.timeline import Timeline, choose_probes
from digitlens.nn.timeline import log_spaced_steps
from digitlens.viz.style import symmetric_limit
from digitlens.web.app import create_app
from digitlens.web.colors import LIMIT_PERCENTILE

from web_helpers import one_line_error, unpack

BASE = "http://127.0.0.1:8000"
TIMEOUT = 300            # seconds for a small training job on a busy shared machine


@pytest.fixture(scope="module")
def data(mnist_dir):
    from digitlens.datasets import mnist

    return mnist.load_dataset(mnist_dir)


@pytest.fixture(scope="module")
def timed(data):
    """The lesson's network with 96 hidden units after an epoch on 6,400 images, its timeline recorded."""
    model = recipes.build_model([(96, "relu")], seed=3)
    recipes.train(model, data.x_train[:6400], data.y_train[:6400], recipes.get_recipe("lesson", epochs=1),
                  callbacks=[Timeline(probes=choose_probes(data.x_test, data.y_test))])
    model.class_names = [str(k) for k in range(10)]
    return model


@pytest.fixture
def client(timed, data):
    return TestClient(create_app(timed, dataset=data), base_url=BASE)


def test_the_overview_is_the_recorded_timeline(client, timed, data):
    t = timed.timeline
    status = client.get("/api/status").json()["model"]["timeline"]
    assert status == {"snapshots": len(t), "first_step": 0, "last_step": 200}
    r = client.get("/api/timeline").json()
    assert r["steps"] == t.steps == log_spaced_steps(200)       # 6,400 / 32 = 200 steps, the end among them
    assert r["snapshots"] == len(t) and r["layer"] == timed.layers[1].name
    assert r["neurons"] == t.neurons and len(r["neurons"]) == 64 and r["neurons"][-1] == 95
    assert [p["index"] for p in r["probes"]] == t.probe_indices
    for probe in r["probes"]:
        assert probe["label"] == data.y_test[probe["index"]]
        np.testing.assert_array_equal(probe["image"], data.x_test[probe["index"]])
    assert [p["typical"] for p in r["probes"]] == [True] * 10 + [False] * 5
    np.testing.assert_allclose(r["probabilities"], t.probabilities, atol=1e-7)
    assert r["loss"][0] is None and r["loss"][-1] == pytest.approx(t.loss[-1])
    assert r["words"][0] == "step 0 (the random start)" and r["words"][-1].startswith("step 200 (end of epoch 1): loss ")


def test_each_snapshot_decodes_the_recorded_pictures_and_the_last_is_the_trained_network(client, timed):
    t = timed.timeline
    for k in range(len(t)):
        s = client.get(f"/api/timeline/snapshot/{k}").json()
        assert (s["k"], s["step"], s["epoch"]) == (k, t.steps[k], t.epochs[k])
        weights, templates = unpack(s["weights"]), unpack(s["templates"])
        np.testing.assert_array_equal(weights, t.weights_at(k))
        np.testing.assert_array_equal(templates, t.templates_at(k))
        assert s["weights"]["limit"] == pytest.approx(symmetric_limit(weights, LIMIT_PERCENTILE))
        assert s["weights"]["limits"] == pytest.approx([np.abs(w).max() for w in weights])
        np.testing.assert_allclose(s["probabilities"], t.probabilities[k], atol=1e-7)
    # the last snapshot is the network as it ended: its weights (to the 8-bit step they are kept
    # at) and what it says about the probe images
    expected = weight_images(timed)[t.neurons]
    quantum = np.abs(expected).max() / 127
    np.testing.assert_allclose(weights, expected, atol=quantum / 2 + 1e-7)
    np.testing.assert_allclose(s["probabilities"], timed.predict(t.probe_images), atol=1e-5)


def test_watch_one_neuron_learn(client, timed):
    t = timed.timeline
    neuron = t.neurons[7]
    r = client.get(f"/api/timeline/neuron/{neuron}").json()
    pictures = unpack(r["weights"])
    assert pictures.shape == (len(t), 28, 28) and r["steps"] == t.steps and r["neuron"] == neuron
    for k in range(len(t)):
        np.testing.assert_array_equal(pictures[k], t.weights_at(k)[7])
    assert r["weights"]["limits"] == pytest.approx([np.abs(p).max() for p in pictures])
    # it changed: from noise at step 0 to something else by the end
    assert np.abs(pictures[-1] - pictures[0]).max() > 10 * np.abs(pictures[0]).max() / 127


def test_bad_requests_are_one_line_4xx(client, timed, data):
    t = timed.timeline
    one_line_error(client.get(f"/api/timeline/snapshot/{len(t)}"), 404, f"from 0 to {len(t) - 1}", str(len(t)))
    one_line_error(client.get("/api/timeline/snapshot/-1"), 404, "received -1")
    one_line_error(client.get("/api/timeline/snapshot/seven"), 422, "k")
    missing = next(j for j in range(96) if j not in t.neurons)
    one_line_error(client.get(f"/api/timeline/neuron/{missing}"), 400, "recorded neurons", str(missing))
    # a model without a timeline: the page is told (null), and every route says how to get one
    plain = recipes.build_model([(8, "relu")], seed=0).build()
    bare = TestClient(create_app(plain, dataset=data), base_url=BASE)
    assert bare.get("/api/status").json()["model"]["timeline"] is None
    for path in ("/api/timeline", "/api/timeline/snapshot/0", "/api/timeline/neuron/0"):
        one_line_error(bare.get(path), 404, "no training timeline")
    one_line_error(TestClient(create_app(None, dataset=data), base_url=BASE).get("/api/timeline"), 409, "no model")


def finish(app, client):
    """Until this browser's training job has ended; its last event."""
    from digitlens.web.session import COOKIE

    job = app.state.classroom.sessions[client.cookies.get(COOKIE)].job
    deadline, position = time.monotonic() + TIMEOUT, 0
    while time.monotonic() < deadline:
        events, ended = job.events_since(position, timeout=0.5)
        position += len(events)
        if ended and position >= len(job.events):
            return job.events[-1]
    pytest.fail(f"the training job did not end within {TIMEOUT} s: it is {job.state}")


def test_the_apps_training_records_a_timeline_that_rides_in_the_saved_file(timed, data, tmp_path):
    from digitlens.io import load_model

    app = create_app(timed, dataset=data)
    client = TestClient(app, base_url=BASE)
    job = {"hidden_units": 24, "epochs": 1, "batch_size": 32, "samples": 640, "seed": 5}
    assert client.post("/api/train", json=job).status_code == 202
    assert finish(app, client)["state"] == "finished"
    info = client.get("/api/status").json()["model"]["timeline"]
    assert info == {"snapshots": len(log_spaced_steps(20)), "first_step": 0, "last_step": 20}   # 640 / 32 steps
    r = client.get("/api/timeline").json()
    assert r["steps"] == log_spaced_steps(20) and r["neurons"] == list(range(24))
    # the probes are the test set's, chosen as digitlens train chooses them
    assert [p["index"] for p in r["probes"]] == choose_probes(data.x_test, data.y_test)[0]
    # saved from the page, the file carries it
    saved = tmp_path / "trained.keras"
    saved.write_bytes(client.get("/api/model/download").content)
    again = load_model(saved)
    assert again.timeline.steps == r["steps"]
    np.testing.assert_allclose(again.timeline.probabilities, r["probabilities"], atol=1e-7)
    # asked not to, a job records none; a timeline setting that is not true or false is refused
    assert client.post("/api/train", json={**job, "timeline": False}).status_code == 202
    finish(app, client)
    assert client.get("/api/status").json()["model"]["timeline"] is None
    one_line_error(client.post("/api/train", json={**job, "timeline": "yes"}), 422, "timeline")
    one_line_error(client.post("/api/train", json={**job, "timeline": 1}), 422, "timeline")
