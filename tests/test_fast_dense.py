"""The fast path (nn/fast_dense.py, nn/fast_kernels.py) against the NumPy reference it sits beside.

Two models with the same seed and settings, one compiled with jit_compile=False (the reference:
layers.py's forward and backward, model.train_step), are trained and asked to predict side by
side. They must agree to float32 tolerance on every combination of layers and settings the fast
path accepts - weights, optimizer state, the logs every callback hears, predictions - and the
fast path must refuse (leave to the reference) everything else. Real MNIST images are used where
the sparsity of real digits matters.
"""

import numpy as np
import pytest

from digitlens import nn
from digitlens.nn import SGD, Adam, CosineDecay, Dense, Dropout, Flatten, RMSprop, Sequential, fast_dense
from digitlens.nn import threads
from digitlens.nn.layer import LAYERS, Layer


@pytest.fixture(scope="module")
def digits(mnist):
    """400 real training images (uint8) and their labels."""
    (x, y), _ = mnist
    return x[:400], y[:400]


def build(layers, optimizer, seed=0, jit_compile="auto", input_shape=(28, 28)):
    model = Sequential([Flatten(input_shape=input_shape)] + layers(), seed=seed)
    model.compile(optimizer(), "sparse_categorical_crossentropy", ["accuracy"], jit_compile=jit_compile)
    return model.build()


def twins(layers, optimizer, seed=0, input_shape=(28, 28)):
    """(reference, fast): the same model twice, equal weights and settings."""
    reference = build(layers, optimizer, seed, False, input_shape)
    fast = build(layers, optimizer, seed, "auto", input_shape)
    assert fast_dense.why_not(fast, training=True) is None
    assert fast_dense.why_not(reference, training=True) == "compiled with jit_compile=False"
    return reference, fast


def sync(source, target):
    """Give target exactly source's weights, optimizer state, step count and random generators."""
    target.params[:] = source.params
    for name, slot in source.optimizer.slots().items():
        target.optimizer.slots()[name][:] = slot
    target.optimizer.iterations = source.optimizer.iterations
    target.rng.bit_generator.state = source.rng.bit_generator.state
    for a, b in zip(source.layers, target.layers):
        if isinstance(a, Dropout):
            b.rng.bit_generator.state = a.rng.bit_generator.state


def assert_close(got, want, what, scale=1e-4, outliers=0.0, loose=0.0):
    """got == want within `scale` times the largest |want| (float32 sums taken in another order
    differ by about 1e-7 of their largest term, and more after a gradient like -1 / (N * p)
    has magnified them), for all but a fraction `outliers` of the numbers, which must be within
    `loose`. The outliers: a sum taken in another order can put a pre-activation on the other
    side of relu's kink (z = +1e-9 or -1e-9), which changes that unit's gradient by a whole
    term; and Adam makes a step of about one learning rate out of any gradient, however small,
    so a near-zero gradient's rounding can show as a visible fraction of a step."""
    atol = scale * np.abs(want).max()
    off = ~np.isclose(got, want, rtol=scale, atol=atol)
    assert off.mean() <= outliers, f"{what}: {off.sum()} of {off.size} numbers differ by more than {atol:.3g}"
    np.testing.assert_allclose(got, want, rtol=0, atol=max(atol, loose), err_msg=what)


def assert_same_state(reference, fast, scale=1e-4, outliers=1e-3):
    loose = 2 * reference.optimizer.learning_rate_at(reference.optimizer.iterations)
    assert_close(fast.params, reference.params, "params", scale, outliers, loose)
    for name, slot in reference.optimizer.slots().items():
        assert_close(fast.optimizer.slots()[name], slot, name, scale, outliers, loose)
    assert fast.optimizer.iterations == reference.optimizer.iterations


