"""Tests for digitlens.explain: every number it reports is checked against the real thing.

The parameter counts against the arrays, the trace against model.predict and model.activations,
the backprop step against a real optimizer step on a copy and a finite-difference gradient, the
evaluation against model.evaluate. The model is the lesson's network after one quick epoch on
6,000 real MNIST images (about a second).
"""

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest

from digitlens import explain
from digitlens.errors import DigitlensError
from digitlens.nn import SGD, Adam, Dense, Dropout, Flatten, Sequential, lesson_model


@pytest.fixture(scope="module")
def data(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    return x_train[:6000], y_train[:6000], x_test[:2000], y_test[:2000]


@pytest.fixture(scope="module")
def model(data):
    x, y, _, _ = data
    model = lesson_model(seed=0)
    model.compile("adam", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def weights_only(model):
    """The same weights with no optimizer, as a model read from a weights-only file would be."""
    fresh = lesson_model(seed=1).build()
    fresh.set_weights(model.get_weights())
    return fresh


def misread(model, x, y):
    """Index of a test image the model gets wrong."""
    return int(np.flatnonzero(model.predict(x).argmax(axis=1) != y)[0])


# ---- flatten ------------------------------------------------------------------------------------

def test_pixel_and_index_are_inverse_and_match_reshape():
    image = np.arange(784).reshape(28, 28)
    for row in range(28):
        for col in range(28):
            index = explain.pixel_to_index(row, col)
            assert index == 28 * row + col == image.reshape(-1)[index]
            assert explain.index_to_pixel(index) == (row, col)
    assert explain.pixel_to_index(5, 14) == 154
    with pytest.raises(DigitlensError, match="0 <= col < 28"):
        explain.pixel_to_index(0, 28)


def test_flatten_strip_is_the_rows_end_to_end(data):
    image = data[2][0]
    strip = explain.flatten_strip(image)
    assert len(strip["rows"]) == 28 and strip["starts"][:3] == [0, 28, 56]
    np.testing.assert_array_equal(strip["strip"], image.reshape(-1))
    np.testing.assert_array_equal(strip["rows"][5], strip["strip"][140:168])


# ---- parameters ---------------------------------------------------------------------------------

def test_parameter_table_matches_the_arrays(model):
    table = explain.parameter_table(model)
    flatten, dense, dense_1 = table["layers"]
    assert flatten["params"] == 0 and flatten["kernel_shape"] is None
    for row, layer in zip(table["layers"][1:], model.layers[1:]):
        assert row["kernel_shape"] == list(layer.kernel.shape)
        assert row["weights"] == layer.kernel.size
        assert row["biases"] == layer.bias.size
        assert row["params"] == layer.kernel.size + layer.bias.size
        assert row["bytes"] == 4 * row["params"]
    assert dense["text"] == "784 inputs x 256 units = 200,704 weights + 256 biases = 200,960"
    assert dense_1["text"] == "256 inputs x 10 units = 2,560 weights + 10 biases = 2,570"
    assert table["total"] == 203_530 == model.params.size == model.count_params()
    assert table["bytes"] == 814_120 and table["size"] == "795.04 KB"
    assert table["optimizer"]["params"] == 2 * 203_530 + 2      # Adam's m and v, plus 2 scalars


# ---- one image's path ---------------------------------------------------------------------------

def test_trace_agrees_with_predict_and_activations(model, data):
    image = data[2][0]
    t = explain.trace(model, image)
    np.testing.assert_allclose(t["probabilities"], model.predict(image[None])[0], atol=1e-6)
    assert t["prediction"] == int(model.predict(image[None]).argmax())
    np.testing.assert_allclose(t["input"], image.reshape(-1) / 255.0, atol=1e-7)
    layers = dict(model.activations(image[None]))
    for row in t["layers"]:
        np.testing.assert_allclose(row["activation"], layers[row["name"]].reshape(-1), atol=1e-5)
    hidden = t["layers"][1]
    x = np.asarray(t["input"], dtype=np.float64)
    z = x @ model.layers[1].kernel.astype(np.float64) + model.layers[1].bias
    np.testing.assert_allclose(hidden["z"], z, atol=1e-4)
    np.testing.assert_allclose(hidden["activation"], np.maximum(z, 0), atol=1e-4)


def test_softmax_steps(model, data):
    s = explain.trace(model, data[2][1])["softmax"]
    z = np.asarray(s["z"], dtype=np.float64)
    np.testing.assert_allclose(s["z_minus_max"], z - z.max(), atol=1e-5)
    assert max(s["z_minus_max"]) == 0.0
    np.testing.assert_allclose(s["exp"], np.exp(z - z.max()), rtol=1e-5)
    assert s["sum"] == pytest.approx(np.exp(z - z.max()).sum(), rel=1e-5)
    np.testing.assert_allclose(s["probs"], np.exp(z - z.max()) / np.exp(z - z.max()).sum(), atol=1e-6)


def test_contributions_add_up_to_the_weighted_sums(model, data):
    image = data[2][0]
    t = explain.trace(model, image)
    for output in (t["prediction"], 3):
        c = explain.output_contributions(model, image, output)
        assert c["bias"] + sum(c["contributions"]) == pytest.approx(c["z"], abs=1e-4)
        assert c["z"] == pytest.approx(t["layers"][2]["z"][output], abs=1e-5)
        assert all(r["contribution"] > 0 for r in c["top_up"])
        assert all(r["contribution"] < 0 for r in c["top_down"])
        assert [r["contribution"] for r in c["top_up"]] == sorted((r["contribution"] for r in c["top_up"]),
                                                                   reverse=True)
    for neuron in (0, 17, 255):
        pixels = explain.pixel_contributions(model, image, neuron)
        assert pixels.shape == (28, 28)
        assert pixels.sum() + model.layers[1].bias[neuron] == pytest.approx(t["layers"][1]["z"][neuron],
                                                                           abs=1e-4)
    everything = explain.first_layer_contributions(model, image)
    np.testing.assert_allclose(everything[:, 17], explain.pixel_contributions(model, image, 17).ravel())
    with pytest.raises(DigitlensError, match="0 to 255"):
        explain.pixel_contributions(model, image, 256)


# ---- neurons ------------------------------------------------------------------------------------

def test_weight_images_are_the_kernel_columns(model):
    images = explain.weight_images(model)
    kernel = model.layers[1].kernel
    assert images.shape == (256, 28, 28)
    np.testing.assert_array_equal(images[17], kernel[:, 17].reshape(28, 28))
    assert images[17][5, 14] == kernel[explain.pixel_to_index(5, 14), 17]


def test_output_templates(model, data):
    x = data[2][:300]
    w1, w2 = model.layers[1].kernel.astype(np.float64), model.layers[2].kernel.astype(np.float64)
    everyone = explain.output_templates(model)
    np.testing.assert_allclose(everyone.reshape(10, 784), (w1 @ w2).T, atol=1e-4)

    # Averaged over images, neuron j counts as often as it is active: W1 @ (fraction_active * W2).
    fraction = explain.neuron_activity(model, x)["fraction_active"]
    averaged = explain.output_templates(model, x)
    np.testing.assert_allclose(averaged.reshape(10, 784), (w1 @ (fraction[:, None] * w2)).T, atol=1e-4)

    # For one image the template is exact: a small change of the pixels that keeps the same neurons
    # active changes each output's score by (change . template).
    image = x[0].astype(np.float64).ravel() / 255
    template = explain.output_templates(model, image[None]).reshape(10, 784)
    nudge = 1e-3 * np.random.default_rng(0).standard_normal(784) * (image > 0)
    scores = lambda p: explain.trace(model, p.reshape(28, 28).astype(np.float32))["layers"][2]["z"]
    before, after = np.asarray(scores(image)), np.asarray(scores(image + nudge))
    np.testing.assert_allclose(after - before, template @ nudge, atol=2e-4)


def test_dead_neurons_are_the_ones_that_never_fire(weights_only, data):
    model = copy.deepcopy(weights_only)
    model.build()                                   # fresh views into its own params
    model.set_weights(weights_only.get_weights())
    model.layers[1].bias[[3, 40]] = -1000.0         # can never get a positive sum
    dead = explain.dead_neurons(model, data[2][:500])
    assert dead.dtype == bool and dead.shape == (256,)
    assert dead[3] and dead[40]
    activity = explain.neuron_activity(model, data[2][:500])
    assert not dead[activity["fraction_active"] > 0].any()


def test_neuron_detail_and_order(model, data):
    image = data[2][0]
    d = explain.neuron_detail(model, image, 17)
    t = explain.trace(model, image)
    assert d["z"] == pytest.approx(t["layers"][1]["z"][17], abs=1e-5)
    assert d["activation"] == pytest.approx(max(d["z"], 0.0), abs=1e-6)
    assert d["pixel_contributions"].sum() + d["bias"] == pytest.approx(d["z"], abs=1e-4)
    np.testing.assert_array_equal(d["outgoing"], model.layers[2].kernel[17])
    order = explain.neuron_order(model, data[2][:200], by="output")
    assert sorted(order["order"]) == list(range(256))
    favourites = order["favourite_output"][order["order"]]
    assert list(favourites) == sorted(favourites)


# ---- one step of backprop -----------------------------------------------------------------------

def real_step(model, image, label, optimizer):
    """An independent copy of the model, trained one step by its own train_step."""
    twin = lesson_model(seed=5).build()
    twin.set_weights(model.get_weights())
    twin.compile(optimizer, "sparse_categorical_crossentropy")
    before = twin.params.copy()
    twin.train_step(twin.prepare_inputs(image[None]), np.array([label]))
    return twin.params - before, twin.grads.copy()


def test_backprop_does_not_touch_the_model(model, data):
    params, m, v, steps = (model.params.copy(), model.optimizer.m.copy(), model.optimizer.v.copy(),
                           model.optimizer.iterations)
    explain.backprop_step(model, data[2][0], int(data[3][0]))
    np.testing.assert_array_equal(model.params, params)
    np.testing.assert_array_equal(model.optimizer.m, m)
    np.testing.assert_array_equal(model.optimizer.v, v)
    assert model.optimizer.iterations == steps


def test_backprop_delta_is_a_real_sgd_step(weights_only, data):
    image, label = data[2][0], int(data[3][0])
    step = explain.backprop_step(weights_only, image, label)
    assert step["optimizer"]["source"] == "default SGD" and step["optimizer"]["plain_gradient"]
    delta, grads = real_step(weights_only, image, label, SGD(0.01))
    ours = np.concatenate([np.concatenate([row["delta"]["kernel"].ravel(), row["delta"]["bias"]])
                           for row in step["layers"]])
    gradient = np.concatenate([np.concatenate([row["gradient"]["kernel"].ravel(), row["gradient"]["bias"]])
                               for row in step["layers"]])
    np.testing.assert_array_equal(ours, delta)
    np.testing.assert_array_equal(gradient, grads)
    np.testing.assert_allclose(ours, -0.01 * gradient, atol=1e-8)   # SGD: change = -rate x gradient
    maps = step["change_maps"]
    np.testing.assert_array_equal(maps[17], step["layers"][0]["delta"]["kernel"][:, 17].reshape(28, 28))
    # One image through ReLU: each neuron's change map is the image scaled by that neuron's blame.
    blame = np.asarray(step["layers"][0]["blame"])
    np.testing.assert_allclose(maps, -0.01 * blame[:, None, None] * image / 255.0, atol=1e-7)


def test_backprop_delta_is_the_models_own_adam_step(model, data):
    image, label = data[2][5], int(data[3][5])
    step = explain.backprop_step(model, image, label)
    assert step["optimizer"]["name"] == "Adam" and step["optimizer"]["source"] == "model"
    assert step["optimizer"]["step"] == model.optimizer.iterations + 1
    twin = lesson_model(seed=5).build()
    twin.set_weights(model.get_weights())
    twin.compile("adam")
    twin.optimizer = copy.deepcopy(model.optimizer)     # its running m, v and step count
    before = twin.params.copy()
    twin.train_step(twin.prepare_inputs(image[None]), np.array([label]))
    kernel = (twin.params - before)[:784 * 256].reshape(784, 256)
    np.testing.assert_array_equal(step["layers"][0]["delta"]["kernel"], kernel)


def test_gradient_matches_finite_differences(weights_only, data):
    image, label = data[2][3], int(data[3][3])
    step = explain.backprop_step(weights_only, image, label)
    w1, b1, w2, b2 = (w.astype(np.float64) for w in weights_only.get_weights())
    x = image.reshape(-1).astype(np.float64) / 255.0

    def loss(w1, b1, w2, b2):
        z = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
        return -(z[label] - z.max() - np.log(np.exp(z - z.max()).sum()))

    assert step["loss_before"] == pytest.approx(loss(w1, b1, w2, b2), abs=1e-6)
    eps = 1e-5
    rng = np.random.default_rng(0)
    inked = np.flatnonzero(x > 0.5)
    checks = [(0, int(i), int(j)) for i, j in zip(rng.choice(inked, 4), rng.integers(0, 256, 4))]
    checks += [(1, int(i), int(j)) for i, j in zip(rng.integers(0, 256, 4), rng.integers(0, 10, 4))]
    for layer, i, j in checks:
        arrays = [w1.copy(), b1, w2.copy(), b2]
        kernel = arrays[2 * layer]
        kernel[i, j] += eps
        up = loss(*arrays)
        kernel[i, j] -= 2 * eps
        down = loss(*arrays)
        numeric = (up - down) / (2 * eps)
        ours = step["layers"][layer]["gradient"]["kernel"][i, j]
        assert ours == pytest.approx(numeric, rel=2e-3, abs=1e-6), (layer, i, j)
    numeric_bias = []
    for k in range(10):
        bumped = b2.copy()
        bumped[k] += eps
        high = loss(w1, b1, w2, bumped)
        bumped[k] -= 2 * eps
        numeric_bias.append((high - loss(w1, b1, w2, bumped)) / (2 * eps))
    # the output layer's bias gradient is probs - onehot(label)
    np.testing.assert_allclose(step["layers"][1]["gradient"]["bias"], numeric_bias, atol=1e-5)
    np.testing.assert_allclose(step["output_error"], numeric_bias, atol=1e-5)


def test_the_right_digit_becomes_more_likely(model, weights_only, data):
    x, y = data[2], data[3]
    for m in (weights_only, model):
        i = misread(m, x, y)
        step = explain.backprop_step(m, x[i], int(y[i]))
        label = step["label"]
        assert step["probs_after"][label] > step["probs_before"][label]
        assert step["loss_after"] < step["loss_before"]
        np.testing.assert_allclose(step["probs_before"], m.predict(x[i][None])[0], atol=1e-6)
    # the strongest changes: largest increases and decreases, sorted, pointing at real weights
    up, down = step["top_strengthened"], step["top_weakened"]
    assert all(d > 0 for *_, d in up) and all(d < 0 for *_, d in down)
    assert [d for *_, d in up] == sorted((d for *_, d in up), reverse=True)
    layers = {row["name"]: row for row in step["layers"]}
    for name, i, j, d in up + down:
        assert layers[name]["delta"]["kernel"][i, j] == d
    largest = max(np.max(row["delta"]["kernel"]) for row in step["layers"])
    assert up[0][3] == largest


def test_backprop_with_a_given_optimizer_and_rate(weights_only, data):
    step = explain.backprop_step(weights_only, data[2][0], int(data[3][0]), optimizer="adam")
    assert step["optimizer"]["name"] == "Adam" and "first step" in step["note"]
    # Adam's first step (m = 0.1 g, v = 0.001 g^2, lr_t = lr * sqrt(0.001) / 0.1) moves each weight
    # by lr * a / (a + eps) with a = sqrt(0.001) |g|: about lr = 0.001 against the sign of its
    # gradient, whatever the gradient's size, unless it is so small that epsilon matters.
    delta, grad = step["layers"][1]["delta"]["kernel"], step["layers"][1]["gradient"]["kernel"]
    a = np.sqrt(0.001) * np.abs(grad.astype(np.float64))
    np.testing.assert_allclose(delta, -0.001 * np.sign(grad) * a / (a + 1e-7), rtol=1e-3, atol=1e-9)
    clear = np.abs(grad) > 1e-3
    np.testing.assert_allclose(delta[clear], -0.001 * np.sign(grad[clear]), rtol=0.005)
    slow = explain.backprop_step(weights_only, data[2][0], int(data[3][0]), learning_rate=0.001)
    assert slow["optimizer"]["learning_rate"] == 0.001
    with pytest.raises(DigitlensError, match="label"):
        explain.backprop_step(weights_only, data[2][0], 10)


# ---- other shapes of network --------------------------------------------------------------------

def test_deeper_network_with_dropout_and_flat_input(data):
    x, y, x_test, y_test = data
    model = Sequential([Dense(64, "tanh", input_shape=(784,)), Dropout(0.3), Dense(32, "relu"),
                        Dense(10, "softmax")], seed=0)
    model.compile(Adam(0.002))
    model.fit(x[:2000].reshape(-1, 784), y[:2000], epochs=1, verbose=0)
    image = x_test[0]
    t = explain.trace(model, image)
    np.testing.assert_allclose(t["probabilities"], model.predict(image.reshape(1, 784))[0], atol=1e-6)
    assert [row["type"] for row in t["layers"]] == ["Dense", "Dropout", "Dense", "Dense"]
    assert explain.weight_images(model).shape == (64, 28, 28)
    assert explain.output_templates(model, x_test[:50]).shape == (10, 28, 28)
    c = explain.output_contributions(model, image, 3)
    assert len(c["contributions"]) == 32
    assert c["bias"] + sum(c["contributions"]) == pytest.approx(c["z"], abs=1e-4)
    table = explain.parameter_table(model)
    assert table["total"] == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10 == model.params.size
    i = misread(model, x_test[:200], y_test[:200])
    first = explain.backprop_step(model, x_test[i], int(y_test[i]))
    again = explain.backprop_step(model, x_test[i], int(y_test[i]))
    assert first["probs_after"] == again["probs_after"]            # Dropout is off: repeatable
    assert first["probs_after"][first["label"]] > first["probs_before"][first["label"]]


# ---- test set, history, JSON, display -----------------------------------------------------------

def test_evaluate(model, data):
    _, _, x, y = data
    e = explain.evaluate(model, x, y)
    loss, accuracy = model.evaluate(x, y)
    assert e["accuracy"] == pytest.approx(accuracy) and e["loss"] == pytest.approx(loss, rel=1e-5)
    confusion = np.asarray(e["confusion"])
    assert confusion.sum() == len(y) and np.trace(confusion) / len(y) == pytest.approx(accuracy)
    np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(y, minlength=10))
    for k in range(10):
        assert e["per_class_accuracy"][k] == pytest.approx(confusion[k, k] / confusion[k].sum())
    mistakes = e["confident_mistakes"]
    assert mistakes and all(m["label"] != m["predicted"] for m in mistakes)
    assert [m["confidence"] for m in mistakes] == sorted((m["confidence"] for m in mistakes), reverse=True)
    probs = model.predict(x[mistakes[0]["index"]][None])[0]
    assert mistakes[0]["confidence"] == pytest.approx(probs.max())


def test_curves(model):
    c = explain.curves(model.history)
    assert c["epoch"]["x"] == [1] and len(c["epoch"]["loss"]) == 1
    steps = len(model.history.batches)
    assert len(c["batch"]["loss"]) == steps == 188
    assert c["batch"]["x"][-1] == pytest.approx(1.0) and c["batch"]["x"][0] == pytest.approx(1 / steps)
    assert len(c["batch"]["smoothed_loss"]) == steps
    assert explain.curves({"loss": [0.5, 0.3]})["epoch"]["loss"] == [0.5, 0.3]
    # a run stopped in its second epoch: that epoch's batches sit where they ran, not stretched out
    stopped = {"history": {"loss": [0.5, 0.4]}, "epoch": [0, 1],
               "batches": [{"epoch": e, "batch": b, "loss": 1.0, "accuracy": 0.5} for e, n in ((0, 4), (1, 2)) for b in range(n)]}
    assert explain.curves(stopped)["batch"]["x"] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
    with pytest.raises(DigitlensError, match="history"):
        explain.curves(None)


def test_everything_converts_to_json(model, data):
    image, label = data[2][0], int(data[3][0])
    for result in (explain.parameter_table(model), explain.trace(model, image),
                   explain.output_contributions(model, image, 7), explain.evaluate(model, data[2], data[3]),
                   explain.backprop_step(model, image, label), explain.neuron_detail(model, image, 3),
                   explain.curves(model.history), explain.flatten_strip(image)):
        json.loads(json.dumps(explain.to_json(result)))
    e = explain.explain(model, image, label, data[2][:200], data[3][:200])
    text = json.dumps(e.to_json())
    assert '"prediction"' in text and '"backprop"' in text


def test_explanation_is_drawn_by_viz_and_explain_draws_nothing(model, data):
    from digitlens.viz.html import explanation_html, model_html

    e = explain.explain(model, data[2][0], int(data[3][0]))
    page = explanation_html(e)
    assert "<img" in page and "data:image/png;base64," in page and "prediction" in page.lower()
    assert "<svg" in model_html(model)
    # Dependencies point one way: explain computes, viz draws; explain never imports viz.
    for source in Path(explain.__file__).parent.glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import)\s+(\S+)", source.read_text(), flags=re.M)
        assert not [name for name in imports if "viz" in name], source


