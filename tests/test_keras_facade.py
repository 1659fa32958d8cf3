"""`from digitlens import keras`: the lesson's Keras code runs with only its import changed.

The lesson's code below is kept exactly as the lesson has it; the tests change the import line
(and, for speed, the number of epochs and images) and run it. Summaries are compared with the text
real Keras 3.15 printed for the same models (tests/fixtures/keras_summaries.json).
"""

import json
import re
import types
from pathlib import Path

import numpy as np
import pytest

from digitlens import keras
from digitlens.errors import DigitlensError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUMMARIES = json.loads((FIXTURES / "keras_summaries.json").read_text(encoding="utf-8"))

LESSON = """\
from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
model = keras.models.Sequential([keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(256, activation='relu'), keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=5)
model.evaluate(x_test, y_test); model.predict(x_test[:5]); model.summary(); model.save('m.keras'); keras.models.load_model('m.keras')
"""


def lesson_code(epochs=5, images=None):
    """The lesson, with digitlens's import - and fewer epochs or images, if asked."""
    code = LESSON.replace("from tensorflow import keras", "from digitlens import keras")
    code = code.replace("epochs=5", f"epochs={epochs}")
    if images is not None:
        code = code.replace("model = keras", f"x_train, y_train = x_train[:{images}], y_train[:{images}]\n"
                                              "model = keras", 1)
    return code


def run_lesson(code, folder, monkeypatch, mnist_dir):
    monkeypatch.setenv("DIGITLENS_DATA", str(mnist_dir))
    monkeypatch.chdir(folder)
    namespace = {}
    exec(compile(code, "lesson.py", "exec"), namespace)
    return namespace


def test_only_the_import_changes():
    changed = [(a, b) for a, b in zip(LESSON.splitlines(), lesson_code().splitlines()) if a != b]
    assert changed == [("from tensorflow import keras", "from digitlens import keras")]


def test_the_lesson_runs(tmp_path, monkeypatch, mnist_dir, capsys):
    lesson = run_lesson(lesson_code(epochs=1, images=5000), tmp_path, monkeypatch, mnist_dir)
    out = capsys.readouterr().out
    model, x_test, y_test = lesson["model"], lesson["x_test"], lesson["y_test"]

    # fit prints Keras's progress: Epoch 1/1, then steps, time and the running metrics.
    assert "Epoch 1/1\n" in out
    assert re.search(r"^157/157 - .*accuracy: 0\.\d{4} - loss: \d\.\d{4}$", out, re.M), out
    assert re.search(r"^313/313 - accuracy: 0\.\d{4} - loss: \d\.\d{4}$", out, re.M), out
    # summary prints the table Keras prints after training (optimizer params included).
    assert SUMMARIES["lesson_trained"]["summary"] in out

    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.85 and loss < 0.6                  # 5,000 images, one epoch
    assert model.predict(x_test[:5]).shape == (5, 10)
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, keras.Sequential)
    np.testing.assert_array_equal(loaded.predict(x_test[:100]), model.predict(x_test[:100]))
    assert loaded.history.history == model.history.history
    loaded.save(tmp_path / "again.h5")                      # a loaded model saves too


@pytest.mark.slow
def test_the_lesson_reaches_its_accuracy_on_full_mnist(tmp_path, monkeypatch, mnist_dir):
    lesson = run_lesson(lesson_code(epochs=5), tmp_path, monkeypatch, mnist_dir)
    _, accuracy = lesson["model"].evaluate(lesson["x_test"], lesson["y_test"], verbose=0)
    assert accuracy >= 0.975


# ---- summary: Keras's text -------------------------------------------------------------------------

def lesson_model():
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(256, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def second_model():
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def summary_of(model):
    calls = []
    model.summary(print_fn=calls.append)
    assert len(calls) == 1                                 # Keras passes the whole table at once
    return calls[0]


@pytest.mark.parametrize("key, build", [("lesson", lesson_model), ("second", second_model)])
def test_summary_is_keras_text_built_compiled_and_trained(key, build, mnist):
    (x_train, y_train), _ = mnist
    model = build().build()
    assert summary_of(model) == SUMMARIES[key]["summary"]
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    assert summary_of(model) == SUMMARIES[f"{key}_compiled"]["summary"]
    model.fit(x_train[:32], y_train[:32], batch_size=32, verbose=0)     # one step, as Keras took
    assert summary_of(model) == SUMMARIES[f"{key}_trained"]["summary"]


@pytest.mark.parametrize("name", ["keras_small", "keras_small_tanh"])
def test_summary_of_a_loaded_keras_file_is_keras_text(name, capsys):
    model = keras.models.load_model(FIXTURES / f"{name}.keras")
    assert summary_of(model) == SUMMARIES[f"{name}_loaded"]["summary"]
    model.summary()
    assert capsys.readouterr().out == SUMMARIES[f"{name}_loaded"]["summary"]


# ---- the rest of the facade --------------------------------------------------------------------------

def test_names_the_lesson_reaches_for():
    assert keras.models.Sequential is keras.Sequential
    assert keras.layers.Input is keras.Input
    for name in ("Adam", "SGD", "RMSprop"):
        assert callable(getattr(keras.optimizers, name))
    assert callable(keras.optimizers.schedules.CosineDecay)
    assert callable(keras.datasets.mnist.load_data) and callable(keras.utils.set_random_seed)


def test_set_random_seed_repeats_a_run(mnist):
    (x_train, y_train), _ = mnist

    def run():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                  keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dropout(0.2),
                                  keras.layers.Dense(10, activation="softmax")])
        schedule = keras.optimizers.schedules.CosineDecay(0.01, decay_steps=20)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
        model.fit(x_train[:320] / 255.0, y_train[:320], epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_save_refuses_to_overwrite_when_asked_not_to(tmp_path):
    model = lesson_model().build()
    model.save(tmp_path / "m.keras")
    with pytest.raises(DigitlensError, match="already exists"):
        model.save(tmp_path / "m.keras", overwrite=False)
    uncompiled = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert uncompiled.optimizer is None


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
def test_real_keras_loads_what_the_facade_saves(tmp_path, mnist, real_keras):
    (x_train, y_train), (x_test, _) = mnist
    model = lesson_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:512] / 255.0, y_train[:512], verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = real_keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x_test[:200] / 255.0, verbose=0),
                               model.predict(x_test[:200] / 255.0), atol=1e-5)


