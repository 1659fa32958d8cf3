"""The lesson's Keras code, run by digitlens: change only the import.

    from digitlens import keras          # instead of: from tensorflow import keras / import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.summary()                       # before compile, as in Keras
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, validation_split=0.25,
              callbacks=[keras.callbacks.EarlyStopping(patience=2)])
    model.evaluate(x_test, y_test)        # [loss, accuracy]
    keras.utils.plot_model(model, to_file="model.png")
    model.save("mnist.keras")             # a real Keras file: keras.models.load_model reads it

A thin layer of names over digitlens.nn (the network, its training and callbacks),
digitlens.datasets (MNIST) and digitlens.io (model files), laid out as Keras lays them out, with
Keras 3's behaviour: its arguments, its printed lines, its logs and return values. Only what
learners' MNIST code uses is here - Sequential models of Flatten, Dense and Dropout, trained with
Adam, SGD or RMSprop on cross-entropy - and anything else is refused by name (missing.py), never
imitated. For `import tensorflow as tf` code, `from digitlens import tf`.

One difference to know: `model.input_shape` is one example's shape, (28, 28), where Keras writes
(None, 28, 28) with the batch first.
"""

import types

from digitlens import __version__
from digitlens.keras import (activations, callbacks, datasets, layers, losses, metrics, models, optimizers,
                             utils)
from digitlens.keras.layers import Input
from digitlens.keras.missing import missing
from digitlens.keras.models import Sequential

backend = types.ModuleType("digitlens.keras.backend", "keras.backend: clear_session, as learners call it.")
backend.clear_session = utils.clear_session
backend.__getattr__ = missing("keras.backend", ["clear_session"])

__all__ = ["Input", "Sequential", "activations", "backend", "callbacks", "datasets", "layers", "losses",
           "metrics", "models", "optimizers", "utils", "__version__"]
__getattr__ = missing("keras", __all__, {
    "Model": "digitlens builds Sequential models only: keras.Sequential([...])"})
