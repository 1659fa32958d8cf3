"""digitlens.io and the legacy Keras HDF5 file, `.h5`, checked against real Keras.

Keras 3 wrote tests/fixtures/keras_small_legacy.h5; real Keras (KERAS_BACKEND=torch, in this
process) loads what digitlens writes and writes what digitlens reads. tf.keras 2.x cannot run here
(no TensorFlow), so one test rewrites the real Keras file into the tf.keras 2.x layout described
in ../shared/KERAS_FILES.md - `dense/dense/kernel:0`, byte-string attributes, a weight list split
into weight_names0/1, the legacy optimizer's names and order - and reads that.
"""

import json
import os
import shutil
import warnings

import h5py
import numpy as np
import pytest
from conftest import FIXTURES, peak_memory

from digitlens import io
from digitlens.errors import ModelFileError
from digitlens.io import keras_h5, optimizer_state
from digitlens.nn import SGD, Adam, Dense, Flatten, Sequential

LEGACY = FIXTURES / "keras_small_legacy.h5"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")


@pytest.fixture(scope="module")
def digits(mnist):
    (x_train, y_train), (x_test, _) = mnist
    return x_train[:256], y_train[:256], x_test[:500]


def trained(optimizer, digits, **extras):
    x, y, _ = digits
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(32, "relu"), Dense(10, "softmax")], seed=0)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    for key, value in extras.items():
        setattr(model, key, value)
    return model


def one_line_error(path, match):
    with pytest.raises(ModelFileError) as info:
        io.load_model(path)
    message = str(info.value)
    assert "\n" not in message and os.fspath(path) in message
    assert match in message, message


# ---- files Keras wrote ---------------------------------------------------------------------------

def test_predicts_as_keras_did_on_its_legacy_file(expected):
    model = io.load_model(LEGACY)
    np.testing.assert_allclose(model.predict(expected["x_float"]),
                               expected["probs_keras_small_legacy"], atol=1e-5)


def test_restores_the_adam_state_keras_saved(expected):
    # The .keras and .h5 fixtures are the same trained model: both must give the same state.
    from_h5 = io.load_model(LEGACY)
    from_keras = io.load_model(FIXTURES / "keras_small.keras")
    assert isinstance(from_h5.optimizer, Adam) and from_h5.optimizer.iterations == 63
    np.testing.assert_array_equal(from_h5.optimizer.m, from_keras.optimizer.m)
    np.testing.assert_array_equal(from_h5.optimizer.v, from_keras.optimizer.v)
    assert [l.name for l in from_h5.layers] == ["flatten", "dense", "dropout", "dense_1"]


