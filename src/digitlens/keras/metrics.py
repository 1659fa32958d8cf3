"""keras.metrics: accuracy, the one metric digitlens computes (see digitlens.nn.metrics).

    model.compile(..., metrics=["accuracy"])                                  # the usual spelling
    model.compile(..., metrics=[keras.metrics.SparseCategoricalAccuracy()])   # logged under its name
"""

from digitlens.keras.missing import missing


class SparseCategoricalAccuracy:
    """The share of images whose most probable class is the digit label."""

    labels_for = "sparse_categorical_accuracy"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        self.name = name


class CategoricalAccuracy:
    """The share of images whose most probable class is the one-hot label's."""

    labels_for = "categorical_accuracy"

    def __init__(self, name="categorical_accuracy", dtype=None):
        self.name = name


__all__ = ["CategoricalAccuracy", "SparseCategoricalAccuracy"]
__getattr__ = missing("keras.metrics", __all__, {
    "Accuracy": "Keras's Accuracy compares values exactly; for classes use metrics=['accuracy']"})