class Recorder(nn.Callback):
    """Every batch's logs; and a copy of the weights after every step it asks to see exactly."""

    def __init__(self, boundaries=None):
        self.boundaries, self.logs, self.weights = boundaries, [], {}

    def step_boundaries(self, epoch, steps):
        return self.boundaries

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append((self._epoch, batch, dict(logs)))
        if self.boundaries is None or batch in self.boundaries:
            self.weights[self._epoch, batch] = self.model.params.copy()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


OPTIMIZERS = {
    "adam": lambda: Adam(1e-3),
    "adam-cosine": lambda: Adam(CosineDecay(1e-3, decay_steps=20, warmup_target=3e-3, warmup_steps=4)),
    "sgd": lambda: SGD(0.05),
    "momentum": lambda: SGD(0.05, momentum=0.9),
    "nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: RMSprop(1e-3),
}

NETWORKS = {   # every hidden activation, softmax and other outputs, use_bias off, Dropout anywhere
    "lesson": lambda: [Dense(32, "relu"), Dense(10, "softmax")],
    "sigmoid-tanh": lambda: [Dense(24, "sigmoid"), Dense(20, "tanh"), Dense(10, "softmax")],
    "linear-no-bias": lambda: [Dense(20, "linear", use_bias=False), Dense(10, "softmax", use_bias=False)],
    "softmax-hidden": lambda: [Dense(18, "softmax"), Dense(10, "softmax")],
    "sigmoid-output": lambda: [Dense(24, "relu"), Dense(10, "sigmoid")],
    "tanh-relu-outputs": lambda: [Dense(24, "tanh"), Dense(17, "relu"), Dense(10, "tanh")],
    "linear-output": lambda: [Dense(24, "relu"), Dense(10, "linear")],
    "dropout": lambda: [Dropout(0.3, seed=3), Dense(40, "relu"), Dropout(0.5, seed=4), Dropout(0.2, seed=5),
                        Dense(20, "relu", use_bias=False), Dropout(0.25, seed=6), Dense(10, "softmax")],
    "one-layer": lambda: [Dense(10, "softmax")],
    "lesson-size": lambda: [Dense(256, "relu"), Dense(10, "softmax")],   # the kernel's rows cut in parts
}


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_each_step_equals_the_reference(network, optimizer, digits):
    # Lockstep: before every step both models hold the same numbers, so nothing accumulates and
    # the tolerance can be tight. Batches of 50 real digits, then a smaller last one.
    x, y = digits
    reference, fast = twins(NETWORKS[network], OPTIMIZERS[optimizer])
    for start in range(0, 240, 60):
        sync(reference, fast)
        batch = slice(start, start + (60 if start < 180 else 37))
        a = reference.fit(x[batch], y[batch], batch_size=50, epochs=1, verbose=0)
        b = fast.fit(x[batch], y[batch], batch_size=50, epochs=1, verbose=0)
        assert_same_state(reference, fast)
        assert_close(fast.grads, reference.grads, "grads", outliers=1e-3, loose=1e-2)   # the last step's
        np.testing.assert_allclose([r["loss"] for r in b.batches], [r["loss"] for r in a.batches], rtol=1e-5)
        assert [r["accuracy"] for r in b.batches] == [r["accuracy"] for r in a.batches]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training_runs_alongside_the_reference(optimizer, digits):
    # Three epochs of 13 steps each (the last smaller), shuffled, uint8 images: the fast path and
    # the reference stay together - weights, optimizer state, every batch's logs, the last batch.
    x, y = digits
    reference, fast = twins(NETWORKS["dropout"], OPTIMIZERS[optimizer])
    a = reference.fit(x[:390], y[:390], batch_size=32, epochs=3, verbose=0)
    b = fast.fit(x[:390], y[:390], batch_size=32, epochs=3, verbose=0)
    assert_same_state(reference, fast, scale=1e-3, outliers=1e-2)
    assert len(b.batches) == len(a.batches) == 39
    np.testing.assert_allclose([r["loss"] for r in b.batches], [r["loss"] for r in a.batches], rtol=1e-3)
    np.testing.assert_allclose(b.history["loss"], a.history["loss"], rtol=1e-4)
    np.testing.assert_array_equal(fast.last_batch["y"], reference.last_batch["y"])
    np.testing.assert_allclose(fast.last_batch["x"], reference.last_batch["x"])
    np.testing.assert_array_equal(fast.rng.random(3), reference.rng.random(3))   # same draws made


