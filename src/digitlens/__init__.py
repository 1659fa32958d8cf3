"""digitlens: build, train and see inside the neural network that reads handwritten digits.

    from digitlens.datasets import mnist
    from digitlens.nn import Sequential, Flatten, Dense

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(256, "relu"), Dense(10, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5)

Submodules are imported on first use so that `import digitlens` stays fast - also when reached
as attributes, so a course notebook's `import tensorflow as tf ... tf.keras.layers.Conv2D` runs
as `import digitlens as tf`.
"""

import importlib

__version__ = "0.1.0"
SUBPACKAGES = ("architectures", "datasets", "explain", "io", "keras", "nn", "recipes", "viz", "web")


def __getattr__(name):
    if name in SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
