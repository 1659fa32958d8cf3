"""explain.conv on real-Keras CNNs and real MNIST: filters, feature maps, pooling, receptive fields,
BatchNormalization - each held to the model's own forward pass and to a computation by hand."""

from pathlib import Path

import numpy as np
import pytest

from digitlens import io
from digitlens.errors import DigitlensError
from digitlens.explain import conv
from digitlens.explain.common import prepare_one
from digitlens.nn import lesson_model

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def cnn():
    """Conv2D(4, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(8) -> Dense(10), trained by real Keras."""
    return io.load_model(FIXTURES / "keras_cnn.keras")


@pytest.fixture(scope="module")
def cnn_bn():
    """Reshape -> Conv2D(4, 3, strides 2, same) -> BatchNorm -> AveragePooling2D -> Conv2D(8, 3) -> GAP -> Dense."""
    return io.load_model(FIXTURES / "keras_cnn_bn.keras")


@pytest.fixture(scope="module")
def digits(mnist):
    _, (x_test, y_test) = mnist
    return x_test[:64], y_test[:64]


def convolve_by_hand(image, kernel, bias, stride, pad):
    """(H, W, C) * (KH, KW, C, F): a loop over every position, as one writes it on paper."""
    (top, bottom), (left, right) = pad
    padded = np.pad(image.astype(np.float64), ((top, bottom), (left, right), (0, 0)))
    kh, kw, _, f = kernel.shape
    oh = (padded.shape[0] - kh) // stride + 1
    ow = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((f, oh, ow))
    for k in range(f):
        for r in range(oh):
            for c in range(ow):
                window = padded[r * stride:r * stride + kh, c * stride:c * stride + kw, :]
                out[k, r, c] = max(0.0, float(np.sum(window * kernel[..., k])) + bias[k])     # relu
    return out


def test_descriptions_say_where_each_layer_looks(cnn, cnn_bn):
    d = {layer.name: layer.describe() for layer in cnn_bn.layers}
    assert (d["conv2d"].window, d["conv2d"].strides, d["conv2d"].padding) == ((3, 3), (2, 2), ((0, 1), (0, 1)))
    assert (d["average_pooling2d"].pooling, d["average_pooling2d"].window) == ("mean", (2, 2))
    assert d["batch_normalization"].normalization == "batch" and d["batch_normalization"].window is None
    assert d["global_average_pooling2d"].window == (5, 5)
    assert cnn.layers[1].describe().pooling == "max"
    assert all(layer.describe().window is None for layer in cnn.layers[2:])       # Flatten, Dense
    assert cnn.layers[0].describe().to_json()["window"] == (3, 3)


def test_filters_are_the_kernels_keras_saved(cnn):
    f = conv.filters(cnn)
    kernel, bias = cnn.layers[0].get_weights()
    assert f["kernel"].shape == (4, 3, 3, 1)
    np.testing.assert_array_equal(f["kernel"][2, :, :, 0], kernel[:, :, 0, 2])
    np.testing.assert_array_equal(f["bias"], bias)
    assert f["limit"] == pytest.approx(np.abs(kernel).max())


@pytest.mark.parametrize("which", ["cnn", "cnn_bn"])
def test_feature_maps_are_the_convolution_done_by_hand(which, request, digits):
    model = request.getfixturevalue(which)
    image = digits[0][0]
    maps = conv.feature_maps(model, image, strongest=4)
    layer = model.layers[maps["position"]]
    kernel, bias = layer.get_weights()
    pixels = prepare_one(model, image)[0].reshape(28, 28, 1)
    by_hand = convolve_by_hand(pixels, kernel, bias, layer.strides[0], layer.describe().padding)
    np.testing.assert_allclose(maps["maps"], by_hand, atol=1e-5)
    for k, best in enumerate(maps["strongest"]):
        values = [b["value"] for b in best]
        assert values == sorted(values, reverse=True) and values[0] == pytest.approx(by_hand[k].max(), abs=1e-5)
        for b in best:
            assert by_hand[k, b["row"], b["col"]] == pytest.approx(b["value"], abs=1e-5)
            # the window named is the one that made the value: the pixels outside it change nothing
            only = np.zeros_like(pixels)
            only[b["rows"][0]:b["rows"][1] + 1, b["cols"][0]:b["cols"][1] + 1] = \
                pixels[b["rows"][0]:b["rows"][1] + 1, b["cols"][0]:b["cols"][1] + 1]
            again = convolve_by_hand(only, kernel, bias, layer.strides[0], layer.describe().padding)
            assert again[k, b["row"], b["col"]] == pytest.approx(b["value"], abs=1e-5)
    assert maps["order"][0] == int(np.argmax(by_hand.max(axis=(1, 2))))
    np.testing.assert_allclose(maps["active"], (by_hand > 0).mean(axis=(1, 2)))


