"""Keras files of convolutional networks, .keras and legacy .h5, both ways, against real Keras.

Files real Keras 3.15 wrote (tests/fixtures: a small version of the course's CNN, and a network
with BatchNormalization, average and global pooling, strides and "same" padding), real Keras run
in this process (KERAS_BACKEND=torch) loading what digitlens writes and writing what digitlens
reads, with the whole training state: weights, the optimizer's variables and BatchNormalization's
moving statistics, so either program goes on training where the other stopped.
"""

import json
import warnings
import zipfile

import numpy as np
import pytest
from conftest import FIXTURES

from digitlens import io, nn
from digitlens.errors import ModelFileError
from digitlens.io import optimizer_state
from digitlens.nn.summary import summary_text

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
SUMMARIES = json.loads((FIXTURES / "keras_summaries.json").read_text(encoding="utf-8"))
CNN_FILES = ["keras_cnn.keras", "keras_cnn_legacy.h5", "keras_cnn_bn.keras", "keras_cnn_bn_legacy.h5"]


@pytest.fixture(scope="module")
def digits(mnist):
    (x_train, y_train), (x_test, _) = mnist
    return x_train[:256], y_train[:256], x_test[:500]


def conv_model(seed=0):
    """Every convolutional layer type and mode: Reshape, Conv2D valid/same/strides, BatchNormalization,
    MaxPooling2D, AveragePooling2D, Dropout, GlobalAveragePooling2D, Dense."""
    return nn.Sequential([nn.Reshape((28, 28, 1), input_shape=(28, 28)), nn.Conv2D(6, 3, activation="relu"),
                          nn.BatchNormalization(), nn.MaxPooling2D(2), nn.Conv2D(8, 3, strides=2, padding="same",
                                                                                  activation="tanh"),
                          nn.AveragePooling2D(2, padding="same"), nn.Dropout(0.1), nn.Conv2D(12, 2),
                          nn.GlobalAveragePooling2D(), nn.Dense(10, "softmax")], seed=seed)


def trained(model, digits, optimizer="adam"):
    x, y, _ = digits
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)            # 8 steps
    return model