def test_backprop_after_a_finished_schedule_still_teaches(small_trained_model, mnist):
    """The default recipe's learning rate decays to 0; a step with it would change nothing, so
    the explanation takes a plain SGD step instead and says so."""
    from digitlens.explain.backprop import backprop_step

    assert small_trained_model.optimizer.current_learning_rate() < 1e-9
    (_, _), (x_test, y_test) = mnist
    wrong_label = (int(y_test[0]) + 1) % 10
    step = backprop_step(small_trained_model, x_test[0], wrong_label)
    assert step["optimizer"]["source"] == "default SGD, schedule finished"
    assert "decayed to 0" in step["note"]
    assert step["probs_after"][wrong_label] > step["probs_before"][wrong_label]


# ---- every hidden layer of a deeper network -----------------------------------------------------

@pytest.fixture(scope="module")
def keras_deep():
    """Keras's own Flatten -> Dense(16, tanh) -> Dense(8, sigmoid) -> Dense(10, softmax), read by digitlens.io."""
    from digitlens.io import load_model

    return load_model(Path(__file__).parent / "fixtures" / "keras_small_tanh.keras")


@pytest.fixture(scope="module")
def relu_deep(data):
    """Dense(64, relu) -> Dropout -> Dense(32, relu) -> Dense(10), trained briefly: every layer below
    the outputs is piecewise linear."""
    x, y, _, _ = data
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(64, "relu"), Dropout(0.2), Dense(32, "relu"),
                        Dense(10, "softmax")], seed=0)
    model.compile(Adam(0.002))
    model.fit(x[:3000], y[:3000], epochs=1, verbose=0)
    return model


