"""nn/losses.py: both cross-entropies, on probabilities and on logits - every gradient against
finite differences, every value against real Keras, and one training step against real Keras's."""

import numpy as np
import pytest

from digitlens.nn import SGD, Dense, Flatten, Sequential, activations, losses
from conftest import numerical_gradient

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

LOSSES = [(losses.SparseCategoricalCrossentropy, False), (losses.SparseCategoricalCrossentropy, True),
          (losses.CategoricalCrossentropy, False), (losses.CategoricalCrossentropy, True)]


def labels_for(cls, rng, n=6, classes=5, soft=False):
    digits = rng.integers(0, classes, n)
    if cls is losses.SparseCategoricalCrossentropy:
        return digits
    if soft:                                  # rows of probabilities, not one-hot: still a loss
        t = rng.random((n, classes))
        return t / t.sum(axis=1, keepdims=True)
    return np.eye(classes)[digits]


@pytest.mark.parametrize("cls, from_logits", LOSSES)
@pytest.mark.parametrize("outputs_kind", ["softmax", "unnormalised"])
def test_gradient_matches_finite_differences(cls, from_logits, outputs_kind):
    rng = np.random.default_rng(4)
    loss = cls(from_logits=from_logits)
    z = rng.normal(size=(6, 5))
    if from_logits:
        outputs = z                                          # scores of any sign
    elif outputs_kind == "softmax":
        outputs = activations.softmax_forward(z.copy())
    else:
        outputs = rng.uniform(0.05, 0.9, size=(6, 5))        # sigmoid-like: rows do not sum to 1
    for soft in ([False, True] if cls is losses.CategoricalCrossentropy else [False]):
        y = labels_for(cls, rng, soft=soft)
        numeric = numerical_gradient(lambda: loss(outputs, y), outputs, 1e-6)
        np.testing.assert_allclose(loss.gradient(outputs, y), numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("cls", [losses.SparseCategoricalCrossentropy, losses.CategoricalCrossentropy])
def test_fused_softmax_gradient_is_the_chain_rule_through_both(cls):
    """dL/dz = (p * sum(t) - t) / N, for one-hot and for soft labels."""
    rng = np.random.default_rng(5)
    loss = cls()
    z = rng.normal(size=(6, 5))
    for soft in ([False, True] if cls is losses.CategoricalCrossentropy else [False]):
        y = labels_for(cls, rng, soft=soft)
        probs = activations.softmax_forward(z.copy())
        numeric = numerical_gradient(lambda: loss(activations.softmax_forward(z.copy()), y), z, 1e-6)
        np.testing.assert_allclose(loss.logits_gradient(probs, y), numeric, rtol=1e-5, atol=1e-9)
        chained = activations.softmax_backward(loss.gradient(probs, y), probs)
        np.testing.assert_allclose(chained, numeric, rtol=1e-5, atol=1e-9)


def test_categorical_on_one_hot_rows_is_sparse_on_digits():
    rng = np.random.default_rng(6)
    probs = activations.softmax_forward(rng.normal(size=(8, 10)))
    digits = rng.integers(0, 10, 8)
    sparse, categorical = losses.SparseCategoricalCrossentropy(), losses.CategoricalCrossentropy()
    np.testing.assert_allclose(categorical.per_example(probs, np.eye(10)[digits]),
                               sparse.per_example(probs, digits), rtol=1e-12)
    np.testing.assert_array_equal(categorical.true_classes(np.eye(10)[digits]), digits)


def test_outputs_and_labels_the_wrong_way_round_are_refused():
    loss = losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match=r"loss\(outputs, y\) with outputs of shape \(N, classes\)"):
        loss(np.array([1, 2]), np.full((2, 3), 1 / 3))


def test_get_knows_keras_spellings_and_refuses_the_rest():
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("SparseCategoricalCrossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get(losses.categorical_crossentropy), losses.CategoricalCrossentropy)
    for other in ("mse", "binary_crossentropy", lambda a, b: 0):
        with pytest.raises(ValueError, match="digitlens has sparse_categorical_crossentropy and "
                                             "categorical_crossentropy"):
            losses.get(other)


# ---- against real Keras ---------------------------------------------------------------------------

@pytest.mark.keras
@pytest.mark.parametrize("cls, from_logits", LOSSES)
def test_values_equal_real_keras(cls, from_logits, real_keras):
    rng = np.random.default_rng(7)
    z = rng.normal(size=(16, 10)).astype(np.float32)
    outputs = z if from_logits else activations.softmax_forward(z.copy())
    unnormalised = rng.uniform(0.01, 0.99, size=(16, 10)).astype(np.float32)
    y = labels_for(cls, rng, n=16, classes=10)
    keras_loss = getattr(real_keras.losses, cls.__name__)(from_logits=from_logits)
    ours = cls(from_logits=from_logits)
    for out in ([outputs] if from_logits else [outputs, unnormalised]):
        expected = float(keras_loss(y, out))
        assert ours(out, y) == pytest.approx(expected, rel=1e-5)
        function = getattr(real_keras.losses, ours.name)
        np.testing.assert_allclose(getattr(losses, ours.name)(y, out, from_logits=from_logits),
                                   np.asarray(function(y, out, from_logits=from_logits)), rtol=1e-5)


def one_step_model(last_activation):
    model = Sequential([Flatten(input_shape=(4, 4)), Dense(6, "tanh"), Dense(5, last_activation)], seed=3)
    return model


@pytest.mark.keras
@pytest.mark.parametrize("cls, from_logits", LOSSES)
def test_one_training_step_equals_real_keras(cls, from_logits, real_keras):
    """Same weights, same batch, one SGD step: the same new weights as Keras computes by autodiff."""
    rng = np.random.default_rng(8)
    x = rng.random((12, 4, 4)).astype(np.float32)
    y = labels_for(cls, rng, n=12)
    last = "linear" if from_logits else "softmax"
    ours = one_step_model(last)
    ours.compile(SGD(0.5), cls(from_logits=from_logits))
    theirs = real_keras.Sequential([real_keras.Input((4, 4)), real_keras.layers.Flatten(),
                                    real_keras.layers.Dense(6, activation="tanh"),
                                    real_keras.layers.Dense(5, activation=last)])
    theirs.set_weights(ours.get_weights())
    theirs.compile(optimizer=real_keras.optimizers.SGD(0.5),
                   loss=getattr(real_keras.losses, cls.__name__)(from_logits=from_logits))
    loss_before = ours.loss(ours.forward(x), ours.prepare_targets(y, 12))
    assert loss_before == pytest.approx(float(theirs.evaluate(x, y, verbose=0)), rel=1e-5)
    ours.fit(x, y, batch_size=12, epochs=1, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=12, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
