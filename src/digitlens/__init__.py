"""digitlens: build, train and see inside the neural network that reads handwritten digits.

    from digitlens.datasets import mnist
    from digitlens.nn import Sequential, Flatten, Dense

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(256, "relu"), Dense(10, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5)

Submodules are imported on first use so that `import digitlens` stays fast - also when reached
as attributes (`digitlens.keras.layers.Conv2D` after `import digitlens`). In a notebook, models
and explanations show themselves as pictures (digitlens.notebook).
"""

import importlib

__version__ = "0.1.0"
SUBPACKAGES = ("architectures", "datasets", "explain", "io", "keras", "nn", "notebook", "recipes", "tf", "viz",
               "web")


def __getattr__(name):
    if name in SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _pictures_in_notebooks():
    # In a running notebook, models and explanations display as pictures (notebook/display.py):
    # IPython is told by class name, so nothing more is imported until one is shown.
    import sys

    if "IPython" in sys.modules:
        from .notebook.display import register

        register()


_pictures_in_notebooks()