def torch_pixel_gradient(model, image, layer, unit):
    """d z / d pixels by torch's autograd on the same weights: an independent computation."""
    import torch

    x = torch.tensor(image.reshape(1, -1) / 255.0, dtype=torch.float64, requires_grad=True)
    a = x
    dense = [lay for lay in model.layers if lay.connectivity == "full"]
    functions = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda v: v}
    for j, lay in enumerate(dense[:layer + 1]):
        z = a @ torch.tensor(lay.kernel, dtype=torch.float64) + torch.tensor(lay.bias, dtype=torch.float64)
        if j == layer:
            z[0, unit].backward()
            return x.grad.numpy().reshape(28, 28), float(z[0, unit].detach())
        a = functions[lay.activation.name](z)


def test_every_hidden_layer_is_inspectable_with_the_right_references(keras_deep, data):
    image = data[2][1]
    t = explain.trace(keras_deep, image)
    hidden1, hidden2, output = [row for row in t["layers"] if row["fully_connected"]]
    # an output is pushed by the neurons of the LAST hidden layer (8 sigmoid neurons), and says so
    c = explain.output_contributions(keras_deep, image, 4)
    assert c["from_layer"] == 1 and c["from_layer_name"] == hidden2["name"] and len(c["contributions"]) == 8
    np.testing.assert_allclose(c["activations"], hidden2["activation"], atol=1e-6)
    assert c["bias"] + sum(c["contributions"]) == pytest.approx(output["z"][4], abs=1e-5)
    # a second-layer neuron: driven by the first layer's 16 tanh neurons, pushing into the 10 outputs
    d = explain.neuron_detail(keras_deep, image, 5, layer=1)
    kernel1, kernel2 = keras_deep.layers[2].kernel, keras_deep.layers[3].kernel
    assert d["layer"] == hidden2["name"] and d["layer_index"] == 1 and d["activation_name"] == "sigmoid"
    assert d["z"] == pytest.approx(hidden2["z"][5], abs=1e-6)
    assert d["incoming"]["from_layer"] == 0 and len(d["incoming"]["contributions"]) == 16
    np.testing.assert_allclose(d["incoming"]["activations"], hidden1["activation"], atol=1e-6)
    np.testing.assert_array_equal(d["incoming"]["weights"], kernel1[:, 5])
    assert d["incoming"]["bias"] + sum(d["incoming"]["contributions"]) == pytest.approx(d["z"], abs=1e-5)
    np.testing.assert_array_equal(d["outgoing"], kernel2[5])             # its weights to the outputs
    np.testing.assert_allclose(d["pushes"], d["activation"] * kernel2[5], rtol=1e-6)
    assert d["next_is_output"] and d["next_layer_index"] == 2
    # which pixels drove it: d z / d pixels through the tanh layer, as torch's autograd has it
    expected, z = torch_pixel_gradient(keras_deep, image, 1, 5)
    np.testing.assert_allclose(d["weights"], expected, rtol=1e-4, atol=1e-6)
    assert z == pytest.approx(d["z"], abs=1e-5) and d["weights_exact"] is False
    np.testing.assert_allclose(d["pixel_contributions"], image / 255.0 * d["weights"], atol=1e-6)
    assert d["pixel_rest"] == pytest.approx(d["z"] - d["pixel_contributions"].sum(), abs=1e-5)
    assert "sigmoid" in d["state"] and "silent" not in d["state"]
    # a first-layer neuron: its own weights, and the next layer is another hidden layer
    first = explain.neuron_detail(keras_deep, image, 3, layer=0)
    np.testing.assert_array_equal(first["weights"], keras_deep.layers[1].kernel[:, 3].reshape(28, 28))
    assert first["weights_exact"] and first["pixel_rest"] == pytest.approx(first["bias"], abs=1e-5)
    np.testing.assert_array_equal(first["outgoing"], kernel1[3])         # to the 8 sigmoid neurons
    assert not first["next_is_output"] and first["incoming"]["from_layer"] is None
    # drawing orders: only the last hidden layer has favourite outputs
    assert (explain.neuron_order(keras_deep, layer=0)["favourite_output"] == -1).all()
    np.testing.assert_array_equal(explain.neuron_order(keras_deep, layer=1)["favourite_output"], kernel2.argmax(axis=1))
    with pytest.raises(DigitlensError, match="hidden layer number from 0 to 1"):
        explain.neuron_detail(keras_deep, image, 0, layer=2)
    with pytest.raises(DigitlensError, match="0 to 7"):
        explain.neuron_detail(keras_deep, image, 8, layer=1)


