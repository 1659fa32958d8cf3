"""Training the lesson's network on real MNIST reaches the accuracies the README promises."""

import statistics

import numpy as np
import pytest

from digitlens import recipes


def train_and_test(mnist, recipe, seed):
    (x_train, y_train), (x_test, y_test) = mnist
    model = recipes.build_model(seed=seed)
    history = recipes.train(model, x_train, y_train, recipe, validation_data=(x_test, y_test))
    return model, history


def test_default_recipe_reaches_98_percent(mnist):
    """`digitlens train` with no options: >= 98.0% test accuracy, median of 3 seeds."""
    recipe = recipes.get_recipe("default")
    finals = [train_and_test(mnist, recipe, seed)[1].history["val_accuracy"][-1] for seed in range(3)]
    assert statistics.median(finals) >= 0.980, finals


def test_lesson_recipe_lands_where_the_lesson_says(mnist):
    """The lesson's own recipe (Adam 1e-3, batch 32, 5 epochs) lands at 97.5-98.5%, where the
    lesson's Keras run does (about 97.5-98%; Keras 3.15 gave 98.06% after 7 epochs in benchmarks/)."""
    recipe = recipes.get_recipe("lesson")
    assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size, recipe.epochs) == ("adam", 1e-3, 32, 5)
    model, history = train_and_test(mnist, recipe, seed=0)
    accuracy = history.history["val_accuracy"]
    assert 0.975 <= accuracy[-1] <= 0.985, accuracy
    assert history.history["loss"] == sorted(history.history["loss"], reverse=True)   # it keeps learning
    (_, _), (x_test, y_test) = mnist
    assert model.evaluate(x_test, y_test)[1] == pytest.approx(accuracy[-1])


@pytest.mark.slow
def test_augmented_recipe_reaches_98_7_percent(mnist):
    model, history = train_and_test(mnist, recipes.get_recipe("augment"), seed=0)
    assert history.history["val_accuracy"][-1] >= 0.987, history.history["val_accuracy"]


def test_augmentation_moves_digits_a_little(mnist):
    from digitlens.datasets.augment import RandomShiftRotate

    (x_train, _), _ = mnist
    x = x_train[:64].astype(np.float32) / 255
    moved = RandomShiftRotate()(x, np.random.default_rng(0))
    assert moved.shape == x.shape and moved.dtype == np.float32
    assert not np.allclose(moved, x)
    # Ink is kept (a little is lost at the edges and in interpolation), and stays in range.
    assert 0.85 < moved.sum() / x.sum() < 1.05
    assert moved.min() >= 0 and moved.max() <= 1.0 + 1e-6
    same = RandomShiftRotate(max_shift=0, max_degrees=0)(x, np.random.default_rng(0))
    np.testing.assert_allclose(same, x, atol=1e-6)