def test_float_inputs_and_flat_shapes(digits):
    x, y = digits
    floats = (x[:200].astype(np.float32) / 255.0).reshape(200, 784) * 2.0 - 1.0   # dense, signed
    reference, fast = twins(NETWORKS["sigmoid-tanh"], OPTIMIZERS["momentum"], input_shape=(784,))
    reference.fit(floats, y[:200], batch_size=16, epochs=2, verbose=0)
    fast.fit(floats, y[:200], batch_size=16, epochs=2, verbose=0)
    assert_same_state(reference, fast, scale=1e-3, outliers=1e-2)


def test_augmented_batches_equal_the_reference(digits):
    x, y = digits

    def shift(batch, rng):             # any augmentation that draws from the model's generator
        return np.roll(batch, rng.integers(-2, 3), axis=1)

    reference, fast = twins(NETWORKS["lesson"], OPTIMIZERS["adam"])
    reference.fit(x[:200], y[:200], batch_size=32, epochs=2, verbose=0, augment=shift)
    fast.fit(x[:200], y[:200], batch_size=32, epochs=2, verbose=0, augment=shift)
    assert_same_state(reference, fast, scale=1e-3, outliers=1e-2)
    np.testing.assert_allclose(fast.last_batch["x"], reference.last_batch["x"])


def test_one_core_and_all_cores_give_the_same_numbers_to_the_bit(digits, monkeypatch):
    # The training run picks one core or all by timing both (threads.CoreChoice): that choice
    # must never change a number, or seeded training would not be reproducible.
    # The first kernel's rows are cut in one part per available core (here 2, then 3 on the
    # machine's cores), run on one core or all of them.
    x, y = digits
    for parts in (2, 3):
        results = []
        for all_cores in (False, True):
            monkeypatch.setattr(threads.CoreChoice, "next", lambda self, all_cores=all_cores: (all_cores, None))
            monkeypatch.setattr(fast_dense, "available_cores", lambda parts=parts: parts)
            monkeypatch.setattr(fast_dense, "compiled_threads", lambda all_cores=all_cores: 2 if all_cores else 1)
            model = build(NETWORKS["dropout"], OPTIMIZERS["adam"])
            model.fit(x, y, batch_size=64, epochs=2, verbose=0)
            results.append((model.params.copy(), model.predict(np.concatenate([x] * 2))))   # 800: split
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])


def test_the_choice_of_cores_tries_both_then_keeps_the_faster(monkeypatch):
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    choice = threads.CoreChoice(2)
    tried = []
    for seconds in (1.0, 1.5, 1.2, 1.4):               # one core, all cores, one core, all cores
        all_cores, most = choice.next()
        assert most == threads.CoreChoice.TRIAL_STEPS
        tried.append(all_cores)
        choice.record(all_cores, seconds, 4)
    assert tried == [False, True, False, True]
    assert choice.next() == (False, None)               # one core was faster here
    choice.reset()
    for seconds in (2.0, 1.0, 2.0, 1.0):
        all_cores, _ = choice.next()
        choice.record(all_cores, seconds, 4)
    assert choice.next() == (True, None)
    choice.reset()
    choice.record(*choice.next()[:1], 1.0, 2)
    choice.record(*choice.next()[:1], 9.0, 2)            # all cores 9x slower: no second try
    assert choice.next() == (False, None)
    assert threads.CoreChoice(1).next() == (False, None)   # a single core: nothing to try
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (6.0, 6.0, 6.0))   # others keep it busy
    assert threads.CoreChoice(2).next() == (False, None)


