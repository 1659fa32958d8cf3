"""Callbacks, their logs and the progress lines, compared with real Keras 3 on the same data:
which hooks are called in which order with which logs (nn/callbacks.py), what EarlyStopping and
ReduceLROnPlateau decide (nn/monitors.py), ModelCheckpoint's files, and the printed lines
(nn/progbar.py)."""

import contextlib
import io
import re
import warnings

import numpy as np
import pytest

from digitlens import keras
from digitlens.nn.callbacks import Callback as NnCallback

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]


def recorder(base):
    """A callback class on `base` that records every hook: (hook, index or None, logs as given)."""

    def make(hook):
        def record(self, *args, **kwargs):          # Keras passes logs by position or by keyword
            indexed = "batch" in hook or "epoch" in hook
            index = args[0] if indexed else None
            logs = args[1 if indexed else 0] if len(args) > indexed else kwargs.get("logs")
            if hook == "on_predict_batch_end":
                logs = {"outputs": np.asarray(logs["outputs"]).shape}
            self.calls.append((hook, index, None if logs is None else dict(logs)))
        return record

    def __init__(self):
        base.__init__(self)
        self.calls = []

    return type("Recorder", (base,), {"__init__": __init__, **{h: make(h) for h in HOOKS}})


def data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


def twin_models(real_keras, metrics=("accuracy",)):
    """A digitlens model and a real Keras model with the same layers and the same weights."""
    ours = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])
    theirs = real_keras.Sequential([real_keras.Input((28, 28)), real_keras.layers.Flatten(),
                                    real_keras.layers.Dense(16, activation="relu"),
                                    real_keras.layers.Dense(10, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    for model, k in ((ours, keras), (theirs, real_keras)):
        model.compile(optimizer=k.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=list(metrics))
    return ours, theirs


def same_calls(ours, theirs):
    """The two call lists: same hooks, indices, log keys in the same order, and values within 1e-5."""
    assert [(h, i, None if l is None else list(l)) for h, i, l in ours] == \
           [(h, i, None if l is None else list(l)) for h, i, l in theirs]
    for (hook, index, a), (_, _, b) in zip(ours, theirs):
        for key in a or {}:
            if key == "outputs":
                assert a[key] == b[key]
            else:
                assert a[key] == pytest.approx(float(b[key]), rel=1e-5, abs=1e-6), (hook, index, key)


@pytest.mark.keras
@pytest.mark.parametrize("validation", ["validation_split", "validation_data"])
@pytest.mark.parametrize("metrics", [("accuracy",), ("acc",), ()])
def test_fit_calls_the_hooks_keras_calls_with_the_same_logs(validation, metrics, real_keras):
    x, y = data()
    ours, theirs = twin_models(real_keras, metrics)
    extra = ({"validation_split": 0.2} if validation == "validation_split"
             else {"validation_data": data(30, seed=1)})
    ours_cb, theirs_cb = recorder(keras.callbacks.Callback)(), recorder(real_keras.callbacks.Callback)()
    h1 = ours.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[ours_cb], **extra)
    h2 = theirs.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[theirs_cb], **extra)
    same_calls(ours_cb.calls, theirs_cb.calls)
    assert ours_cb.params == theirs_cb.params == h2.params
    assert list(h1.history) == list(h2.history) and h1.epoch == h2.epoch == [0, 1]
    for key in h2.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-5)


@pytest.mark.keras
def test_evaluate_and_predict_call_the_hooks_keras_calls(real_keras):
    x, y = data()
    ours, theirs = twin_models(real_keras)
    for method, args in (("evaluate", (x, y)), ("predict", (x,))):
        ours_cb, theirs_cb = recorder(keras.callbacks.Callback)(), recorder(real_keras.callbacks.Callback)()
        mine = getattr(ours, method)(*args, batch_size=40, verbose=0, callbacks=[ours_cb])
        keras_result = getattr(theirs, method)(*args, batch_size=40, verbose=0, callbacks=[theirs_cb])
        same_calls(ours_cb.calls, theirs_cb.calls)
        assert ours_cb.params == theirs_cb.params
        np.testing.assert_allclose(mine, keras_result, rtol=1e-5)


def test_initial_epoch_and_epochs_mean_what_they_mean_in_keras():
    x, y = data(40)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seen = recorder(keras.callbacks.Callback)()
    history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0, callbacks=[seen])
    assert history.epoch == [3, 4] and seen.params["epochs"] == 5
    assert [i for h, i, _ in seen.calls if h == "on_epoch_begin"] == [3, 4]