# ---- the course's CNN notebook ---------------------------------------------------------------------

# Vadikus/practicalDL, "01 - 02 - MNIST and Convolutional Neural Network.ipynb": its three code cells
# as the notebook has them, without the Jupyter magics (%%time, %matplotlib inline), which are not Python.
CNN_NOTEBOOK = '''\
import tensorflow as tf
from tensorflow.keras.datasets import mnist


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if (logs.get('accuracy') >
                0.998):  # it actually never reaches this hight accuracy
            print("\\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


callbacks = myCallback()
mnist = tf.keras.datasets.mnist

(training_images, training_labels), (test_images,
                                     test_labels) = mnist.load_data()

training_images = training_images.reshape(60000, 28, 28, 1)
training_images = training_images / 255.0

test_images = test_images.reshape(10000, 28, 28, 1)
test_images = test_images / 255.0

model = tf.keras.models.Sequential([
    tf.keras.layers.Conv2D(32, (3, 3),
                           activation='relu',
                           input_shape=(28, 28, 1)),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax')
])

model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

model.fit(training_images,
          training_labels,
          epochs=10,
          validation_data=(test_images, test_labels),
          callbacks=[callbacks])
import matplotlib.pyplot as plt

history = model.history.history

# Plot training & validation accuracy values
plt.plot(history['accuracy'])
plt.plot(history['val_accuracy'])
plt.title('Model accuracy')
plt.ylabel('Accuracy')
plt.xlabel('Epoch')
plt.legend(['Train', 'Test'], loc='upper left')
plt.show()

# Plot training & validation loss values
plt.plot(history['loss'])
plt.plot(history['val_loss'])
plt.title('Model loss')
plt.ylabel('Loss')
plt.xlabel('Epoch')
plt.legend(['Train', 'Test'], loc='upper left')
plt.show()
model.summary()
'''
IMPORTS = {"import tensorflow as tf": "import digitlens as tf",
           "from tensorflow.keras.datasets import mnist": "from digitlens.keras.datasets import mnist"}


def cnn_notebook_code(epochs=10, images=None):
    """The notebook with digitlens's imports - and fewer epochs or images, if asked."""
    code = CNN_NOTEBOOK
    for theirs, ours in IMPORTS.items():
        code = code.replace(theirs, ours)
    code = code.replace("epochs=10", f"epochs={epochs}")
    if images is not None:
        code = code.replace("training_images = training_images.reshape(60000, 28, 28, 1)",
                            f"training_images, training_labels = training_images[:{images}], training_labels[:{images}]\n"
                            f"training_images = training_images.reshape({images}, 28, 28, 1)")
    return code


def run_cnn_notebook(code, folder, monkeypatch, mnist_dir):
    import matplotlib

    matplotlib.use("Agg")                                   # plt.show() draws nowhere
    if not hasattr(keras, "callbacks"):
        # keras.callbacks is being added to the facade by its owner; until it lands, the notebook's
        # tf.keras.callbacks.Callback is digitlens.nn's Callback, which has the same hooks.
        from digitlens.nn import Callback

        monkeypatch.setattr(keras, "callbacks", types.SimpleNamespace(Callback=Callback), raising=False)
    return run_lesson(code, folder, monkeypatch, mnist_dir)


def test_only_the_notebooks_tensorflow_imports_change():
    changed = [(a, b) for a, b in zip(CNN_NOTEBOOK.splitlines(), cnn_notebook_code().splitlines()) if a != b]
    assert changed == list(IMPORTS.items())


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
def test_the_cnn_notebook_runs_and_its_saved_file_predicts_the_same_in_real_keras(
        tmp_path, monkeypatch, mnist_dir, capsys, real_keras):
    notebook = run_cnn_notebook(cnn_notebook_code(epochs=1, images=6000), tmp_path, monkeypatch, mnist_dir)
    out = capsys.readouterr().out
    model, test_images, test_labels = notebook["model"], notebook["test_images"], notebook["test_labels"]
    assert "Epoch 1/1\n" in out
    assert SUMMARIES["course_cnn_trained"]["summary"] in out           # the table Keras prints after fit
    assert set(notebook["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    _, accuracy = model.evaluate(test_images, test_labels, verbose=0)
    assert accuracy > 0.9                       # 6,000 images, one epoch: real Keras gets 92.3% here too
    for name in ("cnn.keras", "cnn.h5"):
        model.save(tmp_path / name)
        loaded = real_keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(loaded.predict(test_images[:500], verbose=0), model.predict(test_images[:500]),
                                   atol=1e-5)


@pytest.mark.slow
def test_the_cnn_notebook_reaches_98_percent_in_two_epochs(tmp_path, monkeypatch, mnist_dir):
    notebook = run_cnn_notebook(cnn_notebook_code(epochs=2), tmp_path, monkeypatch, mnist_dir)
    _, accuracy = notebook["model"].evaluate(notebook["test_images"], notebook["test_labels"], verbose=0)
    assert accuracy >= 0.98