def keras_load(keras, path):
    """keras.models.load_model, failing the test on any warning Keras gives about the file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.models.load_model(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert messages == [], messages
    return model


def keras_inputs(model, x):
    """x (N, 28, 28) as a Keras model with this input shape takes it."""
    return (x.astype(np.float32) / 255.0).reshape((len(x), *model.input_shape[1:]))


def moving_statistics(keras_model):
    return np.concatenate([np.asarray(v.numpy()).ravel() for layer in keras_model.layers
                           for v in layer.non_trainable_weights]) if keras_model.non_trainable_weights else np.zeros(0)


# ---- files Keras wrote ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", CNN_FILES)
def test_predicts_as_keras_did_on_its_own_cnn_files(name, expected):
    model = io.load_model(FIXTURES / name)
    keras_probs = expected["probs_" + name.rsplit(".", 1)[0]]
    np.testing.assert_allclose(model.predict(expected["x_float"]), keras_probs, atol=1e-5)
    np.testing.assert_allclose(model.predict(expected["x_uint8"]), keras_probs, atol=1e-5)
    np.testing.assert_allclose(model.predict(expected["x_float"][..., None]), keras_probs, atol=1e-5)


def test_reads_the_course_cnn_keras_wrote_with_its_adam_state():
    model = io.load_model(FIXTURES / "keras_cnn.keras")
    assert [(l.kind, l.name) for l in model.layers] == [
        ("Conv2D", "conv2d"), ("MaxPooling2D", "max_pooling2d"), ("Flatten", "flatten"), ("Dense", "dense"),
        ("Dense", "dense_1")]
    assert model.input_shape == (28, 28, 1)
    conv, pool = model.layers[:2]
    assert (conv.filters, conv.kernel_size, conv.strides, conv.padding, conv.activation.name) == (
        4, (3, 3), (1, 1), "valid", "relu")
    assert (pool.pool_size, pool.strides) == ((2, 2), (2, 2))
    assert isinstance(model.optimizer, nn.Adam) and model.optimizer.iterations == 63
    legacy = io.load_model(FIXTURES / "keras_cnn_legacy.h5")   # the same model, the other container
    np.testing.assert_array_equal(legacy.params, model.params)
    assert legacy.optimizer.iterations == 63


def test_reads_batch_normalization_statistics_keras_wrote(expected):
    model = io.load_model(FIXTURES / "keras_cnn_bn.keras")
    bn = model.layers[2]
    assert (bn.kind, bn.momentum, bn.epsilon) == ("BatchNormalization", 0.99, 0.001)
    assert list(bn.describe().state) == ["moving_mean", "moving_variance"]
    # 63 training steps moved the statistics away from Keras's starting 0 and 1.
    assert np.abs(bn.moving_mean).min() > 1e-3 and np.abs(bn.moving_variance - 1).min() > 1e-3
    assert model.state.size == 8 and model.params.size == 434
    legacy = io.load_model(FIXTURES / "keras_cnn_bn_legacy.h5")
    np.testing.assert_array_equal(legacy.state, model.state)
    np.testing.assert_array_equal(legacy.params, model.params)


@pytest.mark.parametrize("name", ["keras_cnn", "keras_cnn_bn"])
def test_summary_of_a_keras_cnn_file_is_the_table_keras_printed(name):
    """The loaded model's table, with Keras's Non-trainable and Optimizer params, as Keras 3.15 printed it."""
    model = io.load_model(FIXTURES / f"{name}.keras")
    ours = summary_text(model).split("\n\n Where the numbers come from:\n")[0]
    assert ours == SUMMARIES[f"{name}_loaded"]["summary"].rstrip("\n")


def test_refuses_a_model_with_layers_digitlens_lacks_naming_them():
    path = FIXTURES / "keras_unsupported.keras"
    with pytest.raises(ModelFileError) as info:
        io.load_model(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert ("layer 'depthwise_conv2d' is a DepthwiseConv2D and layer 'layer_normalization' is a "
            "LayerNormalization; digitlens supports InputLayer, Flatten, Dense, Dropout, Conv2D") in message


# ---- digitlens -> files -> real Keras ------------------------------------------------------------

@pytest.mark.keras
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_loads_a_trained_digitlens_cnn_with_its_training_state(suffix, keras, digits, tmp_path):
    model = trained(conv_model(), digits)
    path = tmp_path / f"cnn{suffix}"
    io.save_model(model, path)
    loaded = keras_load(keras, path)
    x_test = digits[2]
    np.testing.assert_allclose(loaded.predict(keras_inputs(loaded, x_test), verbose=0), model.predict(x_test),
                               atol=1e-5)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert loaded.count_params() == model.count_params()
    np.testing.assert_allclose(moving_statistics(loaded), model.state, rtol=1e-6)
    if suffix == ".keras":     # Keras 3 restores the optimizer's variables from .keras files only
        theirs = [np.asarray(v.numpy()) for v in loaded.optimizer.variables]
        ours = [value for _, value in optimizer_state.optimizer_variables(model)]
        assert len(theirs) == len(ours) == 2 + 2 * 10              # iteration, rate, m and v of 10 arrays
        for a, b in zip(theirs, ours):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)


@pytest.mark.keras
def test_keras_continues_training_a_digitlens_cnn_where_it_stopped(keras, digits, tmp_path):
    """One more step in each program from the same weights, Adam state and moving statistics:
    the same weights and statistics after it (Dropout at 0, so both steps are the same step)."""
    model = trained(nn.Sequential([nn.Conv2D(4, 3, activation="relu", input_shape=(28, 28, 1)),
                                   nn.BatchNormalization(), nn.MaxPooling2D(2), nn.Flatten(),
                                   nn.Dense(16, "relu"), nn.Dense(10, "softmax")], seed=1), digits)
    io.save_model(model, tmp_path / "cnn.keras")
    loaded = keras_load(keras, tmp_path / "cnn.keras")
    x, y = digits[0][:32], digits[1][:32]
    loaded.train_on_batch(keras_inputs(loaded, x), y)
    model.train_step(model.prepare_inputs(x), model.prepare_labels(y, 32))
    for theirs, ours in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(theirs, ours, atol=1e-5)
    np.testing.assert_allclose(moving_statistics(loaded), model.state, atol=1e-6)


# ---- real Keras -> files -> digitlens ------------------------------------------------------------

@pytest.mark.keras
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_reads_the_cnn_a_learner_trained_in_keras_and_trains_on_as_keras_would(suffix, keras, digits, tmp_path):
    x, y, x_test = digits
    keras.backend.clear_session()
    keras.utils.set_random_seed(2)
    built = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(6, (3, 3), activation="relu"),
                              keras.layers.MaxPooling2D(2, 2), keras.layers.BatchNormalization(),
                              keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
                              keras.layers.AveragePooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    built.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    built.fit(keras_inputs(built, x), y, epochs=1, batch_size=32, verbose=0)
    built.save(tmp_path / f"keras{suffix}")

    model = io.load_model(tmp_path / f"keras{suffix}")
    np.testing.assert_allclose(model.predict(x_test), built.predict(keras_inputs(built, x_test), verbose=0),
                               atol=1e-5)
    np.testing.assert_allclose(model.state, moving_statistics(built), rtol=1e-6)
    assert isinstance(model.optimizer, nn.Adam) and model.optimizer.iterations == 8
    if suffix == ".keras":     # Keras's own legacy files do not hold its Adam moments (see README)
        keras_m = [np.asarray(v.numpy()).ravel() for v in built.optimizer.variables[2::2]]
        np.testing.assert_allclose(model.optimizer.m, np.concatenate(keras_m), rtol=1e-6)
        # Both take one more step on the same batch: the same weights and statistics after it.
        xb, yb = x[:32], y[:32]
        built.train_on_batch(keras_inputs(built, xb), yb)
        model.train_step(model.prepare_inputs(xb), model.prepare_labels(yb, 32))
        for theirs, ours in zip(built.get_weights(), model.get_weights()):
            np.testing.assert_allclose(theirs, ours, atol=1e-5)


# ---- digitlens's own round trip ------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_round_trip_keeps_every_number_of_a_cnn(suffix, digits, tmp_path):
    model = trained(conv_model(), digits, optimizer=nn.SGD(0.05, momentum=0.9))
    io.save_model(model, tmp_path / f"cnn{suffix}")
    loaded = io.load_model(tmp_path / f"cnn{suffix}")
    np.testing.assert_array_equal(loaded.params, model.params)
    np.testing.assert_array_equal(loaded.state, model.state)
    np.testing.assert_array_equal(loaded.optimizer.velocity, model.optimizer.velocity)
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(digits[2]), model.predict(digits[2]))


def test_a_cnn_keras_file_lays_its_weights_out_as_keras_does(digits, tmp_path):
    import io as bytes_io

    import h5py

    io.save_model(trained(conv_model(), digits), tmp_path / "cnn.keras")
    with zipfile.ZipFile(tmp_path / "cnn.keras") as archive:
        config = json.loads(archive.read("config.json"))
        with h5py.File(bytes_io.BytesIO(archive.read("model.weights.h5"))) as h5:
            assert h5["layers/conv2d/vars/0"].shape == (3, 3, 1, 6)
            assert [h5[f"layers/batch_normalization/vars/{i}"].shape for i in range(4)] == [(6,)] * 4
            assert len(h5["layers/max_pooling2d/vars"]) == 0 and len(h5["layers/reshape/vars"]) == 0
            assert len(h5["optimizer/vars"]) == 2 + 2 * 10       # BN's moving statistics have no slots
    kinds = [l["class_name"] for l in config["config"]["layers"]]
    assert kinds == ["InputLayer", "Reshape", "Conv2D", "BatchNormalization", "MaxPooling2D", "Conv2D",
                     "AveragePooling2D", "Dropout", "Conv2D", "GlobalAveragePooling2D", "Dense"]