def test_effective_weights_are_exact_through_relu_layers(relu_deep, data):
    """Below relu layers, z = pixels . effective weights + rest holds exactly near the image: a small
    change of ink that switches no neuron on or off changes z by exactly change . weights."""
    image = data[2][2]
    d = explain.neuron_detail(relu_deep, image, 7, layer=1)
    assert d["weights_exact"]
    expected, _ = torch_pixel_gradient(relu_deep, image, 1, 7)
    np.testing.assert_allclose(d["weights"], expected, rtol=1e-4, atol=1e-6)
    rng = np.random.default_rng(1)
    nudge = rng.normal(0, 1e-3, (28, 28)).astype(np.float32)
    x = image / np.float32(255.0)
    below = explain.trace(relu_deep, x)["layers"][1]["activation"]
    moved = explain.trace(relu_deep, x + nudge)
    assert (np.asarray(moved["layers"][1]["activation"]) > 0).tolist() == (np.asarray(below) > 0).tolist()
    change = moved["layers"][3]["z"][7] - d["z"]
    assert change == pytest.approx(float((nudge * d["weights"]).sum()), abs=2e-5)
    assert explain.pixel_contributions(relu_deep, image, 7, layer=1).sum() + d["pixel_rest"] == pytest.approx(d["z"], abs=1e-4)


