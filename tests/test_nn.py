"""The engine's math: every gradient against finite differences, one step worked by hand,
Keras's initializer and optimizer arithmetic, reproducibility and input checks."""

import numpy as np
import pytest

from digitlens.errors import DigitlensError
from digitlens.nn import SGD, Adam, Dense, Dropout, Flatten, Input, RMSprop, Sequential, lesson_model
from digitlens.nn import activations, fused, losses
from conftest import numerical_gradient


@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh", "softmax"])
def test_activation_backward_matches_finite_differences(name):
    act = activations.get(name)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 6))
    z[np.abs(z) < 0.05] = 0.3          # keep relu away from its kink at 0
    weights = rng.normal(size=(4, 6))  # L = sum(weights * f(z)), so dL/da = weights
    analytic = act.backward(weights, act.forward(z.copy()))
    numeric = numerical_gradient(lambda: float((weights * act.forward(z.copy())).sum()), z, 1e-6)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_loss_gradients_match_finite_differences():
    loss = losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(2)
    z = rng.normal(size=(5, 10))
    y = rng.integers(0, 10, 5)
    probs = activations.softmax_forward(z.copy())
    numeric_dprobs = numerical_gradient(lambda: loss(probs, y), probs, 1e-7)
    np.testing.assert_allclose(loss.gradient(probs, y), numeric_dprobs, rtol=1e-5, atol=1e-8)
    # The fused softmax + cross-entropy gradient is the chain rule through both, done in one line.
    numeric_dz = numerical_gradient(lambda: loss(activations.softmax_forward(z.copy()), y), z, 1e-6)
    np.testing.assert_allclose(loss.logits_gradient(probs, y), numeric_dz, rtol=1e-5, atol=1e-9)
    chained = activations.softmax_backward(loss.gradient(probs, y), probs)
    np.testing.assert_allclose(chained, numeric_dz, rtol=1e-5, atol=1e-9)


def test_loss_clips_like_keras():
    loss = losses.SparseCategoricalCrossentropy()
    probs = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    # The second example gives its true class probability 0: clipped to 1e-7, it costs -log(1e-7).
    assert loss(probs, np.array([0, 0])) == pytest.approx((-np.log(1 - 1e-7) - np.log(1e-7)) / 2, rel=1e-6)


def small_model(hidden_activation, dropout=False, seed=0):
    layers = [Flatten(input_shape=(3, 4)), Dense(5, hidden_activation)]
    if dropout:
        layers.append(Dropout(0.5, seed=1))
    layers += [Dense(4, "tanh"), Dense(3, "softmax")]
    model = Sequential(layers, seed=seed).build()
    model.compile(SGD(0.1), "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("hidden_activation", ["relu", "sigmoid", "tanh", "linear"])
def test_model_gradients_match_finite_differences(hidden_activation):
    model = small_model(hidden_activation)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 3, 4)).astype(np.float32)
    y = rng.integers(0, 3, 6)
    model.params[:] = rng.normal(scale=0.5, size=model.params.size)
    probs = model.forward(x, training=True)
    model.backward(probs, y)
    analytic = model.grads.astype(np.float64)
    params64 = model.params.astype(np.float64)

    def loss_at():
        model.params[:] = params64           # float32 copy of the float64 point
        return model.loss(model.forward(x), y)

    numeric = numerical_gradient(loss_at, params64, 1e-3)
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=2e-4)


def test_dropout_backward_uses_the_same_mask():
    layer = Dropout(0.5, seed=0)
    layer.build((100,))
    x = np.ones((4, 100), dtype=np.float32)
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) <= {0.0, 2.0}          # dropped, or kept and scaled by 1/(1-0.5)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), out)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)   # nothing at prediction


def test_one_step_worked_by_hand():
    # One image of two pixels x = [1, 2], label 0, a Dense(2, softmax) layer, plain SGD lr 0.5.
    model = Sequential([Dense(2, "softmax", input_shape=(2,))]).build()
    model.compile(SGD(0.5), "sparse_categorical_crossentropy")
    model.set_weights([np.array([[0.1, -0.1], [0.2, 0.3]]), np.array([0.0, 0.5])])
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    # z = x @ kernel + bias = [1*0.1 + 2*0.2 + 0, 1*-0.1 + 2*0.3 + 0.5] = [0.5, 1.0]
    # probs = softmax(z) = [e^0.5, e^1] / (e^0.5 + e^1) = [0.37754, 0.62246]
    # loss = -log(0.37754) = 0.97408
    # dz = probs - onehot(0) = [-0.62246, 0.62246]
    # dkernel = x.T @ dz = [[-0.62246, 0.62246], [-1.24492, 1.24492]];  dbias = dz
    # kernel -= 0.5 * dkernel -> [[0.41123, -0.41123], [0.82246, -0.32246]]
    # bias   -= 0.5 * dbias   -> [0.31123, 0.18877]
    loss, probs = model.train_step(x, np.array([0]))
    assert loss == pytest.approx(0.97408, abs=1e-5)
    np.testing.assert_allclose(probs, [[0.37754, 0.62246]], atol=1e-5)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, [[0.41123, -0.41123], [0.82246, -0.32246]], atol=1e-5)
    np.testing.assert_allclose(bias, [0.31123, 0.18877], atol=1e-5)
    # The step made the right answer more likely: z becomes [2.36738, -0.86738] and
    # p(0) rises from 0.378 to e^2.36738 / (e^2.36738 + e^-0.86738) = 0.96212.
    assert model.predict(x)[0, 0] == pytest.approx(0.96212, abs=1e-4)