@pytest.mark.parametrize("network", NETWORKS)
def test_prediction_equals_the_reference(network, digits):
    x, _ = digits
    reference, fast = twins(NETWORKS[network], OPTIMIZERS["adam"])
    fast.params[:] = reference.params[:] = np.random.default_rng(1).normal(0, 0.1, fast.params.size)
    for images in (x, x[:1], x.reshape(len(x), 784), x.astype(np.float32) / 255.0):
        expected = reference.predict(images)
        got = fast.predict(images)
        assert got.dtype == expected.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_run_that_diverges_reports_nan_as_the_reference_does(digits):
    x, y = digits
    reference, fast = twins(NETWORKS["lesson"], OPTIMIZERS["sgd"])
    for model in (reference, fast):
        model.params[:] = 1e30              # every score overflows; the softmax gives NaN
    with np.errstate(all="ignore"):         # (NumPy says so as it happens)
        a = reference.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
        expected = reference.predict(x[:3])
    b = fast.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    assert all(np.isnan(r["loss"]) for r in a.batches)
    assert all(np.isnan(r["loss"]) for r in b.batches)
    assert [r["accuracy"] for r in b.batches] == [r["accuracy"] for r in a.batches]
    assert np.isnan(fast.predict(x[:3])).all() and np.isnan(expected).all()


def test_callbacks_hear_every_step_and_see_the_weights_they_ask_for(digits):
    # One callback asks for steps 2 and 9 (of 13), another asks nothing but listens: every step's
    # logs reach both, and after each step asked for the weights are exactly the reference's.
    x, y = digits
    reference, fast = twins(NETWORKS["lesson"], OPTIMIZERS["adam"])
    every, some, quiet = Recorder(), Recorder({2, 9}), Recorder(())
    reference.fit(x[:390], y[:390], batch_size=30, epochs=2, verbose=0, callbacks=[every])
    fast.fit(x[:390], y[:390], batch_size=30, epochs=2, verbose=0, callbacks=[some, quiet])
    for heard in (some.logs, quiet.logs):
        assert [(e, s) for e, s, _ in heard] == [(e, s) for e, s, _ in every.logs]
        for (_, _, got), (_, _, want) in zip(heard, every.logs):
            assert got.keys() == want.keys()
            np.testing.assert_allclose([got[k] for k in sorted(got)], [want[k] for k in sorted(want)], rtol=1e-4)
    assert sorted(some.weights) == [(0, 2), (0, 9), (1, 2), (1, 9)]
    for key, weights in some.weights.items():
        np.testing.assert_allclose(weights, every.weights[key], rtol=1e-4, atol=1e-5)
    assert quiet.weights == {}


def test_a_callback_that_stops_training_stops_it_at_that_step(digits):
    x, y = digits

    class StopAt(nn.Callback):         # no step_boundaries: it listens, so it sees every step
        def on_train_batch_end(self, batch, logs=None):
            if batch == 4:
                self.model.stop_training = True

    reference, fast = twins(NETWORKS["lesson"], OPTIMIZERS["adam"])
    reference.fit(x, y, batch_size=20, epochs=3, verbose=0, callbacks=[StopAt()])
    fast.fit(x, y, batch_size=20, epochs=3, verbose=0, callbacks=[StopAt()])
    assert fast.optimizer.iterations == reference.optimizer.iterations == 5
    assert_same_state(reference, fast)


def test_the_reference_runs_when_asked_or_when_the_fast_path_does_not_cover_the_model(digits, monkeypatch):
    x, y = digits
    steps = []
    original = Sequential.train_step
    monkeypatch.setattr(Sequential, "train_step", lambda self, xb, yb: steps.append(1) or original(self, xb, yb))

    def fit(model):
        steps.clear()
        model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
        return len(steps)

    assert fit(build(NETWORKS["lesson"], OPTIMIZERS["adam"])) == 0               # the fast path
    assert fit(build(NETWORKS["lesson"], OPTIMIZERS["adam"], jit_compile=False)) == 2
    monkeypatch.setenv("DIGITLENS_REFERENCE", "1")
    assert fit(build(NETWORKS["lesson"], OPTIMIZERS["adam"])) == 2
    assert fast_dense.predictor(build(NETWORKS["lesson"], OPTIMIZERS["adam"])) is None


