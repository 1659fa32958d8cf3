"""The web app with convolutional networks: real-Keras CNN files load, every route answers (a 409
with one line where a view needs per-pixel first-layer weights, never a 500), and the Draw tab's
feature maps and kernels are Keras's own numbers.

The files are tests/fixtures/keras_cnn*.keras and .h5, written by real Keras; each map the app
sends is checked against real Keras's intermediate outputs for the same image (a keras.Model
reading every layer's output), and each kernel against the layer's weights as Keras loads them.
"""

import base64

import numpy as np
import pytest
from conftest import FIXTURES
from fastapi.testclient import TestClient

from digitlens import nn
from digitlens.io import load_model
from digitlens.web.app import create_app
from digitlens.web.packing import pack_maps, unpack_maps
from test_web_api import BASE, assert_error, upload

CNN_FILES = ["keras_cnn.keras", "keras_cnn_legacy.h5", "keras_cnn_bn.keras", "keras_cnn_bn_legacy.h5"]


@pytest.fixture(scope="module")
def data(mnist_dir):
    from digitlens.datasets import mnist

    return mnist.load_dataset(mnist_dir)


@pytest.fixture(scope="module")
def expected():
    return np.load(FIXTURES / "keras_expected.npz")


@pytest.fixture
def client(small_trained_model, data):
    return TestClient(create_app(small_trained_model, dataset=data), base_url=BASE)


def keras_outputs(real_keras, name, x_float):
    """{layer name: output} of real Keras's model in fixture `name`, for images x_float (N, 28, 28)."""
    model = real_keras.models.load_model(FIXTURES / name, compile=False)
    probe = real_keras.Model(model.inputs, [layer.output for layer in model.layers])
    x = x_float[..., None] if len(model.input_shape) == 4 else x_float
    return {layer.name: np.asarray(out) for layer, out in zip(model.layers, probe.predict(x, verbose=0))}, model


@pytest.mark.parametrize("name", CNN_FILES)
def test_a_real_keras_cnn_loads_and_the_draw_tab_shows_its_maps(client, real_keras, expected, name):
    stem = name.removesuffix(".keras").removesuffix(".h5").removesuffix("_legacy")
    response = upload(client, f"my_{name}", name)
    assert response.status_code == 200, response.text
    x, x_float = expected["x_uint8"], expected["x_float"]
    outputs, keras_model = keras_outputs(real_keras, name, x_float[:2])
    for k in range(2):
        p = client.post("/api/predict", json={"pixels": x[k].tolist()})
        assert p.status_code == 200, p.text
        p = p.json()
        np.testing.assert_allclose(p["probabilities"], expected[f"probs_{stem}"][k], atol=1e-5)
        assert "pixels" in p["pixel_weights"] and "Conv2D" in p["pixel_weights"]
        # which layers are drawn as maps: every Conv2D, pooling and BatchNormalization with (H, W, C) outputs
        mapped = [layer.name for layer in keras_model.layers if len(layer.output.shape) == 4
                  and type(layer).__name__ in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "BatchNormalization")]
        assert [m["name"] for m in p["maps"]] == mapped
        for m in p["maps"]:
            theirs = np.moveaxis(outputs[m["name"]][k], -1, 0)             # (C, H, W)
            ours = unpack_maps(m["pixels"])
            assert ours.shape == theirs.shape
            limit = np.abs(theirs).max()
            assert m["pixels"]["limit"] == pytest.approx(limit, rel=1e-5)
            scaled = 128 + 127 * theirs / limit if m["pixels"]["signed"] else 255 * theirs / limit
            assert m["pixels"]["signed"] == bool((theirs < -1e-6).any())
            assert np.abs(ours - scaled).max() <= 0.51 + 1e-3            # one byte a value, rounded
            assert m["kernels"] == (m["type"] == "Conv2D")
            assert m["maps"] == {"Conv2D": "feature maps", "BatchNormalization": "normalised maps"}.get(
                m["type"], "pooled maps")