def test_templates_through_two_hidden_layers_are_the_mean_pixel_gradient(keras_deep, data):
    x = data[2][:20]
    templates = explain.output_templates(keras_deep, x)
    expected = np.mean([torch_pixel_gradient(keras_deep, image, 2, 6)[0] for image in x], axis=0)
    np.testing.assert_allclose(templates[6], expected, rtol=1e-3, atol=1e-6)
    # what a neuron of the second hidden layer looks for: its own d z / d pixels, averaged
    second = explain.layer_templates(keras_deep, x, 1)
    assert second.shape == (8, 28, 28)
    expected = np.mean([torch_pixel_gradient(keras_deep, image, 1, 3)[0] for image in x], axis=0)
    np.testing.assert_allclose(second[3], expected, rtol=1e-3, atol=1e-6)
    np.testing.assert_array_equal(explain.layer_templates(keras_deep, x, 0), explain.weight_images(keras_deep))


def test_several_steps_in_a_row_are_the_same_as_steps_taken_one_by_one(weights_only, data):
    image, label = data[2][8], (int(data[3][8]) + 3) % 10
    run = explain.backprop_step(weights_only, image, label, steps=4, learning_rate=0.05)
    twin = lesson_model(seed=5).build()
    twin.set_weights(weights_only.get_weights())
    twin.compile(SGD(0.05), "sparse_categorical_crossentropy")
    x = twin.prepare_inputs(image[None])
    losses = []
    for _ in range(4):
        losses.append(float(-np.log(twin.predict(x)[0][label])))
        before = twin.params.copy()
        twin.train_step(x, np.array([label]))
    losses.append(float(-np.log(twin.predict(x)[0][label])))
    np.testing.assert_allclose(run["losses"], losses, rtol=1e-5)
    assert run["losses"] == sorted(run["losses"], reverse=True)           # the loss falls step by step
    assert run["loss_before"] == pytest.approx(losses[3], rel=1e-5) and run["steps"] == 4
    delta = twin.params - before
    np.testing.assert_array_equal(run["layers"][1]["delta"]["kernel"].ravel(), delta[784 * 256 + 256:-10])
    np.testing.assert_allclose(run["label_probs"], np.exp(-np.asarray(losses)), rtol=1e-5)
    assert explain.backprop_step(weights_only, image, label, steps=4, learning_rate=0.05)["losses"] == run["losses"]
    with pytest.raises(DigitlensError, match="steps"):
        explain.backprop_step(weights_only, image, label, steps=0)