def as_tf_keras_2(source, target):
    """Rewrite a Keras 3 legacy .h5 into the layout tf.keras 2.x wrote, with the same numbers."""
    with h5py.File(source) as src:
        config = json.loads(src.attrs["model_config"])
        weights = {name: {w: src["model_weights"][name][w][()] for w in
                          keras_h5.read_names(src["model_weights"][name], "weight_names")}
                   for name in keras_h5.read_names(src["model_weights"], "layer_names")}
        state = src["optimizer_weights"]
        adam = [state[n][()] for n in keras_h5.read_names(state, "weight_names")]
    layers = []
    for entry in config["config"]["layers"]:
        c = dict(entry["config"], dtype="float32")
        if entry["class_name"] == "InputLayer":
            c = {"batch_input_shape": c.pop("batch_shape"), "dtype": "float32", "sparse": False,
                 "ragged": False, "name": "flatten_input"}
        if entry["class_name"] == "Dense":
            c["kernel_initializer"] = {"class_name": "GlorotUniform", "config": {"seed": None}}
            c["bias_initializer"] = {"class_name": "Zeros", "config": {}}
        layers.append({"class_name": entry["class_name"], "config": c})
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    training_config = {
        "loss": "sparse_categorical_crossentropy",
        "metrics": [[{"class_name": "MeanMetricWrapper",
                      "config": {"name": "accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}]],
        "optimizer_config": {"class_name": "Custom>Adam", "config": {
            "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": False, "is_legacy_optimizer": False, "jit_compile": False}}}
    with h5py.File(target, "w") as h5:
        h5.attrs["keras_version"] = b"2.15.0"
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["model_config"] = json.dumps(model_config).encode()
        h5.attrs["training_config"] = json.dumps(training_config).encode()
        root = h5.create_group("model_weights")
        root.attrs["layer_names"] = np.array([n.encode() for n in weights])
        for layer, arrays in weights.items():
            group = root.create_group(layer)
            names = [f"{layer}/{w.split('/')[-1]}:0" for w in arrays]
            if len(names) == 2:        # as a long list would be: split in two attributes
                group.attrs["weight_names0"] = np.array([names[0].encode()])
                group.attrs["weight_names1"] = np.array([names[1].encode()])
            else:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
            for name, value in zip(names, arrays.values()):
                group.create_dataset(name, data=value)
        # tf.keras 2's Adam: iter, then every m, then every v; Keras 3's interleaves m and v.
        iteration, _, *slots = adam
        m, v = slots[0::2], slots[1::2]
        params = [f"{layer}/{kind}" for layer in ("dense", "dense_1") for kind in ("kernel", "bias")]
        names = ["Adam/iter:0"] + [f"Adam/{p}/m:0" for p in params] + [f"Adam/{p}/v:0" for p in params]
        state = h5.create_group("optimizer_weights")
        state.attrs["weight_names"] = np.array([n.encode() for n in names])
        for name, value in zip(names, [iteration.astype(np.int64)] + m + v):
            state.create_dataset(name, data=value)
    return target


def test_reads_the_tf_keras_2_layout(expected, tmp_path):
    path = as_tf_keras_2(LEGACY, tmp_path / "tf2.h5")
    model = io.load_model(path)
    np.testing.assert_allclose(model.predict(expected["x_float"]),
                               expected["probs_keras_small_legacy"], atol=1e-5)
    reference = io.load_model(LEGACY)
    assert model.metrics == ["accuracy"] and model.optimizer.iterations == 63
    np.testing.assert_array_equal(model.optimizer.m, reference.optimizer.m)
    np.testing.assert_array_equal(model.optimizer.v, reference.optimizer.v)


# ---- digitlens -> .h5 -> real Keras, and back --------------------------------------------------

@pytest.mark.keras
def test_keras_loads_a_digitlens_h5(keras, digits, tmp_path):
    model = trained(Adam(), digits, class_names=list("0123456789"))
    path = tmp_path / "model.h5"
    io.save_model(model, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.models.load_model(path)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []
    x = digits[2].astype(np.float32) / 255.0
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x), atol=1e-5)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)


@pytest.mark.keras
def test_reads_the_h5_keras_writes(keras, digits, tmp_path):
    x, y, x_test = digits
    keras.utils.set_random_seed(2)
    built = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(20, activation="tanh"),
                              keras.layers.Dense(10, activation="softmax")])
    built.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    built.fit(x.astype(np.float32) / 255.0, y, epochs=1, batch_size=32, verbose=0)
    built.save(tmp_path / "keras.h5")
    built.save_weights(tmp_path / "only.weights.h5")

    model = io.load_model(tmp_path / "keras.h5")
    np.testing.assert_allclose(model.predict(x_test),
                               built.predict(x_test.astype(np.float32) / 255.0, verbose=0), atol=1e-5)
    assert isinstance(model.optimizer, SGD) and model.optimizer.iterations == 8
    momentum = np.concatenate([np.asarray(v.numpy()).ravel() for v in built.optimizer.variables[2:]])
    np.testing.assert_allclose(model.optimizer.velocity, momentum, rtol=1e-6)
    one_line_error(tmp_path / "only.weights.h5", "holds weights only")


def test_round_trip_keeps_optimizer_state_and_extras(digits, tmp_path):
    model = trained(SGD(0.05, momentum=0.9), digits, class_names=list("0123456789"), dataset="mnist")
    path = tmp_path / "model.hdf5"
    io.save_model(model, path)
    loaded = io.load_model(path)
    np.testing.assert_array_equal(loaded.params, model.params)
    np.testing.assert_array_equal(loaded.optimizer.velocity, model.optimizer.velocity)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.history.history == model.history.history
    assert (loaded.class_names, loaded.dataset) == (list("0123456789"), "mnist")
    with h5py.File(path) as h5:    # the layout Keras 3 writes
        assert keras_h5.read_names(h5["model_weights/dense"], "weight_names") == [
            "sequential/dense/kernel", "sequential/dense/bias"]
        assert h5["model_weights/dense/sequential/dense/kernel"].shape == (784, 32)
        assert keras_h5.read_names(h5["optimizer_weights"], "weight_names")[:3] == [
            "sgd/iteration", "sgd/learning_rate", "sgd/sequential_dense_kernel_momentum"]