@pytest.mark.parametrize("name", ["keras_cnn.keras", "keras_cnn_bn.keras"])
def test_clicking_a_map_gives_keras_numbers_and_the_filters_kernel(client, real_keras, expected, name):
    assert upload(client, name, name).status_code == 200
    x, x_float = expected["x_uint8"], expected["x_float"]
    outputs, keras_model = keras_outputs(real_keras, name, x_float[:1])
    maps = client.post("/api/predict", json={"pixels": x[0].tolist()}).json()["maps"]
    layers = {layer.name: layer for layer in keras_model.layers}
    for m in maps:
        channels = unpack_maps(m["pixels"]).shape[0]
        for channel in (0, channels - 1):
            d = client.post("/api/maps/detail", json={"pixels": x[0].tolist(), "layer": m["position"],
                                                      "channel": channel})
            assert d.status_code == 200, d.text
            d = d.json()
            theirs = outputs[m["name"]][0][..., channel]
            np.testing.assert_allclose(d["map"], theirs, atol=1e-5)
            assert tuple(d["argmax"]) == np.unravel_index(np.argmax(theirs), theirs.shape)
            if m["kernels"]:
                kernel, bias = layers[m["name"]].get_weights()
                np.testing.assert_allclose(d["kernel"], kernel[..., channel], atol=1e-7)
                assert d["bias"] == pytest.approx(float(bias[channel]), abs=1e-7)
                if d["weighted_sum"] is not None:         # valid padding: window . kernel + bias
                    assert d["weighted_sum"] == pytest.approx(d["max"], abs=1e-5) or d["max"] == 0.0
                    assert d["weighted_sum"] == pytest.approx(
                        float((np.asarray(d["window"]) * kernel[..., channel]).sum() + bias[channel]), abs=1e-5)
                    if m["position"] == 0:                # the window is the image's own pixels there
                        r, c = d["argmax"]
                        np.testing.assert_allclose(np.asarray(d["window"])[..., 0], x_float[0][r:r + 3, c:c + 3])
                else:
                    assert d["window"] is None
            else:
                assert d["kernel"] is None
                before = keras_model.layers[keras_model.layers.index(layers[m["name"]]) - 1]
                np.testing.assert_allclose(d["input_map"], outputs[before.name][0][..., channel], atol=1e-5)
    last = maps[-1]
    channels = unpack_maps(last["pixels"]).shape[0]
    assert_error(client.post("/api/maps/detail", json={"pixels": x[0].tolist(), "layer": last["position"],
                                                       "channel": channels}), 400, f"0 to {channels - 1}")
    assert_error(client.post("/api/maps/detail", json={"pixels": x[0].tolist(), "layer": 200, "channel": 0}),
                 400, "layer", "conv2d")


def test_every_route_answers_a_cnn_and_pixel_weight_views_say_why(client, data, expected):
    assert upload(client, "my_cnn.keras", "keras_cnn.keras").status_code == 200
    px = expected["x_uint8"][0].tolist()
    for path in ("/api/weights",):
        assert_error(client.get(path), 409, "reads the image's pixels", "conv2d (Conv2D)", "max_pooling2d")
    assert_error(client.post("/api/neuron", json={"pixels": px, "neuron": 0}), 409, "conv2d (Conv2D)")
    status = client.get("/api/status").json()["model"]
    assert status["outputs"] == 10 and [h["units"] for h in status["hidden"]] == [8]
    assert [layer["maps"] for layer in status["layers"]] == ["feature maps", "pooled maps", None, None, None]
    assert client.get("/api/model").json()["parameters"]["total"] == load_model(FIXTURES / "keras_cnn.keras").count_params()
    out = client.post("/api/output", json={"pixels": px, "output": 7})
    assert out.status_code == 200 and len(out.json()["contributions"]) == 8
    step = client.post("/api/backprop", json={"pixels": px, "label": 7})
    assert step.status_code == 200, step.text
    step = step.json()
    assert step["change_maps"] is None and "conv2d (Conv2D)" in step["change_maps_note"]
    assert step["layers"][0]["delta"]["shape"] == [676, 8]           # the first Dense layer's changes, as numbers
    assert all(row["pixel"] is None for row in step["top_strengthened"] + step["top_weakened"])
    assert step["loss_after"] < step["loss_before"]
    evaluation = client.get("/api/evaluation").json()
    model = load_model(FIXTURES / "keras_cnn.keras")
    accuracy = float((model.predict(data.x_test).argmax(1) == data.y_test).mean())
    assert evaluation["accuracy"] == pytest.approx(accuracy)
    assert client.get("/api/map").status_code == 200                 # its hidden layer: Dense(8)
    assert_error(client.get("/api/timeline"), 404, "timeline")
    # Compare the lesson's network (the app's start) with the CNN: weight pictures for one, a note for the other
    assert client.post("/api/compare/choose", json={"which": "start"}).status_code == 200
    both = client.get("/api/compare")
    assert both.status_code == 200, both.text
    a, b = both.json()["weights"]
    assert b["kind"] == "pixels" and b["shape"][1:] == [28, 28]
    assert a["kind"] == "kernels" and a["layer"] == "conv2d" and a["shape"] == [4, 3, 3]      # the CNN's filters
    kernels = np.frombuffer(base64.b64decode(a["base64"]), np.float32).reshape(4, 3, 3)
    np.testing.assert_array_equal(kernels, np.moveaxis(model.layers[0].kernel[:, :, 0, :], -1, 0))
    assert client.post("/api/compare/predict", json={"pixels": px}).status_code == 200