def test_the_words_follow_the_activation_and_the_numbers():
    from digitlens.explain import words

    tanh = words.neuron_state("tanh", -0.64, -0.565)
    assert "negative" in tanh and "silent" not in tanh and "\u22120.565" in tanh
    assert "silent" in words.neuron_state("relu", -0.3, 0.0)
    assert "fires" in words.neuron_state("relu", 0.3, 0.3)
    blank = words.neuron_state("relu", 0.12, 0.12, blank=True, bias=0.12)
    assert blank.startswith("The image is blank") and "its bias (0.120)" in blank
    assert "nearly off" in words.neuron_state("sigmoid", -3.0, 0.047)
    names = [str(k) for k in range(10)]
    probs = [0.01] * 10
    probs[4], probs[9] = 0.358, 0.301
    assert words.confidence(probs, names) == "not sure: its best guess is 4, then 9 (30.1%)"
    probs = [0.0] * 10
    probs[7] = 0.992
    assert words.confidence(probs, names) == "sure it is 7"
    probs[7], probs[1] = 0.7, 0.3
    assert words.confidence(probs, names) == "fairly sure it is 7"
# ---- a convolutional network -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def cnn():
    """A small CNN real Keras trained (tests/fixtures/keras_cnn.keras): Conv2D -> MaxPooling2D -> Flatten -> Dense -> Dense."""
    from digitlens import io

    return io.load_model(Path(__file__).parent / "fixtures" / "keras_cnn.keras")


