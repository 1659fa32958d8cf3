"""The convolutional layers' math: every gradient against finite differences, one 3x3 convolution
and one 2x2 pooling step worked by hand, and every layer's output against real Keras's.

Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization (training and
inference) and Reshape, in each padding and stride mode they have.
"""

import numpy as np
import pytest

from digitlens import nn
from digitlens.errors import DigitlensError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")


def numerical_gradient(f, x, eps):
    """Central differences of the scalar f() with respect to every entry of x (changed in place)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def distinct_inputs(shape, seed, spacing=0.05):
    """Inputs whose values all differ by at least `spacing`: a nudge of eps < spacing / 2 never
    changes which value wins a max-pooling window, so the max is differentiable there."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * spacing - n * spacing / 2).reshape(shape).astype(np.float64)


def check_layer_gradients(layer, input_shape, x=None, training=True, seed=0, eps=1e-3):
    """dL/dx and dL/d(every parameter) from backward against finite differences, for the
    scalar L = sum(R * layer(x)) with random R (so dL/dy = R). The layer's arithmetic runs in
    float32; x and the parameters are nudged in float64 and copied in."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential([layer], seed=seed).build(input_shape)
    layer.needs_input_grad = True
    model.params[:] = rng.normal(scale=0.5, size=model.params.size)
    if "moving_variance" in layer.state_shapes():
        layer.moving_mean[...] = rng.normal(size=layer.moving_mean.shape)
        layer.moving_variance[...] = rng.uniform(0.5, 2.0, size=layer.moving_variance.shape)
    x = rng.normal(size=(3, *input_shape)) if x is None else x
    r = rng.normal(size=(len(x), *layer.output_shape))
    params = model.params.astype(np.float64)

    def loss():
        model.params[:] = params
        return float((r * layer.forward(x.astype(np.float32), training=training).astype(np.float64)).sum())

    loss()
    dx = layer.backward(r.astype(np.float32))
    analytic_params = model.grads.astype(np.float64).copy()
    np.testing.assert_allclose(dx, numerical_gradient(loss, x, eps), rtol=2e-2, atol=2e-3)
    if params.size:
        np.testing.assert_allclose(analytic_params, numerical_gradient(loss, params, eps), rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("settings, input_shape", [
    ({"filters": 3, "kernel_size": 3}, (6, 5, 1)),
    ({"filters": 2, "kernel_size": (3, 2), "strides": 2}, (7, 6, 3)),
    ({"filters": 2, "kernel_size": 3, "padding": "same"}, (5, 5, 2)),
    ({"filters": 3, "kernel_size": 4, "strides": (2, 3), "padding": "same", "use_bias": False}, (7, 8, 2)),
], ids=["valid", "strides 2", "same", "same strides (2, 3) no bias"])
@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_conv2d_gradients_match_finite_differences(settings, input_shape, activation):
    check_layer_gradients(nn.Conv2D(**settings, activation=activation), input_shape)


def test_conv2d_relu_gradient_is_the_relu_mask_times_the_linear_one():
    layer = nn.Conv2D(2, 3, activation="relu")
    model = nn.Sequential([layer]).build((6, 6, 1))
    layer.needs_input_grad = True
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 1)).astype(np.float32)
    a = layer.forward(x, training=True)
    da = np.random.default_rng(2).normal(size=a.shape).astype(np.float32)
    mask = a > 0
    dx = layer.backward(da.copy())
    dkernel = layer.dkernel.copy()
    linear = nn.Conv2D(2, 3)
    twin = nn.Sequential([linear]).build((6, 6, 1))
    linear.needs_input_grad = True
    twin.params[:] = model.params
    linear.forward(x, training=True)
    np.testing.assert_allclose(dx, linear.backward(da * mask), atol=1e-6)
    np.testing.assert_allclose(dkernel, linear.dkernel, atol=1e-5)


@pytest.mark.parametrize("kind, settings, input_shape", [
    ("MaxPooling2D", {"pool_size": 2}, (6, 6, 2)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (7, 6, 2)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": 1}, (4, 5, 1)),
    ("AveragePooling2D", {"pool_size": 2}, (6, 6, 2)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (7, 6, 2)),
    ("AveragePooling2D", {"pool_size": 2, "strides": 1, "padding": "same"}, (5, 4, 3)),
], ids=["max 2", "max 3 strides 2 same", "max (2, 3) strides 1", "avg 2", "avg 3 strides 2 same",
        "avg 2 strides 1 same"])
def test_pooling_gradients_match_finite_differences(kind, settings, input_shape):
    x = distinct_inputs((2, *input_shape), seed=3)
    check_layer_gradients(nn.LAYERS[kind](**settings), input_shape, x=x, eps=1e-3)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_gradients_match_finite_differences(keepdims):
    check_layer_gradients(nn.GlobalAveragePooling2D(keepdims=keepdims), (4, 3, 5))


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("settings, input_shape", [
    ({}, (4, 3, 2)), ({}, (5,)), ({"center": False}, (3, 3, 2)), ({"scale": False, "axis": 3}, (3, 2, 4)),
], ids=["feature maps", "flat", "no beta", "no gamma, axis 3"])
def test_batch_normalization_gradients_match_finite_differences(settings, input_shape, training):
    """training: normalised by the batch's statistics, which depend on x too; inference: by the
    moving averages (as a BatchNormalization frozen in Keras trains), a fixed scale and shift."""
    layer = nn.BatchNormalization(**settings)
    layer.use_batch_statistics = training
    check_layer_gradients(layer, input_shape, training=True)
    if not training:                  # frozen, the moving averages stay as they were
        before = layer.moving_mean.copy()
        layer.forward(np.ones((2, *input_shape), np.float32), training=True)
        np.testing.assert_array_equal(layer.moving_mean, before)


def test_reshape_gradients_match_finite_differences():
    check_layer_gradients(nn.Reshape((-1, 3)), (4, 3, 2))


def test_a_conv_model_backpropagates_through_every_layer():
    """The whole chain - Reshape, Conv2D, BatchNormalization, MaxPooling2D, AveragePooling2D,
    GlobalAveragePooling2D, Dense, softmax, cross-entropy - against finite differences."""
    model = nn.Sequential([nn.Reshape((6, 6, 1), input_shape=(36,)), nn.Conv2D(3, 3, padding="same", activation="tanh"),
                           nn.BatchNormalization(), nn.MaxPooling2D(2), nn.Conv2D(4, 2, activation="tanh"),
                           nn.AveragePooling2D(2, strides=1, padding="same"), nn.GlobalAveragePooling2D(),
                           nn.Dense(3, "softmax")], seed=0).build()
    model.compile(nn.SGD(0.1), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(4)
    x = distinct_inputs((4, 36), seed=5, spacing=0.1).astype(np.float32)
    y = rng.integers(0, 3, 4)
    probs = model.forward(x, training=True)
    model.backward(probs, y)
    analytic = model.grads.astype(np.float64).copy()
    params = model.params.astype(np.float64)

    pool = model.layers[3]
    winners = pool.winner.copy()
    moved = []                 # whether each nudge changed a max-pooling window's winner

    def loss():
        model.params[:] = params
        value = model.loss(model.forward(x, training=True), y)
        moved.append(not np.array_equal(pool.winner, winners))
        return value

    numeric = numerical_gradient(loss, params, 1e-3)
    # A max is not differentiable where two values of a window tie: a parameter whose nudge
    # changes a window's winner has no finite difference to compare with. (A few of the 103.)
    smooth = ~np.array(moved).reshape(-1, 2).any(axis=1)
    assert smooth.sum() > 0.9 * len(smooth)
    np.testing.assert_allclose(analytic[smooth], numeric[smooth], rtol=3e-2, atol=3e-4)


# ---- worked by hand -----------------------------------------------------------------------------

def test_one_3x3_convolution_worked_by_hand():
    # A 4x4 image with one channel, and one 3x3 filter that finds a vertical edge (dark left, ink right):
    image = np.array([[0, 0, 1, 1],
                      [0, 0, 1, 1],
                      [0, 0, 1, 1],
                      [0, 1, 1, 1]], dtype=np.float32)
    kernel = np.array([[-1, 0, 1],
                       [-1, 0, 1],
                       [-1, 0, 1]], dtype=np.float32)
    layer = nn.Conv2D(1, 3, activation="relu")
    model = nn.Sequential([layer]).build((4, 4, 1))
    layer.set_weights([kernel.reshape(3, 3, 1, 1), np.array([-0.5], np.float32)])
    # "valid": the window fits at 2 x 2 positions. Each output is sum(window * kernel) + bias:
    #   (0, 0): rows 0-2, cols 0-2: -(0+0+0) + (1+1+1) - 0.5 = 2.5
    #   (0, 1): rows 0-2, cols 1-3: -(0+0+0) + (1+1+1) - 0.5 = 2.5
    #   (1, 0): rows 1-3, cols 0-2: -(0+0+0) + (1+1+1) - 0.5 = 2.5
    #   (1, 1): rows 1-3, cols 1-3: -(0+0+1) + (1+1+1) - 0.5 = 1.5
    # relu keeps them all (all positive).
    out = model.predict(image[None, :, :, None])
    np.testing.assert_allclose(out[0, :, :, 0], [[2.5, 2.5], [2.5, 1.5]])
    # Backward with dL/da = 1 everywhere (L = the sum of the four outputs):
    #   dL/dbias = 4 (one per position);  dL/dkernel[i, j] = the sum of the pixels under kernel
    #   entry (i, j) over the four windows, i.e. the sum of image[i:i+2, j:j+2]:
    #   [[0, 2, 4], [0, 2, 4], [1, 3, 4]]
    #   dL/dx[r, c] = the sum of the kernel entries that touched pixel (r, c): column c of the image
    #   meets kernel columns max(0, c-1)..min(2, c), each once per window row that covers row r.
    layer.needs_input_grad = True
    layer.forward(image[None, :, :, None], training=True)
    dx = layer.backward(np.ones((1, 2, 2, 1), np.float32))
    np.testing.assert_allclose(layer.dbias, [4.0])
    np.testing.assert_allclose(layer.dkernel[:, :, 0, 0], [[0, 2, 4], [0, 2, 4], [1, 3, 4]])
    # Row 0 is covered by one window row (kernel row 0), rows 1 and 2 by two, row 3 by one.
    # Column 0 meets kernel column 0 (-1) once per window column 0: -1; column 1 meets columns 0 and
    # 1 (-1 + 0): -1; column 2 meets 1 and 2 (0 + 1): 1; column 3 meets column 2: 1.
    np.testing.assert_allclose(dx[0, :, :, 0], [[-1, -1, 1, 1], [-2, -2, 2, 2], [-2, -2, 2, 2], [-1, -1, 1, 1]])


def test_one_2x2_max_and_average_pooling_step_worked_by_hand():
    maps = np.array([[1, 5, 2, 0],
                     [3, 4, 8, 8],
                     [0, 0, 7, 1],
                     [2, 1, 6, 3]], dtype=np.float32)[None, :, :, None]
    pool = nn.MaxPooling2D(2)
    nn.Sequential([pool]).build((4, 4, 1))
    pool.needs_input_grad = True
    # The four 2x2 windows and their largest values: [[1, 5], [3, 4]] -> 5, [[2, 0], [8, 8]] -> 8
    # (a tie: the first in reading order wins, as in TensorFlow), [[0, 0], [2, 1]] -> 2, [[7, 1], [6, 3]] -> 7.
    out = pool.forward(maps, training=True)
    np.testing.assert_array_equal(out[0, :, :, 0], [[5, 8], [2, 7]])
    # Backward: each window's gradient goes to the one position that won it; the rest get 0.
    dx = pool.backward(np.array([[10, 20], [30, 40]], np.float32)[None, :, :, None])
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 10, 0, 0],
                                                   [0, 0, 20, 0],
                                                   [0, 0, 40, 0],
                                                   [30, 0, 0, 0]])
    average = nn.AveragePooling2D(2)
    nn.Sequential([average]).build((4, 4, 1))
    average.needs_input_grad = True
    # Means: (1+5+3+4)/4 = 3.25, (2+0+8+8)/4 = 4.5, (0+0+2+1)/4 = 0.75, (7+1+6+3)/4 = 4.25;
    # backward shares each window's gradient equally: 10/4 = 2.5 to each of its positions.
    np.testing.assert_allclose(average.forward(maps)[0, :, :, 0], [[3.25, 4.5], [0.75, 4.25]])
    dx = average.backward(np.array([[10, 20], [30, 40]], np.float32)[None, :, :, None])
    np.testing.assert_allclose(dx[0, :, :, 0], [[2.5, 2.5, 5, 5], [2.5, 2.5, 5, 5], [7.5, 7.5, 10, 10],
                                                [7.5, 7.5, 10, 10]])


def test_batch_normalization_statistics_worked_by_hand():
    layer = nn.BatchNormalization(momentum=0.9)
    model = nn.Sequential([layer]).build((1,))
    x = np.array([[1.0], [2.0], [3.0], [6.0]], np.float32)
    # mean = 12 / 4 = 3; variance = ((1-3)^2 + (2-3)^2 + 0 + (6-3)^2) / 4 = 14 / 4 = 3.5 (biased)
    # y = (x - 3) / sqrt(3.5 + 0.001) = [-1.068892, -0.534446, 0, 1.603338] (gamma 1, beta 0)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y[:, 0], [-1.068892, -0.534446, 0.0, 1.603338], atol=1e-5)
    # moving_mean = 0.9 * 0 + 0.1 * 3 = 0.3; moving_variance = 0.9 * 1 + 0.1 * 3.5 = 1.25
    np.testing.assert_allclose(model.state, [0.3, 1.25], atol=1e-6)
    # At prediction the moving statistics stand in: (6 - 0.3) / sqrt(1.25 + 0.001) = 5.09620
    assert model.predict(np.array([[6.0]]))[0, 0] == pytest.approx(5.09620, abs=1e-4)
    assert layer.count_params() == 4 and model.params.size == 2 and model.state.size == 2


# ---- shapes, inputs and refusals ----------------------------------------------------------------

def test_the_course_cnn_has_keras_shapes_and_counts():
    model = nn.cnn_model(seed=0).build()
    assert [layer.output_shape for layer in model.layers] == [(26, 26, 32), (13, 13, 32), (5408,), (128,), (10,)]
    assert model.count_params() == 693_962
    d = model.layers[0].describe()
    assert (d.connectivity, d.units, d.params) == ("local", 32, {"kernel": (3, 3, 1, 32), "bias": (32,)})
    assert d.arithmetic == "3 x 3 kernel x 1 channel x 32 filters = 288 weights + 32 biases = 320"
    assert model.layers[3].describe().arithmetic == (
        "13 x 13 x 32 = 5,408 inputs x 128 units = 692,224 weights + 128 biases = 692,352")
    assert "26 x 26 x 32 -> 13 x 13 x 32" in model.layers[1].describe().arithmetic
    # Glorot uniform for a (3, 3, 1, 32) kernel counts fans as Keras: 9 in, 288 out.
    limit = np.sqrt(6 / (9 + 288))
    assert limit * 0.95 < np.abs(model.layers[0].kernel).max() <= limit


def test_threads_predict_a_cnn_at_once_and_get_what_one_thread_gets(mnist):
    import threading

    _, (x_test, _) = mnist
    model = nn.cnn_model(seed=0).build()
    expected = model.predict(x_test[:1500])       # in pieces, in parallel threads when the cores are free
    np.testing.assert_array_equal(np.concatenate([model.predict(x_test[i:i + 500]) for i in (0, 500, 1000)]),
                                  expected)
    results = {}
    threads = [threading.Thread(target=lambda k=k: results.setdefault(k, model.predict(x_test[:1500])))
               for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for value in results.values():
        np.testing.assert_array_equal(value, expected)


def test_images_without_a_channel_axis_are_accepted_where_one_channel_is_declared():
    model = nn.cnn_model(seed=0).build()
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    np.testing.assert_array_equal(model.predict(x), model.predict(x[..., None]))
    np.testing.assert_array_equal(model.predict(x), model.predict(x.reshape(3, 784)))
    with pytest.raises(DigitlensError, match=r"expected images of shape \(N, 28, 28, 1\) or \(N, 28, 28\) or \(N, 784\)"):
        model.predict(np.zeros((3, 27, 27)))


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Sequential([nn.Conv2D(2, 3, input_shape=(28, 28))]), "declare the input as (28, 28, 1)"),
    (lambda: nn.Sequential([nn.Conv2D(2, 5, input_shape=(3, 3, 1))]), "does not fit in the 3x3 input"),
    (lambda: nn.Sequential([nn.MaxPooling2D(2, input_shape=(784,))]), "expected feature maps"),
    (lambda: nn.Sequential([nn.Conv2D(2, 3, input_shape=(8, 8, 1)), nn.Dense(3)]), "put a Flatten layer first"),
    (lambda: nn.Sequential([nn.Reshape((27, 27), input_shape=(784,))]), "cannot lay 784 values"),
    (lambda: nn.Sequential([nn.BatchNormalization(axis=1, input_shape=(4, 4, 2))]), "normalises the last axis"),
])
def test_shapes_that_cannot_work_are_refused_with_a_sentence(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make().build()


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv2D(0, 3), "filters: expected a positive integer"),
    (lambda: nn.Conv2D(2, (3, 0)), "kernel_size: expected a positive integer"),
    (lambda: nn.Conv2D(2, 3, padding="full"), 'digitlens pads "valid" or "same"'),
    (lambda: nn.MaxPooling2D(2, strides=0), "strides: expected a positive integer"),
    (lambda: nn.Reshape((2, -1, -1)), "one may be -1"),
    (lambda: nn.BatchNormalization(momentum=2), "momentum: expected a number in [0, 1]"),
])
def test_bad_settings_are_refused_with_a_sentence(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)


@pytest.mark.parametrize("kind, config, message", [
    ("Conv2D", {"filters": 2, "kernel_size": [3, 3], "dilation_rate": [2, 2]}, "dilation"),
    ("Conv2D", {"filters": 2, "kernel_size": [3, 3], "groups": 2}, "groups"),
    ("Conv2D", {"filters": 2, "kernel_size": [3, 3], "data_format": "channels_first"}, "channels_first"),
    ("Conv2D", {"kernel_size": [3, 3]}, "does not say how many filters"),
    ("MaxPooling2D", {"pool_size": [2, 2], "data_format": "channels_first"}, "channels_first"),
    ("BatchNormalization", {"renorm": True}, "renorm"),
])
def test_keras_settings_digitlens_lacks_are_named(kind, config, message):
    with pytest.raises(ValueError, match=message):
        nn.LAYERS[kind].from_config({"name": "x", **config})


# ---- against real Keras ---------------------------------------------------------------------------

KERAS_CASES = {
    "conv valid tanh": (lambda k: k.Conv2D(3, 3, activation="tanh"), lambda: nn.Conv2D(3, 3, activation="tanh")),
    "conv same strides 2": (lambda k: k.Conv2D(3, (3, 2), strides=2, padding="same"),
                            lambda: nn.Conv2D(3, (3, 2), strides=2, padding="same")),
    "conv same strides (2, 3) no bias": (
        lambda k: k.Conv2D(4, 4, strides=(2, 3), padding="same", use_bias=False, activation="relu"),
        lambda: nn.Conv2D(4, 4, strides=(2, 3), padding="same", use_bias=False, activation="relu")),
    "max 2": (lambda k: k.MaxPooling2D(2), lambda: nn.MaxPooling2D(2)),
    "max 3 strides 2 same": (lambda k: k.MaxPooling2D(3, strides=2, padding="same"),
                             lambda: nn.MaxPooling2D(3, strides=2, padding="same")),
    "avg 2 same": (lambda k: k.AveragePooling2D(2, padding="same"), lambda: nn.AveragePooling2D(2, padding="same")),
    "avg (2, 3) strides 1": (lambda k: k.AveragePooling2D((2, 3), strides=1),
                             lambda: nn.AveragePooling2D((2, 3), strides=1)),
    "global avg": (lambda k: k.GlobalAveragePooling2D(), lambda: nn.GlobalAveragePooling2D()),
    "batch norm": (lambda k: k.BatchNormalization(), lambda: nn.BatchNormalization()),
    "reshape": (lambda k: k.Reshape((-1, 4)), lambda: nn.Reshape((-1, 4))),
}
# Not compared: AveragePooling2D with "same" padding that is uneven on a side and a window over 2.
# Keras's torch backend pads those by repeating the edge values, which then count in the mean;
# TensorFlow and ONNX leave padded positions out, and so does digitlens (tested by hand above).


@pytest.mark.keras
@pytest.mark.parametrize("case", KERAS_CASES)
def test_every_layer_computes_what_keras_computes(case, keras):
    theirs_layer, ours_layer = KERAS_CASES[case]
    keras.backend.clear_session()                        # Keras's names start again: conv2d, not conv2d_3
    rng = np.random.default_rng(0)
    x = rng.random((3, 9, 8, 2), dtype=np.float32)
    theirs = keras.Sequential([keras.Input(x.shape[1:]), theirs_layer(keras.layers)])
    ours = nn.Sequential([ours_layer()]).build(x.shape[1:])
    weights = [rng.normal(size=v.shape).astype(np.float32) for v in theirs.get_weights()]
    if case == "batch norm":
        weights[3] = np.abs(weights[3]) + 0.5            # a variance is positive
    theirs.set_weights(weights)
    ours.set_weights(weights)
    assert [tuple(w.shape) for w in theirs.weights] == [tuple(s) for s in ours.layers[0].weight_shapes().values()]
    assert theirs.layers[0].get_config()["name"] == ours.layers[0].name
    np.testing.assert_allclose(ours.predict(x), np.asarray(theirs.predict(x, verbose=0)), atol=1e-5)
    if case == "batch norm":        # training mode: the batch's statistics, and the moving ones move
        y = theirs.layers[0](keras.ops.convert_to_tensor(x), training=True)
        np.testing.assert_allclose(ours.layers[0].forward(x, training=True),
                                   keras.ops.convert_to_numpy(y), atol=1e-5)
        moving = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in theirs.layers[0].non_trainable_weights])
        np.testing.assert_allclose(ours.state, moving, atol=1e-6)


# ---- the summary ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture, trained", [("course_cnn", False), ("course_cnn_trained", True)])
def test_the_course_cnn_summary_is_the_table_keras_prints(fixture, trained):
    """Against the text real Keras 3.15 printed for the course's CNN (tests/fixtures/make_keras_fixtures.py),
    built, and after one Adam step (when Keras's Total counts the optimizer's variables too)."""
    import json
    from pathlib import Path

    keras_text = json.loads((Path(__file__).parent / "fixtures" / "keras_summaries.json").read_text())[fixture]["summary"]
    model = nn.cnn_model(seed=0).build()
    if trained:
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        model.fit(np.zeros((1, 28, 28), np.uint8), np.zeros(1, int), epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    ours, arithmetic = lines[0].split("\n\n Where the numbers come from:\n")
    assert ours == keras_text.rstrip("\n")
    assert "3 x 3 kernel x 1 channel x 32 filters = 288 weights + 32 biases = 320" in arithmetic
    assert "13 x 13 x 32 = 5,408 inputs x 128 units = 692,224 weights + 128 biases = 692,352" in arithmetic
    assert "keeps the largest of each 2 x 2 window: 26 x 26 x 32 -> 13 x 13 x 32; no weights" in arithmetic


# ---- the compiled loops (conv_kernels.py) against the NumPy reference ------------------------------

COMPILED_CASES = [
    (lambda: nn.Conv2D(32, 3, activation="relu"), (28, 28, 1)),
    (lambda: nn.Conv2D(5, (3, 2), strides=2, padding="same", activation="tanh"), (9, 8, 3)),
    (lambda: nn.Conv2D(4, 4, strides=(2, 3), padding="same", use_bias=False), (7, 8, 2)),
    (lambda: nn.MaxPooling2D(2), (26, 26, 32)),
    (lambda: nn.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 2)),
    (lambda: nn.MaxPooling2D((2, 3), strides=1), (4, 5, 3)),
]


@pytest.mark.parametrize("split", [False, True], ids=["one core", "every core"])
@pytest.mark.parametrize("case", range(len(COMPILED_CASES)),
                         ids=["course conv relu", "conv same strides tanh", "conv no bias", "max 2",
                              "max 3 strides 2 same", "max (2, 3) strides 1"])
def test_compiled_loops_compute_what_the_numpy_reference_computes(case, split, monkeypatch):
    from digitlens.nn import conv_kernels, threads

    assert conv_kernels.available(), "numba is a dependency: the compiled loops must be there"
    monkeypatch.setattr(threads, "split_kernels", lambda batch, training: split)
    make, input_shape = COMPILED_CASES[case]
    rng = np.random.default_rng(case)
    results = []
    for compiled in (False, True):
        layer = make()
        layer.compiled = compiled
        model = nn.Sequential([layer], seed=0).build(input_shape)
        layer.needs_input_grad = True
        x = rng.normal(size=(5, *input_shape)).astype(np.float32) if not results else results[0]["x"]
        if layer.kind == "MaxPooling2D" and not results:
            x[0, :2, :2] = 1.5                                 # a tie: the first in reading order wins
        prediction = model.predict(x)
        out = layer.forward(x, training=True)
        dout = rng.normal(size=out.shape).astype(np.float32) if not results else results[0]["dout"]
        dx = layer.backward(dout.copy())
        results.append({"x": x, "dout": dout, "prediction": prediction, "out": out.copy(), "dx": dx,
                        "grads": model.grads.copy()})
    numpy_, compiled_ = results
    for key in ("prediction", "out", "dx", "grads"):
        # Sums of thousands of terms taken in another order agree to float32 rounding: within
        # 1e-5 of the largest value.
        scale = max(1.0, float(np.abs(numpy_[key]).max(initial=0.0)))
        np.testing.assert_allclose(compiled_[key], numpy_[key], atol=1e-5 * scale, rtol=0, err_msg=key)


def test_compiled_gradients_through_the_course_cnn_equal_the_numpy_reference():
    """Every parameter's gradient, through max pooling and the relu into the convolution's kernel."""
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    y = np.arange(8) % 10
    grads = []
    for compiled in (False, True):
        model = nn.cnn_model(seed=0).build()
        model.compile("sgd", "sparse_categorical_crossentropy")
        for layer in model.layers:
            layer.compiled = compiled
        model.backward(model.forward(x, training=True), y)
        grads.append(model.grads.copy())
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-5 * np.abs(grads[0]).max(), rtol=0)
    assert np.abs(grads[0][:320]).max() > 0                       # the conv layer did learn something


# ---- the fused Conv2D -> MaxPooling2D step (fusion.py) against the layers one by one ----------------

@pytest.mark.parametrize("make", [
    lambda: nn.cnn_model(seed=0),
    lambda: nn.Sequential([nn.Reshape((28, 28, 1), input_shape=(784,)), nn.Conv2D(6, 5, strides=2, padding="same"),
                           nn.MaxPooling2D(2), nn.Conv2D(4, 3, activation="relu"), nn.MaxPooling2D((2, 3)),
                           nn.Flatten(), nn.Dense(10, "softmax")], seed=1),
], ids=["course cnn", "linear conv, same padding, strides, a second conv whose dx is needed, 2x3 pool"])
@pytest.mark.parametrize("split", [False, True], ids=["one core", "pieces on every core"])
def test_a_fused_conv_pool_step_computes_what_the_layers_compute_one_by_one(make, split, mnist, monkeypatch):
    from digitlens.nn import threads

    monkeypatch.setattr(threads, "split_kernels", lambda batch, training: split)
    (x_train, y_train), _ = mnist
    x, y = x_train[:150], y_train[:150]
    runs = {}
    for how in ("fused", "layer by layer", "numpy"):
        model = make().build()
        model.compile("sgd", "sparse_categorical_crossentropy")
        if how == "fused":
            assert any(type(step).__name__ == "ConvPool" for step in model.steps)
        elif how == "layer by layer":
            model.steps = list(model.layers)
        else:
            for layer in model.layers:
                layer.compiled = False
        xb = model.prepare_inputs(x)
        prediction = model.predict(x)
        probs = model.forward(xb, training=True)
        model.backward(probs, model.prepare_labels(y, len(y)))
        runs[how] = {"prediction": prediction, "probs": probs.copy(), "grads": model.grads.copy()}
    for how in ("layer by layer", "numpy"):
        for key, value in runs[how].items():
            scale = max(1.0, float(np.abs(value).max()))
            np.testing.assert_allclose(runs["fused"][key], value, atol=1e-5 * scale, rtol=0, err_msg=f"{how} {key}")