class Doubler(Layer):
    """A layer the fast path has never heard of (registered only for this test)."""

    def forward(self, x, training=False):
        return x * 2.0

    def backward(self, dout):
        return dout * 2.0


class WideDense(Dense):
    """A subclass of Dense with arithmetic of its own: the fast path must not assume it is one."""

    def weighted_sum(self, x, out=None):
        return 2.0 * super().weighted_sum(x)


class Squared(nn.losses.SparseCategoricalCrossentropy):
    pass


class Fancy(Adam):
    pass


def test_what_the_fast_path_refuses():
    def reason(layers, optimizer=Adam, loss="sparse_categorical_crossentropy", input_shape=(28, 28)):
        model = Sequential([Flatten(input_shape=input_shape)] + layers, seed=0)
        model.compile(optimizer(), loss)
        return fast_dense.why_not(model.build(), training=True)

    assert reason([Dense(10, "softmax")]) is None
    assert "Doubler" in reason([Doubler(), Dense(10, "softmax")])
    assert "WideDense" in reason([WideDense(10, "softmax")])
    assert "last layer" in reason([Dense(10, "softmax"), Dropout(0.5)])
    assert "loss" in reason([Dense(10, "softmax")], loss=Squared())
    assert "optimizer" in reason([Dense(10, "softmax")], optimizer=Fancy)
    assert "Doubler" not in LAYERS                       # the test's layer never joined the registry
    from digitlens import keras                          # Keras's spelling of the same layers is covered
    assert reason([keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.2),
                   keras.layers.Dense(10, activation="softmax")]) is None
    model = Sequential([Flatten(), Dense(10, "softmax")])          # no input shape: not built yet
    assert fast_dense.why_not(model) == "the model is not built"
    assert fast_dense.predictor(model) is None


def test_prediction_keeps_nothing_and_threads_may_predict_at_once(digits):
    import threading

    x, _ = digits
    _, model = twins(NETWORKS["dropout"], OPTIMIZERS["adam"])
    before = {id(layer): dict(vars(layer)) for layer in model.layers}
    expected = model.predict(np.concatenate([x] * 3))
    results, errors = [], []

    def worker():
        try:
            for _ in range(5):
                results.append(model.predict(np.concatenate([x] * 3)))
                results.append(model.predict(x[:1]))
        except Exception as error:      # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    for got in results:
        np.testing.assert_array_equal(got, expected[:len(got)])
    for layer in model.layers:
        assert vars(layer).keys() == before[id(layer)].keys()


def test_threads_follow_the_machine(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert threads.compiled_threads() == 2
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.2, 2.2, 2.2))   # its own two threads
    assert threads.compiled_threads() == 2
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (3.0, 3.0, 3.0))   # other programs busy
    assert threads.compiled_threads() == 1


def test_a_timeline_records_the_same_snapshots_on_both_paths(digits):
    # The Timeline asks for the steps it films (step_boundaries): the fast path, which otherwise
    # runs up to 64 steps per call, stops at each, so the snapshots match the reference's.
    from digitlens.explain.timeline import Timeline

    x, y = digits
    films = []
    for model in twins(NETWORKS["lesson"], OPTIMIZERS["adam"]):
        timeline = Timeline(probes=([0, 1, 2], x[:3], y[:3]))
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[timeline])
        films.append(model.timeline)
    reference, fast = films
    assert fast.steps == reference.steps and len(fast.steps) > 5
    np.testing.assert_allclose(fast.probabilities, reference.probabilities, atol=1e-4)
    assert fast.loss[0] is None and reference.loss[0] is None             # step 0: before any training
    np.testing.assert_allclose(fast.loss[1:], reference.loss[1:], rtol=1e-4)