def test_max_pooling_keeps_each_windows_largest_and_says_where_it_was(cnn, digits):
    step = conv.pooling_step(cnn, digits[0][3])
    before, after = step["input"], step["output"]
    assert (before.shape, after.shape, step["pooling"]) == ((4, 26, 26), (4, 13, 13), "max")
    channels = np.arange(4)[:, None, None]
    np.testing.assert_array_equal(before[channels, step["winner_rows"], step["winner_cols"]], after)
    for k in range(4):
        for r in range(13):
            for c in range(13):
                window = before[k, 2 * r:2 * r + 2, 2 * c:2 * c + 2]
                assert after[k, r, c] == window.max()                                  # the model kept the max
                wr, wc = divmod(int(np.argmax(window)), 2)                              # first in reading order
                assert (step["winner_rows"][k, r, c], step["winner_cols"][k, r, c]) == (2 * r + wr, 2 * c + wc)
    assert step["kept"] == pytest.approx(0.25)
    strongest = after.max(axis=(1, 2))
    assert step["order"] == sorted(range(4), key=lambda k: -strongest[k])
    ex = step["example"]                           # the window behind the strongest pooled value, by hand
    c = step["order"][0]
    r, col = np.unravel_index(np.argmax(after[c]), (13, 13))
    assert (ex["channel"], ex["row"], ex["col"], ex["rows"], ex["cols"]) == (c, r, col, [2 * r, 2 * r + 1],
                                                                              [2 * col, 2 * col + 1])
    np.testing.assert_array_equal(ex["values"], before[c, 2 * r:2 * r + 2, 2 * col:2 * col + 2])
    assert ex["value"] == ex["values"].max() == before[c][ex["winner"]]


