"""digitlens.io and the Keras 3 `.keras` file, checked against real Keras.

Three kinds of evidence: files real Keras 3.15 wrote (tests/fixtures, with Keras's own
predictions), real Keras run in this process (KERAS_BACKEND=torch) loading what digitlens writes
and writing what digitlens reads, and damaged or hostile files - data kept in other files, sizes
that claim gigabytes, any odd value anywhere in the config - each of which must give one clear
line (or, where only the compile settings or extras are hurt, a usable model and a warning).
"""

import copy
import io as bytes_io
import json
import os
import stat
import warnings
import zipfile

import h5py
import numpy as np
import pytest
from conftest import FIXTURES, peak_memory

from digitlens import io
from digitlens.errors import ModelFileError, NotBuiltError
from digitlens.io import optimizer_state
from digitlens.nn import SGD, Adam, CosineDecay, Dense, Dropout, Flatten, RMSprop, Sequential
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


def test_refuses_a_model_with_layers_digitlens_lacks_naming_them():
    # Conv2D and Reshape are read now (tests/test_io_conv.py); these two are not.
    message = one_line_error(FIXTURES / "keras_unsupported.keras", "layer 'depthwise_conv2d' is a "
                             "DepthwiseConv2D and layer 'layer_normalization' is a LayerNormalization; "
                             "digitlens supports InputLayer, Flatten, Dense, Dropout, Conv2D")
    assert "Reshape" not in message.split(";")[0]


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
    ours = [value for _, value in optimizer_state.optimizer_variables(model)]
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
                               "layer 'dense' (Dense) uses the activation 'gelu'; digitlens has linear, relu"),
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
            from digitlens import atomic

            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(atomic, "_new_file", refuse)
        with pytest.raises(ModelFileError, match="permission denied") as info:
            io.save_model(small_model().build(), path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        assert path.read_bytes() == before
        assert [p.name for p in folder.iterdir()] == ["model.keras"]
    finally:
        folder.chmod(0o755)


def test_a_missing_directory_is_one_line_naming_it(tmp_path):
    folder = tmp_path / "no" / "such"
    with pytest.raises(ModelFileError) as info:
        io.save_model(small_model().build(), folder / "model.keras")
    assert str(info.value) == (f"{folder / 'model.keras'}: cannot save: the directory {folder} "
                               "does not exist")
    assert list(tmp_path.iterdir()) == []              # nothing created on the way


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".onnx"])
def test_saved_files_get_the_permissions_of_any_new_file(suffix, tmp_path):
    model = small_model().build()
    path = tmp_path / f"model{suffix}"
    save = io.export_onnx if suffix == ".onnx" else io.save_model
    old = os.umask(0o027)
    try:
        save(model, path)                              # new: 0o666 less the umask
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        path.chmod(0o604)
        save(model, path)                              # replaced: keeps the mode it had
        assert stat.S_IMODE(path.stat().st_mode) == 0o604
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# ---- a file must not read other files ------------------------------------------------------------
# HDF5 can keep a dataset's numbers elsewhere. h5py follows that even for the model.weights.h5 held
# in memory, so each crafted file is first shown to leak the secret through plain h5py.

SECRET = b"TOP-SECRET digitlens must never read this. "


def secret_files(folder):
    """A raw file and an HDF5 file full of the secret, each big enough for the first kernel."""
    raw = folder / "secret.bin"
    raw.write_bytes((SECRET * 2000)[:784 * 16 * 4])
    numbers = np.frombuffer(raw.read_bytes(), dtype=np.float32)
    with h5py.File(folder / "secret.h5", "w") as h5:
        h5["kernel"] = numbers.reshape(784, 16)
        h5["vars/0"] = numbers.reshape(784, 16)
        h5["vars/1"] = numbers[:16]
    return raw, folder / "secret.h5"