def test_glorot_uniform_limits_and_zero_biases():
    model = lesson_model(seed=0).build()
    kernel, bias, kernel2, bias2 = model.get_weights()
    limit = np.sqrt(6 / (784 + 256))                  # 0.07596, as Keras
    assert limit == pytest.approx(0.07596, abs=1e-5)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 1e-3    # the spread of U(-l, l)
    assert not bias.any() and not bias2.any()
    assert kernel.dtype == np.float32


def test_adam_follows_keras_update_rule_and_fused_equals_numpy():
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=1000).astype(np.float32) for _ in range(3)]
    start = rng.normal(size=1000).astype(np.float32)

    # Keras's rule, written out in float64 (KERAS_FILES.md, "Numerics Keras uses").
    w, m, v = start.astype(np.float64), np.zeros(1000), np.zeros(1000)
    for t, g in enumerate(grads, start=1):
        m += (g - m) * (1 - 0.9)
        v += (g * g - v) * (1 - 0.999)
        w -= 1e-3 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-7)

    results = []
    for version in ("fused, one core", "fused, all cores", "numpy"):
        opt = Adam()
        opt.build(1000)
        opt.all_cores = version == "fused, all cores"
        params = start.copy()
        for g in grads:
            if version.startswith("fused"):
                opt.apply(params, g)
            else:
                opt.numpy_update(params, g, opt.step_size(opt.current_learning_rate()))
                opt.iterations += 1
        results.append(params)
    assert fused.available()
    for params in results:
        np.testing.assert_allclose(params, w, rtol=1e-5, atol=1e-7)


def test_adam_flushes_subnormal_state_to_zero():
    opt = Adam()
    opt.build(4)
    opt.m[:] = [1e-39, -1e-39, 1e-3, 0.0]     # the first two are subnormal float32 numbers
    opt.v[:] = [1e-39, 1e-6, 1e-6, 0.0]
    opt.apply(np.zeros(4, np.float32), np.zeros(4, np.float32))
    assert opt.m[0] == 0 and opt.m[1] == 0 and opt.m[2] != 0
    assert opt.v[0] == 0


def test_sgd_momentum_fused_equals_numpy():
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=500).astype(np.float32) for _ in range(3)]
    for nesterov, all_cores in ((False, False), (True, False), (True, True)):
        fused_opt, numpy_opt = SGD(0.1, 0.9, nesterov), SGD(0.1, 0.9, nesterov)
        fused_opt.all_cores = all_cores
        fused_opt.build(500)
        numpy_opt.build(500)
        a, b = np.ones(500, np.float32), np.ones(500, np.float32)
        for g in grads:
            fused_opt.apply(a, g)
            numpy_opt.numpy_momentum_update(b, g, 0.1)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)  # the compiler may reorder sums


def test_rmsprop_follows_keras_update_rule():
    # Keras 3: velocity = rho * velocity + (1 - rho) * g^2;  w -= lr * g / sqrt(velocity + eps).
    # A gradient of 1e-4 makes eps matter: sqrt(0.1 * 1e-8 + 1e-7) is not sqrt(1e-9) + 1e-7.
    opt = RMSprop(0.01)
    opt.build(2)
    params = np.array([1.0, 1.0], np.float32)
    grads = np.array([0.5, 1e-4], np.float32)
    opt.apply(params, grads)
    velocity = 0.1 * grads.astype(np.float64) ** 2
    np.testing.assert_allclose(params, 1.0 - 0.01 * grads / np.sqrt(velocity + 1e-7), rtol=1e-6)
    assert abs(params[1] - (1.0 - 0.01 * 1e-4 / (np.sqrt(1e-9) + 1e-7))) > 1e-4   # the other reading


def test_seeded_training_is_reproducible():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 256, (256, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 256)
    weights = []
    for _ in range(2):
        model = lesson_model(seed=42)
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        weights.append(model.params.copy())
    np.testing.assert_array_equal(weights[0], weights[1])


