"""The hidden-space maps in the web app (web/api_map.py), in process, on real MNIST: the coordinates
against NumPy's SVD of the activations and of the pixels, a digit's place against where the same
image lies on the map, the layer chosen, and the bad requests."""

import numpy as np
import pytest
from conftest import FIXTURES
from fastapi.testclient import TestClient

from digitlens import recipes
from digitlens.explain.common import dense_input
from digitlens.io import load_model
from digitlens.viz.hidden_space import digit_colours
from digitlens.web.app import create_app

from web_helpers import one_line_error

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def data(mnist_dir):
    from digitlens.datasets import mnist

    return mnist.load_dataset(mnist_dir)


@pytest.fixture
def client(small_trained_model, data):
    return TestClient(create_app(small_trained_model, dataset=data), base_url=BASE)


def svd_points(values):
    """The first two principal components' coordinates, straight from np.linalg.svd."""
    centred = values - values.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2], s


def same_up_to_sign(got, expected, atol):
    for axis in range(2):
        error = min(np.abs(got[:, axis] - expected[:, axis]).max(), np.abs(got[:, axis] + expected[:, axis]).max())
        assert error < atol, (axis, error)


def test_the_maps_are_numpys_svd_of_the_activations_and_of_the_pixels(client, small_trained_model, data):
    r = client.get("/api/map").json()
    assert r["count"] == 2000 and r["labels"] == data.y_test[:2000].tolist()
    x = data.x_test[:2000]
    activations, _ = dense_input(small_trained_model, small_trained_model.prepare_inputs(x), 1)   # into the output layer
    hidden, s = svd_points(activations.astype(np.float64))
    same_up_to_sign(np.asarray(r["hidden"]["points"]), hidden, atol=1e-4)
    assert r["hidden"]["explained"][0] == pytest.approx(s[0] ** 2 / np.sum(s ** 2), rel=1e-6)
    pixels, s = svd_points(x.reshape(2000, -1) / 255.0)
    same_up_to_sign(np.asarray(r["pixels"]["points"]), pixels, atol=1e-4)
    assert r["pixels"]["explained"][1] == pytest.approx(s[1] ** 2 / np.sum(s ** 2), rel=1e-6)
    assert r["layer"] == small_trained_model.layers[1].name and r["layer_index"] == 0
    assert r["colors"] == digit_colours(10).tolist()
    points, labels = np.asarray(r["hidden"]["points"]), np.asarray(r["labels"])
    np.testing.assert_allclose(r["hidden"]["centres"][4], np.median(points[labels == 4], axis=0), atol=1e-5)
    # the network pulls the digits apart: better separated by the hidden layer than by the pixels
    assert r["hidden"]["separation"] > r["pixels"]["separation"]


def test_a_digit_lands_where_the_same_test_image_lies(client, data):
    r = client.get("/api/map").json()
    for i in (0, 7, 1999):
        placed = client.post("/api/map/project", json={"pixels": data.x_test[i].tolist()}).json()
        np.testing.assert_allclose(placed["hidden"], r["hidden"]["points"][i], atol=1e-4)
        np.testing.assert_allclose(placed["pixels"], r["pixels"]["points"][i], atol=1e-4)
    # a digit that is not on the map lands elsewhere, where the same arithmetic puts it
    other = data.x_test[5000]
    placed = client.post("/api/map/project", json={"pixels": other.tolist()}).json()
    x = data.x_test[:2000].reshape(2000, -1) / 255.0
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = (other.reshape(-1) / 255.0 - x.mean(axis=0)) @ vt[:2].T
    np.testing.assert_allclose(np.abs(placed["pixels"]), np.abs(expected), atol=1e-4)


def test_each_hidden_layer_of_a_deeper_model_has_its_map(data):
    deep = load_model(FIXTURES / "keras_small_tanh.keras")               # 16 tanh -> 8 sigmoid -> 10
    client = TestClient(create_app(deep, dataset=data), base_url=BASE)
    first, last = client.get("/api/map?layer=0").json(), client.get("/api/map").json()
    assert (first["layer_index"], last["layer_index"]) == (0, 1)
    assert first["layer"] == deep.layers[1].name and last["layer"] == deep.layers[2].name
    assert first["pixels"] == last["pixels"]                               # the same images by their pixels
    placed = client.post("/api/map/project", json={"pixels": data.x_test[3].tolist(), "layer": 0}).json()
    np.testing.assert_allclose(placed["hidden"], first["hidden"]["points"][3], atol=1e-4)


def test_bad_requests_are_one_line_4xx(client, data):
    one_line_error(client.get("/api/map?layer=1"), 400, "hidden layer number from 0 to 0", "received 1")
    one_line_error(client.get("/api/map?layer=two"), 422, "layer")
    one_line_error(client.get("/api/map?layer=999"), 422, "layer")
    one_line_error(client.post("/api/map/project", json={"pixels": [0] * 783}), 422, "pixels")
    one_line_error(client.post("/api/map/project", json={"pixels": data.x_test[0].tolist(), "layer": 3}), 400, "layer")
    flat = recipes.build_model([], seed=0).build()                        # Flatten -> Dense(10): nothing hidden
    one_line_error(TestClient(create_app(flat, dataset=data), base_url=BASE).get("/api/map"), 400, "no hidden layer")
    one_line_error(TestClient(create_app(None, dataset=data), base_url=BASE).get("/api/map"), 409, "no model")