def test_a_cnn_is_traced_and_its_dense_layers_explained_with_its_own_numbers(cnn, data):
    _, _, x_test, y_test = data
    t = explain.trace(cnn, x_test[0])
    np.testing.assert_allclose(t["probabilities"], cnn.predict(x_test[:1])[0], atol=1e-6)
    assert [row["type"] for row in t["layers"]] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert len(t["layers"][0]["activation"]) == 26 * 26 * 4 and t["image_shape"] == [28, 28]
    contributions = explain.output_contributions(cnn, x_test[0], t["prediction"])
    assert sum(contributions["contributions"]) + contributions["bias"] == pytest.approx(contributions["z"], abs=1e-4)
    step = explain.backprop_step(cnn, x_test[0], int(y_test[0]))
    assert step["change_maps"] is None and [row["name"] for row in step["layers"]] == ["dense", "dense_1"]
    assert step["loss_after"] < step["loss_before"]
    assert explain.evaluate(cnn, x_test, y_test)["accuracy"] > 0.5
    assert explain.parameter_table(cnn)["layers"][0]["text"] == (
        "3 x 3 kernel x 1 channel x 4 filters = 36 weights + 4 biases = 40")
    json.dumps(explain.explain(cnn, x_test[0], int(y_test[0]), x_test[:100], y_test[:100]).to_json())


@pytest.mark.parametrize("view", [
    lambda m, x: explain.weight_images(m), lambda m, x: explain.output_templates(m),
    lambda m, x: explain.output_templates(m, x[:10]), lambda m, x: explain.pixel_contributions(m, x[0], 0),
    lambda m, x: explain.first_layer_contributions(m, x[0]), lambda m, x: explain.neuron_detail(m, x[0], 0),
], ids=["weight_images", "output_templates", "output_templates on images", "pixel_contributions",
        "first_layer_contributions", "neuron_detail"])
def test_views_of_per_pixel_weights_refuse_a_cnn_in_one_sentence(view, cnn, data):
    with pytest.raises(DigitlensError) as info:
        view(cnn, data[2])
    assert str(info.value) == ("this view needs a first Dense layer that reads the image's pixels, but the first "
                               "Dense layer of model 'sequential', 'dense', reads the 676 outputs of conv2d (Conv2D) "
                               "-> max_pooling2d (MaxPooling2D) -> flatten (Flatten) instead")