def test_digitlens_callbacks_also_read_each_batch_and_the_epoch_time():
    x, y = data(64)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ours, kerass = recorder(NnCallback)(), recorder(keras.callbacks.Callback)()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ours, kerass])
    batch = next(l for h, _, l in ours.calls if h == "on_train_batch_end")
    assert list(batch) == ["accuracy", "loss", "batch_loss", "batch_accuracy"]
    epoch = next(l for h, _, l in ours.calls if h == "on_epoch_end")
    assert list(epoch) == ["accuracy", "loss", "seconds"] and epoch["seconds"] > 0
    assert next(l for h, _, l in kerass.calls if h == "on_epoch_end").keys() == {"accuracy", "loss"}
    assert ours.params["batch_size"] == 32 and ours.params["samples"] == 64
    assert len(model.history.batches) == 2 and model.history.seconds[0] > 0


def test_a_callback_stops_training_after_its_epoch_and_keras_s_old_batch_names_are_called():
    x, y = data(64)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Stop(keras.callbacks.Callback):
        batches = 0

        def on_batch_end(self, batch, logs=None):          # tf.keras 1/2's name, still called
            Stop.batches += 1

        def on_epoch_end(self, epoch, logs=None):
            if logs.get("accuracy") >= 0.0:
                self.model.stop_training = True

    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0, callbacks=[Stop()])
    assert history.epoch == [0] and Stop.batches == 4


def test_lambda_callback_and_bad_callbacks():
    x, y = data(32)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ends = []
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ends.append((e, dict(logs))))])
    assert [e for e, _ in ends] == [0, 1] and all(list(logs) == ["loss"] for _, logs in ends)
    with pytest.raises(TypeError, match="unknown argument 'on_fit_end'"):
        keras.callbacks.LambdaCallback(on_fit_end=print)
    with pytest.raises(TypeError, match="callbacks: expected keras.callbacks.Callback objects, received function"):
        model.fit(x, y, verbose=0, callbacks=[lambda epoch, logs: None])


# ---- EarlyStopping and ReduceLROnPlateau: the same decisions as Keras's ---------------------------

class FakeModel:
    """Just what the monitors use: weights to remember, a flag to stop, an optimizer's rate."""

    def __init__(self):
        self.stop_training, self.epoch, self.metrics = False, 0, []
        self.optimizer = type("Optimizer", (), {"learning_rate": 0.1})()
        self.restored = None

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])