def test_a_cnn_without_hidden_dense_layers(client, expected):
    """keras_cnn_bn: Reshape, two Conv2D, BatchNormalization, pooling, GlobalAveragePooling2D, Dense(10)."""
    assert upload(client, "bn.keras", "keras_cnn_bn.keras").status_code == 200
    px = expected["x_uint8"][0].tolist()
    assert client.get("/api/status").json()["model"]["hidden"] == []
    out = client.post("/api/output", json={"pixels": px, "output": 7}).json()
    assert len(out["contributions"]) == 8                            # the 8 averaged maps of conv2d_1
    assert_error(client.get("/api/map"), 400, "no hidden layer")
    assert_error(client.post("/api/neuron", json={"pixels": px, "neuron": 0}), 409, "global_average_pooling2d")
    step = client.post("/api/backprop", json={"pixels": px, "label": 3}).json()
    assert step["change_maps"] is None and step["layers"][0]["delta"]["shape"] == [8, 10]


def test_a_dense_network_has_no_maps(client):
    p = client.post("/api/predict", json={"pixels": np.zeros((28, 28), int).tolist()}).json()
    assert p["maps"] == [] and p["pixel_weights"] is None
    assert_error(client.post("/api/maps/detail", json={"pixels": np.zeros((28, 28), int).tolist(), "layer": 0,
                                                       "channel": 0}), 409, "no layers that make maps")


def test_serve_accepts_a_cnn_and_still_refuses_other_images(tmp_path, real_keras):
    from digitlens.errors import ModelFileError
    from digitlens.web.api_files import check_fits_app
    from digitlens.web.server import get_model

    model, origin, _ = get_model(FIXTURES / "keras_cnn.keras", None)
    assert origin == "loaded from keras_cnn.keras" and model.layers[0].describe().maps == "feature maps"
    small = real_keras.Sequential([real_keras.Input((14, 14, 1)), real_keras.layers.Conv2D(2, 3),
                                   real_keras.layers.Flatten(), real_keras.layers.Dense(10, activation="softmax")])
    small.save(tmp_path / "small.keras")
    with pytest.raises(ModelFileError, match="small.keras: .*28x28.*14x14"):
        check_fits_app(load_model(tmp_path / "small.keras"), "small.keras")
    # one Conv2D with a 28 x 28 kernel and a softmax, flattened: it predicts, but the Draw tab's path
    # through the layers needs a Dense output layer - refused in one line, not a 400 on every drawing
    no_dense = nn.Sequential([nn.Conv2D(10, (28, 28), activation="softmax", input_shape=(28, 28, 1)), nn.Flatten()],
                             seed=0).build()
    assert no_dense.predict(np.zeros((1, 28, 28), np.float32)).shape == (1, 10)
    with pytest.raises(ModelFileError, match="conv.keras: .*no Dense layers"):
        check_fits_app(no_dense, "conv.keras")


def test_digitlens_own_cnn_maps_stay_small(small_trained_model, data):
    """The course's CNN (32 filters): its maps go as one byte a value, 26x26x32 + 13x13x32."""
    model = nn.cnn_model(seed=0).build()
    client = TestClient(create_app(model, dataset=data), base_url=BASE)
    p = client.post("/api/predict", json={"pixels": data.x_test[0].tolist()}).json()
    assert [unpack_maps(m["pixels"]).shape for m in p["maps"]] == [(32, 26, 26), (32, 13, 13)]
    for m in p["maps"]:                                              # less than a byte a value, in base64
        assert len(m["pixels"]["png"]) < 4 / 3 * np.prod(m["pixels"]["shape"])


def test_pack_maps_scales():
    maps = np.array([[[0.0, 2.0]], [[1.0, 4.0]]], dtype=np.float32)         # (H=2, W=1, C=2)
    packed = pack_maps(maps)
    data = unpack_maps(packed)
    assert packed["shape"] == [2, 2, 1] and not packed["signed"] and packed["limit"] == 4.0
    assert data[:, :, 0].tolist() == [[0, 64], [128, 255]]
    signed = pack_maps(-maps)
    assert signed["signed"] and unpack_maps(signed)[1, 1, 0] == 1 and unpack_maps(signed)[0, 0, 0] == 128