def test_a_flipped_byte_in_a_digitlens_h5_is_reported_not_misread(digits, tmp_path):
    path = tmp_path / "model.h5"
    io.save_model(trained(Adam(), digits), path)
    with h5py.File(path) as h5:        # where the first kernel's numbers lie in the file
        offset = h5["model_weights/dense/sequential/dense/kernel"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 1000] ^= 0x40
    path.write_bytes(bytes(data))
    one_line_error(path, "dataset /model_weights/dense/sequential/dense/kernel is damaged "
                         "(its checksum does not match)")


def test_long_name_lists_are_split_across_attributes(tmp_path):
    names = [f"layer_{i:05d}/kernel" for i in range(5000)]     # about 100 KB of names
    with h5py.File(tmp_path / "names.h5", "w") as h5:
        keras_h5.write_names(h5, "weight_names", names)
        assert "weight_names" not in h5.attrs and "weight_names1" in h5.attrs
        assert keras_h5.read_names(h5, "weight_names") == names


# ---- damaged and unsupported files -----------------------------------------------------------------

def edited_copy(tmp_path, edit):
    path = tmp_path / "model.h5"
    shutil.copy(LEGACY, path)
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


def add_lstm(h5):
    config = json.loads(h5.attrs["model_config"])
    config["config"]["layers"].insert(1, {"class_name": "LSTM", "config": {"name": "lstm"}})
    h5.attrs["model_config"] = json.dumps(config)


def wrong_kernel(h5):
    del h5["model_weights/dense/sequential/dense/kernel"]
    h5["model_weights/dense/sequential/dense/kernel"] = np.zeros((784, 3), np.float32)


@pytest.mark.parametrize("make, match", [
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)), "not an HDF5 file"),
    (lambda p: p.write_text("hello\n"), "not an HDF5 file"),
    (lambda p: p.write_bytes(LEGACY.read_bytes()[:20_000]), "damaged or cut short"),
    (lambda p: edited_copy(p.parent, lambda h5: h5["model_weights/dense/sequential/dense"].__delitem__("bias")),
     "is missing the dataset model_weights/dense/sequential/dense/bias"),
    (lambda p: edited_copy(p.parent, wrong_kernel), "layer 'dense' kernel has shape (784, 3) in the file"),
    (lambda p: edited_copy(p.parent, add_lstm), "layer 'lstm' is a LSTM; digitlens supports"),
    (lambda p: edited_copy(p.parent, lambda h5: h5.attrs.__delitem__("model_config")), "holds weights only"),
], ids=["random bytes", "text", "truncated", "missing dataset", "wrong shape", "unsupported layer", "weights only"])
def test_damaged_or_unsupported_h5_gives_one_line_naming_the_file(make, match, tmp_path):
    path = tmp_path / "model.h5"
    make(path)
    one_line_error(path, match)


def test_a_file_cut_anywhere_gives_one_line(tmp_path):
    data = LEGACY.read_bytes()
    path = tmp_path / "model.h5"
    for end in np.linspace(0, len(data) - 1, 25).astype(int):
        path.write_bytes(data[:end])
        one_line_error(path, "model.h5: ")


def test_optimizer_variables_follow_keras_names(digits):
    model = trained(Adam(), digits)
    names = [name for name, _ in optimizer_state.optimizer_variables(model)]
    assert names[:4] == ["adam/iteration", "adam/learning_rate",
                         "adam/sequential_dense_kernel_momentum", "adam/sequential_dense_kernel_velocity"]
    assert len(names) == 2 + 2 * 4


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "model.h5"
    with open(path, "wb") as out:                          # sparse: costs no disk
        out.truncate(io.MAX_MODEL_BYTES + 1)
    one_line_error(path, "536,870,913 bytes, more than the 512 MB a model file may hold")


# ---- a file must not read other files ------------------------------------------------------------
# Each crafted file is first shown to leak the secret through plain h5py; digitlens must refuse it.

