"""The lesson's Keras code, run by digitlens: change only the import.

    from digitlens import keras          # instead of: from tensorflow import keras / import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5)
    model.evaluate(x_test, y_test)
    model.save("mnist.keras")             # a real Keras file: keras.models.load_model reads it

A thin layer of names over digitlens.nn (the network), digitlens.datasets (MNIST) and digitlens.io
(model files), laid out as Keras lays them out. Only what the lesson needs is here: Sequential
models of Flatten, Dense and Dropout, trained with Adam, SGD or RMSprop; anything else is
missing rather than imitated.
"""

from digitlens.keras import datasets, layers, models, optimizers, utils
from digitlens.keras.layers import Input
from digitlens.keras.models import Sequential

__all__ = ["Input", "Sequential", "datasets", "layers", "models", "optimizers", "utils"]