def point_elsewhere(kind, h5, path, raw, secret_h5):
    """Replace the dataset (or group) at `path` with one whose data are outside the file."""
    shape, dtype = (h5[path].shape, h5[path].dtype) if kind in ("external", "virtual") else (None, None)
    del h5[path]
    if kind == "external":
        h5.create_dataset(path, shape=shape, dtype=dtype, external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    elif kind == "virtual":
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
        layout[...] = h5py.VirtualSource(str(secret_h5), "kernel", shape=shape)
        h5.create_virtual_dataset(path, layout)
    elif kind == "external link":
        h5[path] = h5py.ExternalLink(str(secret_h5), "/vars")
    else:
        h5[path] = h5py.SoftLink("/optimizer/vars/2")


ELSEWHERE = {   # what to point elsewhere, and the one line that refuses it
    "external storage": ("external", "layers/dense/vars/0",
                         "dataset /layers/dense/vars/0 stores its data outside the file; refusing to read it"),
    "external storage, optimizer state": ("external", "optimizer/vars/2",
                                          "dataset /optimizer/vars/2 stores its data outside the file"),
    "virtual dataset": ("virtual", "layers/dense/vars/0",
                        "dataset /layers/dense/vars/0 stores its data outside the file"),
    "external link": ("external link", "layers/dense/vars",
                      "/layers/dense/vars is a link into another file; refusing to follow it"),
    "soft link": ("soft link", "layers/dense/vars/0", "/layers/dense/vars/0 is a soft link; refusing"),
}


@pytest.mark.parametrize("case", ELSEWHERE)
def test_data_outside_the_file_is_refused(case, tmp_path):
    kind, where, match = ELSEWHERE[case]
    raw, secret_h5 = secret_files(tmp_path)
    path = rewrite(SMALL, tmp_path / "model.keras",
                   edit_h5=lambda h5: point_elsewhere(kind, h5, where, raw, secret_h5))
    if kind == "external":                 # the danger is real: h5py reads the secret
        with zipfile.ZipFile(path) as archive, h5py.File(bytes_io.BytesIO(archive.read(WEIGHTS))) as h5:
            assert SECRET in h5[where][()].tobytes()
    message = one_line_error(path, match)
    assert SECRET.decode() not in message


# ---- limits: what a file declares must be what it holds ------------------------------------------

WEIGHTS = "model.weights.h5"


def set_units(layer, units):
    def edit(config):
        config["config"]["layers"][layer]["config"]["units"] = units
        return config
    return edit



def test_a_small_file_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    # 100,000 units would be a 313 MB kernel (and as much again for its gradient); a file of the
    # same 178 KB declaring 5,000,000 would be 16 GB. Neither may be allocated to find out.
    for units in (100_000, 5_000_000):
        path = rewrite(SMALL, tmp_path / "model.keras", config=set_units(2, units))
        peak = peak_memory(lambda: one_line_error(
            path, f"layer 'dense' kernel has shape (784, 16) in the file, but its config makes it "
                  f"(784, {units})"))
        assert peak < 16 * 2**20


def unstored(h5, shapes, **options):
    """Replace datasets with ones of the given shapes whose numbers were never written."""
    for name, shape in shapes.items():
        del h5[name]
        h5.create_dataset(name, shape=shape, dtype="f4", chunks=(shape[0], min(shape[-1], 1000))
                          if len(shape) == 2 else (min(shape[0], 1000),), **options)


def test_arrays_declared_but_not_in_the_file_are_refused_before_reading(tmp_path):
    # The config and the datasets agree on 100,000 units, but the file holds none of the numbers.
    shapes = {"layers/dense/vars/0": (784, 100_000), "layers/dense/vars/1": (100_000,),
              "layers/dense_1/vars/0": (100_000, 10)}
    path = rewrite(SMALL, tmp_path / "model.keras", config=set_units(2, 100_000),
                   edit_h5=lambda h5: unstored(h5, shapes))
    assert path.stat().st_size < 200_000
    peak = peak_memory(lambda: one_line_error(
        path, "dataset /layers/dense/vars/0 declares shape (784, 100000) (313,600,000 bytes), "
              "but the file stores 0 bytes of it"))
    assert peak < 16 * 2**20


def test_compressed_arrays_past_the_limit_are_refused_before_reading(tmp_path):
    # Compressed, a file may hold less than it unpacks to - but never more than MAX_MODEL_BYTES.
    shapes = {"layers/dense/vars/0": (784, 200_000), "layers/dense/vars/1": (200_000,),
              "layers/dense_1/vars/0": (200_000, 10)}
    path = rewrite(SMALL, tmp_path / "model.keras", config=set_units(2, 200_000),
                   edit_h5=lambda h5: unstored(h5, shapes, compression="gzip"))
    peak = peak_memory(lambda: one_line_error(
        path, "dataset /layers/dense/vars/0 (784, 200000) takes the model's arrays past the 512 MB"))
    assert peak < 16 * 2**20


def test_the_size_limit_is_one_constant_for_io_and_the_web_app():
    assert io.MAX_MODEL_BYTES == 512 * 2**20 and io.MAX_ZIP_ENTRIES == 64


def edit_directory(path, name, offset, value):
    """Change one 2- or 4-byte field of entry `name` in the zip's central directory."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")                        # each directory entry starts so
    while data[at + 46:at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    width = 2 if offset == 10 else 4
    data[at + offset:at + offset + width] = value.to_bytes(width, "little")
    path.write_bytes(bytes(data))
    return path


def claim_size(path, name, size):
    """Make the zip directory say that entry `name` unpacks to `size` bytes (nothing else changes)."""
    return edit_directory(path, name, 24, size)           # 24: the "uncompressed size" field


def add_entries(path, count):
    with zipfile.ZipFile(path, "a") as archive:
        for i in range(count):
            archive.writestr(f"assets/{i}.txt", b"x")
    return path


def duplicate_weights(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                    # zipfile warns: "Duplicate name"
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(WEIGHTS, b"another weights file")
    return path


def rename_entry(path, old, new):
    with zipfile.ZipFile(path) as archive:
        entries = {(new if n == old else n): archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for n, d in entries.items():
            archive.writestr(n, d)
    return path


def oversized(path):
    with open(path, "wb") as out:                          # sparse: costs no disk
        out.truncate(io.MAX_MODEL_BYTES + 1)
    return path


ZIP_LIMITS = {
    "too many entries": (lambda p: add_entries(rewrite(SMALL, p), 70),
                         "the archive has 73 entries; a .keras file has a handful (at most 64)"),
    "unpacks to too much": (lambda p: claim_size(rewrite(SMALL, p), WEIGHTS, 2**32 - 1),
                            "the archive unpacks to 4,29"),
    "weights entry twice": (lambda p: duplicate_weights(rewrite(SMALL, p)),
                            "the archive holds model.weights.h5 more than once"),
    "weights in a folder": (lambda p: rename_entry(rewrite(SMALL, p), WEIGHTS, "weights/" + WEIGHTS),
                            "the archive has no model.weights.h5"),
    "file too large": (oversized, "536,870,913 bytes, more than the 512 MB a model file may hold"),
}


@pytest.mark.parametrize("case", ZIP_LIMITS)
def test_zip_limits_are_checked_from_the_directory_before_reading(case, tmp_path, monkeypatch):
    make, match = ZIP_LIMITS[case]
    path = make(tmp_path / "model.keras")
    unpacked = []
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, name, pwd=None: unpacked.append(name))
    one_line_error(path, match)
    assert unpacked == []


# ---- damaged files never escape as anything but one line --------------------------------------

def deflated(path, name, damage):
    """Store entry `name` deflated, then damage its compressed bytes."""
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for n, d in entries.items():
            archive.writestr(n, d, compress_type=zipfile.ZIP_DEFLATED if n == name else zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    damage(data, data.index(name.encode()) + len(name))   # just after the entry's local header
    path.write_bytes(bytes(data))
    return path


def unknown_compression(path):
    return edit_directory(path, "config.json", 10, 99)    # 10: the "compression method" field


def flip(data, at):
    data[at + 2:at + 40] = bytes(b ^ 0x5A for b in data[at + 2:at + 40])


def edit_layer(index, **changes):
    def edit(config):
        config["config"]["layers"][index].update(changes)
        return config
    return edit


def set_dense(**changes):
    def edit(config):
        config["config"]["layers"][2]["config"].update(changes)
        return config
    return edit


def complex_kernel(h5):
    del h5["layers/dense/vars/0"]
    h5["layers/dense/vars/0"] = np.zeros((784, 16), np.complex64)


ESCAPES = {   # each of these once escaped as an error other than ModelFileError
    "infinite units": (lambda p: rewrite(SMALL, p, config=set_dense(units=float("inf"))),
                       "layer 'dense' (Dense) has a config digitlens cannot read"),
    "layer name not a string": (lambda p: rewrite(SMALL, p, config=set_dense(name={"a": 1})),
                                "a Dense layer has the name {'a': 1}; expected a string"),
    "unknown layer with a list as config": (
        lambda p: rewrite(SMALL, p, config=edit_layer(3, class_name="DepthwiseConv2D", config=[1])),
        "layer None is a DepthwiseConv2D"),
    "model config a number": (lambda p: rewrite(SMALL, p, config=lambda c: {**c, "config": 5}),
                              "the model config is not a serialized Keras model"),
    "deeply nested config": (lambda p: _put(rewrite(SMALL, p), "config.json", b"[" * 100_000),
                             "config.json is not valid JSON"),
    "damaged deflate data": (lambda p: deflated(rewrite(SMALL, p), "config.json", flip),
                             "config.json is damaged inside the archive"),
    "unknown compression": (lambda p: unknown_compression(rewrite(SMALL, p)),
                            "config.json is damaged inside the archive "
                            "(That compression method is not supported)"),
    "complex weights": (lambda p: rewrite(SMALL, p, edit_h5=complex_kernel),
                        "dataset /layers/dense/vars/0 holds complex64, not numbers"),
}


@pytest.mark.parametrize("case", ESCAPES)
def test_damaged_files_give_one_line_not_an_internal_error(case, tmp_path):
    make, match = ESCAPES[case]
    one_line_error(make(tmp_path / "model.keras"), match)


def set_optimizer(**changes):
    def edit(config):
        config["compile_config"]["optimizer"]["config"].update(changes)
        return config
    return edit


def cosine(**settings):
    return {"module": "keras.optimizers.schedules", "class_name": "CosineDecay", "config": settings,
            "registered_name": None}


UNUSABLE_COMPILE = {   # loads, uncompiled, with this warning
    "beta_1 text": (set_optimizer(beta_1="x"), "the optimizer setting beta_1='x' is not a number in [0, 1)"),
    "beta_1 one": (set_optimizer(beta_1=1.0), "beta_1=1.0 is not a number in [0, 1)"),
    "learning rate NaN": (set_optimizer(learning_rate=float("nan")), "learning_rate=nan is not a number >= 0"),
    "learning rate null": (set_optimizer(learning_rate=None), "learning_rate=None is not a number >= 0"),
    "schedule without decay_steps": (set_optimizer(learning_rate=cosine(initial_learning_rate=0.01)),
                                     "the learning-rate schedule CosineDecay has no decay_steps"),
    "decay_steps 0": (set_optimizer(learning_rate=cosine(initial_learning_rate=0.01, decay_steps=0)),
                      "the learning-rate schedule CosineDecay setting decay_steps=0 is not a number >= 1"),
    "decay_rate negative": (set_optimizer(learning_rate={"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.01, "decay_steps": 10, "decay_rate": -0.5}}), "decay_rate=-0.5"),
    "schedule name a list": (set_optimizer(learning_rate={"class_name": ["CosineDecay"]}),
                             "the learning-rate schedule ['CosineDecay'] is not in digitlens"),
    "settings a list": (lambda c: {**c, "compile_config": {**c["compile_config"], "optimizer": {
        "class_name": "Adam", "config": [["beta_1", 0.9]]}}}, "the optimizer Adam has no settings"),
}


@pytest.mark.parametrize("case", UNUSABLE_COMPILE)
def test_unusable_compile_settings_load_the_model_uncompiled(case, tmp_path, expected):
    edit, match = UNUSABLE_COMPILE[case]
    path = rewrite(SMALL, tmp_path / "model.keras", config=edit)
    with pytest.warns(UserWarning, match="loaded uncompiled: ") as caught:
        model = io.load_model(path)
    assert any(match in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert model.optimizer is None
    np.testing.assert_allclose(model.predict(expected["x_float"]), expected["probs_keras_small"], atol=1e-5)


def test_any_error_building_the_optimizer_loads_the_model_uncompiled(tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(Adam, "__init__", broken)
    with pytest.warns(UserWarning, match=r"loaded uncompiled: its optimizer settings cannot be used "
                                         r"\(ZeroDivisionError: float division by zero\)"):
        model = io.load_model(SMALL)
    assert model.optimizer is None


def test_a_valid_schedule_still_compiles_and_trains(tmp_path, digits):
    path = rewrite(SMALL, tmp_path / "model.keras",
                   config=set_optimizer(learning_rate=cosine(initial_learning_rate=0.01, decay_steps=5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = io.load_model(path)
    assert isinstance(model.optimizer.learning_rate, CosineDecay) and model.optimizer.iterations == 63
    model.fit(digits[0][:64], digits[1][:64], epochs=1, batch_size=8, verbose=0)   # past decay_steps


def test_a_build_config_that_is_not_an_object_is_ignored(tmp_path, expected):
    # Without an InputLayer or build_input_shape, the first kernel's rows give the input size.
    path = rewrite(SMALL, tmp_path / "model.keras", config=lambda c: {
        **c, "build_config": [1], "config": {**c["config"], "build_input_shape": None,
                                             "layers": c["config"]["layers"][1:]}})
    model = io.load_model(path)
    assert model.input_shape == (784,)
    np.testing.assert_allclose(model.predict(expected["x_float"].reshape(-1, 784)),
                               expected["probs_keras_small"], atol=1e-5)


def replace_state(index, value):
    def edit(h5):
        del h5[f"optimizer/vars/{index}"]
        h5[f"optimizer/vars/{index}"] = value
    return edit


def add_state(h5):
    for i in range(10, 200):
        h5[f"optimizer/vars/{i}"] = np.zeros(3, np.float32)


@pytest.mark.parametrize("edit", [replace_state(0, np.float32("nan")), replace_state(0, np.int64(-5)),
                                  replace_state(0, np.zeros(3, np.int64)),
                                  replace_state(1, np.zeros(2, np.float32)), add_state],
                         ids=["iteration NaN", "iteration negative", "iteration an array", "rate an array",
                              "190 arrays too many"])
def test_optimizer_state_that_makes_no_sense_leaves_a_fresh_optimizer(edit, tmp_path, digits):
    path = rewrite(SMALL, tmp_path / "model.keras", edit_h5=edit)
    with pytest.warns(UserWarning, match="optimizer state not restored"):
        model = io.load_model(path)
    assert isinstance(model.optimizer, Adam) and model.optimizer.iterations == 0
    model.fit(digits[0][:32], digits[1][:32], epochs=1, batch_size=16, verbose=0)


GOOD_EXTRAS = {"class_names": list("0123456789"), "dataset": "mnist", "recipe": {"epochs": 2},
               "history": {"history": {"loss": [0.5, 0.25]}, "epoch": [0, 1], "seconds": [1.5, 1.0],
                           "batches": [{"epoch": 0, "batch": 0, "loss": 0.7, "accuracy": 0.5}]}}
BAD_EXTRAS = {
    "history not lists": ({"history": {"history": [1, 2]}}, "history.history: expected lists of numbers"),
    "history values text": ({"history": {"history": {"loss": ["a"]}}}, "history.history"),
    "history a list": ({"history": [1]}, "history: expected an object, received list [1]"),
    "epochs not whole": ({"history": {"epoch": [0.5]}}, "history.epoch: expected a list of counts"),
    "batch number negative": (
        {"history": {"batches": [{"epoch": 0, "batch": -1, "loss": 1.0, "accuracy": 0.5}]}},
        "history.batches: expected a list of {epoch, batch, loss, accuracy}"),
    "batch without loss": ({"history": {"batches": [{"epoch": 0, "batch": 0}]}}, "history.batches"),
    "class_names a number": ({"class_names": 5}, "class_names: expected a list of 10 strings, received int 5"),
    "class_names too few": ({"class_names": ["a", "b", "c"]},
                            "class_names: expected 10 names, one per output, received 3"),
    "class_names numbers": ({"class_names": list(range(10))}, "class_names: expected a list of 10 strings"),
    "dataset a number": ({"dataset": 5}, "dataset: expected a name, received int 5"),
    "recipe text": ({"recipe": "fast"}, "recipe: expected an object, received str 'fast'"),
}


@pytest.mark.parametrize("case", BAD_EXTRAS)
def test_damaged_extras_are_left_off_with_a_warning(case, tmp_path):
    bad, match = BAD_EXTRAS[case]
    (name, _), = bad.items()
    extras = json.dumps({**GOOD_EXTRAS, **bad}).encode()
    path = _put(rewrite(SMALL, tmp_path / "model.keras"), "digitlens.json", extras)
    with pytest.warns(UserWarning, match="digitlens.json is damaged") as caught:
        model = io.load_model(path)
    message = str(caught[0].message)
    assert match in message and message.endswith(f"the model loads without its {name}"), message
    for other, value in GOOD_EXTRAS.items():       # the others still arrive
        loaded = getattr(model, other, None)
        loaded = loaded.to_dict() if hasattr(loaded, "to_dict") else loaded
        assert (loaded is None) == (other == name), other
        if other != name:
            assert loaded == value


# ---- whatever a config holds, a load gives a usable model or one line ------------------------

ODD_VALUES = [None, -1, 0, 10**9, 1e308, float("nan"), "x", True, [], {}, [1, "a"], {"a": 1}]


def all_paths(tree, path=()):
    """Every place in a JSON tree, as a tuple of keys and indices: () is the whole tree."""
    yield path
    children = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, child in children:
        yield from all_paths(child, path + (key,))


def replaced(tree, path, value):
    if not path:
        return value
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def usable_or_one_line(path, digits):
    """None if the file loads into a model that predicts, trains and saves, or is refused in one
    line naming it; otherwise what went wrong."""
    x, y, _ = digits
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = io.load_model(path)
    except ModelFileError as e:
        return None if "\n" not in str(e) and str(path) in str(e) else f"bad message: {e}"
    except Exception as e:
        return f"{type(e).__name__} escaped: {e}"
    try:
        model.predict(x[:2])
        if model.optimizer is not None:
            model.fit(x[:16], y[:16], epochs=1, batch_size=8, verbose=0)
        io.save_model(model, path.with_name("again" + path.suffix))
    except Exception as e:
        return f"loaded, then {type(e).__name__}: {e}"
    return None


def test_any_value_anywhere_in_the_config_gives_a_usable_model_or_one_line(tmp_path, digits):
    with zipfile.ZipFile(SMALL) as archive:
        config = json.loads(archive.read("config.json"))
    failures = []
    for i, where in enumerate(all_paths(config)):
        value = ODD_VALUES[i % len(ODD_VALUES)]
        path = rewrite(SMALL, tmp_path / "model.keras", config=lambda c: replaced(c, where, value))
        problem = usable_or_one_line(path, digits)
        if problem:
            failures.append(f"{'/'.join(map(str, where))} = {value!r}: {problem}")
    assert failures == []


def test_any_value_anywhere_in_the_extras_leaves_the_model_usable(tmp_path):
    from digitlens.explain.history import curves      # what draws the history in the CLI and web app

    failures = []
    for i, where in enumerate(all_paths(GOOD_EXTRAS)):
        value = ODD_VALUES[i % len(ODD_VALUES)]
        extras = json.dumps(replaced(GOOD_EXTRAS, where, value)).encode()
        path = _put(rewrite(SMALL, tmp_path / "model.keras"), "digitlens.json", extras)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = io.load_model(path)
            names = getattr(model, "class_names", None)
            assert names is None or (len(names) == 10 and all(isinstance(n, str) for n in names))
            if model.history is not None:
                curves(model.history)
            io.save_model(model, tmp_path / "again.keras")
        except Exception as e:
            failures.append(f"{'/'.join(map(str, where))} = {value!r}: {type(e).__name__}: {e}")
    assert failures == []