def test_average_pooling_is_each_windows_mean(cnn_bn, digits):
    step = conv.pooling_step(cnn_bn, digits[0][1])
    before, after = step["input"], step["output"]
    assert step["winner_rows"] is None and after.shape == (4, 7, 7) and step["example"]["winner"] is None
    assert step["example"]["value"] == pytest.approx(step["example"]["values"].mean(), abs=1e-6)
    by_hand = before.reshape(4, 7, 2, 7, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(after, by_hand, atol=1e-6)
    last = conv.pooling_step(cnn_bn, digits[0][1], layer=-1)                   # the global average
    np.testing.assert_allclose(last["output"][:, 0, 0], last["input"].mean(axis=(1, 2)), atol=1e-6)


@pytest.mark.parametrize("which, layer, row, col, rows, cols", [
    ("cnn", "conv2d", 5, 7, [5, 7], [7, 9]),                       # a 3x3 kernel
    ("cnn", "max_pooling2d", 5, 7, [10, 13], [14, 17]),            # 2x2 of 3x3 windows: 4x4 pixels
    ("cnn_bn", "conv2d", 13, 0, [26, 27], [0, 2]),                 # stride 2; the padded row cut off
    ("cnn_bn", "conv2d_1", 1, 2, [4, 16], [8, 20]),                # 3 x (2 x (stride 2 of 3)): 13x13
])
def test_receptive_fields_by_hand_and_by_the_models_own_forward_pass(which, layer, row, col, rows, cols,
                                                                     request, digits):
    model = request.getfixturevalue(which)
    field = conv.receptive_field(model, layer, row, col)
    assert (field["rows"], field["cols"]) == (rows, cols)
    assert field["steps"][0]["name"] == layer and field["steps"][-1]["name"] == "input pixels"
    position = [lay.name for lay in model.layers].index(layer)
    image = digits[0][5].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    inside = np.zeros((28, 28), bool)
    inside[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True

    def unit(img):
        return conv.layer_outputs(model, img)[1][position][row, col]

    changed = image.copy()
    changed[~inside] = rng.random(int((~inside).sum()))
    np.testing.assert_array_equal(unit(changed), unit(image))          # nothing outside the field matters
    moved = [not np.allclose(unit(np.where(one, rng.random((28, 28)), image)), unit(image))
             for one in [inside & (np.arange(28)[:, None] == r) for r in (rows[0], rows[1])]]
    assert all(moved)                                                  # its first and last rows do


def test_receptive_field_refuses_units_without_a_place(cnn):
    with pytest.raises(DigitlensError, match="'dense' \\(Dense\\) outputs \\(8,\\), not feature maps"):
        conv.receptive_field(cnn, "dense", 0, 0)
    with pytest.raises(DigitlensError, match="row: expected a number from 0 to 12, received 13"):
        conv.receptive_field(cnn, 1, 13, 0)


def test_batch_norm_statistics_are_what_the_layer_does_in_training(cnn_bn, digits):
    x = digits[0]
    stats = conv.batch_norm_statistics(cnn_bn, x)
    twin = io.load_model(FIXTURES / "keras_cnn_bn.keras")             # its moving averages will move
    a = twin.prepare_inputs(x)
    for layer in twin.layers[:stats["position"]]:
        a = layer.forward(a, training=False)
    norm = twin.layers[stats["position"]]
    y = norm.forward(a, training=True).reshape(-1, 4)
    np.testing.assert_allclose(stats["mean"], a.reshape(-1, 4).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats["output_mean"], y.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(stats["output_std"], y.std(axis=0), atol=1e-5)
    np.testing.assert_allclose(stats["moving_mean_after"], norm.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(stats["moving_variance_after"], norm.moving_variance, rtol=1e-5)
    assert stats["count"] == 64 * 14 * 14 and stats["epsilon"] == pytest.approx(1e-3)
    # at prediction: y = scale * x + shift, with the moving averages - the model's own output
    original = cnn_bn.layers[stats["position"]]
    predicted = original.forward(a, training=False).reshape(-1, 4)
    np.testing.assert_allclose(predicted, a.reshape(-1, 4) * stats["prediction_scale"] + stats["prediction_shift"],
                               atol=1e-5)
    assert not np.allclose(stats["moving_mean"], 0)                    # Keras's training moved them


def test_a_dense_model_has_none_of_these_and_says_so(cnn):
    dense = lesson_model(seed=0).build()
    with pytest.raises(DigitlensError, match="has no convolutional layers"):
        conv.feature_maps(dense, np.zeros((28, 28)))
    with pytest.raises(DigitlensError, match="has no normalisation layers"):
        conv.batch_norm_statistics(cnn, np.zeros((2, 28, 28)))
    with pytest.raises(DigitlensError, match="layer: expected a number from 0 to 0 for the model's pooling layers"):
        conv.pooling_step(cnn, np.zeros((28, 28)), layer=1)


def test_backprop_step_says_what_changed_in_each_filter(cnn, digits):
    from digitlens.explain import backprop_step, make_twin
    from digitlens.nn import losses

    image, label = digits[0][0], int(digits[1][0])
    step = backprop_step(cnn, image, label, optimizer="sgd", learning_rate=0.05)
    (row,) = step["filters"]
    assert row["name"] == "conv2d" and row["kernel_shape"] == [3, 3, 1, 4]
    np.testing.assert_array_equal(row["before"], cnn.layers[0].get_weights()[0])
    np.testing.assert_allclose(row["after"] - row["before"], row["delta"]["kernel"], atol=1e-7)
    np.testing.assert_allclose(row["delta"]["kernel"], -0.05 * row["gradient"]["kernel"], atol=1e-7)   # plain SGD
    np.testing.assert_allclose(row["change"], np.sqrt((row["delta"]["kernel"] ** 2).sum(axis=(0, 1, 2))), rtol=1e-5)
    assert row["order"][0] == int(np.argmax(row["change"]))
    # the gradient is the loss's slope: central differences on a twin's kernel agree
    twin, _ = make_twin(cnn, "sgd")
    x = prepare_one(cnn, image)
    loss = losses.get("sparse_categorical_crossentropy")
    kernel = twin.layers[0].kernel

    def at():
        return float(loss(twin.predict(x), np.array([label])))

    numeric = np.zeros(kernel.shape)            # a small step: relu and max pooling have kinks a big one crosses
    for index in np.ndindex(kernel.shape):
        old = float(kernel[index])
        kernel[index] = old + 2e-4
        up = at()
        kernel[index] = old - 2e-4
        down = at()
        kernel[index] = old
        numeric[index] = (up - down) / 4e-4
    np.testing.assert_allclose(row["gradient"]["kernel"], numeric, atol=2e-3, rtol=0.05)
    assert backprop_step(lesson_model(seed=0).build(), image, label)["filters"] == []


def test_same_padding_never_lets_a_padded_position_win_or_widen_a_field(digits):
    from digitlens.nn import Sequential
    from digitlens.nn.layers import Dense, Flatten
    from digitlens.nn.pooling import MaxPooling2D
    from digitlens.nn.reshaping import Reshape

    model = Sequential([Reshape((28, 28, 1), input_shape=(28, 28)), MaxPooling2D(3, strides=2, padding="same"),
                        Flatten(), Dense(10, "softmax")], seed=0).build()
    image = digits[0][7]
    step = conv.pooling_step(model, image)
    pixels = prepare_one(model, image)[0].reshape(28, 28)
    assert step["output"].shape == (1, 14, 14) and step["padding"] == ((0, 1), (0, 1))
    np.testing.assert_array_equal(pixels[step["winner_rows"][0], step["winner_cols"][0]], step["output"][0])
    for r in range(14):
        for c in range(14):
            window = pixels[2 * r:2 * r + 3, 2 * c:2 * c + 3]            # the padded row and column are no values
            wr, wc = divmod(int(np.argmax(window)), window.shape[1])
            assert (step["winner_rows"][0, r, c], step["winner_cols"][0, r, c]) == (2 * r + wr, 2 * c + wc)
    corner = step["example"]
    assert corner["values"].size == (corner["rows"][1] - corner["rows"][0] + 1) * (corner["cols"][1] - corner["cols"][0] + 1)
    field = conv.receptive_field(model, 1, 13, 13)
    assert (field["rows"], field["cols"], field["size"]) == ([26, 27], [26, 27], [2, 2])


def test_every_result_is_ready_for_json(cnn_bn, digits):
    import json

    from digitlens.explain import to_json

    image = digits[0][0]
    for result in (conv.filters(cnn_bn, 1), conv.feature_maps(cnn_bn, image, 1), conv.pooling_step(cnn_bn, image),
                   conv.receptive_field(cnn_bn, "conv2d_1", 0, 0), conv.batch_norm_statistics(cnn_bn, digits[0][:8])):
        again = json.loads(json.dumps(to_json(result)))
        assert set(again) == set(result)


def test_before_dense_sums_up_each_layers_own_outputs(cnn_bn, digits):
    from digitlens import explain

    t = explain.trace(cnn_bn, digits[0][2])
    rows = conv.before_dense(t)
    assert [r["name"] for r in rows] == [lay.name for lay in cnn_bn.layers[:-1]]          # all but the Dense
    _, outputs = conv.layer_outputs(cnn_bn, digits[0][2])
    for row, out in zip(rows, outputs):
        assert (row["count"], row["largest"], row["smallest"]) == (out.size, float(out.max()), float(out.min()))
        assert row["above_zero"] == pytest.approx(float((out > 0).mean()))
