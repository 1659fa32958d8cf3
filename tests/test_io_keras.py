"""digitlens.io and the Keras 3 `.keras` file, checked against real Keras.

Three kinds of evidence: files real Keras 3.15 wrote (tests/fixtures, with Keras's own
predictions), real Keras run in this process (KERAS_BACKEND=torch) loading what digitlens writes
and writing what digitlens reads, and damaged files, each of which must give one clear line.
"""

import io as bytes_io
import json
import os
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from digitlens import io
from digitlens.errors import ModelFileError, NotBuiltError
from digitlens.io import keras_compile
from digitlens.nn import SGD, Adam, CosineDecay, Dense, Dropout, Flatten, RMSprop, Sequential

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Keras 3.15's torch backend warns about NumPy 2's copy keyword on every array it hands over.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")


@pytest.fixture(scope="module")
def digits(mnist):
    """256 real training images and labels, and 500 test images: enough for a few steps."""
    (x_train, y_train), (x_test, _) = mnist
    return x_train[:256], y_train[:256], x_test[:500]


def small_model(hidden="relu", dropout=False, seed=0):
    layers = [Flatten(input_shape=(28, 28)), Dense(32, hidden)]
    layers += [Dropout(0.25)] if dropout else []
    return Sequential(layers + [Dense(10, "softmax")], seed=seed)


def trained(optimizer, digits, dropout=False, **extras):
    x, y, _ = digits
    model = small_model(dropout=dropout)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)       # 8 steps
    for key, value in extras.items():
        setattr(model, key, value)
    return model