def test_inputs_uint8_are_scaled_once_and_shapes_are_checked():
    model = lesson_model(seed=0)
    x = np.full((2, 28, 28), 255, dtype=np.uint8)
    np.testing.assert_allclose(model.prepare_inputs(x), 1.0)
    np.testing.assert_allclose(model.predict(x), model.predict(x.reshape(2, 784) / 255.0), rtol=1e-6)
    with pytest.raises(DigitlensError, match=r"expected images of shape \(N, 28, 28\) or \(N, 784\), received \(32, 28\)"):
        model.predict(np.zeros((32, 28)))
    with pytest.raises(DigitlensError, match="for one image use x\\[None\\]"):
        model.predict(np.zeros((28, 28)))
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    with pytest.raises(DigitlensError, match="expected labels 0..9, received values from 0 to 10"):
        model.fit(x, np.array([0, 10]), verbose=0)


def test_call_order_is_guarded():
    model = Sequential([Flatten(), Dense(10, "softmax")])
    with pytest.raises(DigitlensError, match="call fit\\(\\) or load a trained model first"):
        model.get_weights()
    with pytest.raises(DigitlensError, match="call compile"):
        model.fit(np.zeros((2, 28, 28)), np.zeros(2, int), verbose=0)


def test_input_layer_and_names_follow_keras():
    model = Sequential([Input((28, 28)), Flatten(), Dense(256, "relu"), Dropout(0.2), Dense(10, "softmax")])
    model.build()
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "dropout", "dense_1"]
    assert model.count_params() == 203_530


def test_fit_history_and_validation_split():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 200)
    model = lesson_model(seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=50, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 3 and len(history.seconds) == 3
    assert len(history.batches) == 3 * 4               # 160 training images / 50 per batch
    assert model.history is history
    assert model.last_batch["x"].shape == (10, 28, 28)  # the last, partial batch
    layers = model.last_batch_activations()
    assert [name for name, _ in layers] == ["input", "flatten", "dense", "dense_1"]
    np.testing.assert_allclose(layers[-1][1], model.predict(model.last_batch["x"]), rtol=1e-6)
    assert model.optimizer.iterations == 12


def test_summary_matches_keras_numbers():
    lines = []
    lesson_model().build().summary(print_fn=lines.append)
    text = lines[0]
    for expected in ["│ flatten (Flatten)               │ (None, 784)            │             0 │",
                     "│ dense (Dense)                   │ (None, 256)            │       200,960 │",
                     "│ dense_1 (Dense)                 │ (None, 10)             │         2,570 │",
                     " Total params: 203,530 (795.04 KB)", " Trainable params: 203,530 (795.04 KB)",
                     " Non-trainable params: 0 (0.00 B)",
                     "784 inputs x 256 units = 200,704 weights + 256 biases = 200,960"]:
        assert expected in text


@pytest.mark.parametrize("fixture, hidden, trained", [
    ("lesson", [(256, "relu")], False), ("lesson_trained", [(256, "relu")], True),
    ("second", [(128, "relu"), (64, "relu")], False), ("second_trained", [(128, "relu"), (64, "relu")], True)])
def test_summary_is_the_same_text_keras_prints(fixture, hidden, trained):
    """Against model.summary() text captured from real Keras 3.15 (tests/fixtures/make_keras_fixtures.py)."""
    import json
    from pathlib import Path

    keras_text = json.loads((Path(__file__).parent / "fixtures" / "keras_summaries.json").read_text())[fixture]["summary"]
    model = lesson_model(hidden=hidden, seed=0).build()
    if trained:   # Keras's fixture took one Adam step: then the summary counts the optimizer's variables
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        model.fit(np.zeros((1, 28, 28), np.uint8), np.zeros(1, int), epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    ours, arithmetic = lines[0].split("\n\n Where the numbers come from:\n")
    assert ours == keras_text.rstrip("\n")
    assert "inputs x" in arithmetic


def test_blas_gets_its_threads_back_whichever_thread_ends_last():
    import threading

    from threadpoolctl import threadpool_info

    from digitlens.nn.threads import one_blas_thread

    def blas_threads():
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    before = blas_threads()
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with one_blas_thread():
            inside.set()
            release.wait()
            seen["worker"] = blas_threads()

    thread = threading.Thread(target=worker)
    with one_blas_thread():                       # the main thread starts first and ends first
        seen["main"] = blas_threads()
        thread.start()
        inside.wait()
    release.set()
    thread.join()
    assert seen == {"main": [1] * len(before), "worker": [1] * len(before)}
    assert blas_threads() == before
    done = {}
    thread = threading.Thread(target=lambda: done.setdefault("later", (one_blas_thread().__enter__(), blas_threads())))
    thread.start()
    thread.join()                                 # a thread that is not the first can still limit it
    assert done["later"][1] == [1] * len(before)
    done["later"][0].__exit__(None, None, None)
    assert blas_threads() == before