def drive(callback, values, monitor):
    """Run the epoch hooks with these monitored values; returns what the callback did."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin({})
    stopped, rates = None, []
    for epoch, value in enumerate(values):
        model.epoch = epoch
        logs = {monitor: value}
        callback.on_epoch_end(epoch, logs)
        rates.append(float(model.optimizer.learning_rate))
        if model.stop_training:
            stopped = epoch
            break
    callback.on_train_end({})
    return stopped, model.restored, rates


SEQUENCES = {"val_loss": [1.0, 0.9, 0.95, 0.96, 0.8, 0.81, 0.85, 0.84, 0.83, 0.9],
             "val_accuracy": [0.5, 0.7, 0.69, 0.71, 0.7, 0.72, 0.71, 0.7, 0.7, 0.69]}


@pytest.mark.keras
@pytest.mark.parametrize("monitor", list(SEQUENCES))
@pytest.mark.parametrize("settings", [{}, {"patience": 1}, {"patience": 2, "restore_best_weights": True},
                                      {"patience": 1, "min_delta": 0.05}, {"patience": 2, "baseline": 0.85},
                                      {"patience": 1, "start_from_epoch": 3, "restore_best_weights": True},
                                      {"patience": 1, "mode": "max"}])
def test_early_stopping_decides_as_keras(monitor, settings, real_keras):
    values = SEQUENCES[monitor]
    if monitor == "val_accuracy":      # Keras reads "auto" off the model's metric objects, which
        settings = {"mode": "max", **settings}       # this stand-in model does not have
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = drive(keras.callbacks.EarlyStopping(monitor=monitor, **settings), values, monitor)
        theirs = drive(real_keras.callbacks.EarlyStopping(monitor=monitor, **settings), values, monitor)
    assert ours == theirs


@pytest.mark.keras
@pytest.mark.parametrize("monitor", list(SEQUENCES))
@pytest.mark.parametrize("settings", [{"patience": 0}, {"patience": 1, "factor": 0.5},
                                      {"patience": 1, "cooldown": 2}, {"patience": 0, "min_lr": 0.02},
                                      {"patience": 1, "min_delta": 0.03}])
def test_reduce_lr_on_plateau_decides_as_keras(monitor, settings, real_keras):
    values = SEQUENCES[monitor]
    if monitor == "val_accuracy":
        settings = {"mode": "max", **settings}
    ours = drive(keras.callbacks.ReduceLROnPlateau(monitor=monitor, **settings), values, monitor)
    theirs = drive(real_keras.callbacks.ReduceLROnPlateau(monitor=monitor, **settings), values, monitor)
    assert ours[0] == theirs[0] is None
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


def test_early_stopping_restores_the_best_weights_of_a_real_run():
    x, y = data(64)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    snapshots = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        (logs["val_loss"], model.get_weights())))
    stop = keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    model.fit(x, y, epochs=30, validation_data=data(32, seed=3), verbose=0, callbacks=[keep, stop])
    best = min(range(len(snapshots)), key=lambda i: snapshots[i][0])
    assert len(snapshots) < 30 and stop.best_epoch == best
    for a, b in zip(model.get_weights(), snapshots[best][1]):
        np.testing.assert_array_equal(a, b)


def test_reduce_lr_on_plateau_changes_the_rate_and_is_logged():
    x, y = data(64)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[keras.callbacks.ReduceLROnPlateau(
        monitor="loss", patience=0, min_delta=10.0, factor=0.5)])     # after the first, never good enough
    # Each epoch logs the rate it trained with; the cut comes at the end of the epoch.
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.05, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
    scheduled = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    scheduled.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(Exception, match="learning rate is a schedule"):
        scheduled.fit(x, y, verbose=0, callbacks=[keras.callbacks.ReduceLROnPlateau()])


@pytest.mark.keras
def test_model_checkpoint_writes_the_best_models_as_keras_files(tmp_path, real_keras):
    x, y = data(96)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    losses = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: losses.append(logs["val_loss"]))
    check = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.keras"),
                                            save_best_only=True)
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "last.keras"))
    model.fit(x, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[record, check, every])
    improved = [i for i, v in enumerate(losses) if v < min(losses[:i], default=np.inf)]
    assert sorted(p.name for p in tmp_path.glob("m-*")) == [f"m-{i + 1:02d}-{losses[i]:.3f}.keras" for i in improved]
    last = real_keras.models.load_model(tmp_path / "last.keras")
    np.testing.assert_allclose(last.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        keras.callbacks.ModelCheckpoint("model.weights")
    with pytest.raises(ValueError, match="save_weights_only=True"):
        keras.callbacks.ModelCheckpoint("m.weights.h5", save_weights_only=True)


# ---- what is printed ------------------------------------------------------------------------------

def screen(text):
    """What a terminal shows after `text`: colours dropped, \\r and \\b applied, line ends trimmed."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines, line, col = [], [], 0
    for ch in text:
        if ch == "\n":
            lines.append("".join(line).rstrip())
            line, col = [], 0
        elif ch == "\r":
            col = 0
        elif ch == "\b":
            col = max(0, col - 1)
        else:
            line[col:col + 1] = [ch]
            col += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


def timeless(lines):
    """The lines with their timings and numbers replaced: what must be the same as Keras's."""
    out = []
    for line in lines:
        line = re.sub(r"\d+(s|ms|us)/step", "T/step", line)
        line = re.sub(r" \d+s ", " Ts ", line)
        line = re.sub(r" - \d+s -", " - Ts -", line)
        line = re.sub(r": \d\.\d{4}(e[+-]\d\d)?", ": V", line)
        out.append(line)
    return out


def printed(call):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = call()
    return buffer.getvalue(), result


@pytest.mark.keras
@pytest.mark.parametrize("verbose", [1, 2, "auto"])
def test_fit_evaluate_and_predict_print_as_keras_prints(verbose, real_keras):
    x, y = data()
    ours, theirs = twin_models(real_keras)
    calls = [lambda m: m.fit(x, y, epochs=2, batch_size=32, validation_split=0.2, verbose=verbose),
             lambda m: m.fit(x, y, epochs=1, batch_size=50, verbose=verbose),
             lambda m: m.evaluate(x, y, verbose=verbose),
             lambda m: m.predict(x[:1], verbose=verbose),
             lambda m: m.predict(x, batch_size=40, verbose=verbose)]
    for call in calls:
        mine, _ = printed(lambda: call(ours))
        keras_text, _ = printed(lambda: call(theirs))
        assert timeless(screen(mine)) == timeless(screen(keras_text))
        assert "\x1b" not in mine and "\b" not in mine     # not a terminal here: plain finished lines


def test_nothing_is_printed_with_verbose_0_and_the_bar_redraws_on_a_terminal():
    x, y = data(64)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert printed(lambda: model.fit(x, y, verbose=0))[0] == ""
    assert printed(lambda: model.evaluate(x, y, verbose=0))[0] == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    from digitlens.nn.progbar import ProgressPrinter
    terminal = Terminal()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[ProgressPrinter(1, stream=terminal)])
    shown = screen(terminal.getvalue())
    assert re.fullmatch(r"8/8 ━{20} \d+s \d+(us|ms)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", shown[-1])
    assert "\x1b[32m" in terminal.getvalue()                # Keras's green bar, live