SECRET = b"TOP-SECRET digitlens must never read this. "
KERNEL = "model_weights/dense/sequential/dense/kernel"


def secret_files(folder):
    """A raw file of secret bytes the size of the first kernel, an HDF5 file holding them as a
    kernel and as a whole Keras weight group, and a JSON file of secret class names."""
    raw = folder / "secret.bin"
    raw.write_bytes((SECRET * 2000)[:784 * 16 * 4])
    numbers = np.frombuffer(raw.read_bytes(), dtype=np.float32)
    with h5py.File(folder / "secret.h5", "w") as h5:
        h5["kernel"] = numbers.reshape(784, 16)
        group = h5.create_group("dense")
        keras_h5.write_names(group, "weight_names", ["sequential/dense/kernel", "sequential/dense/bias"])
        group["sequential/dense/kernel"] = numbers.reshape(784, 16)
        group["sequential/dense/bias"] = numbers[:16]
    names = folder / "secret.json"
    names.write_text(json.dumps({"class_names": [SECRET.decode()] * 10}))
    return raw, folder / "secret.h5", names


def elsewhere(h5, case, files):
    raw, secret_h5, names = files
    if case == "external storage":
        del h5[KERNEL]
        h5.create_dataset(KERNEL, (784, 16), "f4", external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
        return KERNEL
    if case == "external storage of the extras":
        h5.create_dataset("digitlens.json", (names.stat().st_size,), "u1",
                          external=[(str(names), 0, h5py.h5f.UNLIMITED)])
        return "digitlens.json"
    if case == "virtual dataset":
        del h5[KERNEL]
        layout = h5py.VirtualLayout(shape=(784, 16), dtype="f4")
        layout[...] = h5py.VirtualSource(str(secret_h5), "kernel", shape=(784, 16))
        h5.create_virtual_dataset(KERNEL, layout)
        return KERNEL
    if case == "external link":
        del h5["model_weights/dense"]
        h5["model_weights/dense"] = h5py.ExternalLink(str(secret_h5), "/dense")
        return KERNEL
    del h5[KERNEL]                                         # a soft link, to Adam's m of the kernel
    h5[KERNEL] = h5py.SoftLink("/optimizer_weights/adam/sequential_dense_kernel_momentum")
    return None


ELSEWHERE = {
    "external storage": f"dataset /{KERNEL} stores its data outside the file; refusing to read it",
    "external storage of the extras": "dataset /digitlens.json stores its data outside the file",
    "virtual dataset": f"dataset /{KERNEL} stores its data outside the file",
    "external link": "/model_weights/dense is a link into another file; refusing to follow it",
    "soft link": f"/{KERNEL} is a soft link; refusing to follow it",
}


@pytest.mark.parametrize("case", ELSEWHERE)
def test_data_outside_the_file_is_refused(case, tmp_path):
    files = secret_files(tmp_path)
    leaked = []
    path = edited_copy(tmp_path, lambda h5: leaked.append(elsewhere(h5, case, files)))
    if leaked[0] is not None:              # the danger is real: h5py reads the secret
        with h5py.File(path) as h5:
            assert SECRET in h5[leaked[0]][()].tobytes()
    with pytest.raises(ModelFileError) as info:
        io.load_model(path)
    message = str(info.value)
    assert ELSEWHERE[case] in message and str(path) in message and "\n" not in message
    assert SECRET.decode() not in message


# ---- limits: what a file declares must be what it holds ------------------------------------------

def set_units(units):
    def edit(h5):
        config = json.loads(h5.attrs["model_config"])
        config["config"]["layers"][2]["config"]["units"] = units
        h5.attrs["model_config"] = json.dumps(config)
    return edit



@pytest.mark.parametrize("units", [100_000, 5_000_000])
def test_a_small_file_declaring_a_huge_layer_is_refused_before_allocating(units, tmp_path):
    path = edited_copy(tmp_path, set_units(units))
    peak = peak_memory(lambda: one_line_error(
        path, f"layer 'dense' kernel has shape (784, 16) in the file, but its config makes it (784, {units})"))
    assert peak < 16 * 2**20


def test_arrays_declared_but_not_in_the_file_are_refused_before_reading(tmp_path):
    shapes = {KERNEL: (784, 100_000), "model_weights/dense/sequential/dense/bias": (100_000,),
              "model_weights/dense_1/sequential/dense_1/kernel": (100_000, 10)}

    def edit(h5):
        set_units(100_000)(h5)
        for name, shape in shapes.items():          # same shapes as the config, numbers never written
            del h5[name]
            h5.create_dataset(name, shape=shape, dtype="f4", chunks=(1, shape[-1]) if len(shape) == 2 else True)

    path = edited_copy(tmp_path, edit)
    assert path.stat().st_size < 300_000
    peak = peak_memory(lambda: one_line_error(
        path, f"dataset /{KERNEL} declares shape (784, 100000) (313,600,000 bytes), but the file "
              "stores 0 bytes of it"))
    assert peak < 16 * 2**20


# ---- damaged settings and extras ----------------------------------------------------------------

def edit_training_config(**changes):
    def edit(h5):
        config = json.loads(h5.attrs["training_config"])
        config["optimizer_config"]["config"].update(changes)
        h5.attrs["training_config"] = json.dumps(config)
    return edit


@pytest.mark.parametrize("changes, match", [
    ({"beta_1": "x"}, "the optimizer setting beta_1='x' is not a number in [0, 1)"),
    ({"learning_rate": {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1}}},
     "the learning-rate schedule CosineDecay has no decay_steps"),
    ({"learning_rate": {"class_name": "CosineDecay",
                        "config": {"initial_learning_rate": 0.1, "decay_steps": 0}}},
     "decay_steps=0 is not a number >= 1"),
], ids=["beta_1 text", "no decay_steps", "decay_steps 0"])
def test_unusable_compile_settings_load_the_model_uncompiled(changes, match, tmp_path, expected):
    path = edited_copy(tmp_path, edit_training_config(**changes))
    with pytest.warns(UserWarning, match="loaded uncompiled: ") as caught:
        model = io.load_model(path)
    assert any(match in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert model.optimizer is None
    np.testing.assert_allclose(model.predict(expected["x_float"]),
                               expected["probs_keras_small_legacy"], atol=1e-5)


def with_extras(data, dtype=np.uint8):
    def edit(h5):
        raw = np.frombuffer(json.dumps(data).encode(), dtype=np.uint8)
        h5.create_dataset("digitlens.json", data=raw.astype(dtype))
    return edit


@pytest.mark.parametrize("edit, match, dataset", [
    (with_extras({"class_names": 5, "dataset": "mnist"}),
     "(class_names: expected a list of 10 strings, received int 5); the model loads without its class_names",
     "mnist"),
    (with_extras({"history": {"history": [1, 2]}, "dataset": "mnist"}),
     "(history.history: expected lists of numbers by name); the model loads without its history", "mnist"),
    (with_extras({"dataset": "mnist"}, dtype=np.float32), "is damaged; the model loads without", None),
], ids=["class_names a number", "history not lists", "extras not bytes"])
def test_damaged_extras_are_left_off_with_a_warning(edit, match, dataset, tmp_path):
    path = edited_copy(tmp_path, edit)
    with pytest.warns(UserWarning, match="digitlens.json is damaged") as caught:
        model = io.load_model(path)
    assert match in str(caught[0].message), str(caught[0].message)
    assert getattr(model, "class_names", None) is None and model.history is None
    assert getattr(model, "dataset", None) == dataset       # what was fine still arrives


ODD_VALUES = [None, -1, 0, 10**9, 1e308, float("nan"), "x", True, [], {}, [1, "a"], {"a": 1}]


def test_any_value_anywhere_in_the_configs_gives_a_usable_model_or_one_line(tmp_path, digits):
    from test_io_keras import all_paths, replaced, usable_or_one_line

    failures, i = [], 0
    with h5py.File(LEGACY) as h5:
        configs = {name: json.loads(h5.attrs[name]) for name in ("model_config", "training_config")}
    for name, config in configs.items():
        for where in all_paths(config):
            value = ODD_VALUES[i % len(ODD_VALUES)]
            i += 1

            def edit(h5):
                h5.attrs[name] = json.dumps(replaced(config, where, value))

            problem = usable_or_one_line(edited_copy(tmp_path, edit), digits)
            if problem:
                failures.append(f"{name} {'/'.join(map(str, where))} = {value!r}: {problem}")
    assert failures == []