def keras_load(keras, path):
    """keras.models.load_model, failing the test on any warning Keras gives about the file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.models.load_model(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert messages == [], messages
    return model


def one_line_error(path, match):
    with pytest.raises(ModelFileError) as info:
        io.load_model(path)
    message = str(info.value)
    assert "\n" not in message
    assert os.fspath(path) in message
    assert match in message, message
    return message


# ---- files Keras wrote (fixtures) ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["keras_small.keras", "keras_small_tanh.keras"])
def test_predicts_as_keras_did_on_its_own_files(name, expected):
    model = io.load_model(FIXTURES / name)
    keras_probs = expected["probs_" + name.split(".")[0]]
    np.testing.assert_allclose(model.predict(expected["x_float"]), keras_probs, atol=1e-5)
    np.testing.assert_allclose(model.predict(expected["x_uint8"]), keras_probs, atol=1e-5)


def test_reads_layers_compile_settings_and_adam_state_keras_wrote():
    model = io.load_model(FIXTURES / "keras_small.keras")
    assert [(type(l).__name__, l.name) for l in model.layers] == [
        ("Flatten", "flatten"), ("Dense", "dense"), ("Dropout", "dropout"), ("Dense", "dense_1")]
    assert model.input_shape == (28, 28)
    assert model.layers[2].rate == 0.2
    assert [l.activation.name for l in model.layers if isinstance(l, Dense)] == ["relu", "softmax"]
    assert isinstance(model.optimizer, Adam)
    assert model.optimizer.learning_rate == pytest.approx(1e-3)
    assert model.optimizer.iterations == 63                   # 2,000 images / 32 per batch
    assert model.metrics == ["accuracy"] and model.loss.name == "sparse_categorical_crossentropy"
    # Adam's m and v sit in the file as kernel m, kernel v, bias m, bias v, ... per layer.
    with zipfile.ZipFile(FIXTURES / "keras_small.keras") as archive:
        with h5py.File(bytes_io.BytesIO(archive.read("model.weights.h5"))) as h5:
            kernel_m, kernel_v = h5["optimizer/vars/2"][()], h5["optimizer/vars/3"][()]
            last_bias_v = h5["optimizer/vars/9"][()]
    np.testing.assert_array_equal(model.optimizer.m[:784 * 16].reshape(784, 16), kernel_m)
    np.testing.assert_array_equal(model.optimizer.v[:784 * 16].reshape(784, 16), kernel_v)
    np.testing.assert_array_equal(model.optimizer.v[-10:], last_bias_v)


def test_uncompiled_keras_file_loads_uncompiled_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = io.load_model(FIXTURES / "keras_small_tanh.keras")
    assert model.optimizer is None
    assert [l.activation.name for l in model.layers[1:]] == ["tanh", "sigmoid", "softmax"]


def test_refuses_the_conv_model_naming_its_layers():
    message = one_line_error(FIXTURES / "keras_conv.keras", "layer 'conv2d' is a Conv2D; digitlens "
                             "supports InputLayer, Flatten, Dense (linear, relu, sigmoid, tanh, "
                             "softmax) and Dropout")
    assert "layer 'reshape' is a Reshape" in message


# ---- digitlens -> .keras -> real Keras ---------------------------------------------------------

OPTIMIZERS = {
    "adam": lambda: Adam(),
    "sgd-momentum": lambda: SGD(0.05, momentum=0.9, nesterov=True),
    "sgd": lambda: SGD(0.05),
    "rmsprop": lambda: RMSprop(0.001),
    "adam-cosine": lambda: Adam(CosineDecay(0.002, 100, alpha=0.1, warmup_target=0.004, warmup_steps=3)),
}


@pytest.mark.keras
@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_keras_loads_a_trained_digitlens_file(kind, keras, digits, tmp_path):
    model = trained(OPTIMIZERS[kind](), digits, dropout=True, class_names=list("0123456789"))
    path = tmp_path / "model.keras"
    io.save_model(model, path)
    assert "digitlens.json" in zipfile.ZipFile(path).namelist()   # Keras must not mind it

    loaded = keras_load(keras, path)
    x = digits[2].astype(np.float32) / 255.0
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x), atol=1e-5)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]

    # The optimizer comes back with its settings and every variable, so Keras could go on training.
    optimizer = loaded.optimizer
    assert type(optimizer).__name__.lower().endswith(type(model.optimizer).__name__.lower())
    assert int(optimizer.iterations) == model.optimizer.iterations == 8
    assert float(optimizer.learning_rate) == pytest.approx(model.optimizer.current_learning_rate(),
                                                           rel=1e-6)
    ours = [value for _, value in keras_compile.optimizer_variables(model)]
    theirs = [np.asarray(v.numpy()) for v in optimizer.variables]
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
    if kind == "adam-cosine":
        schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
        assert type(schedule).__name__ == "CosineDecay"
        assert schedule.get_config()["warmup_steps"] == 3


@pytest.mark.keras
def test_keras_continues_training_where_digitlens_stopped(keras, digits, tmp_path):
    model = trained(Adam(), digits)
    io.save_model(model, tmp_path / "model.keras")
    loaded = keras_load(keras, tmp_path / "model.keras")

    # One more step on the same batch, in each program, from the same weights and Adam state.
    x, y = digits[0][:32], digits[1][:32]
    loaded.train_on_batch(x.astype(np.float32) / 255.0, y)
    model.train_step(model.prepare_inputs(x), model.prepare_labels(y, 32))
    for theirs, ours in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(theirs, ours, atol=1e-5)


@pytest.mark.keras
def test_reads_what_keras_writes(keras, digits, tmp_path):
    x, y, x_test = digits
    keras.utils.set_random_seed(1)
    built = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(24, activation="sigmoid"),
                              keras.layers.Dropout(0.1),
                              keras.layers.Dense(12, activation="tanh"),
                              keras.layers.Dense(10, activation="softmax")])
    schedule = keras.optimizers.schedules.CosineDecay(0.01, 50, warmup_target=0.02, warmup_steps=2)
    built.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.8),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    built.fit(x.astype(np.float32) / 255.0, y, epochs=1, batch_size=32, verbose=0)
    built.save(tmp_path / "keras.keras")

    model = io.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(model.predict(x_test),
                               built.predict(x_test.astype(np.float32) / 255.0, verbose=0), atol=1e-5)
    optimizer = model.optimizer
    assert isinstance(optimizer, SGD) and optimizer.momentum == pytest.approx(0.8)
    assert isinstance(optimizer.learning_rate, CosineDecay)
    assert optimizer.iterations == 8
    assert optimizer.current_learning_rate() == pytest.approx(float(built.optimizer.learning_rate), rel=1e-5)
    keras_momentum = [np.asarray(v.numpy()).ravel() for v in built.optimizer.variables[1:]]
    np.testing.assert_allclose(optimizer.velocity, np.concatenate(keras_momentum), rtol=1e-6)


@pytest.mark.keras
def test_reads_a_compiled_but_untrained_keras_model_quietly(keras, tmp_path):
    built = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    built.compile(optimizer=keras.optimizers.RMSprop(0.002), loss="sparse_categorical_crossentropy")
    built.save(tmp_path / "fresh.keras")          # Keras stores only iteration 0 and the rate
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = io.load_model(tmp_path / "fresh.keras")
    assert isinstance(model.optimizer, RMSprop) and model.optimizer.iterations == 0
    assert model.optimizer.learning_rate == pytest.approx(0.002) and model.metrics == []


@pytest.mark.keras
def test_reads_a_functional_chain_and_refuses_a_branching_model(keras, digits, tmp_path):
    x_test = digits[2].astype(np.float32) / 255.0
    inputs = keras.Input((28, 28))
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(inputs))
    chain = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    chain.save(tmp_path / "chain.keras")
    model = io.load_model(tmp_path / "chain.keras")
    np.testing.assert_allclose(model.predict(x_test), chain.predict(x_test, verbose=0), atol=1e-5)

    flat = keras.layers.Flatten()(inputs)
    merged = keras.layers.Add()([keras.layers.Dense(8)(flat), keras.layers.Dense(8)(flat)])
    keras.Model(inputs, merged).save(tmp_path / "branch.keras")
    one_line_error(tmp_path / "branch.keras", "not a single chain of layers")


# ---- digitlens's own round trip ------------------------------------------------------------------

def test_round_trip_keeps_weights_optimizer_state_history_and_labels(digits, tmp_path):
    model = trained(Adam(CosineDecay(0.01, 20)), digits, dropout=True, class_names=list("0123456789"),
                    dataset="mnist", recipe={"epochs": 2, "batch_size": 64})
    path = tmp_path / "model.keras"
    io.save_model(model, path)
    loaded = io.load_model(path)

    np.testing.assert_array_equal(loaded.params, model.params)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    np.testing.assert_array_equal(loaded.optimizer.m, model.optimizer.m)
    np.testing.assert_array_equal(loaded.optimizer.v, model.optimizer.v)
    assert loaded.optimizer.learning_rate.get_config() == model.optimizer.learning_rate.get_config()
    assert loaded.history.history == model.history.history
    assert loaded.history.epoch == [0, 1] and loaded.history.seconds == model.history.seconds
    assert loaded.history.batches == model.history.batches
    assert (loaded.class_names, loaded.dataset, loaded.recipe) == (
        list("0123456789"), "mnist", {"epochs": 2, "batch_size": 64})


def test_writes_keras_zip_layout(digits, tmp_path):
    path = tmp_path / "model.keras"
    io.save_model(trained(Adam(), digits), path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[:3] == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        assert set(json.loads(archive.read("metadata.json"))) == {"keras_version", "date_saved"}
        config = json.loads(archive.read("config.json"))
        with h5py.File(bytes_io.BytesIO(archive.read("model.weights.h5"))) as h5:
            assert h5["layers/dense/vars/0"].shape == (784, 32)
            assert h5["layers/dense_1/vars"].attrs["name"] == "dense_1"
            assert len(h5["optimizer/vars"]) == 2 + 2 * 4     # iteration, rate, m and v of 4 arrays
    assert config["class_name"] == "Sequential"
    assert [l["class_name"] for l in config["config"]["layers"]] == ["InputLayer", "Flatten", "Dense", "Dense"]
    assert config["config"]["layers"][0]["config"]["batch_shape"] == [None, 28, 28]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"


def test_saving_an_unbuilt_model_says_what_to_do(tmp_path):
    model = Sequential([Flatten(), Dense(10, "softmax")])
    with pytest.raises(NotBuiltError, match="has not been built"):
        io.save_model(model, tmp_path / "model.keras")
    assert list(tmp_path.iterdir()) == []


# ---- damaged and unsupported files ---------------------------------------------------------------

def rewrite(source, target, config=None, edit_h5=None, drop=()):
    """Copy a .keras file, changing its config, its weights (edit_h5(h5py.File)) or its entries."""
    with zipfile.ZipFile(source) as archive:
        entries = {name: archive.read(name) for name in archive.namelist() if name not in drop}
    if config is not None:
        entries["config.json"] = json.dumps(config(json.loads(entries["config.json"]))).encode()
    if edit_h5 is not None:
        buffer = bytes_io.BytesIO(entries["model.weights.h5"])
        with h5py.File(buffer, "r+") as h5:
            edit_h5(h5)
        entries["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def set_activation(name):
    def edit(config):
        config["config"]["layers"][2]["config"]["activation"] = name
        return config
    return edit


def replace_kernel(h5):
    del h5["layers/dense/vars/0"]
    h5["layers/dense/vars/0"] = np.zeros((784, 5), np.float32)


SMALL = FIXTURES / "keras_small.keras"
DAMAGED = {
    "truncated zip": (lambda p: p.write_bytes(SMALL.read_bytes()[:60_000]), "not a zip archive"),
    "text file": (lambda p: p.write_text("this is not a model\n"), "not a zip archive"),
    "no weights entry": (lambda p: rewrite(SMALL, p, drop=["model.weights.h5"]), "no model.weights.h5"),
    "no config entry": (lambda p: rewrite(SMALL, p, drop=["config.json"]), "no config.json"),
    "config not JSON": (lambda p: _put(rewrite(SMALL, p), "config.json", b"{oops"), "not valid JSON"),
    "missing dataset": (lambda p: rewrite(SMALL, p, edit_h5=lambda h5: h5.__delitem__("layers/dense/vars/1")),
                        "is missing the dataset layers/dense/vars/1"),
    "missing layer group": (lambda p: rewrite(SMALL, p, edit_h5=lambda h5: h5.__delitem__("layers/dense_1")),
                            "no weights for layer 'dense_1'"),
    "wrong kernel shape": (lambda p: rewrite(SMALL, p, edit_h5=replace_kernel),
                           "layer 'dense' kernel has shape (784, 5) in the file"),
    "weights not HDF5": (lambda p: _put(rewrite(SMALL, p), "model.weights.h5", b"\0" * 100), "not an HDF5 file"),
    "unsupported activation": (lambda p: rewrite(SMALL, p, config=set_activation("gelu")),
                               "layer 'dense' uses the activation 'gelu'"),
    "not a Sequential": (lambda p: rewrite(SMALL, p, config=lambda c: {**c, "class_name": "MyNet"}),
                         "the model is a MyNet"),
}


def _put(path, name, data):
    """Replace one entry of a zip archive."""
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    entries[name] = data
    with zipfile.ZipFile(path, "w") as archive:
        for n, d in entries.items():
            archive.writestr(n, d)
    return path


@pytest.mark.parametrize("case", DAMAGED)
def test_damaged_or_unsupported_files_give_one_line_naming_the_file(case, tmp_path):
    make, match = DAMAGED[case]
    path = tmp_path / "model.keras"
    make(path)
    one_line_error(path, match)


def test_optimizer_digitlens_lacks_loads_the_model_uncompiled_with_a_warning(tmp_path, expected):
    def adamw(config):
        config["compile_config"]["optimizer"]["class_name"] = "AdamW"
        return config

    path = rewrite(SMALL, tmp_path / "model.keras", config=adamw)
    with pytest.warns(UserWarning, match="loaded uncompiled: the optimizer AdamW is not one"):
        model = io.load_model(path)
    assert model.optimizer is None
    np.testing.assert_allclose(model.predict(expected["x_float"]), expected["probs_keras_small"], atol=1e-5)


def test_optimizer_state_that_does_not_fit_leaves_a_fresh_optimizer(tmp_path):
    path = rewrite(SMALL, tmp_path / "model.keras", edit_h5=lambda h5: h5.__delitem__("optimizer/vars/9"))
    with pytest.warns(UserWarning, match="optimizer state not restored"):
        model = io.load_model(path)
    assert isinstance(model.optimizer, Adam) and model.optimizer.iterations == 0
    assert not model.optimizer.m.any()


def test_a_file_cut_anywhere_gives_one_line(tmp_path):
    data = SMALL.read_bytes()
    path = tmp_path / "model.keras"
    for end in np.linspace(0, len(data) - 1, 25).astype(int):
        path.write_bytes(data[:end])
        one_line_error(path, "model.keras: ")


def test_missing_file_and_unknown_suffix(tmp_path):
    one_line_error(tmp_path / "absent.keras", "no such file")
    (tmp_path / "model.pkl").write_bytes(b"x")
    one_line_error(tmp_path / "model.pkl", "expected .keras, .h5 or .hdf5")


# ---- saving is all or nothing ----------------------------------------------------------------------

def test_failed_save_leaves_the_old_file_and_no_temporary_file(digits, tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    io.save_model(trained(Adam(), digits), path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(ModelFileError, match="no space left on device") as info:
        io.save_model(small_model().build(), path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_saving_into_a_read_only_directory_fails_cleanly(digits, tmp_path, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    path = folder / "model.keras"
    io.save_model(trained(Adam(), digits), path)
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            # Running as root, which permissions do not stop: refuse the temporary file the way a
            # read-only directory does.
            import tempfile

            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        with pytest.raises(ModelFileError, match="permission denied") as info:
            io.save_model(small_model().build(), path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        assert path.read_bytes() == before
        assert [p.name for p in folder.iterdir()] == ["model.keras"]
    finally:
        folder.chmod(0o755)
